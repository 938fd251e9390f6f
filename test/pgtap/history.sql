-- test/pgtap/history.sql
-- handle_events partitioned by month (issue 12, bounded growth;
-- src/sql/81_history.sql, doc/history_partitions.md): the maintenance makes
-- the months ahead and moves the default partition's events out, each
-- partition is guarded, owned and privileged as the parent is, old months
-- are detached (and refused within the redemption period, HM019), and
-- check_invariants() knows what was archived.  The procedure
-- create_history_partitions() commits, so it cannot run in this test's
-- transaction: its steps, create_history_partition(), are tested here and
-- the procedure in test/roles.sh and test/dump_roundtrip.sh.  Runs in one
-- transaction, walking simulated time: day 0 is 2026-01-01 UTC.
--
-- Timeline.  Day 0: accounts 1-4 (4 verified, so exempt); account 1
-- registers alpha, account 2 charlie, account 4 vip_one; day 1 account 2
-- buys jack from the platform.  All of January's
-- events land in the default partition: no month has a partition yet.  The
-- maintenance at day 31 makes January to April and moves them.  Day 31 the
-- sweep notices accounts 1 and 2 (alpha, charlie and jack at risk, in
-- February); day 40 zulu is registered, and held at day 20 (a January event
-- written after February's).
\ir include/settings.psql

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS handle_market;
SET handle_market.simulated_time = on;
SET search_path = handle_market, public;
SET timezone = 'UTC';
SET datestyle = 'ISO';
-- the roles, rolled back with the test
CREATE ROLE hm_test_hist;
SELECT handle_market.grant_admin('hm_test_hist');
CREATE ROLE hm_test_hist_app;
SELECT handle_market.grant_app('hm_test_hist_app');

SELECT plan(62);

\ir include/calendar.sql
\ir include/error_of.sql
-- every step of the maintenance until none is left: "partition:moved ..."
CREATE FUNCTION pg_temp.maintain(p_ahead integer, p_as_of timestamptz) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    r record;
    v text := '';
BEGIN
    LOOP
        SELECT * INTO r FROM handle_market.create_history_partition(p_ahead, p_as_of);
        EXIT WHEN r.partition IS NULL;
        v := v || CASE WHEN v = '' THEN '' ELSE ' ' END || r.partition || ':' || r.moved_events;
    END LOOP;
    RETURN v;
END $$;
-- the attached partitions, "name(guarded)", in order
CREATE FUNCTION pg_temp.parts() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT string_agg(partition || CASE WHEN guarded THEN '' ELSE '(unguarded)' END, ' '
                      ORDER BY is_default, range_from)
      FROM handle_market.history_partitions() $$;
-- where each event is: "partition:count ..."
CREATE FUNCTION pg_temp.placed() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT string_agg(t || ':' || n, ' ' ORDER BY t)
      FROM (SELECT tableoid::regclass::text AS t, count(*) AS n FROM handle_market.handle_events GROUP BY 1) x $$;
-- one line per partition that differs from the parent in owner or privileges
CREATE FUNCTION pg_temp.unlike_parent() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(c.relname, ' ' ORDER BY c.relname), '')
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
           pg_class p
     WHERE i.inhparent = 'handle_market.handle_events'::regclass AND p.oid = i.inhparent
       AND (c.relowner <> p.relowner
            OR (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(c.relacl) x)
               IS DISTINCT FROM (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(p.relacl) x)) $$;
-- What check_invariants() reports after p_sql, run with the guard off, and
-- then undone (as in invariants.sql: the superuser, since only it may set
-- session_replication_role = replica).
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

SET ROLE hm_test_hist;

-- ---------------------------------------------------------------------
-- Before any maintenance: the parent and its default partition.
SELECT is(pg_temp.parts(), 'handle_events_default', 'installed: the default partition alone');
\o /dev/null
SELECT upsert_account(a, active_at => pg_temp.day(0)) FROM generate_series(1, 3) a;
SELECT upsert_account(4, verified => true, active_at => pg_temp.day(0));
SELECT deposit(2, 100000, 'dep-2', pg_temp.day(0));
SELECT register_handle(1, 'alpha', pg_temp.day(0));
SELECT register_handle(2, 'charlie', pg_temp.day(0));
SELECT register_handle(4, 'vip_one', pg_temp.day(0));
SELECT set_premium('jack', 5000);
SELECT buy('jack', 2, 5000, 'buy-jack', pg_temp.day(1));
\o
SELECT is(pg_temp.placed(), 'handle_events_default:4',
          'with no month made, every event is in the default partition: a write never fails for want of one');
SELECT is((SELECT count(*) FROM handle_events), 4::bigint, 'and reads through the parent as before');

-- ---------------------------------------------------------------------
-- The maintenance.
SELECT is(pg_temp.error_of($$ SELECT * FROM handle_market.create_history_partition(121, pg_temp.day(31)) $$),
          '22023: months_ahead must be between 0 and 120 / It was 121.', 'months_ahead above 120 is refused');
SELECT is(pg_temp.error_of($$ SELECT * FROM handle_market.create_history_partition(NULL, pg_temp.day(31)) $$),
          '22023: months_ahead must be between 0 and 120 / It was NULL.', 'so is a NULL months_ahead');
SELECT is(pg_temp.maintain(2, pg_temp.day(31)),
          'handle_events_p2026_01:4 handle_events_p2026_02:0 handle_events_p2026_03:0 handle_events_p2026_04:0',
          'day 31, two months ahead: January (its 4 events moved out of the default partition), February to April');
SELECT is(pg_temp.placed(), 'handle_events_p2026_01:4', 'each event is in its month''s partition, once');
SELECT is(pg_temp.parts(),
          'handle_events_p2026_01 handle_events_p2026_02 handle_events_p2026_03 handle_events_p2026_04 handle_events_default',
          'the partitions, each guarded');
SELECT is((SELECT range_from || ' ' || range_to FROM history_partitions() WHERE partition = 'handle_events_p2026_02'),
          '2026-02-01 00:00:00+00 2026-03-01 00:00:00+00', 'a month is a UTC month');
SELECT is(pg_temp.maintain(2, pg_temp.day(31)), '', 'run again: nothing to make (idempotent)');
SELECT is(pg_temp.maintain(0, pg_temp.day(40)), '', 'nor with fewer months ahead');
SELECT is(pg_temp.unlike_parent(), '', 'every partition has the parent''s owner and privileges');
SELECT is((SELECT count(*) FROM pg_inherits i JOIN pg_index x ON x.indrelid = i.inhrelid
            WHERE i.inhparent = 'handle_market.handle_events'::regclass
              AND (x.indisprimary AND pg_get_indexdef(x.indexrelid) LIKE '%(event_id, at)'
                   OR pg_get_indexdef(x.indexrelid) LIKE '%(handle, event_id)')),
          10::bigint, 'every partition has its key (event_id, at) and its index (handle, event_id)');

-- the API writes the new months
\o /dev/null
SELECT pg_temp.sweep(31);
SELECT register_handle(3, 'zulu', pg_temp.day(40));
-- a January event written after February's: a hold at day 20 (simulated time)
SELECT hold_handle('zulu', 'legal review', pg_temp.day(20));
\o
SELECT is(pg_temp.placed(), 'handle_events_p2026_01:5 handle_events_p2026_02:4',
          'the sweep''s three notices and zulu''s registration in February, its hold in January');
SELECT is_empty($$ SELECT * FROM handle_market.check_invariants() $$, 'check_invariants: none');

-- an event of a month without a partition waits in the default partition
\o /dev/null
SELECT register_handle(1, 'september', '2026-09-10 12:00+00');
\o
SELECT is(pg_temp.placed(),
          'handle_events_default:1 handle_events_p2026_01:5 handle_events_p2026_02:4',
          'an event of September, which has no partition, is in the default partition');
SELECT is((SELECT value FROM status() WHERE metric = 'history_default_partition_events'), 1::numeric,
          'status() counts it');
SELECT is(pg_temp.maintain(2, pg_temp.day(40)), 'handle_events_p2026_09:1',
          'the next maintenance makes September and moves it (the default partition would refuse the new partition otherwise)');
SELECT is((SELECT count(*) FROM ONLY handle_events_default), 0::bigint, 'the default partition is empty again');

-- ---------------------------------------------------------------------
-- The guard holds on every partition, for every role, as on the parent.
-- The application's role: no privilege on either.
SET ROLE hm_test_hist_app;
SELECT is(pg_temp.error_of($$ INSERT INTO handle_market.handle_events_p2026_02 (event_id, handle, to_state, at, reason)
                               VALUES (0, 'x_y_z', 'registered', '2026-02-02', 'x') $$),
          '42501: permission denied for table handle_events_p2026_02 / ',
          'app: INSERT into a partition is refused');
SELECT is(pg_temp.error_of($$ INSERT INTO handle_market.handle_events (handle, to_state, at, reason)
                               VALUES ('x_y_z', 'registered', '2026-02-02', 'x') $$),
          '42501: permission denied for table handle_events / ', 'as on the parent');
SELECT is(pg_temp.error_of($$ SELECT * FROM handle_market.handle_events_p2026_01 $$),
          '42501: permission denied for table handle_events_p2026_01 / ',
          'app: a partition cannot be read, as the parent cannot');
SELECT is(pg_temp.error_of($$ DELETE FROM handle_market.handle_events_default $$),
          '42501: permission denied for table handle_events_default / ', 'app: DELETE from the default partition is refused');
SELECT is(pg_temp.error_of($$ TRUNCATE handle_market.handle_events_p2026_01 $$),
          '42501: permission denied for table handle_events_p2026_01 / ', 'app: TRUNCATE of a partition is refused');
-- The operators' role: it reads a partition as it reads the parent, and writes neither.
SET ROLE hm_test_hist;
SELECT is((SELECT count(*) FROM handle_market.handle_events_p2026_01), 5::bigint, 'admin: reads a partition');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handle_events_p2026_01 SET reason = 'x' $$),
          '42501: permission denied for table handle_events_p2026_01 / ', 'admin: UPDATE of a partition is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handle_events SET reason = 'x' $$),
          '42501: permission denied for table handle_events / ', 'as of the parent');
SELECT is(pg_temp.error_of($$ TRUNCATE handle_market.handle_events_default $$),
          '42501: permission denied for table handle_events_default / ', 'admin: TRUNCATE of the default partition is refused');
-- The tables' owner, outside the API: the superuser that created the
-- extension (the only role with privileges to write, and so the only one
-- the guard itself has to stop).  A statement naming a partition fires the
-- partition's own guard, named in the message.
RESET ROLE;
SELECT is(pg_temp.error_of($$ INSERT INTO handle_market.handle_events_p2026_02 (event_id, handle, to_state, at, reason)
                               VALUES (0, 'x_y_z', 'registered', '2026-02-02', 'x') $$),
          'HM015: direct writes to handle_market.handle_events_p2026_02 are not allowed / The table changes only through the handle_market functions.',
          'owner: INSERT into a partition is refused by its guard');
SELECT is(pg_temp.error_of($$ INSERT INTO handle_market.handle_events (handle, to_state, at, reason)
                               VALUES ('x_y_z', 'registered', '2026-02-02', 'x') $$),
          'HM015: direct writes to handle_market.handle_events are not allowed / The table changes only through the handle_market functions.',
          'as into the parent');
SELECT is(pg_temp.error_of($$ INSERT INTO handle_market.handle_events_default (event_id, handle, to_state, at, reason)
                               VALUES (0, 'x_y_z', 'registered', '2030-02-02', 'x') $$),
          'HM015: direct writes to handle_market.handle_events_default are not allowed / The table changes only through the handle_market functions.',
          'owner: INSERT into the default partition is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handle_events_p2026_01 SET reason = 'x' $$),
          'HM015: handle_market.handle_events_p2026_01 is append-only / Rows of this history are never updated or deleted.',
          'owner: UPDATE of a partition is refused');
SELECT is(pg_temp.error_of($$ DELETE FROM handle_market.handle_events_p2026_01 $$),
          'HM015: handle_market.handle_events_p2026_01 is append-only / Rows of this history are never updated or deleted.',
          'owner: DELETE from a partition is refused');
SELECT is(pg_temp.error_of($$ DELETE FROM handle_market.handle_events $$),
          'HM015: handle_market.handle_events is append-only / Rows of this history are never updated or deleted.',
          'as from the parent');
SELECT is(pg_temp.error_of($$ TRUNCATE handle_market.handle_events_p2026_02 $$),
          'HM015: handle_market.handle_events_p2026_02 is append-only / Rows of this history are never updated or deleted.',
          'owner: TRUNCATE of a partition is refused');
SELECT is(pg_temp.error_of($$ TRUNCATE handle_market.handle_events_default $$),
          'HM015: handle_market.handle_events_default is append-only / Rows of this history are never updated or deleted.',
          'owner: TRUNCATE of the default partition is refused');
SELECT is(pg_temp.error_of($$ TRUNCATE handle_market.handle_events $$),
          'HM015: handle_market.handle_events is append-only / Rows of this history are never updated or deleted.',
          'as of the parent');

-- Partitions follow the parent's privileges: a role granted later reads
-- them; a privilege taken from the parent is taken from them by the next
-- maintenance run, which also mends a partition attached by hand.
CREATE ROLE hm_test_hist_late;
SELECT handle_market.grant_admin('hm_test_hist_late');
SELECT ok(has_table_privilege('hm_test_hist_late', 'handle_events_p2026_02', 'SELECT'),
          'grant_admin() after the partitions exist: the role reads them');
REVOKE SELECT ON handle_market.handle_events FROM hm_test_hist_late;
CREATE TABLE handle_market.handle_events_by_hand (LIKE handle_market.handle_events);
ALTER TABLE handle_market.handle_events ATTACH PARTITION handle_market.handle_events_by_hand
    FOR VALUES FROM ('2027-01-01 00:00+00') TO ('2027-02-01 00:00+00');
GRANT ALL ON handle_market.handle_events_by_hand TO hm_test_hist_app;
SELECT is((SELECT guarded FROM history_partitions() WHERE partition = 'handle_events_by_hand'), false,
          'history_partitions() shows a partition attached by hand without the guard');
SELECT is((SELECT value FROM status() WHERE metric = 'history_partitions_unguarded'), 1::numeric,
          'status() counts it');
SET ROLE hm_test_hist;
SELECT is(pg_temp.maintain(2, pg_temp.day(40)), '', 'the next maintenance has nothing to make');
SELECT is(pg_temp.unlike_parent(), '', 'but every partition has the parent''s privileges again');
SELECT ok(NOT has_table_privilege('hm_test_hist_late', 'handle_events_p2026_02', 'SELECT')
          AND NOT has_table_privilege('hm_test_hist_app', 'handle_events_by_hand', 'INSERT'),
          'the privilege taken from the parent, and the one given to the hand-made partition alone, are gone');
SELECT is((SELECT guarded FROM history_partitions() WHERE partition = 'handle_events_by_hand'), true,
          'the partition attached by hand has its guard');
SELECT is((SELECT count(*) FROM pg_index x WHERE x.indrelid = 'handle_events_by_hand'::regclass), 2::bigint,
          'and its key and index');

-- ---------------------------------------------------------------------
-- Detaching.
SELECT is(pg_temp.error_of($$ SELECT * FROM handle_market.detach_history('2026-02-01', pg_temp.day(45)) $$),
          'HM019: the history after 2026-01-16 00:00 UTC is still needed / older_than is 2026-02-01 00:00 UTC. '
          'While a handle''s redemption period runs, restore_handle() reads its last event, so the history of the '
          'longest redemption period of any policy version (30 days) stays: only partitions that end by '
          '2026-01-16 00:00 UTC may be detached.',
          'day 45: January is within the redemption period, refused');
SELECT is(pg_temp.error_of($$ SELECT * FROM handle_market.detach_history(NULL, pg_temp.day(45)) $$),
          '22004: older_than must not be null / ', 'a NULL older_than is refused');
SELECT is(pg_temp.error_of($$ SELECT * FROM handle_market.detach_history('-infinity', pg_temp.day(45)) $$),
          '22023: older_than must be a finite time / older_than is -infinity.', 'an infinite one too');
SELECT is((SELECT count(*) FROM detach_history('2026-01-01', pg_temp.day(45))), 0::bigint,
          'nothing ends by 2026-01-01: nothing detached');
SELECT is((SELECT string_agg(format('%s %s %s %s', partition, range_from, range_to, events), '; ')
             FROM detach_history('2026-02-01', pg_temp.day(70))),
          'handle_events_p2026_01 2026-01-01 00:00:00+00 2026-02-01 00:00:00+00 5',
          'day 70: January is detached and returned with its events');
SELECT is((SELECT format('%s %s %s %s %s %s', partition, events, detached_at, actor,
                         last_event_id = (SELECT max(event_id) FROM handle_market.handle_events_p2026_01),
                         out_of_order)
             FROM history_archive),
          'handle_events_p2026_01 5 2026-03-12 00:00:00+00 hm_test_hist t {zulu}',
          'history_archive records it, and zulu, whose January hold is newer than its February registration');
SELECT is((SELECT count(*) FROM detach_history('2026-02-01', pg_temp.day(70))), 0::bigint,
          'detaching again detaches nothing');
SELECT is(pg_temp.placed(),
          'handle_events_p2026_02:4 handle_events_p2026_09:1',
          'January''s events are no longer in the history');
SELECT is((SELECT count(*) FROM handle_market.handle_events_p2026_01), 5::bigint,
          'but in the detached table, for the DBA to dump and drop');

-- check_invariants() and archived history: vip_one has no event left and
-- nothing happened to it after January, so it holds; jack's purchase is
-- older than the archive, so its event is not missed; zulu's last event
-- (its hold, in January) is archived and an older one is left: not
-- compared.  A handle with history left is checked as before.
SELECT is_empty($$ SELECT * FROM handle_market.check_invariants() $$,
                'check_invariants: none after January was archived');
RESET ROLE;
SELECT is(pg_temp.reported_after($$ UPDATE handle_market.handles SET registered_at = '2026-02-10' WHERE handle = 'vip_one' $$),
          ARRAY['handle vip_one is registered, but its history ends in nothing'],
          'a handle with no event left that changed after the archive ends is reported');
SELECT is(pg_temp.reported_after($$ UPDATE handle_market.handles SET owner_id = 3 WHERE handle = 'alpha' $$),
          ARRAY['handle alpha is at_risk and owned by account 3, but its last event (at_risk) records account 1'],
          'a handle with history left is compared with its last event as before');
SELECT is(pg_temp.reported_after($$ DELETE FROM handle_market.history_archive $$),
          ARRAY['handle vip_one is registered, but its history ends in nothing',
                'handle zulu is held, but its history ends in registered',
                format('transfer %s (purchase) moved handle jack, but its history does not record it',
                       (SELECT transfer_id FROM handle_market.transfers WHERE idempotency_key = 'buy-jack'))],
          'history detached without a record in history_archive (by hand) is reported');
-- the archived table keeps its guard
SELECT is(pg_temp.error_of($$ DELETE FROM handle_market.handle_events_p2026_01 $$),
          'HM015: handle_market.handle_events_p2026_01 is append-only / Rows of this history are never updated or deleted.',
          'the detached table is still append-only');
SET ROLE hm_test_hist;
-- an event of an archived month stays in the default partition
\o /dev/null
SELECT register_handle(3, 'late_january', pg_temp.day(20));
\o
SELECT is(pg_temp.maintain(2, pg_temp.day(70)), 'handle_events_p2026_05:0',
          'the maintenance does not make January again (its history was archived)');
SELECT is((SELECT count(*) FROM ONLY handle_events_default), 1::bigint, 'January''s new event stays in the default partition');
SELECT is((SELECT string_agg(metric || '=' || value, ' ' ORDER BY metric) FROM status()
            WHERE metric IN ('history_partitions', 'history_partitions_unguarded', 'history_default_partition_events',
                             'history_archived_partitions')),
          'history_archived_partitions=1 history_default_partition_events=1 history_partitions=6 history_partitions_unguarded=0',
          'status(): 6 partitions, all guarded, 1 event in the default one, 1 archived');

SELECT * FROM finish();
ROLLBACK;
