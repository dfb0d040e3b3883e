/* audit_parse.c - raw audit records grouped into events with libauparse's
 * feed mode, and the fields vigil uses taken out of SYSCALL, PATH, CWD,
 * PROCTITLE and EXECVE records.
 *
 * The text is untrusted: file names and arguments are chosen by whoever
 * runs the audited program.  Values are read field by field inside their own
 * record (auparse_find_field would run on into the next records and take a
 * field from the wrong one), every number is range-checked, and the sizes
 * kept per event are bounded (VIGIL_AUDIT_MAX_PATHS names, MAX_ARGS
 * arguments, ARG_BYTES bytes of them); what is cut is flagged, not hidden.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <auparse.h>
#include <libaudit.h>

#include "vigil/audit.h"

/* Bytes of arguments kept per event: a command line is evidence, a 2 MiB
 * argv (the kernel's limit) is a way to exhaust the daemon. */
#define ARG_BYTES (64 * 1024)
/* Seconds auparse waits for the rest of an event that has no EOE record
 * (auditd plugins get none). */
#define EOE_TIMEOUT_S 1

struct vigil_audit_parser {
	auparse_state_t *au;
	vigil_audit_event_fn fn;
	void *ctx;
	uint64_t events, malformed;
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *vigil_audit_decode_value(const char *v, size_t *lenp)
{
	size_t n, i;
	char *out;

	if (lenp)
		*lenp = 0;
	if (!v || !strcmp(v, "(null)") || !strcmp(v, "(none)"))
		return NULL;
	n = strlen(v);
	if (v[0] == '"') {
		/* quoted: printable text, as is, without the quotes */
		const char *end = strrchr(v + 1, '"');
		size_t len = end ? (size_t)(end - v - 1) : n - 1;

		out = malloc(len + 1);
		if (!out)
			return NULL;
		memcpy(out, v + 1, len);
		out[len] = '\0';
		if (lenp)
			*lenp = len;
		return out;
	}
	for (i = 0; i < n; i++)
		if (hexval((unsigned char)v[i]) < 0)
			break;
	if (i < n || n % 2) {
		/* neither quoted nor hex (a number, a word): keep it raw */
		out = strdup(v);
		if (out && lenp)
			*lenp = n;
		return out;
	}
	out = malloc(n / 2 + 1);
	if (!out)
		return NULL;
	for (i = 0; i < n / 2; i++)
		out[i] = (char)(hexval((unsigned char)v[2 * i]) << 4 | hexval((unsigned char)v[2 * i + 1]));
	out[n / 2] = '\0';
	if (lenp)
		*lenp = n / 2;
	return out;
}

static int parse_i64(const char *v, int base, int64_t *out)
{
	char *end;
	long long x;

	if (!v || !*v)
		return -EINVAL;
	errno = 0;
	x = strtoll(v, &end, base);
	if (errno || *end)
		return -EINVAL;
	*out = x;
	return 0;
}

static int parse_u64(const char *v, int base, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (!v || !*v || *v == '-')
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, base);
	if (errno || *end)
		return -EINVAL;
	*out = x;
	return 0;
}

/* uid-like field: 4294967295 ("unset") and anything unparsable give -1. */
static int64_t parse_id(const char *v)
{
	uint64_t x;

	if (parse_u64(v, 10, &x) || x >= 4294967295ULL)
		return -1;
	return (int64_t)x;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = vigil_audit_decode_value(v, NULL);
}

static void event_clear(struct vigil_audit_event *ev)
{
	free(ev->comm);
	free(ev->exe);
	free(ev->key);
	free(ev->cwd);
	free(ev->cmdline);
	for (size_t i = 0; i < ev->argc; i++)
		free(ev->argv[i]);
	free(ev->argv);
	for (size_t i = 0; i < ev->n_paths; i++)
		free(ev->paths[i].name);
}

static void do_syscall(auparse_state_t *au, struct vigil_audit_event *ev)
{
	int have_pid = 0, have_sc = 0;

	ev->has_syscall = 1;
	do {
		const char *n = auparse_get_field_name(au), *v = auparse_get_field_str(au);
		int64_t x;
		uint64_t u;

		if (!n || !v)
			continue;
		if (!strcmp(n, "arch") && !parse_u64(v, 16, &u) && u <= UINT32_MAX)
			ev->arch = (uint32_t)u;
		else if (!strcmp(n, "syscall") && !parse_i64(v, 10, &x) && x >= 0 && x < 100000) {
			ev->syscall = (int)x;
			have_sc = 1;
		} else if (!strcmp(n, "success"))
			ev->success = !strcmp(v, "yes") ? 1 : !strcmp(v, "no") ? 0 : -1;
		else if (!strcmp(n, "exit") && !parse_i64(v, 10, &x))
			ev->exit = x;
		else if (!strcmp(n, "pid") && !parse_i64(v, 10, &x) && x > 0 && x <= INT32_MAX) {
			ev->pid = (pid_t)x;
			have_pid = 1;
		} else if (!strcmp(n, "ppid") && !parse_i64(v, 10, &x) && x >= 0 && x <= INT32_MAX)
			ev->ppid = (pid_t)x;
		else if (!strcmp(n, "uid"))
			ev->uid = parse_id(v);
		else if (!strcmp(n, "euid"))
			ev->euid = parse_id(v);
		else if (!strcmp(n, "auid"))
			ev->auid = parse_id(v);
		else if (!strcmp(n, "gid"))
			ev->gid = parse_id(v);
		else if (!strcmp(n, "comm"))
			set_str(&ev->comm, v);
		else if (!strcmp(n, "exe"))
			set_str(&ev->exe, v);
		else if (!strcmp(n, "key")) {
			size_t len;
			char *k = vigil_audit_decode_value(v, &len);

			/* several keys come hex-encoded, joined by \001: keep the
			 * first, which is the rule's first -k */
			if (k && memchr(k, AUDIT_KEY_SEPARATOR, len))
				*(char *)memchr(k, AUDIT_KEY_SEPARATOR, len) = '\0';
			free(ev->key);
			ev->key = k;
		}
	} while (auparse_next_field(au) > 0);
	if (!have_pid || !have_sc)
		ev->malformed = 1;
}

static void do_path(auparse_state_t *au, struct vigil_audit_event *ev)
{
	struct vigil_audit_path *p;

	if (ev->n_paths >= VIGIL_AUDIT_MAX_PATHS) {
		ev->malformed = 1; /* more items than we keep: said, not hidden */
		return;
	}
	p = &ev->paths[ev->n_paths++];
	do {
		const char *n = auparse_get_field_name(au), *v = auparse_get_field_str(au);
		uint64_t u;

		if (!n || !v)
			continue;
		if (!strcmp(n, "name"))
			set_str(&p->name, v);
		else if (!strcmp(n, "inode") && !parse_u64(v, 10, &u))
			p->inode = u;
		else if (!strcmp(n, "mode") && !parse_u64(v, 8, &u) && u <= 0177777)
			p->mode = (unsigned)u;
		else if (!strcmp(n, "nametype"))
			snprintf(p->nametype, sizeof(p->nametype), "%s", v);
		else if (!strcmp(n, "dev")) {
			unsigned ma, mi;
			char c;

			if (sscanf(v, "%x:%x%c", &ma, &mi, &c) == 2) {
				p->dev_major = ma;
				p->dev_minor = mi;
			}
		}
	} while (auparse_next_field(au) > 0);
}

static int push_arg(struct vigil_audit_event *ev, size_t idx, const char *data, size_t len,
		    size_t *budget)
{
	char *s;
	size_t old;

	if (idx >= VIGIL_AUDIT_MAX_ARGS) {
		ev->argv_truncated = 1;
		return 0;
	}
	if (!ev->argv) {
		ev->argv = calloc(VIGIL_AUDIT_MAX_ARGS + 1, sizeof(*ev->argv));
		if (!ev->argv)
			return -ENOMEM;
	}
	if (len > *budget) {
		len = *budget;
		ev->argv_truncated = 1;
	}
	old = ev->argv[idx] ? strlen(ev->argv[idx]) : 0;
	s = realloc(ev->argv[idx], old + len + 1);
	if (!s)
		return -ENOMEM;
	/* an argument cannot hold a NUL; a decoded one that does is cut there */
	memcpy(s + old, data, len);
	s[old + len] = '\0';
	ev->argv[idx] = s;
	*budget -= len;
	if (idx + 1 > ev->argc)
		ev->argc = idx + 1;
	return 0;
}

static void do_execve(auparse_state_t *au, struct vigil_audit_event *ev)
{
	size_t budget = ARG_BYTES;

	/* EXECVE wins over PROCTITLE (which is cut at 128 bytes) */
	for (size_t i = 0; i < ev->argc; i++) {
		free(ev->argv[i]);
		ev->argv[i] = NULL;
	}
	ev->argc = 0;
	ev->argv_truncated = 0;
	do {
		const char *n = auparse_get_field_name(au), *v = auparse_get_field_str(au);
		char *end, *val;
		unsigned long idx;
		size_t len;

		if (!n || !v || n[0] != 'a' || n[1] < '0' || n[1] > '9')
			continue;
		errno = 0;
		idx = strtoul(n + 1, &end, 10);
		if (errno || (*end && *end != '['))
			continue; /* a0_len and the like */
		val = vigil_audit_decode_value(v, &len);
		if (!val)
			continue;
		/* long arguments come in pieces a1[0]=.. a1[1]=.., in order */
		push_arg(ev, idx, val, strnlen(val, len), &budget);
		free(val);
	} while (auparse_next_field(au) > 0);
}

static void do_proctitle(auparse_state_t *au, struct vigil_audit_event *ev, int have_execve)
{
	const char *v;
	size_t len, budget = ARG_BYTES, idx = 0;
	char *t;

	if (have_execve || auparse_first_field(au) <= 0)
		return;
	do {
		const char *n = auparse_get_field_name(au);

		if (n && !strcmp(n, "proctitle"))
			break;
	} while (auparse_next_field(au) > 0);
	v = auparse_get_field_str(au);
	if (!v || !(t = vigil_audit_decode_value(v, &len)))
		return;
	for (size_t off = 0; off < len; idx++) {
		size_t l = strnlen(t + off, len - off);

		push_arg(ev, idx, t + off, l, &budget);
		off += l + 1;
	}
	free(t);
}

static void make_cmdline(struct vigil_audit_event *ev)
{
	size_t total = 0, o = 0;

	for (size_t i = 0; i < ev->argc; i++)
		total += (ev->argv[i] ? strlen(ev->argv[i]) : 0) + 1;
	if (!total)
		return;
	ev->cmdline = malloc(total);
	if (!ev->cmdline)
		return;
	for (size_t i = 0; i < ev->argc; i++) {
		size_t l = ev->argv[i] ? strlen(ev->argv[i]) : 0;

		if (i)
			ev->cmdline[o++] = ' ';
		memcpy(ev->cmdline + o, ev->argv[i] ? ev->argv[i] : "", l);
		o += l;
	}
	ev->cmdline[o] = '\0';
	/* a hole (a2 without a1) reads as an empty argument, never a NULL */
	for (size_t i = 0; i < ev->argc; i++)
		if (!ev->argv[i] && !(ev->argv[i] = strdup("")))
			ev->malformed = 1;
}

static void on_event(auparse_state_t *au, auparse_cb_event_t type, void *data)
{
	struct vigil_audit_parser *p = data;
	struct vigil_audit_event ev;
	const au_event_t *ts;
	int have_execve = 0, first = 1;

	if (type != AUPARSE_CB_EVENT_READY)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.syscall = -1;
	ev.success = -1;
	ev.uid = ev.euid = ev.auid = ev.gid = -1;
	ts = auparse_get_timestamp(au);
	if (ts) {
		ev.serial = ts->serial;
		/* a stamp past year 2262 does not fit in nanoseconds */
		if (ts->sec >= 0 && ts->sec < INT64_MAX / 1000000000LL - 1 && ts->milli < 1000)
			ev.time_ns = (int64_t)ts->sec * 1000000000LL + (int64_t)ts->milli * 1000000LL;
		else
			ev.malformed = 1;
	}
	if (auparse_first_record(au) <= 0)
		return;
	do {
		int t = auparse_get_type(au);

		ev.n_records++;
		if (first) {
			ev.type = t;
			first = 0;
		}
		if (auparse_first_field(au) <= 0)
			continue;
		switch (t) {
		case AUDIT_SYSCALL:
			do_syscall(au, &ev);
			break;
		case AUDIT_PATH:
			do_path(au, &ev);
			break;
		case AUDIT_CWD:
			do {
				const char *n = auparse_get_field_name(au);

				if (n && !strcmp(n, "cwd"))
					set_str(&ev.cwd, auparse_get_field_str(au));
			} while (auparse_next_field(au) > 0);
			break;
		case AUDIT_EXECVE:
			do_execve(au, &ev);
			have_execve = 1;
			break;
		case AUDIT_PROCTITLE:
			do_proctitle(au, &ev, have_execve);
			break;
		default:
			break;
		}
	} while (auparse_next_record(au) > 0);
	make_cmdline(&ev);
	p->events++;
	if (ev.malformed)
		p->malformed++;
	p->fn(&ev, p->ctx);
	event_clear(&ev);
}

struct vigil_audit_parser *vigil_audit_parser_new(vigil_audit_event_fn fn, void *ctx)
{
	struct vigil_audit_parser *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->fn = fn;
	p->ctx = ctx;
	p->au = auparse_init(AUSOURCE_FEED, NULL);
	if (!p->au) {
		free(p);
		return NULL;
	}
	/* process-wide in libauparse; every vigil parser wants the same */
	auparse_set_eoe_timeout(EOE_TIMEOUT_S);
	auparse_set_escape_mode(p->au, AUPARSE_ESC_RAW);
	auparse_add_callback(p->au, on_event, p, NULL);
	return p;
}

int vigil_audit_parser_feed(struct vigil_audit_parser *p, const char *text, size_t len)
{
	char buf[4096];
	int rc = 0;

	/* auparse's feed works on C strings inside: a NUL in the input (never
	 * sent by the kernel or auditd, but stdin is stdin) cuts a record in
	 * a way it handles badly, so it becomes a blank here. */
	if (!memchr(text, '\0', len))
		return len && auparse_feed(p->au, text, len) ? -EINVAL : 0;
	for (size_t o = 0; o < len;) {
		size_t n = len - o < sizeof(buf) ? len - o : sizeof(buf);

		memcpy(buf, text + o, n);
		for (size_t i = 0; i < n; i++)
			if (!buf[i])
				buf[i] = ' ';
		if (auparse_feed(p->au, buf, n))
			rc = -EINVAL;
		o += n;
	}
	return rc;
}

void vigil_audit_parser_age(struct vigil_audit_parser *p)
{
	auparse_feed_age_events(p->au);
}

void vigil_audit_parser_flush(struct vigil_audit_parser *p)
{
	auparse_flush_feed(p->au);
}

uint64_t vigil_audit_parser_events(const struct vigil_audit_parser *p)
{
	return p->events;
}

uint64_t vigil_audit_parser_malformed(const struct vigil_audit_parser *p)
{
	return p->malformed;
}

void vigil_audit_parser_free(struct vigil_audit_parser *p)
{
	if (!p)
		return;
	auparse_flush_feed(p->au);
	auparse_destroy(p->au);
	free(p);
}
