/* procmaps.c - /proc/PID/maps lines, what kind of mapping each is, and
 * whether an ELF object has text relocations (procs.h).
 *
 * A maps line is "START-END PERMS OFFSET MAJ:MIN INODE [spaces PATH]", all
 * numbers hex but the inode.  The path is the rest of the line: it may hold
 * spaces, and the kernel appends " (deleted)" when the file has no name any
 * more (a file really named "x (deleted)" reads the same: the caller checks
 * the link count through map_files when it can).
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/procs.h"

static int hexnum(char **p, char stop, uint64_t *out)
{
	char *s = *p, *end;
	unsigned long long v;

	if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 16);
	if (errno || end == s || *end != stop)
		return -EINVAL;
	*out = v;
	*p = end + 1;
	return 0;
}

int vigil_maps_parse_line(char *line, struct vigil_map *m)
{
	char *p = line, *end;
	uint64_t maj, min;
	size_t len;

	memset(m, 0, sizeof(*m));
	len = strlen(line);
	if (len && line[len - 1] == '\n')
		line[--len] = '\0';
	if (hexnum(&p, '-', &m->start) || hexnum(&p, ' ', &m->end) || m->end < m->start)
		return -EINVAL;
	for (int i = 0; i < 4; i++, p++) {
		if (!*p || !strchr("rwxsp-", *p))
			return -EINVAL;
		m->perms[i] = *p;
	}
	m->perms[4] = '\0';
	if (*p++ != ' ' || hexnum(&p, ' ', &m->offset) || hexnum(&p, ':', &maj) || hexnum(&p, ' ', &min))
		return -EINVAL;
	if (maj > 0xfff || min > 0xfffff)
		return -EINVAL;
	m->dev_major = (unsigned)maj;
	m->dev_minor = (unsigned)min;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	m->inode = strtoull(p, &end, 10);
	if (errno || (*end && *end != ' '))
		return -EINVAL;
	p = end;
	while (*p == ' ')
		p++;
	m->path = p;
	len = strlen(p);
	if (len > 10 && !strcmp(p + len - 10, " (deleted)")) {
		p[len - 10] = '\0';
		m->deleted = 1;
	}
	return 0;
}

int vigil_map_kind(const struct vigil_map *m)
{
	static const char *const special[] = { "[vdso]", "[vsyscall]", "[vvar]", "[vvar_vclock]", "[uprobes]",
					       NULL };

	for (int i = 0; special[i]; i++)
		if (!strcmp(m->path, special[i]))
			return VIGIL_MAP_SPECIAL;
	if (!strncmp(m->path, "/memfd:", 7))
		return VIGIL_MAP_MEMFD;
	/* shared anonymous memory is a file of the kernel's shmem ("/dev/zero",
	 * "/SYSV...") with an inode: it is not on any disk either */
	if (m->path[0] != '/' || !m->inode || !strncmp(m->path, "/SYSV", 5) ||
	    (!strcmp(m->path, "/dev/zero") && m->perms[3] == 's'))
		return VIGIL_MAP_ANON;
	return VIGIL_MAP_FILE;
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EINVAL;
}

/* The dynamic section of a 64-bit little- or native-endian ELF: only native
 * objects run here, so only the native class and byte order are read. */
int vigil_elf_textrel(int fd)
{
	Elf64_Ehdr eh;
	int rc;

	if ((rc = pread_all(fd, &eh, sizeof(eh), 0)))
		return rc;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 4096)
		return -ENOEXEC;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		if ((rc = pread_all(fd, &ph, sizeof(ph), eh.e_phoff + (uint64_t)i * sizeof(ph))))
			return rc;
		if (ph.p_type != PT_DYNAMIC)
			continue;
		for (uint64_t o = 0; o + sizeof(Elf64_Dyn) <= ph.p_filesz && o < (1u << 20); o += sizeof(Elf64_Dyn)) {
			Elf64_Dyn d;

			if ((rc = pread_all(fd, &d, sizeof(d), ph.p_offset + o)))
				return rc;
			if (d.d_tag == DT_NULL)
				break;
			if (d.d_tag == DT_TEXTREL || (d.d_tag == DT_FLAGS && (d.d_un.d_val & DF_TEXTREL)))
				return 1;
		}
		return 0;
	}
	return 0; /* static: nothing relocates its text */
}
