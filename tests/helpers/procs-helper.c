/* procs-helper.c - processes for tests/integration/procs_verify.sh to find:
 *   procs-helper patch   makes the page of one of its own functions writable,
 *                        flips a byte there, makes it executable again, prints
 *                        "PATCHED PAGE BYTE" (hex addresses) and waits;
 *   procs-helper anon    runs code from an anonymous mapping, prints
 *                        "ANON ADDR" and waits;
 *   procs-helper memfd PROG ARGV0 ARGS...  copies PROG into a memfd and fexecve()s it.
 * It waits until killed (at most 10 minutes).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern char **environ;

/* On a page of its own, so the page flipped holds nothing main needs. */
static __attribute__((noinline, aligned(4096))) int victim(int x)
{
	return x * 3 + 7;
}

static void wait_killed(void)
{
	for (int i = 0; i < 600; i++)
		sleep(1);
}

static int patch(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	volatile unsigned char *b = (unsigned char *)(uintptr_t)&victim + 1;
	uintptr_t page = (uintptr_t)b & ~(uintptr_t)(pg - 1);

	if (mprotect((void *)page, (size_t)pg, PROT_READ | PROT_WRITE | PROT_EXEC)) {
		perror("mprotect rwx");
		return 1;
	}
	*b ^= 0xff;
	if (mprotect((void *)page, (size_t)pg, PROT_READ | PROT_EXEC)) {
		perror("mprotect r-x");
		return 1;
	}
	printf("PATCHED 0x%lx 0x%lx\n", (unsigned long)page, (unsigned long)(uintptr_t)b);
	fflush(stdout);
	wait_killed();
	return 0;
}

static int anon(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *p = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int (*fn)(void);

	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	/* x86-64 "mov eax, 42; ret"; elsewhere just "present" */
	memcpy(p, "\xb8\x2a\x00\x00\x00\xc3", 6);
	if (mprotect(p, (size_t)pg, PROT_READ | PROT_EXEC)) {
		perror("mprotect");
		return 1;
	}
#if defined(__x86_64__)
	fn = (int (*)(void))(uintptr_t)p;
	if (fn() != 42)
		return 1;
#else
	(void)fn;
#endif
	printf("ANON 0x%lx\n", (unsigned long)(uintptr_t)p);
	fflush(stdout);
	wait_killed();
	return 0;
}

static int memfd(char **argv)
{
	int in = open(argv[0], O_RDONLY | O_CLOEXEC), fd = memfd_create("procs-test", MFD_CLOEXEC);
	char buf[65536];
	ssize_t n;

	if (in < 0 || fd < 0) {
		perror("open/memfd_create");
		return 1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n) {
			perror("write");
			return 1;
		}
	close(in);
	fexecve(fd, argv + 1, environ); /* argv[1] is its argv[0] */
	perror("fexecve");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "patch"))
		return victim(1) == 10 ? patch() : 1;
	if (argc >= 2 && !strcmp(argv[1], "anon"))
		return anon();
	if (argc >= 4 && !strcmp(argv[1], "memfd"))
		return memfd(argv + 2);
	fprintf(stderr, "usage: procs-helper patch|anon|memfd PROG ARGS...\n");
	return 2;
}
