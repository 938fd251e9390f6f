/*
 * src/escrow.h
 *	  Pending holds of bids and offers (escrow.c); posted by market.c.
 */
#ifndef HM_ESCROW_H
#define HM_ESCROW_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* A hold, as locked by hm_hold_lock (inside SPI). */
typedef struct HmHold
{
	int64		hold_id;		/* the id of its 'hold' transfer */
	int64		account_id;
	int64		wallet;
	int64		amount;
	char	   *state;			/* pending, posted, voided */
	int64		closed_by;		/* the closing transfer, once closed */
	char	   *handle;
} HmHold;

/* Locks the hold's row (FOR UPDATE). */
extern HmHold hm_hold_lock(int64 hold_id);

/* Records how the hold was closed. */
extern void hm_hold_mark(const HmHold *hold, const char *state, int64 transfer_id,
						 TimestampTz at);

#endif
