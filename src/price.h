/*
 * src/price.h
 *	  The price of one handle at a time, with the parts that explain it
 *	  (pricing_sql.c), and the quote built from them (quote.c): what price(),
 *	  _price_parts(), quote() and buy() share.
 */
#ifndef HM_PRICE_H
#define HM_PRICE_H

#include "handle_market.h"

#include "utils/snapshot.h"

#include "policy_cache.h"

/* Where the price comes from; the names are what _price_parts returns */
typedef enum PriceSource
{
	SRC_HELD,					/* a legal hold freezes it */
	SRC_OWNED,					/* registered or at risk, not listed */
	SRC_LISTED,					/* its owner's fixed-price listing */
	SRC_REDEMPTION,
	SRC_QUARANTINE,
	SRC_PREMIUM,				/* released: base + decaying premium */
	SRC_AVAILABLE,				/* released: base */
	SRC_NO_TIER,				/* released, shorter than every tier */
	SRC_PREMIUM_LIST,			/* on the premium list */
	SRC_RESERVED,				/* on the premium list, but reserved since */
	SRC_UNSOLD					/* no row: free, reserved or a look-alike */
} PriceSource;

extern const char *const hm_price_source_names[];

typedef struct PriceInfo
{
	text	   *handle;			/* canonical, UTF-8 */
	PriceSource source;
	bool		has_price;
	int64		price;
	int32		length;			/* code points */
	int64		base;			/* released handles: the parts of price */
	int64		premium;
	int32		premium_day;	/* 1-based day of the premium phase */
	int32		premium_days;	/* days in the premium phase */
	int32		pricing_version;	/* in force at as_of */
	TimestampTz phase_ends_at;	/* HM_TIME_MAX: none */
	TimestampTz next_pricing_at;	/* HM_TIME_MAX: none */
	bool		has_owner;
	int64		owner_id;
	char	   *state;			/* handles.state */
	char	   *category;		/* premium list category, or reservation
								 * reason */
	bool		list_price_set;	/* premium list: price set on the entry */
	TimestampTz locked_until;	/* 0 and !has_locked: none */
	bool		has_locked;
} PriceInfo;

/* The schema of the function fcinfo calls (kept in its fn_extra) */
extern Oid	hm_function_namespace(FunctionCallInfo fcinfo);

/* A copy of the policy version in force at as_of */
extern void hm_policy_in_force(Oid nsp, TimestampTz as_of, PolicyVersion *pol);

/*
 * The canonical form of candidate, in the server encoding, when it meets
 * the profile of pol (else HM004, with the profile's reason).
 */
extern char *hm_canonical_handle(text *candidate, const PolicyVersion *pol);

/*
 * What the platform asks for candidate at as_of, read under snapshot from
 * the tables of the extension in schema nsp.  HM004 for a candidate that is
 * no handle (unless it has a row), HM013 when a price leaves bigint.
 */
extern void hm_compute_price(Oid nsp, text *candidate, TimestampTz as_of,
							 Snapshot snapshot, PriceInfo *info);

/*
 * The platform's fee on a sale of price cents by seller_id at as_of: the
 * commission of the seller's subscription under the pricing version in
 * force, rounded down to the cent.  bps and subscription, when not NULL,
 * receive the rate and the subscription.  Runs an SPI statement.
 */
extern int64 hm_seller_fee(int64 seller_id, int64 price, TimestampTz as_of, int32 *bps,
						   char **subscription);

/* A quote: the price, the platform's fee, the seller, until when, why */
typedef struct HmQuote
{
	PriceInfo	info;
	bool		has_price;
	int64		price;
	int64		fee;
	bool		has_seller;		/* else the platform sells */
	int64		seller_id;
	TimestampTz valid_until;	/* HM_TIME_MAX: none */
	char	   *reason;
} HmQuote;

/*
 * The quote for candidate at as_of (see quote() in src/sql/75_pricing.sql).
 * Runs SPI statements for a listing or a handle nobody holds: the caller
 * has connected to SPI under the extension's search_path.
 */
extern void hm_quote(Oid nsp, text *candidate, TimestampTz as_of, Snapshot snapshot,
					 HmQuote *q);

#endif
