/*
 * src/core/confusable.c
 *	  Confusable keys.
 *
 * The key of a non-ASCII handle is computed from ICU's UTS #39 skeleton of
 * the canonical form and from nothing else, so two handles whose skeletons
 * are equal (ICU calls them confusable) always share a key.  An earlier
 * version casefolded before the skeleton, and the casefold split pairs the
 * skeleton joins: "ß" became "ss" while Greek "β" (skeleton "ß") stayed,
 * final sigma became "σ" while stigma "ϛ" (skeleton "ς") stayed, and
 * Cherokee small letters became capitals while the Latin small capitals
 * they look like did not.
 *
 * Our folds run after the skeleton, on its output:
 *	- NFKC_Casefold and the skeleton again, until nothing changes, so that
 *	  "ß" still meets "ss" (the skeleton of "β" is "ß", which folds to "ss")
 *	  and final sigma still meets "σ" and "o";
 *	- lowercasing, as the skeleton maps '0' to capital 'O', and reading
 *	  Latin small capitals as their letters;
 *	- dropping a COMBINING DOT ABOVE that a soft-dotted letter swallows;
 *	- our ASCII table, last, which catches "eIon_musk" (skeleton "eion"),
 *	  "g00gle" and Cyrillic "аррӏе" (skeleton "appie").
 * On ASCII the skeleton only maps '0', '1' and 'm', each of which the table
 * maps the same way, so ASCII can skip ICU altogether and still get the key
 * the Unicode path would give it.
 */
#include "confusable.h"

#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include "icu_support.h"

#define KEY_UCHARS 2048

/*
 * Under ICU 72 no code point needs more than two rounds of casefold and
 * skeleton that change anything.  The bound only keeps a pathological
 * string from looping: a key cut short is still a function of the
 * skeleton, which is all the rule needs.
 */
#define FOLD_ROUNDS 4

/* The replacement for each ASCII byte that has one; NULL keeps the byte. */
static const char *const ascii_replacement[128] = {
	['0'] = "o", ['1'] = "l", ['i'] = "l", ['m'] = "rn", ['w'] = "vv", ['d'] = "cl",
};

size_t
hm_ascii_fold(const char *in, size_t len, char *out)
{
	size_t		o = 0;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) in[i];
		const char *r = c < 128 ? ascii_replacement[c] : NULL;

		if (r == NULL)
			out[o++] = (char) c;
		else
		{
			out[o++] = r[0];
			if (r[1])
				out[o++] = r[1];
		}
	}
	return o;
}

/* Each byte expands to at most two, so ASCII keys fit in 2 * len. */
static bool
fits_ascii_fold(size_t len, size_t cap)
{
	return len <= cap / 2;
}

/*
 * Latin small capitals, as the skeleton leaves them, and the letters they
 * are: a small capital is a capital drawn at x-height, and handles ignore
 * case, so "ᴇʟᴏɴ" reads as ELON, which is "elon".  ICU already maps the
 * small capitals shaped like lowercase letters (ᴄ ɪ ᴏ ꜱ ᴜ ᴠ ᴡ ᴢ ʏ); these are
 * the rest, with ĸ and ʍ standing for ᴋ and ᴍ, which the skeleton maps to
 * them.  Cherokee small letters reach these through their skeletons (ꭰ ->
 * ᴅ), and keys before the skeleton-first order matched them with Latin
 * letters through the Cherokee capitals; this keeps that.
 */
static const struct
{
	UChar		from;
	UChar		to;
}			small_capitals[] = {
	{0x0138, 'k'},				/* ĸ */
	{0x0262, 'g'},				/* ɢ */
	{0x0274, 'n'},				/* ɴ */
	{0x0280, 'r'},				/* ʀ */
	{0x028D, 'm'},				/* ʍ */
	{0x0299, 'b'},				/* ʙ */
	{0x029C, 'h'},				/* ʜ */
	{0x029F, 'l'},				/* ʟ */
	{0x1D00, 'a'},				/* ᴀ */
	{0x1D05, 'd'},				/* ᴅ */
	{0x1D07, 'e'},				/* ᴇ */
	{0x1D0A, 'j'},				/* ᴊ */
	{0x1D18, 'p'},				/* ᴘ */
	{0x1D1B, 't'},				/* ᴛ */
	{0xA730, 'f'},				/* ꜰ */
	{0xA7AF, 'q'},				/* ꞯ */
};

static void
read_small_capitals(UChar *s, int32_t len)
{
	for (int32_t i = 0; i < len; i++)
		for (size_t k = 0; k < sizeof(small_capitals) / sizeof(small_capitals[0]); k++)
			if (s[i] == small_capitals[k].from)
			{
				s[i] = small_capitals[k].to;
				break;
			}
}

/*
 * A soft-dotted letter (i, j, Cyrillic і, ...) loses its dot under an accent
 * above, and U+0307 is such an accent: "i" + U+0307 shows one dot, exactly
 * like "i".  Unicode's After_Soft_Dotted condition (SpecialCasing.txt) says
 * when the mark still sits where the dot was: no character of combining
 * class 0 or 230 in between.  A second U+0307, or one after another accent
 * above, is a visible dot and stays.  Works in place; returns the new length.
 */
static int32_t
drop_swallowed_dots(UChar *s, int32_t len)
{
	int32_t		i = 0;
	int32_t		o = 0;
	bool		dotted = false;

	while (i < len)
	{
		int32_t		start = i;
		UChar32		c;
		uint8_t		ccc;

		U16_NEXT(s, i, len, c);
		ccc = u_getCombiningClass(c);
		if (ccc == 0)
			dotted = u_hasBinaryProperty(c, UCHAR_SOFT_DOTTED);
		else if (ccc == 230)
		{
			bool		swallowed = (c == 0x0307 && dotted);

			dotted = false;
			if (swallowed)
				continue;
		}
		while (start < i)
			s[o++] = s[start++];
	}
	return o;
}

/*
 * The Unicode path, in UTF-16: sets *key to one of bufs and returns the
 * length, or -1 when ICU fails or a buffer is too small.  Every step after
 * the first skeleton reads only the previous step's output.
 */
static int32_t
unicode_key(const USpoofChecker *sc, const UNormalizer2 *casefold,
			const char *canon, size_t len, UChar *bufs[3], UChar **key)
{
	UErrorCode	status = U_ZERO_ERROR;
	UChar	   *cur = bufs[0];
	UChar	   *tmp = bufs[1];
	UChar	   *next = bufs[2];
	int32_t		curlen;
	int32_t		tmplen;
	int32_t		nextlen;

	u_strFromUTF8(tmp, KEY_UCHARS, &tmplen, canon, (int32_t) len, &status);
	curlen = uspoof_getSkeleton(sc, 0, tmp, tmplen, cur, KEY_UCHARS, &status);
	for (int round = 0; round < FOLD_ROUNDS && U_SUCCESS(status); round++)
	{
		UChar	   *swap;

		tmplen = unorm2_normalize(casefold, cur, curlen, tmp, KEY_UCHARS, &status);
		nextlen = uspoof_getSkeleton(sc, 0, tmp, tmplen, next, KEY_UCHARS,
									 &status);
		if (U_FAILURE(status) ||
			(nextlen == curlen && memcmp(next, cur, curlen * sizeof(UChar)) == 0))
			break;
		swap = cur;
		cur = next;
		next = swap;
		curlen = nextlen;
	}
	nextlen = u_strToLower(next, KEY_UCHARS, cur, curlen, "", &status);
	if (U_FAILURE(status))
		return -1;
	*key = next;
	read_small_capitals(next, nextlen);
	return drop_swallowed_dots(next, nextlen);
}

bool
hm_confusable_key(const char *canon, size_t len, char *out, size_t cap,
				  size_t *outlen)
{
	UErrorCode	status = U_ZERO_ERROR;
	const UNormalizer2 *casefold;
	const USpoofChecker *sc;
	UChar		a[KEY_UCHARS];
	UChar		b[KEY_UCHARS];
	UChar		c[KEY_UCHARS];
	UChar	   *bufs[3] = {a, b, c};
	UChar	   *key;
	int32_t		klen;
	char		utf8[KEY_UCHARS * 3];
	int32_t		ulen;
	bool		ascii = true;

	for (size_t i = 0; i < len; i++)
		if ((unsigned char) canon[i] >= 0x80)
		{
			ascii = false;
			break;
		}
	if (ascii)
	{
		if (!fits_ascii_fold(len, cap))
			return false;
		*outlen = hm_ascii_fold(canon, len, out);
		return true;
	}

	sc = hm_spoof_checker();
	casefold = unorm2_getNFKCCasefoldInstance(&status);
	if (sc == NULL || U_FAILURE(status))
		return false;
	klen = unicode_key(sc, casefold, canon, len, bufs, &key);
	if (klen < 0)
		return false;
	u_strToUTF8(utf8, (int32_t) sizeof(utf8), &ulen, key, klen, &status);
	/* ICU reports a full buffer as an error, so one test covers every step */
	if (U_FAILURE(status) || !fits_ascii_fold((size_t) ulen, cap))
		return false;
	*outlen = hm_ascii_fold(utf8, (size_t) ulen, out);
	return true;
}
