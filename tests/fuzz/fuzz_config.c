/* fuzz_config.c - libFuzzer target: any bytes into vigil_config_parse. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "vigil/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_config *cfg = NULL;
	struct vigil_err err;

	if (vigil_config_parse("fuzz.yaml", (const char *)data, size, &cfg, &err) == 0)
		vigil_config_free(cfg);
	return 0;
}
