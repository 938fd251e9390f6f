/*
 * src/outbox_notify.c
 *	  The outbox's wake-up: NOTIFY handle_market once per statement that
 *	  writes messages, unless the session set handle_market.outbox_notify
 *	  to off (see src/sql/60_guard.sql for when that is worth doing).
 *
 * In C rather than PL/pgSQL because it runs after every statement that
 * writes the outbox, buy() included: a PL/pgSQL trigger with a SET clause
 * cost a GUC save and restore and a call of the interpreter each time.
 */
#include "handle_market.h"

#include "commands/async.h"
#include "commands/trigger.h"
#include "utils/guc.h"

static bool outbox_notify = true;

void
hm_outbox_notify_init(void)
{
	DefineCustomBoolVariable("handle_market.outbox_notify",
							 "Sends NOTIFY handle_market when a statement writes the outbox.",
							 "Off for sessions whose consumer polls outbox_after() anyway: a "
							 "transaction that notifies commits holding PostgreSQL's single "
							 "notification lock.  The messages are written either way.",
							 &outbox_notify,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
}

PG_FUNCTION_INFO_V1(hm_outbox_notify);
Datum
hm_outbox_notify(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "hm_outbox_notify must be called as a trigger");
	if (outbox_notify)
		Async_Notify("handle_market", "");
	return PointerGetDatum(NULL);
}
