/*
 * src/core/profiles.h
 *	  Sign-up profiles: is a candidate acceptable, and if not, why.
 */
#ifndef HM_CORE_PROFILES_H
#define HM_CORE_PROFILES_H

#include <stdbool.h>
#include <stddef.h>

#include "normalize.h"

typedef enum hm_profile
{
	HM_PROFILE_X_CLASSIC,		/* ^[A-Za-z0-9_]{4,15}$ after one '@' */
	HM_PROFILE_PRECIS			/* the type's rules, 3 to 30 characters, and
								 * ICU's spoof checks */
} hm_profile;

/* Looks a profile up by its SQL name; false for an unknown name. */
bool		hm_profile_from_name(const char *name, hm_profile *profile);

/*
 * True when the candidate is acceptable under the profile; otherwise writes
 * one human-readable reason into reason (HM_DETAIL_LEN bytes).  Never fails
 * on bad input: bad input is what it describes.
 */
bool		hm_check_profile(hm_profile profile, const char *in, size_t len,
							 char *reason);

#endif
