/*
 * src/spi_plan.c
 *	  Saved SPI plans (see spi_plan.h).
 */
#include "spi_plan.h"

uint64
hm_plan_run(HmPlan *p, Datum *values, const char *nulls)
{
	int			rc;

	if (p->plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(p->sql, p->nargs, p->argtypes);

		if (plan == NULL)
			elog(ERROR, "could not prepare \"%s\": %s", p->sql,
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "could not keep the plan of \"%s\"", p->sql);
		p->plan = plan;
	}
	rc = SPI_execute_plan(p->plan, values, nulls, false, 0);
	if (rc < 0)
		elog(ERROR, "\"%s\" failed: %s", p->sql, SPI_result_code_string(rc));
	return SPI_processed;
}

Datum
hm_result(uint64 r, int i, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, i, isnull);
}

int64
hm_result_int64(uint64 r, int i)
{
	bool		isnull;
	Datum		d = hm_result(r, i, &isnull);

	if (isnull)
		elog(ERROR, "unexpected null in column %d of a ledger query", i);
	return DatumGetInt64(d);
}
