/*
 * src/activity_lock.c
 *	  The activity lock: what makes a concurrent touch() win against the
 *	  release sweep.
 *
 * A batch of the sweep decides, from the accounts it reads, which handles to
 * notice, release or give back, and writes those decisions.  An owner's
 * activity (touch), exemption (upsert_account) or status
 * (set_account_status) that changes between the read and the batch's commit
 * must not be overruled by it.  Locking every owner a batch decides about
 * would do, but costs a WAL record per owner and page; a batch of 10,000
 * handles with 4,000 dormant owners spent a fifth of its time on them.
 *
 * Instead there is one lock per database.  Every batch takes it exclusively
 * before it reads anything and keeps it until it commits; the functions that
 * change what a batch reads take it shared just before they write (touch only
 * on its writing path, once per touch_resolution per account).  So an
 * activity write either commits before the batch reads (the batch sees it) or
 * waits for the batch to commit and then finds the batch's at_risk handles
 * and gives them back, as touch() does for any at_risk handle.  A write waits
 * at most one batch; DBAs pick batch_size with that in mind.
 *
 * It is a transaction-scoped advisory lock with its own tag (field 4 is 3;
 * pg_advisory_lock uses 1 and 2), so it shows in pg_locks and no
 * pg_advisory_* call can take or hold it; the two SQL functions below are
 * not granted to anyone.
 */
#include "handle_market.h"

#include "miscadmin.h"
#include "storage/lock.h"

/* "HM" and "act" in the two key fields: any fixed pair would do. */
#define HM_ACTIVITY_LOCK_KEY1 0x484D
#define HM_ACTIVITY_LOCK_KEY2 0x616374
#define HM_ACTIVITY_LOCK_FIELD4 3

static void
activity_lock(LOCKMODE mode)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, HM_ACTIVITY_LOCK_KEY1,
						 HM_ACTIVITY_LOCK_KEY2, HM_ACTIVITY_LOCK_FIELD4);
	(void) LockAcquire(&tag, mode, false, false);
}

/* Taken by every write that changes an owner's activity or exemption. */
PG_FUNCTION_INFO_V1(hm_activity_lock_shared);
Datum
hm_activity_lock_shared(PG_FUNCTION_ARGS)
{
	activity_lock(ShareLock);
	PG_RETURN_VOID();
}

/* Taken by each batch of the release sweep before it reads. */
PG_FUNCTION_INFO_V1(hm_activity_lock_exclusive);
Datum
hm_activity_lock_exclusive(PG_FUNCTION_ARGS)
{
	activity_lock(ExclusiveLock);
	PG_RETURN_VOID();
}
