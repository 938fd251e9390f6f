/*
 * src/ledger.c
 *	  The ledger: idempotent transfers with balanced, append-only entries;
 *	  deposit() and withdraw(); the commit-time balance check.
 */
#include "handle_market.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "funcapi.h"
#include "common/int.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "core/money.h"
#include "ledger.h"
#include "refuse.h"
#include "spi_plan.h"


char *
hm_cents_text(int64 cents)
{
	char	   *buf = palloc(HM_MONEY_FORMAT_MAX);

	hm_money_format(cents, buf, HM_MONEY_FORMAT_MAX);
	return buf;
}

/* dollars(cents): the same words in SQL, without a SQL body to plan */
PG_FUNCTION_INFO_V1(hm_dollars);
Datum
hm_dollars(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(hm_cents_text(PG_GETARG_INT64(0))));
}

int64
hm_fee_account(int64 transfer_id)
{
	return HM_FEE_BASE + transfer_id % HM_LEDGER_SLOTS;
}

int64
hm_payments_account(int64 transfer_id)
{
	return HM_PAYMENTS_BASE + transfer_id % HM_LEDGER_SLOTS;
}

static HmPlan wallet_find = HM_PLAN(
	"SELECT ledger_account_id FROM ledger_accounts WHERE account_id = $1",
	1, INT8OID);
static HmPlan wallet_create = HM_PLAN(
	"INSERT INTO ledger_accounts (kind, account_id, balance, held) VALUES ('wallet', $1, 0, 0) "
	"ON CONFLICT (account_id) DO NOTHING RETURNING ledger_account_id",
	1, INT8OID);

int64
hm_wallet(int64 account_id, bool create)
{
	Datum		v[1] = {Int64GetDatum(account_id)};

	if (hm_plan_run(&wallet_find, v, NULL) > 0)
		return hm_result_int64(0, 1);
	if (!create)
		return 0;
	/* a concurrent first deposit may make it first: then it is found */
	if (hm_plan_run(&wallet_create, v, NULL) > 0 || hm_plan_run(&wallet_find, v, NULL) > 0)
		return hm_result_int64(0, 1);
	elog(ERROR, "could not create the wallet of account %lld", (long long) account_id);
	return 0;					/* keep the compiler quiet */
}

/*
 * Keys are scoped to the account that acts (as Stripe scopes them to an
 * account): one account's key never blocks, answers or reveals another's
 * request.  Closings carry no key; the hold they close identifies them.
 */
static HmPlan transfer_claim = HM_PLAN(
	"INSERT INTO transfers (key_account_id, idempotency_key, kind, request, handle, at) "
	"VALUES ($1, $2, $3, $4, $5::handle, $6) "
	"ON CONFLICT (key_account_id, idempotency_key) WHERE idempotency_key IS NOT NULL "
	"DO NOTHING RETURNING transfer_id",
	6, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID);
static HmPlan transfer_by_key = HM_PLAN(
	"SELECT transfer_id, kind, request FROM transfers "
	"WHERE key_account_id = $1 AND idempotency_key = $2",
	2, INT8OID, TEXTOID);
static HmPlan closing_claim = HM_PLAN(
	"INSERT INTO transfers (kind, request, handle, at, pending_id) "
	"VALUES ($1, $2, $3::handle, $4, $5) "
	"ON CONFLICT (pending_id) WHERE pending_id IS NOT NULL DO NOTHING RETURNING transfer_id",
	5, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, INT8OID);
static HmPlan closing_by_hold = HM_PLAN(
	"SELECT transfer_id FROM transfers WHERE pending_id = $1", 1, INT8OID);

static void
require_key(const char *key)
{
	if (key[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("idempotency key must not be empty"),
				 errhint("Send one key per intended payment, and the same key when you retry it.")));
}

/*
 * The two refusals of a used key, for transfers and for the keyed calls
 * that move no money alike: the key's first use is invisible to this
 * snapshot (40001), or it was for another request of the same account
 * (HM006; detail says what the first use was).
 */
static void refuse_unseen_key(const char *key) pg_attribute_noreturn();
static void refuse_reused_key(const char *key, const char *detail) pg_attribute_noreturn();

static void
refuse_unseen_key(const char *key)
{
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("idempotency key \"%s\" was used by a transaction this one cannot see", key),
			 errhint("Retry in a READ COMMITTED transaction.")));
}

static void
refuse_reused_key(const char *key, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_HM_IDEMPOTENCY),
			 errmsg("idempotency key \"%s\" was already used for another request", key),
			 errdetail("%s", detail),
			 errhint("Use a new key for a new request.")));
}

/*
 * The transfer a used key made, when this is the same request again (a
 * retry); HM006 when it is another.  False when the key is unused, or, with
 * must_exist, 40001 when its transfer is invisible to this snapshot.  The
 * detail shows the first request, which was the same account's.
 */
static bool
replay_of(int64 account_id, const char *key, const char *kind, const char *request,
		  bool must_exist, int64 *transfer_id)
{
	Datum		v[2] = {Int64GetDatum(account_id), CStringGetTextDatum(key)};
	char	   *first_kind;
	char	   *first_request;

	if (hm_plan_run(&transfer_by_key, v, NULL) == 0)
	{
		if (must_exist)
			refuse_unseen_key(key);
		return false;
	}
	*transfer_id = hm_result_int64(0, 1);
	first_kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	first_request = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	if (strcmp(first_kind, kind) != 0 || strcmp(first_request, request) != 0)
		refuse_reused_key(key, psprintf("Account %lld made transfer %lld with it by %s; this request is %s.",
										(long long) account_id, (long long) *transfer_id,
										first_request, request));
	return true;
}

bool
hm_claim_transfer(int64 account_id, const char *key, const char *kind, const char *request,
				  const char *handle, TimestampTz at, int64 *transfer_id)
{
	Datum		v[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', handle ? ' ' : 'n', ' '};

	require_key(key);
	v[0] = Int64GetDatum(account_id);
	v[1] = CStringGetTextDatum(key);
	v[2] = CStringGetTextDatum(kind);
	v[3] = CStringGetTextDatum(request);
	v[4] = handle ? CStringGetTextDatum(handle) : (Datum) 0;
	v[5] = TimestampTzGetDatum(at);
	if (hm_plan_run(&transfer_claim, v, nulls) > 0)
	{
		*transfer_id = hm_result_int64(0, 1);
		return true;
	}
	/* the key was used: by this same request (a retry) or another one */
	replay_of(account_id, key, kind, request, true, transfer_id);
	return false;
}

bool
hm_claim_closing(const char *kind, const char *request, const char *handle, TimestampTz at,
				 int64 pending_id, int64 *transfer_id)
{
	Datum		v[5];
	char		nulls[5] = {' ', ' ', handle ? ' ' : 'n', ' ', ' '};

	v[0] = CStringGetTextDatum(kind);
	v[1] = CStringGetTextDatum(request);
	v[2] = handle ? CStringGetTextDatum(handle) : (Datum) 0;
	v[3] = TimestampTzGetDatum(at);
	v[4] = Int64GetDatum(pending_id);
	if (hm_plan_run(&closing_claim, v, nulls) > 0)
	{
		*transfer_id = hm_result_int64(0, 1);
		return true;
	}
	v[0] = Int64GetDatum(pending_id);
	if (hm_plan_run(&closing_by_hold, v, NULL) == 0)
		elog(ERROR, "hold %lld is closed by a transfer this transaction cannot see",
			 (long long) pending_id);
	*transfer_id = hm_result_int64(0, 1);
	return false;
}

/*
 * _replayed(account_id, key, kind, request) RETURNS bigint: for a caller
 * that must lock rows before it claims its key (bid, make_offer), the
 * transfer a retry of this request already made; NULL for an unused key;
 * HM006 for another request of the same account.  The same rules as every
 * claim, from the same code.
 */
PG_FUNCTION_INFO_V1(hm_replayed);
Datum
hm_replayed(PG_FUNCTION_ARGS)
{
	char	   *key;
	int64		transfer_id;
	bool		found;

	hm_require_args(fcinfo, 4);
	key = text_to_cstring(PG_GETARG_TEXT_PP(1));
	require_key(key);
	SPI_connect();
	found = replay_of(PG_GETARG_INT64(0), key, text_to_cstring(PG_GETARG_TEXT_PP(2)),
					  text_to_cstring(PG_GETARG_TEXT_PP(3)), false, &transfer_id);
	SPI_finish();
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_INT64(transfer_id);
}

/*
 * Keyed calls that move no money (listings, auctions, offers): the same
 * scoping and the same replay rule, in the requests table.  A NULL key
 * claims nothing (the call is then not safe to retry).
 */
static HmPlan request_claim = HM_PLAN(
	"INSERT INTO requests (account_id, idempotency_key, request, at) VALUES ($1, $2, $3, $4) "
	"ON CONFLICT (account_id, idempotency_key) DO NOTHING RETURNING account_id",
	4, INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID);
static HmPlan request_by_key = HM_PLAN(
	"SELECT request, result FROM requests WHERE account_id = $1 AND idempotency_key = $2",
	2, INT8OID, TEXTOID);
static HmPlan request_done = HM_PLAN(
	"UPDATE requests SET result = $3 WHERE account_id = $1 AND idempotency_key = $2",
	3, INT8OID, TEXTOID, INT8OID);

/*
 * _claim_request(account_id, key, request, at, OUT replayed boolean, OUT
 * result bigint): replayed is true, with what the first call returned, when
 * this is a retry of the same request; HM006 when the account used the key
 * for another request.  A concurrent claim of the same key waits for the
 * first to commit or abort.
 */
PG_FUNCTION_INFO_V1(hm_claim_request);
Datum
hm_claim_request(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		out[2] = {BoolGetDatum(false), (Datum) 0};
	bool		out_null[2] = {false, true};
	Datum		v[4];
	char	   *key;
	char	   *request;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "_claim_request must return a composite type");
	if (PG_ARGISNULL(1))
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), out, out_null)));
	hm_require_args(fcinfo, 4);
	key = text_to_cstring(PG_GETARG_TEXT_PP(1));
	request = text_to_cstring(PG_GETARG_TEXT_PP(2));
	require_key(key);
	v[0] = PG_GETARG_DATUM(0);
	v[1] = CStringGetTextDatum(key);
	v[2] = CStringGetTextDatum(request);
	v[3] = PG_GETARG_DATUM(3);
	SPI_connect();
	if (hm_plan_run(&request_claim, v, NULL) == 0)
	{
		char	   *first;

		if (hm_plan_run(&request_by_key, v, NULL) == 0)
			refuse_unseen_key(key);
		first = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (strcmp(first, request) != 0)
			refuse_reused_key(key, psprintf("Account %lld used it for %s; this request is %s.",
											(long long) PG_GETARG_INT64(0), first, request));
		out[0] = BoolGetDatum(true);
		out[1] = hm_result(0, 2, &out_null[1]);
	}
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), out, out_null)));
}

/* _request_done(account_id, key, result): what a keyed call returned */
PG_FUNCTION_INFO_V1(hm_request_done);
Datum
hm_request_done(PG_FUNCTION_ARGS)
{
	Datum		v[3];
	char		nulls[3] = {' ', ' ', PG_ARGISNULL(2) ? 'n' : ' '};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_VOID();
	v[0] = PG_GETARG_DATUM(0);
	v[1] = PG_GETARG_DATUM(1);
	v[2] = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
	SPI_connect();
	hm_plan_run(&request_done, v, nulls);
	SPI_finish();
	PG_RETURN_VOID();
}

static HmPlan wallets_lock = HM_PLAN(
	"SELECT ledger_account_id, balance, held FROM ledger_accounts "
	"WHERE ledger_account_id = ANY ($1) ORDER BY ledger_account_id FOR NO KEY UPDATE",
	1, INT8ARRAYOID);
static HmPlan legs_write = HM_PLAN(
	"WITH v AS (SELECT * FROM unnest($2::int8[], $3::int8[], $4::int8[]) v(id, amount, held)), "
	"w AS (UPDATE ledger_accounts l SET balance = l.balance + v.amount, held = l.held + v.held "
	"      FROM v WHERE l.ledger_account_id = v.id AND l.kind = 'wallet') "
	"INSERT INTO entries (transfer_id, ledger_account_id, amount) SELECT $1, id, amount FROM v",
	4, INT8OID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID);

static Datum
int8_array(int64 *values, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * n);

	for (int i = 0; i < n; i++)
		d[i] = Int64GetDatum(values[i]);
	return PointerGetDatum(construct_array(d, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
										   TYPALIGN_DOUBLE));
}

/* The legs must sum to zero, and none is empty */
static void
check_legs(int64 transfer_id, const HmLeg *legs, int nlegs)
{
	int64		sum = 0;

	for (int i = 0; i < nlegs; i++)
		if (legs[i].amount == 0 ||
			pg_add_s64_overflow(sum, legs[i].amount, &sum))
			elog(ERROR, "transfer %lld has an empty or out-of-range leg", (long long) transfer_id);
	if (sum != 0)
		elog(ERROR, "the legs of transfer %lld sum to %lld, not 0",
			 (long long) transfer_id, (long long) sum);
}

/* Locks the legs' wallets in ascending id order, the order everyone uses */
static HmWalletState *
lock_wallets(int64 transfer_id, const HmLeg *legs, int nlegs, int *nlocked)
{
	int64	   *ids = palloc(sizeof(int64) * nlegs);
	int			nwallets = 0;
	Datum		v[1];
	uint64		nrows;
	HmWalletState *states;

	for (int i = 0; i < nlegs; i++)
		if (legs[i].wallet)
			ids[nwallets++] = legs[i].ledger_account_id;
	v[0] = int8_array(ids, nwallets);
	nrows = hm_plan_run(&wallets_lock, v, NULL);
	if (nrows != (uint64) nwallets)
		elog(ERROR, "a wallet of transfer %lld does not exist", (long long) transfer_id);
	states = palloc(sizeof(HmWalletState) * (nrows + 1));
	for (uint64 r = 0; r < nrows; r++)
	{
		states[r].ledger_account_id = hm_result_int64(r, 1);
		states[r].balance = hm_result_int64(r, 2);
		states[r].held = hm_result_int64(r, 3);
	}
	*nlocked = (int) nrows;
	return states;
}

static const HmWalletState *
find_wallet(const HmWalletState *locked, int nlocked, int64 id)
{
	for (int i = 0; i < nlocked; i++)
		if (locked[i].ledger_account_id == id)
			return &locked[i];
	return NULL;
}

/*
 * No wallet goes below what it holds (HM005) or past bigint (HM013): each
 * wallet's legs applied in turn to its locked balance and held money.
 */
static void
check_wallets(int64 transfer_id, const HmLeg *legs, int nlegs,
			  const HmWalletState *locked, int nlocked)
{
	for (int w = 0; w < nlocked; w++)
	{
		int64		id = locked[w].ledger_account_id;
		int64		balance = locked[w].balance;
		int64		held = locked[w].held;

		for (int i = 0; i < nlegs; i++)
		{
			int64		after;

			if (!legs[i].wallet || legs[i].ledger_account_id != id)
				continue;
			if (pg_add_s64_overflow(held, legs[i].held_delta, &held) || held < 0)
				elog(ERROR, "transfer %lld would release more than wallet %lld holds",
					 (long long) transfer_id, (long long) id);
			if (pg_add_s64_overflow(balance, legs[i].amount, &after))
				ereport(ERROR,
						(errcode(ERRCODE_HM_OVERFLOW),
						 errmsg("the balance of ledger account %lld would leave the range of bigint cents",
								(long long) id),
						 errdetail("The balance is %s; the transfer adds %s.",
								   hm_cents_text(balance), hm_cents_text(legs[i].amount))));
			if (after < held)
				hm_refuse_funds(balance - held, -legs[i].amount);
			balance = after;
		}
	}
}

/* Appends the entries and moves the wallets' balances and held money */
static void
write_legs(int64 transfer_id, const HmLeg *legs, int nlegs)
{
	int64	   *ids = palloc(sizeof(int64) * nlegs);
	int64	   *amounts = palloc(sizeof(int64) * nlegs);
	int64	   *held_deltas = palloc(sizeof(int64) * nlegs);
	Datum		v[4];

	for (int i = 0; i < nlegs; i++)
	{
		ids[i] = legs[i].ledger_account_id;
		amounts[i] = legs[i].amount;
		held_deltas[i] = legs[i].wallet ? legs[i].held_delta : 0;
	}
	v[0] = Int64GetDatum(transfer_id);
	v[1] = int8_array(ids, nlegs);
	v[2] = int8_array(amounts, nlegs);
	v[3] = int8_array(held_deltas, nlegs);
	if (hm_plan_run(&legs_write, v, NULL) != (uint64) nlegs)
		elog(ERROR, "transfer %lld: not every leg was written", (long long) transfer_id);
}

void
hm_post(int64 transfer_id, HmLeg *legs, int nlegs)
{
	hm_post_locked(transfer_id, legs, nlegs, NULL, 0);
}

void
hm_post_locked(int64 transfer_id, HmLeg *legs, int nlegs,
			   const HmWalletState *locked, int nlocked)
{
	HmWalletState *mine = palloc(sizeof(HmWalletState) * nlegs);
	int			nmine = 0;
	bool		all_locked = true;

	check_legs(transfer_id, legs, nlegs);
	/* the legs' wallets, as the caller read them, each once */
	for (int i = 0; i < nlegs && all_locked; i++)
	{
		const HmWalletState *w;

		if (!legs[i].wallet || find_wallet(mine, nmine, legs[i].ledger_account_id))
			continue;
		w = find_wallet(locked, nlocked, legs[i].ledger_account_id);
		if (w == NULL)
			all_locked = false;
		else
			mine[nmine++] = *w;
	}
	if (!all_locked)
		mine = lock_wallets(transfer_id, legs, nlegs, &nmine);
	check_wallets(transfer_id, legs, nlegs, mine, nmine);
	write_legs(transfer_id, legs, nlegs);
}

static void
require_positive(const char *what, int64 amount)
{
	if (amount <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be positive", what),
				 errdetail("It was %lld cents.", (long long) amount)));
}

/* deposit and withdraw: one wallet leg and one payments leg */
static int64
move_money(FunctionCallInfo fcinfo, const char *kind, int sign)
{
	int64		account_id;
	int64		amount;
	char	   *key;
	TimestampTz at;
	char	   *request;
	int64		transfer_id;

	hm_require_args(fcinfo, 4);
	account_id = PG_GETARG_INT64(0);
	amount = PG_GETARG_INT64(1);
	key = text_to_cstring(PG_GETARG_TEXT_PP(2));
	at = PG_GETARG_TIMESTAMPTZ(3);
	require_positive("amount_cents", amount);

	SPI_connect();
	hm_require_account(account_id);
	request = psprintf("%s(account_id => %lld, amount_cents => %lld)",
					   kind, (long long) account_id, (long long) amount);
	if (hm_claim_transfer(account_id, key, sign > 0 ? "deposit" : "withdrawal", request, NULL, at,
						  &transfer_id))
	{
		HmLeg		legs[2];

		legs[0].ledger_account_id = hm_wallet(account_id, true);
		legs[0].amount = sign * amount;
		legs[0].wallet = true;
		legs[1].ledger_account_id = hm_payments_account(transfer_id);
		legs[1].amount = -sign * amount;
		legs[1].wallet = false;
		legs[0].held_delta = legs[1].held_delta = 0;
		hm_post(transfer_id, legs, 2);
	}
	SPI_finish();
	return transfer_id;
}

PG_FUNCTION_INFO_V1(hm_deposit);
Datum
hm_deposit(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(move_money(fcinfo, "deposit", 1));
}

PG_FUNCTION_INFO_V1(hm_withdraw);
Datum
hm_withdraw(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(move_money(fcinfo, "withdraw", -1));
}

/*
 * The deferred constraint trigger on entries: at commit, each transfer that
 * got entries in this transaction sums to zero.  Deferred triggers fire in
 * the order of the inserts, so the legs of one transfer come one after the
 * other: a transfer is checked at its first leg, once.
 */
static TransactionId checked_xid = InvalidTransactionId;
static int64 checked_transfer = -1;

/*
 * A trigger runs under the search_path of whoever commits, so this one
 * statement names its table; the plan is remade if the table is another.
 */
static Oid	transfer_sum_relid = InvalidOid;
static SPIPlanPtr transfer_sum_plan = NULL;

static int64
transfer_sum(Relation entries, int64 transfer_id)
{
	Datum		v[1] = {Int64GetDatum(transfer_id)};
	Oid			types[1] = {INT8OID};

	if (transfer_sum_plan == NULL || transfer_sum_relid != RelationGetRelid(entries))
	{
		char	   *sql = psprintf("SELECT COALESCE(pg_catalog.sum(amount), 0)::pg_catalog.int8 FROM %s "
								   "WHERE transfer_id OPERATOR(pg_catalog.=) $1",
								   quote_qualified_identifier(get_namespace_name(RelationGetNamespace(entries)),
															  RelationGetRelationName(entries)));
		SPIPlanPtr	plan = SPI_prepare(sql, 1, types);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare \"%s\"", sql);
		if (transfer_sum_plan != NULL)
			SPI_freeplan(transfer_sum_plan);
		transfer_sum_plan = plan;
		transfer_sum_relid = RelationGetRelid(entries);
	}
	if (SPI_execute_plan(transfer_sum_plan, v, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not sum the entries of transfer %lld", (long long) transfer_id);
	return hm_result_int64(0, 1);
}

PG_FUNCTION_INFO_V1(hm_entries_balanced);
Datum
hm_entries_balanced(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	bool		isnull;
	int64		transfer_id;
	TransactionId xid = GetTopTransactionId();
	int64		sum;
	Oid			save_user;
	int			save_sec;
	int			save_nestlevel;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		elog(ERROR, "hm_entries_balanced must be an AFTER INSERT trigger");
	transfer_id = DatumGetInt64(heap_getattr(trigdata->tg_trigtuple,
											 SPI_fnumber(trigdata->tg_relation->rd_att, "transfer_id"),
											 trigdata->tg_relation->rd_att, &isnull));
	if (xid == checked_xid && transfer_id == checked_transfer)
		return PointerGetDatum(NULL);

	/*
	 * As the table's owner, as PostgreSQL's own foreign-key triggers do: the
	 * trigger fires at the COMMIT of whoever wrote the entries, and the
	 * application's role has no privilege on the table (the API functions
	 * that wrote it are SECURITY DEFINER, but they have returned by now).
	 * Under the owner's identity nothing may resolve through the committing
	 * session's search_path (a role that planted its own sum() or = in a
	 * schema ahead of pg_catalog would run it as the owner), so the path is
	 * pinned for the statement, every name in it is qualified, and the
	 * operation is restricted as a maintenance command's is.
	 */
	GetUserIdAndSecContext(&save_user, &save_sec);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	SetUserIdAndSecContext(RelationGetForm(trigdata->tg_relation)->relowner,
						   save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS |
						   SECURITY_RESTRICTED_OPERATION);
	SPI_connect();
	sum = transfer_sum(trigdata->tg_relation, transfer_id);
	SPI_finish();
	SetUserIdAndSecContext(save_user, save_sec);
	AtEOXact_GUC(false, save_nestlevel);
	if (sum != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("transfer %lld does not balance", (long long) transfer_id),
				 errdetail("Its entries sum to %lld cents, not 0.", (long long) sum)));
	checked_xid = xid;
	checked_transfer = transfer_id;
	return PointerGetDatum(NULL);
}
