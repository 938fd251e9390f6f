-- test/pgtap/registry.sql
-- Every function of the registry and lifecycle API, and every error code.
-- Runs in one transaction, so release steps call the batch functions that
-- release_dormant() commits between (a procedure cannot COMMIT here).
\ir include/settings.psql

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS handle_market;
-- The superuser only installs (and, through PGOPTIONS in make test, turns
-- handle_market.simulated_time on for this calendar-walking test; the value
-- stays after SET ROLE).  Everything else runs as an operator's role.
CREATE ROLE hm_test_registry;              -- rolled back with the test
SELECT handle_market.grant_admin('hm_test_registry');
SET ROLE hm_test_registry;
SET search_path = handle_market, public;
SET timezone = 'UTC';

SELECT plan(111);

\ir include/calendar.sql
-- touch, then the account's last_active_at
CREATE FUNCTION pg_temp.touched(p_account_id bigint, p_at timestamptz) RETURNS timestamptz
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM handle_market.touch(p_account_id, p_at);
    RETURN (SELECT last_active_at FROM handle_market.accounts WHERE account_id = p_account_id);
END $$;

-- accounts
SELECT lives_ok($$ SELECT upsert_account(1, active_at => pg_temp.day(0)) $$, 'upsert_account creates an account');
SELECT lives_ok($$ SELECT upsert_account(2, 'basic', true, pg_temp.day(0)) $$, 'upsert_account with a subscription and verified');
SELECT is((SELECT (subscription, verified)::text FROM accounts WHERE account_id = 2), '(basic,t)', 'the account holds what was given');
SELECT lives_ok($$ SELECT upsert_account(2, 'premium_plus') $$, 'upsert_account updates an account');
SELECT is((SELECT subscription FROM accounts WHERE account_id = 2), 'premium_plus', 'the subscription changed');
SELECT is((SELECT last_active_at FROM accounts WHERE account_id = 2), pg_temp.day(0), 'an update does not count as activity');
SELECT throws_ok($$ SELECT upsert_account(3, 'gold') $$, '22023', 'unknown subscription "gold"', 'an unknown subscription is refused');
SELECT lives_ok($$ SELECT upsert_account(3, active_at => pg_temp.day(0)), upsert_account(4, active_at => pg_temp.day(0)) $$, 'more accounts');
SELECT lives_ok($$ SELECT set_account_status(4, 'memorialized') $$, 'set_account_status');
SELECT throws_ok($$ SELECT set_account_status(4, 'gone') $$, '22023', 'unknown account status "gone"', 'an unknown status is refused');
SELECT throws_ok($$ SELECT set_account_status(99, 'suspended') $$, 'HM011', 'account 99 does not exist', 'set_account_status on an unknown account');

-- activity
SELECT is(activity_status(pg_temp.day(0), pg_temp.day(29)), 'active', 'active on day 29');
SELECT is(activity_status(pg_temp.day(0), pg_temp.day(30)), 'inactive', 'inactive from day 30');
SELECT is(activity_status(pg_temp.day(0), pg_temp.day(30), '31 days'), 'active', 'the period is an argument of the C function');
SELECT throws_ok($$ SELECT touch(99) $$, 'HM011', 'account 99 does not exist', 'touch on an unknown account');
SELECT throws_ok($$ SELECT touch(NULL) $$, '22004', 'account_id must not be null', 'touch on a NULL account');
SELECT throws_ok($$ SELECT touch(1, NULL) $$, '22004', 'at must not be null',
                 'a touch at a NULL time is refused, as every write without a time is (it did nothing before: a caller''s bug went unseen)');
SELECT lives_ok($$ SELECT touch(1, pg_temp.day(0) + interval '59 minutes') $$, 'a touch within the resolution');
SELECT is((SELECT last_active_at FROM accounts WHERE account_id = 1), pg_temp.day(0), 'a touch within the resolution writes nothing');
SELECT lives_ok($$ SELECT touch(3, pg_temp.day(0) + interval '2 hours') $$, 'a touch past the resolution');
SELECT is((SELECT last_active_at FROM accounts WHERE account_id = 3), pg_temp.day(0) + interval '2 hours', 'a touch past the resolution is recorded');
SELECT lives_ok($$ SELECT touch(3, pg_temp.day(0)) $$, 'an older touch');
SELECT is((SELECT last_active_at FROM accounts WHERE account_id = 3), pg_temp.day(0) + interval '2 hours', 'activity never moves backwards');

-- registration and its errors
SELECT is(register_handle(1, '@ElonMusk', pg_temp.day(0)), 'elonmusk'::handle, 'register_handle returns the canonical handle');
SELECT is((SELECT display FROM handles WHERE handle = 'elonmusk'), 'ElonMusk', 'the display form is kept as typed, without @');
SELECT throws_ok($$ SELECT register_handle(3, 'ELONMUSK') $$, 'HM001', 'handle "elonmusk" is taken', 'HM001: taken');
SELECT throws_ok($$ SELECT register_handle(3, 'e1onmusk') $$, 'HM002', 'handle "e1onmusk" is confusable with "elonmusk"', 'HM002: a look-alike');
SELECT throws_ok($$ SELECT register_handle(3, 'еlonmusk') $$, 'HM004', NULL, 'a Cyrillic look-alike fails the x_classic profile first');
SELECT throws_ok($$ SELECT register_handle(3, 'tw1tter_help') $$, 'HM003', 'handle "tw1tter_help" is reserved', 'HM003: a forbidden substring, through its key');
SELECT throws_ok($$ SELECT register_handle(3, 'the_admin') $$, 'HM003', 'handle "the_admin" is reserved', 'HM003: admin is forbidden');
SELECT throws_ok($$ SELECT register_handle(3, 'abc') $$, 'HM004', 'handle "abc" does not meet the x_classic profile', 'HM004: too short');
SELECT throws_ok($$ SELECT register_handle(99, 'nobody_here') $$, 'HM011', 'account 99 does not exist', 'HM011: unknown account');
SELECT is(format('%s %s %s', register_handle(3, 'quiet_three', pg_temp.day(0)), register_handle(2, 'paying_two', pg_temp.day(0)),
                 register_handle(4, 'in_memory', pg_temp.day(0))),
          'quiet_three paying_two in_memory', 'more handles, each returned as registered');
SELECT lives_ok($$ SELECT reserve_handle('acme', 'brand') $$, 'reserve_handle');
SELECT throws_ok($$ SELECT register_handle(3, 'ACME') $$, 'HM003', 'handle "acme" is reserved', 'a reserved handle');
SELECT throws_ok($$ SELECT register_handle(3, 'acrne') $$, 'HM003', 'handle "acrne" is reserved', 'a look-alike of a reserved handle');
SELECT throws_ok($$ SELECT reserve_handle('acme2', 'because') $$, '22023', 'unknown reservation reason "because"', 'reservation reasons are typed');
SELECT ok(unreserve_handle('acme'), 'unreserve_handle');
SELECT ok(NOT unreserve_handle('acme'), 'unreserve_handle says when there was nothing');

-- lookup
SELECT is((SELECT (state, owner_id, reason)::text FROM lookup('@ELONMUSK', pg_temp.day(1))), '(registered,1,registered)', 'lookup: registered');
SELECT is((SELECT (state, reason)::text FROM lookup('free_name', pg_temp.day(1))), '(available,available)', 'lookup: never registered');
SELECT is((SELECT (state, reason)::text FROM lookup('my_twitter', pg_temp.day(1))), '(reserved,"reserved: brand")', 'lookup: reserved');
SELECT is((SELECT (state, reason)::text FROM lookup('elon musk', pg_temp.day(1))),
          '(invalid,"character U+0020 SPACE at position 5 is not allowed")', 'lookup: invalid input');
SELECT is((SELECT (state, reason)::text FROM lookup('e1onmusk', pg_temp.day(1))),
          '(invalid,"confusable with ""elonmusk""")', 'lookup: a look-alike');
SELECT is((SELECT handle FROM lookup('elon musk')), NULL, 'lookup: no canonical form for invalid input');

-- the sweep: day 31 notices accounts 1 and 3 (3 was last active at day 0 02:00,
-- so not yet on day 30; 2 pays, 4 is memorialized)
SELECT pg_temp.sweep(30) AS run30 \gset
SELECT pg_temp.sweep(31) AS run31 \gset
SELECT is((SELECT noticed FROM release_runs WHERE run_id = :run30), 1::bigint, 'day 30: one owner noticed');
SELECT is((SELECT noticed FROM release_runs WHERE run_id = :run31), 1::bigint, 'day 31: the other one');
SELECT results_eq($$ SELECT handle::text, state FROM handles ORDER BY handle $$,
                  $$ VALUES ('elonmusk', 'at_risk'), ('in_memory', 'registered'), ('paying_two', 'registered'), ('quiet_three', 'at_risk') $$,
                  'exempt owners keep their handles');
SELECT is((SELECT count(*) FROM outbox WHERE kind = 'inactivity_notice'), 2::bigint, 'two notices in the outbox');
SELECT lives_ok($$ SELECT touch(3, pg_temp.day(40)) $$, 'an owner at risk comes back');
SELECT is((SELECT state FROM handles WHERE handle = 'quiet_three'), 'registered', 'touch takes the handle back to registered at once');
SELECT is((SELECT reason FROM handle_events WHERE handle = 'quiet_three' ORDER BY event_id DESC LIMIT 1),
          'the owner was active again', 'and records why');
SELECT pg_temp.sweep(60) AS run60 \gset
SELECT pg_temp.sweep(61) AS run61 \gset
SELECT is((SELECT released FROM release_runs WHERE run_id = :run60), 1::bigint, 'day 60: the handle noticed on day 30 is released');
SELECT is((SELECT released FROM release_runs WHERE run_id = :run61), 0::bigint, 'day 61: the one that came back is not');
SELECT is((SELECT (state, previous_owner_id, released_at)::text FROM handles WHERE handle = 'elonmusk'),
          format('(released,1,"%s")', pg_temp.day(60)), 'released_at and the previous owner are kept');

-- restore and its errors
SELECT throws_ok($$ SELECT restore_handle('elonmusk', 3, pg_temp.day(61)) $$, 'HM008',
                 'only the former owner may restore handle "elonmusk"', 'HM008: not the former owner');
SELECT throws_ok($$ SELECT restore_handle('quiet_three', 3, pg_temp.day(61)) $$, 'HM008',
                 'handle "quiet_three" is not in redemption', 'HM008: not released');
SELECT throws_ok($$ SELECT restore_handle('elonmusk', 1, pg_temp.day(90)) $$, 'HM008',
                 'handle "elonmusk" is not in redemption', 'HM008: redemption is over at day 90');
SELECT throws_ok($$ SELECT register_handle(3, 'elonmusk', pg_temp.day(61)) $$, 'HM008',
                 'handle "elonmusk" cannot be registered in its redemption phase', 'HM008: nobody else registers it in redemption');
SELECT lives_ok($$ SELECT restore_handle('elonmusk', 1, pg_temp.day(89)) $$, 'the former owner restores on day 89');
SELECT is((SELECT (state, owner_id)::text FROM handles WHERE handle = 'elonmusk'), '(registered,1)', 'restored');
SELECT is((SELECT kind FROM outbox ORDER BY message_id DESC LIMIT 1), 'restored', 'a restored notice');

-- holds
SELECT lives_ok($$ SELECT hold_handle('elonmusk', 'court order 17', pg_temp.day(90)) $$, 'hold_handle');
SELECT throws_ok($$ SELECT hold_handle('elonmusk', 'again') $$, 'HM010', 'handle "elonmusk" is already under hold', 'HM010: already held');
SELECT throws_ok($$ SELECT hold_handle('never_seen', 'x') $$, 'HM008', 'handle "never_seen" is not registered', 'HM008: nothing to hold');
SELECT is((SELECT state FROM lookup('elonmusk', pg_temp.day(91))), 'held', 'lookup: held');
SELECT lives_ok($$ SELECT release_hold('elonmusk', pg_temp.day(95)) $$, 'release_hold');
-- released just now: a second release is a retry (test/pgtap/retries.sql)
SELECT lives_ok($$ SELECT release_hold('elonmusk') $$, 'release_hold again: a retry, nothing to do');
SELECT throws_ok($$ SELECT release_hold('quiet_three') $$, 'HM008', 'handle "quiet_three" is not under hold', 'HM008: not held');

-- policy versions
SELECT is(add_policy_version(pg_temp.day(100), '{"inactive_after": "60 days"}'), 2, 'add_policy_version');
SELECT is((policy_at(pg_temp.day(100))).inactive_after, interval '60 days', 'the new version is in force from its date');
SELECT is((policy_at(pg_temp.day(99))).inactive_after, interval '30 days', 'and not before');
SELECT throws_ok($$ SELECT add_policy_version(pg_temp.day(50), '{}') $$, '22023', 'a new policy version must start after the last one', 'versions only move forward');
SELECT throws_ok($$ SELECT add_policy_version(pg_temp.day(200), '{"colour": "red"}') $$, '22023', 'unknown policy settings: colour', 'unknown settings are refused');

-- touch keeps the policy in a per-backend cache; a new version counts at once
SELECT lives_ok($$ SELECT upsert_account(5, active_at => pg_temp.day(151) + interval '1 hour'),
                          touch(5, pg_temp.day(151) + interval '90 minutes') $$, 'a touch that reads the policy');
SELECT is(add_policy_version(pg_temp.day(151) + interval '5 hours', '{"touch_resolution": "10 minutes"}'), 3,
          'a version with a finer touch resolution');
SELECT is(pg_temp.touched(5, pg_temp.day(151) + interval '4 hours'), pg_temp.day(151) + interval '4 hours',
          'a touch past the old resolution is recorded');
SELECT is(pg_temp.touched(5, pg_temp.day(151) + interval '4 hours 30 minutes'), pg_temp.day(151) + interval '4 hours',
          'before the version starts, one 30 minutes later is not');
SELECT is(pg_temp.touched(5, pg_temp.day(151) + interval '5 hours'), pg_temp.day(151) + interval '5 hours',
          'from its effective_from on, one an hour later is');
SELECT is(pg_temp.touched(5, pg_temp.day(151) + interval '5 hours 10 minutes'), pg_temp.day(151) + interval '5 hours',
          'one exactly the new resolution later is not');
SELECT is(pg_temp.touched(5, pg_temp.day(151) + interval '5 hours 10 minutes 0.000001 seconds'),
          pg_temp.day(151) + interval '5 hours 10 minutes 0.000001 seconds', 'one a microsecond more is');
SAVEPOINT before_coarser;
SELECT is(add_policy_version(pg_temp.day(152), '{"touch_resolution": "2 days"}'), 4, 'a version that is rolled back');
SELECT is(pg_temp.touched(5, pg_temp.day(152) + interval '1 hour'),
          pg_temp.day(151) + interval '5 hours 10 minutes 0.000001 seconds',
          'while it stands, a touch within 2 days is not recorded');
ROLLBACK TO SAVEPOINT before_coarser;
SELECT is(pg_temp.touched(5, pg_temp.day(152) + interval '1 hour'), pg_temp.day(152) + interval '1 hour',
          'once rolled back, touch forgets it');

-- the guard.  The superuser: only a role that may write the tables (the owner
-- may) or call an implementation reaches the guard; the admin role is refused
-- before it (42501, below), and the guard refuses even the owner.
RESET ROLE;
SELECT throws_ok($$ UPDATE handles SET owner_id = 3 $$, 'HM015', 'direct writes to handle_market.handles are not allowed', 'HM015: no direct UPDATE of handles');
SELECT throws_ok($$ INSERT INTO accounts (account_id, last_active_at) VALUES (50, now()) $$, 'HM015', 'direct writes to handle_market.accounts are not allowed', 'HM015: no direct INSERT into accounts');
SELECT throws_ok($$ DELETE FROM outbox $$, 'HM015', 'handle_market.outbox is append-only', 'HM015: the outbox is append-only');
SELECT throws_ok($$ TRUNCATE handle_events $$, 'HM015', 'handle_market.handle_events is append-only', 'HM015: history cannot be truncated');
SELECT throws_ok($$ SELECT _register_handle(3, 'sneaky_one', now()) $$, 'HM015', 'direct writes to handle_market.handles are not allowed',
                 'calling an implementation directly does not open the gate');
SET ROLE hm_test_registry;

-- privileges
SELECT is_empty($$ SELECT c.relname FROM pg_class c
                    WHERE c.relnamespace = 'handle_market'::regnamespace AND c.relkind IN ('r', 'S')
                      AND (has_table_privilege('public', c.oid, 'SELECT') OR has_table_privilege('public', c.oid, 'INSERT')
                           OR has_table_privilege('public', c.oid, 'UPDATE') OR has_table_privilege('public', c.oid, 'DELETE')) $$,
                'no table is readable or writable by PUBLIC');
SELECT is_empty($$ SELECT p.oid::regprocedure FROM pg_proc p
                    WHERE p.pronamespace = 'handle_market'::regnamespace AND p.prosecdef
                      AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%') $$,
                'every SECURITY DEFINER function sets search_path');

-- the outbox, read with a cursor
SELECT is((SELECT count(*) FROM outbox_after(0)), (SELECT count(*) FROM outbox), 'outbox_after(0) reads every message');
SELECT is((SELECT min(message_id) FROM outbox_after(3, 2)), 4::bigint, 'outbox_after starts after the cursor');
SELECT is((SELECT count(*) FROM outbox_after(3, 2)), 2::bigint, 'and reads at most max_messages');

-- the phase arithmetic in C, at its boundaries
SELECT is((release_phase(pg_temp.day(0), pg_temp.day(30) - interval '1 microsecond', '30 days', '5 days', '21 days')).phase,
          'redemption', 'release_phase: redemption to its last microsecond');
SELECT is((release_phase(pg_temp.day(0), pg_temp.day(30), '30 days', '5 days', '21 days'))::text,
          format('(quarantine,"%s")', pg_temp.day(35)), 'release_phase: quarantine from day 30 to day 35');
SELECT is((release_phase(pg_temp.day(0), pg_temp.day(56), '30 days', '5 days', '21 days'))::text,
          '(available,)', 'release_phase: available from day 56, with no end');
SELECT throws_ok($$ SELECT release_phase(now(), now(), '1 month', '5 days', '21 days') $$, '22023',
                 'policy periods must be given in days, hours or smaller units', 'a month is not a fixed period');

-- The superuser: CREATE ROLE, and grant_app / grant_admin are the owner's alone.
RESET ROLE;
CREATE ROLE hm_test_app;
CREATE ROLE hm_test_admin;
SELECT grant_app('hm_test_app'), grant_admin('hm_test_admin');
SELECT ok(has_function_privilege('hm_test_app', 'handle_market.touch(bigint, timestamptz)', 'EXECUTE')
          AND has_function_privilege('hm_test_app', 'handle_market.register_handle(bigint, text, timestamptz)', 'EXECUTE')
          AND has_function_privilege('hm_test_app', 'handle_market.lookup(text, timestamptz)', 'EXECUTE'),
          'grant_app: the application calls the account and handle functions');
SELECT ok(NOT has_function_privilege('hm_test_app', 'handle_market.hold_handle(text, text, timestamptz)', 'EXECUTE')
          AND NOT has_function_privilege('hm_test_app', 'handle_market.release_dormant(timestamptz, integer, boolean, interval)', 'EXECUTE')
          AND NOT has_table_privilege('hm_test_app', 'handle_market.handles', 'SELECT'),
          'grant_app: but neither holds, release runs nor the tables');
SELECT ok(has_function_privilege('hm_test_admin', 'handle_market.hold_handle(text, text, timestamptz)', 'EXECUTE')
          AND has_function_privilege('hm_test_admin', 'handle_market.release_dormant(timestamptz, integer, boolean, interval)', 'EXECUTE')
          AND has_table_privilege('hm_test_admin', 'handle_market.handle_events', 'SELECT'),
          'grant_admin: holds, release runs and reading the history');
SELECT ok(NOT has_table_privilege('hm_test_admin', 'handle_market.handles', 'UPDATE')
          AND NOT has_function_privilege('hm_test_admin', 'handle_market._register_handle(bigint, text, timestamptz)', 'EXECUTE'),
          'grant_admin: no direct writes and no implementations');

-- track_functions is a superuser's setting, so this is still the superuser.
SET LOCAL track_functions = 'pl';    -- counts the calls of _touch below
SET ROLE hm_test_app;
SELECT is(handle_market.register_handle(3, 'app_made_it', pg_temp.day(100))::text, 'app_made_it',
          'the application role registers through the gate without rights on the tables');
SELECT throws_ok($$ UPDATE handle_market.handles SET display = 'x' $$, '42501', NULL,
                 'and cannot write the tables itself');
SELECT throws_ok($$ SELECT handle_market._register_handle(3, 'sneaky_two', now()) $$, '42501', NULL,
                 'nor call an implementation');
SELECT lives_ok($$ SELECT handle_market.touch(5, pg_temp.day(153)) $$,
                'the application role touches an account it cannot read: a write');
SELECT lives_ok($$ SELECT handle_market.touch(5, pg_temp.day(153) + interval '1 minute') $$,
                'and a touch that only reads');
SELECT throws_ok($$ SELECT handle_market.touch(98, pg_temp.day(153)) $$, 'HM011', 'account 98 does not exist',
                 'an unknown account is HM011 for the application too');
SELECT throws_ok($$ SELECT last_active_at FROM handle_market.accounts $$, '42501', NULL,
                 'though it cannot read accounts itself');
SET ROLE hm_test_registry;
SELECT is((SELECT last_active_at FROM accounts WHERE account_id = 5), pg_temp.day(153),
          'the application''s touches: the first recorded, the second within the resolution');
SELECT is((SELECT calls FROM pg_stat_xact_user_functions WHERE funcname = '_touch'), 1::bigint,
          'only the write called _touch: the C path read accounts for a role that cannot');

SELECT * FROM finish();
ROLLBACK;
