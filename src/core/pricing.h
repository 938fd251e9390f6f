/*
 * src/core/pricing.h
 *	  What the platform asks for a handle: a base price by length from a tier
 *	  table, plus the ENS-style decaying premium on a released handle.  Money
 *	  is int64 cents and times are int64 microseconds (TimestampTz and
 *	  interval microseconds fit as they are).  Statuses: money.h.
 */
#ifndef HM_CORE_PRICING_H
#define HM_CORE_PRICING_H

#include <stddef.h>
#include <stdint.h>

#include "money.h"

#define HM_USEC_PER_HOUR INT64_C(3600000000)
#define HM_USEC_PER_DAY (24 * HM_USEC_PER_HOUR)

/* ENS's curve: $50,000 halving every 24 h, over 21 days */
#define HM_PREMIUM_DEFAULT_START_CENTS INT64_C(5000000)
#define HM_PREMIUM_DEFAULT_HALF_LIFE HM_USEC_PER_DAY
#define HM_PREMIUM_DEFAULT_WINDOW (21 * HM_USEC_PER_DAY)

/*
 * One row of the base price table: handles of min_length or more code
 * points (up to the next tier's min_length) cost price_cents.  The table
 * comes from the database; it is valid when it has at least one row,
 * min_length >= 1 and strictly increasing, price_cents >= 0.
 */
typedef struct hm_price_tier
{
	int32_t		min_length;
	int64_t		price_cents;
} hm_price_tier;

typedef struct hm_premium_curve
{
	int64_t		start_cents;	/* S >= 0: the premium at t = 0, before the
								 * tail is subtracted */
	int64_t		half_life;		/* H > 0, microseconds */
	int64_t		window;			/* W >= 0, microseconds: premium is 0 from
								 * t = W on */
} hm_premium_curve;

/*
 * HM_MONEY_OK, or HM_MONEY_INVALID_TIERS with *bad_row (if not NULL) set to
 * the 0-based index of the first offending row (0 for an empty table).
 */
hm_money_status hm_price_tiers_check(const hm_price_tier *tiers, size_t n,
									 size_t *bad_row);

/*
 * The base price of a canonical handle of `length` code points: the price
 * of the last tier with min_length <= length.  HM_MONEY_NO_TIER below the
 * first tier, HM_MONEY_INVALID_ARGUMENT for length < 0, and
 * HM_MONEY_INVALID_TIERS for a table hm_price_tiers_check refuses.
 */
hm_money_status hm_base_price(const hm_price_tier *tiers, size_t n,
							  int32_t length, int64_t *price);

/* HM_MONEY_OK or HM_MONEY_INVALID_ARGUMENT (S < 0, H <= 0 or W < 0). */
hm_money_status hm_premium_curve_check(const hm_premium_curve *curve);

/*
 * The premium `elapsed` microseconds after the premium phase began:
 *   max(0, floor(S * 2^(-t/H)) - floor(S * 2^(-W/H)))
 * with t = max(elapsed, 0), and 0 for t >= W.  So with the default curve:
 * t = 0 -> 4,999,998; 1 day -> 2,499,998; 7 days -> 39,060; 21 days -> 0.
 * Exact to the cent, in [0, S], non-increasing in elapsed.  See decay.h
 * for the one (astronomically rare) case where floor(S * 2^(-t/H)) may be
 * a cent low; then this may be a cent off, but it stays monotone.
 */
hm_money_status hm_premium(const hm_premium_curve *curve, int64_t elapsed,
						   int64_t *premium);

/*
 * as_of - since, saturated to the int64 range (for infinite timestamps),
 * so it can be passed as `elapsed`.
 */
int64_t		hm_elapsed(int64_t since, int64_t as_of);

/*
 * The price of a released handle: base price + premium (checked, so
 * HM_MONEY_OVERFLOW when the sum leaves int64), with the statuses of
 * hm_base_price and hm_premium.  Pass curve = NULL for no premium.
 */
hm_money_status hm_released_price(const hm_price_tier *tiers, size_t n,
								  int32_t length,
								  const hm_premium_curve *curve,
								  int64_t elapsed, int64_t *price);

#endif
