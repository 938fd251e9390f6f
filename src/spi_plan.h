/*
 * src/spi_plan.h
 *	  Saved SPI plans for the market's C functions.
 *
 * A statement is prepared the first time a backend runs it and kept for the
 * backend's life; PostgreSQL's plan cache replans it when a table it reads
 * changes.  Names are unqualified: the callers are SECURITY DEFINER
 * functions whose SET search_path puts the extension's schema first, and a
 * saved plan remembers the search_path it was made under.
 */
#ifndef HM_SPI_PLAN_H
#define HM_SPI_PLAN_H

#include "postgres.h"

#include "executor/spi.h"

#define HM_PLAN_MAX_ARGS 12

typedef struct HmPlan
{
	const char *sql;
	int			nargs;
	Oid			argtypes[HM_PLAN_MAX_ARGS];
	SPIPlanPtr	plan;			/* NULL until first used */
} HmPlan;

/* HmPlan p = HM_PLAN("SELECT ... $1", 1, INT8OID); */
#define HM_PLAN(query, n, ...) \
	{.sql = (query), .nargs = (n), .argtypes = {__VA_ARGS__}, .plan = NULL}

/*
 * Runs the statement with the given arguments (nulls as SPI wants them:
 * ' ' or 'n', or NULL for none) and returns the number of rows it
 * processed; the rows are in SPI_tuptable.
 */
extern uint64 hm_plan_run(HmPlan *p, Datum *values, const char *nulls);

/* Column i (1-based) of row r of the last result, and whether it is null. */
extern Datum hm_result(uint64 r, int i, bool *isnull);
extern int64 hm_result_int64(uint64 r, int i);

#endif
