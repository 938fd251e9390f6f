/*
 * src/lifecycle_sql.c
 *	  SQL access to the lifecycle arithmetic of src/core/lifecycle.c.
 */
#include "handle_market.h"

#include "access/htup_details.h"
#include "common/int.h"
#include "datatype/timestamp.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "core/lifecycle.h"

/*
 * Policy periods are intervals without a month part (the policy table checks
 * that): a month has no fixed length, and a clock must not depend on the
 * calendar it runs through.  Like the core's arithmetic, the result
 * saturates rather than overflows.
 */
int64
hm_interval_usecs(const Interval *i)
{
	int64		days;

	if (i->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("policy periods must be given in days, hours or smaller units"),
				 errdetail("The interval has a month part of %d.", i->month)));
	if (pg_mul_s64_overflow(i->day, USECS_PER_DAY, &days))
		days = i->day > 0 ? HM_TIME_MAX : HM_TIME_MIN;
	return hm_time_add(days, i->time);
}

PG_FUNCTION_INFO_V1(hm_activity_status);
Datum
hm_activity_status(PG_FUNCTION_ARGS)
{
	TimestampTz last_active = PG_GETARG_TIMESTAMPTZ(0);
	TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(1);
	int64		after = hm_interval_usecs(PG_GETARG_INTERVAL_P(2));

	PG_RETURN_TEXT_P(cstring_to_text(hm_is_inactive(last_active, as_of, after)
									 ? "inactive" : "active"));
}

PG_FUNCTION_INFO_V1(hm_release_phase_sql);
Datum
hm_release_phase_sql(PG_FUNCTION_ARGS)
{
	TimestampTz released_at = PG_GETARG_TIMESTAMPTZ(0);
	TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(1);
	hm_release_periods periods;
	int64		ends_at;
	hm_phase	phase;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	periods.redemption = hm_interval_usecs(PG_GETARG_INTERVAL_P(2));
	periods.quarantine = hm_interval_usecs(PG_GETARG_INTERVAL_P(3));
	periods.premium_decay = hm_interval_usecs(PG_GETARG_INTERVAL_P(4));
	phase = hm_release_phase(released_at, as_of, &periods, &ends_at);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "release_phase must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = CStringGetTextDatum(hm_phase_name(phase));
	if (ends_at == HM_TIME_MAX)
		nulls[1] = true;
	else
		values[1] = TimestampTzGetDatum(ends_at);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
