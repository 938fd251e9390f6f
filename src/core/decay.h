/*
 * src/core/decay.h
 *	  floor(S * 2^(-t/H)) in pure integer arithmetic, for the ENS-style
 *	  decaying premium (pricing.h).  No floating point, so the answer is the
 *	  same bit for bit on every platform and compiler.
 */
#ifndef HM_CORE_DECAY_H
#define HM_CORE_DECAY_H

#include <stdbool.h>
#include <stdint.h>

#include "money.h"

/* Fraction bits of t/H used by the fixed-point kernel (see decay.c). */
#define HM_DECAY_FRAC_BITS 112

/*
 * *out = floor(s * 2^(-t/h)) for s >= 0, t >= 0, h > 0 (otherwise
 * HM_MONEY_INVALID_ARGUMENT).  The result is exact, and *exact (if not NULL)
 * is set to true, except when s * 2^(-t/h) lies within about s * 2^-112 of
 * an integer (within 2^-49 even for s = INT64_MAX); then *exact is false and
 * *out may be one less than the true floor, never more.  In every case the
 * result is in [0, s], and for fixed s and h it is non-increasing in t.
 */
hm_money_status hm_decay_floor(int64_t s, int64_t t, int64_t h,
							   int64_t *out, bool *exact);

/*
 * The constants of the kernel, floor(2^128 * 2^(-2^-i)) for i = 1..112 as
 * {high 64 bits, low 64 bits}; row i-1 holds i.  Exposed for the unit
 * tests, which check them independently.
 */
extern const uint64_t hm_decay_pow2_table[HM_DECAY_FRAC_BITS][2];

#endif
