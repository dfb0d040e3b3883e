/* docker_fixture.h - builds small overlay2 data roots by hand for the docker
 * unit tests: tar headers, tar-split.json.gz, layerdb, imagedb, containers. */
#ifndef VIGIL_TEST_DOCKER_FIXTURE_H
#define VIGIL_TEST_DOCKER_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

struct fx_entry {
	const char *name;     /* as in the tar ("etc/", "etc/passwd") */
	char type;            /* '0', '2', '5' */
	unsigned mode;
	const char *data;     /* file content, or symlink target */
	int64_t mtime;
};

/* Writes a layer: overlay2/<cache>/diff with the entries, layerdb/sha256/<chain>/
 * (diff, cache-id, size, tar-split.json.gz).  chain_out gets "sha256:..." of
 * the base layer (chain id == diff id).  Returns 0. */
int fx_layer(const char *data_root, const char *cache_id, const struct fx_entry *e, size_t n,
	     char chain_out[72]);
/* Writes a layerdb entry with a hand-made tar-split (lines of JSON, gzip'd
 * unless raw_gz is given as the exact file bytes). */
int fx_layer_raw(const char *data_root, const char *chain_hex, const char *cache_id, const char *diff_id,
		 const char *tarsplit_lines, const void *raw_gz, size_t raw_len);
int fx_write(const char *path, const void *data, size_t len);
int fx_mkdirs(const char *path);
char *fx_b64(const unsigned char *in, size_t len);
/* A data root in a fresh temp dir ("/tmp/vigil-dfx.XXXXXX/d"); fx_rm removes it. */
char *fx_new_root(void);
void fx_rm(const char *dir);

#endif
