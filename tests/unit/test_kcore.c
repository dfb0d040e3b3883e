/* test_kcore.c - /proc/iomem parsing and the kcore reader on synthetic
 * fixtures: ELF64 cores written to a temp file (good, overlapping segments,
 * sizes that overflow, offsets past the end, p_paddr -1, every bad ELF
 * header) and iomem texts (root's view, the non-root view of zeros, nested
 * lines, hostile lines). The dump is checked byte by byte against the
 * physical pattern the fixture holds, and by the LiME validator. */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/crypto.h"
#include "vigil/kcore.h"

static char path[64];

/* The byte physical memory holds at address a in every fixture. */
static unsigned char pat(uint64_t a)
{
	return (unsigned char)(a * 131 ^ a >> 12);
}

struct fseg {
	uint32_t type;
	uint64_t paddr, size, offset;
	int no_data; /* do not write the bytes (offset past the end) */
};

static void write_core(const Elf64_Ehdr *eh, const struct fseg *s, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	Elf64_Ehdr e = *eh;

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &e, sizeof(e), 0), sizeof(e));
	for (size_t i = 0; i < n; i++) {
		Elf64_Phdr p = { 0 };

		p.p_type = s[i].type;
		p.p_paddr = s[i].paddr;
		p.p_filesz = p.p_memsz = s[i].size;
		p.p_offset = s[i].offset;
		p.p_vaddr = 0xffff888000000000ull + s[i].paddr;
		assert_int_equal(pwrite(fd, &p, sizeof(p), (off_t)(e.e_phoff + i * sizeof(p))), sizeof(p));
		if (s[i].no_data || s[i].type != PT_LOAD || s[i].paddr == UINT64_MAX || s[i].size > (1u << 24))
			continue;
		for (uint64_t k = 0; k < s[i].size; k++) {
			unsigned char b = pat(s[i].paddr + k);

			assert_int_equal(pwrite(fd, &b, 1, (off_t)(s[i].offset + k)), 1);
		}
	}
	close(fd);
}

static Elf64_Ehdr ehdr(size_t phnum)
{
	Elf64_Ehdr e = { 0 };

	memcpy(e.e_ident, ELFMAG, SELFMAG);
	e.e_ident[EI_CLASS] = ELFCLASS64;
	e.e_ident[EI_DATA] = ELFDATA2LSB;
	e.e_ident[EI_VERSION] = EV_CURRENT;
	e.e_type = ET_CORE;
	e.e_machine = EM_X86_64;
	e.e_version = EV_CURRENT;
	e.e_phoff = sizeof(e);
	e.e_phentsize = sizeof(Elf64_Phdr);
	e.e_phnum = (Elf64_Half)phnum;
	e.e_ehsize = sizeof(e);
	return e;
}

struct mem {
	unsigned char *buf;
	size_t len;
};

static int mem_sink(void *ctx, const void *buf, size_t len, struct vigil_err *err)
{
	struct mem *m = ctx;

	(void)err;
	m->buf = realloc(m->buf, m->len + len);
	assert_non_null(m->buf);
	memcpy(m->buf + m->len, buf, len);
	m->len += len;
	return 0;
}

/* Dumps ranges from the fixture; checks the stream validates and every body
 * byte is the pattern, or zero inside a hole. */
static void dump_and_check(const struct vigil_lime_range *r, size_t n, struct vigil_kcore_result *res)
{
	struct mem m = { NULL, 0 };
	struct vigil_lime_out *o = vigil_lime_out_new(mem_sink, &m);
	struct vigil_err err = { "" };
	char hex[65];
	size_t pos = 0;

	assert_int_equal(vigil_kcore_dump(path, r, n, o, res, &err), 0);
	assert_int_equal(vigil_lime_out_finish(o, hex, &err), 0);
	for (size_t i = 0; i < n; i++) {
		struct vigil_lime_range got;

		assert_int_equal(vigil_lime_header_decode(m.buf + pos, &got), VIGIL_LIME_OK);
		assert_int_equal(got.start, r[i].start);
		assert_int_equal(got.end, r[i].end);
		pos += VIGIL_LIME_HDR_SIZE;
		for (uint64_t a = r[i].start; a <= r[i].end; a++, pos++) {
			int in_hole = 0;

			for (size_t h = 0; h < res->holes_listed; h++)
				in_hole |= a >= res->holes[h].start && a <= res->holes[h].end;
			if (m.buf[pos] != (in_hole ? 0 : pat(a)))
				fail_msg("byte at 0x%llx: 0x%02x (hole %d)", (unsigned long long)a, m.buf[pos], in_hole);
		}
	}
	assert_int_equal(pos, m.len);
	vigil_lime_out_free(o);
	free(m.buf);
}

/* Two RAM segments; iomem's first range ends mid-page past its segment (the
 * tail is a hole), the second is covered; a p_paddr -1 segment (vmalloc) and
 * a PT_NOTE are ignored. */
static void test_good(void **state)
{
	static const struct fseg s[] = {
		{ PT_NOTE, 0, 0x100, 0x1000, 1 },
		{ PT_LOAD, UINT64_MAX, 0x4000, 0x2000, 1 },
		{ PT_LOAD, 0x1000, 0x9e000, 0x10000, 0 },  /* 0x1000-0x9efff */
		{ PT_LOAD, 0x100000, 0x20000, 0xb0000, 0 },
	};
	static const struct vigil_lime_range r[] = { { 0x1000, 0x9fbff }, { 0x100000, 0x11ffff } };
	Elf64_Ehdr e = ehdr(4);
	struct vigil_kcore_result res;

	(void)state;
	write_core(&e, s, 4);
	dump_and_check(r, 2, &res);
	assert_int_equal(res.n_segments, 2);
	assert_int_equal(res.dropped_segments, 0);
	assert_int_equal(res.n_holes, 1);
	assert_int_equal(res.holes[0].start, 0x9f000);
	assert_int_equal(res.holes[0].end, 0x9fbff);
	vigil_kcore_result_free(&res);
}

/* The kernel text segment maps the same physical pages again: overlapping
 * segments give the same bytes, nothing is written twice. */
static void test_overlap(void **state)
{
	static const struct fseg s[] = {
		{ PT_LOAD, 0x100000, 0x40000, 0x1000, 0 },
		{ PT_LOAD, 0x120000, 0x8000, 0x50000, 0 }, /* "kernel text" inside */
		{ PT_LOAD, 0x130000, 0x20000, 0x60000, 0 }, /* straddles the end */
	};
	static const struct vigil_lime_range r[] = { { 0x100000, 0x14ffff } };
	Elf64_Ehdr e = ehdr(3);
	struct vigil_kcore_result res;

	(void)state;
	write_core(&e, s, 3);
	dump_and_check(r, 1, &res);
	assert_int_equal(res.n_holes, 0);
	vigil_kcore_result_free(&res);
}

/* Sizes that overflow are dropped; a segment whose bytes lie past the end of
 * the file is zero-filled and listed as holes (page by page, merged); a
 * range no segment covers is one hole. */
static void test_hostile_segments(void **state)
{
	static const struct fseg s[] = {
		{ PT_LOAD, 0x1000, UINT64_MAX - 0x10, 0x1000, 1 },          /* paddr + size overflows */
		{ PT_LOAD, 0x2000, 0x1000, UINT64_MAX - 0x100, 1 },          /* offset + size overflows */
		{ PT_LOAD, 0x100000, 0x3000, 0x2000, 0 },
		{ PT_LOAD, 0x103000, 0x2000, 0x7000000000ull, 1 },           /* past the end */
	};
	static const struct vigil_lime_range r[] = { { 0x100000, 0x104fff }, { 0x200000, 0x2007ff } };
	Elf64_Ehdr e = ehdr(4);
	struct vigil_kcore_result res;

	(void)state;
	write_core(&e, s, 4);
	dump_and_check(r, 2, &res);
	assert_int_equal(res.n_segments, 2);
	assert_int_equal(res.dropped_segments, 2);
	assert_int_equal(res.n_holes, 2);
	assert_int_equal(res.holes[0].start, 0x103000);
	assert_int_equal(res.holes[0].end, 0x104fff);
	assert_int_equal(res.holes[1].start, 0x200000);
	assert_int_equal(res.hole_bytes, 0x2000 + 0x800);
	vigil_kcore_result_free(&res);
}

/* Every bad ELF header is refused before any byte is written. */
static void test_bad_headers(void **state)
{
	static const struct fseg s[] = { { PT_LOAD, 0x1000, 0x1000, 0x1000, 0 } };
	struct vigil_kcore_seg *segs;
	struct vigil_err err;
	size_t n, dropped;

	(void)state;
	for (int k = 0; k < 8; k++) {
		Elf64_Ehdr e = ehdr(1);
		int fd;

		switch (k) {
		case 0: e.e_ident[1] = 'X'; break;
		case 1: e.e_ident[EI_CLASS] = ELFCLASS32; break;
		case 2: e.e_ident[EI_DATA] = ELFDATA2MSB; break;
		case 3: e.e_type = ET_EXEC; break;
		case 4: e.e_phentsize = 32; break;
		case 5: e.e_phnum = 0; break;
		case 6: e.e_phnum = PN_XNUM; break;
		case 7: e.e_phoff = 0x10000000; break; /* past the end */
		}
		write_core(&e, s, k == 7 ? 0 : 1);
		fd = open(path, O_RDONLY);
		assert_int_equal(vigil_kcore_segments(fd, &segs, &n, &dropped, &err), -EINVAL);
		print_message("header %d: %s\n", k, err.msg);
		close(fd);
	}
	/* a file shorter than an ELF header */
	truncate(path, 10);
	{
		int fd = open(path, O_RDONLY);

		assert_true(vigil_kcore_segments(fd, &segs, &n, &dropped, &err) < 0);
		close(fd);
	}
}

static const char iomem_root[] =
	"00000000-00000fff : Reserved\n"
	"00001000-0009fbff : System RAM\n"
	"0009fc00-0009ffff : Reserved\n"
	"000f0000-000fffff : System ROM\n"
	"00100000-7ffdffff : System RAM\n"
	"  01000000-01ffffff : Kernel code\n"
	"  02000000-0260ffff : Kernel rodata\n"
	"7ffe0000-7fffffff : Reserved\n"
	"100000000-63fffffff : System RAM\n"
	"fd000000-fdffffff : PCI Bus 0000:00\n";

static void test_iomem(void **state)
{
	static const char nonroot[] = "00000000-00000000 : Reserved\n00000000-00000000 : System RAM\n"
				      "  00000000-00000000 : Kernel code\n00000000-00000000 : System RAM\n";
	static const char *const bad[] = {
		"00001000-0009fbff : System RAM\n00001000-00001fff : System RAM\n", /* overlap */
		"00100000-001fffff : System RAM\n00001000-00001fff : System RAM\n", /* unordered */
		"00002000-00001fff : System RAM\n",                                 /* end < start */
		"zz-00001fff : System RAM\n",
		"00001000 : System RAM\n",
		"10000000000000000-1 : System RAM\n", /* 17 digits */
	};
	struct vigil_lime_range *r;
	struct vigil_err err;
	size_t n;

	(void)state;
	assert_int_equal(vigil_iomem_parse(iomem_root, sizeof(iomem_root) - 1, &r, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(r[0].start, 0x1000);
	assert_int_equal(r[0].end, 0x9fbff);
	assert_int_equal(r[2].start, 0x100000000ull);
	assert_int_equal(r[2].end, 0x63fffffffull);
	vigil_iomem_limit(r, &n, 0x9ec00 + 0x1000);
	assert_int_equal(n, 2);
	assert_int_equal(r[1].end, 0x100fff);
	vigil_iomem_limit(r, &n, 0x10);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].end, 0x100f);
	free(r);

	assert_int_equal(vigil_iomem_parse(nonroot, sizeof(nonroot) - 1, &r, &n, &err), -EPERM);
	assert_non_null(strstr(err.msg, "root"));
	assert_int_equal(vigil_iomem_parse("00000000-00000fff : Reserved\n", 29, &r, &n, &err), -ENOENT);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vigil_iomem_parse(bad[i], strlen(bad[i]), &r, &n, &err), -EINVAL);
		print_message("%s", err.msg);
		print_message("\n");
	}
}

static int setup(void **state)
{
	struct vigil_err err;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/vigil-test-kcore-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return vigil_crypto_init(&err);
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_hostile_segments),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_iomem),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
