-- test/pgtap/invariants.sql
-- check_invariants() (src/sql/79_invariants.sql) against the history of
-- handles: the owner of each handle is the account its last event records
-- (a released handle has none, and its previous owner is that account), and
-- each transfer that moved a handle is recorded by exactly one event.  A
-- state built through the API keeps both; corruptions made past the guard
-- are each reported, in exact words.  Runs in one transaction, walking
-- simulated time: day 0 is 2026-01-01 UTC.
--
-- Timeline.  Day 0: accounts 1-4; account 1 registers "alpha" and "bravo",
-- account 2 "charlie".  Day 1: account 2 buys "jack" from the platform's
-- premium list ($50) and transfers "charlie" to account 3.  Day 1-4: the
-- platform auctions "delta", account 3 bids $10 on day 2, and the auction
-- settles on day 4 (the sale from a hold).  Day 31: the sweep notices
-- account 1's handles; day 40 accounts 2 and 3 are active; day 61 the sweep
-- releases alpha and bravo.  Day 62: account 1 restores alpha.  Day 63:
-- bravo, released, is put under hold.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set ON_ERROR_STOP true

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS handle_market;
SET handle_market.simulated_time = on;
SET search_path = handle_market, public;
SET timezone = 'UTC';
SET datestyle = 'ISO';

SELECT plan(10);

CREATE FUNCTION pg_temp.day(n numeric) RETURNS timestamptz LANGUAGE sql IMMUTABLE
    AS $$ SELECT '2026-01-01 00:00:00+00'::timestamptz + n * interval '1 day' $$;
-- one pass of the release sweep at day n, as release_dormant() does it
CREATE FUNCTION pg_temp.sweep(n int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_run bigint := handle_market.start_release_run(pg_temp.day(n), 1000, false);
BEGIN
    PERFORM handle_market.release_batch(v_run);
    PERFORM handle_market.finish_release_run(v_run);
    RETURN v_run;
END $$;
-- the transfer made under an idempotency key
CREATE FUNCTION pg_temp.tid(p_key text) RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT transfer_id FROM handle_market.transfers WHERE idempotency_key = p_key $$;
-- What check_invariants() reports after p_sql, run with the guard off, and
-- then undone.  The test runs as the superuser on purpose: only a superuser
-- may set session_replication_role = replica (as a restore does), and that
-- is what it takes to corrupt the tables past the guard.  The corruption is
-- made in a subtransaction that is rolled back; the function returns what
-- it saw (pgTAP's own counters must not be rolled back with it).
CREATE FUNCTION pg_temp.reported_after(p_sql text) RETURNS text[] LANGUAGE plpgsql AS $f$
DECLARE
    seen text[];
BEGIN
    BEGIN
        SET LOCAL session_replication_role = replica;
        EXECUTE p_sql;
        SET LOCAL session_replication_role = origin;
        SELECT coalesce(array_agg(v ORDER BY v), '{}') INTO seen FROM handle_market.check_invariants() v;
        RAISE EXCEPTION USING ERRCODE = 'HM999';
    EXCEPTION WHEN SQLSTATE 'HM999' THEN
        RETURN seen;
    END;
END $f$;

-- ---------------------------------------------------------------------
-- The state, through the API.
\o /dev/null
SELECT upsert_account(a, active_at => pg_temp.day(0)) FROM generate_series(1, 4) a;
SELECT deposit(2, 100000, 'dep-2', pg_temp.day(0));
SELECT deposit(3, 100000, 'dep-3', pg_temp.day(0));
SELECT register_handle(1, 'alpha', pg_temp.day(0));
SELECT register_handle(1, 'bravo', pg_temp.day(0));
SELECT register_handle(2, 'charlie', pg_temp.day(0));
SELECT set_premium('jack', 5000);
SELECT set_premium('delta', 1000);
SELECT buy('jack', 2, 5000, 'buy-jack', pg_temp.day(1));
SELECT transfer_handle('charlie', 2, 3, 'give-charlie', pg_temp.day(1));
SELECT start_platform_auction('delta', 1000, pg_temp.day(3), pg_temp.day(1));
SELECT bid('delta', 3, 1000, 'bid-delta', pg_temp.day(2));
SELECT settle_batch(pg_temp.day(4), 10);
SELECT pg_temp.sweep(31);
SELECT touch(2, pg_temp.day(40));
SELECT touch(3, pg_temp.day(40));
SELECT pg_temp.sweep(61);
SELECT restore_handle('alpha', 1, pg_temp.day(62));
SELECT hold_handle('bravo', 'legal review', pg_temp.day(63));
\o

SELECT is((SELECT string_agg(format('%s:%s:%s:%s', handle, state, coalesce(owner_id::text, '-'),
                                    coalesce(hold_reason, '-')), ' ' ORDER BY handle) FROM handles),
          'alpha:registered:1:- bravo:released:-:legal review charlie:registered:3:- '
          'delta:registered:3:- jack:registered:2:-',
          'the state: alpha restored, bravo released and held, charlie given, delta and jack sold');
SELECT is((SELECT string_agg(kind, ' ' ORDER BY transfer_id) FROM transfers
            WHERE kind IN ('purchase', 'handle_transfer', 'hold_post')),
          'purchase handle_transfer hold_post',
          'three transfers moved a handle: a purchase, a gift and the auction''s sale');
SELECT is_empty($$ SELECT * FROM check_invariants() $$, 'check_invariants: none after every path');

-- ---------------------------------------------------------------------
-- Corruptions, each alone and undone.
SELECT is(pg_temp.reported_after($$ UPDATE handle_market.handles SET owner_id = 3 WHERE handle = 'jack' $$),
          ARRAY['handle jack is registered and owned by account 3, but its last event (registered) records account 2'],
          'an owner changed without an event');
SELECT is(pg_temp.reported_after($$ UPDATE handle_market.handles SET owner_id = 4 WHERE handle = 'alpha' $$),
          ARRAY['handle alpha is registered and owned by account 4, but its last event (registered) records account 1'],
          'an owner changed after a restore');
SELECT is(pg_temp.reported_after($$ UPDATE handle_market.handles SET previous_owner_id = 2 WHERE handle = 'bravo' $$),
          ARRAY['handle bravo was released from account 2, but its last event (held) records account 1'],
          'a released handle''s former owner changed without an event');
SELECT is(pg_temp.reported_after($$
              INSERT INTO handle_market.handle_events (handle, from_state, to_state, at, account_id, reason)
              SELECT handle, from_state, to_state, at, account_id, reason FROM handle_market.handle_events
               WHERE handle = 'jack' AND reason LIKE 'bought from the platform%' $$),
          ARRAY[format('handle jack: transfer %s (purchase) is recorded by 2 events, not 1',
                       pg_temp.tid('buy-jack'))],
          'a sale recorded twice');
SELECT is(pg_temp.reported_after($$
              INSERT INTO handle_market.handle_events (handle, from_state, to_state, at, account_id, reason)
              SELECT handle, from_state, to_state, at, account_id, reason FROM handle_market.handle_events
               WHERE handle = 'delta' AND reason LIKE 'won auction%' $$),
          ARRAY[format('handle delta: transfer %s (hold_post) is recorded by 2 events, not 1',
                       pg_temp.tid('post:' || (SELECT hold_id FROM holds WHERE handle = 'delta')))],
          'an auction''s sale recorded twice');
SELECT is(pg_temp.reported_after($$
              DELETE FROM handle_market.handle_events
               WHERE handle = 'charlie' AND reason LIKE 'transferred by account 2%' $$),
          ARRAY['handle charlie is registered and owned by account 3, but its last event (registered) records account 2',
                format('transfer %s (handle_transfer) moved handle charlie, but its history does not record it',
                       pg_temp.tid('give-charlie'))],
          'a gift without its event: the owner and the transfer are both reported');
SELECT is(pg_temp.reported_after($$
              INSERT INTO handle_market.handle_events (handle, from_state, to_state, at, account_id, reason)
              VALUES ('alpha', 'registered', 'registered', '2026-03-05', 1,
                      format('bought from account 2 for $1.00 (transfer %s)', pg_temp.tid('buy-jack'))) $$),
          ARRAY[format('handle alpha: its history records transfer %s, which moved handle jack',
                       pg_temp.tid('buy-jack'))],
          'an event naming another handle''s sale');

SELECT * FROM finish();
ROLLBACK;
