/*
 * src/core/decay.c
 *	  floor(S * 2^(-t/H)) exactly, in integers.
 *
 * Method.  Write t = q*H + r with 0 <= r < H.  Since 2^q is an integer,
 * floor(S * 2^(-t/H)) = floor(S * 2^(-r/H)) >> q, so the whole half-lives
 * are an exact shift and only y = 2^(-x), x = r/H in [0, 1), needs care.
 * (r = 0 gives exactly S >> q; q >= 63 gives 0 because S < 2^63.)
 *
 * 1. The first K = 112 binary digits of x = 0.b1 b2 ... bK come from exact
 *    integer division: X = floor(r * 2^K / H).
 * 2. y(X) = 2^(-X/2^K) is the product of the constants c_i = 2^(-2^-i) over
 *    the digits b_i that are 1.  The c_i are stored rounded down to 128
 *    fraction bits (unit u = 2^-128) and every product is rounded down, so
 *    the computed P satisfies y(X) - 2m*u < P <= y(X) after m <= K factors
 *    (each step loses < 1 u to the constant and < 1 u to the rounding, as
 *    every value is <= 1).  So y(X) - 224u < P <= y(X).
 * 3. The true y lies in (y(X) * 2^(-2^-K), y(X)], and 2^(-2^-K) > 1 - 2^-K,
 *    so  P - 2^16 u < y <= P + 224u  (P < 1, 2^16 u = 2^-K).
 * 4. Let lo = floor(S * (P - 2^16 u)) and hi = floor(S * (P + 256u)).  By
 *    step 3, lo <= floor(S * y) <= hi, and hi - lo <= 1.  The answer is
 *    max(lo, floor(S / 2)) >> q (y > 1/2, so floor(S / 2) is a lower bound
 *    too).  It is certified exact when lo >> q == hi >> q.  Otherwise S * y
 *    is within S * 2^-112 (<= 2^-49) of an integer and the answer may be one
 *    cent below the true floor, never above it: a buyer is never
 *    overcharged.  (For r > 0, S * 2^(-r/H) is irrational, so it is never
 *    exactly an integer; the unit tests check that the certificate holds for
 *    the default S = 5,000,000 at every minute of the window.)
 *
 * Monotone.  Consecutive X differ in y(X) by at least
 * y(X) * (1 - 2^(-2^-K)) > (1/2) * 0.69 * 2^-112 > 2^-114, far more than
 * the 224u = 2^-120.2 error of P, so P(X + 1) <= y(X + 1) < y(X) - 224u <
 * P(X): the computed P is strictly decreasing in X, X is non-decreasing in
 * r, and floor, max with a constant and >> keep the order.  Across whole
 * half-lives the max makes the answer at least floor(S / 2) >> q =
 * S >> (q + 1), the value at the next whole half-life.  So the result is
 * non-increasing in t even where it is not certified exact.
 *
 * Only integer operations, so the result is the same everywhere.
 * The table was made with Python's decimal module at 120 digits:
 *   c = (-(Decimal(2).ln() / Decimal(2) ** i)).exp()
 *   floor(c * 2 ** 128)                                 for i in 1..112
 */
#include "decay.h"

#ifndef __SIZEOF_INT128__
#error "handle_market needs a compiler with __int128 (gcc or clang, 64-bit)"
#endif

__extension__ typedef unsigned __int128 u128;

/* 2^-K in units u = 2^-128: how far step 3 lets y fall below P */
#define TRUNC_GAP ((u128) 1 << (128 - HM_DECAY_FRAC_BITS))
/* at least the 2K = 224 units P may lie below y(X) (step 2) */
#define ROUND_SLACK 256

const uint64_t hm_decay_pow2_table[HM_DECAY_FRAC_BITS][2] = {
	{0xb504f333f9de6484ULL, 0x597d89b3754abe9fULL},	/* 1 */
	{0xd744fccad69d6af4ULL, 0x39a68bb9902d3fdeULL},	/* 2 */
	{0xeac0c6e7dd24392eULL, 0xd02d75b3706e54faULL},	/* 3 */
	{0xf5257d152486cc2cULL, 0x7b9d0c7aed980fc3ULL},	/* 4 */
	{0xfa83b2db722a033aULL, 0x7c25bb14315d7fccULL},	/* 5 */
	{0xfd3e0c0cf486c174ULL, 0x853f3a5931e0ee03ULL},	/* 6 */
	{0xfe9e115c7b8f884bULL, 0xadd25995e79d2f09ULL},	/* 7 */
	{0xff4ecb59511ec8a5ULL, 0x301ba217ef18dd7cULL},	/* 8 */
	{0xffa756521c8daed1ULL, 0x9f3a1b48fb94c589ULL},	/* 9 */
	{0xffd3a751c0f7e10bULL, 0xd3b9f8ae012fbe06ULL},	/* 10 */
	{0xffe9d2b2f7db2755ULL, 0xddf1d28a378a438cULL},	/* 11 */
	{0xfff4e91bff1b8c3dULL, 0x88338e0ebf284a4dULL},	/* 12 */
	{0xfffa747ea0040664ULL, 0x238f92f792405805ULL},	/* 13 */
	{0xfffd3a3b7814eb53ULL, 0xcd7629d70fea116aULL},	/* 14 */
	{0xfffe9d1cc60ddab1ULL, 0x26de1aec4a87e7b8ULL},	/* 15 */
	{0xffff4e8e25879bfaULL, 0x09ea263360240c1aULL},	/* 16 */
	{0xffffa7470363f451ULL, 0x5426d76c762b6b61ULL},	/* 17 */
	{0xffffd3a37dda0313ULL, 0x3bde87a8379c8932ULL},	/* 18 */
	{0xffffe9d1bdf703aeULL, 0xf21ea4dcfb0682d8ULL},	/* 19 */
	{0xfffff4e8debe025eULL, 0x24128a3d460731f1ULL},	/* 20 */
	{0xfffffa746f4fa150ULL, 0x6788fbc89750bf71ULL},	/* 21 */
	{0xfffffd3a37a3f8b0ULL, 0x7e7c4871dc00d76eULL},	/* 22 */
	{0xfffffe9d1bd1065aULL, 0x50971275792f1c83ULL},	/* 23 */
	{0xffffff4e8de845adULL, 0xac77243cd0914b37ULL},	/* 24 */
	{0xffffffa746f41376ULL, 0xf74124cd483186d4ULL},	/* 25 */
	{0xffffffd3a37a05e3ULL, 0x83e14c90273c94f5ULL},	/* 26 */
	{0xffffffe9d1bd01fbULL, 0xc400bf822dc936b5ULL},	/* 27 */
	{0xfffffff4e8de80c0ULL, 0x62846365949b61afULL},	/* 28 */
	{0xfffffffa746f4050ULL, 0xd1633246a8a0e09aULL},	/* 29 */
	{0xfffffffd3a37a024ULL, 0x90b9d93da3c1ebcfULL},	/* 30 */
	{0xfffffffe9d1bd011ULL, 0x525efca410b8eab7ULL},	/* 31 */
	{0xffffffff4e8de808ULL, 0x6bb002532d71e54dULL},	/* 32 */
	{0xffffffffa746f404ULL, 0x26782229daaa3cfaULL},	/* 33 */
	{0xffffffffd3a37a02ULL, 0x0f641954fda6eeddULL},	/* 34 */
	{0xffffffffe9d1bd01ULL, 0x06bc0eba82d29b40ULL},	/* 35 */
	{0xfffffffff4e8de80ULL, 0x832087e142666c8bULL},	/* 36 */
	{0xfffffffffa746f40ULL, 0x4180e411a17228bfULL},	/* 37 */
	{0xfffffffffd3a37a0ULL, 0x20bc9a1110c8c656ULL},	/* 38 */
	{0xfffffffffe9d1bd0ULL, 0x105d570a98684e53ULL},	/* 39 */
	{0xffffffffff4e8de8ULL, 0x082e6e05d03521c9ULL},	/* 40 */
	{0xffffffffffa746f4ULL, 0x041727a3091acf87ULL},	/* 41 */
	{0xffffffffffd3a37aULL, 0x020b8ff98ccd776bULL},	/* 42 */
	{0xffffffffffe9d1bdULL, 0x0105c706c876bf9fULL},	/* 43 */
	{0xfffffffffff4e8deULL, 0x8082e345e4bf60caULL},	/* 44 */
	{0xfffffffffffa746fULL, 0x404171939280b0a3ULL},	/* 45 */
	{0xfffffffffffd3a37ULL, 0xa020b8c5f1489861ULL},	/* 46 */
	{0xfffffffffffe9d1bULL, 0xd0105c6202a65c34ULL},	/* 47 */
	{0xffffffffffff4e8dULL, 0xe8082e30c3d3b21bULL},	/* 48 */
	{0xffffffffffffa746ULL, 0xf40417185289fa0dULL},	/* 49 */
	{0xffffffffffffd3a3ULL, 0x7a020b8c256d0547ULL},	/* 50 */
	{0xffffffffffffe9d1ULL, 0xbd0105c611c084b3ULL},	/* 51 */
	{0xfffffffffffff4e8ULL, 0xde8082e308a2c2ddULL},	/* 52 */
	{0xfffffffffffffa74ULL, 0x6f4041718442018fULL},	/* 53 */
	{0xfffffffffffffd3aULL, 0x37a020b8c21d28d0ULL},	/* 54 */
	{0xfffffffffffffe9dULL, 0x1bd0105c610d9e6aULL},	/* 55 */
	{0xffffffffffffff4eULL, 0x8de8082e308691b5ULL},	/* 56 */
	{0xffffffffffffffa7ULL, 0x46f404171843397aULL},	/* 57 */
	{0xffffffffffffffd3ULL, 0xa37a020b8c2198e5ULL},	/* 58 */
	{0xffffffffffffffe9ULL, 0xd1bd0105c610cb7cULL},	/* 59 */
	{0xfffffffffffffff4ULL, 0xe8de8082e3086580ULL},	/* 60 */
	{0xfffffffffffffffaULL, 0x746f4041718432b1ULL},	/* 61 */
	{0xfffffffffffffffdULL, 0x3a37a020b8c21954ULL},	/* 62 */
	{0xfffffffffffffffeULL, 0x9d1bd0105c610ca9ULL},	/* 63 */
	{0xffffffffffffffffULL, 0x4e8de8082e308654ULL},	/* 64 */
	{0xffffffffffffffffULL, 0xa746f4041718432aULL},	/* 65 */
	{0xffffffffffffffffULL, 0xd3a37a020b8c2195ULL},	/* 66 */
	{0xffffffffffffffffULL, 0xe9d1bd0105c610caULL},	/* 67 */
	{0xffffffffffffffffULL, 0xf4e8de8082e30865ULL},	/* 68 */
	{0xffffffffffffffffULL, 0xfa746f4041718432ULL},	/* 69 */
	{0xffffffffffffffffULL, 0xfd3a37a020b8c219ULL},	/* 70 */
	{0xffffffffffffffffULL, 0xfe9d1bd0105c610cULL},	/* 71 */
	{0xffffffffffffffffULL, 0xff4e8de8082e3086ULL},	/* 72 */
	{0xffffffffffffffffULL, 0xffa746f404171843ULL},	/* 73 */
	{0xffffffffffffffffULL, 0xffd3a37a020b8c21ULL},	/* 74 */
	{0xffffffffffffffffULL, 0xffe9d1bd0105c610ULL},	/* 75 */
	{0xffffffffffffffffULL, 0xfff4e8de8082e308ULL},	/* 76 */
	{0xffffffffffffffffULL, 0xfffa746f40417184ULL},	/* 77 */
	{0xffffffffffffffffULL, 0xfffd3a37a020b8c2ULL},	/* 78 */
	{0xffffffffffffffffULL, 0xfffe9d1bd0105c61ULL},	/* 79 */
	{0xffffffffffffffffULL, 0xffff4e8de8082e30ULL},	/* 80 */
	{0xffffffffffffffffULL, 0xffffa746f4041718ULL},	/* 81 */
	{0xffffffffffffffffULL, 0xffffd3a37a020b8cULL},	/* 82 */
	{0xffffffffffffffffULL, 0xffffe9d1bd0105c6ULL},	/* 83 */
	{0xffffffffffffffffULL, 0xfffff4e8de8082e3ULL},	/* 84 */
	{0xffffffffffffffffULL, 0xfffffa746f404171ULL},	/* 85 */
	{0xffffffffffffffffULL, 0xfffffd3a37a020b8ULL},	/* 86 */
	{0xffffffffffffffffULL, 0xfffffe9d1bd0105cULL},	/* 87 */
	{0xffffffffffffffffULL, 0xffffff4e8de8082eULL},	/* 88 */
	{0xffffffffffffffffULL, 0xffffffa746f40417ULL},	/* 89 */
	{0xffffffffffffffffULL, 0xffffffd3a37a020bULL},	/* 90 */
	{0xffffffffffffffffULL, 0xffffffe9d1bd0105ULL},	/* 91 */
	{0xffffffffffffffffULL, 0xfffffff4e8de8082ULL},	/* 92 */
	{0xffffffffffffffffULL, 0xfffffffa746f4041ULL},	/* 93 */
	{0xffffffffffffffffULL, 0xfffffffd3a37a020ULL},	/* 94 */
	{0xffffffffffffffffULL, 0xfffffffe9d1bd010ULL},	/* 95 */
	{0xffffffffffffffffULL, 0xffffffff4e8de808ULL},	/* 96 */
	{0xffffffffffffffffULL, 0xffffffffa746f404ULL},	/* 97 */
	{0xffffffffffffffffULL, 0xffffffffd3a37a02ULL},	/* 98 */
	{0xffffffffffffffffULL, 0xffffffffe9d1bd01ULL},	/* 99 */
	{0xffffffffffffffffULL, 0xfffffffff4e8de80ULL},	/* 100 */
	{0xffffffffffffffffULL, 0xfffffffffa746f40ULL},	/* 101 */
	{0xffffffffffffffffULL, 0xfffffffffd3a37a0ULL},	/* 102 */
	{0xffffffffffffffffULL, 0xfffffffffe9d1bd0ULL},	/* 103 */
	{0xffffffffffffffffULL, 0xffffffffff4e8de8ULL},	/* 104 */
	{0xffffffffffffffffULL, 0xffffffffffa746f4ULL},	/* 105 */
	{0xffffffffffffffffULL, 0xffffffffffd3a37aULL},	/* 106 */
	{0xffffffffffffffffULL, 0xffffffffffe9d1bdULL},	/* 107 */
	{0xffffffffffffffffULL, 0xfffffffffff4e8deULL},	/* 108 */
	{0xffffffffffffffffULL, 0xfffffffffffa746fULL},	/* 109 */
	{0xffffffffffffffffULL, 0xfffffffffffd3a37ULL},	/* 110 */
	{0xffffffffffffffffULL, 0xfffffffffffe9d1bULL},	/* 111 */
	{0xffffffffffffffffULL, 0xffffffffffff4e8dULL},	/* 112 */
};

/* floor(a * b / 2^128), exactly, for a, b < 2^128 */
static u128
mul_hi(u128 a, u128 b)
{
	u128		a1 = a >> 64,
				a0 = (uint64_t) a,
				b1 = b >> 64,
				b0 = (uint64_t) b;
	u128		p00 = a0 * b0,
				p01 = a0 * b1,
				p10 = a1 * b0;
	/* the carry out of the low 128 bits of the full product */
	u128		mid = (p00 >> 64) + (uint64_t) p01 + (uint64_t) p10;

	return a1 * b1 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
}

/* floor(s * p / 2^128) for s < 2^63, p < 2^128; the result is < s + 1 */
static uint64_t
scale(uint64_t s, u128 p)
{
	u128		hi = (u128) s * (uint64_t) (p >> 64);
	u128		lo = (u128) s * (uint64_t) p;

	return (uint64_t) ((hi + (lo >> 64)) >> 64);
}

hm_money_status
hm_decay_floor(int64_t s, int64_t t, int64_t h, int64_t *out, bool *exact)
{
	int64_t		q,
				r;
	uint64_t	digits[2],
				lo,
				hi;
	u128		num,
				p = 0;
	bool		one = true;

	if (s < 0 || t < 0 || h <= 0)
		return HM_MONEY_INVALID_ARGUMENT;
	q = t / h;
	r = t % h;
	if (exact)
		*exact = true;
	if (q >= 63)
	{
		*out = 0;				/* S * 2^-q < 2^63 * 2^-63 = 1 */
		return HM_MONEY_OK;
	}
	if (r == 0)
	{
		*out = s >> q;
		return HM_MONEY_OK;
	}

	/*
	 * Step 1: X = floor(r * 2^112 / H) in two exact divisions, the first 64
	 * digits, then the next 48 from the remainder (r < H < 2^63 keeps both
	 * quotients and the remainder times 2^48 in range).  A bit-at-a-time
	 * long division would be as exact, but mispredicted branches made it
	 * three times slower.
	 */
	num = (u128) r << 64;
	digits[0] = (uint64_t) (num / (uint64_t) h);
	num = (num % (uint64_t) h) << (HM_DECAY_FRAC_BITS - 64);
	digits[1] = (uint64_t) (num / (uint64_t) h) << (128 - HM_DECAY_FRAC_BITS);

	/*
	 * Step 2: one factor per 1 digit, most significant first.  Digit i
	 * (1-based) is bit 64 - i of digits[0] or 128 - i of digits[1] (shifted
	 * to the top).  r >= 1 and H < 2^63 make digits[0] non-zero, so P is set.
	 */
	for (int w = 0; w < 2; w++)
	{
		uint64_t	d = digits[w];

		while (d != 0)
		{
			int			z = __builtin_clzll(d);
			const uint64_t *row = hm_decay_pow2_table[64 * w + z];
			u128		c = ((u128) row[0] << 64) | row[1];

			p = one ? c : mul_hi(p, c);
			one = false;
			d &= ~(UINT64_C(1) << (63 - z));
		}
	}

	/*
	 * Steps 3 and 4.  P > 2^127 (y > 1/2), so P - TRUNC_GAP does not wrap;
	 * X >= 1, so P <= y(X) <= 2^(-2^-112) < 1 - 2^-113 = (2^128 - 2^15) u
	 * and P + ROUND_SLACK stays < 2^128.
	 */
	lo = scale((uint64_t) s, p - TRUNC_GAP);
	hi = scale((uint64_t) s, p + ROUND_SLACK);
	if (exact)
		*exact = (lo >> q) == (hi >> q);
	if (lo < (uint64_t) s >> 1)
		lo = (uint64_t) s >> 1;
	*out = (int64_t) (lo >> q);
	return HM_MONEY_OK;
}
