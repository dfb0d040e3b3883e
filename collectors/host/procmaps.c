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

/* Whether the dynamic section at (off, size) of an ELF of class c64 (else
 * 32-bit) has DT_TEXTREL or DF_TEXTREL: 1, 0, or -errno. */
static int dyn_textrel(int fd, int c64, uint64_t off, uint64_t size)
{
	size_t dsz = c64 ? sizeof(Elf64_Dyn) : sizeof(Elf32_Dyn);

	for (uint64_t o = 0; o + dsz <= size && o < (1u << 20); o += dsz) {
		union {
			Elf64_Dyn d64;
			Elf32_Dyn d32;
		} d;
		int64_t tag;
		uint64_t val;
		int rc = pread_all(fd, &d, dsz, off + o);

		if (rc)
			return rc;
		tag = c64 ? d.d64.d_tag : d.d32.d_tag;
		val = c64 ? d.d64.d_un.d_val : d.d32.d_un.d_val;
		if (tag == DT_NULL)
			break;
		if (tag == DT_TEXTREL || (tag == DT_FLAGS && (val & DF_TEXTREL)))
			return 1;
	}
	return 0;
}

/* The dynamic section of a 64- or 32-bit (a 32-bit process on a 64-bit
 * kernel) native-endian ELF: only native objects run here. */
int vigil_elf_textrel(int fd)
{
	union {
		Elf64_Ehdr e64;
		Elf32_Ehdr e32;
	} eh;
	int rc = pread_all(fd, &eh, sizeof(eh.e32), 0), c64;
	uint64_t phoff, phent;
	unsigned phnum;

	if (rc)
		return rc;
	if (memcmp(eh.e32.e_ident, ELFMAG, SELFMAG) ||
	    (eh.e32.e_ident[EI_CLASS] != ELFCLASS64 && eh.e32.e_ident[EI_CLASS] != ELFCLASS32))
		return -ENOEXEC;
	c64 = eh.e32.e_ident[EI_CLASS] == ELFCLASS64;
	if (c64 && (rc = pread_all(fd, &eh, sizeof(eh.e64), 0)))
		return rc;
	phoff = c64 ? eh.e64.e_phoff : eh.e32.e_phoff;
	phent = c64 ? eh.e64.e_phentsize : eh.e32.e_phentsize;
	phnum = c64 ? eh.e64.e_phnum : eh.e32.e_phnum;
	if (phent != (c64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) || phnum > 4096)
		return -ENOEXEC;
	for (unsigned i = 0; i < phnum; i++) {
		union {
			Elf64_Phdr p64;
			Elf32_Phdr p32;
		} ph;

		if ((rc = pread_all(fd, &ph, phent, phoff + (uint64_t)i * phent)))
			return rc;
		if ((c64 ? ph.p64.p_type : ph.p32.p_type) == PT_DYNAMIC)
			return c64 ? dyn_textrel(fd, 1, ph.p64.p_offset, ph.p64.p_filesz)
				   : dyn_textrel(fd, 0, ph.p32.p_offset, ph.p32.p_filesz);
	}
	return 0; /* static: nothing relocates its text */
}
