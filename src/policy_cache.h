/*
 * src/policy_cache.h
 *	  What the hot paths read, kept per backend (policy_cache.c): the
 *	  policy and pricing versions, the premium list, and where price() and
 *	  touch() find their tables, all under one invalidation scheme.
 *
 * Each copy is an HmCached: valid until one of the relations it was read
 * from changes (a relcache callback; the configuration tables' statement
 * triggers, policy_changed(), send that invalidation), and, when it was
 * read in parallel mode, only until the transaction ends (it was read with
 * the query's snapshot, and a change committed after that snapshot may
 * have been announced already).
 */
#ifndef HM_POLICY_CACHE_H
#define HM_POLICY_CACHE_H

#include "handle_market.h"

#include "utils/relcache.h"

#include "core/lifecycle.h"
#include "core/pricing.h"
#include "core/profiles.h"

#define HM_CACHED_RELS 8

/* A per-backend copy and what drops it (see above) */
typedef struct HmCached
{
	bool		valid;
	bool		transient;		/* read in parallel mode: ends with the transaction */
	int			nrels;
	Oid			rels[HM_CACHED_RELS];	/* a change to any of them drops the copy */
} HmCached;

/*
 * hm_cache_watch registers a copy with the callbacks (at most once; before
 * its first read, so that no invalidation is missed); hm_cache_set records
 * the relations it was read from, and the copy is valid from then on.
 */
extern void hm_cache_watch(HmCached *cache);
extern void hm_cache_set(HmCached *cache, int nrels, const Oid *rels);

/*
 * Where price() reads, found by name in the schema of the function called,
 * with the columns it needs.
 */
typedef struct PriceRelations
{
	HmCached	cache;
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
	/* touch_resolution for touch()'s arithmetic in microseconds (touch.c) */
	bool		touch_exact;	/* touch_usecs holds it */
	bool		touch_has_days; /* it has a day part */
	int64		touch_usecs;
	int64		touch_time_part;	/* its time part alone */
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

/*
 * Makes the copy of the policy versions current, read from the table
 * policy_relid (touch(), which needs nothing else).
 */
extern void hm_policy_prepare(Oid policy_relid);

/* The version in force at t (an error if none, or NULL: _find), or by number */
extern const PolicyVersion *hm_policy_version_at(TimestampTz t);
extern const PolicyVersion *hm_policy_version_find(TimestampTz t);
extern const PolicyVersion *hm_policy_version(int32 version);
extern const PricingVersion *hm_pricing_version_at(TimestampTz t);

/* When the next pricing version after t begins, or HM_TIME_MAX */
extern TimestampTz hm_next_pricing_after(TimestampTz t);

/* The premium list's entry for a canonical handle, or NULL */
extern const PremiumEntry *hm_premium_entry(const text *handle);

#endif
