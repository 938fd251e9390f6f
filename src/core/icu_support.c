/*
 * src/core/icu_support.c
 *	  The process's spoof checker and the versions in use.
 */
#include "icu_support.h"

#include <stdio.h>

#include <unicode/uchar.h>
#include <unicode/uversion.h>

static USpoofChecker *checker;

const USpoofChecker *
hm_spoof_checker(void)
{
	UErrorCode	status = U_ZERO_ERROR;
	USpoofChecker *sc;

	if (checker)
		return checker;
	sc = uspoof_open(&status);
	if (U_FAILURE(status))
		return NULL;
	uspoof_setRestrictionLevel(sc, USPOOF_HIGHLY_RESTRICTIVE);
	uspoof_setChecks(sc, USPOOF_RESTRICTION_LEVEL | USPOOF_INVISIBLE |
					 USPOOF_MIXED_NUMBERS, &status);
	if (U_FAILURE(status))
	{
		uspoof_close(sc);
		return NULL;
	}
	checker = sc;
	return checker;
}

static void
version_string(const UVersionInfo v, char *buf, int buflen)
{
	char		s[U_MAX_VERSION_STRING_LENGTH];

	u_versionToString(v, s);
	snprintf(buf, buflen, "%s", s);
}

void
hm_icu_version(char *buf, int buflen)
{
	UVersionInfo v;

	u_getVersion(v);
	version_string(v, buf, buflen);
}

void
hm_unicode_version(char *buf, int buflen)
{
	UVersionInfo v;

	u_getUnicodeVersion(v);
	version_string(v, buf, buflen);
}
