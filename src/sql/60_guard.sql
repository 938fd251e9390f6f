-- src/sql/60_guard.sql: the guard.  State and history tables accept writes
-- only while an API function runs (see src/guard.c); history tables accept
-- nothing but inserts.  The triggers are ordinary ones, so a superuser's
-- restore with session_replication_role = replica (or a data-only
-- pg_restore -a --disable-triggers after the schema) can load a dump;
-- nothing else gets past them.

CREATE FUNCTION @extschema@.guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'hm_guard' LANGUAGE C;

CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.accounts
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.handles
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.reserved
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.release_runs
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.policy
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only');
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.handle_events
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only');
-- A statement trigger of a partitioned table fires only for statements
-- that name it: one that names a partition fires that partition's own.  So
-- every partition has the same guard: the default one here, each monthly
-- one as create_history_partitions() makes it (81_history.sql).
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.handle_events_default
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only');
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.history_archive
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only');
-- the outbox is append-only but prunable: prune_outbox_batch() alone may
-- delete what every consumer acknowledged (74_outbox_consumers.sql)
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.outbox
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only', 'prunable');

-- One wake-up per statement, not per row: a release batch writes thousands
-- of messages; the application reads them with outbox_after().
--
-- A transaction that sent a NOTIFY commits while holding PostgreSQL's one
-- notification lock, so every writer that notifies commits one at a time:
-- at 8 clients, buy() spent most of its time waiting for that lock.  A
-- session that writes many small transactions and whose consumer polls
-- outbox_after() anyway may turn the wake-up off:
--   SET handle_market.outbox_notify = off
-- (or ALTER ROLE app SET ...).  The messages are written either way.
-- In C (src/outbox_notify.c): it runs after every statement that writes
-- the outbox.
CREATE FUNCTION @extschema@.outbox_notify() RETURNS trigger
    AS 'MODULE_PATHNAME', 'hm_outbox_notify'
    LANGUAGE C;
CREATE TRIGGER notify AFTER INSERT ON @extschema@.outbox
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.outbox_notify();
