/*
 * src/core/bidi_rule.c
 *	  The Bidi rule of RFC 5893 section 2.
 */
#include "bidi_rule.h"

#include <stdbool.h>

#include <unicode/uchar.h>

static bool
is_rtl(UCharDirection d)
{
	return d == U_RIGHT_TO_LEFT || d == U_RIGHT_TO_LEFT_ARABIC ||
		d == U_ARABIC_NUMBER;
}

/* Classes both kinds of string may contain (rules 2 and 5). */
static bool
is_neutral_or_number(UCharDirection d)
{
	return d == U_EUROPEAN_NUMBER || d == U_EUROPEAN_NUMBER_SEPARATOR ||
		d == U_COMMON_NUMBER_SEPARATOR ||
		d == U_EUROPEAN_NUMBER_TERMINATOR || d == U_OTHER_NEUTRAL ||
		d == U_BOUNDARY_NEUTRAL || d == U_DIR_NON_SPACING_MARK;
}

int
hm_bidi_rule_violation(const int32_t *cps, size_t n, const char **why)
{
	bool		any_rtl = false;
	bool		rtl;
	int			first_en = -1;
	int			first_an = -1;
	size_t		last;
	UCharDirection d0;

	for (size_t i = 0; i < n; i++)
		if (is_rtl(u_charDirection(cps[i])))
		{
			any_rtl = true;
			break;
		}
	if (!any_rtl || n == 0)
		return -1;

	/* Rule 1: the first character decides the direction. */
	d0 = u_charDirection(cps[0]);
	if (d0 != U_LEFT_TO_RIGHT && d0 != U_RIGHT_TO_LEFT &&
		d0 != U_RIGHT_TO_LEFT_ARABIC)
	{
		*why = "a handle with right-to-left characters must begin with a letter";
		return 0;
	}
	rtl = (d0 != U_LEFT_TO_RIGHT);

	for (size_t i = 0; i < n; i++)
	{
		UCharDirection d = u_charDirection(cps[i]);

		if (rtl)
		{
			/* Rule 2 */
			if (!(d == U_RIGHT_TO_LEFT || d == U_RIGHT_TO_LEFT_ARABIC ||
				  d == U_ARABIC_NUMBER || is_neutral_or_number(d)))
			{
				*why = "left-to-right characters cannot follow a right-to-left start";
				return (int) i;
			}
			/* Rule 4 */
			if (d == U_EUROPEAN_NUMBER && first_en < 0)
				first_en = (int) i;
			if (d == U_ARABIC_NUMBER && first_an < 0)
				first_an = (int) i;
			if (first_en >= 0 && first_an >= 0)
			{
				*why = "European and Arabic-Indic digits cannot be mixed";
				return first_en > first_an ? first_en : first_an;
			}
		}
		else if (!(d == U_LEFT_TO_RIGHT || is_neutral_or_number(d)))
		{
			/* Rule 5 */
			*why = "right-to-left characters cannot follow a left-to-right start";
			return (int) i;
		}
	}

	/* Rules 3 and 6: the last character that is not a mark. */
	last = n - 1;
	while (last > 0 && u_charDirection(cps[last]) == U_DIR_NON_SPACING_MARK)
		last--;
	d0 = u_charDirection(cps[last]);
	if (rtl ? !(d0 == U_RIGHT_TO_LEFT || d0 == U_RIGHT_TO_LEFT_ARABIC ||
				d0 == U_EUROPEAN_NUMBER || d0 == U_ARABIC_NUMBER)
		: !(d0 == U_LEFT_TO_RIGHT || d0 == U_EUROPEAN_NUMBER))
	{
		*why = "the handle must end with a letter or a digit";
		return (int) last;
	}
	return -1;
}
