/* test_procmaps.c - /proc/PID/maps lines (crafted: file, anonymous, the
 * kernel's special mappings, memfd, deleted, paths with spaces, hostile
 * lines), the mapping kinds, and DT_TEXTREL detection on crafted ELF files. */
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

#include "vigil/procs.h"

static int parse(const char *text, struct vigil_map *m, char *buf, size_t len)
{
	snprintf(buf, len, "%s", text);
	return vigil_maps_parse_line(buf, m);
}

static void test_file_line(void **state)
{
	char buf[512];
	struct vigil_map m;

	(void)state;
	assert_int_equal(parse("7f1c2a400000-7f1c2a595000 r-xp 00028000 08:01 1835093                    "
			       "/usr/lib/x86_64-linux-gnu/libc.so.6\n", &m, buf, sizeof(buf)), 0);
	assert_true(m.start == 0x7f1c2a400000ULL);
	assert_true(m.end == 0x7f1c2a595000ULL);
	assert_string_equal(m.perms, "r-xp");
	assert_true(m.offset == 0x28000);
	assert_int_equal(m.dev_major, 8);
	assert_int_equal(m.dev_minor, 1);
	assert_true(m.inode == 1835093);
	assert_string_equal(m.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_int_equal(m.deleted, 0);
	assert_int_equal(vigil_map_kind(&m), VIGIL_MAP_FILE);
}

static void test_anon_and_special(void **state)
{
	char buf[512];
	struct vigil_map m;

	(void)state;
	assert_int_equal(parse("7ffd1a5e0000-7ffd1a5e2000 r-xp 00000000 00:00 0                          [vdso]",
			       &m, buf, sizeof(buf)), 0);
	assert_string_equal(m.path, "[vdso]");
	assert_int_equal(vigil_map_kind(&m), VIGIL_MAP_SPECIAL);
	assert_int_equal(parse("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
			       &m, buf, sizeof(buf)), 0);
	assert_int_equal(vigil_map_kind(&m), VIGIL_MAP_SPECIAL);
	assert_true(m.start == 0xffffffffff600000ULL);
	/* no path at all, with and without the padding */
	assert_int_equal(parse("7f0000000000-7f0000001000 rwxp 00000000 00:00 0 ", &m, buf, sizeof(buf)), 0);
	assert_string_equal(m.path, "");
	assert_int_equal(vigil_map_kind(&m), VIGIL_MAP_ANON);
	assert_int_equal(parse("7f0000000000-7f0000001000 r-xp 00000000 00:00 0", &m, buf, sizeof(buf)), 0);
	assert_string_equal(m.path, "");
	assert_int_equal(vigil_map_kind(&m), VIGIL_MAP_ANON);
	assert_int_equal(parse("55d0c0000000-55d0c0021000 rwxp 00000000 00:00 0       [heap]", &m, buf, sizeof(buf)), 0);
	assert_int_equal(vigil_map_kind(&m), VIGIL_MAP_ANON);
	assert_int_equal(parse("7f0000000000-7f0000001000 r-xp 00000000 00:00 0   [anon:jit code]", &m, buf,
			       sizeof(buf)), 0);
	assert_string_equal(m.path, "[anon:jit code]");
	assert_int_equal(vigil_map_kind(&m), VIGIL_MAP_ANON);
	/* shared anonymous memory: shmem files with an inode, on no disk */
	assert_int_equal(parse("7f0000000000-7f0000001000 r-xs 00000000 00:01 4242   /dev/zero (deleted)", &m, buf,
			       sizeof(buf)), 0);
	assert_int_equal(m.deleted, 1);
	assert_int_equal(vigil_map_kind(&m), VIGIL_MAP_ANON);
	assert_int_equal(parse("7f0000000000-7f0000001000 r-xs 00000000 00:01 32779  /SYSV00000000 (deleted)", &m,
			       buf, sizeof(buf)), 0);
	assert_int_equal(vigil_map_kind(&m), VIGIL_MAP_ANON);
}

static void test_memfd_deleted_spaces(void **state)
{
	char buf[512];
	struct vigil_map m;

	(void)state;
	assert_int_equal(parse("563a6e600000-563a6e604000 r-xp 00002000 00:01 2061   /memfd:procs-test (deleted)\n",
			       &m, buf, sizeof(buf)), 0);
	assert_string_equal(m.path, "/memfd:procs-test");
	assert_int_equal(m.deleted, 1);
	assert_int_equal(vigil_map_kind(&m), VIGIL_MAP_MEMFD);
	assert_int_equal(parse("563a6e600000-563a6e604000 r-xp 00002000 fd:00 99   /tmp/my dir/sleep copy (deleted)",
			       &m, buf, sizeof(buf)), 0);
	assert_string_equal(m.path, "/tmp/my dir/sleep copy");
	assert_int_equal(m.deleted, 1);
	assert_int_equal(vigil_map_kind(&m), VIGIL_MAP_FILE);
	/* "(deleted)" without its space is part of the name */
	assert_int_equal(parse("1000-2000 r-xp 00000000 fd:00 99 /tmp/x(deleted)", &m, buf, sizeof(buf)), 0);
	assert_string_equal(m.path, "/tmp/x(deleted)");
	assert_int_equal(m.deleted, 0);
	/* a path holding a newline is escaped by the kernel as \012: kept as is */
	assert_int_equal(parse("1000-2000 r-xp 00000000 fd:00 99 /tmp/a\\012b", &m, buf, sizeof(buf)), 0);
	assert_string_equal(m.path, "/tmp/a\\012b");
}

static void test_bad_lines(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"garbage",
		"7f00-7e00 r-xp 00000000 00:00 0",           /* end before start */
		"7f00 r-xp 00000000 00:00 0",                /* no end */
		"-7f00 r-xp 00000000 00:00 0",
		"1000-2000 r-x 00000000 00:00 0",            /* three perms */
		"1000-2000 r-xq 00000000 00:00 0",           /* unknown perm */
		"1000-2000 r-xp 0000000g 00:00 0",
		"1000-2000 r-xp 00000000 0000 0",            /* no minor */
		"1000-2000 r-xp 00000000 00:00 x",           /* inode not a number */
		"1000-2000 r-xp 00000000 00:00 12x /bin/sh",
		"1000-2000 r-xp 00000000 fffff:00 1 /bin/sh",  /* major out of range */
		"10000000000000000000-2000 r-xp 00000000 00:00 0", /* overflows 64 bits */
		"1000-2000 r-xp 00000000 00:00 99999999999999999999999 /x",
		"1000-2000 r-xp",
		" 1000-2000 r-xp 00000000 00:00 0",
		NULL,
	};
	char buf[512];
	struct vigil_map m;

	(void)state;
	for (int i = 0; bad[i]; i++) {
		print_message("line %d: '%s'\n", i, bad[i]);
		assert_int_equal(parse(bad[i], &m, buf, sizeof(buf)), -EINVAL);
	}
}

/* A minimal ELF file (64-bit, or 32-bit when c32) with one program header,
 * PT_DYNAMIC (else PT_LOAD) over the dynamic entries dyn (len bytes). */
static int elf_file(int c32, const void *dyn, size_t len, int dynamic, char *path, size_t plen)
{
	Elf64_Ehdr e64 = { 0 };
	Elf64_Phdr p64 = { 0 };
	Elf32_Ehdr e32 = { 0 };
	Elf32_Phdr p32 = { 0 };
	unsigned char *id = c32 ? e32.e_ident : e64.e_ident;
	size_t eh = c32 ? sizeof(e32) : sizeof(e64), ph = c32 ? sizeof(p32) : sizeof(p64);
	int fd;

	snprintf(path, plen, "%s/vigil-procmaps.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	memcpy(id, ELFMAG, SELFMAG);
	id[EI_CLASS] = c32 ? ELFCLASS32 : ELFCLASS64;
	id[EI_DATA] = ELFDATA2LSB;
	id[EI_VERSION] = EV_CURRENT;
	e64.e_type = e32.e_type = ET_DYN;
	e64.e_phoff = e32.e_phoff = (Elf32_Off)eh;
	e64.e_phentsize = e32.e_phentsize = (Elf32_Half)ph;
	e64.e_phnum = e32.e_phnum = 1;
	p64.p_type = p32.p_type = dynamic ? PT_DYNAMIC : PT_LOAD;
	p64.p_offset = p32.p_offset = (Elf32_Off)(eh + ph);
	p64.p_filesz = p32.p_filesz = (Elf32_Word)len;
	assert_int_equal(write(fd, c32 ? (void *)&e32 : (void *)&e64, eh), (ssize_t)eh);
	assert_int_equal(write(fd, c32 ? (void *)&p32 : (void *)&p64, ph), (ssize_t)ph);
	assert_int_equal(write(fd, dyn, len), (ssize_t)len);
	return fd;
}

static int elf_with(const Elf64_Dyn *dyn, size_t n, int dynamic, char *path, size_t plen)
{
	return elf_file(0, dyn, n * sizeof(*dyn), dynamic, path, plen);
}

static int elf32_with(const Elf32_Dyn *dyn, size_t n, char *path, size_t plen)
{
	return elf_file(1, dyn, n * sizeof(*dyn), 1, path, plen);
}

static void test_textrel32(void **state)
{
	Elf32_Dyn plain[] = { { DT_NEEDED, { 1 } }, { DT_FLAGS, { DF_BIND_NOW } }, { DT_NULL, { 0 } } };
	Elf32_Dyn tr[] = { { DT_NEEDED, { 1 } }, { DT_TEXTREL, { 0 } }, { DT_NULL, { 0 } } };
	Elf32_Dyn fl[] = { { DT_FLAGS, { DF_TEXTREL } }, { DT_NULL, { 0 } } };
	char path[256];
	int fd;

	(void)state;
	fd = elf32_with(plain, 3, path, sizeof(path));
	assert_int_equal(vigil_elf_textrel(fd), 0);
	close(fd);
	unlink(path);
	fd = elf32_with(tr, 3, path, sizeof(path));
	assert_int_equal(vigil_elf_textrel(fd), 1);
	close(fd);
	unlink(path);
	fd = elf32_with(fl, 2, path, sizeof(path));
	assert_int_equal(vigil_elf_textrel(fd), 1);
	/* a program header size that is not Elf32_Phdr's (Elf64_Phdr's) */
	assert_int_equal(pwrite(fd, "\x38", 1, offsetof(Elf32_Ehdr, e_phentsize)), 1);
	assert_int_equal(vigil_elf_textrel(fd), -ENOEXEC);
	close(fd);
	unlink(path);
}

static void test_textrel(void **state)
{
	Elf64_Dyn plain[] = { { DT_NEEDED, { 1 } }, { DT_FLAGS, { DF_BIND_NOW } }, { DT_NULL, { 0 } } };
	Elf64_Dyn tr[] = { { DT_NEEDED, { 1 } }, { DT_TEXTREL, { 0 } }, { DT_NULL, { 0 } } };
	Elf64_Dyn fl[] = { { DT_FLAGS, { DF_BIND_NOW | DF_TEXTREL } }, { DT_NULL, { 0 } } };
	Elf64_Dyn after_null[] = { { DT_NULL, { 0 } }, { DT_TEXTREL, { 0 } } };
	char path[256];
	int fd;

	(void)state;
	fd = elf_with(plain, 3, 1, path, sizeof(path));
	assert_int_equal(vigil_elf_textrel(fd), 0);
	close(fd);
	unlink(path);
	fd = elf_with(tr, 3, 1, path, sizeof(path));
	assert_int_equal(vigil_elf_textrel(fd), 1);
	close(fd);
	unlink(path);
	fd = elf_with(fl, 2, 1, path, sizeof(path));
	assert_int_equal(vigil_elf_textrel(fd), 1);
	close(fd);
	unlink(path);
	fd = elf_with(after_null, 2, 1, path, sizeof(path));
	assert_int_equal(vigil_elf_textrel(fd), 0);
	close(fd);
	unlink(path);
	fd = elf_with(tr, 3, 0, path, sizeof(path)); /* no PT_DYNAMIC: static */
	assert_int_equal(vigil_elf_textrel(fd), 0);
	/* not an ELF file */
	assert_int_equal(pwrite(fd, "#!/bin/sh\n", 10, 0), 10);
	assert_int_equal(vigil_elf_textrel(fd), -ENOEXEC);
	assert_int_equal(ftruncate(fd, 8), 0);
	assert_int_equal(vigil_elf_textrel(fd), -EINVAL);
	close(fd);
	unlink(path);
}

/* The real thing: vigil's own maps parse, and its text is a file mapping. */
static void test_own_maps(void **state)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[8192];
	int files = 0;

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		struct vigil_map m;

		assert_int_equal(vigil_maps_parse_line(line, &m), 0);
		if (m.perms[2] == 'x' && vigil_map_kind(&m) == VIGIL_MAP_FILE)
			files++;
	}
	fclose(f);
	assert_true(files >= 2); /* the test program and libc at least */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_line),
		cmocka_unit_test(test_anon_and_special),
		cmocka_unit_test(test_memfd_deleted_spaces),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_textrel),
		cmocka_unit_test(test_textrel32),
		cmocka_unit_test(test_own_maps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
