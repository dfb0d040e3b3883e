/* procverify.c - one process's executable mappings against their files.
 *
 * For every mapping that is executable in /proc/PID/maps:
 *  - the kernel's own ([vdso], [vsyscall], [vvar], [uprobes]) are skipped
 *    (not file-backed: nothing on disk to compare with), counted in the summary;
 *  - anonymous ones (JIT compilers make them: low) and memfd ones (code with
 *    no file on any disk: high) are findings;
 *  - a file's: deleted (high), then its bytes through /proc/PID/mem against
 *    the same range of the file, page by page.  The file is opened through
 *    /proc/PID/map_files/START-END (the very inode mapped, even when the path
 *    now names another file or none) and, where that is refused (it needs
 *    CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE), through /proc/PID/root/PATH
 *    when its device and inode are still the mapped ones.
 * Only executable mappings are compared: the loader writes relocations and
 * the GOT into the others.  A page that differs in an object with text
 * relocations (DT_TEXTREL) is reported as such (low), since the loader wrote
 * that code; any other differing page is code modified in memory (critical).
 * The last page of a mapping reads as zeros past the file's end; pages wholly
 * past it cannot be read (the process would get SIGBUS) and are counted.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vigil/actions.h"
#include "vigil/config.h"
#include "procs_priv.h"

#define CHUNK_PAGES 64
#define MAPS_MAX (64u << 20)

struct vctx {
	const struct vigil_procs_opts *o;
	pid_t pid;
	const char *proc;
	json_t *p, *findings, *notes, *summary;
	int memfd;
	size_t page;
	unsigned char *mbuf, *fbuf;
	int gone;
};

static int alive(const struct vctx *v)
{
	char path[64];

	snprintf(path, sizeof(path), "%s/%d", v->proc, (int)v->pid);
	return !access(path, F_OK);
}

/* The whole of /proc/PID/maps (malloc'd, NUL terminated); NULL with errno. */
static char *read_maps(const struct vctx *v)
{
	char path[64], *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/maps", v->proc, (int)v->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	do {
		if (cap - len < 65536) {
			char *nb = cap >= MAPS_MAX ? NULL : realloc(buf, cap = cap ? cap * 2 : 65536);

			if (!nb) {
				free(buf);
				close(fd);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n > 0)
			len += (size_t)n;
	} while (n > 0 || (n < 0 && errno == EINTR));
	if (n < 0) {
		int e = errno;

		free(buf);
		close(fd);
		errno = e;
		return NULL;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

static void addr_field(json_t *f, const char *key, uint64_t a)
{
	char s[24];

	snprintf(s, sizeof(s), "0x%" PRIx64, a);
	json_object_set_new(f, key, json_string(s));
}

static json_t *map_finding(struct vctx *v, const struct vigil_map *m, const char *action, int sev,
			   const char *what)
{
	json_t *f = procs_finding(v->findings, v->p, action, sev, "%s %s%s%s", what, m->perms,
				  m->path[0] ? " " : "", m->path);

	if (f) {
		json_object_set_new(f, "mapping", procs_str(m->path));
		addr_field(f, "address", m->start);
		addr_field(f, "end", m->end);
		json_object_set_new(f, "perms", json_string(m->perms));
	}
	return f;
}

/* The mapped file: map_files first, else the path when it is still that inode. */
static int open_mapped(struct vctx *v, const struct vigil_map *m, const char **how)
{
	char path[4200];
	struct stat sb;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/map_files/%" PRIx64 "-%" PRIx64, v->proc, (int)v->pid, m->start, m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		*how = "map_files";
		return fd;
	}
	if (m->deleted)
		return -ENOENT;
	if (snprintf(path, sizeof(path), "%s/%d/root%s", v->proc, (int)v->pid, m->path) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	/* O_NONBLOCK: the path may be a FIFO by now, whose open would wait */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_ino != m->inode || major(sb.st_dev) != m->dev_major ||
	    minor(sb.st_dev) != m->dev_minor) {
		close(fd);
		return -ESTALE;
	}
	*how = "path";
	return fd;
}

/* Memory of [addr, addr+len): 0, -ESRCH gone, else -EIO (past the file's
 * end, or refused). */
static int read_mem(struct vctx *v, uint64_t addr, unsigned char *buf, size_t len)
{
	ssize_t n = pread(v->memfd, buf, len, (off_t)addr);

	if (n == (ssize_t)len)
		return 0;
	if (n == 0 && !alive(v))
		return -ESRCH;
	if (n <= 0 && !alive(v))
		return -ESRCH;
	return -EIO;
}

struct cmpstate {
	int fd;
	int textrel; /* -2: not asked yet */
	size_t reported, differing, unreadable;
};

static void page_differs(struct vctx *v, const struct vigil_map *m, struct cmpstate *c, uint64_t addr,
			 size_t ndiff)
{
	size_t max = v->o->max_page_findings ? v->o->max_page_findings : 16;
	uint64_t off = m->offset + (addr - m->start);
	json_t *f;

	c->differing++;
	if (c->textrel == -2)
		c->textrel = vigil_elf_textrel(c->fd);
	if (c->reported++ >= max)
		return;
	if (c->textrel == 1)
		f = procs_finding(v->findings, v->p, VIGIL_ACTION_PROC_TEXTREL, VIGIL_SEV_LOW,
				  "page at 0x%" PRIx64 " differs from %s at offset %" PRIu64 " (%zu bytes): the object "
				  "has text relocations (DT_TEXTREL), the loader writes its code", addr, m->path, off, ndiff);
	else
		f = procs_finding(v->findings, v->p, VIGIL_ACTION_PROC_CODE_MODIFIED, VIGIL_SEV_CRITICAL,
				  "code page at 0x%" PRIx64 " differs from %s at offset %" PRIu64 " (%zu bytes differ)",
				  addr, m->path, off, ndiff);
	if (!f)
		return;
	json_object_set_new(f, "mapping", procs_str(m->path));
	addr_field(f, "address", addr);
	json_object_set_new(f, "file_offset", json_integer((json_int_t)off));
	json_object_set_new(f, "bytes_differing", json_integer((json_int_t)ndiff));
	json_object_set_new(f, "text_relocations", json_boolean(c->textrel == 1));
}

/* Compares n pages at addr (the file's bytes at off); page by page when the
 * chunk cannot be read whole. */
static int compare_chunk(struct vctx *v, const struct vigil_map *m, struct cmpstate *c, uint64_t addr, size_t n)
{
	uint64_t off = m->offset + (addr - m->start);
	size_t len = n * v->page;
	ssize_t got = pread(c->fd, v->fbuf, len, (off_t)off);
	int rc = read_mem(v, addr, v->mbuf, len);

	if (got < 0)
		return -errno; /* the file: the mapping is given up (a note), the process goes on */
	memset(v->fbuf + got, 0, len - (size_t)got); /* past the end of the file: zeros */
	for (size_t i = 0; i < n; i++) {
		unsigned char *mp = v->mbuf + i * v->page, *fp = v->fbuf + i * v->page;
		size_t ndiff = 0;

		if (rc == -ESRCH)
			return rc;
		if (rc) {
			int r1 = read_mem(v, addr + i * v->page, mp, v->page);

			if (r1 == -ESRCH)
				return r1;
			if (r1) {
				c->unreadable++;
				continue;
			}
		}
		if (!memcmp(mp, fp, v->page))
			continue;
		for (size_t k = 0; k < v->page; k++)
			ndiff += mp[k] != fp[k];
		page_differs(v, m, c, addr + i * v->page, ndiff);
	}
	procs_count(v->summary, "pages_compared", (json_int_t)n);
	return 0;
}

static int compare_mapping(struct vctx *v, const struct vigil_map *m)
{
	struct cmpstate c = { .textrel = -2 };
	const char *how = "";
	size_t pages = (size_t)((m->end - m->start) / v->page);
	int rc;

	c.fd = open_mapped(v, m, &how);
	if (c.fd < 0) {
		procs_note(v->notes, v->p, "%s at 0x%" PRIx64 " not compared: %s", m->path, m->start,
			   c.fd == -ESTALE ? "the path names another file now and map_files cannot be opened"
			   : m->deleted ? "deleted, and map_files cannot be opened" : strerror(-c.fd));
		procs_count(v->summary, "mappings_not_compared", 1);
		return 0;
	}
	for (size_t i = 0; i < pages; i += CHUNK_PAGES) {
		size_t n = pages - i < CHUNK_PAGES ? pages - i : CHUNK_PAGES;

		if ((rc = compare_chunk(v, m, &c, m->start + i * v->page, n))) {
			close(c.fd);
			if (rc == -ESRCH)
				return rc;
			procs_note(v->notes, v->p, "%s at 0x%" PRIx64 ": comparison stopped, the file cannot be read: %s",
				   m->path, m->start, strerror(-rc));
			procs_count(v->summary, "mappings_not_compared", 1);
			return 0;
		}
	}
	close(c.fd);
	procs_count(v->summary, "mappings_compared", 1);
	if (c.reported > (v->o->max_page_findings ? v->o->max_page_findings : 16))
		procs_note(v->notes, v->p, "%s: %zu pages differ, the first %zu reported", m->path, c.differing,
			   v->o->max_page_findings ? v->o->max_page_findings : 16);
	if (c.unreadable)
		procs_note(v->notes, v->p, "%s at 0x%" PRIx64 ": %zu pages could not be read from memory (past the "
			   "end of the file, or refused; file opened through %s)", m->path, m->start, c.unreadable, how);
	return 0;
}

static int file_deleted(struct vctx *v, const struct vigil_map *m)
{
	char path[128];
	struct stat sb;

	if (!m->deleted)
		return 0;
	/* a file named "x (deleted)" reads the same in maps: the link count tells */
	snprintf(path, sizeof(path), "%s/%d/map_files/%" PRIx64 "-%" PRIx64, v->proc, (int)v->pid, m->start, m->end);
	if (!stat(path, &sb))
		return sb.st_nlink == 0;
	return 1;
}

static int one_mapping(struct vctx *v, struct vigil_map *m)
{
	switch (vigil_map_kind(m)) {
	case VIGIL_MAP_SPECIAL:
		procs_count(v->summary, "special_mappings_skipped", 1);
		return 0;
	case VIGIL_MAP_ANON:
		map_finding(v, m, VIGIL_ACTION_PROC_ANON_EXEC, VIGIL_SEV_LOW,
			    "anonymous executable mapping (JIT compilers make these; code from nowhere on disk)");
		return 0;
	case VIGIL_MAP_MEMFD:
		map_finding(v, m, VIGIL_ACTION_PROC_MEMFD_EXEC, VIGIL_SEV_HIGH,
			    "executable mapping of a memfd (code with no file on any disk)");
		return 0;
	}
	if (file_deleted(v, m))
		map_finding(v, m, VIGIL_ACTION_PROC_DELETED_MAP, VIGIL_SEV_HIGH,
			    "executable mapping of a deleted file");
	if (v->memfd < 0)
		return 0;
	return compare_mapping(v, m);
}

void vigil_procs_verify_one(const struct vigil_procs_opts *o, pid_t pid, json_t *p, json_t *findings,
			    json_t *notes, json_t *summary)
{
	struct vctx v = { .o = o, .pid = pid, .proc = o->proc ? o->proc : "/proc", .p = p, .findings = findings,
			  .notes = notes, .summary = summary, .memfd = -1 };
	char path[64], *maps, *line, *save = NULL;
	int rc = 0;

	v.page = (size_t)sysconf(_SC_PAGESIZE);
	maps = read_maps(&v);
	if (!maps) {
		if (errno == ENOENT || errno == ESRCH || !alive(&v))
			procs_note(notes, p, "exited before its mappings were read");
		else
			procs_note(notes, p, "mappings not readable: %s", strerror(errno));
		return;
	}
	if (!maps[0]) { /* a kernel thread: no user memory */
		free(maps);
		return;
	}
	snprintf(path, sizeof(path), "%s/%d/mem", v.proc, (int)pid);
	v.memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (v.memfd < 0)
		procs_note(notes, p, "memory not readable (%s): mappings listed, code not compared", strerror(errno));
	v.mbuf = malloc(CHUNK_PAGES * v.page);
	v.fbuf = malloc(CHUNK_PAGES * v.page);
	if (!v.mbuf || !v.fbuf) {
		procs_note(notes, p, "not verified: out of memory");
		goto out;
	}
	for (line = strtok_r(maps, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
		struct vigil_map m;

		if (vigil_maps_parse_line(line, &m)) {
			procs_note(notes, p, "unparsable maps line skipped");
			continue;
		}
		if (m.perms[2] != 'x')
			continue;
		rc = one_mapping(&v, &m);
	}
	if (rc == -ESRCH)
		procs_note(notes, p, "exited while its memory was read: verification incomplete");
	else if (rc)
		procs_note(notes, p, "verification stopped: %s", strerror(-rc));
	procs_count(summary, "processes_verified", 1);
out:
	if (v.memfd >= 0)
		close(v.memfd);
	free(v.mbuf);
	free(v.fbuf);
	free(maps);
}
