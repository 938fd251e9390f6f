/*
 * src/core/icu_support.h
 *	  The one ICU spoof checker a process keeps, and the versions in use.
 */
#ifndef HM_CORE_ICU_SUPPORT_H
#define HM_CORE_ICU_SUPPORT_H

#include <unicode/uspoof.h>

/*
 * The process's spoof checker, opened on first use and configured for the
 * precis profile (highly restrictive; invisible characters; mixed numbers).
 * Skeletons do not depend on that configuration.  NULL if ICU failed.
 * ICU allocates it with malloc; it lives as long as the process.
 */
const USpoofChecker *hm_spoof_checker(void);

/* "72.1" and "15.0": the ICU library and Unicode versions in use. */
void		hm_icu_version(char *buf, int buflen);
void		hm_unicode_version(char *buf, int buflen);

#endif
