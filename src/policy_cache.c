/*
 * src/policy_cache.c
 *	  The per-backend copies the hot paths read (see policy_cache.h): the
 *	  policy and pricing versions and the premium list, and where price()
 *	  finds its tables; touch.c keeps where it finds accounts the same way.
 *
 * The rows are short and read by every call, so each backend keeps a copy.
 * One invalidation scheme for every copy: a relcache callback drops it when
 * a relation it was read from changes, and the configuration tables'
 * statement triggers (policy_changed(), below) send that invalidation on
 * every write.  The rows are read with the latest snapshot, not the
 * transaction's: a copy outlives the transaction, and one read under an old
 * REPEATABLE READ snapshot would miss a version whose invalidation has
 * already come, until the next change.  In parallel mode, where no new
 * snapshot may be taken, the query's is used and the copy is dropped when
 * the transaction ends (scan_table).  The reads ignore table privileges on
 * purpose: price() and touch() are the API, and the application role
 * cannot read the tables.
 */
#include "policy_cache.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

/* A table of versions (or entries), sorted, in its own context */
typedef struct VersionCache
{
	HmCached	cache;
	int			count;
	void	   *versions;
	MemoryContext cxt;
} VersionCache;

PriceRelations hm_price_rels;
static VersionCache policy_cache;
static VersionCache pricing_cache;
static VersionCache premium_cache;

/* Every copy ever registered in this backend; a handful */
#define MAX_CACHES 8
static HmCached *caches[MAX_CACHES];
static int	ncaches = 0;

static void
relcache_callback(Datum arg pg_attribute_unused(), Oid relid)
{
	for (int i = 0; i < ncaches; i++)
	{
		if (!OidIsValid(relid))
			caches[i]->valid = false;
		for (int r = 0; r < caches[i]->nrels; r++)
			if (caches[i]->rels[r] == relid)
				caches[i]->valid = false;
	}
}

/* A copy read in parallel mode lives until the transaction ends. */
static void
drop_transient_copies(XactEvent event, void *arg pg_attribute_unused())
{
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;
	for (int i = 0; i < ncaches; i++)
		if (caches[i]->transient)
			caches[i]->valid = caches[i]->transient = false;
}

void
hm_cache_watch(HmCached *cache)
{
	int			i;

	if (ncaches == 0)
	{
		CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
		RegisterXactCallback(drop_transient_copies, NULL);
	}
	for (i = 0; i < ncaches && caches[i] != cache; i++)
		;
	if (i == ncaches)
	{
		if (ncaches == MAX_CACHES)
			elog(ERROR, "handle_market: too many per-backend caches");
		caches[ncaches++] = cache;
	}
}

void
hm_cache_set(HmCached *cache, int nrels, const Oid *rels)
{
	hm_cache_watch(cache);
	Assert(nrels <= HM_CACHED_RELS);
	cache->nrels = nrels;
	memcpy(cache->rels, rels, nrels * sizeof(Oid));
	cache->valid = true;
}

/*
 * AFTER ... FOR EACH STATEMENT on policy, pricing, price_tiers and
 * premium_handles: invalidates the table's relcache entry, so that every
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

/* A column by name and type (InvalidOid: any type), or an error */
static AttrNumber
column(Relation rel, const char *name, Oid type)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0 &&
			(type == InvalidOid || att->atttypid == type))
			return att->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("column %s.%s of the expected type is missing",
					RelationGetRelationName(rel), name)));
	return InvalidAttrNumber;	/* keep the compiler quiet */
}

/* A table of the extension, locked as a SELECT locks it */
static Relation
open_named(Oid nsp, const char *name, Oid *relid)
{
	*relid = get_relname_relid(name, nsp);
	if (!OidIsValid(*relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table %s.%s is missing", get_namespace_name(nsp), name)));
	return table_open(*relid, AccessShareLock);
}

static void
load_relations(Oid nsp)
{
	Relation	rel;
	Relation	idx;
	Oid			eq;

	hm_price_rels.cache.valid = false;
	hm_price_rels.nsp = nsp;

	rel = open_named(nsp, "handles", &hm_price_rels.handles);
	hm_price_rels.h_handle = column(rel, "handle", InvalidOid);
	hm_price_rels.h_owner = column(rel, "owner_id", INT8OID);
	hm_price_rels.h_state = column(rel, "state", TEXTOID);
	hm_price_rels.h_released_at = column(rel, "released_at", TIMESTAMPTZOID);
	hm_price_rels.h_policy_version = column(rel, "policy_version", INT4OID);
	hm_price_rels.h_hold = column(rel, "hold_reason", TEXTOID);
	hm_price_rels.h_list_price = column(rel, "list_price_cents", INT8OID);
	hm_price_rels.h_locked_until = column(rel, "transfer_locked_until", TIMESTAMPTZOID);
	hm_price_rels.handles_pkey = RelationGetPrimaryKeyIndex(rel);
	table_close(rel, NoLock);

	rel = open_named(nsp, "reserved", &hm_price_rels.reserved);
	hm_price_rels.r_key = column(rel, "key", TEXTOID);
	hm_price_rels.r_kind = column(rel, "kind", TEXTOID);
	hm_price_rels.r_reason = column(rel, "reason", TEXTOID);
	table_close(rel, NoLock);

	table_close(open_named(nsp, "premium_handles", &hm_price_rels.premium), NoLock);
	table_close(open_named(nsp, "policy", &hm_price_rels.policy), NoLock);
	table_close(open_named(nsp, "pricing", &hm_price_rels.pricing), NoLock);
	table_close(open_named(nsp, "price_tiers", &hm_price_rels.tiers), NoLock);

	if (!OidIsValid(hm_price_rels.handles_pkey))
		elog(ERROR, "handle_market: handles has no primary key");

	idx = index_open(hm_price_rels.handles_pkey, AccessShareLock);
	eq = get_opfamily_member(idx->rd_opfamily[0], idx->rd_opcintype[0],
							 idx->rd_opcintype[0], BTEqualStrategyNumber);
	index_close(idx, NoLock);
	if (!OidIsValid(eq))
		elog(ERROR, "handle_market: no equality operator for the handles key");
	hm_price_rels.handle_eq = get_opcode(eq);
	{
		Oid			rels[] = {hm_price_rels.handles, hm_price_rels.handles_pkey,
			hm_price_rels.premium, hm_price_rels.reserved, hm_price_rels.policy,
		hm_price_rels.pricing, hm_price_rels.tiers};

		hm_cache_set(&hm_price_rels.cache, lengthof(rels), rels);
	}
}

/*
 * Reads every row of a configuration table into cache, with the latest
 * snapshot.  The snapshot is taken after the lock, whose acquisition (or
 * the caller's AcceptInvalidationMessages) processed every invalidation
 * sent so far, and nothing in between processes more: a version committed
 * later sends an invalidation that drops this copy again.  This
 * transaction's own uncommitted versions count, as they would for a query;
 * if it rolls back, the invalidation of its insert drops them.  A parallel
 * query that calls price() (it is PARALLEL SAFE) may not take a new
 * snapshot, in the leader or in a worker: then the copy is read with the
 * query's snapshot and is transient.
 */
typedef void (*row_fn) (Relation rel, HeapTuple tup, void *arg);

static void
scan_table(Oid relid, HmCached *cache, row_fn fn, void *arg)
{
	Relation	rel = table_open(relid, AccessShareLock);
	Snapshot	snapshot;
	SysScanDesc scan;
	HeapTuple	tup;

	if (IsInParallelMode())
	{
		snapshot = RegisterSnapshot(GetActiveSnapshot());
		cache->transient = true;
	}
	else
		snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);

	while ((tup = systable_getnext(scan)) != NULL)
		fn(rel, tup, arg);
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, NoLock);
}

static Datum
get_col(Relation rel, HeapTuple tup, const char *name, Oid type, bool *isnull)
{
	return heap_getattr(tup, column(rel, name, type), RelationGetDescr(rel), isnull);
}

/* A NOT NULL column of a configuration row */
static Datum
required(Relation rel, HeapTuple tup, const char *name, Oid type)
{
	bool		isnull;
	Datum		d = get_col(rel, tup, name, type, &isnull);

	if (isnull)
		elog(ERROR, "handle_market: %s.%s is null", RelationGetRelationName(rel), name);
	return d;
}

/* Grows a cache's array by one element of size bytes */
static void *
cache_append(VersionCache *cache, Size size, int *capacity)
{
	if (cache->count == *capacity)
	{
		*capacity *= 2;
		cache->versions = repalloc(cache->versions, *capacity * size);
	}
	return (char *) cache->versions + size * cache->count++;
}

static void
cache_reset(VersionCache *cache, Size size, int capacity)
{
	cache->cache.valid = false;
	cache->cache.transient = false;
	if (cache->cxt == NULL)
		cache->cxt = AllocSetContextCreate(CacheMemoryContext, "handle_market price cache",
										   ALLOCSET_SMALL_SIZES);
	MemoryContextReset(cache->cxt);
	cache->count = 0;
	cache->versions = MemoryContextAlloc(cache->cxt, capacity * size);
}

static int
policy_cmp(const void *a, const void *b)
{
	TimestampTz x = ((const PolicyVersion *) a)->effective_from;
	TimestampTz y = ((const PolicyVersion *) b)->effective_from;

	return (x > y) - (x < y);
}

static int
pricing_cmp(const void *a, const void *b)
{
	TimestampTz x = ((const PricingVersion *) a)->effective_from;
	TimestampTz y = ((const PricingVersion *) b)->effective_from;

	return (x > y) - (x < y);
}

static int
tier_cmp(const void *a, const void *b)
{
	int32		x = ((const hm_price_tier *) a)->min_length;
	int32		y = ((const hm_price_tier *) b)->min_length;

	return (x > y) - (x < y);
}

static int	policy_capacity;

static void
policy_row(Relation rel, HeapTuple tup, void *arg pg_attribute_unused())
{
	PolicyVersion *v = cache_append(&policy_cache, sizeof(PolicyVersion), &policy_capacity);
	char	   *profile = TextDatumGetCString(required(rel, tup, "profile", TEXTOID));

	v->version = DatumGetInt32(required(rel, tup, "version", INT4OID));
	v->effective_from = DatumGetTimestampTz(required(rel, tup, "effective_from", TIMESTAMPTZOID));
	v->periods.redemption = hm_interval_usecs(DatumGetIntervalP(required(rel, tup, "redemption_period", INTERVALOID)));
	v->periods.quarantine = hm_interval_usecs(DatumGetIntervalP(required(rel, tup, "quarantine_period", INTERVALOID)));
	v->periods.premium_decay = hm_interval_usecs(DatumGetIntervalP(required(rel, tup, "premium_decay", INTERVALOID)));
	v->transfer_lock = *DatumGetIntervalP(required(rel, tup, "transfer_lock", INTERVALOID));
	v->touch_resolution = *DatumGetIntervalP(required(rel, tup, "touch_resolution", INTERVALOID));
	v->touch_has_days = v->touch_resolution.day != 0;
	v->touch_time_part = v->touch_resolution.time;
	/* the table forbids months; a saturated value is beyond any timestamp */
	v->touch_exact = v->touch_resolution.month == 0;
	if (v->touch_exact)
	{
		v->touch_usecs = hm_interval_usecs(&v->touch_resolution);
		v->touch_exact = v->touch_usecs != HM_TIME_MIN && v->touch_usecs != HM_TIME_MAX;
	}
	if (!hm_profile_from_name(profile, &v->profile))
		elog(ERROR, "handle_market: policy version %d has an unknown profile", v->version);
	strlcpy(v->profile_name, profile, sizeof(v->profile_name));
}

void
hm_policy_prepare(Oid policy_relid)
{
	if (policy_cache.cache.valid && policy_cache.cache.rels[0] == policy_relid)
		return;
	policy_capacity = 4;
	cache_reset(&policy_cache, sizeof(PolicyVersion), policy_capacity);
	scan_table(policy_relid, &policy_cache.cache, policy_row, NULL);
	qsort(policy_cache.versions, policy_cache.count, sizeof(PolicyVersion), policy_cmp);
	hm_cache_set(&policy_cache.cache, 1, &policy_relid);
}

static int	pricing_capacity;

static void
pricing_row(Relation rel, HeapTuple tup, void *arg pg_attribute_unused())
{
	PricingVersion *v = cache_append(&pricing_cache, sizeof(PricingVersion), &pricing_capacity);

	memset(v, 0, sizeof(*v));
	v->version = DatumGetInt32(required(rel, tup, "version", INT4OID));
	v->effective_from = DatumGetTimestampTz(required(rel, tup, "effective_from", TIMESTAMPTZOID));
	v->premium_start = DatumGetInt64(required(rel, tup, "premium_start_cents", INT8OID));
	v->half_life = hm_interval_usecs(DatumGetIntervalP(required(rel, tup, "premium_half_life", INTERVALOID)));
	v->priority_price = DatumGetInt64(required(rel, tup, "priority_price_cents", INT8OID));
}

static PricingVersion *
pricing_by_number(int32 version)
{
	PricingVersion *v = pricing_cache.versions;

	for (int i = 0; i < pricing_cache.count; i++)
		if (v[i].version == version)
			return &v[i];
	return NULL;
}

static void
tier_row(Relation rel, HeapTuple tup, void *arg pg_attribute_unused())
{
	PricingVersion *v = pricing_by_number(DatumGetInt32(required(rel, tup, "version", INT4OID)));

	if (v == NULL)
		return;					/* the foreign key rules it out */
	v->tiers = v->tiers
		? repalloc(v->tiers, (v->ntiers + 1) * sizeof(hm_price_tier))
		: MemoryContextAlloc(pricing_cache.cxt, sizeof(hm_price_tier));
	v->tiers[v->ntiers].min_length = DatumGetInt32(required(rel, tup, "min_length", INT4OID));
	v->tiers[v->ntiers].price_cents = DatumGetInt64(required(rel, tup, "price_cents", INT8OID));
	v->ntiers++;
}

static void
load_pricing(void)
{
	PricingVersion *v;

	pricing_capacity = 4;
	cache_reset(&pricing_cache, sizeof(PricingVersion), pricing_capacity);
	scan_table(hm_price_rels.pricing, &pricing_cache.cache, pricing_row, NULL);
	scan_table(hm_price_rels.tiers, &pricing_cache.cache, tier_row, NULL);
	v = pricing_cache.versions;
	for (int i = 0; i < pricing_cache.count; i++)
		if (v[i].ntiers > 1)
			qsort(v[i].tiers, v[i].ntiers, sizeof(hm_price_tier), tier_cmp);
	qsort(pricing_cache.versions, pricing_cache.count, sizeof(PricingVersion), pricing_cmp);
	{
		Oid			rels[] = {hm_price_rels.pricing, hm_price_rels.tiers};

		hm_cache_set(&pricing_cache.cache, lengthof(rels), rels);
	}
}

static int	premium_capacity;

static void
premium_row(Relation rel, HeapTuple tup, void *arg pg_attribute_unused())
{
	PremiumEntry *e = cache_append(&premium_cache, sizeof(PremiumEntry), &premium_capacity);
	MemoryContext old = MemoryContextSwitchTo(premium_cache.cxt);
	text	   *h = DatumGetTextPP(required(rel, tup, "handle", InvalidOid));
	bool		isnull;
	Datum		price = get_col(rel, tup, "price_cents", INT8OID, &isnull);

	e->len = VARSIZE_ANY_EXHDR(h);
	e->handle = pnstrdup(VARDATA_ANY(h), e->len);
	e->has_price = !isnull;
	e->price = isnull ? 0 : DatumGetInt64(price);
	e->category = TextDatumGetCString(required(rel, tup, "category", TEXTOID));
	MemoryContextSwitchTo(old);
}

/* the handle type's order: bytes, then length */
static int
handle_bytes_cmp(const char *a, int alen, const char *b, int blen)
{
	int			c = memcmp(a, b, Min(alen, blen));

	return c != 0 ? c : (alen > blen) - (alen < blen);
}

static int
premium_cmp(const void *a, const void *b)
{
	const PremiumEntry *x = a;
	const PremiumEntry *y = b;

	return handle_bytes_cmp(x->handle, x->len, y->handle, y->len);
}

static void
load_premium(void)
{
	premium_capacity = 16;
	cache_reset(&premium_cache, sizeof(PremiumEntry), premium_capacity);
	scan_table(hm_price_rels.premium, &premium_cache.cache, premium_row, NULL);
	qsort(premium_cache.versions, premium_cache.count, sizeof(PremiumEntry), premium_cmp);
	hm_cache_set(&premium_cache.cache, 1, &hm_price_rels.premium);
}

const PremiumEntry *
hm_premium_entry(const text *handle)
{
	const PremiumEntry *e = premium_cache.versions;
	const char *h = VARDATA_ANY(handle);
	int			len = VARSIZE_ANY_EXHDR(handle);
	int			lo = 0,
				hi = premium_cache.count - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = handle_bytes_cmp(h, len, e[mid].handle, e[mid].len);

		if (c == 0)
			return &e[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The version in force at t: the greatest effective_from <= t */
const PolicyVersion *
hm_policy_version_find(TimestampTz t)
{
	const PolicyVersion *v = policy_cache.versions;

	for (int i = policy_cache.count - 1; i >= 0; i--)
		if (v[i].effective_from <= t)
			return &v[i];
	return NULL;
}

const PolicyVersion *
hm_policy_version_at(TimestampTz t)
{
	const PolicyVersion *v = hm_policy_version_find(t);

	if (v != NULL)
		return v;
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("no policy version is in force at %s", timestamptz_to_str(t))));
	return NULL;
}

const PolicyVersion *
hm_policy_version(int32 version)
{
	const PolicyVersion *v = policy_cache.versions;

	for (int i = 0; i < policy_cache.count; i++)
		if (v[i].version == version)
			return &v[i];
	elog(ERROR, "handle_market: policy version %d is missing", version);
	return NULL;
}

const PricingVersion *
hm_pricing_version_at(TimestampTz t)
{
	const PricingVersion *v = pricing_cache.versions;

	for (int i = pricing_cache.count - 1; i >= 0; i--)
		if (v[i].effective_from <= t)
			return &v[i];
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("no pricing version is in force at %s", timestamptz_to_str(t))));
	return NULL;
}

/* When the next pricing version starts after t, or HM_TIME_MAX */
TimestampTz
hm_next_pricing_after(TimestampTz t)
{
	const PricingVersion *v = pricing_cache.versions;

	for (int i = 0; i < pricing_cache.count; i++)
		if (v[i].effective_from > t)
			return v[i].effective_from;
	return HM_TIME_MAX;
}

/*
 * Makes the relations and the caches current, and returns handles, locked
 * (with its primary key) until the transaction ends.  Invalidations are
 * accepted first, so that a version committed since the last call counts at
 * once, even in a transaction that already holds every lock taken here.
 * Taking a lock for the first time in a transaction processes invalidations
 * too: they may show the cached OIDs stale (a re-created extension), and
 * then they are found again.  After this, nothing in the call reloads a
 * cache, so pointers into them stay good until it returns.
 */
Relation
hm_price_prepare(Oid nsp)
{
	Relation	rel = NULL;

	hm_cache_watch(&hm_price_rels.cache);
	AcceptInvalidationMessages();
	for (int attempt = 0; rel == NULL; attempt++)
	{
		if (!hm_price_rels.cache.valid || hm_price_rels.nsp != nsp)
			load_relations(nsp);
		rel = attempt == 0 ? try_table_open(hm_price_rels.handles, AccessShareLock)
			: table_open(hm_price_rels.handles, AccessShareLock);
		if (rel != NULL && !hm_price_rels.cache.valid && attempt == 0)
		{
			table_close(rel, NoLock);
			rel = NULL;
		}
	}
	LockRelationOid(hm_price_rels.handles_pkey, AccessShareLock);
	hm_policy_prepare(hm_price_rels.policy);
	if (!pricing_cache.cache.valid)
		load_pricing();
	if (!premium_cache.cache.valid)
		load_premium();
	return rel;
}
