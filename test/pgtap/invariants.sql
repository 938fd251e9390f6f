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
\ir include/settings.psql

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS handle_market;
SET handle_market.simulated_time = on;
SET search_path = handle_market, public;
SET timezone = 'UTC';
SET datestyle = 'ISO';

SELECT plan(18);

\ir include/calendar.sql
\ir include/error_of.sql
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
          -- a hold's closing has no idempotency key: it is the transfer
          -- whose pending_id is the hold
          ARRAY[format('handle delta: transfer %s (hold_post) is recorded by 2 events, not 1',
                       (SELECT transfer_id FROM transfers
                         WHERE kind = 'hold_post'
                           AND pending_id = (SELECT hold_id FROM holds WHERE handle = 'delta')))],
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

-- ---------------------------------------------------------------------
-- Beside the checker (these belong with registry.sql and pricing.sql, which
-- other changes edit now): a NULL account id is a missing argument, and a
-- policy change the policy table would refuse is refused first, by name.
SELECT is(pg_temp.error_of($$ SELECT handle_market.register_handle(NULL, 'echo', pg_temp.day(70)) $$),
          '22004: account_id must not be null / account_id identifies the account to act for; NULL identifies none.',
          'register_handle: a NULL account_id is 22004, not an unknown account');
SELECT is(pg_temp.error_of($$ SELECT handle_market.quote('echo', NULL, pg_temp.day(70)) $$),
          '22004: buyer_id must not be null / buyer_id identifies the account to act for; NULL identifies none.',
          'quote: a NULL buyer_id is 22004 (C)');
SELECT is(pg_temp.error_of($$ SELECT handle_market.add_policy_version(pg_temp.day(100), '{"inactive_after": "2 months"}') $$),
          '22023: policy setting inactive_after must be given in days, hours or smaller units / It was 2 mons: a month has no fixed length, and a clock must not depend on the calendar it runs through.',
          'add_policy_version: a month part is 22023, naming the setting');
SELECT is(pg_temp.error_of($$ SELECT handle_market.add_policy_version(pg_temp.day(100), '{"notice_period": "-1 day"}') $$),
          '22023: policy setting notice_period must be zero or positive / It was -1 days.',
          'add_policy_version: a negative period');
SELECT is(pg_temp.error_of($$ SELECT handle_market.add_policy_version(pg_temp.day(100), '{"exempt_verified": null}') $$),
          '22023: policy setting exempt_verified must not be null / Every setting has a value; leave it out to keep the last version''s.',
          'add_policy_version: a null setting');
SELECT is(pg_temp.error_of($$ SELECT handle_market.add_policy_version(pg_temp.day(100), '{"redemption_period": "soon"}') $$),
          '22023: policy setting redemption_period must be of type interval / It was "soon": invalid input syntax for type interval: "soon".',
          'add_policy_version: a value of the wrong type');
SELECT is(pg_temp.error_of($$ SELECT handle_market.add_policy_version(pg_temp.day(100), '{"profile": "klingon"}') $$),
          '22023: policy setting profile must be x_classic or precis / It was "klingon", which is no profile check_handle() knows.',
          'add_policy_version: an unknown profile');
SELECT is(pg_temp.error_of($$ SELECT handle_market.add_pricing_version(pg_temp.day(100), '{"premium_half_life": "1 mon"}') $$),
          '22023: invalid pricing setting / premium_half_life must be given in days, hours or smaller units; it was 1 mon, and a month has no fixed length.',
          'add_pricing_version: the detail names the setting');

SELECT * FROM finish();
ROLLBACK;
