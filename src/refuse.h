/*
 * src/refuse.h
 *	  The refusals that the C paths and the PL/pgSQL implementations share,
 *	  each written once (refuse.c).
 *
 * C calls these functions; PL/pgSQL calls the same code through the
 * internal SQL functions of src/sql/65_internal.sql (_refuse_held,
 * _refuse_transfer_locked, _require_owner, _refuse_own_handle,
 * _no_open_auction, _unknown_account, _require_args), which are LANGUAGE C
 * on refuse.c's *_sql symbols.  So a message, detail or hint changes in one
 * place for both languages (doc/architecture.md, "Refusals").
 */
#ifndef HM_REFUSE_H
#define HM_REFUSE_H

#include "handle_market.h"

/* HM010 when hold_reason is not NULL: a handle under a legal hold does not move. */
extern void hm_refuse_held(const char *handle, const char *hold_reason);

/* HM007 when the transfer lock (has_until, until) still runs at as_of. */
extern void hm_refuse_transfer_locked(const char *handle, bool has_until, TimestampTz until,
									  TimestampTz as_of);

/*
 * HM008 unless account_id owns the handle (has_owner, owner_id); what is the
 * verb of the detail ("Only the owner of a registered handle may <what> it.").
 */
extern void hm_require_owner(const char *handle, bool has_owner, int64 owner_id,
							 int64 account_id, const char *what);

/* HM008 when account_id owns the handle already (has_owner, owner_id) */
extern void hm_refuse_own_handle(const char *handle, bool has_owner, int64 owner_id,
								 int64 account_id);

/*
 * HM008 when the handle is in an open auction, which alone may sell it.
 * Runs an SPI statement (the caller has connected, under the extension's
 * search_path).  to_buyer adds the hint to bid instead.
 */
extern void hm_refuse_auctioned(const char *handle, bool to_buyer);

/* HM005: the wallet has available cents, the call needs needed */
extern void hm_refuse_funds(int64 available, int64 needed) pg_attribute_noreturn();

/* HM011 for an account id that names no account; hm_require_account checks (SPI). */
extern void hm_refuse_unknown_account(int64 account_id) pg_attribute_noreturn();
extern void hm_require_account(int64 account_id);

/* 22004: a NULL account argument identifies nobody (argument: its name). */
extern void hm_refuse_null_account(const char *argument) pg_attribute_noreturn();

/* 22004 unless the first nargs arguments of the API function are all given */
extern void hm_require_args(FunctionCallInfo fcinfo, int nargs);

#endif
