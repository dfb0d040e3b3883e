/* capture_crash.c - a crash of the capture thaws the containers it froze.
 *
 * While a container is frozen, its freezer file (cgroup.freeze or
 * freezer.state) is held open in a slot; a handler for SIGSEGV, SIGBUS,
 * SIGABRT, SIGFPE and SIGILL, installed once for the process, writes the thaw
 * value to every open slot (write(2) only: async-signal-safe), puts back the
 * action that was there before and raises the signal again, so the process
 * still dies of it (core dump and exit status as without the handler).  Slots
 * are claimed and released with atomic operations: the daemon's capture
 * workers may freeze several containers at once.
 *
 * VIGIL_TEST_CRASH_AFTER_FREEZE=1 in the environment (a debug knob for the
 * tests, README "Evidence capture") makes the capture raise SIGSEGV right
 * after it froze a container.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture_priv.h"

#define CRASH_SLOTS 32

static const int crash_sigs[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
#define N_SIGS (sizeof(crash_sigs) / sizeof(crash_sigs[0]))

static int slot[CRASH_SLOTS]; /* (fd + 1) * 2 + (cgroup v2); 0: free */
static struct sigaction old_act[N_SIGS];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void on_crash(int sig)
{
	int saved = errno;

	for (int i = 0; i < CRASH_SLOTS; i++) {
		int v = __atomic_load_n(&slot[i], __ATOMIC_SEQ_CST), fd = v / 2 - 1;

		if (fd < 0)
			continue;
		if (v & 1)
			(void)!write(fd, "0", 1);
		else
			(void)!write(fd, "THAWED", 6);
	}
	for (size_t i = 0; i < N_SIGS; i++)
		if (crash_sigs[i] == sig)
			sigaction(sig, &old_act[i], NULL);
	errno = saved;
	raise(sig); /* SA_NODEFER: delivered now, with the action of before */
}

static void install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < N_SIGS; i++)
		sigaction(crash_sigs[i], &sa, &old_act[i]);
}

int capture_crash_arm(const char *freezer, int v2)
{
	int fd;

	pthread_once(&once, install);
	fd = open(freezer, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (int i = 0; i < CRASH_SLOTS; i++) {
		int expect = 0;

		if (__atomic_compare_exchange_n(&slot[i], &expect, (fd + 1) * 2 + !!v2, 0, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return i;
	}
	close(fd);
	return -EBUSY;
}

void capture_crash_disarm(int i)
{
	int fd;

	if (i < 0 || i >= CRASH_SLOTS)
		return;
	fd = __atomic_exchange_n(&slot[i], 0, __ATOMIC_SEQ_CST) / 2 - 1;
	if (fd >= 0)
		close(fd);
}

void capture_crash_test_hook(void)
{
	const char *v = secure_getenv("VIGIL_TEST_CRASH_AFTER_FREEZE");

	if (v && !strcmp(v, "1"))
		raise(SIGSEGV);
}
