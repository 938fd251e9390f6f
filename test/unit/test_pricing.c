/*
 * test/unit/test_pricing.c
 *	  Unit tests of the money and pricing arithmetic (src/core/money.c,
 *	  decay.c, pricing.c), outside the server.  Prints one line per failure
 *	  and a closing "N passed, M failed"; exits non-zero on any failure.
 *
 * The premium is checked against references that share nothing with the
 * code under test: golden values computed with Python's decimal module at
 * 100 digits, an exact test by integer powers for small half-lives, and a
 * long double reference on many random points.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../../src/core/decay.h"
#include "../../src/core/money.h"
#include "../../src/core/pricing.h"

__extension__ typedef unsigned __int128 u128;

#define DAY HM_USEC_PER_DAY
#define S0 HM_PREMIUM_DEFAULT_START_CENTS

static int	passed;
static int	failed;

#define CHECK(cond, ...) \
	do { \
		if (cond) \
			passed++; \
		else \
		{ \
			failed++; \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__); \
			printf("\n"); \
		} \
	} while (0)

/* status and value together */
#define CHECK_MONEY(call, want_st, got, want) \
	do { \
		hm_money_status st_ = (call); \
		CHECK(st_ == (want_st) && (st_ != HM_MONEY_OK || (got) == (want)), \
			  "%s: status %d (%s) value %" PRId64 ", want status %d value %" PRId64, \
			  #call, (int) st_, hm_money_status_text(st_), \
			  st_ == HM_MONEY_OK ? (int64_t) (got) : INT64_C(0), \
			  (int) (want_st), (int64_t) (want)); \
	} while (0)

/* splitmix64: a fixed seed, so every run tests the same points */
static uint64_t rng_state = UINT64_C(0x5eed1234abcd9876);

static uint64_t
rnd(void)
{
	uint64_t	z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* uniform-ish in [0, n); 0 when n <= 0 */
static int64_t
rnd_below(int64_t n)
{
	if (n <= 0)
		return 0;
	return (int64_t) (rnd() % (uint64_t) n);
}

static const hm_premium_curve ens = {
	S0, HM_PREMIUM_DEFAULT_HALF_LIFE, HM_PREMIUM_DEFAULT_WINDOW
};

static int64_t
premium_of(const hm_premium_curve *c, int64_t t)
{
	int64_t		p = -1;

	if (hm_premium(c, t, &p) != HM_MONEY_OK)
		return -1;
	return p;
}

static int64_t
decay_of(int64_t s, int64_t t, int64_t h, bool *exact)
{
	int64_t		v = -1;

	if (hm_decay_floor(s, t, h, &v, exact) != HM_MONEY_OK)
		return -1;
	return v;
}

/* ---- money ---- */

/* floor(p * bps / 10000) without 128-bit arithmetic: p = a*10000 + b */
static int64_t
fee_by_split(int64_t p, int32_t bps)
{
	return (p / 10000) * bps + (p % 10000) * bps / 10000;
}

static void
format_tests(void)
{
	static const struct
	{
		int64_t		cents;
		const char *text;
	}			cases[] = {
		{0, "$0.00"}, {5, "$0.05"}, {150, "$1.50"}, {-150, "-$1.50"},
		{99999, "$999.99"}, {100000, "$1,000.00"}, {5000000, "$50,000.00"},
		{123456789, "$1,234,567.89"}, {INT64_MAX, "$92,233,720,368,547,758.07"},
		{INT64_MIN, "-$92,233,720,368,547,758.08"},
	};
	char		buf[HM_MONEY_FORMAT_MAX];
	char		small[6];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		hm_money_format(cases[i].cents, buf, sizeof(buf));
		CHECK(strcmp(buf, cases[i].text) == 0, "format(%" PRId64 ") = %s, want %s",
			  cases[i].cents, buf, cases[i].text);
	}
	/* a short buffer gets a terminated prefix, never an overrun */
	hm_money_format(5000000, small, sizeof(small));
	CHECK(strcmp(small, "$50,0") == 0, "truncated format = %s", small);
}

static void
money_tests(void)
{
	static const int32_t tier_bps[] = {1000, 800, 500, 300};	/* none ..
																 * premium_plus */
	static const int64_t fee_5m[] = {500000, 400000, 250000, 150000};
	int64_t		v = 0;

	CHECK_MONEY(hm_money_add(2, 3, &v), HM_MONEY_OK, v, 5);
	CHECK_MONEY(hm_money_add(INT64_MAX, 1, &v), HM_MONEY_OVERFLOW, v, 0);
	CHECK_MONEY(hm_money_add(INT64_MIN, -1, &v), HM_MONEY_OVERFLOW, v, 0);
	CHECK_MONEY(hm_money_add(INT64_MAX, INT64_MIN, &v), HM_MONEY_OK, v, -1);
	CHECK_MONEY(hm_money_sub(5, 7, &v), HM_MONEY_OK, v, -2);
	CHECK_MONEY(hm_money_sub(INT64_MIN, 1, &v), HM_MONEY_OVERFLOW, v, 0);
	CHECK_MONEY(hm_money_sub(0, INT64_MIN, &v), HM_MONEY_OVERFLOW, v, 0);
	CHECK_MONEY(hm_money_mul(5000000, 1000, &v), HM_MONEY_OK, v, 5000000000);
	CHECK_MONEY(hm_money_mul(INT64_C(4611686018427387904), 2, &v),
				HM_MONEY_OVERFLOW, v, 0);
	CHECK_MONEY(hm_money_mul(INT64_MIN, -1, &v), HM_MONEY_OVERFLOW, v, 0);
	CHECK_MONEY(hm_money_mul(INT64_C(3037000500), INT64_C(3037000500), &v),
				HM_MONEY_OVERFLOW, v, 0);
	CHECK_MONEY(hm_money_mul(INT64_C(3037000499), INT64_C(3037000499), &v),
				HM_MONEY_OK, v, INT64_C(9223372030926249001));

	/* an error leaves the output alone */
	v = 42;
	(void) hm_money_add(INT64_MAX, 1, &v);
	CHECK(v == 42, "output written on overflow: %" PRId64, v);

	/* commission per subscription tier on a $50,000 sale */
	for (int i = 0; i < 4; i++)
	{
		CHECK_MONEY(hm_money_fee(5000000, tier_bps[i], &v), HM_MONEY_OK, v,
					fee_5m[i]);
		CHECK_MONEY(hm_money_net(5000000, tier_bps[i], &v), HM_MONEY_OK, v,
					5000000 - fee_5m[i]);
	}
	/* odd prices: rounded down to the cent */
	CHECK_MONEY(hm_money_fee(12345, 800, &v), HM_MONEY_OK, v, 987);
	CHECK_MONEY(hm_money_net(12345, 800, &v), HM_MONEY_OK, v, 11358);
	CHECK_MONEY(hm_money_fee(12345, 1000, &v), HM_MONEY_OK, v, 1234);
	CHECK_MONEY(hm_money_fee(12345, 500, &v), HM_MONEY_OK, v, 617);
	CHECK_MONEY(hm_money_fee(12345, 300, &v), HM_MONEY_OK, v, 370);
	CHECK_MONEY(hm_money_fee(999999, 300, &v), HM_MONEY_OK, v, 29999);
	CHECK_MONEY(hm_money_fee(3333, 500, &v), HM_MONEY_OK, v, 166);
	CHECK_MONEY(hm_money_fee(33, 300, &v), HM_MONEY_OK, v, 0);
	CHECK_MONEY(hm_money_fee(1, 1000, &v), HM_MONEY_OK, v, 0);
	CHECK_MONEY(hm_money_fee(0, 800, &v), HM_MONEY_OK, v, 0);
	CHECK_MONEY(hm_money_fee(777, 0, &v), HM_MONEY_OK, v, 0);
	CHECK_MONEY(hm_money_fee(777, 10000, &v), HM_MONEY_OK, v, 777);

	/* the largest price: exact, no intermediate overflow */
	CHECK_MONEY(hm_money_fee(INT64_MAX, 1000, &v), HM_MONEY_OK, v,
				INT64_C(922337203685477580));
	CHECK_MONEY(hm_money_fee(INT64_MAX, 10000, &v), HM_MONEY_OK, v, INT64_MAX);
	CHECK_MONEY(hm_money_fee(INT64_MAX, 9999, &v), HM_MONEY_OK, v,
				INT64_C(9222449699651090329));
	for (int i = 0; i < 4; i++)
	{
		CHECK_MONEY(hm_money_fee(INT64_MAX, tier_bps[i], &v), HM_MONEY_OK, v,
					fee_by_split(INT64_MAX, tier_bps[i]));
		CHECK_MONEY(hm_money_net(INT64_MAX, tier_bps[i], &v), HM_MONEY_OK, v,
					INT64_MAX - fee_by_split(INT64_MAX, tier_bps[i]));
	}

	/* refused arguments */
	CHECK_MONEY(hm_money_fee(-1, 800, &v), HM_MONEY_INVALID_ARGUMENT, v, 0);
	CHECK_MONEY(hm_money_fee(100, -1, &v), HM_MONEY_INVALID_ARGUMENT, v, 0);
	CHECK_MONEY(hm_money_fee(100, 10001, &v), HM_MONEY_INVALID_ARGUMENT, v, 0);
	CHECK_MONEY(hm_money_net(INT64_MIN, 800, &v), HM_MONEY_INVALID_ARGUMENT, v, 0);

	/* random prices: fee matches the split formula and fee + net = price */
	{
		int			bad = 0;

		for (int i = 0; i < 100000; i++)
		{
			int64_t		p = (int64_t) (rnd() >> (1 + rnd() % 63));
			int32_t		bps = (int32_t) rnd_below(HM_BPS_MAX + 1);
			int64_t		fee,
						net;

			if (hm_money_fee(p, bps, &fee) != HM_MONEY_OK ||
				hm_money_net(p, bps, &net) != HM_MONEY_OK ||
				fee != fee_by_split(p, bps) || fee + net != p)
				bad++;
		}
		CHECK(bad == 0, "%d random fees wrong", bad);
	}
}

/* ---- base price by length ---- */

static void
tier_tests(void)
{
	static const hm_price_tier tiers[] = {
		{4, 1000000}, {5, 250000}, {6, 50000}, {7, 5000}
	};
	int64_t		v = 0;
	size_t		bad = 99;

	CHECK(hm_price_tiers_check(tiers, 4, &bad) == HM_MONEY_OK, "tier table refused");
	CHECK_MONEY(hm_base_price(tiers, 4, 3, &v), HM_MONEY_NO_TIER, v, 0);
	CHECK_MONEY(hm_base_price(tiers, 4, 0, &v), HM_MONEY_NO_TIER, v, 0);
	CHECK_MONEY(hm_base_price(tiers, 4, -1, &v), HM_MONEY_INVALID_ARGUMENT, v, 0);
	CHECK_MONEY(hm_base_price(tiers, 4, 4, &v), HM_MONEY_OK, v, 1000000);
	CHECK_MONEY(hm_base_price(tiers, 4, 5, &v), HM_MONEY_OK, v, 250000);
	CHECK_MONEY(hm_base_price(tiers, 4, 6, &v), HM_MONEY_OK, v, 50000);
	CHECK_MONEY(hm_base_price(tiers, 4, 7, &v), HM_MONEY_OK, v, 5000);
	CHECK_MONEY(hm_base_price(tiers, 4, 8, &v), HM_MONEY_OK, v, 5000);
	CHECK_MONEY(hm_base_price(tiers, 4, 64, &v), HM_MONEY_OK, v, 5000);
	CHECK_MONEY(hm_base_price(tiers, 4, INT32_MAX, &v), HM_MONEY_OK, v, 5000);
	CHECK_MONEY(hm_base_price(tiers, 1, 64, &v), HM_MONEY_OK, v, 1000000);

	/* invalid tables, and which row is at fault */
	{
		static const hm_price_tier unsorted[] = {{4, 10}, {6, 5}, {5, 7}};
		static const hm_price_tier dup[] = {{4, 10}, {4, 5}};
		static const hm_price_tier negative[] = {{4, 10}, {5, -1}};
		static const hm_price_tier zero_len[] = {{0, 10}};
		static const hm_price_tier free_ok[] = {{1, 0}};

		CHECK(hm_price_tiers_check(unsorted, 3, &bad) == HM_MONEY_INVALID_TIERS &&
			  bad == 2, "unsorted table: bad row %zu", bad);
		CHECK(hm_price_tiers_check(dup, 2, &bad) == HM_MONEY_INVALID_TIERS &&
			  bad == 1, "duplicate min_length: bad row %zu", bad);
		CHECK(hm_price_tiers_check(negative, 2, &bad) == HM_MONEY_INVALID_TIERS &&
			  bad == 1, "negative price: bad row %zu", bad);
		CHECK(hm_price_tiers_check(zero_len, 1, &bad) == HM_MONEY_INVALID_TIERS &&
			  bad == 0, "min_length 0: bad row %zu", bad);
		CHECK(hm_price_tiers_check(tiers, 0, &bad) == HM_MONEY_INVALID_TIERS,
			  "empty table accepted");
		CHECK(hm_price_tiers_check(NULL, 3, NULL) == HM_MONEY_INVALID_TIERS,
			  "NULL table accepted");
		CHECK_MONEY(hm_base_price(unsorted, 3, 5, &v), HM_MONEY_INVALID_TIERS, v, 0);
		CHECK_MONEY(hm_base_price(free_ok, 1, 1, &v), HM_MONEY_OK, v, 0);
	}
}

/* ---- the decaying premium ---- */

static void
premium_exact_values(void)
{
	/* {S, t, floor(S * 2^(-t/day)), premium over 21 days}, by Python decimal */
	static const int64_t gold[][4] = {
	{INT64_C(5000000), INT64_C(1), INT64_C(4999999), INT64_C(4999997)},	/* frac 1 */
	{INT64_C(5000000), INT64_C(1000000), INT64_C(4999959), INT64_C(4999957)},	/* frac 0.887 */
	{INT64_C(5000000), INT64_C(3600000000), INT64_C(4857659), INT64_C(4857657)},	/* frac 0.706 */
	{INT64_C(5000000), INT64_C(43200000000), INT64_C(3535533), INT64_C(3535531)},	/* frac 0.906 */
	{INT64_C(5000000), INT64_C(129600000000), INT64_C(1767766), INT64_C(1767764)},	/* frac 0.953 */
	{INT64_C(5000000), INT64_C(194400000000), INT64_C(1051120), INT64_C(1051118)},	/* frac 0.519 */
	{INT64_C(5000000), INT64_C(284523456789), INT64_C(510093), INT64_C(510091)},	/* frac 0.114 */
	{INT64_C(5000000), INT64_C(1814399999999), INT64_C(2), INT64_C(0)},	/* frac 0.384 */
	{INT64_C(5000000), INT64_C(1728000000001), INT64_C(4), INT64_C(2)},	/* frac 0.768 */
	{INT64_C(9223372036854775807), INT64_C(1), INT64_C(9223372036780780965), INT64_C(9223367638734269862)},	/* frac 0.304 */
	{INT64_C(9223372036854775807), INT64_C(28800000000), INT64_C(7320595236998672905), INT64_C(7320590838952161802)},	/* frac 0.962 */
	{INT64_C(9223372036854775807), INT64_C(432000000017), INT64_C(288230376112401984), INT64_C(288225978065890881)},	/* frac 0.32 */
	{INT64_C(9223372036854775807), INT64_C(1814399999999), INT64_C(4398046511139), INT64_C(36)},	/* frac 0.283 */
	{INT64_C(123456789012), INT64_C(864000000999), INT64_C(120563269), INT64_C(120504401)},	/* frac 0.553 */
	{INT64_C(1), INT64_C(86399999999), INT64_C(0), INT64_C(0)},	/* frac 0.5 */
	{INT64_C(3), INT64_C(43200000000), INT64_C(2), INT64_C(2)},	/* frac 0.121 */
	};
	int64_t		v = 0;

	CHECK(premium_of(&ens, 0) == 4999998, "premium(0) = %" PRId64, premium_of(&ens, 0));
	CHECK(premium_of(&ens, DAY) == 2499998, "premium(1 day) = %" PRId64, premium_of(&ens, DAY));
	CHECK(premium_of(&ens, 7 * DAY) == 39060, "premium(7 days) = %" PRId64, premium_of(&ens, 7 * DAY));
	CHECK(premium_of(&ens, 21 * DAY) == 0, "premium(21 days) = %" PRId64, premium_of(&ens, 21 * DAY));
	CHECK(premium_of(&ens, 21 * DAY - 1) == 0, "premium(21 days - 1us) = %" PRId64,
		  premium_of(&ens, 21 * DAY - 1));
	CHECK(premium_of(&ens, 22 * DAY) == 0, "premium(22 days) != 0");
	CHECK(premium_of(&ens, INT64_MAX) == 0, "premium(INT64_MAX) != 0");
	CHECK(premium_of(&ens, -1) == 4999998, "premium(-1us) != premium(0)");
	CHECK(premium_of(&ens, INT64_MIN) == 4999998, "premium(INT64_MIN) != premium(0)");

	/* whole days: exactly (S >> k) - (S >> 21), also for odd and huge S */
	{
		static const int64_t starts[] = {S0, 1, 3, 12345678901, INT64_C(1) << 62,
		INT64_MAX};

		for (int j = 0; j < 6; j++)
		{
			hm_premium_curve c = ens;
			int			bad = 0;

			c.start_cents = starts[j];
			for (int k = 0; k <= 21; k++)
				if (premium_of(&c, k * DAY) != (starts[j] >> k) - (starts[j] >> 21))
					bad++;
			CHECK(bad == 0, "S = %" PRId64 ": %d whole days wrong", starts[j], bad);
		}
	}

	for (size_t i = 0; i < sizeof(gold) / sizeof(gold[0]); i++)
	{
		hm_premium_curve c = ens;
		bool		exact = false;

		c.start_cents = gold[i][0];
		CHECK(decay_of(gold[i][0], gold[i][1], DAY, &exact) == gold[i][2] && exact,
			  "floor(%" PRId64 " * 2^-(%" PRId64 "us/1d)) = %" PRId64 " (exact %d), want %" PRId64,
			  gold[i][0], gold[i][1], decay_of(gold[i][0], gold[i][1], DAY, NULL),
			  (int) exact, gold[i][2]);
		CHECK(premium_of(&c, gold[i][1]) == gold[i][3],
			  "premium S=%" PRId64 " t=%" PRId64 ": %" PRId64 ", want %" PRId64,
			  gold[i][0], gold[i][1], premium_of(&c, gold[i][1]), gold[i][3]);
	}

	/* refused curves */
	{
		hm_premium_curve c = ens;

		c.start_cents = -1;
		CHECK_MONEY(hm_premium(&c, 0, &v), HM_MONEY_INVALID_ARGUMENT, v, 0);
		c = ens;
		c.half_life = 0;
		CHECK_MONEY(hm_premium(&c, 0, &v), HM_MONEY_INVALID_ARGUMENT, v, 0);
		c.half_life = -DAY;
		CHECK_MONEY(hm_premium(&c, 0, &v), HM_MONEY_INVALID_ARGUMENT, v, 0);
		c = ens;
		c.window = -1;
		CHECK_MONEY(hm_premium(&c, 0, &v), HM_MONEY_INVALID_ARGUMENT, v, 0);
		CHECK_MONEY(hm_premium(NULL, 0, &v), HM_MONEY_INVALID_ARGUMENT, v, 0);
		c = ens;
		c.window = 0;			/* no premium phase at all */
		CHECK_MONEY(hm_premium(&c, 0, &v), HM_MONEY_OK, v, 0);
		CHECK_MONEY(hm_decay_floor(5, -1, 1, &v, NULL), HM_MONEY_INVALID_ARGUMENT, v, 0);
	}
}

/* every minute of the window, then random points: never rises, certified */
static void
premium_monotone(void)
{
	int			rises = 0,
				inexact = 0,
				out_of_range = 0;
	int64_t		prev = INT64_MAX;

	for (int64_t t = 0; t <= 21 * DAY; t += 60 * INT64_C(1000000))
	{
		int64_t		p = premium_of(&ens, t);
		bool		exact;

		(void) decay_of(S0, t, DAY, &exact);
		inexact += !exact;
		rises += p > prev;
		out_of_range += p < 0 || p > S0;
		prev = p;
	}
	CHECK(rises == 0 && inexact == 0 && out_of_range == 0,
		  "minute sweep: %d rises, %d not certified exact, %d out of range",
		  rises, inexact, out_of_range);

	/* random pairs, default and random curves; t1 <= t2 must not rise */
	rises = inexact = out_of_range = 0;
	for (int i = 0; i < 200000; i++)
	{
		hm_premium_curve c = ens;
		int64_t		t1,
					t2,
					p1,
					p2;

		if (i % 2)
		{
			c.start_cents = (int64_t) (rnd() >> (1 + rnd() % 63));
			c.half_life = 1 + rnd_below(i % 4 ? 10 * DAY : 1000);
			c.window = rnd_below(40 * c.half_life + 1);
		}
		t1 = rnd_below(c.window + 2);
		t2 = t1 + (rnd() % 3 ? rnd_below(1000) : rnd_below(c.window + 1));
		p1 = premium_of(&c, t1);
		p2 = premium_of(&c, t2);
		rises += p2 > p1;
		out_of_range += p1 < 0 || p1 > c.start_cents;
	}
	CHECK(rises == 0 && out_of_range == 0,
		  "random pairs: %d rises, %d out of range", rises, out_of_range);

	/* across a whole half-life, where the method switches to a shift */
	rises = 0;
	for (int64_t k = 0; k < 21; k++)
		for (int64_t d = -3; d <= 3; d++)
		{
			int64_t		t = (k + 1) * DAY + d;

			rises += premium_of(&ens, t) > premium_of(&ens, t - 1);
		}
	CHECK(rises == 0, "%d rises at whole days", rises);
}

/*
 * Exact check without any approximation, for small H: v = floor(S*2^(-t/H))
 * iff v^H * 2^t <= S^H < (v+1)^H * 2^t.  S and t are chosen so that every
 * number stays below 2^127.
 */
static u128
sat_pow_shift(u128 base, int e, int shift)
{
	const u128	cap = (u128) 1 << 126;
	u128		r = 1;

	for (int i = 0; i < e; i++)
	{
		if (base != 0 && r > cap / base)
			return cap;
		r *= base;
	}
	for (int i = 0; i < shift; i++)
		r = r > cap / 2 ? cap : r * 2;
	return r;
}

static void
premium_exact_small_h(void)
{
	static const int max_bits[] = {0, 60, 58, 38, 28, 22, 18, 15, 13};
	int			wrong = 0,
				checked = 0;

	for (int h = 1; h <= 8; h++)
		for (int i = 0; i < 3000; i++)
		{
			int64_t		s = (int64_t) (rnd() >> (64 - max_bits[h]));
			int			t = (int) rnd_below(h * (max_bits[h] + 2));
			int64_t		v = decay_of(s, t, h, NULL);
			u128		sh;

			if (t > 100)
				continue;
			sh = sat_pow_shift((u128) s, h, 0);
			checked++;
			if (v < 0 || v > s ||
				sat_pow_shift((u128) v, h, t) > sh ||
				sat_pow_shift((u128) v + 1, h, t) <= sh)
			{
				wrong++;
				if (wrong <= 5)
					printf("  floor(%" PRId64 " * 2^(-%d/%d)) gave %" PRId64 "\n",
						   s, t, h, v);
			}
		}
	CHECK(wrong == 0, "%d of %d exact small-H checks wrong", wrong, checked);
}

/*
 * long double reference (64-bit mantissa) on random points with S up to
 * 2^40: compared where the reference's floor is unambiguous (skipped: the
 * few points where S * 2^(-t/H) is an integer, at whole half-lives).
 */
static void
premium_long_double(void)
{
	int			wrong = 0,
				checked = 0,
				skipped = 0,
				inexact = 0;

	for (int i = 0; i < 200000; i++)
	{
		int64_t		s = (int64_t) (rnd() >> (24 + rnd() % 40));
		int64_t		h = i % 2 ? DAY : 1 + rnd_below(30 * DAY);
		int64_t		t = rnd_below(22 * h);
		long double ref = (long double) s * exp2l(-((long double) t / h));
		/* exp2l and the division are good to a few ulp: 2^-50 is ample */
		long double margin = ldexpl(ref, -50);
		bool		exact;
		int64_t		v = decay_of(s, t, h, &exact);

		inexact += !exact;
		if (floorl(ref - margin) != floorl(ref + margin))
		{
			skipped++;
			continue;
		}
		checked++;
		if ((long double) v != floorl(ref))
		{
			wrong++;
			if (wrong <= 5)
				printf("  floor(%" PRId64 " * 2^(-%" PRId64 "/%" PRId64 ")) = %" PRId64
					   ", long double says %.6Lf\n", s, t, h, v, ref);
		}
	}
	CHECK(wrong == 0 && inexact == 0 && skipped < 1000,
		  "long double: %d wrong of %d, %d skipped, %d not certified",
		  wrong, checked, skipped, inexact);
}

/* huge S, t and H: never fails, never leaves [0, S], never rises */
static void
premium_large_s(void)
{
	static const int64_t specials[] = {0, 1, 2, INT64_MAX, INT64_MAX - 1,
	INT64_C(1) << 62, INT64_MIN, -1};
	int			bad = 0,
				inexact = 0;

	for (int i = 0; i < 200000; i++)
	{
		hm_premium_curve c;
		int64_t		t = i % 5 == 0 ? specials[rnd() % 8] : (int64_t) rnd();
		int64_t		t2 = t + rnd_below(INT64_MAX - (t > 0 ? t : 0));
		int64_t		p,
					p2,
					d;
		bool		exact;

		c.start_cents = i % 3 == 0 ? INT64_MAX - rnd_below(1000) : (int64_t) (rnd() >> 1);
		c.half_life = i % 7 == 0 ? specials[3 + rnd() % 3] : 1 + (int64_t) (rnd() >> (1 + rnd() % 63));
		c.window = i % 11 == 0 ? INT64_MAX : (int64_t) (rnd() >> (1 + rnd() % 63));
		if (hm_premium(&c, t, &p) != HM_MONEY_OK ||
			hm_premium(&c, t2, &p2) != HM_MONEY_OK ||
			p < 0 || p > c.start_cents || p2 > p)
			bad++;
		if (hm_decay_floor(c.start_cents, t < 0 ? 0 : t, c.half_life, &d, &exact) != HM_MONEY_OK ||
			d < 0 || d > c.start_cents)
			bad++;
		inexact += !exact;
	}
	CHECK(bad == 0, "large S: %d failures", bad);
	printf("  large S: %d of 200000 random points not certified exact\n", inexact);
}

/*
 * The kernel's constants, independently: c_i = 2^(-2^-i) squared is
 * c_(i-1) (c_0 = 1/2), checked on all 128 bits with 32-bit limbs; and the
 * top 64 bits against exp2l.
 */
static u128
mul_hi_32(u128 a, u128 b)
{
	uint32_t	x[4],
				y[4];
	uint64_t	z[8] = {0};

	for (int i = 0; i < 4; i++)
	{
		x[i] = (uint32_t) (a >> (32 * i));
		y[i] = (uint32_t) (b >> (32 * i));
	}
	for (int i = 0; i < 4; i++)
	{
		uint64_t	carry = 0;

		for (int j = 0; j < 4; j++)
		{
			uint64_t	cur = (uint64_t) x[i] * y[j] + z[i + j] + carry;

			z[i + j] = (uint32_t) cur;
			carry = cur >> 32;
		}
		z[i + 4] += carry;
	}
	return ((u128) (z[7] << 32 | z[6]) << 64) | (z[5] << 32 | z[4]);
}

static void
table_tests(void)
{
	int			bad = 0;
	u128		prev = (u128) 1 << 127;	/* c_0 = 2^-1 */

	for (int i = 1; i <= HM_DECAY_FRAC_BITS; i++)
	{
		u128		c = ((u128) hm_decay_pow2_table[i - 1][0] << 64) |
			hm_decay_pow2_table[i - 1][1];
		u128		sq = mul_hi_32(c, c);
		long double ref = ldexpl(exp2l(-ldexpl(1, -i)), 64);
		long double diff = (long double) hm_decay_pow2_table[i - 1][0] - ref;

		/* floor(c)^2 lies in (c^2 - 2 ulp, c^2], minus 1 for the floor */
		if (sq > prev || prev - sq > 3 || diff > 2 || diff < -2)
		{
			bad++;
			printf("  table row %d\n", i);
		}
		prev = c;
	}
	CHECK(bad == 0, "%d table rows wrong", bad);
}

static void
price_tests(void)
{
	static const hm_price_tier tiers[] = {
		{4, 1000000}, {5, 250000}, {6, 50000}, {7, 5000}
	};
	static const hm_price_tier huge[] = {{1, INT64_MAX}};
	int64_t		v = 0;

	CHECK_MONEY(hm_released_price(tiers, 4, 4, &ens, 0, &v), HM_MONEY_OK, v, 5999998);
	CHECK_MONEY(hm_released_price(tiers, 4, 7, &ens, 3 * DAY, &v), HM_MONEY_OK, v,
				5000 + 625000 - 2);
	CHECK_MONEY(hm_released_price(tiers, 4, 5, &ens, 21 * DAY, &v), HM_MONEY_OK, v, 250000);
	CHECK_MONEY(hm_released_price(tiers, 4, 6, NULL, 0, &v), HM_MONEY_OK, v, 50000);
	CHECK_MONEY(hm_released_price(tiers, 4, 3, &ens, 0, &v), HM_MONEY_NO_TIER, v, 0);
	CHECK_MONEY(hm_released_price(huge, 1, 9, &ens, 0, &v), HM_MONEY_OVERFLOW, v, 0);
	CHECK_MONEY(hm_released_price(huge, 1, 9, &ens, 21 * DAY, &v), HM_MONEY_OK, v, INT64_MAX);

	CHECK(hm_elapsed(10, 15) == 5, "hm_elapsed(10, 15)");
	CHECK(hm_elapsed(15, 10) == -5, "hm_elapsed(15, 10)");
	CHECK(hm_elapsed(INT64_MIN, INT64_MAX) == INT64_MAX, "hm_elapsed saturates up");
	CHECK(hm_elapsed(INT64_MAX, INT64_MIN) == INT64_MIN, "hm_elapsed saturates down");
	CHECK(hm_money_status_text(HM_MONEY_OVERFLOW)[0] != '\0', "status text");
}

int
main(void)
{
	money_tests();
	format_tests();
	tier_tests();
	table_tests();
	premium_exact_values();
	premium_monotone();
	premium_exact_small_h();
	premium_long_double();
	premium_large_s();
	price_tests();

	printf("pricing: %d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
