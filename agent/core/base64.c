/* base64.c - RFC 4648 base64 with padding. */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include "vigil/base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void vigil_base64_encode(const void *in_, size_t len, char *out)
{
	const unsigned char *in = in_;
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		out[o++] = alphabet[in[i] >> 2];
		out[o++] = alphabet[(in[i] & 3) << 4 | in[i + 1] >> 4];
		out[o++] = alphabet[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
		out[o++] = alphabet[in[i + 2] & 63];
	}
	if (i < len) {
		out[o++] = alphabet[in[i] >> 2];
		if (i + 1 < len) {
			out[o++] = alphabet[(in[i] & 3) << 4 | in[i + 1] >> 4];
			out[o++] = alphabet[(in[i + 1] & 15) << 2];
		} else {
			out[o++] = alphabet[(in[i] & 3) << 4];
			out[o++] = '=';
		}
		out[o++] = '=';
	}
	out[o] = '\0';
}

static int value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long vigil_base64_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0, pad = 0;

	if (len % 4)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int v;

		if (in[i] == '=') {
			pad++;
			continue;
		}
		if (pad)
			return -EINVAL;
		v = value((unsigned char)in[i]);
		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outlen)
				return -EINVAL;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (pad > 2 || (acc & ((1u << bits) - 1)))
		return -EINVAL;
	return (long)o;
}
