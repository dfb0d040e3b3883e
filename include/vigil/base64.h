/* base64.h - RFC 4648 base64, standard alphabet, with padding: minisign's key
 * and signature lines, tar-split payloads (Go's StdEncoding), lossless event
 * fields.  Stateless functions, no allocation. */
#ifndef VIGIL_BASE64_H
#define VIGIL_BASE64_H

#include <stddef.h>

/* Bytes vigil_base64_encode() writes for len input bytes, NUL included. */
#define VIGIL_BASE64_SIZE(len) (4 * (((len) + 2) / 3) + 1)

void vigil_base64_encode(const void *in, size_t len, char *out);

/* Decodes in[0..len) into out (outlen bytes at most) and returns the decoded
 * length, or -EINVAL for anything but canonical padded base64: a character
 * outside the alphabet, a length not a multiple of 4, data after padding, more
 * than two pad characters, non-zero trailing bits, or more than outlen bytes. */
long vigil_base64_decode(const char *in, size_t len, unsigned char *out, size_t outlen);

#endif
