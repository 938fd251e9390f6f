-- src/sql/78d_settlement.sql: settling ended auctions and expiring offers,
-- in batches of their own transaction (settle_auctions()).

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
