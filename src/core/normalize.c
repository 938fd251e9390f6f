/*
 * src/core/normalize.c
 *	  The canonical form of a handle (RFC 8265 UsernameCaseMapped, restricted).
 *
 * The steps, as RFC 8265 orders them: width mapping, lowercasing, NFC, then
 * the checks.  Width mapping and lowercasing work one character at a time
 * (only Final_Sigma looks at neighbours), so each input character is mapped
 * and checked on its own: an error then names the character the user typed,
 * at the position where it was typed.  The rules that only make sense on the
 * composed string (conjoining jamo, mixed Arabic-Indic digits, the Bidi rule,
 * the length) run after NFC.
 */
#include "normalize.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include "bidi_rule.h"
#include "unicode_chars.h"
#include "utf8.h"

/* UTF-16 room for the mapped input: lowercasing yields at most 3 code points. */
#define MAPPED_CAP (HM_MAX_INPUT_CODEPOINTS * 6)
/* NFC may expand composition exclusions; anything past this is too long. */
#define NFC_CAP (MAPPED_CAP * 2)

static hm_status
fail(hm_error *err, hm_status status, int32_t cp, int32_t pos,
	 const char *fmt, const char *why)
{
	char		who[160];

	err->status = status;
	err->codepoint = cp;
	err->position = pos;
	err->length = 0;
	hm_char_describe(cp, who, sizeof(who));
	snprintf(err->detail, sizeof(err->detail), fmt, who, (int) pos, why);
	return status;
}

static hm_status
fail_char(hm_error *err, int32_t cp, int32_t pos)
{
	return fail(err, HM_BAD_CHAR, cp, pos,
				"character %s at position %d is not allowed%s", "");
}

static hm_status
fail_simple(hm_error *err, hm_status status, int32_t length)
{
	err->status = status;
	err->codepoint = -1;
	err->position = 0;
	err->length = length;
	switch (status)
	{
		case HM_EMPTY:
			snprintf(err->detail, sizeof(err->detail), "handle is empty");
			break;
		case HM_TOO_LONG:
			snprintf(err->detail, sizeof(err->detail),
					 "handle has %d characters; at most %d are allowed",
					 (int) length, HM_MAX_CODEPOINTS);
			break;
		default:
			snprintf(err->detail, sizeof(err->detail),
					 "Unicode normalization failed inside ICU");
			break;
	}
	return status;
}

size_t
hm_codepoint_count(const char *s, size_t len)
{
	size_t		n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char) s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

/*
 * The ASCII path's whole rule in one table: the canonical byte for each
 * allowed ASCII byte (A-Z lowercased), 0 for every other.  One lookup per
 * byte and no branch on case is what keeps the cast near the cost of
 * lower() on plain ASCII.
 */
static const unsigned char ascii_canon[128] = {
	['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
	['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
	['_'] = '_',
	['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e', ['f'] = 'f',
	['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j', ['k'] = 'k', ['l'] = 'l',
	['m'] = 'm', ['n'] = 'n', ['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r',
	['s'] = 's', ['t'] = 't', ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x',
	['y'] = 'y', ['z'] = 'z',
	['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e', ['F'] = 'f',
	['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k', ['L'] = 'l',
	['M'] = 'm', ['N'] = 'n', ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r',
	['S'] = 's', ['T'] = 't', ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x',
	['Y'] = 'y', ['Z'] = 'z',
};

/* Unicode's Final_Sigma condition, for lowercasing U+03A3 at cps[i]. */
static bool
is_final_sigma(const int32_t *cps, size_t n, size_t i)
{
	bool		cased_before = false;

	for (size_t j = i; j-- > 0;)
	{
		if (u_hasBinaryProperty(cps[j], UCHAR_CASE_IGNORABLE))
			continue;
		cased_before = u_hasBinaryProperty(cps[j], UCHAR_CASED);
		break;
	}
	if (!cased_before)
		return false;
	for (size_t j = i + 1; j < n; j++)
	{
		if (u_hasBinaryProperty(cps[j], UCHAR_CASE_IGNORABLE))
			continue;
		return !u_hasBinaryProperty(cps[j], UCHAR_CASED);
	}
	return true;
}

/*
 * Width mapping then lowercasing of cps[i] into dst; returns the UTF-16
 * length, or -1 on an ICU failure.
 */
static int32_t
map_one(const int32_t *cps, size_t n, size_t i, UChar *dst, int32_t cap)
{
	const UNormalizer2 *nfkc;
	UErrorCode	status = U_ZERO_ERROR;
	int32_t		cp = cps[i];
	int32_t		dt = u_getIntPropertyValue(cp, UCHAR_DECOMPOSITION_TYPE);
	UChar		wide[8];
	int32_t		wlen = 0;
	UBool		overflow = 0;
	int32_t		len;

	if (cp == 0x03A3 && is_final_sigma(cps, n, i))
	{
		dst[0] = 0x03C2;
		return 1;
	}
	if (dt == U_DT_WIDE || dt == U_DT_NARROW)
	{
		nfkc = unorm2_getNFKCInstance(&status);
		wlen = unorm2_getRawDecomposition(nfkc, cp, wide, 8, &status);
		if (U_FAILURE(status) || wlen < 0)
			return -1;
	}
	else
		U16_APPEND(wide, wlen, 8, cp, overflow);
	(void) overflow;
	len = u_strToLower(dst, cap, wide, wlen, "", &status);
	return U_FAILURE(status) ? -1 : len;
}

/*
 * NFC of src into dst, one normalization segment at a time, so that each
 * output unit keeps the input position of the segment it came from.
 * Returns the length, or -1 when dst is too small or ICU fails.
 */
static int32_t
nfc_with_positions(const UChar *src, const int32_t *srcpos, int32_t len,
				   UChar *dst, int32_t *dstpos, int32_t cap)
{
	UErrorCode	status = U_ZERO_ERROR;
	const UNormalizer2 *nfc = unorm2_getNFCInstance(&status);
	int32_t		k = 0;
	int32_t		seg = 0;
	int32_t		j = 0;

	if (U_FAILURE(status))
		return -1;
	if (unorm2_quickCheck(nfc, src, len, &status) == UNORM_YES &&
		U_SUCCESS(status))
	{
		if (len > cap)
			return -1;
		memcpy(dst, src, len * sizeof(UChar));
		memcpy(dstpos, srcpos, len * sizeof(int32_t));
		return len;
	}
	status = U_ZERO_ERROR;
	while (seg < len)
	{
		int32_t		got;
		UChar32		c;

		/* extend the segment up to the next boundary */
		j = seg;
		U16_NEXT(src, j, len, c);
		while (j < len)
		{
			int32_t		next = j;

			U16_NEXT(src, next, len, c);
			if (unorm2_hasBoundaryBefore(nfc, c))
				break;
			j = next;
		}
		got = unorm2_normalize(nfc, src + seg, j - seg, dst + k, cap - k,
							   &status);
		if (U_FAILURE(status))
			return -1;
		for (int32_t t = 0; t < got; t++)
			dstpos[k + t] = srcpos[seg];
		k += got;
		seg = j;
	}
	return k;
}

static hm_status
check_composed(const int32_t *cps, const int32_t *pos, size_t n, hm_error *err)
{
	int			arabic_indic = -1;
	int			extended = -1;
	const char *why = NULL;
	int			bad;

	for (size_t i = 0; i < n; i++)
	{
		int32_t		cp = cps[i];

		if (hm_char_is_conjoining_jamo(cp))
			return fail(err, HM_BAD_CHAR, cp, pos[i],
						"character %s at position %d is not allowed%s",
						": conjoining Hangul jamo must form a syllable");
		if (cp >= 0x0660 && cp <= 0x0669)
			arabic_indic = (int) i;
		if (cp >= 0x06F0 && cp <= 0x06F9)
			extended = (int) i;
		if (arabic_indic >= 0 && extended >= 0)
			return fail(err, HM_BAD_CHAR, cp, pos[i],
						"character %s at position %d is not allowed%s",
						": Arabic-Indic and extended Arabic-Indic digits cannot be mixed");
	}
	bad = hm_bidi_rule_violation(cps, n, &why);
	if (bad >= 0)
		return fail(err, HM_BIDI, cps[bad], pos[bad],
					"character %s at position %d breaks the Bidi rule (RFC 5893): %s",
					why);
	return HM_OK;
}

static hm_status
canonicalize_unicode(const unsigned char *s, size_t len, int pos_base,
					 char *out, size_t *outlen, hm_error *err)
{
	int32_t		cps[HM_MAX_INPUT_CODEPOINTS];
	size_t		n = 0;
	size_t		total = 0;
	UChar		mapped[MAPPED_CAP];
	int32_t		mappos[MAPPED_CAP];
	int32_t		m = 0;
	UChar		composed[NFC_CAP];
	int32_t		composedpos[NFC_CAP];
	int32_t		clen;
	size_t		ncomp = 0;
	size_t		o = 0;

	/* decode, counting past the cap so a long input reports its length */
	for (size_t i = 0; i < len;)
	{
		int32_t		cp = hm_utf8_decode(s, len, &i);

		if (cp < 0)
		{
			err->status = HM_BAD_ENCODING;
			err->codepoint = -1;
			err->position = pos_base + (int32_t) total;
			err->length = 0;
			snprintf(err->detail, sizeof(err->detail),
					 "invalid UTF-8 byte sequence at position %d",
					 (int) err->position);
			return HM_BAD_ENCODING;
		}
		if (n < HM_MAX_INPUT_CODEPOINTS)
			cps[n++] = cp;
		total++;
	}
	if (total > HM_MAX_INPUT_CODEPOINTS)
		return fail_simple(err, HM_TOO_LONG, (int32_t) total);

	for (size_t i = 0; i < n; i++)
	{
		int32_t		pos = pos_base + (int32_t) i;
		UChar		one[8];
		int32_t		onelen = map_one(cps, n, i, one, 8);
		int32_t		k = 0;

		if (onelen < 0)
			return fail_simple(err, HM_ICU_FAILURE, 0);
		while (k < onelen)
		{
			UChar32		d;

			U16_NEXT(one, k, onelen, d);
			if (!hm_char_allowed(d))
				return fail_char(err, cps[i], pos);
		}
		for (k = 0; k < onelen; k++)
		{
			mapped[m] = one[k];
			mappos[m++] = pos;
		}
	}

	clen = nfc_with_positions(mapped, mappos, m, composed, composedpos, NFC_CAP);
	if (clen < 0)
		return fail_simple(err, HM_ICU_FAILURE, 0);

	/* back to code points; reuse cps, whose input is no longer needed */
	{
		int32_t		pos[NFC_CAP];
		int32_t		k = 0;

		while (k < clen)
		{
			UChar32		c;
			int32_t		at = composedpos[k];

			U16_NEXT(composed, k, clen, c);
			if (ncomp == HM_MAX_INPUT_CODEPOINTS)
				return fail_simple(err, HM_TOO_LONG, (int32_t) (ncomp + 1));
			pos[ncomp] = at;
			cps[ncomp++] = c;
		}
		if (check_composed(cps, pos, ncomp, err) != HM_OK)
			return err->status;
	}
	if (ncomp > HM_MAX_CODEPOINTS)
		return fail_simple(err, HM_TOO_LONG, (int32_t) ncomp);

	for (size_t i = 0; i < ncomp; i++)
		o += hm_utf8_encode(cps[i], (unsigned char *) out + o);
	*outlen = o;
	return HM_OK;
}

hm_status
hm_canonicalize(const char *in, size_t len, char *out, size_t *outlen,
				hm_error *err)
{
	const unsigned char *s = (const unsigned char *) in;
	int			pos_base = 1;

	/* one leading '@' is how people write handles; it is not part of one */
	if (len > 0 && s[0] == '@')
	{
		s++;
		len--;
		pos_base = 2;
	}
	if (len == 0)
		return fail_simple(err, HM_EMPTY, 0);

	/*
	 * One pass: canonical bytes while the input is ASCII.  A refused ASCII
	 * byte is reported where it stands; the first byte past ASCII hands the
	 * whole string to the Unicode path.
	 */
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = s[i];

		if (c >= 0x80)
			return canonicalize_unicode(s, len, pos_base, out, outlen, err);
		if (ascii_canon[c] == 0)
			return fail_char(err, c, pos_base + (int32_t) i);
		if (i < HM_MAX_CODEPOINTS)
			out[i] = (char) ascii_canon[c];
	}
	if (len > HM_MAX_CODEPOINTS)
		return fail_simple(err, HM_TOO_LONG, (int32_t) len);
	*outlen = len;
	return HM_OK;
}
