/*
 * src/core/pricing.c
 *	  Base price by length and the decaying premium.
 */
#include "pricing.h"

#include "decay.h"

hm_money_status
hm_price_tiers_check(const hm_price_tier *tiers, size_t n, size_t *bad_row)
{
	size_t		i;

	if (bad_row)
		*bad_row = 0;
	if (n == 0 || tiers == NULL)
		return HM_MONEY_INVALID_TIERS;
	for (i = 0; i < n; i++)
	{
		/* strictly increasing: sorted, and no length in two tiers */
		if (tiers[i].min_length < 1 || tiers[i].price_cents < 0 ||
			(i > 0 && tiers[i].min_length <= tiers[i - 1].min_length))
		{
			if (bad_row)
				*bad_row = i;
			return HM_MONEY_INVALID_TIERS;
		}
	}
	return HM_MONEY_OK;
}

hm_money_status
hm_base_price(const hm_price_tier *tiers, size_t n, int32_t length,
			  int64_t *price)
{
	hm_money_status st;
	size_t		i;

	/* The table is a handful of rows: checking it every time is cheap. */
	st = hm_price_tiers_check(tiers, n, NULL);
	if (st != HM_MONEY_OK)
		return st;
	if (length < 0)
		return HM_MONEY_INVALID_ARGUMENT;
	if (length < tiers[0].min_length)
		return HM_MONEY_NO_TIER;
	for (i = n - 1; tiers[i].min_length > length; i--)
		;						/* stops at 0 at the latest, see above */
	*price = tiers[i].price_cents;
	return HM_MONEY_OK;
}

hm_money_status
hm_premium_curve_check(const hm_premium_curve *c)
{
	if (c == NULL || c->start_cents < 0 || c->half_life <= 0 || c->window < 0)
		return HM_MONEY_INVALID_ARGUMENT;
	return HM_MONEY_OK;
}

hm_money_status
hm_premium(const hm_premium_curve *c, int64_t elapsed, int64_t *premium)
{
	hm_money_status st;
	int64_t		now,
				tail;

	st = hm_premium_curve_check(c);
	if (st != HM_MONEY_OK)
		return st;
	if (elapsed < 0)
		elapsed = 0;
	if (elapsed >= c->window)
	{
		*premium = 0;
		return HM_MONEY_OK;
	}
	/* arguments are valid, so neither call can fail */
	st = hm_decay_floor(c->start_cents, elapsed, c->half_life, &now, NULL);
	if (st == HM_MONEY_OK)
		st = hm_decay_floor(c->start_cents, c->window, c->half_life, &tail,
							NULL);
	if (st != HM_MONEY_OK)
		return st;

	/*
	 * hm_decay_floor is non-increasing in t, so now >= tail already; the
	 * clip is the formula's, kept for clarity.  Both are in [0, S]: no
	 * overflow.
	 */
	*premium = now > tail ? now - tail : 0;
	return HM_MONEY_OK;
}

int64_t
hm_elapsed(int64_t since, int64_t as_of)
{
	int64_t		d;

	if (__builtin_sub_overflow(as_of, since, &d))
		return as_of > since ? INT64_MAX : INT64_MIN;
	return d;
}

hm_money_status
hm_released_price(const hm_price_tier *tiers, size_t n, int32_t length,
				  const hm_premium_curve *curve, int64_t elapsed,
				  int64_t *price)
{
	hm_money_status st;
	int64_t		base,
				premium = 0;

	st = hm_base_price(tiers, n, length, &base);
	if (st == HM_MONEY_OK && curve != NULL)
		st = hm_premium(curve, elapsed, &premium);
	if (st != HM_MONEY_OK)
		return st;
	return hm_money_add(base, premium, price);
}
