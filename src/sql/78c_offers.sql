-- src/sql/78c_offers.sql: offers to the owner of a handle, each holding its
-- money (78a_escrow.sql) until it is accepted, cancelled, voided by a change
-- of owner or expired (78d_settlement.sql).  A handle's row is locked before
-- its offers (doc/architecture.md, "Lock order").

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

CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.offers
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
SELECT pg_catalog.pg_extension_config_dump('@extschema@.offers', '');

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
    PERFORM _refuse_own_handle(v_handle, h.owner_id, p_buyer_id);
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
        RAISE EXCEPTION 'offer % does not exist', p_offer_id
            USING ERRCODE = 'HM008', DETAIL = format('No offer has the id %s.', p_offer_id);
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
