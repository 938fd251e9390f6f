-- bench/market_setup.sql: the database of the buy benchmark
-- (bench/market_bench.sh).  Buyers 1 to 9 (buyer 9 for the 1-client runs,
-- 1 to 8 for the 8-client runs: no two clients ever share a wallet), each
-- with a deposit far above what a run can spend, and a pool of premium-list
-- handles mb0000001, mb0000002, ... at $1.00 each, taken in order from one
-- sequence so that every pgbench transaction buys a handle nobody bought.
-- The pool grows with bench.add_pool(n) once the rate is known.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE EXTENSION handle_market;
CREATE SCHEMA bench;

SELECT count(handle_market.upsert_account(b)) FROM generate_series(1, 9) b;
SELECT count(handle_market.deposit(b, 100000000000, 'bench-deposit-' || b))
  FROM generate_series(1, 9) b;

-- The pool's names: 'mb' and seven digits, so 9 characters (x_classic
-- allows 4 to 15) and distinct confusable keys (0 -> o and 1 -> l are the
-- only digit mappings, so different digit strings keep different keys).
CREATE FUNCTION bench.pool_name(n bigint) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    RETURN 'mb' || lpad(n::text, 7, '0');     -- spelled out again in market_bench.sh

CREATE TABLE bench.pool_size (n bigint NOT NULL);
INSERT INTO bench.pool_size VALUES (0);

-- Puts handles pool_size + 1 .. pool_size + n on the premium list at 100 cents.
CREATE FUNCTION bench.add_pool(n bigint) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    v_from bigint;
BEGIN
    SELECT p.n INTO v_from FROM bench.pool_size p FOR UPDATE;
    PERFORM handle_market.set_premium(bench.pool_name(g), 100)
       FROM generate_series(v_from + 1, v_from + n) g;
    UPDATE bench.pool_size SET n = v_from + add_pool.n;
    RETURN v_from + n;
END $$;

-- CACHE 1: every call takes the next number, so the pool is used without
-- gaps (a cached sequence would leave up to CACHE numbers per backend).
CREATE SEQUENCE bench.next_handle CACHE 1;
