/*
 * src/touch.c
 *	  touch(account_id, at): the read-only path in C.
 *
 * Nearly every call of touch() finds the account active within the policy's
 * touch resolution and changes nothing.  Deciding that in plpgsql cost a
 * SECURITY DEFINER call, an SPI query and a policy subquery each time; here
 * it is one primary-key probe of accounts and a look-up in the per-backend
 * copy of the policy (policy_cache.c).  Whatever this path cannot settle
 * alone (a NULL argument, an unknown account, a write to make, an odd
 * time) goes to the implementation _touch through the guard's gate, as
 * every other API function does, so errors and writes are exactly the
 * plpgsql ones.
 *
 * The read ignores table privileges on purpose: touch() is the API, and the
 * application role that calls it has no SELECT on accounts.
 */
#include "handle_market.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "pgtime.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "core/lifecycle.h"
#include "policy_cache.h"

/*
 * Where touch() reads, found by name in the schema of the touch() function
 * being called, so the extension may live in any schema.  The cache is
 * dropped when one of the relations changes or is dropped (DROP EXTENSION);
 * the fields stay as they were, so a call that already holds its lock on
 * accounts may go on using them.
 */
typedef struct TouchRelations
{
	HmCached	cache;
	Oid			fn_oid;			/* the touch() they were found for */
	Oid			accounts;
	Oid			accounts_pkey;
	AttrNumber	account_id;
	AttrNumber	last_active_at;
	Oid			policy;
} TouchRelations;

static TouchRelations rels;

/* A column by name and type, or InvalidAttrNumber */
static AttrNumber
column_number(Relation rel, const char *name, Oid type)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && att->atttypid == type &&
			strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	return InvalidAttrNumber;
}

/* Whether a probe of index on column alone finds the row */
static bool
index_is_on(Oid index, AttrNumber column)
{
	HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
	Form_pg_index form;
	bool		ok;

	if (!HeapTupleIsValid(tup))
		return false;
	form = (Form_pg_index) GETSTRUCT(tup);
	ok = form->indisunique && form->indnkeyatts == 1 &&
		form->indkey.values[0] == column;
	ReleaseSysCache(tup);
	return ok;
}

/*
 * Finds the relations again.  The columns are read with accounts locked, so
 * no ALTER TABLE can change them before this transaction ends.
 */
static bool
load_relations(Oid fn_oid)
{
	Oid			nsp = get_func_namespace(fn_oid);
	Oid			accounts = get_relname_relid("accounts", nsp);
	Oid			policy_relid = get_relname_relid("policy", nsp);
	Relation	rel;
	AttrNumber	account_id;
	AttrNumber	last_active_at;
	Oid			pkey;

	rels.cache.valid = false;
	if (!OidIsValid(accounts) || !OidIsValid(policy_relid))
		return false;
	rel = try_table_open(accounts, AccessShareLock);
	if (rel == NULL)
		return false;
	account_id = column_number(rel, "account_id", INT8OID);
	last_active_at = column_number(rel, "last_active_at", TIMESTAMPTZOID);
	pkey = RelationGetPrimaryKeyIndex(rel);
	table_close(rel, NoLock);
	if (account_id == InvalidAttrNumber || last_active_at == InvalidAttrNumber ||
		!OidIsValid(pkey) || !index_is_on(pkey, account_id))
		return false;

	rels.fn_oid = fn_oid;
	rels.accounts = accounts;
	rels.accounts_pkey = pkey;
	rels.account_id = account_id;
	rels.last_active_at = last_active_at;
	rels.policy = policy_relid;
	{
		Oid			watched[] = {accounts, pkey, policy_relid};

		hm_cache_set(&rels.cache, lengthof(watched), watched);
	}
	return true;
}

/*
 * accounts, locked as a SELECT locks it (until the transaction ends).
 * Taking the lock processes invalidations, which may show the cached OIDs
 * stale (a dropped and re-created extension): then they are found again,
 * under the lock load_relations takes, which later attempts already hold.
 */
static Relation
open_accounts(Oid fn_oid)
{
	for (int attempt = 0; attempt < 2; attempt++)
	{
		Relation	rel;

		if ((!rels.cache.valid || rels.fn_oid != fn_oid) && !load_relations(fn_oid))
			return NULL;
		rel = try_table_open(rels.accounts, AccessShareLock);
		if (rel != NULL && rels.cache.valid)
			return rel;
		if (rel != NULL)
			table_close(rel, AccessShareLock);
	}
	return NULL;
}

/* Where microsecond arithmetic and PostgreSQL's surely agree */
#define WELL_INSIDE(t) \
	((t) >= MIN_TIMESTAMP + USECS_PER_DAY && (t) < END_TIMESTAMP - USECS_PER_DAY)

/*
 * at - touch_resolution, as _touch's "p_at - v_resolution" computes it, or
 * false where only that expression can say.  PostgreSQL moves a timestamptz
 * by the day part in calendar days of the session's time zone, then by the
 * time part, and raises an error out of range.  In microseconds that is the
 * same when every day has 24 hours (no day part, or a zone of fixed offset;
 * across a daylight saving change a day has 23 or 25) and both steps stay
 * well inside the range of timestamps.  Infinite times stay infinite there.
 */
static bool
touch_threshold(const PolicyVersion *v, TimestampTz at, TimestampTz *threshold)
{
	long		gmtoff;

	if (!v->touch_exact || TIMESTAMP_NOT_FINITE(at))
		return false;
	if (v->touch_has_days && !pg_get_timezone_offset(session_timezone, &gmtoff))
		return false;
	if (pg_sub_s64_overflow(at, v->touch_usecs, threshold))
		return false;
	/* threshold + time part: where the day step ends */
	return WELL_INSIDE(*threshold) && WELL_INSIDE(hm_time_add(*threshold, v->touch_time_part));
}

/*
 * The account's last_active_at, under the statement's snapshot.  A fresh
 * snapshot (what _touch's own query gets) would decide nothing differently:
 * last_active_at never moves backwards and accounts are never deleted (the
 * guard), so an older snapshot can only make a touch look necessary, and
 * _touch then decides under its own.  The statement's snapshot costs
 * nothing; a new one is a walk of the process array on every call.
 */
static bool
read_last_active(Relation rel, Snapshot snapshot, int64 account_id, TimestampTz *last)
{
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	ScanKeyInit(&key, rels.account_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(account_id));
	scan = systable_beginscan(rel, rels.accounts_pkey, true, snapshot, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		value = heap_getattr(tup, rels.last_active_at, RelationGetDescr(rel),
										 &isnull);

		if (!isnull)
		{
			*last = DatumGetTimestampTz(value);
			found = true;
		}
	}
	systable_endscan(scan);
	return found;
}

/* Whether the account is known and was active within the resolution */
static bool
touch_is_fresh(Oid fn_oid, int64 account_id, TimestampTz at)
{
	Snapshot	snapshot;
	Relation	rel;
	const PolicyVersion *version;
	TimestampTz threshold;
	TimestampTz last;
	bool		fresh;

	if (!ActiveSnapshotSet())
		return false;
	snapshot = GetActiveSnapshot();
	if (!IsMVCCSnapshot(snapshot))
		return false;
	hm_cache_watch(&rels.cache);

	/*
	 * A policy version committed since the last call counts at once, as it
	 * would for _touch's next query, even in a transaction that already holds
	 * the locks below (so that taking them processes nothing).
	 */
	AcceptInvalidationMessages();
	rel = open_accounts(fn_oid);
	if (rel == NULL)
		return false;
	hm_policy_prepare(rels.policy);
	version = hm_policy_version_find(at);
	fresh = version != NULL && touch_threshold(version, at, &threshold) &&
		read_last_active(rel, snapshot, account_id, &last) && last >= threshold;
	table_close(rel, NoLock);
	return fresh;
}

PG_FUNCTION_INFO_V1(hm_touch);
Datum
hm_touch(PG_FUNCTION_ARGS)
{
	/* the gate checks it again, which costs a comparison */
	if (!PG_ARGISNULL(1))
		fcinfo->args[1].value = TimestampTzGetDatum(hm_write_time(PG_GETARG_TIMESTAMPTZ(1), "at"));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) ||
		!touch_is_fresh(fcinfo->flinfo->fn_oid, PG_GETARG_INT64(0),
						PG_GETARG_TIMESTAMPTZ(1)))
		return hm_gate_call(fcinfo);
	PG_RETURN_VOID();
}
