-- src/sql/77_market.sql: listings, the atomic sale, the transfer of a handle,
-- and the invariants an auditor checks.  The implementations are C
-- (src/market.c); each API function is the gate in front of one.

-- Listing and unlisting are C (market.c); the key, when one is given, is
-- claimed first (src/ledger.c), so a retry after a lost answer does nothing
-- and succeeds again.
CREATE FUNCTION @extschema@._list_handle_c(p_candidate text, p_seller_id bigint,
                                           p_price_cents bigint, p_as_of timestamptz)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_list_handle' LANGUAGE C;
CREATE FUNCTION @extschema@._list_handle(p_candidate text, p_seller_id bigint,
                                         p_price_cents bigint, p_as_of timestamptz, p_key text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF p_seller_id IS NOT NULL AND (_claim_request(p_seller_id, p_key,
            format('list_handle(candidate => %L, seller_id => %s, price_cents => %s)',
                   p_candidate, p_seller_id, p_price_cents), p_as_of)).replayed THEN
        RETURN;
    END IF;
    PERFORM _list_handle_c(p_candidate, p_seller_id, p_price_cents, p_as_of);
END $$;
CREATE FUNCTION @extschema@.list_handle(candidate text, seller_id bigint, price_cents bigint,
                                        as_of timestamptz DEFAULT now(),
                                        idempotency_key text DEFAULT NULL)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.list_handle(text, bigint, bigint, timestamptz, text) IS
    'the owner offers a handle at a fixed price (a new price replaces the old one); with a key, a retry does nothing and succeeds';

CREATE FUNCTION @extschema@._unlist_handle_c(p_candidate text, p_seller_id bigint,
                                             p_as_of timestamptz)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_unlist_handle' LANGUAGE C;
CREATE FUNCTION @extschema@._unlist_handle(p_candidate text, p_seller_id bigint,
                                           p_as_of timestamptz, p_key text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF p_seller_id IS NOT NULL AND (_claim_request(p_seller_id, p_key,
            format('unlist_handle(candidate => %L, seller_id => %s)', p_candidate, p_seller_id),
            p_as_of)).replayed THEN
        RETURN;
    END IF;
    PERFORM _unlist_handle_c(p_candidate, p_seller_id, p_as_of);
END $$;
CREATE FUNCTION @extschema@.unlist_handle(candidate text, seller_id bigint,
                                          as_of timestamptz DEFAULT now(),
                                          idempotency_key text DEFAULT NULL)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.unlist_handle(text, bigint, timestamptz, text) IS
    'the owner withdraws a listing; with a key, a retry does nothing and succeeds';

CREATE FUNCTION @extschema@._buy(p_candidate text, p_buyer_id bigint, p_max_price_cents bigint,
                                 p_idempotency_key text, p_as_of timestamptz)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_buy'
    LANGUAGE C SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp;
CREATE FUNCTION @extschema@.buy(candidate text, buyer_id bigint, max_price_cents bigint,
                                idempotency_key text, as_of timestamptz DEFAULT now())
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.buy(text, bigint, bigint, text, timestamptz) IS
    'buys a handle from the platform or from its owner''s listing, atomically; returns the transfer id; idempotent';

CREATE FUNCTION @extschema@._transfer_handle(p_candidate text, p_from_id bigint, p_to_id bigint,
                                             p_idempotency_key text, p_as_of timestamptz)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_transfer_handle'
    LANGUAGE C SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp;
CREATE FUNCTION @extschema@.transfer_handle(candidate text, from_id bigint, to_id bigint,
                                            idempotency_key text, as_of timestamptz DEFAULT now())
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.transfer_handle(text, bigint, bigint, text, timestamptz) IS
    'gives a handle to another user without money, under the same rules as a sale; idempotent';
