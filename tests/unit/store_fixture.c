/* store_fixture.c - the baseline store tests' fixture (store_fixture.h). */
#include "config.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "store_fixture.h"
#include "vigil/store.h"

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int store_fix_setup(void **state, const char *top_template, const char *state_sub)
{
	struct store_fix *f = calloc(1, sizeof(*f));
	struct vigil_err err = { "" };
	char keys[128];

	if (!f)
		return -1;
	snprintf(f->top, sizeof(f->top), "%s", top_template);
	if (!mkdtemp(f->top))
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/%s", f->top, state_sub);
	snprintf(f->db, sizeof(f->db), "%s/" VIGIL_STORE_FILE, f->dir);
	snprintf(keys, sizeof(keys), "%s/keys", f->top);
	if (vigil_sign_keygen(keys, 0, &err) || vigil_seckey_load(keys, &f->sk, &err) ||
	    vigil_pubkey_load(keys, &f->pk, &err)) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

int store_fix_teardown(void **state)
{
	struct store_fix *f = *state;

	vigil_seckey_free(f->sk);
	vigil_pubkey_free(f->pk);
	nftw(f->top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}
