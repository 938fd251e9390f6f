/*
 * src/core/money.c
 *	  Checked arithmetic on int64 cents.
 */
#include "money.h"

#ifndef __SIZEOF_INT128__
#error "handle_market needs a compiler with __int128 (gcc or clang, 64-bit)"
#endif

const char *
hm_money_status_text(hm_money_status status)
{
	switch (status)
	{
		case HM_MONEY_OK:
			return "ok";
		case HM_MONEY_OVERFLOW:
			return "amount out of range of bigint cents";
		case HM_MONEY_INVALID_ARGUMENT:
			return "invalid argument";
		case HM_MONEY_INVALID_TIERS:
			return "invalid price tier table";
		case HM_MONEY_NO_TIER:
			return "no price tier for this length";
	}
	return "unknown status";
}

hm_money_status
hm_money_add(int64_t a, int64_t b, int64_t *out)
{
	int64_t		r;

	if (__builtin_add_overflow(a, b, &r))
		return HM_MONEY_OVERFLOW;
	*out = r;
	return HM_MONEY_OK;
}

hm_money_status
hm_money_sub(int64_t a, int64_t b, int64_t *out)
{
	int64_t		r;

	if (__builtin_sub_overflow(a, b, &r))
		return HM_MONEY_OVERFLOW;
	*out = r;
	return HM_MONEY_OK;
}

hm_money_status
hm_money_mul(int64_t a, int64_t b, int64_t *out)
{
	int64_t		r;

	if (__builtin_mul_overflow(a, b, &r))
		return HM_MONEY_OVERFLOW;
	*out = r;
	return HM_MONEY_OK;
}

hm_money_status
hm_money_fee(int64_t price, int32_t bps, int64_t *fee)
{
	/*
	 * price * bps < 2^63 * 2^14 fits in 128 bits, so the product is exact
	 * and the division truncates, which is floor for non-negative values.
	 * The quotient is at most price, so it fits back in int64.
	 */
	__extension__ unsigned __int128 product;

	if (price < 0 || bps < 0 || bps > HM_BPS_MAX)
		return HM_MONEY_INVALID_ARGUMENT;
	product = (unsigned __int128) (uint64_t) price * (uint32_t) bps;
	*fee = (int64_t) (uint64_t) (product / HM_BPS_MAX);
	return HM_MONEY_OK;
}

hm_money_status
hm_money_net(int64_t price, int32_t bps, int64_t *net)
{
	int64_t		fee;
	hm_money_status st = hm_money_fee(price, bps, &fee);

	if (st != HM_MONEY_OK)
		return st;
	/* 0 <= fee <= price, so this cannot overflow; checked all the same */
	return hm_money_sub(price, fee, net);
}

void
hm_money_format(int64_t cents, char *buf, size_t size)
{
	/* magnitude as unsigned, so that INT64_MIN has one */
	uint64_t	mag = cents < 0 ? (uint64_t) 0 - (uint64_t) cents : (uint64_t) cents;
	uint64_t	dollars = mag / 100;
	char		tmp[HM_MONEY_FORMAT_MAX];
	size_t		n = 0;
	int			digits = 0;

	if (size == 0)
		return;
	/* built backwards: cents, point, dollars in groups of three, sign */
	tmp[n++] = (char) ('0' + mag % 10);
	tmp[n++] = (char) ('0' + mag / 10 % 10);
	tmp[n++] = '.';
	do
	{
		if (digits > 0 && digits % 3 == 0)
			tmp[n++] = ',';
		tmp[n++] = (char) ('0' + dollars % 10);
		dollars /= 10;
		digits++;
	} while (dollars > 0);
	tmp[n++] = '$';
	if (cents < 0)
		tmp[n++] = '-';
	for (size_t i = 0; i < n && i + 1 < size; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n < size ? n : size - 1] = '\0';
}
