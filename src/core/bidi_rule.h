/*
 * src/core/bidi_rule.h
 *	  The Bidi rule of RFC 5893 section 2, as PRECIS (RFC 8264) applies it:
 *	  only to strings that contain a right-to-left character.
 */
#ifndef HM_CORE_BIDI_RULE_H
#define HM_CORE_BIDI_RULE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Checks cps[0..n).  Returns -1 when the string passes, otherwise the index
 * of the character that breaks the rule, with *why set to a phrase that
 * completes "breaks the Bidi rule (RFC 5893): ...".
 */
int			hm_bidi_rule_violation(const int32_t *cps, size_t n, const char **why);

#endif
