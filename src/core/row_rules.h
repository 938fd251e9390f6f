/*
 * src/core/row_rules.h
 *	  The rules every row of the tables a sale writes keeps: handles,
 *	  ledger_accounts, transfers and the outbox.
 *
 * Each table checks its rules with one CHECK constraint that calls C
 * (src/row_rules_sql.c).  PostgreSQL reads every CHECK constraint of a table
 * from its stored text on each statement that writes the table: as nine and
 * five separate constraints, with the enumerations as arrays of text, that
 * reading was a sixth of the CPU of a purchase.  One call per table keeps
 * the rules and says which one a row breaks.
 *
 * Each function returns NULL when the row keeps every rule, else the rule
 * it breaks, in words.  A NULL column passes a rule about its value, as it
 * passes a CHECK (NOT NULL is declared on the columns).
 */
#ifndef HM_CORE_ROW_RULES_H
#define HM_CORE_ROW_RULES_H

#include <stdbool.h>
#include <stdint.h>

typedef struct hm_handle_row
{
	const char *state;			/* NULL: not given */
	bool		display_is_handle;	/* display's canonical form is the handle */
	bool		has_owner;
	bool		has_released_at;
	bool		has_notice_at;
	bool		has_list_price;
	int64_t		list_price;
	bool		has_listed_at;
	bool		has_hold_reason;
	bool		has_held_at;
} hm_handle_row;

const char *hm_handle_row_broken_rule(const hm_handle_row *r);

typedef struct hm_ledger_account_row
{
	const char *kind;			/* NULL: not given */
	bool		has_account;
	bool		has_slot;
	bool		has_balance;
	bool		has_held;
} hm_ledger_account_row;

/* The shape of an account; the money rule (0 <= held <= balance) stays a
 * plain CHECK on the table, where an auditor looks for it. */
const char *hm_ledger_account_row_broken_rule(const hm_ledger_account_row *r);

/* kind: NULL passes; key: NULL passes */
const char *hm_transfer_row_broken_rule(const char *kind, const char *key);
const char *hm_outbox_row_broken_rule(const char *kind);

#endif
