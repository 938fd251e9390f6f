/*
 * src/pricing_cache.h
 *	  What price() reads, kept per backend: the relations it reads, the
 *	  policy and pricing versions, and the premium list (pricing_cache.c).
 */
#ifndef HM_PRICING_CACHE_H
#define HM_PRICING_CACHE_H

#include "handle_market.h"

#include "utils/relcache.h"

#include "core/lifecycle.h"
#include "core/pricing.h"
#include "core/profiles.h"

/*
 * Where price() reads, found by name in the schema of the function called,
 * with the columns it needs.  The relcache callback clears valid.
 */
typedef struct PriceRelations
{
	bool		valid;
	Oid			nsp;
	Oid			handles;
	Oid			handles_pkey;
	Oid			premium;
	Oid			reserved;
	Oid			policy;
	Oid			pricing;
	Oid			tiers;
	RegProcedure handle_eq;		/* the btree equality of the handle type */
	AttrNumber	h_handle,
				h_owner,
				h_state,
				h_released_at,
				h_policy_version,
				h_hold,
				h_list_price,
				h_locked_until;
	AttrNumber	r_key,
				r_kind,
				r_reason;
} PriceRelations;

typedef struct PolicyVersion
{
	int32		version;
	TimestampTz effective_from;
	hm_release_periods periods;
	hm_profile	profile;
	char		profile_name[16];
	Interval	transfer_lock;	/* as stored: added to times in SQL */
	Interval	touch_resolution;
} PolicyVersion;

typedef struct PricingVersion
{
	int32		version;
	TimestampTz effective_from;
	int64		premium_start;
	int64		half_life;
	int64		priority_price;
	int			ntiers;
	hm_price_tier *tiers;		/* by min_length */
} PricingVersion;

/*
 * The premium list, sorted by handle.  It is short (the handles a platform
 * sells itself) and read by nearly every call of price() for a handle
 * nobody holds, so a copy saves the second index probe of most calls.
 */
typedef struct PremiumEntry
{
	char	   *handle;			/* canonical UTF-8, as stored */
	int			len;
	bool		has_price;		/* else the version's priority price */
	int64		price;
	char	   *category;
} PremiumEntry;

extern PriceRelations hm_price_rels;

/*
 * Makes the relations and the caches current for the extension in schema
 * nsp, and returns handles, locked with its primary key until the
 * transaction ends.  Until the caller returns, nothing reloads a cache, so
 * the pointers below stay good.
 */
extern Relation hm_price_prepare(Oid nsp);

/* The version in force at t (an error if none), or by number */
extern const PolicyVersion *hm_policy_version_at(TimestampTz t);
extern const PolicyVersion *hm_policy_version(int32 version);
extern const PricingVersion *hm_pricing_version_at(TimestampTz t);

/* When the next pricing version after t begins, or HM_TIME_MAX */
extern TimestampTz hm_next_pricing_after(TimestampTz t);

/* The premium list's entry for a canonical handle, or NULL */
extern const PremiumEntry *hm_premium_entry(const text *handle);

#endif
