/*
 * src/touch.c
 *	  touch(account_id, at): the read-only path in C.
 *
 * Nearly every call of touch() finds the account active within the policy's
 * touch resolution and changes nothing.  Deciding that in plpgsql cost a
 * SECURITY DEFINER call, an SPI query and a policy subquery each time; here
 * it is one primary-key probe of accounts and a look-up in a per-backend
 * copy of the policy.  Whatever this path cannot settle alone (a NULL
 * argument, an unknown account, a write to make, an odd time) goes to the
 * implementation _touch through the guard's gate, as every other API
 * function does, so errors and writes are exactly the plpgsql ones.
 *
 * The read ignores table privileges on purpose: touch() is the API, and the
 * application role that calls it has no SELECT on accounts.
 */
#include "handle_market.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/int.h"
#include "pgtime.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "core/lifecycle.h"

/*
 * Where touch() reads, found by name in the schema of the touch() function
 * being called, so the extension may live in any schema.  The relcache
 * callback clears valid when one of the relations changes or is dropped
 * (DROP EXTENSION); the fields stay as they were, so a call that already
 * holds its lock on accounts may go on using them.
 */
typedef struct TouchRelations
{
	bool		valid;
	Oid			fn_oid;			/* the touch() they were found for */
	Oid			accounts;
	Oid			accounts_pkey;
	AttrNumber	account_id;
	AttrNumber	last_active_at;
	Oid			policy;
} TouchRelations;

/* A policy version, as far as touch() is concerned. */
typedef struct TouchPolicy
{
	TimestampTz effective_from;
	bool		exact;			/* resolution holds it in microseconds */
	bool		has_days;		/* the interval has a day part */
	int64		resolution;		/* touch_resolution, microseconds */
	int64		time_part;		/* its time part alone */
} TouchPolicy;

static TouchRelations rels;

static struct
{
	bool		valid;
	Oid			relid;			/* the policy table they were read from */
	int			count;
	TouchPolicy *versions;		/* by effective_from */
	MemoryContext cxt;
}			policy;

static bool callback_registered = false;

static void
touch_relcache_callback(Datum arg pg_attribute_unused(), Oid relid)
{
	if (!OidIsValid(relid) || relid == rels.accounts ||
		relid == rels.accounts_pkey || relid == rels.policy)
		rels.valid = false;
	if (!OidIsValid(relid) || relid == policy.relid)
		policy.valid = false;
}

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

	rels.valid = false;
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
	rels.valid = true;
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

		if ((!rels.valid || rels.fn_oid != fn_oid) && !load_relations(fn_oid))
			return NULL;
		rel = try_table_open(rels.accounts, AccessShareLock);
		if (rel != NULL && rels.valid)
			return rel;
		if (rel != NULL)
			table_close(rel, AccessShareLock);
	}
	return NULL;
}

static int
policy_cmp(const void *a, const void *b)
{
	TimestampTz x = ((const TouchPolicy *) a)->effective_from;
	TimestampTz y = ((const TouchPolicy *) b)->effective_from;

	return (x > y) - (x < y);
}

static void
set_version(TouchPolicy *v, TimestampTz effective_from, const Interval *res)
{
	v->effective_from = effective_from;
	v->has_days = res->day != 0;
	v->time_part = res->time;
	/* the table forbids months; a saturated value is beyond any timestamp */
	v->exact = res->month == 0;
	if (v->exact)
	{
		v->resolution = hm_interval_usecs(res);
		v->exact = v->resolution != HM_TIME_MIN && v->resolution != HM_TIME_MAX;
	}
}

/*
 * Reads every policy version into the per-backend copy.
 *
 * With the latest snapshot, not the transaction's: the copy outlives the
 * transaction, and one read under an old REPEATABLE READ snapshot would
 * miss a version whose invalidation has already come, until the next change.
 * The snapshot is taken after the lock, whose acquisition (or touch's own
 * AcceptInvalidationMessages) processed every invalidation sent so far, and
 * nothing in between processes more: a version committed later sends an
 * invalidation that drops this copy again.  This transaction's own
 * uncommitted versions count, as they would for _touch; if it rolls back,
 * the invalidation of its insert is processed here and drops them.
 */
static bool
load_policy(Oid relid)
{
	Relation	rel = try_table_open(relid, AccessShareLock);
	AttrNumber	from_att;
	AttrNumber	resolution_att;
	Snapshot	snapshot;
	SysScanDesc scan;
	HeapTuple	tup;
	int			capacity = 4;

	policy.valid = false;
	if (rel == NULL)
		return false;
	from_att = column_number(rel, "effective_from", TIMESTAMPTZOID);
	resolution_att = column_number(rel, "touch_resolution", INTERVALOID);
	if (from_att == InvalidAttrNumber || resolution_att == InvalidAttrNumber)
	{
		table_close(rel, NoLock);
		return false;
	}

	if (policy.cxt == NULL)
		policy.cxt = AllocSetContextCreate(CacheMemoryContext,
										   "handle_market touch policy",
										   ALLOCSET_SMALL_SIZES);
	MemoryContextReset(policy.cxt);
	policy.count = 0;
	policy.versions = MemoryContextAlloc(policy.cxt, capacity * sizeof(TouchPolicy));

	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);
	while ((tup = systable_getnext(scan)) != NULL)
	{
		bool		from_null;
		bool		resolution_null;
		Datum		from = heap_getattr(tup, from_att, RelationGetDescr(rel), &from_null);
		Datum		resolution = heap_getattr(tup, resolution_att, RelationGetDescr(rel),
											  &resolution_null);

		if (from_null || resolution_null)
			continue;			/* NOT NULL columns; such a row is never in force */
		if (policy.count == capacity)
		{
			capacity *= 2;
			policy.versions = repalloc(policy.versions, capacity * sizeof(TouchPolicy));
		}
		set_version(&policy.versions[policy.count++], DatumGetTimestampTz(from),
					DatumGetIntervalP(resolution));
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, NoLock);

	qsort(policy.versions, policy.count, sizeof(TouchPolicy), policy_cmp);
	policy.relid = relid;
	policy.valid = true;
	return true;
}

/* The version in force at at: the greatest effective_from <= at */
static const TouchPolicy *
version_at(TimestampTz at)
{
	for (int i = policy.count - 1; i >= 0; i--)
		if (policy.versions[i].effective_from <= at)
			return &policy.versions[i];
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
touch_threshold(const TouchPolicy *v, TimestampTz at, TimestampTz *threshold)
{
	long		gmtoff;

	if (!v->exact || TIMESTAMP_NOT_FINITE(at))
		return false;
	if (v->has_days && !pg_get_timezone_offset(session_timezone, &gmtoff))
		return false;
	if (pg_sub_s64_overflow(at, v->resolution, threshold))
		return false;
	/* threshold + time part: where the day step ends */
	return WELL_INSIDE(*threshold) && WELL_INSIDE(hm_time_add(*threshold, v->time_part));
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
	const TouchPolicy *version;
	TimestampTz threshold;
	TimestampTz last;
	bool		fresh;

	/* a new snapshot for the policy cannot be taken in parallel mode */
	if (!ActiveSnapshotSet() || IsInParallelMode())
		return false;
	snapshot = GetActiveSnapshot();
	if (!IsMVCCSnapshot(snapshot))
		return false;
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(touch_relcache_callback, (Datum) 0);
		callback_registered = true;
	}

	/*
	 * A policy version committed since the last call counts at once, as it
	 * would for _touch's next query, even in a transaction that already holds
	 * the locks below (so that taking them processes nothing).
	 */
	AcceptInvalidationMessages();
	rel = open_accounts(fn_oid);
	if (rel == NULL)
		return false;
	if (!policy.valid || policy.relid != rels.policy)
		(void) load_policy(rels.policy);
	version = policy.valid ? version_at(at) : NULL;
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

/*
 * AFTER ... FOR EACH STATEMENT on policy (and on any table whose rows a
 * backend keeps a copy of): invalidates the table's relcache entry, so every
 * backend's relcache callback drops its copy.  Others do when this
 * transaction commits, this one at its next command, and again if the
 * change rolls back.
 */
PG_FUNCTION_INFO_V1(hm_policy_changed);
Datum
hm_policy_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("hm_policy_changed must be called as a trigger")));
	CacheInvalidateRelcache(((TriggerData *) fcinfo->context)->tg_relation);
	return PointerGetDatum(NULL);
}
