/* vigil-sign-file - test helper driving agent/core/sign.c from shell tests, until
 * the vigil CLI has its own keygen/verify commands.
 *
 *   vigil-sign-file keygen DIR [force]
 *   vigil-sign-file sign DIR FILE [TRUSTED_COMMENT]
 *   vigil-sign-file verify PUBFILE FILE [SIGFILE]
 *
 * Exit 0 ok, 1 signature does not verify, 2 usage, 3 other error.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vigil/crypto.h"
#include "vigil/err.h"
#include "vigil/sign.h"

static int usage(void)
{
	fprintf(stderr, "usage: vigil-sign-file keygen DIR [force] | sign DIR FILE [COMMENT] |"
		" verify PUBFILE FILE [SIGFILE]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct vigil_err err = { "" };
	struct vigil_seckey *sk = NULL;
	struct vigil_pubkey *pk = NULL;
	int rc;

	if (argc < 3)
		return usage();
	rc = vigil_crypto_init(&err);
	if (rc)
		goto out;
	if (!strcmp(argv[1], "keygen") && argc <= 4) {
		rc = vigil_sign_keygen(argv[2], argc == 4 && !strcmp(argv[3], "force"), &err);
	} else if (!strcmp(argv[1], "sign") && (argc == 4 || argc == 5)) {
		rc = vigil_seckey_load(argv[2], &sk, &err);
		if (!rc)
			rc = vigil_minisign_file(sk, argv[3], argc == 5 ? argv[4] : NULL, &err);
	} else if (!strcmp(argv[1], "verify") && (argc == 4 || argc == 5)) {
		rc = vigil_pubkey_load_file(argv[2], &pk, &err);
		if (!rc)
			rc = vigil_minisign_verify(pk, argv[3], argc == 5 ? argv[4] : NULL, &err);
		if (!rc)
			printf("signature verified\n");
	} else {
		return usage();
	}
out:
	vigil_seckey_free(sk);
	vigil_pubkey_free(pk);
	if (rc) {
		fprintf(stderr, "vigil-sign-file: %s\n", err.msg);
		return rc == -EBADMSG ? 1 : 3;
	}
	return 0;
}
