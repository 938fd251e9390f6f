/*
 * src/pricing_sql.c
 *	  price(candidate, as_of) and the parts quote() explains it with.
 *
 * price() is called for every row a page of search results shows, so it is
 * C: one primary-key probe of handles, with the versions and the premium
 * list copied in each backend (policy_cache.c).  The arithmetic is the
 * core's (src/core/pricing.h).
 */
#include "price.h"
#include "policy_cache.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "core/normalize.h"

/* defined in handle_functions.c: the key as stored in the tables */
extern Datum handle_confusable_key(PG_FUNCTION_ARGS);

Oid
hm_function_namespace(FunctionCallInfo fcinfo)
{
	Oid		   *nsp = (Oid *) fcinfo->flinfo->fn_extra;

	if (nsp == NULL)
	{
		nsp = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(Oid));
		*nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
		fcinfo->flinfo->fn_extra = nsp;
	}
	return *nsp;
}

const char *const hm_price_source_names[] = {
	"held", "owned", "listed", "redemption", "quarantine", "premium",
	"available", "no_tier", "premium_list", "reserved", "unsold"
};

static void
money_error(hm_money_status st, const PriceInfo *info, const char *what)
{
	if (st == HM_MONEY_OVERFLOW)
		ereport(ERROR,
				(errcode(ERRCODE_HM_OVERFLOW),
				 errmsg("the price of handle \"%s\" is out of range", text_to_cstring(info->handle)),
				 errdetail("%s of %lld cents plus a premium of %lld cents exceeds %lld cents.",
						   what, (long long) info->base, (long long) info->premium,
						   (long long) PG_INT64_MAX)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("pricing version %d cannot price handle \"%s\"",
					info->pricing_version, text_to_cstring(info->handle)),
			 errdetail("%s.", hm_money_status_text(st))));
}

/* Released: the phase, and base + premium in the premium phase */
static void
price_released(PriceInfo *info, TimestampTz released_at, int32 policy_version,
			   TimestampTz as_of, const PricingVersion *pricing)
{
	const PolicyVersion *pol = hm_policy_version(policy_version);
	int64		ends_at;
	hm_phase	phase = hm_release_phase(released_at, as_of, &pol->periods, &ends_at);
	hm_money_status st;

	info->phase_ends_at = ends_at;
	if (phase == HM_PHASE_REDEMPTION || phase == HM_PHASE_QUARANTINE)
	{
		info->source = phase == HM_PHASE_REDEMPTION ? SRC_REDEMPTION : SRC_QUARANTINE;
		return;
	}
	st = hm_base_price(pricing->tiers, pricing->ntiers, info->length, &info->base);
	if (st == HM_MONEY_NO_TIER)
	{
		info->source = SRC_NO_TIER;
		return;
	}
	if (st != HM_MONEY_OK)
		money_error(st, info, "base price");
	if (phase == HM_PHASE_PREMIUM)
	{
		/* the curve in force when the premium phase began: no later
		 * version changes a decay already running */
		TimestampTz start = hm_time_add(hm_time_add(released_at, pol->periods.redemption),
										pol->periods.quarantine);
		const PricingVersion *at_start = hm_pricing_version_at(start);
		hm_premium_curve curve = {at_start->premium_start, at_start->half_life,
		pol->periods.premium_decay};
		int64		elapsed = hm_elapsed(start, as_of);

		st = hm_premium(&curve, elapsed, &info->premium);
		if (st != HM_MONEY_OK)
			money_error(st, info, "base price");
		info->source = SRC_PREMIUM;
		info->premium_day = (int32) Min(elapsed / HM_USEC_PER_DAY + 1, PG_INT32_MAX);
		info->premium_days = (int32) Min((curve.window - 1) / HM_USEC_PER_DAY + 1, PG_INT32_MAX);
	}
	else
		info->source = SRC_AVAILABLE;
	st = hm_money_add(info->base, info->premium, &info->price);
	if (st != HM_MONEY_OK)
		money_error(st, info, "The base price");
	info->has_price = true;
}

static bool
text_is(Datum d, const char *s)
{
	text	   *t = DatumGetTextPP(d);
	size_t		len = strlen(s);

	return VARSIZE_ANY_EXHDR(t) == len && memcmp(VARDATA_ANY(t), s, len) == 0;
}

/*
 * The row of handles, read into info; false when there is none.  hm_price_prepare()
 * locked the table and its key until the transaction ends, so the scan's
 * own lock and unlock of the index only count, instead of going to the lock
 * manager twice a call.
 */
static bool
read_handle_row(Relation rel, PriceInfo *info, Snapshot snapshot,
				TimestampTz *released_at, int32 *policy_version)
{
	TupleDesc	desc = RelationGetDescr(rel);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found;

	ScanKeyInit(&key, hm_price_rels.h_handle, BTEqualStrategyNumber, hm_price_rels.handle_eq,
				PointerGetDatum(info->handle));
	scan = systable_beginscan(rel, hm_price_rels.handles_pkey, true, snapshot, 1, &key);
	tup = systable_getnext(scan);
	found = HeapTupleIsValid(tup);

	if (found)
	{
		bool		isnull;
		Datum		d;

		info->state = TextDatumGetCString(heap_getattr(tup, hm_price_rels.h_state, desc, &isnull));
		d = heap_getattr(tup, hm_price_rels.h_owner, desc, &isnull);
		info->has_owner = !isnull;
		info->owner_id = isnull ? 0 : DatumGetInt64(d);
		(void) heap_getattr(tup, hm_price_rels.h_hold, desc, &isnull);
		if (!isnull)
			info->source = SRC_HELD;
		else if (strcmp(info->state, "released") == 0)
		{
			*released_at = DatumGetTimestampTz(heap_getattr(tup, hm_price_rels.h_released_at, desc, &isnull));
			*policy_version = DatumGetInt32(heap_getattr(tup, hm_price_rels.h_policy_version, desc, &isnull));
			info->source = SRC_AVAILABLE;	/* decided by price_released */
		}
		else
		{
			d = heap_getattr(tup, hm_price_rels.h_list_price, desc, &isnull);
			info->source = isnull ? SRC_OWNED : SRC_LISTED;
			info->has_price = !isnull;
			info->price = isnull ? 0 : DatumGetInt64(d);
		}
		d = heap_getattr(tup, hm_price_rels.h_locked_until, desc, &isnull);
		info->has_locked = !isnull;
		info->locked_until = isnull ? 0 : DatumGetTimestampTz(d);
	}
	systable_endscan(scan);
	return found;
}

/* The premium list entry, read into info; false when there is none */
static bool
read_premium_entry(PriceInfo *info, const PricingVersion *pricing)
{
	const PremiumEntry *e = hm_premium_entry(info->handle);

	if (e == NULL)
		return false;
	info->category = pstrdup(e->category);
	/* no price of its own: the version's default priority price */
	info->list_price_set = e->has_price;
	info->price = e->has_price ? e->price : pricing->priority_price;
	info->has_price = true;
	info->source = SRC_PREMIUM_LIST;
	return true;
}

/*
 * The reservation that covers the handle, as reservation_for() finds it (a
 * reserved handle with its key, or a forbidden substring in its key); NULL
 * when none.  Only asked for handles on the premium list: a reservation
 * made after set_premium wins, since a reserved handle is never sold.
 */
static char *
reservation_reason(text *handle, Snapshot snapshot)
{
	text	   *key = DatumGetTextPP(DirectFunctionCall1(handle_confusable_key,
														 PointerGetDatum(handle)));
	char	   *k = text_to_cstring(key);
	Relation	rel = table_open(hm_price_rels.reserved, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);
	HeapTuple	tup;
	char	   *reason = NULL;

	while (reason == NULL && (tup = systable_getnext(scan)) != NULL)
	{
		bool		isnull;
		char	   *rkey = TextDatumGetCString(heap_getattr(tup, hm_price_rels.r_key, desc, &isnull));
		Datum		kind = heap_getattr(tup, hm_price_rels.r_kind, desc, &isnull);

		if (text_is(kind, "handle") ? strcmp(rkey, k) == 0 : strstr(k, rkey) != NULL)
			reason = TextDatumGetCString(heap_getattr(tup, hm_price_rels.r_reason, desc, &isnull));
	}
	systable_endscan(scan);
	table_close(rel, NoLock);
	return reason;
}

/* HM004, with check_handle's reason under the profile in force */
static void
refuse_candidate(text *candidate, const PolicyVersion *pol, const char *fallback)
{
	int			len;
	char	   *utf8 = hm_to_utf8(VARDATA_ANY(candidate), VARSIZE_ANY_EXHDR(candidate), &len);
	char		reason[HM_DETAIL_LEN];

	if (hm_check_profile(pol->profile, utf8, len, reason))
		strlcpy(reason, fallback, sizeof(reason));
	ereport(ERROR,
			(errcode(ERRCODE_HM_PROFILE),
			 errmsg("handle \"%s\" does not meet the %s profile",
					text_to_cstring(candidate), pol->profile_name),
			 errdetail("%s", reason)));
}

/*
 * candidate's canonical form (UTF-8) into canon, from utf8, its text in
 * UTF-8; HM004 when it has none, in the words of the profile of pol (NULL:
 * the version in force at as_of, looked up only then).
 */
static size_t
canonical_or_refuse(text *candidate, const char *utf8, int len, const PolicyVersion *pol,
					TimestampTz as_of, char *canon)
{
	size_t		canonlen;
	hm_error	err;

	if (hm_canonicalize(utf8, len, canon, &canonlen, &err) != HM_OK)
	{
		if (err.status == HM_ICU_FAILURE)
			hm_icu_failure(text_to_cstring(candidate), err.detail);
		refuse_candidate(candidate, pol ? pol : hm_policy_version_at(as_of), err.detail);
	}
	/* the type's own refusal (22P02) of what the database cannot hold */
	(void) hm_encodable(canon, (int) canonlen, VARDATA_ANY(candidate),
					   VARSIZE_ANY_EXHDR(candidate), NULL);
	return canonlen;
}

void
hm_policy_in_force(Oid nsp, TimestampTz as_of, PolicyVersion *pol)
{
	Relation	rel = hm_price_prepare(nsp);

	*pol = *hm_policy_version_at(as_of);
	table_close(rel, NoLock);
}

char *
hm_canonical_handle(text *candidate, const PolicyVersion *pol)
{
	int			len;
	char	   *utf8 = hm_to_utf8(VARDATA_ANY(candidate), VARSIZE_ANY_EXHDR(candidate), &len);
	char		canon[HM_MAX_BYTES];
	size_t		canonlen;
	char		reason[HM_DETAIL_LEN];
	char	   *server;

	if (!hm_check_profile(pol->profile, utf8, len, reason))
		refuse_candidate(candidate, pol, reason);
	canonlen = canonical_or_refuse(candidate, utf8, len, pol, 0, canon);
	server = hm_from_utf8(canon, (int) canonlen, &len);
	return pnstrdup(server, len);
}

/*
 * What the platform asks for candidate at as_of, and why (see
 * price() in src/sql/75_pricing.sql for the rules).
 */
void
hm_compute_price(Oid nsp, text *candidate, TimestampTz as_of, Snapshot snapshot, PriceInfo *info)
{
	int			len;
	char	   *utf8;
	char		canon[HM_MAX_BYTES];
	size_t		canonlen;
	const PricingVersion *pricing;
	Relation	rel;
	bool		found;
	TimestampTz released_at = 0;
	int32		policy_version = 0;
	const PolicyVersion *pol;
	char		reason[HM_DETAIL_LEN];

	/* any time may be asked about, but not an infinite one (server_time.c) */
	hm_check_finite_time(as_of, "as_of");

	memset(info, 0, sizeof(*info));
	rel = hm_price_prepare(nsp);
	pricing = hm_pricing_version_at(as_of);
	info->pricing_version = pricing->version;
	info->next_pricing_at = hm_next_pricing_after(as_of);
	info->phase_ends_at = HM_TIME_MAX;

	utf8 = hm_to_utf8(VARDATA_ANY(candidate), VARSIZE_ANY_EXHDR(candidate), &len);
	canonlen = canonical_or_refuse(candidate, utf8, len, NULL, as_of, canon);
	info->handle = cstring_to_text_with_len(canon, (int) canonlen);
	info->length = (int32) hm_codepoint_count(canon, canonlen);

	found = read_handle_row(rel, info, snapshot, &released_at, &policy_version);
	table_close(rel, NoLock);
	if (found)
	{
		/* a handle that exists is priced whatever today's profile says */
		if (info->source == SRC_AVAILABLE)
			price_released(info, released_at, policy_version, as_of, pricing);
		return;
	}

	/* nobody holds it: it must be a handle one may ask for today */
	pol = hm_policy_version_at(as_of);
	if (!hm_check_profile(pol->profile, utf8, len, reason))
		refuse_candidate(candidate, pol, reason);
	if (read_premium_entry(info, pricing))
	{
		char	   *reserved = reservation_reason(info->handle, snapshot);

		if (reserved != NULL)
		{
			info->source = SRC_RESERVED;
			info->has_price = false;
			info->category = reserved;
		}
		return;
	}
	info->source = SRC_UNSOLD;
}

PG_FUNCTION_INFO_V1(hm_price);
Datum
hm_price(PG_FUNCTION_ARGS)
{
	PriceInfo	info;

	hm_compute_price(hm_function_namespace(fcinfo), PG_GETARG_TEXT_PP(0), PG_GETARG_TIMESTAMPTZ(1),
					 GetActiveSnapshot(), &info);
	if (!info.has_price)
		PG_RETURN_NULL();
	PG_RETURN_INT64(info.price);
}

/* _price_parts(candidate, as_of): the row quote() and lookup() explain */
PG_FUNCTION_INFO_V1(hm_price_parts);
Datum
hm_price_parts(PG_FUNCTION_ARGS)
{
	PriceInfo	info;
	TupleDesc	tupdesc;
	Datum		values[16];
	bool		nulls[16];
	int			i = 0;

	hm_compute_price(hm_function_namespace(fcinfo), PG_GETARG_TEXT_PP(0), PG_GETARG_TIMESTAMPTZ(1),
					 GetActiveSnapshot(), &info);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "_price_parts must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);
	memset(nulls, 0, sizeof(nulls));

#define PUT(cond, value) (nulls[i] = !(cond), values[i++] = (cond) ? (value) : (Datum) 0)
	PUT(true, PointerGetDatum(info.handle));
	PUT(true, CStringGetTextDatum(hm_price_source_names[info.source]));
	PUT(info.has_price, Int64GetDatum(info.price));
	PUT(true, Int32GetDatum(info.length));
	PUT(info.source == SRC_PREMIUM || info.source == SRC_AVAILABLE, Int64GetDatum(info.base));
	PUT(info.source == SRC_PREMIUM, Int64GetDatum(info.premium));
	PUT(info.source == SRC_PREMIUM, Int32GetDatum(info.premium_day));
	PUT(info.source == SRC_PREMIUM, Int32GetDatum(info.premium_days));
	PUT(true, Int32GetDatum(info.pricing_version));
	PUT(info.phase_ends_at != HM_TIME_MAX, TimestampTzGetDatum(info.phase_ends_at));
	PUT(info.next_pricing_at != HM_TIME_MAX, TimestampTzGetDatum(info.next_pricing_at));
	PUT(info.has_owner, Int64GetDatum(info.owner_id));
	PUT(info.state != NULL, info.state ? CStringGetTextDatum(info.state) : 0);
	PUT(info.category != NULL, info.category ? CStringGetTextDatum(info.category) : 0);
	PUT(info.source == SRC_PREMIUM_LIST, BoolGetDatum(info.list_price_set));
	PUT(info.has_locked, TimestampTzGetDatum(info.locked_until));
#undef PUT
	Assert(i == tupdesc->natts);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * decaying_premium(elapsed, start_cents, half_life, premium_window): the
 * core's curve on its own, for documentation and tests.
 */
PG_FUNCTION_INFO_V1(hm_decaying_premium);
Datum
hm_decaying_premium(PG_FUNCTION_ARGS)
{
	hm_premium_curve curve;
	int64		elapsed = hm_interval_usecs(PG_GETARG_INTERVAL_P(0));
	int64		premium;

	curve.start_cents = PG_GETARG_INT64(1);
	curve.half_life = hm_interval_usecs(PG_GETARG_INTERVAL_P(2));
	curve.window = hm_interval_usecs(PG_GETARG_INTERVAL_P(3));
	if (hm_premium(&curve, elapsed, &premium) != HM_MONEY_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid premium curve"),
				 errdetail("The start is %lld cents, the half-life %lld microseconds and the window %lld microseconds; the start and the window must not be negative and the half-life must be positive.",
						   (long long) curve.start_cents, (long long) curve.half_life,
						   (long long) curve.window)));
	PG_RETURN_INT64(premium);
}

/* commission_fee(price_cents, bps): floor(price * bps / 10000), exactly */
PG_FUNCTION_INFO_V1(hm_commission_fee);
Datum
hm_commission_fee(PG_FUNCTION_ARGS)
{
	int64		price = PG_GETARG_INT64(0);
	int32		bps = PG_GETARG_INT32(1);
	int64		fee;

	if (hm_money_fee(price, bps, &fee) != HM_MONEY_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid commission"),
				 errdetail("The price is %lld cents and the rate %d basis points; the price must not be negative and the rate must be between 0 and %d.",
						   (long long) price, bps, HM_BPS_MAX)));
	PG_RETURN_INT64(fee);
}
