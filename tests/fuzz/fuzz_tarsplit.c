/* fuzz_tarsplit.c - tar-split JSON lines and the tar header parser fed with
 * the segments, as `layers verify` does, on arbitrary input. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "vigil/crypto.h"

#include "../../collectors/docker/docker_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cb(void *arg, const struct docker_tar_hdr *h)
{
	size_t *n = arg;

	*n += h->n_xattrs + (h->name[0] != '\0');
	if (h->name[0])
		(void)docker_ts_name_ok(h->name, __builtin_strlen(h->name));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct docker_ts *ts;
	struct docker_ts_entry e;
	struct vigil_err err;
	size_t seen = 0;
	struct docker_tarp *tp = docker_tarp_new(cb, &seen);
	int bad = 0;

	if (!tp || docker_ts_open_mem(data, size, &ts)) {
		docker_tarp_free(tp);
		return 0;
	}
	while (docker_ts_next(ts, &e, &err) > 0) {
		if (e.type == DOCKER_TS_SEGMENT && !bad)
			bad = docker_tarp_feed(tp, e.payload, e.payload_len) != 0;
		else if (e.type == DOCKER_TS_FILE)
			(void)docker_crc64(0, e.name, e.name_len);
		(void)docker_tarp_data_left(tp);
	}
	docker_ts_close(ts);
	docker_tarp_free(tp);
	return 0;
}
