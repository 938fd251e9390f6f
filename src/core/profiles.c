/*
 * src/core/profiles.c
 *	  Sign-up profiles.
 */
#include "profiles.h"

#include <stdio.h>
#include <string.h>

#include <unicode/uscript.h>

#include "icu_support.h"
#include "unicode_chars.h"
#include "utf8.h"

#define X_CLASSIC_MIN 4
#define X_CLASSIC_MAX 15
#define PRECIS_MIN 3
#define PRECIS_MAX 30

bool
hm_profile_from_name(const char *name, hm_profile *profile)
{
	if (strcmp(name, "x_classic") == 0)
		*profile = HM_PROFILE_X_CLASSIC;
	else if (strcmp(name, "precis") == 0)
		*profile = HM_PROFILE_PRECIS;
	else
		return false;
	return true;
}

static bool
length_reason(size_t n, size_t min, size_t max, char *reason)
{
	if (n >= min && n <= max)
		return true;
	snprintf(reason, HM_DETAIL_LEN,
			 "handle must have %zu to %zu characters; it has %zu", min, max, n);
	return false;
}

static bool
check_x_classic(const char *in, size_t len, char *reason)
{
	const unsigned char *s = (const unsigned char *) in;
	int			pos_base = 1;
	size_t		n = 0;

	if (len > 0 && s[0] == '@')
	{
		s++;
		len--;
		pos_base = 2;
	}
	if (len == 0)
	{
		snprintf(reason, HM_DETAIL_LEN, "handle is empty");
		return false;
	}
	for (size_t i = 0; i < len; n++)
	{
		int32_t		cp = hm_utf8_decode(s, len, &i);
		char		who[160];

		if (cp < 0)
		{
			snprintf(reason, HM_DETAIL_LEN,
					 "invalid UTF-8 byte sequence at position %d",
					 pos_base + (int) n);
			return false;
		}
		if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
			(cp >= '0' && cp <= '9') || cp == '_')
			continue;
		hm_char_describe(cp, who, sizeof(who));
		snprintf(reason, HM_DETAIL_LEN,
				 "character %s at position %d is not allowed",
				 who, pos_base + (int) n);
		return false;
	}
	return length_reason(n, X_CLASSIC_MIN, X_CLASSIC_MAX, reason);
}

/* "Latin and Cyrillic": the scripts of canon, in order of appearance. */
static void
describe_scripts(const char *canon, size_t len, char *buf, size_t buflen)
{
	UScriptCode seen[4];
	int			nseen = 0;
	size_t		o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < len && nseen < 4;)
	{
		int32_t		cp = hm_utf8_decode((const unsigned char *) canon, len, &i);
		UErrorCode	status = U_ZERO_ERROR;
		UScriptCode sc;
		bool		dup = false;

		if (cp < 0)
			break;
		sc = uscript_getScript(cp, &status);
		if (U_FAILURE(status) || sc == USCRIPT_COMMON || sc == USCRIPT_INHERITED)
			continue;
		for (int k = 0; k < nseen; k++)
			dup |= (seen[k] == sc);
		if (!dup)
			seen[nseen++] = sc;
	}
	for (int k = 0; k < nseen && o < buflen; k++)
		o += snprintf(buf + o, buflen - o, "%s%s",
					  k == 0 ? "" : (k == nseen - 1 ? " and " : ", "),
					  uscript_getName(seen[k]));
}

static bool
check_precis(const char *in, size_t len, char *reason)
{
	char		canon[HM_MAX_BYTES];
	size_t		clen;
	hm_error	err;
	const USpoofChecker *sc;
	UErrorCode	status = U_ZERO_ERROR;
	int32_t		result;

	if (hm_canonicalize(in, len, canon, &clen, &err) != HM_OK)
	{
		memcpy(reason, err.detail, HM_DETAIL_LEN);
		return false;
	}
	if (!length_reason(hm_codepoint_count(canon, clen), PRECIS_MIN, PRECIS_MAX,
					   reason))
		return false;

	sc = hm_spoof_checker();
	if (sc == NULL)
	{
		snprintf(reason, HM_DETAIL_LEN, "ICU's spoof checker is unavailable");
		return false;
	}
	result = uspoof_checkUTF8(sc, canon, (int32_t) clen, NULL, &status);
	if (U_FAILURE(status))
	{
		snprintf(reason, HM_DETAIL_LEN, "ICU's spoof check failed: %s",
				 u_errorName(status));
		return false;
	}
	if (result & USPOOF_RESTRICTION_LEVEL)
	{
		char		scripts[160];

		describe_scripts(canon, clen, scripts, sizeof(scripts));
		snprintf(reason, HM_DETAIL_LEN,
				 "handle mixes the scripts %s, which may not be mixed", scripts);
		return false;
	}
	if (result & USPOOF_MIXED_NUMBERS)
	{
		snprintf(reason, HM_DETAIL_LEN,
				 "handle mixes digits of different numbering systems");
		return false;
	}
	if (result & USPOOF_INVISIBLE)
	{
		snprintf(reason, HM_DETAIL_LEN,
				 "handle repeats a combining mark, which is invisible");
		return false;
	}
	return true;
}

bool
hm_check_profile(hm_profile profile, const char *in, size_t len, char *reason)
{
	if (profile == HM_PROFILE_X_CLASSIC)
		return check_x_classic(in, len, reason);
	return check_precis(in, len, reason);
}
