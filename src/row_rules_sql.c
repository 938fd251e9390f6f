/*
 * src/row_rules_sql.c
 *	  The CHECK constraints of handles, ledger_accounts, transfers and the
 *	  outbox: one call of C per row, to the rules in src/core/row_rules.c.
 *
 * Each function returns true for a row that keeps every rule and raises
 * check_violation, naming the rule, for one that does not: a plain false
 * would let PostgreSQL say only which constraint failed, not why.  NULL
 * arguments pass, as they pass a CHECK.
 */
#include "handle_market.h"

#include "utils/builtins.h"

#include "core/normalize.h"
#include "core/row_rules.h"

static char *
arg_text(FunctionCallInfo fcinfo, int i)
{
	return PG_ARGISNULL(i) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(i));
}

static void
refuse(const char *table, const char *constraint, const char *rule)
{
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("new row for relation \"%s\" violates check constraint \"%s\"",
					table, constraint),
			 errdetail("The rule it breaks: %s.", rule)));
}

/* display, typed by someone, canonicalizes to handle (stored canonical, UTF-8) */
static bool
display_is_handle(text *handle, text *display)
{
	int			len;
	char	   *utf8 = hm_to_utf8(VARDATA_ANY(display), VARSIZE_ANY_EXHDR(display), &len);
	char		canon[HM_MAX_BYTES];
	size_t		canonlen;
	hm_error	err;

	if (hm_canonicalize(utf8, len, canon, &canonlen, &err) != HM_OK)
	{
		if (err.status == HM_ICU_FAILURE)
			hm_icu_failure(text_to_cstring(display), err.detail);
		return false;
	}
	return canonlen == VARSIZE_ANY_EXHDR(handle) &&
		memcmp(canon, VARDATA_ANY(handle), canonlen) == 0;
}

/*
 * handles_row_rules(handle, display, state, owner_id, released_at,
 * notice_at, list_price_cents, listed_at, hold_reason, held_at)
 */
PG_FUNCTION_INFO_V1(hm_handles_row_rules);
Datum
hm_handles_row_rules(PG_FUNCTION_ARGS)
{
	hm_handle_row r;
	const char *rule;

	r.display_is_handle = PG_ARGISNULL(0) || PG_ARGISNULL(1) ||
		display_is_handle(PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1));
	r.state = arg_text(fcinfo, 2);
	r.has_owner = !PG_ARGISNULL(3);
	r.has_released_at = !PG_ARGISNULL(4);
	r.has_notice_at = !PG_ARGISNULL(5);
	r.has_list_price = !PG_ARGISNULL(6);
	r.list_price = r.has_list_price ? PG_GETARG_INT64(6) : 0;
	r.has_listed_at = !PG_ARGISNULL(7);
	r.has_hold_reason = !PG_ARGISNULL(8);
	r.has_held_at = !PG_ARGISNULL(9);
	rule = hm_handle_row_broken_rule(&r);
	if (rule != NULL)
		refuse("handles", "handles_row_rules", rule);
	PG_RETURN_BOOL(true);
}

/* ledger_accounts_row_rules(kind, account_id, slot, balance, held) */
PG_FUNCTION_INFO_V1(hm_ledger_accounts_row_rules);
Datum
hm_ledger_accounts_row_rules(PG_FUNCTION_ARGS)
{
	hm_ledger_account_row r;
	const char *rule;

	r.kind = arg_text(fcinfo, 0);
	r.has_account = !PG_ARGISNULL(1);
	r.has_slot = !PG_ARGISNULL(2);
	r.has_balance = !PG_ARGISNULL(3);
	r.has_held = !PG_ARGISNULL(4);
	rule = hm_ledger_account_row_broken_rule(&r);
	if (rule != NULL)
		refuse("ledger_accounts", "ledger_accounts_row_rules", rule);
	PG_RETURN_BOOL(true);
}

/* transfers_row_rules(idempotency_key, kind) */
PG_FUNCTION_INFO_V1(hm_transfers_row_rules);
Datum
hm_transfers_row_rules(PG_FUNCTION_ARGS)
{
	const char *rule = hm_transfer_row_broken_rule(arg_text(fcinfo, 1), arg_text(fcinfo, 0));

	if (rule != NULL)
		refuse("transfers", "transfers_row_rules", rule);
	PG_RETURN_BOOL(true);
}

/* outbox_row_rules(kind) */
PG_FUNCTION_INFO_V1(hm_outbox_row_rules);
Datum
hm_outbox_row_rules(PG_FUNCTION_ARGS)
{
	const char *rule = hm_outbox_row_broken_rule(arg_text(fcinfo, 0));

	if (rule != NULL)
		refuse("outbox", "outbox_row_rules", rule);
	PG_RETURN_BOOL(true);
}
