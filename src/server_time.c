/*
 * src/server_time.c
 *	  Writes happen at the server's time.
 *
 * Every API function that writes takes its time as an argument (as_of, at,
 * active_at) that defaults to now(), because tests, demos and replays walk a
 * simulated calendar.  Left to the caller, that argument would let the
 * application skip a redemption period, bid after an auction ended or make
 * an owner active until 'infinity'.  So, unless a superuser turned
 * handle_market.simulated_time on (for a session, or for a test role with
 * ALTER ROLE ... SET), a write's time is the server's: now(), the start of
 * the writing transaction, as everywhere else in PostgreSQL.  A caller who
 * passes a time anyway is told when it is farther than HM_TIME_SKEW from
 * now() (a caller with another idea of the time should learn it, not be
 * silently corrected), and otherwise gets now().  Within the skew nothing
 * is gained: the write happens at now() either way, which is why the skew
 * can be generous enough for any clock an application server keeps.
 *
 * Reads (lookup, price, quote, dry runs) may ask about any time; no time,
 * read or write, may be infinite.
 */
#include "handle_market.h"

#include "access/xact.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

/*
 * One minute: far more than NTP-synchronized clocks disagree by, and than a
 * client takes between reading its clock and its statement starting.
 */
#define HM_TIME_SKEW_USECS (60 * USECS_PER_SEC)

static bool simulated_time = false;

void
hm_server_time_init(void)
{
	DefineCustomBoolVariable("handle_market.simulated_time",
							 "Lets writes happen at the time their as_of or at argument gives.",
							 "For tests, demos and replays only: with it off, every write happens "
							 "at the server's time, now().  Only a superuser can set it.",
							 &simulated_time,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
}

static const char *
utc_text(TimestampTz t)
{
	return DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(t)));
}

void
hm_check_finite_time(TimestampTz asked, const char *arg)
{
	if (TIMESTAMP_NOT_FINITE(asked))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite time", arg),
				 errdetail("%s is %s.", arg, utc_text(asked))));
}

TimestampTz
hm_write_time(TimestampTz asked, const char *arg)
{
	TimestampTz now = GetCurrentTransactionStartTimestamp();

	hm_check_finite_time(asked, arg);
	if (simulated_time)
		return asked;
	if (asked > now + HM_TIME_SKEW_USECS || asked < now - HM_TIME_SKEW_USECS)
		ereport(ERROR,
				(errcode(ERRCODE_HM_NOT_SERVER_TIME),
				 errmsg("%s is not the server's time", arg),
				 errdetail("%s is %s; the server's time is %s, and writes happen at the server's time (%s may differ from it by one minute at most).",
						   arg, utc_text(asked), utc_text(now), arg),
				 errhint("Leave %s out.  Tests, demos and replays may simulate time with handle_market.simulated_time, which only a superuser can turn on.",
						 arg)));
	return now;
}

/*
 * A time a write sets for later (an auction's end, an offer's expiry, a
 * policy version's start): finite, and within ten years of the server's
 * time, so that a typo ('20260-01-01') cannot freeze money or block every
 * later version.  Simulated time may go anywhere finite.
 */
#define HM_LATER_HORIZON_USECS (INT64CONST(3653) * USECS_PER_DAY)

void
hm_check_later_time(TimestampTz asked, const char *arg)
{
	TimestampTz now = GetCurrentTransactionStartTimestamp();

	hm_check_finite_time(asked, arg);
	if (!simulated_time && asked > now + HM_LATER_HORIZON_USECS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is too far ahead", arg),
				 errdetail("%s is %s; it may be at most ten years after the server's time, %s.",
						   arg, utc_text(asked), utc_text(now))));
}

bool
hm_simulated_time(void)
{
	return simulated_time;
}

/*
 * _write_time(at timestamptz, arg text) RETURNS timestamptz and
 * _read_time(at timestamptz, arg text) RETURNS timestamptz: the same checks
 * for the SQL code (the procedures, lookup()).
 */
PG_FUNCTION_INFO_V1(hm_write_time_sql);
Datum
hm_write_time_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(hm_write_time(PG_GETARG_TIMESTAMPTZ(0),
										text_to_cstring(PG_GETARG_TEXT_PP(1))));
}

PG_FUNCTION_INFO_V1(hm_read_time_sql);
Datum
hm_read_time_sql(PG_FUNCTION_ARGS)
{
	TimestampTz asked = PG_GETARG_TIMESTAMPTZ(0);

	hm_check_finite_time(asked, text_to_cstring(PG_GETARG_TEXT_PP(1)));
	PG_RETURN_TIMESTAMPTZ(asked);
}
