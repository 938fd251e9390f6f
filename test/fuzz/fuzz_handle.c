/*
 * test/fuzz/fuzz_handle.c
 *	  libFuzzer harness for the core: canonicalization, confusable keys and
 *	  profiles on arbitrary bytes.  Besides memory errors (ASan, UBSan) it
 *	  checks properties every input must have, and aborts when one fails:
 *	  - a canonical form canonicalizes to itself;
 *	  - it is valid UTF-8 of at most HM_MAX_CODEPOINTS code points;
 *	  - every canonical handle has a confusable key, the same on each call;
 *	  - when ICU's skeleton of a canonical handle is a canonical handle with
 *	    the same skeleton, the two share a key (equal skeletons, equal keys).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/confusable.h"
#include "../../src/core/icu_support.h"
#include "../../src/core/normalize.h"
#include "../../src/core/profiles.h"
#include "../../src/core/utf8.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
require(int ok)
{
	if (!ok)
		abort();
}

/*
 * The skeleton is a handle too when it is made of allowed characters; then
 * it must key like the handle it came from, as long as its own skeleton is
 * the same string (ICU's skeleton is idempotent on almost everything).
 */
static void
check_skeleton_key(const char *canon, size_t len, const char *key, size_t klen)
{
	static char skel[HM_KEY_MAX_BYTES];
	static char skel2[HM_KEY_MAX_BYTES];
	static char skey[HM_KEY_MAX_BYTES];
	char		scanon[HM_MAX_BYTES];
	size_t		scanonlen;
	size_t		sklen;
	hm_error	err;
	UErrorCode	status = U_ZERO_ERROR;
	int32_t		n;
	int32_t		n2;

	n = uspoof_getSkeletonUTF8(hm_spoof_checker(), 0, canon, (int32_t) len,
							   skel, sizeof(skel), &status);
	if (U_FAILURE(status) ||
		hm_canonicalize(skel, (size_t) n, scanon, &scanonlen, &err) != HM_OK ||
		scanonlen != (size_t) n || memcmp(scanon, skel, n) != 0)
		return;
	n2 = uspoof_getSkeletonUTF8(hm_spoof_checker(), 0, skel, n, skel2,
								sizeof(skel2), &status);
	if (U_FAILURE(status) || n2 != n || memcmp(skel, skel2, n) != 0)
		return;
	require(hm_confusable_key(scanon, scanonlen, skey, sizeof(skey), &sklen));
	require(sklen == klen && memcmp(skey, key, klen) == 0);
}

static void
check_canonical(const char *canon, size_t len)
{
	char		again[HM_MAX_BYTES];
	size_t		againlen;
	hm_error	err;
	size_t		ncp = 0;
	static char key1[HM_KEY_MAX_BYTES];
	static char key2[HM_KEY_MAX_BYTES];
	size_t		k1;
	size_t		k2;

	for (size_t i = 0; i < len; ncp++)
		require(hm_utf8_decode((const unsigned char *) canon, len, &i) >= 0);
	require(ncp >= 1 && ncp <= HM_MAX_CODEPOINTS);

	require(hm_canonicalize(canon, len, again, &againlen, &err) == HM_OK);
	require(againlen == len && memcmp(again, canon, len) == 0);

	require(hm_confusable_key(canon, len, key1, sizeof(key1), &k1));
	require(hm_confusable_key(canon, len, key2, sizeof(key2), &k2));
	require(k1 == k2 && memcmp(key1, key2, k1) == 0);

	check_skeleton_key(canon, len, key1, k1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		out[HM_MAX_BYTES];
	size_t		outlen;
	hm_error	err;
	char		reason[HM_DETAIL_LEN];

	if (hm_canonicalize((const char *) data, size, out, &outlen, &err) == HM_OK)
		check_canonical(out, outlen);
	else
		require(err.status != HM_OK && err.detail[0] != '\0');

	(void) hm_check_profile(HM_PROFILE_X_CLASSIC, (const char *) data, size, reason);
	(void) hm_check_profile(HM_PROFILE_PRECIS, (const char *) data, size, reason);
	return 0;
}
