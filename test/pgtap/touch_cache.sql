-- test/pgtap/touch_cache.sql
-- touch() decides in C with the policy and its relations cached in each
-- backend (src/touch.c).  Here another session, through dblink, changes
-- what this one has cached: it commits a policy version, and it drops and
-- re-creates the extension.  Those commits must not outlive the test, so it
-- runs in a database of its own, as a role of its own (roles are the
-- cluster's: it is dropped at the end, and before, if a failed run left it).
\ir include/settings.psql

SELECT current_database() AS home_db \gset
SET client_min_messages = warning;
DROP DATABASE IF EXISTS hm_touch_cache;
DROP ROLE IF EXISTS hm_test_touch;
CREATE DATABASE hm_touch_cache;
CREATE ROLE hm_test_touch;
\c hm_touch_cache
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION dblink;
CREATE EXTENSION IF NOT EXISTS handle_market;
-- The superuser only installs (and, through PGOPTIONS in make test, turns
-- handle_market.simulated_time on for this calendar-walking test; the value
-- stays after SET ROLE), and does what is marked below.  Everything else runs
-- as an operator's role, in both sessions.
SELECT handle_market.grant_admin('hm_test_touch') \gset
SET ROLE hm_test_touch;
SET search_path = handle_market, public;
SET timezone = 'UTC';

SELECT plan(21);

-- touch, then the account's last_active_at
CREATE FUNCTION pg_temp.touched(p_account_id bigint, p_at timestamptz) RETURNS timestamptz
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM handle_market.touch(p_account_id, p_at);
    RETURN (SELECT last_active_at FROM handle_market.accounts WHERE account_id = p_account_id);
END $$;
-- the other session evaluates an expression, in a transaction of its own
CREATE FUNCTION pg_temp.other(p_expr text) RETURNS text LANGUAGE sql AS $$
    SELECT r FROM dblink('other', format('SELECT (%s)::text', p_expr)) AS t(r text)
$$;
-- a connection made from the server does not inherit PGOPTIONS: it walks
-- the same simulated calendar, so it turns handle_market.simulated_time on
-- itself.  The superuser connects: dblink lets no other role connect without
-- a password, and simulated_time is a superuser's setting.  The other session
-- then takes the test's role with SET ROLE, so its calls run as that role too.
RESET ROLE;
SELECT dblink_connect('other', format('dbname=%s port=%s host=%s user=%s options=''-c handle_market.simulated_time=on''',
                      current_database(), current_setting('port'),
                      split_part(current_setting('unix_socket_directories'), ',', 1), session_user))
    \gset
SELECT dblink_exec('other', 'SET ROLE hm_test_touch') \gset
SET ROLE hm_test_touch;
SELECT is(pg_temp.other('current_user'), 'hm_test_touch', 'the other session runs as the test''s role');

SELECT upsert_account(1, active_at => '2026-01-01 00:00+00') \gset
SELECT is(pg_temp.touched(1, '2026-01-01 00:30+00'), '2026-01-01 00:00+00',
          'within the resolution of version 1 (1 hour), nothing is written');

-- a version another session commits, with a finer resolution
SELECT pg_temp.other($$ handle_market.add_policy_version('2026-01-01 00:40+00', '{"touch_resolution": "10 minutes"}') $$) \gset
SELECT is(pg_temp.touched(1, '2026-01-01 00:50+00'), '2026-01-01 00:50+00',
          'a version another session committed counts at the next touch');

-- ... also inside a transaction that has touched already (it holds the locks)
BEGIN;
SELECT is(pg_temp.touched(1, '2026-01-01 00:55+00'), '2026-01-01 00:50+00', 'a transaction touches within the resolution');
SELECT pg_temp.other($$ handle_market.add_policy_version('2026-01-01 01:00+00', '{"touch_resolution": "1 minute"}') $$) \gset
SELECT is(pg_temp.touched(1, '2026-01-01 01:00+00'), '2026-01-01 01:00+00',
          'a version committed meanwhile counts at its next touch, as for a READ COMMITTED statement');
COMMIT;
SELECT is(pg_temp.touched(1, '2026-01-01 01:01+00'), '2026-01-01 01:00+00', 'exactly the resolution later, nothing is written');
SELECT is(pg_temp.touched(1, '2026-01-01 01:01:00.000001+00'), '2026-01-01 01:01:00.000001+00',
          'a microsecond more is recorded');

-- A day part moves by calendar days in the session's time zone, as
-- timestamptz - interval does: the day Berlin goes to summer time has 23 hours.
SELECT pg_temp.other($$ handle_market.add_policy_version('2026-03-01 00:00+00', '{"touch_resolution": "1 day"}') $$) \gset
SELECT upsert_account(2, active_at => '2026-03-28 10:30+00') \gset
SET timezone = 'Europe/Berlin';
SELECT is(pg_temp.touched(2, '2026-03-29 10:00+00'), '2026-03-29 10:00+00',
          'Berlin, over the spring change: 23 hours 30 minutes later is more than a calendar day');
SELECT is(pg_temp.touched(2, '2026-03-30 09:00+00'), '2026-03-29 10:00+00',
          'Berlin, a plain day later: 23 hours later is within it');
SET timezone = 'UTC';
SELECT is(pg_temp.touched(2, '2026-03-30 09:30+00'), '2026-03-29 10:00+00', 'UTC: 23 hours 30 minutes is within a day');
SELECT is(pg_temp.touched(2, '2026-03-30 10:00:00.000001+00'), '2026-03-30 10:00:00.000001+00',
          'UTC: a microsecond over 24 hours is recorded');

-- REINDEX CONCURRENTLY gives the primary key index a new OID.  The
-- superuser: only the table's owner may reindex it.
RESET ROLE;
REINDEX INDEX CONCURRENTLY handle_market.accounts_pkey;
SET ROLE hm_test_touch;
SELECT is(pg_temp.touched(2, '2026-03-30 12:00+00'), '2026-03-30 10:00:00.000001+00',
          'after REINDEX CONCURRENTLY, touch reads through the new index');

-- The C path decides alone; _touch runs only to write.
-- (track_functions is a superuser's setting; it stays after SET ROLE)
RESET ROLE;
SET track_functions = 'pl';
SET ROLE hm_test_touch;
SELECT upsert_account(3, active_at => '2026-04-01 00:00+00') \gset
BEGIN;
SELECT is(pg_temp.touched(3, '2026-04-01 23:00+00'), '2026-04-01 00:00+00', 'a touch within the resolution (1 day)');
SELECT is((SELECT sum(calls) FROM pg_stat_xact_user_functions WHERE funcname = '_touch'), NULL,
          'does not call _touch');
SELECT is(pg_temp.touched(3, '2026-04-02 01:00+00'), '2026-04-02 01:00+00', 'a touch past it');
SELECT is((SELECT sum(calls) FROM pg_stat_xact_user_functions WHERE funcname = '_touch'), 1::numeric,
          'calls _touch once');
COMMIT;
RESET ROLE;
RESET track_functions;
SET ROLE hm_test_touch;

-- The other session caches too; then this one drops and re-creates the
-- extension, and both go on with the new tables and the new policy.
SELECT pg_temp.other($$ handle_market.touch(1, '2026-01-01 01:30+00') $$) \gset
-- The superuser drops and re-creates the extension (it owns it), and grants
-- the role again: the new extension's objects carry none of the old grants.
RESET ROLE;
DROP EXTENSION handle_market;
CREATE EXTENSION IF NOT EXISTS handle_market;
SELECT handle_market.grant_admin('hm_test_touch') \gset
SET ROLE hm_test_touch;
SELECT upsert_account(1, active_at => '2026-06-01 00:00+00') \gset
SELECT is(pg_temp.touched(1, '2026-06-01 00:59+00'), '2026-06-01 00:00+00',
          'after DROP and CREATE EXTENSION, touch reads the new tables');
SELECT is(pg_temp.touched(1, '2026-06-01 01:01+00'), '2026-06-01 01:01+00',
          'and the new policy (1 hour), not the dropped one (1 day)');
SELECT lives_ok($$ SELECT pg_temp.other('handle_market.touch(1, ''2026-06-01 01:30+00'')') $$,
                'the other session touches the new tables too');
SELECT is(pg_temp.other($$ handle_market.touch(1, '2026-06-01 02:05+00') $$), '',
          'and under the new policy: an hour and 4 minutes later it writes, through the gate');
SELECT is((SELECT last_active_at FROM accounts WHERE account_id = 1), '2026-06-01 02:05+00', 'as this session sees');

SELECT * FROM finish();
SELECT dblink_disconnect('other') \gset
\c :home_db
DROP DATABASE hm_touch_cache WITH (FORCE);
DROP ROLE hm_test_touch;
