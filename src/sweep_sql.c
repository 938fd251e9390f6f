/*
 * src/sweep_sql.c
 *	  SQL access to the release sweep's decision (src/core/lifecycle.c).
 *
 * release_batch() asks this for every live handle of a batch, so it is C:
 * a SQL CASE over the same inputs costs the sweep more than its updates.
 */
#include "handle_market.h"

#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "core/lifecycle.h"

/*
 * release_decision(state, notice_at, notice_period, notice_inactive_after,
 *                  last_active_at, exempt, inactive_after, as_of)
 * returns 'notice', 'revert', 'release' or NULL (nothing to do).  notice_at
 * and the notice's policy periods are read only for an at_risk handle; any
 * other NULL input means nothing to do.
 */
PG_FUNCTION_INFO_V1(hm_release_decision);
Datum
hm_release_decision(PG_FUNCTION_ARGS)
{
	hm_sweep_input in;
	const char *state;
	const char *action;

	for (int i = 4; i < 8; i++)
		if (PG_ARGISNULL(i))
			PG_RETURN_NULL();
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strcmp(state, "at_risk") == 0)
		in.at_risk = true;
	else if (strcmp(state, "registered") == 0)
		in.at_risk = false;
	else
		PG_RETURN_NULL();

	in.last_active = PG_GETARG_TIMESTAMPTZ(4);
	in.exempt = PG_GETARG_BOOL(5);
	in.inactive_after = hm_interval_usecs(PG_GETARG_INTERVAL_P(6));
	in.as_of = PG_GETARG_TIMESTAMPTZ(7);
	in.notice_at = in.notice_period = in.notice_inactive_after = 0;
	if (in.at_risk)
	{
		if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
			PG_RETURN_NULL();
		in.notice_at = PG_GETARG_TIMESTAMPTZ(1);
		in.notice_period = hm_interval_usecs(PG_GETARG_INTERVAL_P(2));
		in.notice_inactive_after = hm_interval_usecs(PG_GETARG_INTERVAL_P(3));
	}

	action = hm_sweep_action_name(hm_sweep_decide(&in));
	if (action == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(action));
}
