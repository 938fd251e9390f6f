-- src/sql/78a_escrow.sql: escrow holds, the money a bid or an offer sets
-- aside (src/escrow.c), and the sale a hold pays for (src/market.c).
--
-- A bid or an offer sets money aside as a pending hold: the bidder's
-- available balance falls at once; the hold ends posted (the sale,
-- _sell_from_hold) or voided (outbid, cancelled, expired).  Auctions and
-- bids are in 78b_auctions.sql, offers in 78c_offers.sql, the settlement
-- batch in 78d_settlement.sql; the lock order they keep is in
-- doc/architecture.md ("Lock order").

CREATE TABLE @extschema@.holds (
    hold_id bigint PRIMARY KEY,                 -- the 'hold' transfer
    account_id bigint NOT NULL,
    ledger_account_id bigint NOT NULL,          -- the wallet
    amount bigint NOT NULL CHECK (amount > 0),
    handle @extschema@.handle NOT NULL,
    opened_at timestamptz NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'posted', 'voided')),
    closed_by bigint,                           -- the 'hold_post' or 'hold_void' transfer
    closed_at timestamptz,
    CHECK ((state = 'pending') = (closed_by IS NULL)),
    CHECK ((state = 'pending') = (closed_at IS NULL))
);
CREATE INDEX holds_pending ON @extschema@.holds (ledger_account_id) WHERE state = 'pending';
COMMENT ON TABLE @extschema@.holds IS
    'money set aside by bids and offers: pending until posted (a sale) or voided';

CREATE FUNCTION @extschema@._hold_open(p_account_id bigint, p_amount bigint, p_key text,
                                       p_request text, p_handle text, p_at timestamptz,
                                       OUT hold_id bigint, OUT created boolean)
    AS 'MODULE_PATHNAME', 'hm_hold_open' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@._hold_void(p_hold_id bigint, p_at timestamptz) RETURNS bigint
    AS 'MODULE_PATHNAME', 'hm_hold_void' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@._sell_from_hold(p_handle text, p_hold_id bigint, p_seller_id bigint,
                                            p_as_of timestamptz, p_how text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'hm_sell_from_hold' LANGUAGE C VOLATILE;

CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.holds
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
SELECT pg_catalog.pg_extension_config_dump('@extschema@.holds', '');

-- A retried call: the transfer its key made, if it is this same request
-- (HM006 if another); NULL for a new key (src/ledger.c, as every claim).
-- Called once the caller holds the lock a concurrent first call would hold,
-- so that call is seen committed.
CREATE FUNCTION @extschema@._replayed(p_account_id bigint, p_key text, p_kind text, p_request text)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'hm_replayed' LANGUAGE C STABLE STRICT;
