-- src/sql/78b_auctions.sql: English auctions, by owners and by the platform,
-- and their bids.  A bid holds its money (78a_escrow.sql); the auction's row
-- is locked before anything the bid touches (doc/architecture.md, "Lock
-- order").  Settlement is in 78d_settlement.sql.

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

CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.auctions
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.bids
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
SELECT pg_catalog.pg_extension_config_dump('@extschema@.auctions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.auctions_auction_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bids', '');

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
        RAISE EXCEPTION 'handle "%" is not being auctioned', v_handle
            USING ERRCODE = 'HM008', DETAIL = 'No auction of it is open.';
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
        RAISE EXCEPTION 'handle "%" is not being auctioned', v_handle
            USING ERRCODE = 'HM008', DETAIL = 'No auction of it is open.';
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
