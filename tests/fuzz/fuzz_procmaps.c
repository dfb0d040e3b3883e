/* fuzz_procmaps.c - hostile /proc/PID/maps lines and mapped ELF files.
 *
 * A mapped file's name is the attacker's (any process can map a file it
 * named), and so are the bytes of the ELF objects vigil reads for
 * DT_TEXTREL.  The input is two parts (fuzz_common.h): maps text and an ELF
 * file (with one part, the same bytes serve as both).  Each maps line is
 * parsed from a buffer of its exact size (ASan sees any read past it); a
 * line that parses must re-parse to the same fields once printed back in the
 * kernel's format, with its path inside the line.  The ELF part is written
 * to a scratch file and read by vigil_elf_textrel(): 1, 0 or -errno, never
 * anything else, never a crash. */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "vigil/procs.h"

static void same_or_abort(const struct vigil_map *a, const struct vigil_map *b)
{
	if (a->start != b->start || a->end != b->end || a->offset != b->offset || strcmp(a->perms, b->perms) ||
	    a->dev_major != b->dev_major || a->dev_minor != b->dev_minor || a->inode != b->inode ||
	    strcmp(a->path, b->path) || a->deleted != b->deleted || vigil_map_kind(a) != vigil_map_kind(b))
		abort();
}

static void one_line(const uint8_t *p, size_t n)
{
	char *line = malloc(n + 1), *again;
	struct vigil_map m, m2;
	size_t len;
	int k;

	if (!line)
		abort();
	memcpy(line, p, n);
	line[n] = '\0';
	if (vigil_maps_parse_line(line, &m)) {
		free(line);
		return;
	}
	if (m.end < m.start || strspn(m.perms, "rwxsp-") != 4 || m.path < line || m.path > line + n ||
	    m.path + strlen(m.path) > line + n)
		abort();
	k = vigil_map_kind(&m);
	if (k < VIGIL_MAP_FILE || k > VIGIL_MAP_MEMFD)
		abort();
	len = strlen(m.path) + 128;
	again = malloc(len);
	if (!again)
		abort();
	snprintf(again, len, "%" PRIx64 "-%" PRIx64 " %s %08" PRIx64 " %02x:%02x %" PRIu64 "%s%s%s", m.start,
		 m.end, m.perms, m.offset, m.dev_major, m.dev_minor, m.inode, m.path[0] ? " " : "", m.path,
		 m.deleted ? " (deleted)" : "");
	if (vigil_maps_parse_line(again, &m2))
		abort();
	same_or_abort(&m, &m2);
	free(again);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[2];
	size_t len[2], n = fz_split(data, size, part, len, 2);
	const uint8_t *p = part[0], *end = part[0] + len[0];
	static const char *dir;
	char path[4096];
	int fd, rc;

	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		one_line(p, l);
		p += l + 1;
	}
	if (!dir)
		dir = fz_dir("procmaps");
	fz_put(dir, "obj", part[n - 1], len[n - 1]);
	snprintf(path, sizeof(path), "%s/obj", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		abort();
	rc = vigil_elf_textrel(fd);
	close(fd);
	if (rc > 1 || rc < -4095)
		abort();
	return 0;
}
