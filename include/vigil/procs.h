/* procs.h - `vigil procs`: running processes with their container, and with
 * verify, code in memory against the files it was mapped from
 * (collectors/host/procmaps.c parses, procverify.c compares, procs.c lists
 * and reports).  Only meaningful on the running host.
 *
 * Lifecycle: vigil_procs_run(&opts, &report, err) -> a JSON object
 *   {"processes":[{pid,ppid,uid,comm,exe,container_id,container_name,...}],
 *    "findings":[{action,severity,pid,comm,exe,container_*,mapping,address,
 *                 file_offset,bytes_differing,detail}],
 *    "notes":[{pid,comm,note}], "summary":{...}}
 * -> json_decref().  Every finding's "action" is a VIGIL_ACTION_PROC_* name
 * (actions.h) and its "severity" a vigil_severity_name().
 *
 * Processes are other people's: one that exits mid-read is a note, never a
 * failure; one whose memory cannot be read (no ptrace access) is a note too.
 */
#ifndef VIGIL_PROCS_H
#define VIGIL_PROCS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vigil/err.h"

struct json_t;

/* One line of /proc/PID/maps.  path points into the parsed line (NUL
 * terminated there), "" for an anonymous mapping; the kernel's " (deleted)"
 * suffix is cut off and said by deleted. */
struct vigil_map {
	uint64_t start, end, offset;
	char perms[5];
	unsigned dev_major, dev_minor;
	uint64_t inode;
	const char *path;
	int deleted;
};

/* Parses one line (without or with its '\n', modified in place). 0 or -EINVAL. */
int vigil_maps_parse_line(char *line, struct vigil_map *m);

/* What kind of executable mapping m is. */
enum vigil_map_kind {
	VIGIL_MAP_FILE = 1,  /* a file on a file system: compared */
	VIGIL_MAP_SPECIAL,   /* [vdso], [vsyscall], [vvar], [uprobes]: the kernel's, skipped */
	VIGIL_MAP_ANON,      /* no file ([heap], [stack], [anon:...], nothing) */
	VIGIL_MAP_MEMFD,     /* /memfd:NAME: a file with no name on any disk */
};
int vigil_map_kind(const struct vigil_map *m);

/* 1 when the ELF file open on fd has text relocations (DT_TEXTREL, or
 * DF_TEXTREL in DT_FLAGS), 0 when not, -errno when it cannot be told. */
int vigil_elf_textrel(int fd);

struct vigil_procs_opts {
	const char *container;  /* NULL: every process; else an id, id prefix or name */
	const char *data_root;  /* Docker's; NULL: discovered */
	int verify;
	const char *state_dir;  /* the baseline to compare exe hashes with; NULL: none */
	const char *proc;       /* NULL: "/proc" */
	size_t max_page_findings; /* per mapping; 0: 16 */
};

int vigil_procs_run(const struct vigil_procs_opts *o, struct json_t **report, struct vigil_err *err);

/* Verification of one process: its findings and notes appended to the
 * report's arrays (procverify.c).  proc_obj is the process's entry. */
void vigil_procs_verify_one(const struct vigil_procs_opts *o, pid_t pid, struct json_t *proc_obj,
			    struct json_t *findings, struct json_t *notes, struct json_t *summary);

#endif
