/*
 * src/ledger.h
 *	  The ledger's moving parts, shared by the money functions (ledger.c)
 *	  and the market (market.c).  All of them run inside SPI_connect.
 */
#ifndef HM_LEDGER_H
#define HM_LEDGER_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"

#include "errcodes.h"

/* The platform's slots: fixed ids (src/sql/76_ledger.sql) */
#define HM_LEDGER_SLOTS 16
#define HM_FEE_BASE 1
#define HM_PAYMENTS_BASE 101

/* One leg of a transfer: a signed amount on a ledger account. */
typedef struct HmLeg
{
	int64		ledger_account_id;
	int64		amount;			/* credit > 0, debit < 0 */
	bool		wallet;			/* a user's wallet (keeps a balance) */
	int64		held_delta;		/* wallets: change of the held money (a posted
								 * hold releases what it held) */
} HmLeg;

/* "$50,000.00", palloc'd */
extern char *hm_cents_text(int64 cents);

/* The user's wallet; 0 when there is none and create is false. */
extern int64 hm_wallet(int64 account_id, bool create);

/* The platform's slots for a transfer. */
extern int64 hm_fee_account(int64 transfer_id);
extern int64 hm_payments_account(int64 transfer_id);

/*
 * Claims account_id's idempotency key for a new transfer.  Returns true and
 * the new transfer's id, or false and the id of the transfer the key already
 * made when request is the same as that one's; raises HM006 when it is not.
 * A concurrent claim of the same key waits for the first to commit or abort.
 */
extern bool hm_claim_transfer(int64 account_id, const char *key, const char *kind,
							  const char *request, const char *handle, TimestampTz at,
							  int64 *transfer_id);

/*
 * The same for a transfer that closes the pending hold pending_id (post or
 * void), which has no key: false and the closing's id when the hold has one.
 */
extern bool hm_claim_closing(const char *kind, const char *request, const char *handle,
							 TimestampTz at, int64 pending_id, int64 *transfer_id);

/*
 * Writes a transfer's legs: locks the wallets among them in id order, makes
 * sure no wallet goes below what it holds (HM005) or past bigint (HM013),
 * and appends the entries.  The legs must sum to zero.
 */
extern void hm_post(int64 transfer_id, HmLeg *legs, int nlegs);

/* A wallet as its caller locked and read it, in this transaction */
typedef struct HmWalletState
{
	int64		ledger_account_id;
	int64		balance;
	int64		held;
} HmWalletState;

/*
 * hm_post() for a caller that has locked wallets in id order already and
 * read them after the lock (a sale locks every wallet it may write before
 * any of them; see lock_sale_wallets in market.c): the legs' wallets found
 * among locked are not locked and read again.  If one is missing, all are
 * locked as hm_post() does.
 */
extern void hm_post_locked(int64 transfer_id, HmLeg *legs, int nlegs,
						   const HmWalletState *locked, int nlocked);

#endif
