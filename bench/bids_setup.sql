-- bench/bids_setup.sql: the database of the bid benchmark
-- (bench/bids_bench.sh).  Bidders 1 to 8, one per pgbench client, each with
-- a deposit no run can spend; seller 100 owns the auctioned handles.
--
--   * hot: auctions hot0001, hot0002, ... all bid on by every client, one at
--     a time.  A bid must beat the top by 5%, so after some 460 bids an
--     auction that started at one cent stands above $10,000,000,000; the
--     clients then move on to the next one together.  At any moment all
--     eight clients bid on the same auction: one hot row.
--   * wide: auctions ab0001 .. ab1000, each client bidding on one at random.
--
-- A bid may lose the race for the minimum it read (another client bid
-- first: HM012); the bench functions then read the new minimum and bid
-- again (on one hot auction with eight clients a bidder may lose dozens in a
-- row), so each pgbench transaction ends with exactly one accepted bid.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE EXTENSION handle_market;
CREATE SCHEMA bench;

SELECT count(handle_market.upsert_account(b)) FROM generate_series(1, 8) b;
SELECT count(handle_market.deposit(b, 1000000000000000000, 'bench-deposit-' || b))
  FROM generate_series(1, 8) b;
SELECT handle_market.upsert_account(100);

SELECT count(handle_market.register_handle(100, 'hot' || lpad(g::text, 4, '0')))
  FROM generate_series(1, :hot_auctions) g;
SELECT count(handle_market.register_handle(100, 'ab' || lpad(g::text, 4, '0')))
  FROM generate_series(1, 1000) g;
SELECT count(handle_market.start_auction('hot' || lpad(g::text, 4, '0'), 100, 1, now() + interval '30 days'))
  FROM generate_series(1, :hot_auctions) g;
SELECT count(handle_market.start_auction('ab' || lpad(g::text, 4, '0'), 100, 1, now() + interval '30 days'))
  FROM generate_series(1, 1000) g;

CREATE SEQUENCE bench.key;
CREATE SEQUENCE bench.races;

-- One accepted bid by bidder on the open auction of handle h, at the
-- minimum it reads; a lost race (HM012) reads the minimum again.  NULL when
-- the minimum passes the ceiling.
CREATE FUNCTION bench.bid_on(h text, bidder bigint, ceiling bigint) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    v_min bigint;
BEGIN
    FOR attempt IN 1 .. 1000 LOOP
        SELECT handle_market.minimum_bid(a.top_cents, a.reserve_cents) INTO v_min
          FROM handle_market.auctions a WHERE a.handle OPERATOR(handle_market.=) h::handle_market.handle AND a.state = 'open';
        IF v_min > ceiling THEN
            RETURN NULL;
        END IF;
        BEGIN
            RETURN handle_market.bid(h, bidder, v_min, 'bench-bid-' || nextval('bench.key'));
        EXCEPTION WHEN SQLSTATE 'HM012' THEN
            PERFORM nextval('bench.races');     -- counted, without a row of its own
        END;
    END LOOP;
    RAISE EXCEPTION 'bidder % lost 1000 races in a row on %', bidder, h;
END $$;


-- The hot auction: the first one whose minimum is under the ceiling.
CREATE TABLE bench.hot (n integer NOT NULL);
INSERT INTO bench.hot VALUES (1);
CREATE FUNCTION bench.bid_hot(bidder bigint) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    v_n integer;
    v_bid bigint;
BEGIN
    LOOP
        SELECT n INTO v_n FROM bench.hot;
        v_bid := bench.bid_on('hot' || lpad(v_n::text, 4, '0'), bidder, 1000000000000);
        IF v_bid IS NOT NULL THEN
            RETURN v_bid;
        END IF;
        UPDATE bench.hot SET n = v_n + 1 WHERE n = v_n;
    END LOOP;
END $$;

CREATE FUNCTION bench.bid_wide(bidder bigint) RETURNS bigint
    LANGUAGE sql AS $$
    SELECT bench.bid_on('ab' || lpad((1 + floor(random() * 1000))::int::text, 4, '0'), bidder,
                        1000000000000)
$$;

VACUUM ANALYZE;
