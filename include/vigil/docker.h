/* docker.h - the Docker engine and its on-disk state, read from files alone.
 *
 * Works while dockerd runs, while it is stopped or compromised, and on a
 * mounted disk image (root != NULL and != "/").  Only Docker's overlay2 layout
 * (Docker <= 28 default, FORMATS.md) is understood.
 *
 * Lifecycle:
 *   engine discovery: vigil_docker_discover(root, &eng, err) -> read eng ->
 *     vigil_docker_engine_clear(&eng)
 *   the model: vigil_docker_load(root, data_root or NULL, &d, err) -> query with
 *     vigil_docker_images() / _layers() / _containers() / _find_*() ->
 *     vigil_docker_verify() / vigil_docker_drift() -> vigil_docker_free(d)
 *     (accepts NULL).  A model is a snapshot: images pulled after load are not seen.
 *   results: vigil_docker_verify_free(), vigil_docker_drift_free().
 *
 * Bad input never aborts a load: a malformed image config, layer or container
 * gets its `error` set (a message naming the file and why) and the rest is
 * still read.  Only an unusable data root (missing, unreadable) fails the load.
 */
#ifndef VIGIL_DOCKER_H
#define VIGIL_DOCKER_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/config.h"
#include "vigil/err.h"

struct vigil_store;

/* ---- engine discovery (collectors/docker/docker_engine.c) ---- */
struct vigil_docker_engine {
	char *data_root;               /* path inside root: data-root or /var/lib/docker */
	struct vigil_strv binaries;    /* user-visible paths that exist (dockerd, runc, ...) */
	struct vigil_strv configs;     /* daemon.json, units, config.toml, certs.d, ... */
	struct vigil_strv warnings;    /* e.g. "/etc/docker/daemon.json: bad JSON at line 3" */
};

int vigil_docker_discover(const char *root, struct vigil_docker_engine *eng, struct vigil_err *err);
void vigil_docker_engine_clear(struct vigil_docker_engine *eng);
/* Why `baseline` would record no image layer although dockerd is installed
 * (its data root is missing: set in a file discovery does not read?), as a
 * malloc'd message for the caller to print, or NULL when all is well. */
char *vigil_docker_layers_warning(const char *root);

/* Fills the config's automatic scopes: docker-binaries and docker-configs get
 * the discovered paths (appended to their `paths`); docker-layers gets none
 * here (see vigil_docker_fill_layer_scope(); layers are baselined per layer
 * with vigil_docker_layers_baseline()). */
int vigil_docker_fill_scopes(struct vigil_config *cfg, const char *root, struct vigil_err *err);

/* ---- the overlay2 model (collectors/docker/docker_model.c) ---- */
#define VIGIL_DOCKER_DIGEST_LEN 71 /* "sha256:" + 64 hex */

struct vigil_docker_layer {
	char chain_id[VIGIL_DOCKER_DIGEST_LEN + 1];
	char diff_id[VIGIL_DOCKER_DIGEST_LEN + 1];
	char parent[VIGIL_DOCKER_DIGEST_LEN + 1]; /* "" for a base layer */
	char *cache_id;        /* overlay2/<cache_id>; NULL when missing */
	int64_t size;          /* layerdb "size", -1 when absent */
	int chain_ok;          /* chain_id == sha256(parent " " diff_id) (or diff_id for a base) */
	char *error;           /* NULL, or why this layer cannot be verified */
	int meta_bad;          /* error says a layerdb file is missing or its content is wrong:
				* tampering, reported as a finding (MODIFIED), not as ERROR */
};

struct vigil_docker_image {
	char id[VIGIL_DOCKER_DIGEST_LEN + 1];
	struct vigil_strv tags;      /* "repo:tag" from repositories.json */
	char *created;               /* RFC 3339 */
	struct vigil_strv diff_ids;  /* base first */
	struct vigil_strv chain_ids; /* computed from diff_ids */
	char *entrypoint;            /* JSON text of config.Entrypoint, NULL when none */
	char *cmd;                   /* JSON text of config.Cmd */
	int64_t size;                /* sum of its layers' sizes, -1 when unknown */
	int id_checked;              /* the config file could be read */
	int id_ok;                   /* sha256(config file) == id */
	char parent[VIGIL_DOCKER_DIGEST_LEN + 1]; /* imagedb/metadata parent (builds), or "" */
	int has_children;            /* another image names it as parent */
	char *error;
};

struct vigil_docker_mount {
	char *source, *destination, *type;
	int rw;
};

struct vigil_docker_container {
	char id[65];
	char *name;             /* without the leading '/' */
	char *image_id;         /* "sha256:..." */
	char *image_ref;        /* what the user asked for (Config.Image) */
	char *state;            /* "running", "exited", "created", "paused", "restarting", "dead" */
	int pid, exit_code;
	char *created, *started_at, *finished_at;
	char *command;          /* Path and Args, space separated */
	struct vigil_docker_mount *mounts;
	size_t n_mounts;
	/* hostconfig.json */
	int privileged, readonly_rootfs;
	struct vigil_strv binds, cap_add, security_opt;
	char *pid_mode, *ipc_mode, *network_mode;
	/* layerdb/mounts/<id> */
	char *mount_id, *init_id;
	char parent[VIGIL_DOCKER_DIGEST_LEN + 1]; /* chain id of the image's top layer */
	char *error;
};

struct vigil_docker;

int vigil_docker_load(const char *root, const char *data_root, struct vigil_docker **out,
		      struct vigil_err *err);
void vigil_docker_free(struct vigil_docker *d);
/* The data root as a user sees it (inside root). */
const char *vigil_docker_data_root(const struct vigil_docker *d);
/* Problems not tied to one image/layer/container (repositories.json, ...). */
const struct vigil_strv *vigil_docker_warnings(const struct vigil_docker *d);

size_t vigil_docker_n_images(const struct vigil_docker *d);
const struct vigil_docker_image *vigil_docker_image(const struct vigil_docker *d, size_t i);
size_t vigil_docker_n_layers(const struct vigil_docker *d);
const struct vigil_docker_layer *vigil_docker_layer(const struct vigil_docker *d, size_t i);
size_t vigil_docker_n_containers(const struct vigil_docker *d);
const struct vigil_docker_container *vigil_docker_container(const struct vigil_docker *d, size_t i);

/* Lookups.  An image: "repo:tag", "repo" (= repo:latest), id or unique id
 * prefix (>= 4 hex, with or without "sha256:").  A layer: chain id, diff id or
 * cache id, or a unique prefix of one.  A container: name, id or unique prefix.
 * NULL with err set when none or ambiguous. */
const struct vigil_docker_image *vigil_docker_find_image(const struct vigil_docker *d,
							 const char *ref, struct vigil_err *err);
const struct vigil_docker_layer *vigil_docker_find_layer(const struct vigil_docker *d,
							 const char *ref, struct vigil_err *err);
const struct vigil_docker_container *vigil_docker_find_container(const struct vigil_docker *d,
								 const char *ref, struct vigil_err *err);

/* One container by its 64-hex id, without loading the model (audit asks
 * once per new container): its name (no leading '/') and image (what the
 * user asked for, else the image id), malloc'd.  data_root NULL: discovered
 * (daemon.json, units, DOCKER_OPTS).  0, -ENOENT when there is no such
 * container (yet), -errno (err names the file). */
int vigil_docker_container_lookup(const char *root, const char *data_root, const char *id, char **name,
				  char **image, struct vigil_err *err);

/* ---- layer verification (collectors/docker/docker_layers.c, docker_tarsplit.c) ---- */
enum vigil_docker_verify_status {
	VIGIL_DOCKER_LAYER_OK = 0,
	VIGIL_DOCKER_LAYER_MODIFIED, /* digest or metadata differ from the layer */
	VIGIL_DOCKER_LAYER_ERROR,    /* could not be verified (error says why) */
};

enum vigil_docker_finding_kind {
	VIGIL_DOCKER_F_CONTENT = 1,  /* payload CRC-64 differs */
	VIGIL_DOCKER_F_MISSING,      /* in the layer, absent or unreadable in diff/ */
	VIGIL_DOCKER_F_SHORT,        /* shorter (or longer) than the layer says */
	VIGIL_DOCKER_F_EXTRA,        /* in diff/, never in the layer */
	VIGIL_DOCKER_F_META,         /* type, mode, owner, mtime, link target, xattrs */
	VIGIL_DOCKER_F_LAYERDB,      /* the layer's own metadata (diff, cache-id, tar-split.json.gz)
				      * missing or altered: path is that file under the data root */
};

struct vigil_docker_finding {
	int kind;
	char *path;   /* inside the layer, "/etc/passwd" */
	char *detail; /* "mode 0644 -> 4755", ... */
};

struct vigil_docker_verify {
	const struct vigil_docker_layer *layer;
	int status;
	char digest[VIGIL_DOCKER_DIGEST_LEN + 1]; /* sha256 of the rebuilt stream ("" if not run) */
	char *first_bad;   /* first file whose content differs, NULL when none */
	struct vigil_docker_finding *findings;
	size_t n_findings;
	uint64_t findings_dropped; /* beyond VIGIL_DOCKER_MAX_FINDINGS */
	uint64_t files, bytes;     /* tar entries and stream bytes */
	char *error;
};
#define VIGIL_DOCKER_MAX_FINDINGS 1000

/* Verifies the layers named by refs (images expand to their layers, each
 * layer verified once), or every layer when n == 0.  threads 0 = one per
 * core.  *out has one entry per distinct layer, in chain id order.
 * Returns 0 (look at each status) or -errno when the run itself failed
 * (e.g. a ref matches nothing: -ENOENT). */
int vigil_docker_verify(struct vigil_docker *d, const char *const *refs, size_t n, int threads,
			struct vigil_docker_verify **out, size_t *n_out, struct vigil_err *err);
void vigil_docker_verify_free(struct vigil_docker_verify *v, size_t n);
/* Images whose chain holds the layer (for messages): malloc'd "a:1, b:2" or NULL. */
char *vigil_docker_layer_users(const struct vigil_docker *d, const struct vigil_docker_layer *l);

/* ---- container drift (collectors/docker/docker_drift.c) ---- */
enum vigil_docker_change_flag {
	VIGIL_DOCKER_CH_EXEC = 1u << 0,      /* ELF or "#!" file added or modified */
	VIGIL_DOCKER_CH_SENSITIVE = 1u << 1, /* under /etc, /bin, /usr, /lib, /root/.ssh, crontabs... */
	VIGIL_DOCKER_CH_OPAQUE = 1u << 2,    /* opaque directory: lower contents hidden */
};

/* Why a path is 'C' (struct vigil_docker_change.why). */
enum vigil_docker_change_why {
	VIGIL_DOCKER_WHY_TYPE = 1u << 0,
	VIGIL_DOCKER_WHY_MODE = 1u << 1,
	VIGIL_DOCKER_WHY_OWNER = 1u << 2,
	VIGIL_DOCKER_WHY_DEVICE = 1u << 3,
	VIGIL_DOCKER_WHY_SIZE = 1u << 4,
	VIGIL_DOCKER_WHY_MTIME = 1u << 5,
	VIGIL_DOCKER_WHY_CAP = 1u << 6,      /* security.capability */
	VIGIL_DOCKER_WHY_CHILD = 1u << 7,    /* a directory listed for a change inside it */
};
/* "mode,owner" for why (static names, comma separated into buf). */
const char *vigil_docker_why_str(unsigned why, char *buf, size_t len);

struct vigil_docker_change {
	char kind;        /* 'A' added, 'C' changed, 'D' deleted (as docker diff) */
	char *path;       /* "/etc/passwd" */
	int ftype;        /* enum vigil_ftype of the upper entry (NONE for D) */
	uint32_t mode;
	uint64_t size;
	int has_hash;
	char sha256[65];  /* regular files */
	unsigned flags;
	uint32_t uid, gid;  /* of the upper entry (not for D) */
	unsigned why;       /* 'C' only: enum vigil_docker_change_why */
	int has_md5;        /* with VIGIL_DOCKER_DRIFT_MD5, beside sha256 */
	unsigned char md5[16];
};

/* The container's changes against its image, from its upper layer, in path
 * order.  Returns 0 or -errno (err says which container and why). */
int vigil_docker_drift(struct vigil_docker *d, const struct vigil_docker_container *c,
		       struct vigil_docker_change **out, size_t *n_out, struct vigil_err *err);
/* The same with flags: VIGIL_DOCKER_DRIFT_NO_HASH leaves sha256 unset (for a
 * caller that reads and hashes every upper file itself: capture). */
#define VIGIL_DOCKER_DRIFT_NO_HASH 1u
/* VIGIL_DOCKER_DRIFT_MD5 takes MD5 too, in the same read (packages: dpkg's sums). */
#define VIGIL_DOCKER_DRIFT_MD5 2u
int vigil_docker_drift_flags(struct vigil_docker *d, const struct vigil_docker_container *c, unsigned flags,
			     struct vigil_docker_change **out, size_t *n_out, struct vigil_err *err);
void vigil_docker_drift_free(struct vigil_docker_change *ch, size_t n);

/* ---- a container's files as its image has them, or as it sees them now
 * (collectors/docker/docker_view.c): for readers of records kept in the
 * image, such as dpkg's (collectors/packages/dpkg_container.c) ----
 * VIGIL_DOCKER_VIEW_IMAGE: the image's layers; VIGIL_DOCKER_VIEW_CONTAINER:
 * its upper layer above them (whiteouts and opaque directories honoured). */
enum { VIGIL_DOCKER_VIEW_IMAGE = 0, VIGIL_DOCKER_VIEW_CONTAINER = 1 };
struct vigil_docker_view;
int vigil_docker_view_open(struct vigil_docker *d, const struct vigil_docker_container *ct, int which,
			   struct vigil_docker_view **out, struct vigil_err *err);
/* A whole regular file of the view (absolute path; at most max bytes, else
 * -EFBIG), malloc'd and NUL-terminated; -ENOENT when the view has none, no
 * symlink followed.  The signature of vigil_dpkg_read_fn. */
int vigil_docker_view_read(void *view, const char *path, size_t max, char **buf, size_t *len);
void vigil_docker_view_free(struct vigil_docker_view *v);

/* ---- baseline integration (collectors/docker/docker_layers.c) ---- */
/* Stores one object per layer (kind "layer", key chain id, data JSON:
 * {"diff_id","cache_id","size","status","digest","images"}) and one per image
 * (kind "image", key image id, data JSON {"config_ok","layers","tags"}).  Runs the
 * verification too, so a layer already tampered with at baseline time is
 * reported (returns 1 then, 0 when all verified, -errno on failure). */
int vigil_docker_layers_baseline(const char *root, struct vigil_store *st, int threads,
				 struct vigil_err *err);

/* What check reports per layer and image.  action: "layer-changed" (severity
 * critical), "layer-added" (info: a newly pulled image), "layer-unverifiable"
 * (high), "layer-retired" (quiet: only with report_retired), "image-changed"
 * (critical: an image config no longer matches its id, or holds other layers
 * than at baseline time).  object: the chain id or image id. */
typedef int (*vigil_docker_layer_cb)(void *arg, const char *action, int severity,
				     const char *object, const char *message,
				     const char *extra_json);
/* Re-verifies every layer on disk and compares with generation gen's layer
 * objects.  Returns the number of critical findings (layers changed), or -errno. */
int vigil_docker_layers_check(const char *root, struct vigil_store *st, int64_t gen, int threads,
			      int report_retired, vigil_docker_layer_cb cb, void *arg,
			      struct vigil_err *err);

/* The same for some layers only (chain ids; images are not checked), as the
 * daemon does after a change in a layer's diff dir; new layers are not
 * reported (a check says those).  Returns as vigil_docker_layers_check(). */
int vigil_docker_layers_check_some(const char *root, struct vigil_store *st, int64_t gen, int threads,
				   const char *const *chain_ids, size_t n, vigil_docker_layer_cb cb,
				   void *arg, struct vigil_err *err);

/* ---- paths in Docker's terms (collectors/docker/docker_locate.c) ----
 * Lifecycle: vigil_docker_locator_new(root, &loc, err) (a snapshot of the
 * model: layers' and containers' overlay2 dirs) -> vigil_docker_locate() from
 * any thread -> vigil_docker_where_clear() each answer ->
 * vigil_docker_locator_free(loc) (accepts NULL). */
enum vigil_docker_where_kind {
	VIGIL_DOCKER_IN_NONE = 0,
	VIGIL_DOCKER_IN_LAYER,     /* an image layer's diff dir */
	VIGIL_DOCKER_IN_CONTAINER, /* a container's upper (diff) dir */
};

struct vigil_docker_where {
	int kind;
	char id[VIGIL_DOCKER_DIGEST_LEN + 1]; /* chain id, or the container's id */
	char *images;  /* layer: "repo:tag, ..." of the images using it, or NULL */
	char *name;    /* container: name */
	char *image;   /* container: the image it runs (as asked for, else its id) */
	char *inner;   /* the path inside the image or container ("/etc/passwd") */
	char *json;    /* merged into vigil.*: {"layer":{"chain_id","images"},"image_path"}
			  or {"container_path"} */
};

struct vigil_docker_locator;

/* -ENOENT when root has no overlay2 data root (a locator is then not needed). */
int vigil_docker_locator_new(const char *root, struct vigil_docker_locator **out, struct vigil_err *err);
void vigil_docker_locator_free(struct vigil_docker_locator *loc);
/* The data root as a user sees it. */
const char *vigil_docker_locator_data_root(const struct vigil_docker_locator *loc);
/* Image layers' diff dirs (user-visible paths, sorted) and their chain ids. */
size_t vigil_docker_locator_n_layers(const struct vigil_docker_locator *loc);
const char *vigil_docker_locator_layer_dir(const struct vigil_docker_locator *loc, size_t i);
const char *vigil_docker_locator_layer_id(const struct vigil_docker_locator *loc, size_t i);
/* Says what path (user-visible) is in Docker's terms; returns where->kind
 * (0 and a cleared where when nothing), or -ENOMEM. */
int vigil_docker_locate(const struct vigil_docker_locator *loc, const char *path, size_t len,
			struct vigil_docker_where *where);
void vigil_docker_where_clear(struct vigil_docker_where *where);
/* 1 when path (user-visible) is in an image layer's diff dir (loc may be NULL:
 * 0).  Such a path is never a file record: layers are verified whole. */
int vigil_docker_in_layer(const struct vigil_docker_locator *loc, const char *path, size_t len);
/* Fills the docker-layers scope's paths with the layers' diff dirs (so the
 * daemon watches them, and every command agrees on which scope holds them);
 * their files are never walked into records: layers are verified whole. */
int vigil_docker_fill_layer_scope(struct vigil_config *cfg, const struct vigil_docker_locator *loc);

#endif
