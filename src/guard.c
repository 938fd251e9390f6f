/*
 * src/guard.c
 *	  The guard: the lifecycle and history tables accept writes only while one
 *	  of the extension's API functions runs.
 *
 * Every API function that writes is declared in SQL as LANGUAGE C with the
 * symbol hm_gate (touch() with hm_touch, which decides in C whether it has to
 * write and, when it does, goes through the same gate).  The gate opens a backend-local flag, calls the function's
 * implementation (the SECURITY DEFINER function of the same schema and
 * arguments whose name is the API name with a leading underscore), and closes
 * the flag again however the call ends.  A statement-level trigger on each
 * guarded table refuses any write while the flag is closed.  No SQL statement
 * can set the flag: it is a C static, and declaring another C function on
 * this library needs superuser.  Calling an implementation directly does not
 * help either: its writes arrive with the flag closed.
 */
#include "handle_market.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

static int	gate_depth = 0;

/*
 * Open only while prune_outbox_batch() runs (hm_prune_gate): the one writer
 * that may delete from an append-only table, and only from one whose guard
 * trigger says 'prunable' (the outbox, from 1.1).
 */
static int	prune_depth = 0;

/*
 * The role that called the outermost API function.  The implementations are
 * SECURITY DEFINER, so inside them current_user is the extension's owner;
 * the history records who asked (actor()).
 */
static Oid	gate_actor = InvalidOid;

typedef struct GateTarget
{
	FmgrInfo	impl;
	int			time_arg;		/* the write's time (as_of, at, active_at), or -1 */
	const char *time_name;
	int			dry_run_arg;	/* a dry run only reads: any time, or -1 */
	int			later_arg;		/* a time it sets for later (ends_at, expires_at,
								 * effective_from), or -1 */
	const char *later_name;
	int			batch_arg;		/* batch_size, or -1 */
} GateTarget;

/*
 * The arguments the gate checks, found by name once per call site: every
 * API function that writes names its time as_of, at or active_at.
 */
static void
find_time_args(HeapTuple proctup, GateTarget *target, MemoryContext cxt)
{
	Oid		   *types;
	char	  **names;
	char	   *modes;
	int			n = get_func_arg_info(proctup, &types, &names, &modes);

	target->time_arg = -1;
	target->dry_run_arg = -1;
	target->later_arg = -1;
	target->batch_arg = -1;
	for (int i = 0; names != NULL && i < n; i++)
	{
		if (types[i] == TIMESTAMPTZOID &&
			(strcmp(names[i], "as_of") == 0 || strcmp(names[i], "at") == 0 ||
			 strcmp(names[i], "active_at") == 0))
		{
			target->time_arg = i;
			target->time_name = MemoryContextStrdup(cxt, names[i]);
		}
		else if (types[i] == TIMESTAMPTZOID &&
				 (strcmp(names[i], "ends_at") == 0 || strcmp(names[i], "expires_at") == 0 ||
				  strcmp(names[i], "effective_from") == 0))
		{
			target->later_arg = i;
			target->later_name = MemoryContextStrdup(cxt, names[i]);
		}
		else if (types[i] == BOOLOID && strcmp(names[i], "dry_run") == 0)
			target->dry_run_arg = i;
		else if (types[i] == INT4OID && strcmp(names[i], "batch_size") == 0)
			target->batch_arg = i;
	}
}

/*
 * What the gate refuses before any implementation runs, in one place: a
 * write without a time, a time that is not the server's (server_time.c), a
 * deadline or start that is infinite or beyond the horizon (an auction that
 * never ends would hold its bidders' money for ever; a policy version at
 * 'infinity' would block every later one), and a batch of nothing (a run
 * that succeeds while doing nothing hides from its cron job).
 */
static void
check_gate_args(GateTarget *target, FunctionCallInfo call)
{
	if (target->time_arg >= 0)
	{
		NullableDatum *t = &call->args[target->time_arg];
		bool		dry_run = target->dry_run_arg >= 0 &&
			!call->args[target->dry_run_arg].isnull &&
			DatumGetBool(call->args[target->dry_run_arg].value);

		if (t->isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be null", target->time_name),
					 errhint("Leave it out: it defaults to now().")));
		if (dry_run)
			hm_check_finite_time(DatumGetTimestampTz(t->value), target->time_name);
		else
			t->value = TimestampTzGetDatum(hm_write_time(DatumGetTimestampTz(t->value),
														 target->time_name));
	}
	if (target->later_arg >= 0 && !call->args[target->later_arg].isnull)
		hm_check_later_time(DatumGetTimestampTz(call->args[target->later_arg].value),
							target->later_name);
	if (target->batch_arg >= 0 &&
		(call->args[target->batch_arg].isnull || DatumGetInt32(call->args[target->batch_arg].value) < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be at least 1"),
				 errdetail("It was %s.", call->args[target->batch_arg].isnull ? "NULL" :
						   psprintf("%d", DatumGetInt32(call->args[target->batch_arg].value)))));
}

static GateTarget *
gate_target(FunctionCallInfo fcinfo)
{
	GateTarget *target = (GateTarget *) fcinfo->flinfo->fn_extra;
	HeapTuple	tup;
	Form_pg_proc proc;
	char	   *impl_name;
	Oid			impl;

	if (target)
		return target;

	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
	proc = (Form_pg_proc) GETSTRUCT(tup);
	impl_name = psprintf("_%s", NameStr(proc->proname));
	impl = LookupFuncName(list_make2(makeString(get_namespace_name(proc->pronamespace)),
									 makeString(impl_name)),
						  proc->pronargs, proc->proargtypes.values, false);
	target = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(GateTarget));
	find_time_args(tup, target, fcinfo->flinfo->fn_mcxt);
	ReleaseSysCache(tup);

	fmgr_info_cxt(impl, &target->impl, fcinfo->flinfo->fn_mcxt);
	fcinfo->flinfo->fn_extra = target;
	return target;
}

/*
 * Calls the implementation of the API function that fcinfo calls, with the
 * gate open, and returns its result.  hm_gate is nothing else; touch() comes
 * here when its read-only path in C cannot decide alone (touch.c).
 */
Datum
hm_gate_call(FunctionCallInfo fcinfo)
{
	GateTarget *target = gate_target(fcinfo);
	LOCAL_FCINFO(call, FUNC_MAX_ARGS);
	Datum		result;

	InitFunctionCallInfoData(*call, &target->impl, PG_NARGS(),
							 fcinfo->fncollation, fcinfo->context,
							 fcinfo->resultinfo);
	for (int i = 0; i < PG_NARGS(); i++)
		call->args[i] = fcinfo->args[i];

	/*
	 * Writes happen at the server's time (server_time.c).  Checked at the
	 * outermost gate only: an implementation that calls another API
	 * function passes a time the extension computed itself.
	 */
	if (gate_depth == 0)
		check_gate_args(target, call);

	if (gate_depth == 0)
		gate_actor = GetUserId();
	gate_depth++;
	PG_TRY();
	{
		result = FunctionCallInvoke(call);
	}
	PG_FINALLY();
	{
		gate_depth--;
	}
	PG_END_TRY();

	fcinfo->isnull = call->isnull;
	return result;
}

PG_FUNCTION_INFO_V1(hm_gate);
Datum
hm_gate(PG_FUNCTION_ARGS)
{
	return hm_gate_call(fcinfo);
}

/*
 * The gate of prune_outbox_batch() alone: hm_gate with the prune flag open,
 * so that its implementation may delete acknowledged messages from the
 * outbox.  Declaring another function with this symbol needs superuser.
 */
PG_FUNCTION_INFO_V1(hm_prune_gate);
Datum
hm_prune_gate(PG_FUNCTION_ARGS)
{
	Datum		result;

	prune_depth++;
	PG_TRY();
	{
		result = hm_gate_call(fcinfo);
	}
	PG_FINALLY();
	{
		prune_depth--;
	}
	PG_END_TRY();
	return result;
}

/* The default of the actor columns: who called the API, not its owner. */
PG_FUNCTION_INFO_V1(hm_actor);
Datum
hm_actor(PG_FUNCTION_ARGS)
{
	Oid			role = gate_depth > 0 ? gate_actor : GetUserId();

	PG_RETURN_TEXT_P(cstring_to_text(GetUserNameFromId(role, false)));
}

/*
 * BEFORE ... FOR EACH STATEMENT trigger.  With the argument 'append_only',
 * UPDATE, DELETE and TRUNCATE are refused even through the API; with the
 * arguments 'append_only', 'prunable', a DELETE by prune_outbox_batch()
 * (hm_prune_gate) is let through, and nothing else.
 */
PG_FUNCTION_INFO_V1(hm_guard);
Datum
hm_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	const char *table;
	bool		append_only;
	bool		prunable;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "hm_guard must be called as a trigger");
	trigger = trigdata->tg_trigger;
	table = RelationGetRelationName(trigdata->tg_relation);
	append_only = trigger->tgnargs > 0 &&
		strcmp(trigger->tgargs[0], "append_only") == 0;
	prunable = append_only && trigger->tgnargs > 1 &&
		strcmp(trigger->tgargs[1], "prunable") == 0;

	/*
	 * The extension's own install and update scripts write its tables (an
	 * update fills a new column); no one else can run them, since only a
	 * superuser installs a script into the extension directory and only
	 * CREATE/ALTER EXTENSION handle_market runs it.
	 */
	if (creating_extension && CurrentExtensionObject == get_extension_oid("handle_market", true))
		return PointerGetDatum(NULL);

	if (append_only && !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) &&
		!(prunable && prune_depth > 0 && gate_depth > 0 &&
		  TRIGGER_FIRED_BY_DELETE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_HM_GUARD),
				 errmsg("handle_market.%s is append-only", table),
				 errdetail("Rows of this history are never updated or deleted."),
				 prunable ? errhint("CALL handle_market.prune_outbox() deletes the messages every consumer has acknowledged.") : 0));
	if (gate_depth == 0)
		ereport(ERROR,
				(errcode(ERRCODE_HM_GUARD),
				 errmsg("direct writes to handle_market.%s are not allowed", table),
				 errdetail("The table changes only through the handle_market functions."),
				 errhint("Call the handle_market function for this change, such as register_handle(), touch() or release_dormant().")));
	return PointerGetDatum(NULL);
}

/*
 * Run locks: one release run (release_dormant), one settlement run
 * (settle_auctions) and one re-key run (rekey, version 1.1) at a time.  Each is a session-level lock (a run commits
 * after every batch, so a transaction lock would not last) with an advisory
 * tag that no SQL function can build: pg_advisory_lock() always puts 1 or 2
 * in the tag's last field, these put 'HM' (0x484D), so no session, however
 * unprivileged, can take one and stop the runs.  A DBA sees them in pg_locks
 * as locktype 'advisory' with objsubid 18509 (objid 1: release, 2:
 * settlement, 3: re-key).  Unlike a plain session lock it does not outlive a failed
 * run: it is dropped when the transaction that holds it aborts, so a
 * cancelled or timed-out run does not block every later one until its
 * session ends.
 */
typedef enum RunLock
{
	RUN_LOCK_RELEASE,
	RUN_LOCK_SETTLE,
	RUN_LOCK_REKEY,
	RUN_LOCKS
} RunLock;

#define RUN_LOCK_CLASS 0x484D	/* 'HM' */

static bool holds_run_lock[RUN_LOCKS];
static SubTransactionId taken_in_subxact[RUN_LOCKS];
static bool run_callback_registered = false;

static void
run_lock_tag(RunLock which, LOCKTAG *tag)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, 0, (uint32) which + 1, RUN_LOCK_CLASS);
}

static void
drop_run_lock(RunLock which)
{
	LOCKTAG		tag;

	run_lock_tag(which, &tag);
	LockRelease(&tag, ExclusiveLock, true);
	holds_run_lock[which] = false;
}

static void
run_locks_on_abort(XactEvent event, void *arg pg_attribute_unused())
{
	for (int i = 0; i < RUN_LOCKS; i++)
	{
		if (event == XACT_EVENT_ABORT && holds_run_lock[i])
			drop_run_lock((RunLock) i);
		/* taken by a committed transaction: only a later abort drops it */
		if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
			taken_in_subxact[i] = InvalidSubTransactionId;
	}
}

/*
 * A lock taken inside a subtransaction that is rolled back (an error caught
 * by a PL/pgSQL EXCEPTION block or a savepoint) goes with it, as the run it
 * was taken for did; one whose subtransaction commits belongs to the parent.
 */
static void
run_locks_on_subabort(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg pg_attribute_unused())
{
	for (int i = 0; i < RUN_LOCKS; i++)
	{
		if (!holds_run_lock[i] || taken_in_subxact[i] != mySubid)
			continue;
		if (event == SUBXACT_EVENT_ABORT_SUB)
			drop_run_lock((RunLock) i);
		else if (event == SUBXACT_EVENT_COMMIT_SUB)
			taken_in_subxact[i] = parentSubid;
	}
}

static bool
run_lock_try(RunLock which)
{
	LOCKTAG		tag;

	if (holds_run_lock[which])
		return true;
	if (!run_callback_registered)
	{
		RegisterXactCallback(run_locks_on_abort, NULL);
		RegisterSubXactCallback(run_locks_on_subabort, NULL);
		run_callback_registered = true;
	}
	run_lock_tag(which, &tag);
	if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
		return false;
	holds_run_lock[which] = true;
	taken_in_subxact[which] = GetCurrentSubTransactionId();
	return true;
}

static bool
run_lock_release(RunLock which)
{
	bool		held = holds_run_lock[which];

	if (held)
		drop_run_lock(which);
	return held;
}

PG_FUNCTION_INFO_V1(hm_release_lock_try);
Datum
hm_release_lock_try(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(run_lock_try(RUN_LOCK_RELEASE));
}

PG_FUNCTION_INFO_V1(hm_release_lock_release);
Datum
hm_release_lock_release(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(run_lock_release(RUN_LOCK_RELEASE));
}

PG_FUNCTION_INFO_V1(hm_settle_lock_try);
Datum
hm_settle_lock_try(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(run_lock_try(RUN_LOCK_SETTLE));
}

PG_FUNCTION_INFO_V1(hm_settle_lock_release);
Datum
hm_settle_lock_release(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(run_lock_release(RUN_LOCK_SETTLE));
}

/* Version 1.1's re-key run (src/sql/83_rekey.sql); 1.0 declares no SQL
 * function on these symbols. */
PG_FUNCTION_INFO_V1(hm_rekey_lock_try);
Datum
hm_rekey_lock_try(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(run_lock_try(RUN_LOCK_REKEY));
}

PG_FUNCTION_INFO_V1(hm_rekey_lock_release);
Datum
hm_rekey_lock_release(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(run_lock_release(RUN_LOCK_REKEY));
}
