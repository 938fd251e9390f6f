/*
 * src/core/row_rules.c
 *	  The row rules of handles, ledger_accounts, transfers and the outbox
 *	  (see row_rules.h).
 */
#include "row_rules.h"

#include <stddef.h>
#include <string.h>

static bool
one_of(const char *s, const char *const *names)
{
	for (; *names != NULL; names++)
		if (strcmp(s, *names) == 0)
			return true;
	return false;
}

static const char *const handle_states[] = {"registered", "at_risk", "released", NULL};

const char *
hm_handle_row_broken_rule(const hm_handle_row *r)
{
	if (!r->display_is_handle)
		return "display is the handle as it was typed: its canonical form is the handle";
	if (r->has_list_price && r->list_price <= 0)
		return "a listing price is positive";
	if (r->has_list_price != r->has_listed_at)
		return "a listing has both a price and a time (list_price_cents and listed_at)";
	if (r->has_hold_reason != r->has_held_at)
		return "a hold has both a reason and a time (hold_reason and held_at)";
	if (r->state == NULL)
		return NULL;
	if (!one_of(r->state, handle_states))
		return "state is registered, at_risk or released";
	if (strcmp(r->state, "released") == 0)
	{
		if (r->has_owner)
			return "a released handle has no owner";
		if (!r->has_released_at)
			return "a released handle has released_at";
		if (r->has_list_price)
			return "a released handle is not listed";
	}
	else
	{
		if (!r->has_owner)
			return "a handle that is not released has an owner";
		if (r->has_released_at)
			return "only a released handle has released_at";
	}
	if (strcmp(r->state, "at_risk") == 0 ? !r->has_notice_at : r->has_notice_at)
		return "notice_at is set exactly when the handle is at risk";
	return NULL;
}

static const char *const ledger_kinds[] = {"wallet", "fee", "payments", NULL};

const char *
hm_ledger_account_row_broken_rule(const hm_ledger_account_row *r)
{
	bool		wallet;

	if (r->kind == NULL)
		return NULL;
	if (!one_of(r->kind, ledger_kinds))
		return "kind is wallet, fee or payments";
	wallet = strcmp(r->kind, "wallet") == 0;
	if (wallet != r->has_account)
		return "a wallet, and only a wallet, belongs to an account";
	if (wallet == r->has_slot)
		return "a platform account, and only a platform account, has a slot";
	if (wallet ? !(r->has_balance && r->has_held) : (r->has_balance || r->has_held))
		return "a wallet, and only a wallet, keeps a balance and held money";
	return NULL;
}

static const char *const transfer_kinds[] = {
	"deposit", "withdrawal", "purchase", "handle_transfer", "hold", "hold_void", "hold_post", NULL
};

const char *
hm_transfer_row_broken_rule(const char *kind, const char *key)
{
	if (key != NULL && key[0] == '\0')
		return "an idempotency key is not empty";
	if (kind != NULL && !one_of(kind, transfer_kinds))
		return "kind is deposit, withdrawal, purchase, handle_transfer, hold, hold_void or hold_post";
	/*
	 * A closing is identified by the hold it closes, never by a key: a key
	 * derived from the hold would share the callers' namespace, and a
	 * caller who spent it first could stop the hold from ever closing.
	 */
	if (kind != NULL && (strcmp(kind, "hold_void") == 0 || strcmp(kind, "hold_post") == 0) != (key == NULL))
		return "a closing transfer (hold_void, hold_post) has no idempotency key, and every other transfer has one";
	return NULL;
}

static const char *const outbox_kinds[] = {
	"inactivity_notice", "released", "restored", "registered", "held", "hold_released",
	"sold", "bought", "handle_sent", "handle_received",
	"outbid", "auction_ended", "offer_received", "offer_ended", NULL
};

const char *
hm_outbox_row_broken_rule(const char *kind)
{
	if (kind != NULL && !one_of(kind, outbox_kinds))
		return "kind is inactivity_notice, released, restored, registered, held, hold_released, "
			"sold, bought, handle_sent, handle_received, outbid, auction_ended, offer_received "
			"or offer_ended";
	return NULL;
}
