/*
 * src/refuse.c
 *	  The shared refusals (see refuse.h): one implementation each, called by
 *	  the C paths directly and by PL/pgSQL through the internal SQL
 *	  functions declared on the *_sql symbols at the end of this file.
 */
#include "refuse.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "ledger.h"
#include "spi_plan.h"

/* defined in handle_type.c: a handle as the database encoding shows it */
extern Datum handle_out(PG_FUNCTION_ARGS);

/* A time as a message shows it: timestamptz's output, as format('%s') gives */
static char *
timestamp_text(TimestampTz t)
{
	return DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(t)));
}

void
hm_refuse_held(const char *handle, const char *hold_reason)
{
	if (hold_reason != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_HM_HOLD),
				 errmsg("handle \"%s\" is under hold", handle),
				 errdetail("hold: %s", hold_reason)));
}

void
hm_refuse_transfer_locked(const char *handle, bool has_until, TimestampTz until,
						  TimestampTz as_of)
{
	if (has_until && until > as_of)
		ereport(ERROR,
				(errcode(ERRCODE_HM_TRANSFER_LOCK),
				 errmsg("handle \"%s\" is under its transfer lock", handle),
				 errdetail("It changed hands recently; the lock ends at %s.",
						   timestamp_text(until))));
}

void
hm_require_owner(const char *handle, bool has_owner, int64 owner_id, int64 account_id,
				 const char *what)
{
	if (!has_owner || owner_id != account_id)
		ereport(ERROR,
				(errcode(ERRCODE_HM_STATE),
				 errmsg("account %lld does not own handle \"%s\"", (long long) account_id, handle),
				 errdetail("Only the owner of a registered handle may %s it.", what)));
}

void
hm_refuse_own_handle(const char *handle, bool has_owner, int64 owner_id, int64 account_id)
{
	if (has_owner && owner_id == account_id)
		ereport(ERROR,
				(errcode(ERRCODE_HM_STATE),
				 errmsg("account %lld already owns handle \"%s\"", (long long) account_id, handle),
				 errdetail("A handle cannot change hands from an account to itself.")));
}

static HmPlan open_auction = HM_PLAN(
	"SELECT auction_id, ends_at FROM auctions WHERE handle = $1::handle AND state = 'open'",
	1, TEXTOID);

void
hm_refuse_auctioned(const char *handle, bool to_buyer)
{
	Datum		v[1] = {CStringGetTextDatum(handle)};
	bool		isnull;

	if (hm_plan_run(&open_auction, v, NULL) > 0)
	{
		int64		auction_id = hm_result_int64(0, 1);
		TimestampTz ends_at = DatumGetTimestampTz(hm_result(0, 2, &isnull));

		ereport(ERROR,
				(errcode(ERRCODE_HM_STATE),
				 errmsg("handle \"%s\" is being auctioned", handle),
				 errdetail("Auction %lld is open until %s.", (long long) auction_id,
						   timestamp_text(ends_at)),
				 to_buyer ? errhint("Bid with handle_market.bid().") : 0));
	}
}

void
hm_refuse_funds(int64 available, int64 needed)
{
	ereport(ERROR,
			(errcode(ERRCODE_HM_FUNDS),
			 errmsg("insufficient funds"),
			 errdetail("The wallet has %s available; this needs %s.",
					   hm_cents_text(available), hm_cents_text(needed)),
			 errhint("Deposit more with handle_market.deposit().")));
}

void
hm_refuse_unknown_account(int64 account_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_HM_ACCOUNT),
			 errmsg("account %lld does not exist", (long long) account_id),
			 errhint("Create it first with handle_market.upsert_account().")));
}

static HmPlan account_exists = HM_PLAN(
	"SELECT 1 FROM accounts WHERE account_id = $1",
	1, INT8OID);

void
hm_require_account(int64 account_id)
{
	Datum		v[1] = {Int64GetDatum(account_id)};

	if (hm_plan_run(&account_exists, v, NULL) == 0)
		hm_refuse_unknown_account(account_id);
}

void
hm_refuse_null_account(const char *argument)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("%s must not be null", argument),
			 errdetail("%s identifies the account to act for; NULL identifies none.", argument)));
}

static void refuse_null_argument(int argno, const char *function) pg_attribute_noreturn();

static void
refuse_null_argument(int argno, const char *function)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("argument %d of %s must not be null", argno, function),
			 errdetail("%s was called with NULL as argument %d, which it needs to act.", function, argno)));
}

/*
 * The API function's name: the implementation's without its underscore (and
 * without the _c of a C part behind a PL/pgSQL implementation).
 */
static const char *
api_name(FunctionCallInfo fcinfo)
{
	char	   *name = get_func_name(fcinfo->flinfo->fn_oid);
	size_t		len = strlen(name);

	if (len > 2 && strcmp(name + len - 2, "_c") == 0)
		name[len - 2] = '\0';
	return name[0] == '_' ? name + 1 : name;
}

void
hm_require_args(FunctionCallInfo fcinfo, int nargs)
{
	for (int i = 0; i < nargs; i++)
		if (PG_ARGISNULL(i))
			refuse_null_argument(i + 1, api_name(fcinfo));
}

/* The SQL faces, for PL/pgSQL (src/sql/65_internal.sql) */

static char *
handle_arg(FunctionCallInfo fcinfo, int i)
{
	if (PG_ARGISNULL(i))
		elog(ERROR, "%s: the handle must be given", get_func_name(fcinfo->flinfo->fn_oid));
	return DatumGetCString(DirectFunctionCall1(handle_out, PG_GETARG_DATUM(i)));
}

/* _refuse_held(handle, hold_reason) */
PG_FUNCTION_INFO_V1(hm_refuse_held_sql);
Datum
hm_refuse_held_sql(PG_FUNCTION_ARGS)
{
	if (!PG_ARGISNULL(1))
		hm_refuse_held(handle_arg(fcinfo, 0), text_to_cstring(PG_GETARG_TEXT_PP(1)));
	PG_RETURN_VOID();
}

/* _refuse_transfer_locked(handle, locked_until, as_of) */
PG_FUNCTION_INFO_V1(hm_refuse_transfer_locked_sql);
Datum
hm_refuse_transfer_locked_sql(PG_FUNCTION_ARGS)
{
	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2))
		hm_refuse_transfer_locked(handle_arg(fcinfo, 0), true, PG_GETARG_TIMESTAMPTZ(1),
								  PG_GETARG_TIMESTAMPTZ(2));
	PG_RETURN_VOID();
}

/* _require_owner(handle, owner_id, account_id, what): the callers checked account_id */
PG_FUNCTION_INFO_V1(hm_require_owner_sql);
Datum
hm_require_owner_sql(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3))
		elog(ERROR, "_require_owner: the account and the verb must be given");
	hm_require_owner(handle_arg(fcinfo, 0), !PG_ARGISNULL(1),
					 PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1), PG_GETARG_INT64(2),
					 text_to_cstring(PG_GETARG_TEXT_PP(3)));
	PG_RETURN_VOID();
}

/* _refuse_own_handle(handle, owner_id, account_id) */
PG_FUNCTION_INFO_V1(hm_refuse_own_handle_sql);
Datum
hm_refuse_own_handle_sql(PG_FUNCTION_ARGS)
{
	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2))
		hm_refuse_own_handle(handle_arg(fcinfo, 0), true, PG_GETARG_INT64(1),
							 PG_GETARG_INT64(2));
	PG_RETURN_VOID();
}

/* _no_open_auction(handle), under the extension's search_path (its SET) */
PG_FUNCTION_INFO_V1(hm_no_open_auction_sql);
Datum
hm_no_open_auction_sql(PG_FUNCTION_ARGS)
{
	char	   *handle = handle_arg(fcinfo, 0);

	SPI_connect();
	hm_refuse_auctioned(handle, false);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * _unknown_account(account_id, argument): HM011, or, for a NULL id, the
 * missing argument (22004) named as the caller calls it.
 */
PG_FUNCTION_INFO_V1(hm_unknown_account_sql);
Datum
hm_unknown_account_sql(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		hm_refuse_null_account(PG_ARGISNULL(1) ? "account_id" : text_to_cstring(PG_GETARG_TEXT_PP(1)));
	hm_refuse_unknown_account(PG_GETARG_INT64(0));
}

/* _require_args(function, VARIADIC missing boolean[]) */
PG_FUNCTION_INFO_V1(hm_require_args_sql);
Datum
hm_require_args_sql(PG_FUNCTION_ARGS)
{
	Datum	   *missing;
	bool	   *nulls;
	int			n;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		elog(ERROR, "_require_args: the function and the arguments must be given");
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), BOOLOID, 1, true, TYPALIGN_CHAR,
					  &missing, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i] && DatumGetBool(missing[i]))
			refuse_null_argument(i + 1, text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}
