-- test/pgtap/outbox_consumers.sql
-- The outbox's consumers (issue 12): durable cursors that only move forward,
-- the exact lag of each consumer, and the prune, which deletes exactly the
-- messages every consumer has acknowledged that are at least the retention
-- old, never one a consumer has not acknowledged, and nothing without a
-- consumer; and the delivery order (1.1), in which a message comes out only
-- once every older transaction has ended.  The procedure prune_outbox() commits, so it cannot run in this
-- test's transaction: its batches, prune_outbox_batch(), are tested here and
-- the procedure in test/roles.sh.  Ids are counted from the last message
-- before the test (:base), since a rolled-back test still uses up ids.
\ir include/settings.psql

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS handle_market;
SET handle_market.simulated_time = on;
-- the last message id before the test (the superuser reads the sequence)
SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS base FROM handle_market.outbox_message_id_seq \gset
SELECT set_config('hm.base', :'base', false) IS NOT NULL AS ok \gset
CREATE ROLE hm_test_outbox;                -- rolled back with the test
SELECT handle_market.grant_admin('hm_test_outbox');
CREATE ROLE hm_test_outbox_app;
SELECT handle_market.grant_app('hm_test_outbox_app');
SET ROLE hm_test_outbox;
SET search_path = handle_market, public;
SET timezone = 'UTC';
SET datestyle = 'ISO';

SELECT plan(70);

\ir include/error_of.sql
CREATE FUNCTION pg_temp.ids() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg((message_id - current_setting('hm.base')::bigint)::text, ',' ORDER BY message_id), '')
      FROM handle_market.outbox $$;
CREATE FUNCTION pg_temp.cursors() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(format('%s:%s lag %s', consumer, acked_id - current_setting('hm.base')::bigint, lag),
                               ' ' ORDER BY consumer), '')
      FROM handle_market.outbox_consumers() $$;
GRANT EXECUTE ON FUNCTION pg_temp.error_of(text), pg_temp.ids(), pg_temp.cursors() TO hm_test_outbox_app;

SELECT is((SELECT count(*) FROM outbox), 0::bigint, 'the outbox starts empty');

-- six messages, base+1 .. base+6: one per registration
\o /dev/null
SELECT upsert_account(1, 'basic');
\o
SELECT is(format('%s %s %s %s %s %s', register_handle(1, 'outbox_one'), register_handle(1, 'outbox_two'),
                 register_handle(1, 'outbox_three'), register_handle(1, 'outbox_four'),
                 register_handle(1, 'outbox_five'), register_handle(1, 'outbox_six')),
          'outbox_one outbox_two outbox_three outbox_four outbox_five outbox_six',
          'six registrations, each returned as registered');
SELECT is(pg_temp.ids(), '1,2,3,4,5,6', 'six messages in the outbox');

-- registration --------------------------------------------------------------
SELECT is(outbox_register_consumer('mailer'), true, 'register mailer');
SELECT is(outbox_register_consumer('mailer'), false, 'registering it again (a retry) says it was there');
SELECT is(outbox_register_consumer('search.index-2'), true, 'register search.index-2');
SELECT is(pg_temp.error_of($$ SELECT handle_market.outbox_register_consumer('Mailer') $$),
          '22023: invalid outbox consumer name "Mailer" / A name is 1 to 63 characters: a lower-case letter, then lower-case letters, digits, "_", "." or "-".',
          'a name with a capital is refused');
SELECT is(pg_temp.error_of($$ SELECT handle_market.outbox_register_consumer(NULL) $$),
          '22004: a consumer''s name must not be null / ', 'a NULL name is refused');
SELECT is(pg_temp.cursors(), format('mailer:%s lag 6 search.index-2:%s lag 6', -:base, -:base),
          'both start with nothing acknowledged: lag 6');
SELECT is((SELECT acked_id FROM outbox_consumers WHERE name = 'mailer'), 0::bigint, 'a new cursor is 0');

-- acknowledgements (as the application) ---------------------------------------
SET ROLE hm_test_outbox_app;
SELECT is(outbox_ack('mailer', :base::bigint + 2), :base::bigint + 2, 'mailer acknowledges up to 2');
SELECT is(outbox_ack('mailer', :base::bigint + 2), :base::bigint + 2, 'the same ack again (a retry) returns the cursor');
SELECT is(outbox_ack('mailer', :base::bigint + 1), :base::bigint + 2, 'an ack below the cursor leaves it at 2');
SELECT is(outbox_ack('mailer', 0), :base::bigint + 2, 'so does an ack of 0');
SELECT is(pg_temp.error_of(format('SELECT handle_market.outbox_ack(%L, %s)', 'mailer', :base::bigint + 7)),
          format('22023: cannot acknowledge outbox messages up to %s for consumer "mailer" / The last message id taken is %s.',
                 :base::bigint + 7, :base::bigint + 6),
          'an id beyond the last message is refused');
SELECT is(pg_temp.error_of($$ SELECT handle_market.outbox_ack('unknown_one', 1) $$),
          'HM018: unknown outbox consumer "unknown_one" / No consumer by that name is registered; outbox_consumers() lists those that are.', 'an unknown consumer is refused (HM018)');
SELECT is(pg_temp.error_of($$ SELECT handle_market.outbox_ack('mailer', NULL) $$),
          '22004: up_to must not be null / ', 'a NULL id is refused');
SELECT is(outbox_ack('search.index-2', :base::bigint + 5), :base::bigint + 5, 'search.index-2 acknowledges up to 5');
SELECT is(pg_temp.cursors(), 'mailer:2 lag 4 search.index-2:5 lag 1', 'the cursors and exact lags, read by the application');
SELECT is(outbox_ack('search.index-2', :base::bigint + 6), :base::bigint + 6, 'search.index-2 catches up');
SELECT is(pg_temp.cursors(), 'mailer:2 lag 4 search.index-2:6 lag 0', 'search.index-2 has no lag');
-- the application may not administer
SELECT is(left(pg_temp.error_of($$ SELECT handle_market.outbox_register_consumer('app_made') $$), 5), '42501',
          'app: outbox_register_consumer is refused (42501)');
SELECT is(left(pg_temp.error_of($$ SELECT handle_market.outbox_unregister_consumer('mailer') $$), 5), '42501',
          'app: outbox_unregister_consumer is refused (42501)');
SELECT is(left(pg_temp.error_of($$ SELECT handle_market.set_outbox_retention('0') $$), 5), '42501',
          'app: set_outbox_retention is refused (42501)');
SELECT is(left(pg_temp.error_of($$ SELECT handle_market.prune_outbox_batch(0, 10) $$), 5), '42501',
          'app: prune_outbox_batch is refused (42501)');
SELECT is(left(pg_temp.error_of($$ CALL handle_market.prune_outbox() $$), 5), '42501',
          'app: prune_outbox is refused (42501)');
SET ROLE hm_test_outbox;

-- the monitoring view of the lag
SELECT is((SELECT string_agg(metric || ' ' || labels || ' ' || value, '; ' ORDER BY metric, labels)
             FROM status() WHERE metric IN ('outbox_consumer_lag', 'outbox_retention_seconds')),
          'outbox_consumer_lag consumer=mailer 4; outbox_consumer_lag consumer=search.index-2 0; outbox_retention_seconds  604800',
          'status(): each consumer''s lag, and the default retention of 7 days');

-- the prune -----------------------------------------------------------------
SELECT is(outbox_retention(), interval '7 days', 'the retention is 7 days until set');
SELECT is(prune_outbox_batch(0, 100)::text, format('(t,2,0,%s)', :base::bigint + 2),
          'at 7 days nothing is old enough: messages 1 and 2 (acknowledged by both) examined, none deleted');
SELECT is(set_outbox_retention('0'), interval '0', 'retention 0');
SELECT is(prune_outbox_batch(0, 1)::text, format('(f,1,1,%s)', :base::bigint + 1),
          'a batch of 1 deletes message 1 and is not done');
SELECT is(prune_outbox_batch(:base::bigint + 1, 100)::text, format('(t,1,1,%s)', :base::bigint + 2),
          'the next batch, after it, deletes message 2 and stops at mailer''s cursor');
SELECT is(pg_temp.ids(), '3,4,5,6', 'messages 3 to 6 stay: mailer has not acknowledged them, though search.index-2 has');
SELECT is(prune_outbox_batch(0, 100)::text, format('(t,0,0,%s)', 0),
          'a new run finds nothing more to delete');

-- retention: mailer catches up to 5; message 3 was written 2 hours ago
SELECT is(set_outbox_retention('1 hour'), interval '1 hour', 'retention 1 hour');
SELECT is(pg_temp.error_of($$ SELECT handle_market.set_outbox_retention('-1 day') $$),
          '22023: retention must not be negative / It was -1 days.', 'a negative retention is refused');
SELECT is(outbox_ack('mailer', :base::bigint + 5), :base::bigint + 5, 'mailer acknowledges up to 5');
RESET ROLE;
-- the superuser backdates message 3, past the guard as a restore does
SET LOCAL session_replication_role = replica;
UPDATE handle_market.outbox SET created_at = now() - interval '2 hours'
 WHERE message_id = current_setting('hm.base')::bigint + 3;
SET LOCAL session_replication_role = origin;
SET ROLE hm_test_outbox;
SELECT is(prune_outbox_batch(0, 100)::text, format('(t,3,1,%s)', :base::bigint + 5),
          'of 3, 4 and 5 (acknowledged by both) only 3 is an hour old: it alone is deleted');
SELECT is(pg_temp.ids(), '4,5,6', '4 and 5 wait for the retention, 6 for mailer');
SELECT is(pg_temp.error_of($$ SELECT handle_market.prune_outbox_batch(0, 0) $$),
          '22023: batch_size must be at least 1 / It was 0.', 'a batch of 0 is refused');

-- no consumer: nothing is known delivered
SELECT is(set_outbox_retention('0'), interval '0', 'retention 0 again');
SELECT is(outbox_unregister_consumer('mailer') AND outbox_unregister_consumer('search.index-2'), true,
          'both consumers unregistered');
SELECT is(outbox_unregister_consumer('mailer'), false, 'unregistering again says it was not there');
SELECT is(prune_outbox_batch(0, 100)::text, '(t,0,0,0)', 'with no consumer the prune deletes nothing');
SELECT is(pg_temp.ids(), '4,5,6', 'every message stays');

-- The guard: nothing but the prune deletes.  The operator's DELETE would
-- stop at the table's privileges (42501) before the guard runs; only the
-- superuser (as the owner) gets past them, so it is the one that shows the
-- guard itself refuses.
SELECT is(left(pg_temp.error_of($$ DELETE FROM handle_market.outbox $$), 5), '42501',
          'admin: a DELETE stops at the privileges (42501)');
RESET ROLE;
SELECT is(pg_temp.error_of($$ DELETE FROM handle_market.outbox $$),
          'HM015: handle_market.outbox is append-only / Rows of this history are never updated or deleted.',
          'the superuser: the guard refuses a direct DELETE (HM015)');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.outbox SET detail = '' $$),
          'HM015: handle_market.outbox is append-only / Rows of this history are never updated or deleted.',
          'and an UPDATE');
SELECT is(pg_temp.error_of($$ TRUNCATE handle_market.outbox $$),
          'HM015: handle_market.outbox is append-only / Rows of this history are never updated or deleted.',
          'and a TRUNCATE');
SELECT is(pg_temp.error_of($$ DELETE FROM handle_market.outbox_consumers $$),
          'HM015: direct writes to handle_market.outbox_consumers are not allowed / The table changes only through the handle_market functions.',
          'the consumers change only through the API');

-- the delivery order (1.1) -------------------------------------------------
-- Messages come out once every older transaction has ended, in the order
-- (writer_xid, message_id).  This test is one transaction, so its own
-- messages (4, 5, 6 here) have its transaction id, and it may read them
-- because no older transaction is open.  Messages of other, ended
-- transactions are written by the superuser past the guard, as a restore
-- does: a single transaction cannot write them itself.  7 is one written
-- before 1.1 (writer_xid 0), 8 one of transaction 5.
SET ROLE hm_test_outbox;
SELECT is((SELECT string_agg(DISTINCT (writer_xid = pg_current_xact_id())::text, ',') FROM outbox), 'true',
          'each message records the transaction that wrote it: here, the test''s');
RESET ROLE;
SET LOCAL session_replication_role = replica;
INSERT INTO handle_market.outbox (kind, handle, at, detail, writer_xid)
VALUES ('registered', 'outbox_old', now(), 'before 1.1', '0'), ('registered', 'outbox_other', now(), 'ended', '5');
SET LOCAL session_replication_role = origin;
SET ROLE hm_test_outbox;
SELECT is(outbox_register_consumer('late'), true, 'register late');
SET ROLE hm_test_outbox_app;
CREATE FUNCTION pg_temp.after(p_after bigint) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg((a.message_id - current_setting('hm.base')::bigint)::text, ',' ORDER BY a.n), '')
      FROM handle_market.outbox_after(p_after) WITH ORDINALITY a(message_id, kind, account_id, handle, at, detail,
                                                                  created_at, writer_xid, n) $$;
SELECT is(pg_temp.after(0), '7,8,4,5,6', 'outbox_after(0): 7 (before 1.1), 8 (transaction 5), then this transaction''s');
SELECT is(pg_temp.after(:base::bigint + 8), '4,5,6', 'after 8 come 4, 5 and 6, though their ids are lower');
SELECT is(outbox_ack('late', :base::bigint + 4), :base::bigint + 4, 'late acknowledges up to 4');
SELECT is(outbox_ack('late', :base::bigint + 8), :base::bigint + 4, 'an ack of 8, which came before 4, leaves the cursor at 4');
SELECT is((SELECT format('%s lag %s held back %s', acked_id - :base::bigint, lag, held_back)
             FROM outbox_consumers() WHERE consumer = 'late'),
          '4 lag 2 held back 0', 'late''s cursor: 5 and 6 after it, none held back');
SELECT is(pg_temp.after(:base::bigint + 4), '5,6', 'outbox_after(4): 5 and 6');
SELECT is(pg_temp.error_of($$ SELECT handle_market.outbox_after(NULL) $$),
          '22004: after_message_id must not be null / ', 'a NULL cursor is refused');
SET ROLE hm_test_outbox;
SELECT is(prune_outbox_batch(0, 100)::text, format('(t,3,3,%s)', :base::bigint + 4),
          'the prune deletes 7, 8 and 4, at or before late''s cursor in the delivery order');
SELECT is((SELECT string_agg(metric || ' ' || labels || ' ' || value, '; ' ORDER BY metric)
             FROM status() WHERE metric IN ('outbox_consumer_lag', 'outbox_consumer_held_back')),
          'outbox_consumer_held_back consumer=late 0; outbox_consumer_lag consumer=late 2',
          'status(): late''s lag and the messages of it held back');
SET ROLE hm_test_outbox_app;
SELECT is(pg_temp.after(:base::bigint + 4), '5,6', 'outbox_after(4), 4 deleted: late''s cursor still names its place');
SELECT is(pg_temp.error_of(format('SELECT handle_market.outbox_after(%s)', :base::bigint + 8)),
          format('22023: outbox message %s is not in the outbox / A cursor is the id of a message outbox_after() handed out; '
                 'this one was pruned, was never written, or is not committed yet.', :base::bigint + 8),
          'a deleted message that is nobody''s cursor is no cursor (22023)');
SELECT is(outbox_ack('late', :base::bigint + 8), :base::bigint + 4, 'an ack of the deleted 8 (a retry) leaves the cursor');
SELECT is(pg_temp.error_of(format('SELECT handle_market.outbox_ack(%L, %s)', 'late', :base::bigint + 9)),
          format('22023: cannot acknowledge outbox messages up to %s for consumer "late" / The last message id taken is %s.',
                 :base::bigint + 9, :base::bigint + 8),
          'an id beyond the last message is still refused');

-- Transaction ids from another cluster: a pg_dump restored into a cluster
-- whose transaction counter is behind the source's.  The superuser plants
-- a message of transaction 4000000000, which this cluster has not reached.
RESET ROLE;
SET LOCAL session_replication_role = replica;
INSERT INTO handle_market.outbox (kind, handle, at, detail, writer_xid)
VALUES ('registered', 'outbox_moved', now(), 'from another cluster', '4000000000');
SET LOCAL session_replication_role = origin;
SET ROLE hm_test_outbox_app;
-- the next transaction id moves whenever another one ends (an autovacuum's)
SELECT is(regexp_replace(pg_temp.error_of($$ SELECT handle_market.outbox_after(0) $$), 'is [0-9]+:', 'is N:'),
          'HM020: the outbox records transaction id 4000000000, which this server has not assigned yet / '
          'The next transaction id is N: the outbox was restored from another cluster, whose transaction ids are not this one''s.',
          'outbox_after() refuses to hand out anything (HM020)');
SELECT is(left(pg_temp.error_of(format('SELECT handle_market.outbox_ack(%L, %s)', 'late', :base::bigint + 5)), 5), 'HM020',
          'outbox_ack() refuses to move a cursor (HM020)');
SET ROLE hm_test_outbox;
SELECT is(left(pg_temp.error_of($$ SELECT handle_market.prune_outbox_batch(0, 100) $$), 5), 'HM020',
          'prune_outbox_batch() refuses to delete (HM020)');
-- the renumbering of doc/monitoring.md, as the superuser (it writes past the guard)
RESET ROLE;
SET LOCAL session_replication_role = replica;
UPDATE handle_market.outbox_consumers c
   SET acked_xid = '0',
       acked_id = coalesce((SELECT min(o.message_id) - 1 FROM handle_market.outbox o
                             WHERE (o.writer_xid, o.message_id) > (c.acked_xid, c.acked_id)),
                           (SELECT max(o.message_id) FROM handle_market.outbox o),
                           c.acked_id);
UPDATE handle_market.outbox SET writer_xid = '0';
SET LOCAL session_replication_role = origin;
SET ROLE hm_test_outbox;
SELECT lives_ok($$ SELECT handle_market.register_handle(1, 'outbox_later') $$, 'a message written after the renumbering');
SET ROLE hm_test_outbox_app;
SELECT is(pg_temp.after((SELECT acked_id FROM outbox_consumers() WHERE consumer = 'late')), '5,6,9,10',
          'late goes on from its cursor: 5, 6, the moved 9, then the new 10; nothing skipped');

SELECT * FROM finish();
ROLLBACK;
