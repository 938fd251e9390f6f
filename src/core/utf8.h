/*
 * src/core/utf8.h
 *	  Strict UTF-8 decoding and encoding for the core (no PostgreSQL headers).
 *
 * The server already validates text in its own encoding, but the core is also
 * fed raw bytes by the fuzzer and by binary receive, so it trusts nothing:
 * overlong forms, surrogates and code points above U+10FFFF are refused.
 */
#ifndef HM_CORE_UTF8_H
#define HM_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes the code point starting at s[*i] (at most len bytes in all) and
 * advances *i past it.  Returns the code point, or -1 for an invalid sequence
 * (then *i is left unchanged).
 */
int32_t hm_utf8_decode(const unsigned char *s, size_t len, size_t *i);

/* Writes cp as UTF-8 into out (room for 4 bytes); returns the byte count. */
int hm_utf8_encode(int32_t cp, unsigned char *out);

#endif
