/* store_fixture.h - the baseline store tests' fixture (test_store,
 * test_store_dedup): a temp dir holding a state dir and a key pair. */
#ifndef VIGIL_TEST_STORE_FIXTURE_H
#define VIGIL_TEST_STORE_FIXTURE_H

#include "vigil/sign.h"

struct store_fix {
	char top[64];  /* temp dir, removed by store_fix_teardown */
	char dir[128]; /* state dir inside it, not made: top/state_sub */
	char db[192];  /* dir/VIGIL_STORE_FILE */
	struct vigil_seckey *sk; /* a key pair made in top/keys */
	struct vigil_pubkey *pk;
};

/* cmocka setup: *state gets a struct store_fix whose temp dir is made from
 * top_template ("/tmp/NAME-XXXXXX"); -1 on failure. */
int store_fix_setup(void **state, const char *top_template, const char *state_sub);
/* cmocka teardown: frees the keys and removes the temp dir. */
int store_fix_teardown(void **state);

#endif
