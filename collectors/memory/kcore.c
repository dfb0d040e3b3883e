/* kcore.c - a LiME stream from /proc/kcore, from userland.
 *
 * /proc/kcore is an ELF64 core; its PT_LOAD segments whose p_paddr is not -1
 * map physical memory (the direct map, and the kernel text again: segments
 * may overlap, any covering one gives the same bytes).  For each System RAM
 * range we write one LiME range of exactly that range, reading what a
 * segment covers with pread into a bounded buffer and zero-filling what none
 * covers (kcore is page-granular while iomem's first range ends mid-page) or
 * what fails to read: those holes are listed, never hidden.  Every header
 * field is hostile until checked: a bad ELF header is refused, a segment
 * whose size overflows is dropped and counted. */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/kcore.h"

#define KCORE_MAX_PHDRS 65534 /* PN_XNUM (0xffff) moves the count elsewhere: refused */
#define KCORE_CHUNK (1u << 20)

static int read_full(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t k = pread(fd, p, len, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ENODATA; /* past the end */
		p += k;
		len -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct vigil_kcore_seg *x = a, *y = b;

	return x->paddr < y->paddr ? -1 : x->paddr > y->paddr;
}

static int check_ehdr(const Elf64_Ehdr *e, struct vigil_err *err)
{
	if (memcmp(e->e_ident, ELFMAG, SELFMAG))
		return vigil_err_set(err, -EINVAL, "kcore: not an ELF file");
	if (e->e_ident[EI_CLASS] != ELFCLASS64 || e->e_ident[EI_DATA] != ELFDATA2LSB)
		return vigil_err_set(err, -EINVAL, "kcore: not a little-endian ELF64 file");
	if (e->e_type != ET_CORE)
		return vigil_err_set(err, -EINVAL, "kcore: ELF type %u is not a core", e->e_type);
	if (e->e_phentsize != sizeof(Elf64_Phdr))
		return vigil_err_set(err, -EINVAL, "kcore: program header size %u", e->e_phentsize);
	if (!e->e_phnum || e->e_phnum > KCORE_MAX_PHDRS)
		return vigil_err_set(err, -EINVAL, "kcore: %u program headers", e->e_phnum);
	if (e->e_phoff > UINT64_MAX - (uint64_t)e->e_phnum * sizeof(Elf64_Phdr))
		return vigil_err_set(err, -EINVAL, "kcore: program headers at 0x%" PRIx64 " overflow", e->e_phoff);
	return 0;
}

int vigil_kcore_segments(int fd, struct vigil_kcore_seg **segs, size_t *n, size_t *dropped,
			 struct vigil_err *err)
{
	Elf64_Ehdr e;
	Elf64_Phdr *ph = NULL;
	struct vigil_kcore_seg *out = NULL;
	size_t count = 0;
	int rc;

	*segs = NULL;
	*n = 0;
	*dropped = 0;
	rc = read_full(fd, &e, sizeof(e), 0);
	if (rc)
		return vigil_err_set(err, rc, "kcore: ELF header: %s", strerror(-rc));
	rc = check_ehdr(&e, err);
	if (rc)
		return rc;
	ph = calloc(e.e_phnum, sizeof(*ph));
	out = calloc(e.e_phnum, sizeof(*out));
	if (!ph || !out) {
		rc = vigil_err_set(err, -ENOMEM, "kcore: out of memory");
		goto out;
	}
	rc = read_full(fd, ph, e.e_phnum * sizeof(*ph), e.e_phoff);
	if (rc) {
		rc = vigil_err_set(err, rc == -ENODATA ? -EINVAL : rc, "kcore: program headers: %s",
				   rc == -ENODATA ? "past the end of the file" : strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < e.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];

		if (p->p_type != PT_LOAD || p->p_paddr == UINT64_MAX || !p->p_filesz)
			continue;
		if (p->p_paddr > UINT64_MAX - p->p_filesz || p->p_offset > UINT64_MAX - p->p_filesz ||
		    p->p_offset > (uint64_t)INT64_MAX - p->p_filesz) {
			(*dropped)++;
			continue;
		}
		out[count++] = (struct vigil_kcore_seg){ p->p_paddr, p->p_filesz, p->p_offset };
	}
	qsort(out, count, sizeof(*out), cmp_seg);
	*segs = out;
	*n = count;
	out = NULL;
out:
	free(ph);
	free(out);
	return rc;
}

void vigil_kcore_result_free(struct vigil_kcore_result *res)
{
	if (!res)
		return;
	free(res->holes);
	memset(res, 0, sizeof(*res));
}

static void add_hole(struct vigil_kcore_result *res, uint64_t start, uint64_t len)
{
	struct vigil_lime_range *last = res->holes_listed ? &res->holes[res->holes_listed - 1] : NULL;

	res->hole_bytes += len;
	if (last && last->end + 1 == start) {
		last->end += len;
		return;
	}
	res->n_holes++;
	if (res->holes_listed == VIGIL_LIME_MAX_GAPS)
		return; /* counted, not listed */
	if (!(res->holes_listed & (res->holes_listed - 1))) {
		size_t cap = res->holes_listed ? 2 * res->holes_listed : 1;
		struct vigil_lime_range *g = realloc(res->holes, cap * sizeof(*g));

		if (!g)
			return;
		res->holes = g;
	}
	res->holes[res->holes_listed++] = (struct vigil_lime_range){ start, start + len - 1 };
}

struct dumper {
	int fd;
	const struct vigil_kcore_seg *segs;
	size_t n_segs;
	unsigned char *buf;
	struct vigil_lime_out *out;
	struct vigil_kcore_result *res;
};

/* The segment covering addr (its first, by paddr), or NULL with *next set to
 * where the next covering segment starts (UINT64_MAX: none). */
static const struct vigil_kcore_seg *cover(const struct dumper *d, uint64_t addr, uint64_t *next)
{
	*next = UINT64_MAX;
	for (size_t i = 0; i < d->n_segs; i++) {
		const struct vigil_kcore_seg *s = &d->segs[i];

		if (s->paddr <= addr && addr - s->paddr < s->size)
			return s;
		if (s->paddr > addr && s->paddr < *next)
			*next = s->paddr;
	}
	return NULL;
}

/* len bytes at addr from segment s: in one pread, else page by page, a page
 * that fails zero-filled and listed as a hole. */
static int copy(struct dumper *d, const struct vigil_kcore_seg *s, uint64_t addr, size_t len,
		struct vigil_err *err)
{
	uint64_t off = s->offset + (addr - s->paddr);

	if (read_full(d->fd, d->buf, len, off)) {
		for (size_t o = 0; o < len; ) {
			size_t k = VIGIL_LIME_PAGE - (size_t)((addr + o) % VIGIL_LIME_PAGE);

			if (k > len - o)
				k = len - o;
			if (read_full(d->fd, d->buf + o, k, off + o)) {
				memset(d->buf + o, 0, k);
				add_hole(d->res, addr + o, k);
			}
			o += k;
		}
	}
	return vigil_lime_out_write(d->out, d->buf, len, err);
}

static int dump_range(struct dumper *d, const struct vigil_lime_range *r, struct vigil_err *err)
{
	uint64_t addr = r->start;
	int rc = vigil_lime_out_range(d->out, r->start, r->end, err);

	while (!rc) {
		uint64_t left = r->end - addr + 1, next, n;
		const struct vigil_kcore_seg *s = cover(d, addr, &next);

		n = left < KCORE_CHUNK ? left : KCORE_CHUNK;
		if (s) {
			if (n > s->size - (addr - s->paddr))
				n = s->size - (addr - s->paddr);
			rc = copy(d, s, addr, (size_t)n, err);
		} else {
			if (next - addr < n)
				n = next - addr;
			memset(d->buf, 0, (size_t)n);
			add_hole(d->res, addr, n);
			rc = vigil_lime_out_write(d->out, d->buf, (size_t)n, err);
		}
		if (addr + (n - 1) == r->end)
			break;
		addr += n;
	}
	return rc;
}

int vigil_kcore_dump(const char *path, const struct vigil_lime_range *ranges, size_t n,
		     struct vigil_lime_out *out, struct vigil_kcore_result *res, struct vigil_err *err)
{
	struct vigil_kcore_seg *segs = NULL;
	struct dumper d = { -1, NULL, 0, NULL, out, res };
	int rc;

	memset(res, 0, sizeof(*res));
	d.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME);
	if (d.fd < 0 && errno == EPERM)
		d.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (d.fd < 0) {
		rc = -errno;
		return vigil_err_set(err, rc, "open %s: %s", path, strerror(-rc));
	}
	rc = vigil_kcore_segments(d.fd, &segs, &d.n_segs, &res->dropped_segments, err);
	if (rc)
		goto out;
	d.segs = segs;
	res->n_segments = d.n_segs;
	rc = vigil_lime_check_expect(vigil_lime_out_check(out), ranges, n);
	if (rc) {
		vigil_err_set(err, rc, "kcore: %zu ranges", n);
		goto out;
	}
	d.buf = malloc(KCORE_CHUNK);
	if (!d.buf) {
		rc = vigil_err_set(err, -ENOMEM, "kcore: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n && !rc; i++)
		rc = dump_range(&d, &ranges[i], err);
out:
	free(d.buf);
	free(segs);
	close(d.fd);
	return rc;
}
