/*
 * src/core/unicode_chars.h
 *	  Per-character rules of the handle profile, and character descriptions
 *	  for error details.
 */
#ifndef HM_CORE_UNICODE_CHARS_H
#define HM_CORE_UNICODE_CHARS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * True when cp may appear in a canonical handle on its own: a letter (Ll, Lu,
 * Lo, Lm), a combining mark (Mn, Mc), a decimal digit (Nd) or '_', that is
 * not default-ignorable, has no compatibility decomposition and is not one of
 * the characters RFC 5892 section 2.6 disallows by exception.
 *
 * Rules that depend on neighbours (Hangul jamo, mixed Arabic-Indic digits,
 * the Bidi rule) are applied to the whole string by normalize.c.
 */
bool		hm_char_allowed(int32_t cp);

/* Conjoining Hangul jamo (RFC 5892 "OldHangulJamo"), refused after NFC. */
bool		hm_char_is_conjoining_jamo(int32_t cp);

/*
 * Writes "U+0435 CYRILLIC SMALL LETTER IE" into buf.  Characters without a
 * name get ICU's extended name, such as "<control-0009>".
 */
void		hm_char_describe(int32_t cp, char *buf, size_t buflen);

#endif
