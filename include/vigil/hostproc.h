/* hostproc.h - live process state from /proc and the cgroup tree
 * (collectors/host/proc.c): what capture records about running processes.
 *
 * No state: plain functions.  Everything read here belongs to other
 * processes, which may exit at any moment: a vanished process is -ESRCH or
 * -ENOENT, never an abort.  Only meaningful on the running host (not --root).
 */
#ifndef VIGIL_HOSTPROC_H
#define VIGIL_HOSTPROC_H

#include <stddef.h>
#include <sys/types.h>

/* The pids in the cgroup that pid is in (cgroup v2, else v1's freezer or
 * pids hierarchy), malloc'd in *pids; their count.  -errno on failure. */
int vigil_proc_cgroup_pids(pid_t pid, pid_t **pids, size_t *n);

/* The freezer of pid's cgroup: v2 "cgroup.freeze" or v1 "freezer.state"
 * (path into buf; *v2 says which).  -ENOENT when there is none. */
int vigil_proc_freezer(pid_t pid, char *buf, size_t len, int *v2);
/* Freezes (1) or thaws (0) through the file vigil_proc_freezer found;
 * freezing waits (up to ~2 s) until the kernel says FROZEN. */
int vigil_proc_freeze(const char *path, int v2, int on);

/* SHA-256 (hex) of the executable through /proc/PID/exe: works for a binary
 * deleted since it was started. */
int vigil_proc_exe_sha256(pid_t pid, char hex[65]);

/* JSON text (malloc'd) of pid's open fds [{"fd":N,"target":"..."}], its
 * namespaces {"net":"net:[4026531992]",...}; NULL when it vanished. */
char *vigil_proc_fds_json(pid_t pid);
char *vigil_proc_ns_json(pid_t pid);
/* Every process: [{"pid","ppid","uid","comm","exe","exe_sha256","cmdline"}]. */
char *vigil_proc_list_json(void);

#endif
