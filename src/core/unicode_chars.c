/*
 * src/core/unicode_chars.c
 *	  Per-character rules of the handle profile.
 */
#include "unicode_chars.h"

#include <stdio.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/utf16.h>

/*
 * RFC 5892 section 2.6 marks these letters and marks DISALLOWED by exception:
 * TATWEEL, NKO LAJANYALAN, the Hangul tone marks and the vertical kana repeat
 * marks.  They are Lm or Mc, so the category test alone would let them in.
 */
static bool
disallowed_by_exception(int32_t cp)
{
	return cp == 0x0640 || cp == 0x07FA ||
		cp == 0x302E || cp == 0x302F ||
		(cp >= 0x3031 && cp <= 0x3035) || cp == 0x303B;
}

/*
 * PRECIS' HasCompat: the character changes under NFKC beyond what NFC does.
 * Comparing with NFC rather than with the character itself keeps singletons
 * such as U+0340 (canonically U+0300) from counting as compatibility forms.
 */
static bool
has_compatibility_decomposition(int32_t cp)
{
	UErrorCode	status = U_ZERO_ERROR;
	const UNormalizer2 *nfkc = unorm2_getNFKCInstance(&status);
	const UNormalizer2 *nfc;
	UChar		src[2];
	UChar		a[32];
	UChar		b[32];
	int32_t		srclen = 0;
	int32_t		alen;
	int32_t		blen;
	UBool		unused = 0;

	if (U_FAILURE(status))
		return true;
	U16_APPEND(src, srclen, 2, cp, unused);
	(void) unused;
	if (unorm2_quickCheck(nfkc, src, srclen, &status) == UNORM_YES &&
		U_SUCCESS(status))
		return false;

	status = U_ZERO_ERROR;
	nfc = unorm2_getNFCInstance(&status);
	alen = unorm2_normalize(nfkc, src, srclen, a, 32, &status);
	blen = unorm2_normalize(nfc, src, srclen, b, 32, &status);
	if (U_FAILURE(status) || alen != blen)
		return true;
	for (int32_t i = 0; i < alen; i++)
		if (a[i] != b[i])
			return true;
	return false;
}

bool
hm_char_allowed(int32_t cp)
{
	if (cp < 0x80)
		return (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') ||
			cp == '_';

	switch (u_charType(cp))
	{
		case U_LOWERCASE_LETTER:
		case U_UPPERCASE_LETTER:
		case U_OTHER_LETTER:
		case U_MODIFIER_LETTER:
		case U_NON_SPACING_MARK:
		case U_COMBINING_SPACING_MARK:
		case U_DECIMAL_DIGIT_NUMBER:
			break;
		default:
			return false;
	}
	if (u_hasBinaryProperty(cp, UCHAR_DEFAULT_IGNORABLE_CODE_POINT))
		return false;
	if (disallowed_by_exception(cp))
		return false;
	return !has_compatibility_decomposition(cp);
}

bool
hm_char_is_conjoining_jamo(int32_t cp)
{
	return (cp >= 0x1100 && cp <= 0x11FF) ||
		(cp >= 0xA960 && cp <= 0xA97F) ||
		(cp >= 0xD7B0 && cp <= 0xD7FF);
}

void
hm_char_describe(int32_t cp, char *buf, size_t buflen)
{
	char		name[128];
	UErrorCode	status = U_ZERO_ERROR;
	int32_t		n;

	n = u_charName(cp, U_EXTENDED_CHAR_NAME, name, sizeof(name), &status);
	if (U_FAILURE(status) || n <= 0 || n >= (int32_t) sizeof(name))
		snprintf(buf, buflen, "U+%04X", (unsigned) cp);
	else
		snprintf(buf, buflen, "U+%04X %s", (unsigned) cp, name);
}
