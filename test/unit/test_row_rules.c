/*
 * test/unit/test_row_rules.c: the row rules of src/core/row_rules.c, each
 * rule broken once, with the words it is refused in, and the rows that
 * keep them all.
 */
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "../../src/core/row_rules.h"

static int	passed;
static int	failed;

static void
rule_is(const char *what, const char *got, const char *want)
{
	if ((got == NULL && want == NULL) || (got != NULL && want != NULL && strcmp(got, want) == 0))
		passed++;
	else
	{
		failed++;
		printf("FAIL %s\n  got:  %s\n  want: %s\n", what, got ? got : "(none)",
			   want ? want : "(none)");
	}
}

/* A registered handle with an owner, not listed, not held */
static hm_handle_row
registered(void)
{
	hm_handle_row r;

	memset(&r, 0, sizeof(r));
	r.state = "registered";
	r.display_is_handle = true;
	r.has_owner = true;
	return r;
}

static void
handle_rules(void)
{
	hm_handle_row r;

	r = registered();
	rule_is("registered, owned", hm_handle_row_broken_rule(&r), NULL);
	r.has_list_price = r.has_listed_at = true;
	r.list_price = 1;
	rule_is("registered, listed at 1 cent", hm_handle_row_broken_rule(&r), NULL);
	r.list_price = 0;
	rule_is("a listing at 0", hm_handle_row_broken_rule(&r), "a listing price is positive");
	r.list_price = -5;
	rule_is("a listing below 0", hm_handle_row_broken_rule(&r), "a listing price is positive");
	r.list_price = 100;
	r.has_listed_at = false;
	rule_is("a price without a time", hm_handle_row_broken_rule(&r),
			"a listing has both a price and a time (list_price_cents and listed_at)");
	r = registered();
	r.has_listed_at = true;
	rule_is("a time without a price", hm_handle_row_broken_rule(&r),
			"a listing has both a price and a time (list_price_cents and listed_at)");

	r = registered();
	r.has_hold_reason = r.has_held_at = true;
	rule_is("held", hm_handle_row_broken_rule(&r), NULL);
	r.has_held_at = false;
	rule_is("a hold reason without a time", hm_handle_row_broken_rule(&r),
			"a hold has both a reason and a time (hold_reason and held_at)");

	r = registered();
	r.display_is_handle = false;
	rule_is("display is another handle", hm_handle_row_broken_rule(&r),
			"display is the handle as it was typed: its canonical form is the handle");

	r = registered();
	r.state = "sold";
	rule_is("an unknown state", hm_handle_row_broken_rule(&r),
			"state is registered, at_risk or released");
	r.state = "Registered";
	rule_is("states are lower case", hm_handle_row_broken_rule(&r),
			"state is registered, at_risk or released");
	r.state = NULL;
	rule_is("no state: NOT NULL says so, not this rule", hm_handle_row_broken_rule(&r), NULL);

	r = registered();
	r.has_owner = false;
	rule_is("registered without an owner", hm_handle_row_broken_rule(&r),
			"a handle that is not released has an owner");
	r = registered();
	r.has_released_at = true;
	rule_is("registered with released_at", hm_handle_row_broken_rule(&r),
			"only a released handle has released_at");
	r = registered();
	r.has_notice_at = true;
	rule_is("registered with a notice", hm_handle_row_broken_rule(&r),
			"notice_at is set exactly when the handle is at risk");

	r = registered();
	r.state = "at_risk";
	r.has_notice_at = true;
	rule_is("at risk, noticed", hm_handle_row_broken_rule(&r), NULL);
	r.has_notice_at = false;
	rule_is("at risk without a notice", hm_handle_row_broken_rule(&r),
			"notice_at is set exactly when the handle is at risk");

	memset(&r, 0, sizeof(r));
	r.state = "released";
	r.display_is_handle = true;
	r.has_released_at = true;
	rule_is("released", hm_handle_row_broken_rule(&r), NULL);
	r.has_hold_reason = r.has_held_at = true;
	rule_is("released and held", hm_handle_row_broken_rule(&r), NULL);
	r.has_owner = true;
	rule_is("released with an owner", hm_handle_row_broken_rule(&r),
			"a released handle has no owner");
	r.has_owner = false;
	r.has_released_at = false;
	rule_is("released without released_at", hm_handle_row_broken_rule(&r),
			"a released handle has released_at");
	r.has_released_at = true;
	r.has_list_price = r.has_listed_at = true;
	r.list_price = 100;
	rule_is("released and listed", hm_handle_row_broken_rule(&r),
			"a released handle is not listed");
	r.has_list_price = r.has_listed_at = false;
	r.has_notice_at = true;
	rule_is("released with a notice", hm_handle_row_broken_rule(&r),
			"notice_at is set exactly when the handle is at risk");
}

static void
ledger_rules(void)
{
	hm_ledger_account_row w = {"wallet", true, false, true, true};
	hm_ledger_account_row f = {"fee", false, true, false, false};
	hm_ledger_account_row p = {"payments", false, true, false, false};
	hm_ledger_account_row r;

	rule_is("a wallet", hm_ledger_account_row_broken_rule(&w), NULL);
	rule_is("a fee slot", hm_ledger_account_row_broken_rule(&f), NULL);
	rule_is("a payments slot", hm_ledger_account_row_broken_rule(&p), NULL);
	r = w;
	r.kind = "escrow";
	rule_is("an unknown kind", hm_ledger_account_row_broken_rule(&r),
			"kind is wallet, fee or payments");
	r = w;
	r.has_account = false;
	rule_is("a wallet of nobody", hm_ledger_account_row_broken_rule(&r),
			"a wallet, and only a wallet, belongs to an account");
	r = f;
	r.has_account = true;
	rule_is("a fee slot of an account", hm_ledger_account_row_broken_rule(&r),
			"a wallet, and only a wallet, belongs to an account");
	r = w;
	r.has_slot = true;
	rule_is("a wallet with a slot", hm_ledger_account_row_broken_rule(&r),
			"a platform account, and only a platform account, has a slot");
	r = p;
	r.has_slot = false;
	rule_is("a payments account without a slot", hm_ledger_account_row_broken_rule(&r),
			"a platform account, and only a platform account, has a slot");
	r = w;
	r.has_balance = false;
	rule_is("a wallet without a balance", hm_ledger_account_row_broken_rule(&r),
			"a wallet, and only a wallet, keeps a balance and held money");
	r = w;
	r.has_held = false;
	rule_is("a wallet without held money", hm_ledger_account_row_broken_rule(&r),
			"a wallet, and only a wallet, keeps a balance and held money");
	r = f;
	r.has_balance = r.has_held = true;
	rule_is("a fee slot with a balance and held money", hm_ledger_account_row_broken_rule(&r),
			"a wallet, and only a wallet, keeps a balance and held money");
	r = f;
	r.has_balance = true;
	rule_is("a fee slot with a balance alone", hm_ledger_account_row_broken_rule(&r),
			"a wallet, and only a wallet, keeps a balance and held money");
	r = p;
	r.has_held = true;
	rule_is("a payments slot with held money alone", hm_ledger_account_row_broken_rule(&r),
			"a wallet, and only a wallet, keeps a balance and held money");
	r.kind = NULL;
	rule_is("no kind: NOT NULL says so", hm_ledger_account_row_broken_rule(&r), NULL);
}

static void
kind_rules(void)
{
	const char *const transfers[] = {"deposit", "withdrawal", "purchase", "handle_transfer",
	"hold", "hold_void", "hold_post"};
	const char *const outbox[] = {"inactivity_notice", "released", "restored", "registered",
		"held", "hold_released", "sold", "bought", "handle_sent", "handle_received", "outbid",
	"auction_ended", "offer_received", "offer_ended"};

	for (size_t i = 0; i < sizeof(transfers) / sizeof(*transfers); i++)
	{
		bool		closing = strcmp(transfers[i], "hold_void") == 0 ||
			strcmp(transfers[i], "hold_post") == 0;
		const char *other = "a closing transfer (hold_void, hold_post) has no idempotency key, and every other transfer has one";

		rule_is(transfers[i], hm_transfer_row_broken_rule(transfers[i], closing ? NULL : "k"), NULL);
		rule_is(closing ? "a closing with a key" : "another transfer without a key",
				hm_transfer_row_broken_rule(transfers[i], closing ? "k" : NULL), other);
	}
	rule_is("an unknown transfer kind", hm_transfer_row_broken_rule("refund", "k"),
			"kind is deposit, withdrawal, purchase, handle_transfer, hold, hold_void or hold_post");
	rule_is("an empty key", hm_transfer_row_broken_rule("deposit", ""),
			"an idempotency key is not empty");
	rule_is("no key, no kind: NOT NULL says so", hm_transfer_row_broken_rule(NULL, NULL), NULL);
	for (size_t i = 0; i < sizeof(outbox) / sizeof(*outbox); i++)
		rule_is(outbox[i], hm_outbox_row_broken_rule(outbox[i]), NULL);
	rule_is("an unknown message kind", hm_outbox_row_broken_rule("purchase"),
			"kind is inactivity_notice, released, restored, registered, held, hold_released, "
			"sold, bought, handle_sent, handle_received, outbid, auction_ended, offer_received "
			"or offer_ended");
	rule_is("no message kind", hm_outbox_row_broken_rule(NULL), NULL);
}

int
main(void)
{
	handle_rules();
	ledger_rules();
	kind_rules();
	printf("row_rules: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
