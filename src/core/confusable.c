/*
 * src/core/confusable.c
 *	  Confusable keys.
 *
 * The order of the Unicode path matters (see DESIGN.md): a skeleton of the
 * lowercased form alone lets "eIon_musk" (-> "eion"), "g00gle" (-> "gOOgle")
 * and Cyrillic "аррӏе" (-> "appie") through.  Casefolding before the skeleton,
 * lowercasing after it (the skeleton maps '0' to capital 'O') and our ASCII
 * table last catch all three.
 */
#include "confusable.h"

#include <string.h>

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "icu_support.h"

#define KEY_UCHARS 2048

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

bool
hm_confusable_key(const char *canon, size_t len, char *out, size_t cap,
				  size_t *outlen)
{
	UErrorCode	status = U_ZERO_ERROR;
	const UNormalizer2 *casefold;
	const USpoofChecker *sc;
	UChar		a[KEY_UCHARS];
	UChar		b[KEY_UCHARS];
	int32_t		alen;
	int32_t		blen;
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

	u_strFromUTF8(a, KEY_UCHARS, &alen, canon, (int32_t) len, &status);
	blen = unorm2_normalize(casefold, a, alen, b, KEY_UCHARS, &status);
	alen = uspoof_getSkeleton(sc, 0, b, blen, a, KEY_UCHARS, &status);
	blen = u_strToLower(b, KEY_UCHARS, a, alen, "", &status);
	u_strToUTF8(utf8, (int32_t) sizeof(utf8), &ulen, b, blen, &status);
	/* ICU reports a full buffer as an error, so one test covers all five */
	if (U_FAILURE(status) || !fits_ascii_fold((size_t) ulen, cap))
		return false;
	*outlen = hm_ascii_fold(utf8, (size_t) ulen, out);
	return true;
}
