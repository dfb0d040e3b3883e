/* event.c - renders a struct vigil_event as one line of ECS-style JSON (jansson). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "vigil/base64.h"
#include "vigil/config.h"
#include "vigil/docker.h"
#include "vigil/event.h"

/* ECS event.severity is numeric; these follow Elastic's 0-100 risk scale so
 * that a SIEM's default severity mapping sorts them sensibly. */
static int severity_number(int sev)
{
	switch (sev) {
	case VIGIL_SEV_LOW: return 21;
	case VIGIL_SEV_MEDIUM: return 47;
	case VIGIL_SEV_HIGH: return 73;
	case VIGIL_SEV_CRITICAL: return 99;
	default: return 0;
	}
}

static const char *ecs_file_type(int ftype)
{
	switch (ftype) {
	case VIGIL_FT_REG: return "file";
	case VIGIL_FT_DIR: return "dir";
	case VIGIL_FT_LNK: return "symlink";
	default: return vigil_ftype_name(ftype);
	}
}

static void format_time(int64_t ns, char *buf, size_t size)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	char t[32];

	if (!gmtime_r(&s, &tm) || !strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm))
		t[0] = '\0';
	if (snprintf(buf, size, "%s.%06ldZ", t, (long)(ns % 1000000000) / 1000) >= (int)size)
		buf[size - 1] = '\0';
}

/* Sets key to an escaped byte string; base64 of the raw bytes goes to
 * raw_obj[raw_key] when the bytes are not plain UTF-8 text. */
static int set_bytes(json_t *obj, const char *key, const char *s, size_t len, json_t *raw_obj,
		     const char *raw_key)
{
	char *e = vigil_path_escape(s, len);
	int rc = -ENOMEM;

	if (!e)
		return -ENOMEM;
	if (json_object_set_new(obj, key, json_string(e)))
		goto out;
	/* The escaped text is lossless, but a consumer should not have to unescape:
	 * whenever escaping changed anything, the raw bytes go along in base64. */
	if (raw_obj && (strlen(e) != len || memcmp(e, s, len) != 0)) {
		char *out = malloc(VIGIL_BASE64_SIZE(len));

		if (!out)
			goto out;
		vigil_base64_encode(s, len, out);
		rc = json_object_set_new(raw_obj, raw_key, json_string(out)) ? -ENOMEM : 0;
		free(out);
		goto out;
	}
	rc = 0;
out:
	free(e);
	return rc;
}

static json_t *file_object(const struct vigil_record *r, json_t *vigil)
{
	json_t *f = json_object(), *hash = json_object();
	char buf[256];

	if (!f || !hash)
		goto fail;
	if (set_bytes(f, "path", r->path, r->path_len, vigil, "path_base64"))
		goto fail;
	json_object_set_new(f, "type", json_string(ecs_file_type(r->ftype)));
	if (r->ftype == VIGIL_FT_NONE)
		goto done;
	snprintf(buf, sizeof(buf), "%04o", r->mode & 07777);
	json_object_set_new(f, "mode", json_string(buf));
	snprintf(buf, sizeof(buf), "%" PRIu32, r->uid);
	json_object_set_new(f, "uid", json_string(buf));
	snprintf(buf, sizeof(buf), "%" PRIu32, r->gid);
	json_object_set_new(f, "gid", json_string(buf));
	snprintf(buf, sizeof(buf), "%" PRIu64, r->ino);
	json_object_set_new(f, "inode", json_string(buf));
	json_object_set_new(f, "size", json_integer((json_int_t)r->size));
	format_time(r->mtime_ns, buf, sizeof(buf));
	json_object_set_new(f, "mtime", json_string(buf));
	format_time(r->ctime_ns, buf, sizeof(buf));
	json_object_set_new(f, "ctime", json_string(buf));
	if (r->target && set_bytes(f, "target_path", r->target, r->target_len, vigil, "target_base64"))
		goto fail;
	for (int i = 0; i < VIGIL_ALGO_COUNT; i++) {
		char hex[2 * VIGIL_DIGEST_MAX + 1];

		if (!(r->algos & VIGIL_ALGO_BIT(i)))
			continue;
		vigil_hex(r->digest[i], vigil_algo_len(i), hex);
		json_object_set_new(hash, vigil_algo_ecs_name(i), json_string(hex));
	}
done:
	if (json_object_size(hash))
		json_object_set_new(f, "hash", hash);
	else
		json_decref(hash);
	return f;
fail:
	json_decref(f);
	json_decref(hash);
	return NULL;
}

static json_t *changes_object(const struct vigil_event *ev)
{
	json_t *c = json_object();
	char a[2048], b[2048];

	if (!c)
		return NULL;
	for (int i = 0; i < VIGIL_ATTR_COUNT; i++) {
		unsigned bit = 1u << i;
		json_t *pair;

		if (!(ev->changed & bit))
			continue;
		vigil_record_attr_str(ev->old, bit, a, sizeof(a));
		vigil_record_attr_str(ev->cur, bit, b, sizeof(b));
		pair = json_pack("{s:s, s:s}", "old", a, "new", b);
		if (!pair || json_object_set_new(c, vigil_attr_name(bit), pair)) {
			json_decref(c);
			return NULL;
		}
	}
	return c;
}

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

static json_t *who_objects(json_t *root, const struct vigil_who *w, json_t *vigil)
{
	json_t *p, *u, *c;
	char buf[32];

	if (!w->known) {
		json_object_set_new(vigil, "who", json_string("unknown: no audit record matched"));
		return root;
	}
	p = json_object();
	u = json_object();
	if (w->pid > 0)
		json_object_set_new(p, "pid", json_integer(w->pid));
	if (w->ppid > 0)
		json_object_set_new(p, "parent", json_pack("{s:I}", "pid", (json_int_t)w->ppid));
	set_str(p, "executable", w->exe);
	set_str(p, "name", w->comm);
	set_str(p, "command_line", w->cmdline);
	json_object_set_new(root, "process", p);
	if (w->uid >= 0) {
		snprintf(buf, sizeof(buf), "%" PRId64, w->uid);
		json_object_set_new(u, "id", json_string(buf));
	}
	if (w->euid >= 0) {
		snprintf(buf, sizeof(buf), "%" PRId64, w->euid);
		json_object_set_new(u, "effective", json_pack("{s:s}", "id", buf));
	}
	if (w->auid >= 0 && w->auid != 4294967295LL) {
		snprintf(buf, sizeof(buf), "%" PRId64, w->auid);
		json_object_set_new(u, "audit", json_pack("{s:s}", "id", buf));
	}
	json_object_set_new(root, "user", u);
	if (w->container_id) {
		c = json_object();
		set_str(c, "id", w->container_id);
		set_str(c, "name", w->container_name);
		if (w->container_image)
			json_object_set_new(c, "image", json_pack("{s:s}", "name", w->container_image));
		json_object_set_new(root, "container", c);
	}
	if (w->audit_key)
		json_object_set_new(vigil, "audit_key", json_string(w->audit_key));
	if (w->audit_serial)
		json_object_set_new(vigil, "audit_serial", json_integer((json_int_t)w->audit_serial));
	return root;
}

/* The path in Docker's terms: container.* for a container's upper layer
 * (unless audit already named the container), vigil.layer/image_path or
 * vigil.container_path. */
static void docker_objects(json_t *root, const struct vigil_docker_where *w, json_t *vigil)
{
	json_t *extra;

	if (w->kind == VIGIL_DOCKER_IN_CONTAINER && !json_object_get(root, "container")) {
		json_t *c = json_object();

		set_str(c, "id", w->id);
		set_str(c, "name", w->name);
		if (w->image)
			json_object_set_new(c, "image", json_pack("{s:s}", "name", w->image));
		json_object_set_new(root, "container", c);
	}
	extra = w->json ? json_loads(w->json, 0, NULL) : NULL;
	if (json_is_object(extra))
		json_object_update(vigil, extra);
	json_decref(extra);
}

static const char *event_type(const char *action)
{
	if (!action)
		return "info";
	if (!strcmp(action, VIGIL_ACTION_ADDED))
		return "creation";
	if (!strcmp(action, VIGIL_ACTION_REMOVED))
		return "deletion";
	if (!strcmp(action, VIGIL_ACTION_CHANGED))
		return "change";
	return "info";
}

char *vigil_event_json(const struct vigil_event *ev, const char *host)
{
	json_t *root = json_object(), *event = json_object(), *vigil = json_object(), *f;
	const struct vigil_record *rec = ev->cur ? ev->cur : ev->old;
	char hostbuf[256], ts[64];
	struct timespec now;
	char *out = NULL;
	int64_t ns = ev->time_ns;

	if (!root || !event || !vigil)
		goto out;
	if (!ns) {
		clock_gettime(CLOCK_REALTIME, &now);
		ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	}
	format_time(ns, ts, sizeof(ts));
	json_object_set_new(root, "@timestamp", ts[0] ? json_string(ts) : json_null());

	json_object_set_new(event, "kind", json_string(ev->kind ? ev->kind : rec ? "alert" : "event"));
	json_object_set_new(event, "module", json_string("vigil"));
	json_object_set_new(event, "dataset", json_string(rec ? "vigil.fim" : "vigil.agent"));
	if (rec) {
		json_object_set_new(event, "category", json_pack("[s]", "file"));
		json_object_set_new(event, "type", json_pack("[s]", event_type(ev->action)));
	}
	set_str(event, "action", ev->action);
	if (ev->severity)
		json_object_set_new(event, "severity", json_integer(severity_number(ev->severity)));
	json_object_set_new(root, "event", event);
	event = NULL;

	if (!host) {
		if (gethostname(hostbuf, sizeof(hostbuf)))
			snprintf(hostbuf, sizeof(hostbuf), "unknown");
		hostbuf[sizeof(hostbuf) - 1] = '\0';
		host = hostbuf;
	}
	json_object_set_new(root, "host", json_pack("{s:s}", "name", host));
	set_str(root, "message", ev->message);

	if (rec) {
		f = file_object(rec, vigil);
		if (!f)
			goto out;
		json_object_set_new(root, "file", f);
	}
	if (ev->who)
		who_objects(root, ev->who, vigil);
	if (ev->docker)
		docker_objects(root, ev->docker, vigil);

	if (ev->severity)
		json_object_set_new(vigil, "severity", json_string(vigil_severity_name(ev->severity)));
	set_str(vigil, "scope", ev->scope);
	set_str(vigil, "source", ev->source);
	if (ev->generation)
		json_object_set_new(vigil, "generation", json_integer(ev->generation));
	if (ev->changed && ev->old && ev->cur) {
		json_t *c = changes_object(ev);

		if (!c)
			goto out;
		json_object_set_new(vigil, "changes", c);
	}
	if (rec && rec->status) {
		json_t *st = json_array();

		if (rec->status & VIGIL_REC_UNREADABLE)
			json_array_append_new(st, json_string("unreadable"));
		if (rec->status & VIGIL_REC_CHANGED)
			json_array_append_new(st, json_string("changed-while-read"));
		if (rec->status & VIGIL_REC_VANISHED)
			json_array_append_new(st, json_string("vanished"));
		if (rec->status & VIGIL_REC_NOT_READ)
			json_array_append_new(st, json_string("special-not-read"));
		if (rec->status & VIGIL_REC_XATTR_ERR)
			json_array_append_new(st, json_string("xattrs-unreadable"));
		if (rec->status & VIGIL_REC_TOO_LARGE)
			json_array_append_new(st, json_string("too-large-not-hashed"));
		json_object_set_new(vigil, "status", st);
		if (rec->err)
			json_object_set_new(vigil, "error", json_string(strerror(rec->err)));
	}
	if (ev->extra_json) {
		json_t *extra = json_loads(ev->extra_json, 0, NULL);

		if (json_is_object(extra))
			json_object_update(vigil, extra);
		json_decref(extra);
	}
	json_object_set_new(root, "vigil", vigil);
	vigil = NULL;
	out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	json_decref(event);
	json_decref(vigil);
	json_decref(root);
	return out;
}
