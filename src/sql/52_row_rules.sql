-- src/sql/52_row_rules.sql: the row rules of the tables every sale writes
-- (handles, ledger_accounts, transfers, outbox), one CHECK constraint per
-- table, in C (src/core/row_rules.c).  PostgreSQL reads each CHECK
-- constraint of a table from its stored text on every statement that
-- writes the table; as sixteen constraints, with the enumerations as arrays
-- of text, that reading was a sixth of the CPU of a purchase.  Each function
-- returns true or raises check_violation naming the rule the row breaks.
-- The rules are listed in each table's constraint comment.

CREATE FUNCTION @extschema@.handles_row_rules(handle @extschema@.handle, display text,
        state text, owner_id bigint, released_at timestamptz, notice_at timestamptz,
        list_price_cents bigint, listed_at timestamptz, hold_reason text, held_at timestamptz)
    RETURNS boolean AS 'MODULE_PATHNAME', 'hm_handles_row_rules'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.ledger_accounts_row_rules(kind text, account_id bigint, slot integer,
        balance bigint, held bigint)
    RETURNS boolean AS 'MODULE_PATHNAME', 'hm_ledger_accounts_row_rules'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.transfers_row_rules(idempotency_key text, kind text)
    RETURNS boolean AS 'MODULE_PATHNAME', 'hm_transfers_row_rules'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.outbox_row_rules(kind text)
    RETURNS boolean AS 'MODULE_PATHNAME', 'hm_outbox_row_rules'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
