/*
 * src/unicode_versions.c
 *	  Which ICU and Unicode versions the stored confusable keys were computed
 *	  with, and a warning when the server now runs others.
 *
 * Keys of ASCII handles come from our own table and never change, but the
 * UTS #39 skeletons of other scripts change between ICU releases: a unique
 * index over old keys would then let a new look-alike in.  The extension
 * records the versions in handle_market.unicode_versions when it is created;
 * every backend compares them with the running ICU when it loads the library.
 */
#include "handle_market.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "core/icu_support.h"

PG_FUNCTION_INFO_V1(handle_running_icu_version);
Datum
handle_running_icu_version(PG_FUNCTION_ARGS)
{
	char		v[32];

	hm_icu_version(v, sizeof(v));
	PG_RETURN_TEXT_P(cstring_to_text(v));
}

PG_FUNCTION_INFO_V1(handle_running_unicode_version);
Datum
handle_running_unicode_version(PG_FUNCTION_ARGS)
{
	char		v[32];

	hm_unicode_version(v, sizeof(v));
	PG_RETURN_TEXT_P(cstring_to_text(v));
}

/* Reads the recorded versions and warns if they differ; may raise. */
static void
compare_recorded_versions(void)
{
	char		icu[32];
	char		uni[32];

	hm_icu_version(icu, sizeof(icu));
	hm_unicode_version(uni, sizeof(uni));

	SPI_connect();
	if (SPI_execute("SELECT icu_version, unicode_version "
					"FROM handle_market.recorded_unicode_versions()", true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		char	   *rec_icu = SPI_getvalue(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1);
		char	   *rec_uni = SPI_getvalue(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 2);

		if (rec_icu && rec_uni &&
			(strcmp(rec_icu, icu) != 0 || strcmp(rec_uni, uni) != 0))
			ereport(WARNING,
					(errmsg("handle_market confusable keys were computed with ICU %s (Unicode %s), but this server runs ICU %s (Unicode %s)",
							rec_icu, rec_uni, icu, uni),
					 errdetail("Keys of non-ASCII handles may differ under the new version, so indexes over them may let look-alikes in."),
					 errhint("Run CALL handle_market.rekey(); as an operator (version 1.1 and later): it recomputes the stored keys and records the versions.")));
	}
	SPI_finish();
}

void
hm_check_unicode_versions(void)
{
	Oid			nsp;
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

	/*
	 * Only a backend that can read tables: not at preload time, not in a
	 * parallel worker, and not while CREATE EXTENSION is still building the
	 * table.
	 */
	if (!IsTransactionState() || IsParallelWorker() || IsInParallelMode() ||
		!OidIsValid(MyDatabaseId) || creating_extension)
		return;
	nsp = get_namespace_oid("handle_market", true);
	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("unicode_versions", nsp)))
		return;

	/* A failed check must not fail whatever function call loaded us. */
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		compare_recorded_versions();
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		ereport(DEBUG1,
				(errmsg("could not check handle_market's Unicode versions: %s",
						edata->message)));
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcontext);
	CurrentResourceOwner = oldowner;
}
