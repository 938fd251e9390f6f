/*
 * src/handle_market.h
 *	  What the PostgreSQL glue files share.
 */
#ifndef HANDLE_MARKET_H
#define HANDLE_MARKET_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "nodes/nodes.h"

#include "errcodes.h"

/*
 * Soft errors: on PostgreSQL 16+ the input function reports bad input to a
 * soft-error context when it has one (pg_input_is_valid); before 16 there is
 * none and the error is raised.
 */
#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
#define hm_escontext(fcinfo) ((fcinfo)->context)
#define hm_ereturn(ctx, val, ...) ereturn(ctx, val, __VA_ARGS__)
#else
#define hm_escontext(fcinfo) ((Node *) NULL)
#define hm_ereturn(ctx, val, ...) \
	do { (void) (ctx); ereport(ERROR, __VA_ARGS__); return val; } while (0)
#endif

/*
 * The core works in UTF-8; a database in another encoding converts at the
 * edges.  Both return s itself when the database is UTF-8.
 */
extern char *hm_to_utf8(const char *s, int len, int *outlen);
extern char *hm_from_utf8(const char *s, int len, int *outlen);

/*
 * True when canon (a canonical handle, UTF-8) has an equivalent in the
 * database encoding that converts back to the same bytes.  Otherwise reports
 * 22P02 for shown (the input as typed, in the database encoding) to
 * escontext, as hm_ereturn does, and returns false: a value that cannot be
 * output must never be stored, or reads and pg_dump of its table fail.
 */
extern bool hm_encodable(const char *canon, int len, const char *shown, int shownlen,
						 Node *escontext);

/*
 * The internal error for ICU failing while canonicalizing shown (the input
 * as its caller names it), with the core's detail.
 */
extern void hm_icu_failure(const char *shown, const char *detail) pg_attribute_noreturn();

/*
 * A policy period in microseconds; a month part is refused, since a month
 * has no fixed length (lifecycle_sql.c).
 */
extern int64 hm_interval_usecs(const Interval *i);

/*
 * Calls the implementation of the API function fcinfo calls, with the
 * guard's gate open (guard.c).
 */
extern Datum hm_gate_call(FunctionCallInfo fcinfo);

/* Checks, once per backend, that keys were computed with this ICU. */
extern void hm_check_unicode_versions(void);

/*
 * Writes happen at the server's time (server_time.c): the time a write
 * runs at, given the time its caller asked for (arg names the argument);
 * refused when it is not finite, or, unless handle_market.simulated_time
 * is on, farther than the allowed skew from now().
 */
extern TimestampTz hm_write_time(TimestampTz asked, const char *arg);
extern void hm_check_finite_time(TimestampTz asked, const char *arg);
extern void hm_check_later_time(TimestampTz asked, const char *arg);
extern bool hm_simulated_time(void);
extern void hm_server_time_init(void);

/* Defines the handle_market.outbox_notify setting (outbox_notify.c) */
extern void hm_outbox_notify_init(void);

#endif
