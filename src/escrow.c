/*
 * src/escrow.c
 *	  Pending holds: the money a bid or an offer sets aside (TigerBeetle's
 *	  two-phase transfers).
 *
 * A hold is a transfer of kind 'hold' under the caller's idempotency key.
 * It writes no entries: it raises the wallet's held money, which lowers the
 * available balance (balance - held) at once, and the wallet's CHECK keeps
 * held <= balance, so nobody holds money they lack.  It ends in exactly one
 * closing transfer: a 'hold_void' (outbid, cancelled, expired), which gives
 * the held money back, or a 'hold_post' (market.c: the sale happens), whose
 * entries move the money and release the hold in the same statement.  The
 * closing transfer has no idempotency key: it is the one transfer whose
 * pending_id is the hold (a unique column), so a hold can be closed once
 * only, and no caller's key can stand in its way.
 */
#include "handle_market.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "escrow.h"
#include "ledger.h"
#include "refuse.h"
#include "spi_plan.h"

static HmPlan held_add = HM_PLAN(
	"UPDATE ledger_accounts SET held = held + $2 "
	" WHERE ledger_account_id = $1 AND balance - held >= $2 RETURNING held",
	2, INT8OID, INT8OID);
static HmPlan available = HM_PLAN(
	"SELECT balance - held FROM ledger_accounts WHERE ledger_account_id = $1",
	1, INT8OID);
static HmPlan hold_insert = HM_PLAN(
	"INSERT INTO holds (hold_id, account_id, ledger_account_id, amount, handle, opened_at) "
	"VALUES ($1, $2, $3, $4, $5::handle, $6)",
	6, INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID, TIMESTAMPTZOID);

/*
 * _hold_open(account_id, amount_cents, idempotency_key, request, handle, at,
 *			  OUT hold_id, OUT created): sets money aside; created is false
 *			  for a replay of the same request.
 */
PG_FUNCTION_INFO_V1(hm_hold_open);
Datum
hm_hold_open(PG_FUNCTION_ARGS)
{
	int64		account_id;
	int64		amount;
	TimestampTz at;
	int64		hold_id;
	bool		created;
	TupleDesc	desc;
	Datum		out[2];
	bool		out_null[2] = {false, false};

	hm_require_args(fcinfo, 6);
	account_id = PG_GETARG_INT64(0);
	amount = PG_GETARG_INT64(1);
	at = PG_GETARG_TIMESTAMPTZ(5);
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "_hold_open must return a record");
	if (amount <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("amount_cents must be positive"),
				 errdetail("It was %lld cents.", (long long) amount)));

	SPI_connect();
	hm_require_account(account_id);
	created = hm_claim_transfer(account_id, text_to_cstring(PG_GETARG_TEXT_PP(2)), "hold",
								text_to_cstring(PG_GETARG_TEXT_PP(3)),
								text_to_cstring(PG_GETARG_TEXT_PP(4)), at, &hold_id);
	if (created)
	{
		int64		wallet = hm_wallet(account_id, false);
		Datum		v[6];

		v[0] = Int64GetDatum(wallet);
		v[1] = Int64GetDatum(amount);
		if (wallet == 0 || hm_plan_run(&held_add, v, NULL) == 0)
		{
			int64		have = 0;

			if (wallet != 0 && hm_plan_run(&available, v, NULL) > 0)
				have = hm_result_int64(0, 1);
			hm_refuse_funds(have, amount);
		}
		v[0] = Int64GetDatum(hold_id);
		v[1] = Int64GetDatum(account_id);
		v[2] = Int64GetDatum(wallet);
		v[3] = Int64GetDatum(amount);
		v[4] = PG_GETARG_DATUM(4);
		v[5] = TimestampTzGetDatum(at);
		hm_plan_run(&hold_insert, v, NULL);
	}
	SPI_finish();

	out[0] = Int64GetDatum(hold_id);
	out[1] = BoolGetDatum(created);
	desc = BlessTupleDesc(desc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, out, out_null)));
}

static HmPlan hold_lock = HM_PLAN(
	"SELECT account_id, ledger_account_id, amount, state, closed_by, handle::text "
	"  FROM holds WHERE hold_id = $1 FOR UPDATE",
	1, INT8OID);
static HmPlan hold_close = HM_PLAN(
	"UPDATE holds SET state = $2, closed_by = $3, closed_at = $4 WHERE hold_id = $1",
	4, INT8OID, TEXTOID, INT8OID, TIMESTAMPTZOID);
static HmPlan held_release = HM_PLAN(
	"UPDATE ledger_accounts SET held = held - $2 "
	" WHERE ledger_account_id = $1 AND held >= $2 RETURNING held",
	2, INT8OID, INT8OID);

HmHold
hm_hold_lock(int64 hold_id)
{
	Datum		v[1] = {Int64GetDatum(hold_id)};
	HmHold		hold;
	bool		isnull;

	if (hm_plan_run(&hold_lock, v, NULL) == 0)
		elog(ERROR, "hold %lld does not exist", (long long) hold_id);
	hold.hold_id = hold_id;
	hold.account_id = hm_result_int64(0, 1);
	hold.wallet = hm_result_int64(0, 2);
	hold.amount = hm_result_int64(0, 3);
	hold.state = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	hold.closed_by = DatumGetInt64(hm_result(0, 5, &isnull));
	hold.handle = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6);
	return hold;
}

void
hm_hold_mark(const HmHold *hold, const char *state, int64 transfer_id, TimestampTz at)
{
	Datum		v[4] = {Int64GetDatum(hold->hold_id), CStringGetTextDatum(state),
	Int64GetDatum(transfer_id), TimestampTzGetDatum(at)};

	hm_plan_run(&hold_close, v, NULL);
}

/*
 * _hold_void(hold_id, at) RETURNS bigint: gives the held money back; the
 * void's transfer id.  Voiding a voided hold returns the same void.
 */
PG_FUNCTION_INFO_V1(hm_hold_void);
Datum
hm_hold_void(PG_FUNCTION_ARGS)
{
	int64		hold_id;
	TimestampTz at;
	HmHold		hold;
	int64		transfer_id;
	Datum		v[2];

	hm_require_args(fcinfo, 2);
	hold_id = PG_GETARG_INT64(0);
	at = PG_GETARG_TIMESTAMPTZ(1);

	SPI_connect();
	hold = hm_hold_lock(hold_id);
	if (strcmp(hold.state, "voided") == 0)
	{
		SPI_finish();
		PG_RETURN_INT64(hold.closed_by);
	}
	if (strcmp(hold.state, "pending") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_HM_STATE),
				 errmsg("hold %lld was already posted", (long long) hold_id),
				 errdetail("Transfer %lld paid with it.", (long long) hold.closed_by)));
	if (!hm_claim_closing("hold_void",
						  psprintf("void(hold_id => %lld)", (long long) hold_id),
						  hold.handle, at, hold_id, &transfer_id))
		elog(ERROR, "hold %lld is pending but its void %lld exists",
			 (long long) hold_id, (long long) transfer_id);
	v[0] = Int64GetDatum(hold.wallet);
	v[1] = Int64GetDatum(hold.amount);
	if (hm_plan_run(&held_release, v, NULL) == 0)
		elog(ERROR, "wallet %lld holds less than hold %lld", (long long) hold.wallet,
			 (long long) hold_id);
	hm_hold_mark(&hold, "voided", transfer_id, at);
	SPI_finish();
	PG_RETURN_INT64(transfer_id);
}
