/*
 * src/core/money.h
 *	  Checked arithmetic on money.  All money is int64 cents; an operation
 *	  that would leave that range reports HM_MONEY_OVERFLOW instead of
 *	  producing a number, so a wrong amount can never reach the ledger.
 *
 * Every function returns a status and writes its result through the last
 * pointer only on HM_MONEY_OK; on any other status *out is left untouched.
 */
#ifndef HM_CORE_MONEY_H
#define HM_CORE_MONEY_H

#include <stddef.h>
#include <stdint.h>

/*
 * Shared by money.h, decay.h and pricing.h.  The SQL glue maps them to
 * SQLSTATEs: OVERFLOW -> HM013; INVALID_ARGUMENT and INVALID_TIERS -> a
 * configuration / parameter error (e.g. 22023); NO_TIER -> "no price" (NULL
 * or the caller's own error).
 */
typedef enum hm_money_status
{
	HM_MONEY_OK = 0,
	HM_MONEY_OVERFLOW,			/* result outside int64 cents */
	HM_MONEY_INVALID_ARGUMENT,	/* negative price, bps outside 0..10000,
								 * bad premium curve, negative length ... */
	HM_MONEY_INVALID_TIERS,		/* tier table empty, unsorted, duplicate
								 * min_length, min_length < 1 or price < 0 */
	HM_MONEY_NO_TIER			/* length below the smallest tier: no price */
} hm_money_status;

/* Basis points: 10000 bps = 100 %. */
#define HM_BPS_MAX 10000

/* A short English description of a status, for error messages. */
const char *hm_money_status_text(hm_money_status status);

hm_money_status hm_money_add(int64_t a, int64_t b, int64_t *out);
hm_money_status hm_money_sub(int64_t a, int64_t b, int64_t *out);
hm_money_status hm_money_mul(int64_t a, int64_t b, int64_t *out);

/*
 * Commission on a sale: fee = floor(price * bps / 10000), exact for every
 * price in 0..INT64_MAX (never overflows: fee <= price).  Requires
 * price >= 0 and 0 <= bps <= 10000, else HM_MONEY_INVALID_ARGUMENT.
 */
hm_money_status hm_money_fee(int64_t price, int32_t bps, int64_t *fee);

/* What the seller receives: price - fee, same arguments and checks. */
hm_money_status hm_money_net(int64_t price, int32_t bps, int64_t *net);

/*
 * Dollars for people: 5000000 -> "$50,000.00", -150 -> "-$1.50".  Writes at
 * most size bytes including the terminator; HM_MONEY_FORMAT_MAX always
 * suffices (INT64_MIN is "-$92,233,720,368,547,758.08").
 */
#define HM_MONEY_FORMAT_MAX 32
void		hm_money_format(int64_t cents, char *buf, size_t size);

#endif
