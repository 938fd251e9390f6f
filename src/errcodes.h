/*
 * src/errcodes.h
 *	  Every SQLSTATE of class HM the extension raises, with what it means.
 *
 * The one list: C raises them by these names, and the SQL in src/sql writes them
 * as 'HMnnn' literals.  test/unit/errcodes.sh (run by make unit) fails when
 * the SQL uses a code not declared here, or a code here is used nowhere, so
 * the two cannot drift.  A new code gets a line here (and in the README's
 * table of errors) before any file raises it.
 */
#ifndef HM_ERRCODES_H
#define HM_ERRCODES_H

#include "utils/elog.h"

#define ERRCODE_HM_TAKEN MAKE_SQLSTATE('H','M','0','0','1')	/* HM001: handle taken */
#define ERRCODE_HM_CONFUSABLE MAKE_SQLSTATE('H','M','0','0','2')	/* HM002: confusable with a live handle */
#define ERRCODE_HM_RESERVED MAKE_SQLSTATE('H','M','0','0','3')	/* HM003: reserved */
#define ERRCODE_HM_PROFILE MAKE_SQLSTATE('H','M','0','0','4')	/* HM004: outside the policy's profile */
#define ERRCODE_HM_FUNDS MAKE_SQLSTATE('H','M','0','0','5')	/* HM005: insufficient funds */
#define ERRCODE_HM_IDEMPOTENCY MAKE_SQLSTATE('H','M','0','0','6')	/* HM006: key used for another request */
#define ERRCODE_HM_TRANSFER_LOCK MAKE_SQLSTATE('H','M','0','0','7')	/* HM007: under its transfer lock */
#define ERRCODE_HM_STATE MAKE_SQLSTATE('H','M','0','0','8')	/* HM008: not allowed in this state, or not the owner */
#define ERRCODE_HM_PRICE MAKE_SQLSTATE('H','M','0','0','9')	/* HM009: price above max_price_cents */
#define ERRCODE_HM_HOLD MAKE_SQLSTATE('H','M','0','1','0')	/* HM010: under a legal hold */
#define ERRCODE_HM_ACCOUNT MAKE_SQLSTATE('H','M','0','1','1')	/* HM011: unknown account */
#define ERRCODE_HM_BID_LOW MAKE_SQLSTATE('H','M','0','1','2')	/* HM012: bid below the minimum */
#define ERRCODE_HM_OVERFLOW MAKE_SQLSTATE('H','M','0','1','3')	/* HM013: money out of range */
#define ERRCODE_HM_NOT_FREE MAKE_SQLSTATE('H','M','0','1','4')	/* HM014: the platform sells it */
#define ERRCODE_HM_GUARD MAKE_SQLSTATE('H','M','0','1','5')	/* HM015: direct write to a guarded table */
#define ERRCODE_HM_RUN_BUSY MAKE_SQLSTATE('H','M','0','1','6')	/* HM016: another run in progress */
#define ERRCODE_HM_NOT_SERVER_TIME MAKE_SQLSTATE('H','M','0','1','7')	/* HM017: a write's time is not the server's */
#define ERRCODE_HM_CONSUMER MAKE_SQLSTATE('H','M','0','1','8')	/* HM018: unknown outbox consumer */
#define ERRCODE_HM_HISTORY_NEEDED MAKE_SQLSTATE('H','M','0','1','9')	/* HM019: history the lifecycle still needs (detach_history) */
#define ERRCODE_HM_FOREIGN_XID MAKE_SQLSTATE('H','M','0','2','0')	/* HM020: the outbox holds transaction ids this cluster has not assigned */

#endif
