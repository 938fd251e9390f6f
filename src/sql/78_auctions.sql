-- src/sql/78_auctions.sql: escrow holds, English auctions and offers.
--
-- A bid or an offer sets money aside as a pending hold (src/escrow.c): the
-- bidder's available balance falls at once; the hold ends posted (the sale,
-- src/market.c _sell_from_hold) or voided (outbid, cancelled, expired).
--
-- Lock order, on top of the market's (accounts, handles, wallets in id
-- order): an auction's row before anything it touches; a handle's row
-- before its offers.  Every transaction takes all the wallets it writes in
-- one statement, in ledger account id order, and waits for no wallet after
-- that: a bid its two (the new bidder's, the outbid one's), a sale or a
-- transfer those of its buyer, seller and offerers, a settlement batch
-- those of all its sales together (see _settle_batch).  Offers and holds
-- are locked only by a transaction that holds the lock of their handle (or,
-- for a bid's hold, of its auction), so their place relative to wallets
-- cannot close a cycle.

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

CREATE TABLE @extschema@.auctions (
    auction_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    handle @extschema@.handle NOT NULL,
    seller_id bigint,                           -- NULL: the platform
    reserve_cents bigint NOT NULL CHECK (reserve_cents > 0),
    started_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    state text NOT NULL DEFAULT 'open'
        CHECK (state IN ('open', 'settled', 'ended', 'failed', 'cancelled')),
    top_bid_id bigint,
    top_cents bigint,
    top_bidder_id bigint,
    bid_count integer NOT NULL DEFAULT 0,
    sale_transfer_id bigint,
    closed_at timestamptz,
    outcome text,
    CHECK (ends_at > started_at),
    CHECK ((top_bid_id IS NULL) = (top_cents IS NULL) AND (top_bid_id IS NULL) = (top_bidder_id IS NULL)),
    CHECK ((state = 'settled') = (sale_transfer_id IS NOT NULL)),
    CHECK ((state = 'open') = (closed_at IS NULL))
);
CREATE UNIQUE INDEX auctions_one_open ON @extschema@.auctions (handle) WHERE state = 'open';
CREATE INDEX auctions_open_ends ON @extschema@.auctions (ends_at) WHERE state = 'open';
COMMENT ON TABLE @extschema@.auctions IS 'English auctions, by owners and by the platform';

CREATE TABLE @extschema@.bids (
    bid_id bigint PRIMARY KEY,                  -- its hold
    auction_id bigint NOT NULL,
    bidder_id bigint NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    at timestamptz NOT NULL,
    state text NOT NULL CHECK (state IN ('top', 'outbid', 'won', 'refunded'))
);
CREATE INDEX bids_auction ON @extschema@.bids (auction_id);
CREATE UNIQUE INDEX bids_one_top ON @extschema@.bids (auction_id) WHERE state = 'top';
COMMENT ON TABLE @extschema@.bids IS 'every bid; the top one holds its money';

CREATE TABLE @extschema@.offers (
    offer_id bigint PRIMARY KEY,                -- its hold
    handle @extschema@.handle NOT NULL,
    buyer_id bigint NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    made_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    state text NOT NULL DEFAULT 'open'
        CHECK (state IN ('open', 'accepted', 'cancelled', 'voided', 'expired')),
    sale_transfer_id bigint,
    closed_at timestamptz,
    CHECK (expires_at > made_at),
    CHECK ((state = 'accepted') = (sale_transfer_id IS NOT NULL))
);
CREATE INDEX offers_open_handle ON @extschema@.offers (handle) WHERE state = 'open';
CREATE INDEX offers_open_expiry ON @extschema@.offers (expires_at) WHERE state = 'open';
COMMENT ON TABLE @extschema@.offers IS 'offers to owners, each holding its money until it ends';

CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.holds
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.auctions
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.bids
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.offers
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
SELECT pg_catalog.pg_extension_config_dump('@extschema@.holds', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.auctions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.auctions_auction_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bids', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.offers', '');

-- A retried call: the transfer its key made, if it is this same request
-- (HM006 if another); NULL for a new key (src/ledger.c, as every claim).
-- Called once the caller holds the lock a concurrent first call would hold,
-- so that call is seen committed.
CREATE FUNCTION @extschema@._replayed(p_account_id bigint, p_key text, p_kind text, p_request text)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'hm_replayed' LANGUAGE C STABLE STRICT;

-- The arguments a money function refuses when missing, in buy()'s words.
CREATE FUNCTION @extschema@._require_args(p_function text, VARIADIC p_missing boolean[])
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    FOR i IN 1 .. cardinality(p_missing) LOOP
        IF p_missing[i] THEN
            RAISE EXCEPTION 'argument % of % must not be null', i, p_function
                USING ERRCODE = 'null_value_not_allowed';
        END IF;
    END LOOP;
END $$;

-- The owner's handle, locked, and whether it may be put up for sale now.
CREATE FUNCTION @extschema@._sellable_by_owner(p_handle @extschema@.handle, p_seller_id bigint,
                                               p_as_of timestamptz, p_what text)
    RETURNS @extschema@.handles
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    h handles;
BEGIN
    SELECT * INTO h FROM handles WHERE handle = p_handle FOR UPDATE;
    IF NOT FOUND OR h.owner_id IS DISTINCT FROM p_seller_id THEN
        RAISE EXCEPTION 'account % does not own handle "%"', p_seller_id, p_handle
            USING ERRCODE = 'HM008', DETAIL = format('Only the owner of a registered handle may %s it.', p_what);
    END IF;
    PERFORM _refuse_held(p_handle, h.hold_reason);
    IF h.transfer_locked_until > p_as_of THEN
        RAISE EXCEPTION 'handle "%" is under its transfer lock', p_handle
            USING ERRCODE = 'HM007',
                  DETAIL = format('It changed hands recently; the lock ends at %s.', h.transfer_locked_until);
    END IF;
    RETURN h;
END $$;

CREATE FUNCTION @extschema@._no_open_auction(p_handle @extschema@.handle) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    a auctions;
BEGIN
    SELECT * INTO a FROM auctions WHERE handle = p_handle AND state = 'open';
    IF FOUND THEN
        RAISE EXCEPTION 'handle "%" is being auctioned', p_handle
            USING ERRCODE = 'HM008', DETAIL = format('Auction %s is open until %s.', a.auction_id, a.ends_at);
    END IF;
END $$;

CREATE FUNCTION @extschema@._new_auction(p_handle @extschema@.handle, p_seller_id bigint,
                                         p_reserve bigint, p_ends_at timestamptz,
                                         p_as_of timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_id bigint;
BEGIN
    IF p_reserve IS NULL OR p_reserve <= 0 THEN
        RAISE EXCEPTION 'reserve_cents must be positive'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('It was %s cents.', p_reserve);
    END IF;
    IF p_ends_at IS NULL OR p_ends_at <= p_as_of THEN
        RAISE EXCEPTION 'an auction must end after it starts'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It would start at %s and end at %s.', p_as_of, p_ends_at);
    END IF;
    PERFORM _no_open_auction(p_handle);
    BEGIN
        INSERT INTO auctions (handle, seller_id, reserve_cents, started_at, ends_at)
        VALUES (p_handle, p_seller_id, p_reserve, p_as_of, p_ends_at)
        RETURNING auction_id INTO v_id;
    EXCEPTION WHEN unique_violation THEN
        -- a premium-list handle has no row to lock: two platform auctions of
        -- it started at once meet here, the second after the first commits
        PERFORM _no_open_auction(p_handle);
        RAISE;
    END;
    RETURN v_id;
END $$;

CREATE FUNCTION @extschema@._start_auction(p_candidate text, p_seller_id bigint, p_reserve bigint,
                                           p_ends_at timestamptz, p_as_of timestamptz, p_key text)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_handle handle := _canonical(p_candidate);
    h handles;
    v_req record;
    v_id bigint;
BEGIN
    PERFORM _require_account(p_seller_id);
    -- a retry after a lost answer gets the same auction id
    v_req := _claim_request(p_seller_id, p_key,
                            format('start_auction(candidate => %L, seller_id => %s, reserve_cents => %s, ends_at => %s)',
                                   p_candidate, p_seller_id, p_reserve,
                                   to_char(p_ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00')),
                            p_as_of);
    IF v_req.replayed THEN
        RETURN v_req.result;
    END IF;
    h := _sellable_by_owner(v_handle, p_seller_id, p_as_of, 'auction');
    IF h.list_price_cents IS NOT NULL THEN
        RAISE EXCEPTION 'handle "%" is listed at a fixed price', v_handle
            USING ERRCODE = 'HM008', DETAIL = format('It is listed at %s.', dollars(h.list_price_cents)),
                  HINT = 'Unlist it first with handle_market.unlist_handle().';
    END IF;
    v_id := _new_auction(v_handle, p_seller_id, p_reserve, p_ends_at, p_as_of);
    PERFORM _request_done(p_seller_id, p_key, v_id);
    RETURN v_id;
END $$;

CREATE FUNCTION @extschema@.start_auction(candidate text, seller_id bigint, reserve_cents bigint,
                                          ends_at timestamptz, as_of timestamptz DEFAULT now(),
                                          idempotency_key text DEFAULT NULL)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.start_auction(text, bigint, bigint, timestamptz, timestamptz, text) IS
    'the owner auctions a handle it may sell; returns the auction id; with a key, a retry returns the same id';

-- The platform auctions what it would sell: a handle on the premium list or
-- a released handle in its premium or available phase.
CREATE FUNCTION @extschema@._start_platform_auction(p_candidate text, p_reserve bigint,
                                                    p_ends_at timestamptz, p_as_of timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_handle handle := _canonical(p_candidate);
    h handles;
    v_id bigint;
BEGIN
    SELECT * INTO h FROM handles WHERE handle = v_handle FOR UPDATE;
    IF FOUND AND h.owner_id IS NOT NULL THEN
        RAISE EXCEPTION 'handle "%" is not the platform''s to auction', v_handle
            USING ERRCODE = 'HM008', DETAIL = format('Account %s owns it.', h.owner_id);
    END IF;
    PERFORM _refuse_held(v_handle, h.hold_reason);
    -- a retry after a lost answer: the platform's open auction of the handle
    -- with this reserve and end is the one the first call started; its id
    -- again, nothing written.  Any other open auction is refused below
    -- (_no_open_auction: HM008).
    SELECT a.auction_id INTO v_id FROM auctions a
     WHERE a.handle = v_handle AND a.state = 'open' AND a.seller_id IS NULL
       AND a.reserve_cents = p_reserve AND a.ends_at = p_ends_at;
    IF FOUND THEN
        RETURN v_id;
    END IF;
    IF price(v_handle::text, p_as_of) IS NULL THEN
        RAISE EXCEPTION 'handle "%" is not for sale by the platform', v_handle
            USING ERRCODE = 'HM008', DETAIL = (SELECT reason FROM lookup(v_handle::text, p_as_of));
    END IF;
    BEGIN
        RETURN _new_auction(v_handle, NULL, p_reserve, p_ends_at, p_as_of);
    EXCEPTION WHEN SQLSTATE 'HM008' THEN
        -- a premium-list handle has no row to lock, so two identical calls
        -- at once both get here; the second waits on the open-auction index
        -- for the first to commit, and _new_auction then says the handle is
        -- being auctioned.  If that auction is the one this call asks for,
        -- it is this call's outcome.
        SELECT a.auction_id INTO v_id FROM auctions a
         WHERE a.handle = v_handle AND a.state = 'open' AND a.seller_id IS NULL
           AND a.reserve_cents = p_reserve AND a.ends_at = p_ends_at;
        IF FOUND THEN
            RETURN v_id;
        END IF;
        RAISE;
    END;
END $$;

CREATE FUNCTION @extschema@.start_platform_auction(candidate text, reserve_cents bigint,
                                                   ends_at timestamptz, as_of timestamptz DEFAULT now())
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.start_platform_auction(text, bigint, timestamptz, timestamptz) IS
    'the platform auctions a premium-list or released handle; returns the auction id';

-- The least the next bid may be: the reserve, then the top bid plus the
-- larger of $1 and 5% (rounded up to the cent).  numeric: no overflow.
CREATE FUNCTION @extschema@.minimum_bid(top_cents bigint, reserve_cents bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN top_cents IS NULL THEN reserve_cents
                ELSE greatest(top_cents::numeric + 100, ceil(top_cents::numeric * 105 / 100))::bigint END;

CREATE FUNCTION @extschema@._bid(p_candidate text, p_bidder_id bigint, p_amount bigint,
                                 p_key text, p_as_of timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_handle handle := _canonical(p_candidate);
    v_request text := format('bid(candidate => %L, bidder_id => %s, amount_cents => %s)',
                             p_candidate, p_bidder_id, p_amount);
    a auctions;
    v_min bigint;
    v_hold bigint;
    v_created boolean;
    v_ends timestamptz;
    v_raise boolean;
    v_hold_reason text;
BEGIN
    PERFORM _require_args('bid', p_candidate IS NULL, p_bidder_id IS NULL, p_amount IS NULL,
                          p_key IS NULL, p_as_of IS NULL);
    PERFORM _mark_active(p_bidder_id, p_as_of);     -- first: it takes the activity lock
    PERFORM _require_account(p_bidder_id);
    SELECT * INTO a FROM auctions WHERE handle = v_handle AND state = 'open' FOR UPDATE;
    v_hold := _replayed(p_bidder_id, p_key, 'hold', v_request);
    IF v_hold IS NOT NULL THEN
        RETURN v_hold;
    END IF;
    IF a.auction_id IS NULL THEN
        -- the bidder may have seen an auction that has just closed
        SELECT * INTO a FROM auctions WHERE handle = v_handle ORDER BY auction_id DESC LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'the auction of handle "%" is over', v_handle
                USING ERRCODE = 'HM008',
                      DETAIL = format('Auction %s closed at %s: %s.', a.auction_id, utc_time(a.closed_at), a.outcome);
        END IF;
        RAISE EXCEPTION 'handle "%" is not being auctioned', v_handle USING ERRCODE = 'HM008';
    END IF;
    IF p_as_of >= a.ends_at THEN
        RAISE EXCEPTION 'the auction of handle "%" has ended', v_handle
            USING ERRCODE = 'HM008', DETAIL = format('It ended at %s.', a.ends_at);
    END IF;
    IF a.seller_id = p_bidder_id THEN
        RAISE EXCEPTION 'account % cannot bid on its own handle "%"', p_bidder_id, v_handle
            USING ERRCODE = 'HM008';
    END IF;
    -- a held handle does not move: no money is taken for it
    SELECT hold_reason INTO v_hold_reason FROM handles WHERE handle = v_handle;
    PERFORM _refuse_held(v_handle, v_hold_reason);
    v_min := minimum_bid(a.top_cents, a.reserve_cents);
    IF p_amount IS NULL OR p_amount < v_min THEN
        RAISE EXCEPTION 'bid too low for handle "%"', v_handle
            USING ERRCODE = 'HM012',
                  DETAIL = format('The minimum bid is %s (%s); the bid was %s.', dollars(v_min),
                                  CASE WHEN a.top_cents IS NULL THEN 'the reserve'
                                       ELSE format('the top bid %s plus the larger of $1.00 and 5%%',
                                                   dollars(a.top_cents)) END,
                                  dollars(p_amount));
    END IF;
    -- both wallets this bid writes, in id order, before either is written
    PERFORM 1 FROM ledger_accounts
     WHERE account_id IN (p_bidder_id, a.top_bidder_id)
     ORDER BY ledger_account_id FOR NO KEY UPDATE;
    -- The top bid is voided first, so that a top bidder raising its own bid
    -- needs only the new amount.
    v_raise := a.top_bidder_id = p_bidder_id;
    IF a.top_bid_id IS NOT NULL THEN
        PERFORM _hold_void(a.top_bid_id, p_as_of);
        UPDATE bids SET state = 'outbid' WHERE bid_id = a.top_bid_id;
        IF NOT v_raise THEN
            INSERT INTO outbox (kind, account_id, handle, at, detail)
            VALUES ('outbid', a.top_bidder_id, v_handle, p_as_of,
                    format('You were outbid on @%s at %s; your %s is available again.',
                           v_handle, dollars(p_amount), dollars(a.top_cents)));
        END IF;
    END IF;
    SELECT o.hold_id, o.created INTO v_hold, v_created
      FROM _hold_open(p_bidder_id, p_amount, p_key, v_request, v_handle::text, p_as_of) o;
    INSERT INTO bids (bid_id, auction_id, bidder_id, amount_cents, at, state)
    VALUES (v_hold, a.auction_id, p_bidder_id, p_amount, p_as_of, 'top');
    -- a bid in the last hour keeps the auction open an hour after it
    v_ends := greatest(a.ends_at, p_as_of + interval '1 hour');
    UPDATE auctions SET top_bid_id = v_hold, top_cents = p_amount, top_bidder_id = p_bidder_id,
                        bid_count = bid_count + 1, ends_at = v_ends
     WHERE auction_id = a.auction_id;
    RETURN v_hold;
END $$;

CREATE FUNCTION @extschema@.bid(candidate text, bidder_id bigint, amount_cents bigint,
                                idempotency_key text, as_of timestamptz DEFAULT now())
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.bid(text, bigint, bigint, text, timestamptz) IS
    'bids in the open auction of a handle, holding the money; returns the bid id (its hold); idempotent';

CREATE FUNCTION @extschema@._cancel_auction(p_candidate text, p_seller_id bigint,
                                            p_as_of timestamptz, p_key text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_handle handle := _canonical(p_candidate);
    a auctions;
BEGIN
    IF p_seller_id IS NOT NULL AND (_claim_request(p_seller_id, p_key,
            format('cancel_auction(candidate => %L, seller_id => %s)', p_candidate, p_seller_id),
            p_as_of)).replayed THEN
        RETURN;
    END IF;
    SELECT * INTO a FROM auctions WHERE handle = v_handle AND state = 'open' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'handle "%" is not being auctioned', v_handle USING ERRCODE = 'HM008';
    END IF;
    IF a.seller_id IS NULL THEN
        RAISE EXCEPTION 'the auction of handle "%" is the platform''s', v_handle
            USING ERRCODE = 'HM008', DETAIL = 'Only the seller may cancel an auction.';
    END IF;
    IF p_seller_id IS NULL OR a.seller_id <> p_seller_id THEN
        RAISE EXCEPTION 'account % did not start the auction of handle "%"',
                        coalesce(p_seller_id::text, 'NULL'), v_handle
            USING ERRCODE = 'HM008';
    END IF;
    IF a.bid_count > 0 THEN
        RAISE EXCEPTION 'the auction of handle "%" has bids', v_handle
            USING ERRCODE = 'HM008', DETAIL = format('The top bid is %s.', dollars(a.top_cents)),
                  HINT = 'An auction can be cancelled only before its first bid.';
    END IF;
    UPDATE auctions SET state = 'cancelled', closed_at = p_as_of, outcome = 'cancelled by the seller'
     WHERE auction_id = a.auction_id;
END $$;

CREATE FUNCTION @extschema@.cancel_auction(candidate text, seller_id bigint,
                                           as_of timestamptz DEFAULT now(),
                                           idempotency_key text DEFAULT NULL)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;

-- One ended auction: the winner's hold pays (the sale, as buy() makes it);
-- without bids it just ends; a sale that cannot happen any more (the handle
-- was put under hold, taken, the seller lost it, or the seller's balance
-- would overflow) gives the winner's money back, and the run goes on.  NULL when the auction is not open or has not ended at as_of.
CREATE FUNCTION @extschema@._settle_auction(p_auction_id bigint, p_as_of timestamptz)
    RETURNS text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    a auctions;
    v_transfer bigint;
BEGIN
    SELECT * INTO a FROM auctions WHERE auction_id = p_auction_id FOR UPDATE;
    IF a.state <> 'open' OR a.ends_at > p_as_of THEN
        RETURN NULL;
    END IF;
    IF a.top_bid_id IS NULL THEN
        UPDATE auctions SET state = 'ended', closed_at = p_as_of, outcome = 'no bids'
         WHERE auction_id = a.auction_id;
        RETURN 'ended';
    END IF;
    BEGIN
        v_transfer := _sell_from_hold(a.handle::text, a.top_bid_id, a.seller_id, a.ends_at,
                                      format('won auction %s', a.auction_id));
    EXCEPTION WHEN SQLSTATE 'HM007' OR SQLSTATE 'HM008' OR SQLSTATE 'HM010' OR SQLSTATE 'HM013' THEN
        PERFORM _hold_void(a.top_bid_id, p_as_of);
        UPDATE bids SET state = 'refunded' WHERE bid_id = a.top_bid_id;
        UPDATE auctions SET state = 'failed', closed_at = p_as_of, outcome = SQLERRM
         WHERE auction_id = a.auction_id;
        INSERT INTO outbox (kind, account_id, handle, at, detail)
        VALUES ('auction_ended', a.top_bidder_id, a.handle, p_as_of,
                format('The auction of @%s could not be settled (%s); your %s is available again.',
                       a.handle, SQLERRM, dollars(a.top_cents)));
        RETURN 'failed';
    END;
    UPDATE bids SET state = 'won' WHERE bid_id = a.top_bid_id;
    UPDATE auctions SET state = 'settled', closed_at = p_as_of, sale_transfer_id = v_transfer,
                        outcome = format('sold to account %s for %s', a.top_bidder_id, dollars(a.top_cents))
     WHERE auction_id = a.auction_id;
    RETURN 'settled';
END $$;

-- Ends an open offer (false if it had already ended): its money comes back.
CREATE FUNCTION @extschema@._void_offer(p_offer_id bigint, p_state text, p_at timestamptz,
                                        p_why text)
    RETURNS boolean
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    o offers;
BEGIN
    SELECT * INTO o FROM offers WHERE offer_id = p_offer_id FOR UPDATE;
    IF o.state <> 'open' THEN
        RETURN false;
    END IF;
    PERFORM _hold_void(o.offer_id, p_at);
    UPDATE offers SET state = p_state, closed_at = p_at WHERE offer_id = o.offer_id;
    INSERT INTO outbox (kind, account_id, handle, at, detail)
    VALUES ('offer_ended', o.buyer_id, o.handle, p_at,
            format('Your offer of %s for @%s ended: %s; the money is available again.',
                   dollars(o.amount_cents), o.handle, p_why));
    RETURN true;
END $$;

-- Called by every change of owner (src/market.c): the offers were made to
-- the previous owner.  The caller has locked the offerers' wallets.
CREATE FUNCTION @extschema@._void_offers(p_handle @extschema@.handle, p_at timestamptz, p_why text)
    RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_id bigint;
    n integer := 0;
BEGIN
    FOR v_id IN SELECT offer_id FROM offers WHERE handle = p_handle AND state = 'open'
                 ORDER BY offer_id
    LOOP
        IF _void_offer(v_id, 'voided', p_at, p_why) THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END $$;

-- One batch of settlement, in its own transaction: up to p_limit ended
-- auctions or, once none is left, up to p_limit expired offers (never both:
-- a settled auction keeps its wallets locked until the commit).
--
-- Lock order.  Every row the batch will lock is locked first, kind by kind,
-- each kind in one statement and one order: the auctions (by id), their
-- handles (by handle), then every wallet any of its sales will write (by
-- ledger account id, in one statement: the winners', the sellers' and those
-- of everyone with an open offer on an auctioned handle, which the sale
-- voids).  Only then do the sales run, and a sale re-locks wallets the batch
-- already holds, so it never waits for one.  Locking each sale's wallets in
-- turn instead deadlocked (40P01) several times a minute under load: the
-- batch held sale 1's wallet W2 and then waited for sale 2's W1, while a
-- buy() holding W1 waited for W2.
--
-- Why no path can now close a cycle with a batch.  A cycle needs someone
-- who holds a row the batch waits for while waiting for a row the batch
-- holds.  The batch waits only (a) for auctions and handles, before it holds
-- any wallet, and (b) in one ordered statement for wallets; after that,
-- only for rows that the locks it holds make its own (the auctions' winning
-- holds, the offers and holds on its handles, the closings of those holds
-- (unique by hold), the first row of a handle the platform sells, which nobody
-- else may make while its auction is open).  Against (a): no path holds a
-- wallet while it waits for an auction or a handle.  bid() takes its
-- auction, buy(), transfer_handle(), accept_offer(), make_offer() and
-- cancel_offer() their handle, the expiry batch its handles, before any
-- wallet, and after the wallets none waits for another auction or handle;
-- the release batch takes no wallet.  Against (b): each of those paths
-- takes its wallets in one statement in id order too, and waits for no
-- wallet after it (make_offer(), cancel_offer(), deposit() and withdraw()
-- write one), so two transactions that each lock ascending from nothing
-- cannot wait for each other in both directions.
--
-- A seller without a wallet gets it here, before the wallets are locked,
-- not in its sale: a wallet that a first deposit made between this lock and
-- the sale would be one the batch takes late, out of order (and an empty
-- wallet for a sale that then fails is harmless).  Making it can wait only
-- for another transaction making the same wallet (a first deposit, or a
-- sale by that seller), which holds nothing the batch holds.
CREATE FUNCTION @extschema@._settle_batch(p_as_of timestamptz, p_limit integer,
                                          OUT auctions_done integer, OUT offers_expired integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_ids bigint[];
    v_id bigint;
BEGIN
    auctions_done := 0;
    offers_expired := 0;
    -- locked as they are chosen: an auction a last-minute bid has just
    -- extended drops out of the batch
    SELECT array_agg(s.auction_id ORDER BY s.auction_id) INTO v_ids
      FROM (SELECT auction_id FROM auctions WHERE state = 'open' AND ends_at <= p_as_of
             ORDER BY auction_id LIMIT p_limit FOR UPDATE) s;
    IF v_ids IS NOT NULL THEN
        PERFORM 1 FROM handles
         WHERE handle IN (SELECT handle FROM auctions WHERE auction_id = ANY (v_ids))
         ORDER BY handle FOR UPDATE;
        -- only an auction with a top bid is a sale; the auctions and
        -- handles are locked, so neither its parties nor the offers on its
        -- handle (make_offer() shares the handle's lock) change from here
        INSERT INTO ledger_accounts (kind, account_id, balance, held)
        SELECT 'wallet', a.seller_id, 0, 0 FROM auctions a
         WHERE a.auction_id = ANY (v_ids) AND a.top_bid_id IS NOT NULL AND a.seller_id IS NOT NULL
         GROUP BY a.seller_id ORDER BY a.seller_id
            ON CONFLICT (account_id) DO NOTHING;
        PERFORM 1 FROM ledger_accounts
         WHERE account_id IN (SELECT p.account_id
                                FROM auctions a,
                                     LATERAL (VALUES (a.top_bidder_id), (a.seller_id)) p(account_id)
                               WHERE a.auction_id = ANY (v_ids) AND a.top_bid_id IS NOT NULL
                              UNION
                              SELECT o.buyer_id
                                FROM auctions a JOIN offers o ON o.handle = a.handle
                               WHERE a.auction_id = ANY (v_ids) AND a.top_bid_id IS NOT NULL
                                 AND o.state = 'open')
         ORDER BY ledger_account_id FOR NO KEY UPDATE;
        FOREACH v_id IN ARRAY v_ids LOOP
            IF _settle_auction(v_id, p_as_of) IS NOT NULL THEN
                auctions_done := auctions_done + 1;
            END IF;
        END LOOP;
        RETURN;
    END IF;

    SELECT array_agg(s.offer_id ORDER BY s.offer_id) INTO v_ids
      FROM (SELECT offer_id FROM offers WHERE state = 'open' AND expires_at <= p_as_of
             ORDER BY expires_at, offer_id LIMIT p_limit) s;
    IF v_ids IS NULL THEN
        RETURN;
    END IF;
    PERFORM 1 FROM handles
     WHERE handle IN (SELECT handle FROM offers WHERE offer_id = ANY (v_ids))
     ORDER BY handle FOR SHARE;
    PERFORM 1 FROM offers WHERE offer_id = ANY (v_ids) ORDER BY offer_id FOR UPDATE;
    PERFORM 1 FROM ledger_accounts
     WHERE account_id IN (SELECT buyer_id FROM offers WHERE offer_id = ANY (v_ids))
     ORDER BY ledger_account_id FOR NO KEY UPDATE;
    FOREACH v_id IN ARRAY v_ids LOOP
        IF _void_offer(v_id, 'expired', p_as_of, 'it expired') THEN
            offers_expired := offers_expired + 1;
        END IF;
    END LOOP;
END $$;

CREATE FUNCTION @extschema@.settle_batch(as_of timestamptz, batch_size integer,
                                         OUT auctions_done integer, OUT offers_expired integer)
    AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.settle_lock_try() RETURNS boolean
    AS 'MODULE_PATHNAME', 'hm_settle_lock_try' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION @extschema@.settle_lock_release() RETURNS boolean
    AS 'MODULE_PATHNAME', 'hm_settle_lock_release' LANGUAGE C VOLATILE STRICT;

-- Settles every auction that has ended and voids every expired offer, in
-- batches of its own transaction.  One run at a time; a rerun after a crash
-- finds only what is left (settled auctions are no longer open).
CREATE PROCEDURE @extschema@.settle_auctions(as_of timestamptz DEFAULT now(),
                                             batch_size integer DEFAULT 100,
                                             pause interval DEFAULT '0')
    LANGUAGE plpgsql
AS $$
DECLARE
    v record;
    v_auctions bigint := 0;
    v_offers bigint := 0;
    v_pause interval := @extschema@._batch_pause(pause);
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RAISE NOTICE 'settle_auctions: this server is a replica; nothing to do';
        RETURN;
    END IF;
    IF NOT @extschema@.settle_lock_try() THEN
        RAISE EXCEPTION 'another settlement run is in progress'
            USING ERRCODE = 'HM016',
                  DETAIL = 'One settlement run at a time; this one did nothing.';
    END IF;
    -- refuses a time that is not the server's before any batch
    PERFORM @extschema@._write_time(as_of, 'as_of');
    LOOP
        -- each batch at its own transaction's time, unless time is simulated:
        -- a long run must not settle by a clock that stopped at its start
        SELECT * INTO v FROM @extschema@.settle_batch(
            CASE WHEN pg_catalog.current_setting('handle_market.simulated_time')::boolean
                 THEN as_of ELSE pg_catalog.now() END, batch_size);
        COMMIT;
        v_auctions := v_auctions + v.auctions_done;
        v_offers := v_offers + v.offers_expired;
        EXIT WHEN v.auctions_done = 0 AND v.offers_expired = 0;
        IF v_pause > interval '0' THEN
            PERFORM pg_catalog.pg_sleep_for(v_pause);
        END IF;
    END LOOP;
    PERFORM @extschema@.settle_lock_release();
    RAISE NOTICE 'settle_auctions: % auctions closed, % offers expired', v_auctions, v_offers;
END $$;

CREATE FUNCTION @extschema@._make_offer(p_candidate text, p_buyer_id bigint, p_amount bigint,
                                        p_expires_at timestamptz, p_key text, p_as_of timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_handle handle := _canonical(p_candidate);
    -- expires_at in UTC: the same request from a session in another zone
    v_request text := format('make_offer(candidate => %L, buyer_id => %s, amount_cents => %s, expires_at => %s)',
                             p_candidate, p_buyer_id, p_amount,
                             to_char(p_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00'));
    h handles;
    v_hold bigint;
    v_created boolean;
BEGIN
    PERFORM _require_args('make_offer', p_candidate IS NULL, p_buyer_id IS NULL, p_amount IS NULL,
                          p_expires_at IS NULL, p_key IS NULL, p_as_of IS NULL);
    PERFORM _mark_active(p_buyer_id, p_as_of);      -- first: it takes the activity lock
    PERFORM _require_account(p_buyer_id);
    -- shared: offers may be made side by side, but not while the handle moves
    SELECT * INTO h FROM handles WHERE handle = v_handle FOR SHARE;
    v_hold := _replayed(p_buyer_id, p_key, 'hold', v_request);
    IF v_hold IS NOT NULL THEN
        RETURN v_hold;
    END IF;
    IF h.owner_id IS NULL THEN
        RAISE EXCEPTION 'handle "%" has no owner to make an offer to', v_handle
            USING ERRCODE = 'HM008', HINT = 'lookup() says how it may be had.';
    END IF;
    IF h.owner_id = p_buyer_id THEN
        RAISE EXCEPTION 'account % already owns handle "%"', p_buyer_id, v_handle USING ERRCODE = 'HM008';
    END IF;
    PERFORM _refuse_held(v_handle, h.hold_reason);
    IF p_expires_at IS NULL OR p_expires_at <= p_as_of THEN
        RAISE EXCEPTION 'an offer must expire after it is made'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It would be made at %s and expire at %s.', p_as_of, p_expires_at);
    END IF;
    SELECT o.hold_id, o.created INTO v_hold, v_created
      FROM _hold_open(p_buyer_id, p_amount, p_key, v_request, v_handle::text, p_as_of) o;
    INSERT INTO offers (offer_id, handle, buyer_id, amount_cents, made_at, expires_at)
    VALUES (v_hold, v_handle, p_buyer_id, p_amount, p_as_of, p_expires_at);
    INSERT INTO outbox (kind, account_id, handle, at, detail)
    VALUES ('offer_received', h.owner_id, v_handle, p_as_of,
            format('Account %s offers %s for @%s until %s (offer %s).',
                   p_buyer_id, dollars(p_amount), v_handle, p_expires_at, v_hold));
    RETURN v_hold;
END $$;

CREATE FUNCTION @extschema@.make_offer(candidate text, buyer_id bigint, amount_cents bigint,
                                       expires_at timestamptz, idempotency_key text,
                                       as_of timestamptz DEFAULT now())
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.make_offer(text, bigint, bigint, timestamptz, text, timestamptz) IS
    'an offer to the owner of a handle, its money held until it ends; returns the offer id; idempotent';

CREATE FUNCTION @extschema@._accept_offer(p_offer_id bigint, p_seller_id bigint, p_as_of timestamptz,
                                          p_key text)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    o offers;
    v_transfer bigint;
    v_req record;
BEGIN
    PERFORM _require_account(p_seller_id);
    -- a retry after a lost answer gets the sale's transfer id again
    v_req := _claim_request(p_seller_id, p_key,
                            format('accept_offer(offer_id => %s, seller_id => %s)', p_offer_id, p_seller_id),
                            p_as_of);
    IF v_req.replayed THEN
        RETURN v_req.result;
    END IF;
    SELECT * INTO o FROM offers WHERE offer_id = p_offer_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'offer % does not exist', p_offer_id USING ERRCODE = 'HM008';
    END IF;
    PERFORM _sellable_by_owner(o.handle, p_seller_id, p_as_of, 'sell');
    SELECT * INTO o FROM offers WHERE offer_id = p_offer_id FOR UPDATE;
    IF o.state <> 'open' THEN
        RAISE EXCEPTION 'offer % is %', p_offer_id, o.state USING ERRCODE = 'HM008';
    END IF;
    IF o.expires_at <= p_as_of THEN
        RAISE EXCEPTION 'offer % has expired', p_offer_id
            USING ERRCODE = 'HM008', DETAIL = format('It expired at %s.', o.expires_at);
    END IF;
    PERFORM _no_open_auction(o.handle);
    -- accepted first, so that the change of owner voids only the others
    UPDATE offers SET state = 'accepted', closed_at = p_as_of, sale_transfer_id = 0
     WHERE offer_id = o.offer_id;
    v_transfer := _sell_from_hold(o.handle::text, o.offer_id, p_seller_id, p_as_of,
                                  format('offer %s accepted', o.offer_id));
    UPDATE offers SET sale_transfer_id = v_transfer WHERE offer_id = o.offer_id;
    PERFORM _request_done(p_seller_id, p_key, v_transfer);
    RETURN v_transfer;
END $$;

CREATE FUNCTION @extschema@.accept_offer(offer_id bigint, seller_id bigint,
                                         as_of timestamptz DEFAULT now(),
                                         idempotency_key text DEFAULT NULL)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.accept_offer(bigint, bigint, timestamptz, text) IS
    'the owner accepts an offer: the sale, with commission; the other open offers are voided; returns the transfer id; with a key, a retry returns the same id';

CREATE FUNCTION @extschema@._cancel_offer(p_offer_id bigint, p_buyer_id bigint, p_as_of timestamptz,
                                          p_key text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    o offers;
BEGIN
    IF p_buyer_id IS NOT NULL AND (_claim_request(p_buyer_id, p_key,
            format('cancel_offer(offer_id => %s, buyer_id => %s)', p_offer_id, p_buyer_id),
            p_as_of)).replayed THEN
        RETURN;
    END IF;
    SELECT * INTO o FROM offers WHERE offer_id = p_offer_id;
    IF NOT FOUND OR o.buyer_id IS DISTINCT FROM p_buyer_id THEN
        RAISE EXCEPTION 'account % made no offer %', p_buyer_id, p_offer_id USING ERRCODE = 'HM008';
    END IF;
    PERFORM 1 FROM handles WHERE handle = o.handle FOR SHARE;
    SELECT * INTO o FROM offers WHERE offer_id = p_offer_id FOR UPDATE;
    IF o.state <> 'open' THEN
        RAISE EXCEPTION 'offer % is %', p_offer_id, o.state USING ERRCODE = 'HM008';
    END IF;
    PERFORM _void_offer(o.offer_id, 'cancelled', p_as_of, 'you cancelled it');
END $$;

CREATE FUNCTION @extschema@.cancel_offer(offer_id bigint, buyer_id bigint,
                                         as_of timestamptz DEFAULT now(),
                                         idempotency_key text DEFAULT NULL)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
