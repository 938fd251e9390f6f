-- versions/handle_market--1.0--1.1.sql: ALTER EXTENSION handle_market
-- UPDATE TO '1.1' from 1.0 (see CHANGELOG.md).  test/upgrade.sh checks that
-- a database updated with it equals a fresh 1.1 install object by object.

\echo Use "ALTER EXTENSION handle_market UPDATE TO '1.1'" to load this file. \quit

-- status() is created at the end of this script, once the tables it reads exist.

-- Who may call what, as data: grant_app() and grant_admin() read it, and an
-- update script that adds a function adds its row, then re-grants every
-- recorded role (_regrant), so a role granted under an older version can
-- call what the new one adds.  test/roles.sh checks every function against
-- it.  Routines are named as in GRANT, within the extension's schema.
CREATE TABLE @extschema@.api_grants (
    routine text PRIMARY KEY,
    is_procedure boolean NOT NULL DEFAULT false,
    level text NOT NULL CHECK (level IN ('app', 'admin'))
);
COMMENT ON TABLE @extschema@.api_grants IS
    'who may call each API routine: app (grant_app) or admin (grant_admin); written by the extension''s scripts';
INSERT INTO @extschema@.api_grants (routine, level) VALUES
    ('upsert_account(bigint, text, boolean, timestamptz)', 'app'),
    ('set_account_status(bigint, text)', 'app'),
    ('touch(bigint, timestamptz)', 'app'),
    ('activity_status(timestamptz, timestamptz)', 'app'),
    ('policy_at(timestamptz)', 'app'),
    ('register_handle(bigint, text, timestamptz)', 'app'),
    ('restore_handle(text, bigint, timestamptz)', 'app'),
    ('lookup(text, timestamptz)', 'app'),
    ('price(text, timestamptz)', 'app'),
    ('quote(text, bigint, timestamptz)', 'app'),
    ('outbox_after(bigint, integer)', 'app'),
    ('deposit(bigint, bigint, text, timestamptz)', 'app'),
    ('withdraw(bigint, bigint, text, timestamptz)', 'app'),
    ('balance(bigint)', 'app'),
    ('list_handle(text, bigint, bigint, timestamptz, text)', 'app'),
    ('unlist_handle(text, bigint, timestamptz, text)', 'app'),
    ('buy(text, bigint, bigint, text, timestamptz)', 'app'),
    ('transfer_handle(text, bigint, bigint, text, timestamptz)', 'app'),
    ('start_auction(text, bigint, bigint, timestamptz, timestamptz, text)', 'app'),
    ('cancel_auction(text, bigint, timestamptz, text)', 'app'),
    ('bid(text, bigint, bigint, text, timestamptz)', 'app'),
    ('make_offer(text, bigint, bigint, timestamptz, text, timestamptz)', 'app'),
    ('accept_offer(bigint, bigint, timestamptz, text)', 'app'),
    ('cancel_offer(bigint, bigint, timestamptz, text)', 'app'),
    ('hold_handle(text, text, timestamptz)', 'admin'),
    ('release_hold(text, timestamptz)', 'admin'),
    ('reserve_handle(text, text, text, text)', 'admin'),
    ('unreserve_handle(text)', 'admin'),
    ('add_policy_version(timestamptz, jsonb)', 'admin'),
    ('set_premium(text, bigint, text)', 'admin'),
    ('unset_premium(text)', 'admin'),
    ('add_pricing_version(timestamptz, jsonb)', 'admin'),
    ('pricing_at(timestamptz)', 'admin'),
    ('commission_bps(text, timestamptz)', 'admin'),
    ('start_release_run(timestamptz, integer, boolean)', 'admin'),
    ('release_batch(bigint)', 'admin'),
    ('finish_release_run(bigint)', 'admin'),
    ('check_invariants()', 'admin'),
    ('ledger_balance(bigint)', 'admin'),
    ('start_platform_auction(text, bigint, timestamptz, timestamptz)', 'admin'),
    ('settle_batch(timestamptz, integer)', 'admin'),
    ('settle_lock_try()', 'admin'),
    ('settle_lock_release()', 'admin'),
    ('release_lock_try()', 'admin'),
    ('release_lock_release()', 'admin'),
    ('status(boolean)', 'admin'),
    -- settle_auctions() is invoker-rights and checks its as_of with it
    ('_write_time(timestamptz, text)', 'admin');
INSERT INTO @extschema@.api_grants (routine, is_procedure, level) VALUES
    ('release_dormant(timestamptz, integer, boolean)', true, 'admin'),
    ('settle_auctions(timestamptz, integer)', true, 'admin');

-- The roles granted, so that an update can grant them what it adds.
CREATE TABLE @extschema@.grantees (
    role text PRIMARY KEY,
    level text NOT NULL CHECK (level IN ('app', 'admin')),
    granted_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.grantees IS
    'the roles grant_app() and grant_admin() were given, re-granted by every update';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.grantees', '');
-- the REVOKE at the top of this file ran before these tables existed
REVOKE ALL ON @extschema@.api_grants, @extschema@.grantees FROM PUBLIC;


-- The roles 1.0's grant_app() and grant_admin() were given, found by their
-- privileges (1.0 kept no record): EXECUTE on touch() is the application's,
-- on release_batch() an operator's.
INSERT INTO @extschema@.grantees (role, level)
SELECT a.grantee::regrole::text,
       CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) b
                          WHERE p.oid = '@extschema@.release_batch(bigint)'::pg_catalog.regprocedure
                            AND b.grantee = a.grantee AND b.privilege_type = 'EXECUTE')
            THEN 'admin' ELSE 'app' END
  FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
 WHERE p.oid = '@extschema@.touch(bigint, timestamptz)'::pg_catalog.regprocedure
   AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0
   AND a.grantee <> (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'handle_market');

-- EXECUTE on every routine of one level of api_grants, for grant_app() and
-- grant_admin().
CREATE FUNCTION @extschema@._grant_level(p_role regrole, p_level text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT g.routine, g.is_procedure FROM @extschema@.api_grants g
              WHERE g.level = p_level ORDER BY g.routine LOOP
        EXECUTE format('GRANT EXECUTE ON %s @extschema@.%s TO %s',
                       CASE WHEN r.is_procedure THEN 'PROCEDURE' ELSE 'FUNCTION' END, r.routine, p_role);
    END LOOP;
END $$;
REVOKE EXECUTE ON FUNCTION @extschema@._grant_level(regrole, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.grant_app(role regrole) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA @extschema@ TO %s', role);
    PERFORM @extschema@._grant_level(role, 'app');
    INSERT INTO @extschema@.grantees AS g (role, level) VALUES (grant_app.role::text, 'app')
    ON CONFLICT ON CONSTRAINT grantees_pkey DO NOTHING;
END $$;
COMMENT ON FUNCTION @extschema@.grant_app(regrole) IS
    'lets a role use the application API: accounts, activity, registration, restore, lookup, outbox, money, sales, auctions, offers; the role is recorded, and every update grants it what the update adds';

CREATE OR REPLACE FUNCTION @extschema@.grant_admin(role regrole) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM @extschema@.grant_app(role);
    PERFORM @extschema@._grant_level(role, 'admin');
    -- operators and auditors read everything; nobody writes but the API
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA @extschema@ TO %s', role);
    UPDATE @extschema@.grantees SET level = 'admin' WHERE grantees.role = grant_admin.role::text;
END $$;
-- Only the extension's owner grants (a GRANT by anyone else grants nothing,
-- but says so in warnings); the REVOKE at the top ran before these existed.
REVOKE EXECUTE ON FUNCTION @extschema@.grant_app(regrole), @extschema@.grant_admin(regrole) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.grant_admin(regrole) IS
    'lets a role do what the application does, plus holds, reservations, policy and pricing versions, release runs, platform auctions and settlement, and read every table; the role is recorded, and every update grants it what the update adds';

-- Run at the end of every update script: each recorded role gets what the
-- new version adds.  A role dropped since is skipped with a notice.
CREATE FUNCTION @extschema@._regrant() RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT r.role, r.level FROM @extschema@.grantees r ORDER BY r.role LOOP
        IF to_regrole(g.role) IS NULL THEN
            RAISE NOTICE 'handle_market: role % was dropped; it is not granted again', g.role;
        ELSIF g.level = 'admin' THEN
            PERFORM @extschema@.grant_admin(g.role::regrole);
        ELSE
            PERFORM @extschema@.grant_app(g.role::regrole);
        END IF;
    END LOOP;
END $$;
REVOKE EXECUTE ON FUNCTION @extschema@._regrant() FROM PUBLIC;

-- A pause between batches for release_dormant() and settle_auctions() (a
-- new last argument, so the procedures are made again).
-- The pause a batch procedure takes between batches (pg_partman's p_wait),
-- so that a run can be gentle on a busy primary: checked once, before the
-- first batch.  At most an hour: a longer pause is a scheduling job's.
CREATE FUNCTION @extschema@._batch_pause(pause interval) RETURNS interval
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pause IS NULL THEN
        RAISE EXCEPTION 'pause must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF pause < interval '0' OR pause > interval '1 hour' THEN
        RAISE EXCEPTION 'pause must be between 0 and 1 hour'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('It was %s.', pause);
    END IF;
    RETURN pause;
END $$;
REVOKE EXECUTE ON FUNCTION @extschema@._batch_pause(interval) FROM PUBLIC;
DROP PROCEDURE @extschema@.release_dormant(timestamptz, integer, boolean);
CREATE PROCEDURE @extschema@.release_dormant(as_of timestamptz DEFAULT now(),
                                             batch_size integer DEFAULT 10000,
                                             dry_run boolean DEFAULT false,
                                             pause interval DEFAULT '0')
    LANGUAGE plpgsql
AS $$
DECLARE
    v_run bigint;
    v_batch record;
    v_total record;
    v_batches integer := 0;
    v_pause interval := @extschema@._batch_pause(pause);
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RAISE NOTICE 'release_dormant: this server is a replica; nothing to do';
        RETURN;
    END IF;
    -- another run going raises HM016 here, so that a cron job notices
    v_run := @extschema@.start_release_run(as_of, batch_size, dry_run);
    COMMIT;
    LOOP
        SELECT * INTO v_batch FROM @extschema@.release_batch(v_run);
        COMMIT;
        v_batches := v_batches + 1;
        RAISE NOTICE 'release_dormant run %: batch %: examined %, noticed %, released % (through "%")',
            v_run, v_batches, v_batch.examined, v_batch.noticed, v_batch.released,
            coalesce(v_batch.last_handle::text, '');
        EXIT WHEN v_batch.done;
        IF v_pause > interval '0' THEN
            PERFORM pg_catalog.pg_sleep_for(v_pause);
        END IF;
    END LOOP;
    SELECT * INTO v_total FROM @extschema@.finish_release_run(v_run);
    COMMIT;
    RAISE NOTICE '%', pg_catalog.format(
        'release_dormant run %s finished: %s batches, examined %s, noticed %s, released %s%s',
        v_run, v_total.batches, v_total.examined, v_total.noticed, v_total.released,
        CASE WHEN dry_run THEN ' (dry run: nothing was changed)' ELSE '' END);
END $$;
COMMENT ON PROCEDURE @extschema@.release_dormant(timestamptz, integer, boolean, interval) IS
    'notices inactive owners and releases handles whose notice ran out, in batches that each commit, with an optional pause between batches';
REVOKE EXECUTE ON PROCEDURE @extschema@.release_dormant(timestamptz, integer, boolean, interval) FROM PUBLIC;
DROP PROCEDURE @extschema@.settle_auctions(timestamptz, integer);
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
COMMENT ON PROCEDURE @extschema@.settle_auctions(timestamptz, integer, interval) IS
    'settles every auction that has ended and voids every expired offer, in batches that each commit; one run at a time, and a rerun finds only what is left';
REVOKE EXECUTE ON PROCEDURE @extschema@.settle_auctions(timestamptz, integer, interval) FROM PUBLIC;
UPDATE @extschema@.api_grants SET routine = 'release_dormant(timestamptz, integer, boolean, interval)'
 WHERE routine = 'release_dormant(timestamptz, integer, boolean)';
UPDATE @extschema@.api_grants SET routine = 'settle_auctions(timestamptz, integer, interval)'
 WHERE routine = 'settle_auctions(timestamptz, integer)';
INSERT INTO @extschema@.api_grants (routine, level) VALUES ('_batch_pause(interval)', 'admin');

-- ===== issue 12, the outbox: the delivery order, consumers, acknowledgements, the prune =====
-- (src/sql/55_registry_tables.sql, 60_guard.sql, 74_outbox_consumers.sql, 85_status.sql, 90_privileges.sql)

-- the outbox's guard lets prune_outbox_batch() delete
DROP TRIGGER guard ON @extschema@.outbox;
-- the outbox is append-only but prunable: prune_outbox_batch() alone may
-- delete what every consumer acknowledged (74_outbox_consumers.sql)
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.outbox
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only', 'prunable');

-- The delivery order (src/sql/55_registry_tables.sql, 74_outbox_consumers.sql).
-- Every message written under 1.0 is committed, and comes before every
-- later one: writer_xid 0.  A constant default rewrites no row (a 1.0
-- outbox was never pruned, and may be large); the column then takes its
-- fresh install's default, in its fresh install's place, the last.
ALTER TABLE @extschema@.outbox ADD COLUMN writer_xid xid8 NOT NULL DEFAULT '0';
ALTER TABLE @extschema@.outbox ALTER COLUMN writer_xid SET DEFAULT pg_current_xact_id();

-- src/sql/74_outbox_consumers.sql: the order the outbox hands messages out
-- in, its consumers and their durable cursors, and the prune that keeps the
-- outbox bounded (issue 12).
--
-- A consumer is registered by an operator and acknowledges, in order, the
-- messages it has handled: its cursor (acked_id) only moves forward.  The
-- prune deletes a message once every registered consumer has acknowledged it
-- and it is at least the retention old; with no consumer registered it
-- deletes nothing (nobody has said what was delivered).  The outbox is
-- append-only: its guard lets prune_outbox_batch() delete (hm_prune_gate,
-- the trigger's 'prunable') and nothing else.
--
-- The order.  A message id is taken when the message is written, but
-- transactions commit in another order: message 10's writer may still be
-- open when message 11 is committed and read.  A cursor of ids alone passes
-- 10 for good, and the prune then deletes it as acknowledged.  So each
-- message records its writing transaction (writer_xid: xid8, 64 bits, never
-- wraps), and a message is handed out only once every transaction with a
-- lower transaction id than its writer has ended (writer_xid below the
-- reading snapshot's xmin): after that, no message can commit with a lower
-- writer_xid.  Messages come out in
-- (writer_xid, message_id) order, and that pair is a cursor's position; a
-- consumer still holds and acknowledges message ids, each of which names its
-- pair.  Within one transaction ids only grow, so a transaction's messages
-- keep their id order.  Messages written before 1.1 have writer_xid 0: all
-- committed, before every later one.
--
-- The price: an open transaction that holds a transaction id (a long one, a
-- prepared one, in any database of the cluster) holds back every message of
-- a transaction that began writing after it, until it ends.  Nothing is
-- skipped; outbox_consumers() counts those messages as held_back.
--
-- Transaction ids are the cluster's own.  pg_upgrade and physical replicas
-- keep them; a pg_dump restored into another cluster does not, and the
-- outbox refuses to hand out, acknowledge or prune (HM020) until an operator
-- renumbers it (doc/monitoring.md), rather than order new messages behind
-- old cursors.

COMMENT ON COLUMN @extschema@.outbox.writer_xid IS
    'the transaction that wrote the message (0: written before 1.1); outbox_after() hands messages out in (writer_xid, message_id) order, once every older transaction has ended';
-- outbox_after(), the lag and the prune read the outbox in that order
CREATE INDEX outbox_delivery ON @extschema@.outbox (writer_xid, message_id);

CREATE TABLE @extschema@.outbox_consumers (
    name text PRIMARY KEY
        CHECK (name ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    -- every message up to this one, in the delivery order, is acknowledged
    -- (0: none yet)
    acked_id bigint NOT NULL DEFAULT 0 CHECK (acked_id >= 0),
    -- that message's writer_xid: with acked_id, the cursor's position, which
    -- holds after the prune has deleted the message itself
    acked_xid xid8 NOT NULL DEFAULT '0',
    registered_at timestamptz NOT NULL DEFAULT now(),
    acked_at timestamptz
);
COMMENT ON TABLE @extschema@.outbox_consumers IS
    'consumers of the outbox and how far each has acknowledged; prune_outbox() keeps what any of them has not';

-- The retention: no row means the default, 7 days.  A row only once an
-- operator sets it, so that a dump carries a changed retention and a
-- restore into a fresh install (which writes no row) does not collide.
CREATE TABLE @extschema@.outbox_settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    retention interval NOT NULL CHECK (retention >= interval '0'),
    set_at timestamptz NOT NULL DEFAULT now(),
    set_by text NOT NULL DEFAULT @extschema@.actor()
);
COMMENT ON TABLE @extschema@.outbox_settings IS
    'the outbox''s retention (one row, once set_outbox_retention() was called; 7 days without it)';

CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.outbox_consumers
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.outbox_settings
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outbox_consumers', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outbox_settings', '');

-- The last writer_xid handed out now: below the snapshot's xmin every
-- transaction has ended.  A transaction also reads its own messages when no
-- older transaction is open (then xmin is its own id): whatever commits
-- later has a higher id, and its own later messages higher message ids.
CREATE FUNCTION @extschema@._outbox_delivery_limit() RETURNS xid8
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT CASE WHEN pg_catalog.pg_current_xact_id_if_assigned() = s.xmin THEN s.xmin
                ELSE ((s.xmin::text)::numeric - 1)::text::xid8 END
      FROM (SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot()) AS xmin) s;
END;

-- A visible message (or cursor) whose transaction id this server has not
-- assigned yet came from another cluster (a pg_dump restored here): new
-- messages would sort before it, behind the cursors, and be skipped.  The
-- caller's own transaction is the one id at or past the snapshot's xmax
-- that it may see.
CREATE FUNCTION @extschema@._outbox_check_xids() RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_next xid8 := pg_snapshot_xmax(pg_current_snapshot());
    v_own xid8 := pg_current_xact_id_if_assigned();
    v_seen xid8;
BEGIN
    SELECT max(x) INTO v_seen
      FROM (SELECT max(o.writer_xid) FROM outbox o
             WHERE o.writer_xid >= v_next AND o.writer_xid IS DISTINCT FROM v_own
            UNION ALL
            SELECT max(c.acked_xid) FROM outbox_consumers c
             WHERE c.acked_xid >= v_next AND c.acked_xid IS DISTINCT FROM v_own) m(x);
    IF v_seen IS NOT NULL THEN
        RAISE EXCEPTION 'the outbox records transaction id %, which this server has not assigned yet', v_seen
            USING ERRCODE = 'HM020',
                  DETAIL = format('The next transaction id is %s: the outbox was restored from another cluster, whose transaction ids are not this one''s.', v_next),
                  HINT = 'Nothing is handed out, acknowledged or pruned until an operator renumbers it; see "Restoring into another cluster" in doc/monitoring.md.';
    END IF;
END $$;

-- The writer_xid of a cursor (a message id): the message's, or, once the
-- prune has deleted it, that of the consumer whose cursor it is.  0 and
-- below: before the first message.
CREATE FUNCTION @extschema@._outbox_cursor_xid(p_after bigint) RETURNS xid8
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v xid8;
BEGIN
    IF p_after IS NULL THEN
        RAISE EXCEPTION 'after_message_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM _outbox_check_xids();
    IF p_after <= 0 THEN
        RETURN '0';
    END IF;
    SELECT o.writer_xid INTO v FROM outbox o WHERE o.message_id = p_after;
    IF NOT FOUND THEN
        SELECT c.acked_xid INTO v FROM outbox_consumers c WHERE c.acked_id = p_after LIMIT 1;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'outbox message % is not in the outbox', p_after
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A cursor is the id of a message outbox_after() handed out; this one was pruned, was never written, or is not committed yet.',
                  HINT = 'A registered consumer resumes from its acked_id in outbox_consumers().';
    END IF;
    RETURN v;
END $$;

-- The application's read.  after_message_id is the last message it handled
-- (its acked_id); the messages after it come in the delivery order, but
-- for those of writers younger than a transaction still open, which may yet
-- commit a message before them.
CREATE OR REPLACE FUNCTION @extschema@.outbox_after(after_message_id bigint DEFAULT 0, max_messages integer DEFAULT 1000)
    RETURNS SETOF @extschema@.outbox
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT o.* FROM @extschema@.outbox o
     WHERE (o.writer_xid, o.message_id) > ((SELECT @extschema@._outbox_cursor_xid(after_message_id)), after_message_id)
       AND o.writer_xid <= (SELECT @extschema@._outbox_delivery_limit())
     ORDER BY o.writer_xid, o.message_id
     LIMIT max_messages;
END;
COMMENT ON FUNCTION @extschema@.outbox_after(bigint, integer) IS
    'notifications after a message id (a consumer''s acked_id), in commit-safe order: a message comes out once every transaction older than its writer has ended, so a cursor never passes one; LISTEN handle_market to be woken';

-- the name's rules, in one place for the three functions that take it
CREATE FUNCTION @extschema@._outbox_consumer_name(p_name text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_name IS NULL THEN
        RAISE EXCEPTION 'a consumer''s name must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_name !~ '^[a-z][a-z0-9_.-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid outbox consumer name "%"', p_name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A name is 1 to 63 characters: a lower-case letter, then lower-case letters, digits, "_", "." or "-".';
    END IF;
    RETURN p_name;
END $$;

-- Registering a consumer that is registered already succeeds and says so
-- (false), its cursor untouched: a retry after a lost answer.
CREATE FUNCTION @extschema@._outbox_register_consumer(p_name text)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    -- after any prune batch under way: it read the horizon without this
    -- consumer, and must not delete a message the consumer has not seen
    LOCK TABLE outbox_consumers IN SHARE ROW EXCLUSIVE MODE;
    INSERT INTO outbox_consumers (name) VALUES (_outbox_consumer_name(p_name))
    ON CONFLICT (name) DO NOTHING;
    RETURN FOUND;
END $$;

CREATE FUNCTION @extschema@.outbox_register_consumer(name text)
    RETURNS boolean AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.outbox_register_consumer(text) IS
    'registers an outbox consumer with nothing acknowledged; from then on prune_outbox() keeps every message it has not acknowledged (false: it was registered already)';

-- A consumer taken out of service: the prune no longer waits for it.
CREATE FUNCTION @extschema@._outbox_unregister_consumer(p_name text)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    DELETE FROM outbox_consumers WHERE name = _outbox_consumer_name(p_name);
    RETURN FOUND;
END $$;

CREATE FUNCTION @extschema@.outbox_unregister_consumer(name text)
    RETURNS boolean AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.outbox_unregister_consumer(text) IS
    'removes an outbox consumer, so that the prune no longer keeps messages for it (false: it was not registered)';

-- The cursor moves forward only, in the delivery order.  An ack at or
-- before it changes nothing and returns it: a retry after a lost answer, or
-- a slower worker of the same consumer, cannot move it back (and is no
-- error, since what it says is true); so does an id with no message, which
-- is one the prune deleted (it was at or before every cursor) or one that
-- was never written.  An id beyond the last message is refused, and so is a
-- message outbox_after() does not hand out yet: the consumer cannot have
-- handled it, and a cursor past it would pass, and let the prune delete,
-- the messages an older open transaction commits later.  Returns the
-- cursor after the call.
CREATE FUNCTION @extschema@._outbox_ack(p_consumer text, p_up_to bigint)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v outbox_consumers;
    v_xid xid8;
    v_last bigint;
BEGIN
    IF p_up_to IS NULL THEN
        RAISE EXCEPTION 'up_to must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO v FROM outbox_consumers WHERE name = _outbox_consumer_name(p_consumer) FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown outbox consumer "%"', p_consumer
            USING ERRCODE = 'HM018',
                  DETAIL = 'No consumer by that name is registered; outbox_consumers() lists those that are.',
                  HINT = 'An operator registers it with outbox_register_consumer().';
    END IF;
    IF p_up_to <= 0 OR p_up_to = v.acked_id THEN
        RETURN v.acked_id;
    END IF;
    PERFORM _outbox_check_xids();
    SELECT o.writer_xid INTO v_xid FROM outbox o WHERE o.message_id = p_up_to;
    IF NOT FOUND THEN
        -- the prune deletes messages of any id, the lowest cursor's
        -- position being no id: only the ids taken tell which never was
        v_last := coalesce(pg_sequence_last_value('outbox_message_id_seq'), 0);
        IF p_up_to > v_last THEN
            RAISE EXCEPTION 'cannot acknowledge outbox messages up to % for consumer "%"', p_up_to, v.name
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('The last message id taken is %s.', v_last);
        END IF;
        RETURN v.acked_id;
    END IF;
    IF (v_xid, p_up_to) <= (v.acked_xid, v.acked_id) THEN
        RETURN v.acked_id;
    END IF;
    IF v_xid > _outbox_delivery_limit() THEN
        RAISE EXCEPTION 'cannot acknowledge outbox message % for consumer "%"', p_up_to, v.name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'outbox_after() does not hand it out yet: a transaction older than its writer is still open, and what it writes comes before it.';
    END IF;
    UPDATE outbox_consumers SET acked_id = p_up_to, acked_xid = v_xid, acked_at = now() WHERE name = v.name;
    RETURN p_up_to;
END $$;

CREATE FUNCTION @extschema@.outbox_ack(consumer text, up_to bigint)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.outbox_ack(text, bigint) IS
    'a consumer acknowledges every message up to one outbox_after() handed it, in the order handed out; the cursor only moves forward, and the call returns it';

-- Every consumer with its cursor and how far behind it is: the committed
-- messages after its cursor (an exact count), how many of those wait for an
-- older transaction to end (held_back: outbox_after() does not hand them out
-- yet), and the oldest of them.  The application reads its own cursor here
-- when it starts.
CREATE FUNCTION @extschema@.outbox_consumers()
    RETURNS TABLE (consumer text, acked_id bigint, lag bigint, held_back bigint,
                   oldest_unacked_at timestamptz, registered_at timestamptz, acked_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT c.name, c.acked_id, l.lag, l.held_back, l.oldest, c.registered_at, c.acked_at
      FROM @extschema@.outbox_consumers c,
           LATERAL (SELECT count(*) AS lag,
                           count(*) FILTER (WHERE o.writer_xid > (SELECT @extschema@._outbox_delivery_limit()))
                               AS held_back,
                           min(o.created_at) AS oldest
                      FROM @extschema@.outbox o
                     WHERE (o.writer_xid, o.message_id) > (c.acked_xid, c.acked_id)) l
     ORDER BY c.name;
END;
COMMENT ON FUNCTION @extschema@.outbox_consumers() IS
    'each outbox consumer: its cursor, the messages after it (lag), those of them that wait for an older transaction to end (held_back), and the oldest of them';

CREATE FUNCTION @extschema@._set_outbox_retention(p_retention interval)
    RETURNS interval
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF p_retention IS NULL THEN
        RAISE EXCEPTION 'retention must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_retention < interval '0' THEN
        RAISE EXCEPTION 'retention must not be negative'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('It was %s.', p_retention);
    END IF;
    INSERT INTO outbox_settings AS s (retention) VALUES (p_retention)
    ON CONFLICT (singleton) DO UPDATE SET retention = excluded.retention, set_at = excluded.set_at,
                                          set_by = excluded.set_by
     WHERE s.retention IS DISTINCT FROM excluded.retention;
    RETURN p_retention;
END $$;

CREATE FUNCTION @extschema@.set_outbox_retention(retention interval)
    RETURNS interval AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.set_outbox_retention(interval) IS
    'how long prune_outbox() keeps a message after it was written, even once every consumer acknowledged it (7 days until set)';

CREATE FUNCTION @extschema@.outbox_retention() RETURNS interval
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT coalesce((SELECT s.retention FROM @extschema@.outbox_settings s), interval '7 days');
END;
COMMENT ON FUNCTION @extschema@.outbox_retention() IS
    'the outbox''s retention in force (set_outbox_retention(); 7 days until set)';

-- One batch: the next batch_size messages after after_id up to the
-- horizon (the lowest cursor), in the delivery order; of those, the ones at
-- least the retention old are deleted.  created_at is the writing
-- transaction's start, not ordered with the delivery order, so a young
-- message is skipped, not a stop: the run goes on after it (last_id) and the
-- next run looks again.  An after_id the previous batch deleted has no
-- position left: the batch starts from the first message again, where only
-- the young messages that batch skipped are left before it.
CREATE FUNCTION @extschema@._prune_outbox_batch(p_after_id bigint, p_batch_size integer,
                                                OUT done boolean, OUT examined integer,
                                                OUT deleted integer, OUT last_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_horizon outbox_consumers;
    v_after_xid xid8;
    v_after_id bigint := p_after_id;
    v_cutoff timestamptz := now() - outbox_retention();
BEGIN
    IF p_after_id IS NULL THEN
        RAISE EXCEPTION 'after_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- A consumer registered meanwhile waits for this batch to commit (its
    -- registration takes a lock that conflicts with this one), so the
    -- horizon read below holds until the batch commits.  Acks do not wait:
    -- they only raise a cursor, and a horizon read before one is lower.
    -- No consumer: nothing is known delivered, and nothing is deleted.
    LOCK TABLE outbox_consumers IN SHARE UPDATE EXCLUSIVE MODE;
    PERFORM _outbox_check_xids();
    SELECT * INTO v_horizon FROM outbox_consumers c ORDER BY c.acked_xid, c.acked_id LIMIT 1;
    SELECT o.writer_xid INTO v_after_xid FROM outbox o WHERE o.message_id = p_after_id;
    IF NOT FOUND THEN
        v_after_xid := '0';
        v_after_id := 0;
    END IF;
    WITH batch AS (
        SELECT o.writer_xid, o.message_id, o.created_at FROM outbox o
         WHERE (o.writer_xid, o.message_id) > (v_after_xid, v_after_id)
           AND (o.writer_xid, o.message_id) <= (coalesce(v_horizon.acked_xid, '0'), coalesce(v_horizon.acked_id, 0))
         ORDER BY o.writer_xid, o.message_id LIMIT p_batch_size
    ), gone AS (
        DELETE FROM outbox o USING batch b
         WHERE o.message_id = b.message_id AND b.created_at <= v_cutoff
        RETURNING o.message_id
    )
    SELECT count(*), (SELECT count(*) FROM gone),
           (SELECT b.message_id FROM batch b ORDER BY b.writer_xid DESC, b.message_id DESC LIMIT 1)
      INTO examined, deleted, last_id FROM batch b;
    done := examined < p_batch_size;
    last_id := coalesce(last_id, p_after_id);
END $$;

CREATE FUNCTION @extschema@.prune_outbox_batch(after_id bigint, batch_size integer,
                                               OUT done boolean, OUT examined integer,
                                               OUT deleted integer, OUT last_id bigint)
    AS 'MODULE_PATHNAME', 'hm_prune_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.prune_outbox_batch(bigint, integer) IS
    'one batch of prune_outbox(): deletes, of the next batch_size messages after after_id that every consumer acknowledged, those at least the retention old';

-- Procedures that COMMIT cannot be SECURITY DEFINER or carry SET: every
-- name below is qualified instead.  Each batch commits; an interrupted run
-- leaves whole batches behind, and the next run starts again from the
-- beginning (what was deleted is gone, so that costs little).
CREATE PROCEDURE @extschema@.prune_outbox(batch_size integer DEFAULT 10000,
                                          pause interval DEFAULT '0')
    LANGUAGE plpgsql
AS $$
DECLARE
    v_batch record;
    v_after bigint := 0;
    v_batches integer := 0;
    v_deleted bigint := 0;
    v_pause interval := @extschema@._batch_pause(pause);
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RAISE NOTICE 'prune_outbox: this server is a replica; nothing to do';
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.outbox_consumers) THEN
        RAISE NOTICE 'prune_outbox: no consumer is registered, so no message is known delivered; nothing is pruned';
    END IF;
    LOOP
        SELECT * INTO v_batch FROM @extschema@.prune_outbox_batch(v_after, batch_size);
        COMMIT;
        v_batches := v_batches + 1;
        v_deleted := v_deleted + v_batch.deleted;
        v_after := v_batch.last_id;
        EXIT WHEN v_batch.done;
        IF v_pause > interval '0' THEN
            PERFORM pg_catalog.pg_sleep_for(v_pause);
        END IF;
    END LOOP;
    RAISE NOTICE '%', pg_catalog.format('prune_outbox: %s batches, %s messages deleted (through id %s)',
                                        v_batches, v_deleted, v_after);
END $$;
COMMENT ON PROCEDURE @extschema@.prune_outbox(integer, interval) IS
    'deletes, in batches that each commit, the outbox messages every consumer has acknowledged that are at least the retention old; nothing without a consumer';

-- what 90_privileges.sql's REVOKEs do at install
REVOKE ALL ON @extschema@.outbox_consumers, @extschema@.outbox_settings FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@._outbox_delivery_limit(), @extschema@._outbox_check_xids(),
    @extschema@._outbox_cursor_xid(bigint), @extschema@._outbox_consumer_name(text),
    @extschema@._outbox_register_consumer(text), @extschema@.outbox_register_consumer(text),
    @extschema@._outbox_unregister_consumer(text), @extschema@.outbox_unregister_consumer(text),
    @extschema@._outbox_ack(text, bigint), @extschema@.outbox_ack(text, bigint),
    @extschema@.outbox_consumers(),
    @extschema@._set_outbox_retention(interval), @extschema@.set_outbox_retention(interval),
    @extschema@.outbox_retention(),
    @extschema@._prune_outbox_batch(bigint, integer), @extschema@.prune_outbox_batch(bigint, integer)
    FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE @extschema@.prune_outbox(integer, interval) FROM PUBLIC;

-- status() with each consumer's lag and the retention (src/sql/85_status.sql)
-- (status() is created once, at the end of this script)

INSERT INTO @extschema@.api_grants (routine, level) VALUES
    ('outbox_ack(text, bigint)', 'app'),
    ('outbox_consumers()', 'app'),
    ('outbox_register_consumer(text)', 'admin'),
    ('outbox_unregister_consumer(text)', 'admin'),
    ('set_outbox_retention(interval)', 'admin'),
    ('outbox_retention()', 'admin'),
    ('prune_outbox_batch(bigint, integer)', 'admin');
INSERT INTO @extschema@.api_grants (routine, is_procedure, level) VALUES
    ('prune_outbox(integer, interval)', true, 'admin');
-- ===== end of issue 12, the outbox =====

-- ---- issue 12: re-keying after ICU changes (src/sql/83_rekey.sql) ----

-- src/sql/83_rekey.sql (version 1.1): recomputing every stored confusable
-- key after the server's ICU changed (see "ICU and Unicode versions" in the
-- README).
--
-- rekey() has release_dormant()'s shape: an invoker-rights procedure that
-- loops over the handles in key order and commits after every batch; each
-- batch is one call of the gated rekey_batch(), its run's row in rekey_runs
-- advances in the same transaction, so a crash leaves only whole batches and
-- a rerun continues after the last committed handle.  One run at a time (the
-- re-key run lock, guard.c).
--
-- A stored key is recomputed by touching its row (handles.key and
-- premium_handles.key are STORED generated columns, recomputed on any
-- UPDATE of the row).  A handle whose new key is already another handle's,
-- or is also the new key of an earlier handle of the batch, would make the
-- unique index refuse the whole batch; such a row keeps its old key and is
-- reported in rekey_collisions instead, for an operator to decide about
-- (both handles stay live, and neither loses anything).

CREATE TABLE @extschema@.rekey_runs (
    run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_size integer NOT NULL,
    resumed_run_id bigint REFERENCES @extschema@.rekey_runs,
    -- the versions the keys are computed with; a run resumes only a run of
    -- the same versions
    icu_version text NOT NULL,
    unicode_version text NOT NULL,
    last_handle @extschema@.handle,
    batches integer NOT NULL DEFAULT 0,
    examined bigint NOT NULL DEFAULT 0,
    rekeyed bigint NOT NULL DEFAULT 0,
    -- handles left with their old key: per batch while running, the rows of
    -- rekey_collisions for this run once finished
    collisions bigint NOT NULL DEFAULT 0,
    premium_rekeyed integer,
    reserved_rekeyed integer,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    status text NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'finished', 'interrupted'))
);
COMMENT ON TABLE @extschema@.rekey_runs IS
    'one row per rekey run, updated as each batch commits';

CREATE TABLE @extschema@.rekey_collisions (
    run_id bigint NOT NULL REFERENCES @extschema@.rekey_runs,
    in_table text NOT NULL CHECK (in_table IN ('handles', 'premium_handles')),
    handle @extschema@.handle NOT NULL,
    other_handle @extschema@.handle NOT NULL,
    new_key text COLLATE "C" NOT NULL,
    found_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (run_id, in_table, handle)
);
COMMENT ON TABLE @extschema@.rekey_collisions IS
    'handles whose key under the running ICU is another handle''s: they keep their old key until an operator decides';

CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.rekey_runs
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.rekey_collisions
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.rekey_runs', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rekey_collisions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rekey_runs_run_id_seq', '');

-- The re-key run lock (guard.c, objid 3): taken by start_rekey_run(),
-- dropped by finish_rekey_run() or by the abort of a failed run.
CREATE FUNCTION @extschema@.rekey_lock_try() RETURNS boolean
    AS 'MODULE_PATHNAME', 'hm_rekey_lock_try' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION @extschema@.rekey_lock_release() RETURNS boolean
    AS 'MODULE_PATHNAME', 'hm_rekey_lock_release' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.rekey_lock_try() IS
    'takes the re-key run lock for the session if it is free; used by start_rekey_run, granted to nobody';
COMMENT ON FUNCTION @extschema@.rekey_lock_release() IS
    'drops the re-key run lock; used by finish_rekey_run, granted to nobody';

-- Recomputes the stale keys of handles or premium_handles: the key range
-- [p_lo, p_hi], or the handles p_only, or (all three NULL) the whole table.
-- A row is re-keyed when its new key is no other row's stored key and no
-- earlier (in key order) stale row's new key; passes repeat over the rows
-- left while they make progress (a key that moves frees another's).  So of
-- handles that now share a key, the one that already has it, or else the
-- first in key order, has it (whatever the batch size), and each other one
-- keeps its old key and is recorded in rekey_collisions with the handle it
-- collides with (one whose own new key is the same, when there is one).
-- Called by the gated implementations only.
CREATE FUNCTION @extschema@.rekey_rows(p_run_id bigint, p_table text,
                                       p_lo @extschema@.handle, p_hi @extschema@.handle,
                                       p_only @extschema@.handle[],
                                       OUT rekeyed integer, OUT collisions integer)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_where text;
    v_n integer;
    v_blocked handle[];
BEGIN
    IF p_table IS NULL OR p_table NOT IN ('handles', 'premium_handles') THEN
        RAISE EXCEPTION 'rekey_rows: unknown table %', p_table USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_where := CASE WHEN p_only IS NOT NULL THEN 't.handle = ANY ($3)'
                    WHEN p_lo IS NULL AND p_hi IS NULL THEN 'true'
                    ELSE 't.handle >= $1 AND t.handle <= $2' END;
    rekeyed := 0;
    LOOP
        EXECUTE format($q$
            WITH a AS (SELECT t.handle, t.key, confusable_key(t.handle) AS new_key
                         FROM %1$I t WHERE %2$s),
                 c AS (SELECT a.handle, a.new_key FROM a WHERE a.key IS DISTINCT FROM a.new_key),
                 free AS (SELECT c.handle FROM c
                           WHERE NOT EXISTS (SELECT FROM %1$I o
                                              WHERE o.key = c.new_key AND o.handle <> c.handle)
                             AND NOT EXISTS (SELECT FROM c o
                                              WHERE o.new_key = c.new_key AND o.handle < c.handle)),
                 u AS (UPDATE %1$I t SET handle = t.handle FROM free
                        WHERE t.handle = free.handle RETURNING t.handle)
            SELECT (SELECT count(*) FROM u)::integer,
                   ARRAY(SELECT c.handle FROM c WHERE NOT EXISTS (SELECT FROM u WHERE u.handle = c.handle)
                          ORDER BY c.handle)$q$, p_table, v_where)
          INTO v_n, v_blocked
          USING p_lo, p_hi, p_only;
        rekeyed := rekeyed + v_n;
        EXIT WHEN v_n = 0 OR cardinality(v_blocked) = 0;
        -- only the rows left, until no pass frees any
        v_where := 't.handle = ANY ($3)';
        p_only := v_blocked;
    END LOOP;
    collisions := coalesce(cardinality(v_blocked), 0);
    IF collisions > 0 THEN
        EXECUTE format($q$
            WITH b AS (SELECT t.handle, confusable_key(t.handle) AS new_key
                         FROM %1$I t WHERE t.handle = ANY ($2))
            INSERT INTO rekey_collisions (run_id, in_table, handle, other_handle, new_key)
            SELECT $1, %1$L, b.handle, x.other, b.new_key
              FROM b CROSS JOIN LATERAL (
                   SELECT o.handle AS other
                     FROM (SELECT o.handle FROM %1$I o WHERE o.key = b.new_key AND o.handle <> b.handle
                           UNION
                           SELECT b2.handle FROM b b2 WHERE b2.new_key = b.new_key AND b2.handle <> b.handle) o
                    ORDER BY (confusable_key(o.handle) = b.new_key) DESC, o.handle
                    LIMIT 1) x
            ON CONFLICT DO NOTHING$q$, p_table)
          USING p_run_id, v_blocked;
    END IF;
END $$;
COMMENT ON FUNCTION @extschema@.rekey_rows(bigint, text, @extschema@.handle, @extschema@.handle, @extschema@.handle[]) IS
    'recomputes the stale confusable keys of a key range of handles or premium_handles, leaving and recording collisions; used by the re-key run, granted to nobody';

CREATE FUNCTION @extschema@._start_rekey_run(p_batch_size integer)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_prev rekey_runs;
    v_run bigint;
    v_icu text := running_icu_version();
    v_uni text := running_unicode_version();
BEGIN
    IF p_batch_size IS NULL OR p_batch_size < 1 THEN
        RAISE EXCEPTION 'rekey needs a batch_size of at least 1'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT rekey_lock_try() THEN
        RAISE EXCEPTION 'another re-key run is in progress'
            USING ERRCODE = 'HM016',
                  DETAIL = 'One re-key run at a time; this one did nothing.',
                  HINT = 'See rekey_runs; the run holds the re-key lock until it finishes or fails.';
    END IF;
    -- serialized by the lock: a run still marked running is one that died
    UPDATE rekey_runs SET status = 'interrupted', finished_at = clock_timestamp()
     WHERE status = 'running';
    -- continue the last interrupted run after its last committed handle,
    -- unless the server's ICU changed since (its keys would be stale again)
    SELECT * INTO v_prev FROM rekey_runs r
     WHERE r.status = 'interrupted' AND r.icu_version = v_icu AND r.unicode_version = v_uni
       AND NOT EXISTS (SELECT FROM rekey_runs n WHERE n.resumed_run_id = r.run_id)
     ORDER BY r.run_id DESC LIMIT 1;
    INSERT INTO rekey_runs (batch_size, resumed_run_id, icu_version, unicode_version, last_handle)
    VALUES (p_batch_size, v_prev.run_id, v_icu, v_uni, v_prev.last_handle)
    RETURNING run_id INTO v_run;
    RETURN v_run;
END $$;

CREATE FUNCTION @extschema@.start_rekey_run(batch_size integer)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.start_rekey_run(integer) IS
    'starts a re-key run (rekey() by hand) and takes the re-key lock; resumes an interrupted run of the same ICU version; HM016 while another run holds the lock';

-- One batch: the next batch_size handles in key order, as in release runs.
CREATE FUNCTION @extschema@._rekey_batch(p_run_id bigint,
                                         OUT done boolean, OUT examined integer,
                                         OUT rekeyed integer, OUT collisions integer,
                                         OUT last_handle @extschema@.handle)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
    SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
    v_run rekey_runs;
    v_lo handle;
    v_hi handle;
BEGIN
    SELECT * INTO v_run FROM rekey_runs WHERE run_id = p_run_id FOR UPDATE;
    IF NOT FOUND OR v_run.status <> 'running' THEN
        RAISE EXCEPTION 're-key run % is not running', p_run_id USING ERRCODE = 'HM008';
    END IF;
    IF v_run.last_handle IS NULL THEN
        SELECT h.handle INTO v_lo FROM handles h ORDER BY h.handle LIMIT 1;
    ELSE
        SELECT h.handle INTO v_lo FROM handles h WHERE h.handle > v_run.last_handle
         ORDER BY h.handle LIMIT 1;
    END IF;
    SELECT h.handle INTO v_hi FROM handles h WHERE h.handle >= v_lo
     ORDER BY h.handle OFFSET v_run.batch_size - 1 LIMIT 1;
    IF v_hi IS NULL THEN
        SELECT count(*), max(h.handle) INTO examined, v_hi FROM handles h WHERE h.handle >= v_lo;
        done := true;
    ELSE
        examined := v_run.batch_size;
        done := NOT EXISTS (SELECT FROM (SELECT h.handle FROM handles h WHERE h.handle > v_hi
                                          ORDER BY h.handle LIMIT 1) nxt);
    END IF;
    last_handle := coalesce(v_hi, v_run.last_handle);
    rekeyed := 0;
    collisions := 0;
    IF examined > 0 THEN
        SELECT r.rekeyed, r.collisions INTO rekeyed, collisions
          FROM rekey_rows(p_run_id, 'handles', v_lo, v_hi, NULL) r;
    END IF;
    UPDATE rekey_runs
       SET batches = batches + 1, examined = rekey_runs.examined + _rekey_batch.examined,
           rekeyed = rekey_runs.rekeyed + _rekey_batch.rekeyed,
           collisions = rekey_runs.collisions + _rekey_batch.collisions,
           last_handle = _rekey_batch.last_handle
     WHERE run_id = p_run_id;
END $$;

CREATE FUNCTION @extschema@.rekey_batch(run_id bigint,
                                        OUT done boolean, OUT examined integer,
                                        OUT rekeyed integer, OUT collisions integer,
                                        OUT last_handle @extschema@.handle)
    AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.rekey_batch(bigint) IS
    'recomputes the confusable keys of the next batch of handles of a re-key run; a handle whose new key another handle has keeps its old key and is recorded in rekey_collisions';

-- The end of a run: the handles left with their old key (by this run or an
-- earlier one) are tried again, since a key that a later batch moved may
-- have freed theirs; then the premium list and the reservations, and the
-- versions are recorded.  They are recorded even when collisions remain:
-- every other key is current, the rows left keep their old keys (still
-- unique, still refusing what they refused), and no rerun could clear the
-- warning while an operator decides about them; the collisions stay in
-- rekey_collisions, in rekey_runs.collisions and in status().
CREATE FUNCTION @extschema@._finish_rekey_run(p_run_id bigint)
    RETURNS @extschema@.rekey_runs
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v rekey_runs;
    v_h record;
    v_p record;
    v_reserved integer;
    v_left handle[];
BEGIN
    SELECT * INTO v FROM rekey_runs WHERE run_id = p_run_id FOR UPDATE;
    IF NOT FOUND OR v.status <> 'running' THEN
        RAISE EXCEPTION 're-key run % is not running', p_run_id USING ERRCODE = 'HM008';
    END IF;
    -- rows still stale are tried again and recorded anew under this run
    v_left := ARRAY(SELECT DISTINCT c.handle FROM rekey_collisions c WHERE c.in_table = 'handles');
    DELETE FROM rekey_collisions WHERE run_id = p_run_id;
    SELECT * INTO v_h FROM rekey_rows(p_run_id, 'handles', NULL, NULL, v_left);
    SELECT * INTO v_p FROM rekey_rows(p_run_id, 'premium_handles', NULL, NULL, NULL);
    UPDATE reserved SET key = confusable_key(pattern::handle)
     WHERE key IS DISTINCT FROM confusable_key(pattern::handle);
    GET DIAGNOSTICS v_reserved = ROW_COUNT;
    UPDATE unicode_versions
       SET icu_version = v.icu_version, unicode_version = v.unicode_version, recorded_at = now();
    UPDATE rekey_runs
       SET status = 'finished', finished_at = clock_timestamp(),
           rekeyed = rekey_runs.rekeyed + v_h.rekeyed,
           collisions = (SELECT count(*) FROM rekey_collisions c WHERE c.run_id = p_run_id),
           premium_rekeyed = v_p.rekeyed, reserved_rekeyed = v_reserved
     WHERE run_id = p_run_id
    RETURNING * INTO v;
    PERFORM rekey_lock_release();
    RETURN v;
END $$;

CREATE FUNCTION @extschema@.finish_rekey_run(run_id bigint)
    RETURNS @extschema@.rekey_runs AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.finish_rekey_run(bigint) IS
    'ends a re-key run: retries the handles left with their old key, re-keys the premium list and the reservations, records the ICU and Unicode versions and drops the re-key lock';

CREATE PROCEDURE @extschema@.rekey(batch_size integer DEFAULT 10000)
    LANGUAGE plpgsql
AS $$
DECLARE
    v_run bigint;
    v_batch record;
    v_total record;
    v_batches integer := 0;
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RAISE NOTICE 'rekey: this server is a replica; nothing to do';
        RETURN;
    END IF;
    v_run := @extschema@.start_rekey_run(batch_size);
    COMMIT;
    LOOP
        SELECT * INTO v_batch FROM @extschema@.rekey_batch(v_run);
        COMMIT;
        v_batches := v_batches + 1;
        RAISE NOTICE 'rekey run %: batch %: examined %, re-keyed %, collisions % (through "%")',
            v_run, v_batches, v_batch.examined, v_batch.rekeyed, v_batch.collisions,
            coalesce(v_batch.last_handle::text, '');
        EXIT WHEN v_batch.done;
    END LOOP;
    SELECT * INTO v_total FROM @extschema@.finish_rekey_run(v_run);
    COMMIT;
    RAISE NOTICE '%', pg_catalog.format(
        'rekey run %s finished: %s batches, examined %s, re-keyed %s handles, %s premium, %s reserved; recorded ICU %s (Unicode %s)',
        v_run, v_total.batches, v_total.examined, v_total.rekeyed, v_total.premium_rekeyed,
        v_total.reserved_rekeyed, v_total.icu_version, v_total.unicode_version);
    IF v_total.collisions > 0 THEN
        RAISE WARNING 'rekey run %: % handles now share a confusable key with another handle and keep their old keys',
            v_run, v_total.collisions
            USING HINT = pg_catalog.format('SELECT * FROM handle_market.rekey_collisions WHERE run_id = %s;', v_run);
    END IF;
END $$;
COMMENT ON PROCEDURE @extschema@.rekey(integer) IS
    'recomputes every stored confusable key with the running ICU in batches that each commit, reports handles that now collide in rekey_collisions, and records the versions';

REVOKE ALL ON @extschema@.rekey_runs, @extschema@.rekey_collisions FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.rekey_runs_run_id_seq FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.rekey_lock_try(), @extschema@.rekey_lock_release(),
    @extschema@.rekey_rows(bigint, text, @extschema@.handle, @extschema@.handle, @extschema@.handle[]),
    @extschema@._start_rekey_run(integer), @extschema@.start_rekey_run(integer),
    @extschema@._rekey_batch(bigint), @extschema@.rekey_batch(bigint),
    @extschema@._finish_rekey_run(bigint), @extschema@.finish_rekey_run(bigint) FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE @extschema@.rekey(integer) FROM PUBLIC;

-- status() reports the last re-key run and whether the recorded versions
-- are the server's (src/sql/85_status.sql)
-- (status() is created once, at the end of this script)

INSERT INTO @extschema@.api_grants (routine, level) VALUES
    ('start_rekey_run(integer)', 'admin'),
    ('rekey_batch(bigint)', 'admin'),
    ('finish_rekey_run(bigint)', 'admin');
INSERT INTO @extschema@.api_grants (routine, is_procedure, level) VALUES
    ('rekey(integer)', true, 'admin');
-- ---- end of issue 12 ----

-- ---- issue 12, the house: each shared refusal written once (src/refuse.c) ----
-- (src/sql/65_internal.sql) 1.0's PL/pgSQL refusals become SQL faces of the
-- C code the market's C paths raise them with; CREATE OR REPLACE changes a
-- function's language and keeps its signature, its grants and its callers.
CREATE OR REPLACE FUNCTION @extschema@._unknown_account(p_account_id bigint,
                                                        p_argument text DEFAULT 'account_id')
    RETURNS void
    AS 'MODULE_PATHNAME', 'hm_unknown_account_sql' LANGUAGE C;
CREATE OR REPLACE FUNCTION @extschema@._refuse_held(p_handle @extschema@.handle, p_hold_reason text)
    RETURNS void
    AS 'MODULE_PATHNAME', 'hm_refuse_held_sql' LANGUAGE C STABLE;
CREATE FUNCTION @extschema@._refuse_transfer_locked(p_handle @extschema@.handle,
                                                    p_locked_until timestamptz,
                                                    p_as_of timestamptz)
    RETURNS void
    AS 'MODULE_PATHNAME', 'hm_refuse_transfer_locked_sql' LANGUAGE C STABLE;
CREATE FUNCTION @extschema@._require_owner(p_handle @extschema@.handle, p_owner_id bigint,
                                           p_account_id bigint, p_what text)
    RETURNS void
    AS 'MODULE_PATHNAME', 'hm_require_owner_sql' LANGUAGE C STABLE;
CREATE OR REPLACE FUNCTION @extschema@._no_open_auction(p_handle @extschema@.handle) RETURNS void
    AS 'MODULE_PATHNAME', 'hm_no_open_auction_sql' LANGUAGE C
    SET search_path = pg_catalog, @extschema@, pg_temp;
CREATE OR REPLACE FUNCTION @extschema@._require_args(p_function text, VARIADIC p_missing boolean[])
    RETURNS void
    AS 'MODULE_PATHNAME', 'hm_require_args_sql' LANGUAGE C STABLE;
CREATE FUNCTION @extschema@._refuse_own_handle(p_handle @extschema@.handle, p_owner_id bigint,
                                               p_account_id bigint)
    RETURNS void
    AS 'MODULE_PATHNAME', 'hm_refuse_own_handle_sql' LANGUAGE C STABLE;
REVOKE EXECUTE ON FUNCTION
    @extschema@._refuse_transfer_locked(@extschema@.handle, timestamptz, timestamptz),
    @extschema@._require_owner(@extschema@.handle, bigint, bigint, text),
    @extschema@._refuse_own_handle(@extschema@.handle, bigint, bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@._sellable_by_owner(p_handle @extschema@.handle, p_seller_id bigint,
                                                          p_as_of timestamptz, p_what text)
    RETURNS @extschema@.handles
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    h handles;
BEGIN
    SELECT * INTO h FROM handles WHERE handle = p_handle FOR UPDATE;
    PERFORM _require_owner(p_handle, h.owner_id, p_seller_id, p_what);
    PERFORM _refuse_held(p_handle, h.hold_reason);
    PERFORM _refuse_transfer_locked(p_handle, h.transfer_locked_until, p_as_of);
    RETURN h;
END $$;

-- (src/sql/78c_offers.sql) make_offer() refuses the owner's own handle with
-- _refuse_own_handle, as buy() and the sale from a hold do in C
CREATE OR REPLACE FUNCTION @extschema@._make_offer(p_candidate text, p_buyer_id bigint, p_amount bigint,
                                        p_expires_at timestamptz, p_key text, p_as_of timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_handle handle := _canonical(p_candidate);
    -- expires_at in UTC: the same request from a session in another zone
    v_request text := format('make_offer(candidate => %L, buyer_id => %s, amount_cents => %s, expires_at => %s)',
                             p_candidate, p_buyer_id, p_amount,
                             to_char(p_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00'));
    h handles;
    v_hold bigint;
    v_created boolean;
BEGIN
    PERFORM _require_args('make_offer', p_candidate IS NULL, p_buyer_id IS NULL, p_amount IS NULL,
                          p_expires_at IS NULL, p_key IS NULL, p_as_of IS NULL);
    PERFORM _mark_active(p_buyer_id, p_as_of);      -- first: it takes the activity lock
    PERFORM _require_account(p_buyer_id);
    -- shared: offers may be made side by side, but not while the handle moves
    SELECT * INTO h FROM handles WHERE handle = v_handle FOR SHARE;
    v_hold := _replayed(p_buyer_id, p_key, 'hold', v_request);
    IF v_hold IS NOT NULL THEN
        RETURN v_hold;
    END IF;
    IF h.owner_id IS NULL THEN
        RAISE EXCEPTION 'handle "%" has no owner to make an offer to', v_handle
            USING ERRCODE = 'HM008', HINT = 'lookup() says how it may be had.';
    END IF;
    PERFORM _refuse_own_handle(v_handle, h.owner_id, p_buyer_id);
    PERFORM _refuse_held(v_handle, h.hold_reason);
    IF p_expires_at IS NULL OR p_expires_at <= p_as_of THEN
        RAISE EXCEPTION 'an offer must expire after it is made'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It would be made at %s and expire at %s.', p_as_of, p_expires_at);
    END IF;
    SELECT o.hold_id, o.created INTO v_hold, v_created
      FROM _hold_open(p_buyer_id, p_amount, p_key, v_request, v_handle::text, p_as_of) o;
    INSERT INTO offers (offer_id, handle, buyer_id, amount_cents, made_at, expires_at)
    VALUES (v_hold, v_handle, p_buyer_id, p_amount, p_as_of, p_expires_at);
    INSERT INTO outbox (kind, account_id, handle, at, detail)
    VALUES ('offer_received', h.owner_id, v_handle, p_as_of,
            format('Account %s offers %s for @%s until %s (offer %s).',
                   p_buyer_id, dollars(p_amount), v_handle, p_expires_at, v_hold));
    RETURN v_hold;
END $$;

-- _touch() locks the owner's at-risk handles in handle order before it gives
-- them back, as every path that locks several handles does
-- (test/specs/touch_vs_settle.spec; src/sql/70_accounts.sql)
CREATE OR REPLACE FUNCTION @extschema@._touch(p_account_id bigint, p_at timestamptz)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_last timestamptz;
    v_resolution interval;
    v_handle handle;
BEGIN
    SELECT a.last_active_at,
           (SELECT p.touch_resolution FROM policy p WHERE p.effective_from <= p_at
             ORDER BY p.effective_from DESC LIMIT 1)
      INTO v_last, v_resolution
      FROM accounts a WHERE a.account_id = p_account_id;
    IF NOT FOUND THEN
        PERFORM _unknown_account(p_account_id);
    END IF;
    IF p_at IS NULL OR v_last >= p_at - v_resolution THEN
        RETURN;
    END IF;

    -- wait for a release batch that is deciding now, then give back what it
    -- put at risk (activity_lock.c)
    PERFORM activity_lock_shared();
    UPDATE accounts SET last_active_at = greatest(last_active_at, p_at)
     WHERE account_id = p_account_id;
    -- an owner at risk who is active again keeps the handle, at once.  Its
    -- handles are locked first, in handle order, as a settlement batch locks
    -- the handles it sells: in the order the UPDATE finds them, touch could
    -- hold one the batch waits for while it waits for one the batch holds.
    PERFORM 1 FROM handles
     WHERE owner_id = p_account_id AND state = 'at_risk' AND hold_reason IS NULL
     ORDER BY handle FOR UPDATE;
    FOR v_handle IN
        UPDATE handles SET state = 'registered', notice_at = NULL
         WHERE owner_id = p_account_id AND state = 'at_risk' AND hold_reason IS NULL
        RETURNING handle
    LOOP
        PERFORM _record(v_handle, 'at_risk', 'registered', p_at, p_account_id,
                        'the owner was active again');
    END LOOP;
END $$;
-- ---- end of issue 12, the house ----

-- ===== issue 12, bounded growth: handle_events partitioned by month =====
-- (src/sql/55_registry_tables.sql, 60_guard.sql, 79_invariants.sql,
-- 81_history.sql, 85_status.sql, 90_privileges.sql)
--
-- 1.0's table steps aside, with its sequence and indexes, so that the new
-- one has the names a fresh install gives; its events move into the new
-- table's default partition, each once and with its event_id, and the
-- first CALL create_history_partitions() sorts them into their months.
ALTER TABLE @extschema@.handle_events RENAME TO handle_events_1_0;
ALTER SEQUENCE @extschema@.handle_events_event_id_seq RENAME TO handle_events_1_0_event_id_seq;
ALTER INDEX @extschema@.handle_events_pkey RENAME TO handle_events_1_0_pkey;
ALTER INDEX @extschema@.handle_events_handle RENAME TO handle_events_1_0_handle;

-- Partitioned by the event's time, one partition per UTC month, so that old
-- history leaves by DETACH (detach_history()) instead of a DELETE; the
-- months are made ahead by create_history_partitions() (81_history.sql,
-- doc/history_partitions.md).  `at` is the key: it is the lifecycle's time
-- (restore and the invariants reason in it), and as deployed it is the
-- writing transaction's now(), so a month's partition stops growing when
-- the month ends.  An event whose month has no partition (none made yet, a
-- simulated or backdated time) lands in the default partition, so a write
-- never fails for want of one; the next maintenance run moves it out.
--
-- No index or key on the parent: each partition has its own primary key
-- (event_id, at) and index (handle, event_id).  A partitioned index would
-- be a member of the extension that CREATE EXTENSION makes at a restore
-- before pg_dump attaches the partitions made at run time, and attaching
-- makes each partition's index at once, so pg_dump's own ADD CONSTRAINT
-- and CREATE INDEX for them then fail.
CREATE TABLE @extschema@.handle_events (
    event_id bigint GENERATED ALWAYS AS IDENTITY,
    handle @extschema@.handle NOT NULL,
    from_state text,
    to_state text NOT NULL,
    at timestamptz NOT NULL,
    account_id bigint,
    actor text NOT NULL DEFAULT @extschema@.actor(),
    reason text NOT NULL
) PARTITION BY RANGE (at);
COMMENT ON TABLE @extschema@.handle_events IS 'append-only history of every state change';
CREATE TABLE @extschema@.handle_events_default PARTITION OF @extschema@.handle_events DEFAULT;
ALTER TABLE @extschema@.handle_events_default
    ADD CONSTRAINT handle_events_default_pkey PRIMARY KEY (event_id, at);
CREATE INDEX handle_events_default_handle ON @extschema@.handle_events_default (handle, event_id);
COMMENT ON TABLE @extschema@.handle_events_default IS
    'the events of months without a partition of their own, until create_history_partitions() moves them';

-- History detached by detach_history(), one row per partition: what
-- check_invariants() knows was archived, and what the DBA dumps and drops.
CREATE TABLE @extschema@.history_archive (
    partition text PRIMARY KEY,
    range_from timestamptz NOT NULL,
    range_to timestamptz NOT NULL,
    events bigint NOT NULL,
    first_event_id bigint,
    last_event_id bigint,
    -- handles with an event left in the history that is older (by
    -- event_id) than one of theirs detached here: check_invariants() does
    -- not compare them with their last event left, which is not their last
    out_of_order @extschema@.handle[] NOT NULL,
    detached_at timestamptz NOT NULL,
    actor text NOT NULL DEFAULT @extschema@.actor()
);
COMMENT ON TABLE @extschema@.history_archive IS
    'partitions of handle_events detached by detach_history(): their range, their events, when and by whom';

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
-- the guard lets the extension's own scripts write (guard.c)
INSERT INTO @extschema@.handle_events
    (event_id, handle, from_state, to_state, at, account_id, actor, reason) OVERRIDING SYSTEM VALUE
SELECT event_id, handle, from_state, to_state, at, account_id, actor, reason
  FROM @extschema@.handle_events_1_0 ORDER BY event_id;
SELECT pg_catalog.setval('@extschema@.handle_events_event_id_seq', s.last_value, s.is_called)
  FROM @extschema@.handle_events_1_0_event_id_seq s;

-- check_invariants() (src/sql/79_invariants.sql) reads history_archive, and
-- its body is bound to the table it was made with: made again, on the new
-- one, before the old one goes
-- One line per violation; no rows when the books and the registry agree.
CREATE OR REPLACE FUNCTION @extschema@.check_invariants() RETURNS SETOF text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT format('transfer %s: its entries sum to %s cents, not 0', e.transfer_id, sum(e.amount))
      FROM @extschema@.entries e GROUP BY e.transfer_id HAVING sum(e.amount) <> 0
    UNION ALL
    SELECT format('transfer %s (%s) moves money but has %s entries', t.transfer_id, t.kind,
                  (SELECT count(*) FROM @extschema@.entries e WHERE e.transfer_id = t.transfer_id))
      FROM @extschema@.transfers t
     WHERE t.kind NOT IN ('handle_transfer', 'hold', 'hold_void')
       AND (SELECT count(*) FROM @extschema@.entries e WHERE e.transfer_id = t.transfer_id) < 2
    UNION ALL
    SELECT format('transfer %s (%s) only moves held money but has entries', t.transfer_id, t.kind)
      FROM @extschema@.transfers t
     WHERE t.kind IN ('handle_transfer', 'hold', 'hold_void')
       AND EXISTS (SELECT FROM @extschema@.entries e WHERE e.transfer_id = t.transfer_id)
    UNION ALL
    SELECT format('entry %s belongs to no transfer', e.entry_id)
      FROM @extschema@.entries e
     WHERE NOT EXISTS (SELECT FROM @extschema@.transfers t WHERE t.transfer_id = e.transfer_id)
    UNION ALL
    SELECT format('entry %s is on ledger account %s, which does not exist', e.entry_id, e.ledger_account_id)
      FROM @extschema@.entries e
     WHERE NOT EXISTS (SELECT FROM @extschema@.ledger_accounts l
                        WHERE l.ledger_account_id = e.ledger_account_id)
    UNION ALL
    SELECT format('wallet %s of account %s: balance %s cents, but its entries sum to %s',
                  l.ledger_account_id, l.account_id, l.balance, coalesce(s.total, 0))
      FROM @extschema@.ledger_accounts l
      LEFT JOIN (SELECT e.ledger_account_id, sum(e.amount) AS total
                   FROM @extschema@.entries e GROUP BY e.ledger_account_id) s
             ON s.ledger_account_id = l.ledger_account_id
     WHERE l.kind = 'wallet' AND l.balance IS DISTINCT FROM coalesce(s.total, 0)
    UNION ALL
    SELECT format('wallet %s of account %s: balance %s cents, held %s: negative or overdrawn',
                  l.ledger_account_id, l.account_id, l.balance, l.held)
      FROM @extschema@.ledger_accounts l
     WHERE l.kind = 'wallet' AND (l.held < 0 OR l.balance < l.held)
    UNION ALL
    SELECT format('handle %s runs under policy version %s, which does not exist', h.handle,
                  h.policy_version)
      FROM @extschema@.handles h
     WHERE NOT EXISTS (SELECT FROM @extschema@.policy p WHERE p.version = h.policy_version)
    UNION ALL
    SELECT format('handle %s is %s but has no owner', h.handle, h.state)
      FROM @extschema@.handles h
     WHERE h.state <> 'released'
       AND NOT EXISTS (SELECT FROM @extschema@.accounts a WHERE a.account_id = h.owner_id)
    UNION ALL
    -- A handle against its last event, one index probe each
    -- (handle_events_handle).  Every event records the account that owns the
    -- handle once the event is done, so the last one names the owner:
    -- registered (a registration, a re-registration after release, a
    -- restore; buy(), transfer_handle() and the sale that ends an auction or
    -- accepts an offer, src/market.c) records the new owner; at_risk and its
    -- reverts (the sweep, touch()) the owner; held and hold_released the
    -- owner, or for a released handle the account it was released from; and
    -- released (the sweep) that account.  So a registered or at-risk handle
    -- is owned by the account of its last event, and a released one by
    -- nobody, its previous owner being that account.  A handle without a
    -- history is reported once, by the state line.
    --
    -- History detach_history() archived (history_archive) is not there to
    -- compare with.  A handle with no event left is checked instead against
    -- where the archive ends: every time it keeps (registered_at,
    -- notice_at, released_at, held_at) is the time of one of its events, so
    -- all of them come before the archive's end, or an event after it is
    -- missing.  A handle that had an event archived after (by event_id) one
    -- that is left (history_archive.out_of_order: an event's time is its
    -- transaction's start, and a transaction that waited for the handle's
    -- row across the cut writes after one that started later) is not
    -- compared until it has an event newer than the archived ones.
    SELECT m.line
      FROM @extschema@.handles h
     CROSS JOIN (SELECT max(a.range_to) AS archived_before FROM @extschema@.history_archive a) arc
      LEFT JOIN (SELECT o.handle, max(a.last_event_id) AS archived_id
                   FROM @extschema@.history_archive a, unnest(a.out_of_order) o(handle)
                  GROUP BY o.handle) ooo ON ooo.handle = h.handle
      LEFT JOIN LATERAL (SELECT ev.event_id, ev.to_state, ev.account_id FROM @extschema@.handle_events ev
                          WHERE ev.handle = h.handle ORDER BY ev.event_id DESC LIMIT 1) last ON true
     CROSS JOIN LATERAL (SELECT coalesce(last.event_id < ooo.archived_id, false)
                                OR (last.event_id IS NULL
                                    AND coalesce(greatest(h.registered_at, h.notice_at, h.released_at, h.held_at)
                                                 < arc.archived_before, false)) AS unknown) k
     CROSS JOIN LATERAL (VALUES
           (CASE WHEN k.unknown THEN NULL
                 WHEN last.to_state IS DISTINCT FROM
                      CASE WHEN h.hold_reason IS NOT NULL THEN 'held' ELSE h.state END
                 THEN format('handle %s is %s, but its history ends in %s', h.handle,
                             CASE WHEN h.hold_reason IS NOT NULL THEN 'held' ELSE h.state END,
                             coalesce(last.to_state, 'nothing')) END),
           (CASE WHEN last.to_state IS NOT NULL AND NOT k.unknown
                  AND h.owner_id IS DISTINCT FROM
                      CASE WHEN h.state <> 'released' THEN last.account_id END
                 THEN format('handle %s is %s and owned by %s, but its last event (%s) records account %s',
                             h.handle, h.state, coalesce('account ' || h.owner_id, 'nobody'),
                             last.to_state, coalesce(last.account_id::text, 'none')) END),
           (CASE WHEN last.to_state IS NOT NULL AND NOT k.unknown AND h.state = 'released'
                  AND h.previous_owner_id IS DISTINCT FROM last.account_id
                 THEN format('handle %s was released from %s, but its last event (%s) records account %s',
                             h.handle, coalesce('account ' || h.previous_owner_id, 'nobody'),
                             last.to_state, coalesce(last.account_id::text, 'none')) END)
           ) m(line)
     WHERE m.line IS NOT NULL
    UNION ALL
    -- Each transfer that moves a handle (a purchase, a handle_transfer, the
    -- hold_post of an auction or an accepted offer) is recorded by exactly
    -- one event of that handle: the change of owner, to_state registered,
    -- whose reason ends in "(transfer N)" (src/market.c).  One pass over
    -- each table, hashed: a sale recorded twice, a sale not recorded, and an
    -- event naming a transfer that did not move its handle.  A transfer
    -- older than archived history may have had its event archived.
    SELECT CASE WHEN s.transfer_id IS NULL
                THEN format('transfer %s (%s) moved handle %s, but its history does not record it',
                            t.transfer_id, t.kind, t.handle)
                WHEN t.transfer_id IS NULL OR t.handle IS DISTINCT FROM s.handle
                THEN format('handle %s: its history records transfer %s, which moved %s', s.handle,
                            s.transfer_id, coalesce('handle ' || t.handle, 'no handle'))
                ELSE format('handle %s: transfer %s (%s) is recorded by %s events, not 1',
                            s.handle, s.transfer_id, t.kind, s.events) END
      FROM (SELECT substring(ev.reason FROM '\(transfer ([0-9]+)\)$')::bigint AS transfer_id,
                   ev.handle, count(*) AS events
              FROM @extschema@.handle_events ev
             WHERE ev.to_state = 'registered' AND ev.reason ~ '\(transfer [0-9]+\)$'
             GROUP BY 1, 2) s
      FULL JOIN (SELECT t.transfer_id, t.kind, t.handle, t.at FROM @extschema@.transfers t
                  WHERE t.kind IN ('purchase', 'handle_transfer', 'hold_post')) t
             ON t.transfer_id = s.transfer_id
     WHERE CASE WHEN s.transfer_id IS NULL
                THEN NOT coalesce(t.at < (SELECT max(a.range_to) FROM @extschema@.history_archive a), false)
                ELSE t.transfer_id IS NULL OR t.handle IS DISTINCT FROM s.handle OR s.events <> 1 END
    UNION ALL
    SELECT format('wallet %s of account %s holds %s cents, but its pending holds sum to %s',
                  l.ledger_account_id, l.account_id, l.held, coalesce(s.total, 0))
      FROM @extschema@.ledger_accounts l
      LEFT JOIN (SELECT ho.ledger_account_id, sum(ho.amount) AS total FROM @extschema@.holds ho
                  WHERE ho.state = 'pending' GROUP BY ho.ledger_account_id) s
             ON s.ledger_account_id = l.ledger_account_id
     WHERE l.kind = 'wallet' AND l.held IS DISTINCT FROM coalesce(s.total, 0)
    UNION ALL
    SELECT format('hold %s is %s, but its %s', ho.hold_id, ho.state,
                  coalesce('bid is ' || b.state, 'offer is ' || o.state, 'bid or offer is missing'))
      FROM @extschema@.holds ho
      LEFT JOIN @extschema@.bids b ON b.bid_id = ho.hold_id
      LEFT JOIN @extschema@.offers o ON o.offer_id = ho.hold_id
     WHERE (ho.state = 'pending') <> (coalesce(b.state = 'top', false) OR coalesce(o.state = 'open', false))
        OR (ho.state = 'posted') <> (coalesce(b.state = 'won', false) OR coalesce(o.state = 'accepted', false))
        OR (b.bid_id IS NULL AND o.offer_id IS NULL)
    UNION ALL
    SELECT format('auction %s has %s live top bids', a.auction_id,
                  (SELECT count(*) FROM @extschema@.bids b WHERE b.auction_id = a.auction_id AND b.state = 'top'))
      FROM @extschema@.auctions a
     WHERE (SELECT count(*) FROM @extschema@.bids b WHERE b.auction_id = a.auction_id AND b.state = 'top')
           <> CASE WHEN a.state = 'open' AND a.top_bid_id IS NOT NULL THEN 1 ELSE 0 END
        OR (a.state = 'open' AND a.top_bid_id IS NOT NULL AND NOT EXISTS (
               SELECT FROM @extschema@.bids b WHERE b.bid_id = a.top_bid_id AND b.state = 'top'))
    UNION ALL
    SELECT format('handle %s is in open auction %s and listed at %s cents', h.handle, a.auction_id,
                  h.list_price_cents)
      FROM @extschema@.auctions a JOIN @extschema@.handles h ON h.handle = a.handle
     WHERE a.state = 'open' AND h.list_price_cents IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@.check_invariants() IS
    'one line per violation of the ledger''s and the registry''s invariants; no rows when all hold';

-- out of the extension first, which takes them out of pg_dump's configuration
ALTER EXTENSION handle_market DROP TABLE @extschema@.handle_events_1_0;
ALTER EXTENSION handle_market DROP SEQUENCE @extschema@.handle_events_1_0_event_id_seq;
DROP TABLE @extschema@.handle_events_1_0;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.handle_events', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.handle_events_default', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.history_archive', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.handle_events_event_id_seq', '');

-- src/sql/81_history.sql: the partitions of handle_events (issue 12, bounded
-- growth; doc/history_partitions.md).  One partition per UTC month, made
-- ahead by create_history_partitions() from cron; old months leave by
-- detach_history(), which the DBA follows with pg_dump and DROP TABLE.
--
-- Our own procedure rather than pg_partman: a partition here is more than a
-- table (its own guard trigger, the parent's owner and privileges, a key and
-- an index of its own, rows of its month moved out of the default
-- partition), what may be detached is the lifecycle's decision, and the
-- operators' role runs both through the gate without another extension,
-- its schema, its configuration table or its background worker.

-- Every partition with its range (NULL for the default partition), whether
-- its guard trigger is there and enabled, and the planner's estimate of its
-- rows.  The bounds are read back from their text, so the function sets
-- the time zone and date style they are printed and read in.
CREATE FUNCTION @extschema@.history_partitions()
    RETURNS TABLE (partition text, range_from timestamptz, range_to timestamptz,
                   is_default boolean, guarded boolean, estimated_events bigint)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC'
    SET DateStyle = 'ISO'
BEGIN ATOMIC
    SELECT c.relname::text,
           substring(b.bound FROM 'FROM \(''([^'']*)''\)')::timestamptz,
           substring(b.bound FROM 'TO \(''([^'']*)''\)')::timestamptz,
           b.bound = 'DEFAULT',
           EXISTS (SELECT FROM pg_trigger t
                    WHERE t.tgrelid = c.oid AND t.tgname = 'guard' AND t.tgenabled <> 'D'
                      AND t.tgfoid = '@extschema@.guard()'::regprocedure),
           greatest(c.reltuples, 0)::bigint
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
     CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b
     WHERE i.inhparent = '@extschema@.handle_events'::regclass
     ORDER BY b.bound = 'DEFAULT', 2;
END;
COMMENT ON FUNCTION @extschema@.history_partitions() IS
    'the partitions of handle_events: each one''s range of event times (none for the default partition), whether its guard is on, and its estimated rows';

-- A partition as the parent is: the parent's owner, exactly the parent's
-- privileges (no role reads or writes a partition that it could not read
-- or write through the parent), the append-only guard, and the key and
-- index every partition has.  Run for each partition made, and for every
-- partition by each maintenance run, so that one attached by hand is made
-- the same.
CREATE FUNCTION @extschema@._history_partition_setup(p_partition regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_parent pg_class := (SELECT c FROM pg_class c WHERE c.oid = '@extschema@.handle_events'::regclass);
    v_rel pg_class := (SELECT c FROM pg_class c WHERE c.oid = p_partition);
    a record;
BEGIN
    IF v_rel.relowner <> v_parent.relowner THEN
        EXECUTE format('ALTER TABLE %s OWNER TO %s', p_partition, v_parent.relowner::regrole);
    END IF;
    IF v_rel.relacl IS NULL
       OR (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(v_rel.relacl) x)
          IS DISTINCT FROM (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(v_parent.relacl) x) THEN
        -- materializes the owner's own entry, as the parent's is
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', p_partition);
        FOR a IN SELECT DISTINCT x.grantee FROM aclexplode(v_rel.relacl) x
                  WHERE x.grantee NOT IN (0, v_parent.relowner) LOOP
            EXECUTE format('REVOKE ALL ON %s FROM %s', p_partition, a.grantee::regrole);
        END LOOP;
        FOR a IN SELECT x.grantee, x.privilege_type, x.is_grantable FROM aclexplode(v_parent.relacl) x
                  WHERE x.grantee <> v_parent.relowner LOOP
            EXECUTE format('GRANT %s ON %s TO %s%s', a.privilege_type, p_partition,
                           CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,
                           CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = p_partition AND t.tgname = 'guard') THEN
        EXECUTE format('CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard(''append_only'')', p_partition);
    ELSIF EXISTS (SELECT FROM pg_trigger t
                   WHERE t.tgrelid = p_partition AND t.tgname = 'guard' AND t.tgenabled = 'D') THEN
        EXECUTE format('ALTER TABLE %s ENABLE TRIGGER guard', p_partition);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = p_partition AND i.indisprimary) THEN
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (event_id, at)',
                       p_partition, v_rel.relname || '_pkey');
    END IF;
    IF NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = p_partition
                      AND pg_get_indexdef(i.indexrelid) LIKE '% (handle, event_id)') THEN
        EXECUTE format('CREATE INDEX %I ON %s (handle, event_id)', v_rel.relname || '_handle', p_partition);
    END IF;
END $$;

-- One step of the maintenance: makes the partition of the first month that
-- needs one and has none, and returns it; no row when every month has one.
-- The months that need one: as_of's and the months_ahead after it, and
-- every month the default partition holds events of, but none before
-- archived history ends (its months were detached on purpose; an event of
-- one stays in the default partition).  The default partition's events of
-- the month move into the new partition in the same transaction: a
-- partition cannot be attached while the default one holds rows of its
-- range, and history is moved, not copied, so that each event is in one
-- place.  The guard refuses that DELETE even through the gate (history is
-- append-only), so the default partition's guard is off for it: within this
-- transaction, on a table it has locked, so no other session sees it off.
-- The step with nothing to make goes over every partition instead
-- (_history_partition_setup), so a daily run also mends one attached by
-- hand; it blocks no write.  A step that makes a month blocks the writes
-- of history until it commits (a moment, or the move of the month's events
-- out of the default partition).  At most 3 seconds' wait for a lock: a
-- cron job that finds the table busy fails (55P03) and runs again the next
-- day, months ahead, rather than queueing every write behind its lock.
CREATE FUNCTION @extschema@._create_history_partition(p_months_ahead integer, p_as_of timestamptz)
    RETURNS TABLE (partition text, range_from timestamptz, range_to timestamptz, moved_events bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
    SET TimeZone = 'UTC'
    SET lock_timeout = '3s'
AS $$
DECLARE
    v_month timestamptz;
    v_next timestamptz;
    v_name text;
    v_moved bigint := 0;
    v_horizon timestamptz;
    p record;
BEGIN
    IF p_months_ahead IS NULL OR p_months_ahead < 0 OR p_months_ahead > 120 THEN
        RAISE EXCEPTION 'months_ahead must be between 0 and 120'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It was %s.', coalesce(p_months_ahead::text, 'NULL'));
    END IF;
    -- one maintenance step or detach at a time; reads and writes go on
    LOCK TABLE ONLY handle_events IN SHARE UPDATE EXCLUSIVE MODE;
    SELECT max(a.range_to) INTO v_horizon FROM history_archive a;
    SELECT w.m INTO v_month
      FROM (SELECT generate_series(date_trunc('month', p_as_of),
                                   date_trunc('month', p_as_of) + make_interval(months => p_months_ahead),
                                   interval '1 month') AS m
            UNION
            SELECT DISTINCT date_trunc('month', e.at) FROM ONLY handle_events_default e) w
     WHERE w.m >= coalesce(v_horizon, '-infinity')
       AND NOT EXISTS (SELECT FROM history_partitions() b
                        WHERE NOT b.is_default AND b.range_from < w.m + interval '1 month'
                          AND b.range_to > w.m)
     ORDER BY w.m LIMIT 1;
    IF v_month IS NULL THEN
        FOR p IN SELECT b.partition FROM history_partitions() b LOOP
            PERFORM _history_partition_setup(format('@extschema@.%I', p.partition)::regclass);
        END LOOP;
        RETURN;
    END IF;
    -- No event is written while the month is made: a writer that routed
    -- an event of the month to the default partition before the new
    -- partition was attached would find, once attached, that the default
    -- partition no longer takes it (23514).  Writers take their lock on
    -- the parent before they route, so they wait here and then see the new
    -- partition; readers go on.
    LOCK TABLE ONLY handle_events IN SHARE ROW EXCLUSIVE MODE;
    v_next := v_month + interval '1 month';
    v_name := 'handle_events_p' || to_char(v_month, 'YYYY_MM');
    EXECUTE format('CREATE TABLE @extschema@.%I (LIKE @extschema@.handle_events INCLUDING DEFAULTS)', v_name);
    IF EXISTS (SELECT FROM ONLY handle_events_default e WHERE e.at >= v_month AND e.at < v_next) THEN
        ALTER TABLE handle_events_default DISABLE TRIGGER guard;
        EXECUTE format('WITH moved AS (DELETE FROM ONLY @extschema@.handle_events_default e
                                        WHERE e.at >= $1 AND e.at < $2 RETURNING e.*)
                        INSERT INTO @extschema@.%I (event_id, handle, from_state, to_state, at,
                                                    account_id, actor, reason)
                        SELECT event_id, handle, from_state, to_state, at, account_id, actor, reason
                          FROM moved', v_name)
            USING v_month, v_next;
        GET DIAGNOSTICS v_moved = ROW_COUNT;
        ALTER TABLE handle_events_default ENABLE TRIGGER guard;
    END IF;
    PERFORM _history_partition_setup(format('@extschema@.%I', v_name)::regclass);
    EXECUTE format('ALTER TABLE @extschema@.handle_events ATTACH PARTITION @extschema@.%I '
                   'FOR VALUES FROM (%L) TO (%L)', v_name, v_month, v_next);
    RETURN QUERY SELECT v_name, v_month, v_next, v_moved;
END $$;

CREATE FUNCTION @extschema@.create_history_partition(months_ahead integer,
                                                     as_of timestamptz DEFAULT now())
    RETURNS TABLE (partition text, range_from timestamptz, range_to timestamptz, moved_events bigint)
    AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.create_history_partition(integer, timestamptz) IS
    'one step of create_history_partitions(): makes the first missing monthly partition of handle_events and returns it, or no row';

-- The maintenance, for cron: every step in a transaction of its own, so a
-- month whose events move out of the default partition holds its locks
-- only for that month.  Idempotent: with every month made it changes
-- nothing.  Like release_dormant(), invoker's rights and no SET clause (it
-- commits), and each step at its own transaction's time unless time is
-- simulated.
CREATE PROCEDURE @extschema@.create_history_partitions(months_ahead integer DEFAULT 3,
                                                       as_of timestamptz DEFAULT now())
    LANGUAGE plpgsql
AS $$
DECLARE
    r record;
    v_made integer := 0;
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RAISE NOTICE 'create_history_partitions: this server is a replica; nothing to do';
        RETURN;
    END IF;
    -- refuses a time that is not the server's before any step
    PERFORM @extschema@._write_time(as_of, 'as_of');
    LOOP
        SELECT * INTO r FROM @extschema@.create_history_partition(months_ahead,
            CASE WHEN pg_catalog.current_setting('handle_market.simulated_time')::boolean
                 THEN as_of ELSE pg_catalog.now() END);
        COMMIT;
        EXIT WHEN r.partition IS NULL;
        v_made := v_made + 1;
        RAISE NOTICE '%', pg_catalog.format(
            'create_history_partitions: %s for events from %s to %s UTC (%s moved from the default partition)',
            r.partition, pg_catalog.to_char(r.range_from AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
            pg_catalog.to_char(r.range_to AT TIME ZONE 'UTC', 'YYYY-MM-DD'), r.moved_events);
    END LOOP;
    RAISE NOTICE 'create_history_partitions: % partitions made', v_made;
END $$;
COMMENT ON PROCEDURE @extschema@.create_history_partitions(integer, timestamptz) IS
    'the daily maintenance of handle_events: a partition for this month and months_ahead more, and for every month the default partition holds events of';

-- Detaches every partition that ends by older_than and returns them, for
-- the DBA to dump and drop; each is recorded in history_archive, which
-- check_invariants() reads.  Refused (HM019) when older_than is within the
-- longest redemption period of any policy version before as_of: while a
-- handle's redemption runs, restore_handle() reads its history (its last
-- event, to answer a retry of a restore as the restore answered), and so
-- does release_hold() for a retry; a handle in redemption was released at
-- or after that time, and its last event is no older than its release.
-- The default partition is never detached: an event in it older than
-- older_than stays, and a notice says how many.
CREATE FUNCTION @extschema@._detach_history(p_older_than timestamptz, p_as_of timestamptz)
    RETURNS TABLE (partition text, range_from timestamptz, range_to timestamptz, events bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
    SET TimeZone = 'UTC'
    SET lock_timeout = '3s'
AS $$
DECLARE
    v_redemption interval;
    v_keep_from timestamptz;
    v_first bigint;
    v_last bigint;
    v_left bigint;
    v_min_left bigint;
    v_out_of_order handle[];
    v_names text[];
    v_froms timestamptz[];
    v_tos timestamptz[];
BEGIN
    IF p_older_than IS NULL THEN
        RAISE EXCEPTION 'older_than must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM _read_time(p_older_than, 'older_than');
    SELECT max(po.redemption_period) INTO v_redemption FROM policy po;
    v_keep_from := p_as_of - v_redemption;
    IF p_older_than > v_keep_from THEN
        RAISE EXCEPTION 'the history after % is still needed', utc_time(v_keep_from)
            USING ERRCODE = 'HM019',
                  DETAIL = format('older_than is %s. While a handle''s redemption period runs, restore_handle() '
                                  'reads its last event, so the history of the longest redemption period of any '
                                  'policy version (%s) stays: only partitions that end by %s may be detached.',
                                  utc_time(p_older_than), v_redemption, utc_time(v_keep_from)),
                  HINT = 'Detach the older months now and this one when it is old enough.';
    END IF;
    LOCK TABLE ONLY handle_events IN SHARE UPDATE EXCLUSIVE MODE;
    SELECT coalesce(array_agg(b.partition ORDER BY b.range_to), '{}'),
           coalesce(array_agg(b.range_from ORDER BY b.range_to), '{}'),
           coalesce(array_agg(b.range_to ORDER BY b.range_to), '{}')
      INTO v_names, v_froms, v_tos
      FROM history_partitions() b WHERE NOT b.is_default AND b.range_to <= p_older_than;
    FOR i IN 1 .. cardinality(v_names) LOOP
        EXECUTE format('ALTER TABLE @extschema@.handle_events DETACH PARTITION @extschema@.%I', v_names[i]);
    END LOOP;
    -- the events left: a detached event newer than the oldest of them may
    -- belong to a handle with an older one left (out_of_order)
    SELECT min(e.event_id) INTO v_min_left FROM handle_events e;
    FOR i IN 1 .. cardinality(v_names) LOOP
        partition := v_names[i];
        range_from := v_froms[i];
        range_to := v_tos[i];
        EXECUTE format('SELECT count(*), min(event_id), max(event_id) FROM ONLY @extschema@.%I', partition)
           INTO events, v_first, v_last;
        EXECUTE format('SELECT coalesce(array_agg(DISTINCT d.handle ORDER BY d.handle), ''{}'')
                          FROM ONLY @extschema@.%I d
                         WHERE d.event_id > $1
                           AND EXISTS (SELECT FROM @extschema@.handle_events k
                                        WHERE k.handle = d.handle AND k.event_id < d.event_id)', partition)
           INTO v_out_of_order USING v_min_left;
        INSERT INTO history_archive (partition, range_from, range_to, events, first_event_id,
                                     last_event_id, out_of_order, detached_at)
        VALUES (partition, range_from, range_to, events, v_first, v_last, v_out_of_order, p_as_of);
        RETURN NEXT;
    END LOOP;
    SELECT count(*) INTO v_left FROM ONLY handle_events_default e WHERE e.at < p_older_than;
    IF v_left > 0 THEN
        RAISE NOTICE 'detach_history: % events older than % stay in the default partition',
            v_left, utc_time(p_older_than);
    END IF;
END $$;

CREATE FUNCTION @extschema@.detach_history(older_than timestamptz, as_of timestamptz DEFAULT now())
    RETURNS TABLE (partition text, range_from timestamptz, range_to timestamptz, events bigint)
    AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.detach_history(timestamptz, timestamptz) IS
    'detaches the monthly partitions of handle_events that end by older_than and returns them, for the DBA to dump and drop; refused (HM019) within the longest redemption period';

-- what 90_privileges.sql's REVOKEs do at install
REVOKE ALL ON @extschema@.handle_events, @extschema@.handle_events_default,
    @extschema@.history_archive FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.handle_events_event_id_seq FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.history_partitions(),
    @extschema@._history_partition_setup(regclass),
    @extschema@._create_history_partition(integer, timestamptz),
    @extschema@.create_history_partition(integer, timestamptz),
    @extschema@._detach_history(timestamptz, timestamptz),
    @extschema@.detach_history(timestamptz, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE @extschema@.create_history_partitions(integer, timestamptz) FROM PUBLIC;

-- status() reports the partitions (src/sql/85_status.sql)
-- (status() is created once, at the end of this script)

INSERT INTO @extschema@.api_grants (routine, level) VALUES
    ('history_partitions()', 'admin'),
    ('create_history_partition(integer, timestamptz)', 'admin'),
    ('detach_history(timestamptz, timestamptz)', 'admin');
INSERT INTO @extschema@.api_grants (routine, is_procedure, level) VALUES
    ('create_history_partitions(integer, timestamptz)', true, 'admin');
-- ---- end of issue 12, bounded growth ----

-- status() (src/sql/85_status.sql), last: its body is bound to the tables
-- the parts above create
CREATE FUNCTION @extschema@.status(with_invariants boolean DEFAULT false)
    RETURNS TABLE (metric text, labels text, value numeric)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    -- the registry: handles by stored state, and those under a hold
    SELECT 'handles', 'state=' || h.state, count(*)::numeric
      FROM @extschema@.handles h GROUP BY h.state
    UNION ALL
    SELECT 'handles', 'state=held', count(*)::numeric
      FROM @extschema@.handles h WHERE h.hold_reason IS NOT NULL
    UNION ALL
    -- the last release run (dry or not): how far it got and how fast
    SELECT 'release_run_' || m.k, 'run_id=' || r.run_id || ',status=' || r.status || ',dry_run=' || r.dry_run, m.v
      FROM (SELECT * FROM @extschema@.release_runs ORDER BY run_id DESC LIMIT 1) r,
           LATERAL (VALUES
               ('batches', r.batches::numeric),
               ('examined', r.examined::numeric),
               ('noticed', r.noticed::numeric),
               ('released', r.released::numeric),
               ('seconds', round(extract(epoch FROM coalesce(r.finished_at, clock_timestamp()) - r.started_at), 3)),
               ('examined_per_second',
                round(r.examined / greatest(extract(epoch FROM coalesce(r.finished_at, clock_timestamp()) - r.started_at), 0.001), 1)),
               -- a running run's handles still ahead of it, at its rate so far
               ('seconds_left', CASE WHEN r.status = 'running' AND r.examined > 0 THEN
                    round((SELECT count(*) FROM @extschema@.handles h
                            WHERE r.last_handle IS NULL OR h.handle OPERATOR(@extschema@.>) r.last_handle)
                          * extract(epoch FROM clock_timestamp() - r.started_at) / r.examined, 1) END)
           ) m(k, v)
    UNION ALL
    -- the last re-key run (rekey()): its progress, and the handles it left
    -- with their old key because another handle has their new one
    SELECT 'rekey_run_' || m.k, 'run_id=' || r.run_id || ',status=' || r.status, m.v
      FROM (SELECT * FROM @extschema@.rekey_runs ORDER BY run_id DESC LIMIT 1) r,
           LATERAL (VALUES
               ('batches', r.batches::numeric),
               ('examined', r.examined::numeric),
               ('rekeyed', r.rekeyed::numeric),
               ('collisions', r.collisions::numeric)
           ) m(k, v)
    UNION ALL
    -- 1 while the stored keys were computed with another ICU than the server runs
    SELECT 'unicode_versions_stale',
           'recorded=' || u.icu_version || ',running=' || @extschema@.running_icu_version(),
           CASE WHEN u.icu_version = @extschema@.running_icu_version()
                 AND u.unicode_version = @extschema@.running_unicode_version() THEN 0 ELSE 1 END::numeric
      FROM @extschema@.unicode_versions u
    UNION ALL
    -- settlement: auctions that have ended and wait for settle_auctions()
    SELECT 'auctions', 'state=' || a.state, count(*)::numeric
      FROM @extschema@.auctions a GROUP BY a.state
    UNION ALL
    SELECT 'auctions_ended_unsettled', '', count(*)::numeric
      FROM @extschema@.auctions a WHERE a.state = 'open' AND a.ends_at <= now()
    UNION ALL
    SELECT 'offers_expired_open', '', count(*)::numeric
      FROM @extschema@.offers o WHERE o.state = 'open' AND o.expires_at <= now()
    UNION ALL
    -- escrow: money set aside by open bids and offers
    SELECT 'holds_pending', '', count(*)::numeric
      FROM @extschema@.holds WHERE state = 'pending'
    UNION ALL
    SELECT 'holds_pending_cents', '', coalesce(sum(amount), 0)::numeric
      FROM @extschema@.holds WHERE state = 'pending'
    UNION ALL
    -- the outbox: the newest message, for lag against a consumer's cursor
    SELECT 'outbox_last_message_id', '', coalesce(max(message_id), 0)::numeric
      FROM @extschema@.outbox
    UNION ALL
    -- each consumer: the messages after its cursor, those of them an older
    -- open transaction holds back, and how old the oldest is (0 when none):
    -- a consumer that falls behind, or a transaction left open, shows here
    SELECT 'outbox_consumer_' || m.k, 'consumer=' || c.consumer, m.v
      FROM @extschema@.outbox_consumers() c,
           LATERAL (VALUES
               ('lag', c.lag::numeric),
               ('held_back', c.held_back::numeric),
               ('lag_seconds', coalesce(round(extract(epoch FROM now() - c.oldest_unacked_at), 3), 0))
           ) m(k, v)
    UNION ALL
    SELECT 'outbox_retention_seconds', '', round(extract(epoch FROM @extschema@.outbox_retention()))
    UNION ALL
    -- history (81_history.sql): how many monthly partitions handle_events
    -- has, how far past now the newest reaches (a cron job that stopped
    -- shows here months before a write lands in the default partition),
    -- how old the oldest is, the events in the default partition (0 once
    -- the maintenance has run), partitions without their guard (0), and the
    -- partitions detached
    SELECT 'history_' || m.k, '', m.v
      FROM (SELECT count(*) FILTER (WHERE NOT b.is_default) AS n,
                   max(b.range_to) FILTER (WHERE NOT b.is_default) AS newest_to,
                   min(b.range_from) FILTER (WHERE NOT b.is_default) AS oldest_from,
                   count(*) FILTER (WHERE NOT b.guarded) AS unguarded
              FROM @extschema@.history_partitions() b) p,
           LATERAL (VALUES
               ('partitions', p.n::numeric),
               ('partitions_ahead_seconds',
                greatest(coalesce(round(extract(epoch FROM p.newest_to - now())), 0), 0)),
               ('oldest_partition_age_seconds',
                greatest(coalesce(round(extract(epoch FROM now() - p.oldest_from)), 0), 0)),
               ('partitions_unguarded', p.unguarded::numeric),
               ('default_partition_events',
                (SELECT count(*) FROM @extschema@.handle_events_default)::numeric),
               ('archived_partitions', (SELECT count(*) FROM @extschema@.history_archive)::numeric)
           ) m(k, v)
    UNION ALL
    -- a full check reads every table: off by default
    SELECT 'invariant_violations', '', count(*)::numeric
      FROM @extschema@.check_invariants() WHERE with_invariants;
END;
REVOKE EXECUTE ON FUNCTION @extschema@.status(boolean) FROM PUBLIC;      -- grant_admin() grants it
COMMENT ON FUNCTION @extschema@.status(boolean) IS
    'for operators and monitoring: handles by state, the last release run''s progress and rate, the last re-key run''s progress and collisions, whether the stored keys'' ICU is the server''s, auctions and offers waiting for settlement, pending holds, the outbox''s last message, each outbox consumer''s lag in messages and seconds and the messages of it an open older transaction holds back, the outbox''s retention, the partitions of handle_events (how many, how far ahead and back, events in the default partition, unguarded, archived), and (with_invariants) the count of invariant violations';

-- ---- errors with a detail (issue 12): each of these refusals says what was wrong ----
-- (src/sql/70_accounts.sql, 71_handles.sql, 78b_auctions.sql, 78c_offers.sql; the
-- NULL-argument and already-the-owner refusals are C, src/refuse.c)
CREATE OR REPLACE FUNCTION @extschema@._upsert_account(p_account_id bigint, p_subscription text,
                                            p_verified boolean, p_active_at timestamptz)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    PERFORM _require_args('upsert_account', p_account_id IS NULL, p_subscription IS NULL,
                          p_verified IS NULL, p_active_at IS NULL);
    IF p_subscription NOT IN ('none', 'basic', 'premium', 'premium_plus') THEN
        RAISE EXCEPTION 'unknown subscription "%"', p_subscription
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Subscriptions are none, basic, premium and premium_plus.';
    END IF;
    -- the exemption may change: a release batch deciding now must finish first
    PERFORM activity_lock_shared();
    INSERT INTO accounts AS a (account_id, subscription, verified, last_active_at)
    VALUES (p_account_id, p_subscription, p_verified, p_active_at)
    ON CONFLICT (account_id) DO UPDATE
       SET subscription = excluded.subscription, verified = excluded.verified
     WHERE (a.subscription, a.verified) IS DISTINCT FROM (excluded.subscription, excluded.verified);
END $$;

CREATE OR REPLACE FUNCTION @extschema@._register_handle(p_account_id bigint, p_candidate text,
                                             p_as_of timestamptz)
    RETURNS @extschema@.handle
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_policy policy := policy_at(p_as_of);
    v_reason text;
    v_handle handle;
    v_key text;
    v_display text;
    v_row handles;
    v_exists boolean;
    v_res reserved;
    v_other handle;
    v_phase record;
    v_premium record;       -- a premium_handles row (created after this file)
    v_price bigint;
BEGIN
    PERFORM activity_lock_shared();         -- before any row: activity_lock.c
    PERFORM _require_account(p_account_id, 'update');
    v_reason := check_handle(p_candidate, v_policy.profile);
    IF v_reason IS NOT NULL THEN
        RAISE EXCEPTION 'handle "%" does not meet the % profile', p_candidate, v_policy.profile
            USING ERRCODE = 'HM004', DETAIL = v_reason,
                  HINT = 'check_handle() says what is wrong before a registration is tried.';
    END IF;
    v_handle := p_candidate::handle;
    v_key := confusable_key(v_handle);
    v_display := CASE WHEN left(p_candidate, 1) = '@' THEN substr(p_candidate, 2) ELSE p_candidate END;

    -- The row first, locked, and then the decision: a retry of a
    -- registration that committed (its answer lost) finds the handle
    -- registered to the same account and gets the same answer, with nothing
    -- written again.  This comes before the reservation check, which a
    -- reservation added since the registration would fail: it refuses new
    -- registrations, not the one already made.  A hold still refuses (below):
    -- the handle's state is no longer what the registration left.  Two
    -- identical calls at once queue on the account's lock (_require_account
    -- above), so the second reads the first's row here.
    SELECT * INTO v_row FROM handles WHERE handle = v_handle FOR UPDATE;
    v_exists := FOUND;
    IF v_exists AND v_row.state = 'registered' AND v_row.owner_id = p_account_id
       AND v_row.hold_reason IS NULL THEN
        RETURN v_handle;
    END IF;

    v_res := reservation_for(v_key);
    IF v_res.pattern IS NOT NULL THEN
        RAISE EXCEPTION 'handle "%" is reserved', v_handle
            USING ERRCODE = 'HM003',
                  DETAIL = format('reserved (%s): %s "%s"', v_res.reason,
                                  CASE v_res.kind WHEN 'substring' THEN 'contains' ELSE 'looks like' END,
                                  v_res.pattern);
    END IF;

    IF v_exists THEN
        PERFORM _refuse_held(v_handle, v_row.hold_reason);
        IF v_row.state <> 'released' THEN
            RAISE EXCEPTION 'handle "%" is taken', v_handle
                USING ERRCODE = 'HM001',
                      DETAIL = format('It is %s; only a released handle may be registered again.', v_row.state),
                      HINT = 'lookup() explains a handle''s state.';
        END IF;
        v_phase := handle_phase(v_row, p_as_of);
        IF v_phase.phase NOT IN ('premium', 'available') THEN
            RAISE EXCEPTION 'handle "%" cannot be registered in its % phase', v_handle, v_phase.phase
                USING ERRCODE = 'HM008',
                      DETAIL = format('The %s phase ends at %s.', v_phase.phase, utc_time(v_phase.ends_at));
        END IF;
        -- the platform sells a released handle once its quarantine is over;
        -- it is free only at a price of 0 (a tier of 0) or with no price at
        -- all (shorter than every tier)
        v_price := price(v_handle::text, p_as_of);
        IF v_price > 0 THEN
            RAISE EXCEPTION 'handle "%" is not free to register', v_handle
                USING ERRCODE = 'HM014',
                      DETAIL = format('released handle "%s" in its %s phase: %s; the platform sells it',
                                      v_handle, v_phase.phase, dollars(v_price)),
                      HINT = 'quote() explains the price.';
        END IF;
        PERFORM _mark_active(p_account_id, p_as_of);
        UPDATE handles
           SET display = v_display, owner_id = p_account_id, state = 'registered',
               registered_at = p_as_of, notice_at = NULL, released_at = NULL,
               policy_version = v_policy.version
         WHERE handle = v_handle;
        PERFORM _record(v_handle, v_phase.phase, 'registered', p_as_of, p_account_id,
                        'registered after release', 'registered', 'registered');
        RETURN v_handle;
    END IF;

    SELECT handle INTO v_other FROM handles WHERE key = v_key;
    IF FOUND THEN
        RAISE EXCEPTION 'handle "%" is confusable with "%"', v_handle, v_other
            USING ERRCODE = 'HM002',
                  DETAIL = format('"%s" and "%s" share the confusable key "%s".', v_handle, v_other, v_key);
    END IF;

    -- the premium list, matched on the key: neither a premium handle nor a
    -- look-alike of one is free
    SELECT * INTO v_premium FROM premium_handles WHERE key = v_key;
    IF FOUND THEN
        v_price := coalesce(v_premium.price_cents, (pricing_at(p_as_of)).priority_price_cents);
        RAISE EXCEPTION USING ERRCODE = 'HM014',
              MESSAGE = CASE WHEN v_premium.handle = v_handle
                             THEN format('handle "%s" is not free to register', v_handle)
                             ELSE format('handle "%s" is confusable with %s handle "%s"', v_handle,
                                         v_premium.category, v_premium.handle) END,
              DETAIL = format('%s handle "%s": %s; the platform sells it', v_premium.category,
                              v_premium.handle, dollars(v_price)),
              HINT = 'quote() explains the price.';
    END IF;

    BEGIN
        INSERT INTO handles (handle, display, owner_id, state, registered_at, policy_version)
        VALUES (v_handle, v_display, p_account_id, 'registered', p_as_of, v_policy.version);
    EXCEPTION WHEN unique_violation THEN
        -- a concurrent registration won: say which rule it broke
        IF EXISTS (SELECT FROM handles WHERE handle = v_handle) THEN
            RAISE EXCEPTION 'handle "%" is taken', v_handle
                USING ERRCODE = 'HM001', DETAIL = 'Another registration of it committed first.';
        END IF;
        SELECT handle INTO v_other FROM handles WHERE key = v_key;
        RAISE EXCEPTION 'handle "%" is confusable with "%"', v_handle, v_other
            USING ERRCODE = 'HM002',
                  DETAIL = format('"%s" and "%s" share the confusable key "%s".', v_handle, v_other, v_key);
    END;
    PERFORM _mark_active(p_account_id, p_as_of);
    PERFORM _record(v_handle, NULL, 'registered', p_as_of, p_account_id, 'registered',
                    'registered', 'registered');
    RETURN v_handle;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._release_hold(p_candidate text, p_at timestamptz)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_handle handle := _canonical(p_candidate);
    v_row handles;
    v_paused interval;
BEGIN
    SELECT * INTO v_row FROM handles WHERE handle = v_handle FOR UPDATE;
    -- a retry of a release that committed: the handle's last event is that
    -- release (from_state held), so nothing is written again.  A handle
    -- that was never held, or has moved since its hold was released, is
    -- refused as before.  The row lock above orders two identical calls.
    IF FOUND AND v_row.hold_reason IS NULL
       AND (SELECT e.from_state FROM handle_events e WHERE e.handle = v_handle
             ORDER BY e.event_id DESC LIMIT 1) = 'held' THEN
        RETURN;
    END IF;
    IF NOT FOUND OR v_row.hold_reason IS NULL THEN
        RAISE EXCEPTION 'handle "%" is not under hold', v_handle
            USING ERRCODE = 'HM008', DETAIL = 'It has no legal hold to release.';
    END IF;
    v_paused := greatest(p_at - v_row.held_at, interval '0');
    UPDATE handles
       SET hold_reason = NULL, held_at = NULL,
           notice_at = notice_at + v_paused, released_at = released_at + v_paused
     WHERE handle = v_handle;
    PERFORM _record(v_handle, 'held', v_row.state, p_at, coalesce(v_row.owner_id, v_row.previous_owner_id),
                    format('hold released after %s', v_paused), 'hold_released',
                    format('@%s is no longer under hold', v_handle));
END $$;

CREATE OR REPLACE FUNCTION @extschema@._bid(p_candidate text, p_bidder_id bigint, p_amount bigint,
                                 p_key text, p_as_of timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_handle handle := _canonical(p_candidate);
    v_request text := format('bid(candidate => %L, bidder_id => %s, amount_cents => %s)',
                             p_candidate, p_bidder_id, p_amount);
    a auctions;
    v_min bigint;
    v_hold bigint;
    v_created boolean;
    v_ends timestamptz;
    v_raise boolean;
    v_hold_reason text;
BEGIN
    PERFORM _require_args('bid', p_candidate IS NULL, p_bidder_id IS NULL, p_amount IS NULL,
                          p_key IS NULL, p_as_of IS NULL);
    PERFORM _mark_active(p_bidder_id, p_as_of);     -- first: it takes the activity lock
    PERFORM _require_account(p_bidder_id);
    SELECT * INTO a FROM auctions WHERE handle = v_handle AND state = 'open' FOR UPDATE;
    v_hold := _replayed(p_bidder_id, p_key, 'hold', v_request);
    IF v_hold IS NOT NULL THEN
        RETURN v_hold;
    END IF;
    IF a.auction_id IS NULL THEN
        -- the bidder may have seen an auction that has just closed
        SELECT * INTO a FROM auctions WHERE handle = v_handle ORDER BY auction_id DESC LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'the auction of handle "%" is over', v_handle
                USING ERRCODE = 'HM008',
                      DETAIL = format('Auction %s closed at %s: %s.', a.auction_id, utc_time(a.closed_at), a.outcome);
        END IF;
        RAISE EXCEPTION 'handle "%" is not being auctioned', v_handle
            USING ERRCODE = 'HM008', DETAIL = 'No auction of it is open.';
    END IF;
    IF p_as_of >= a.ends_at THEN
        RAISE EXCEPTION 'the auction of handle "%" has ended', v_handle
            USING ERRCODE = 'HM008', DETAIL = format('It ended at %s.', a.ends_at);
    END IF;
    IF a.seller_id = p_bidder_id THEN
        RAISE EXCEPTION 'account % cannot bid on its own handle "%"', p_bidder_id, v_handle
            USING ERRCODE = 'HM008';
    END IF;
    -- a held handle does not move: no money is taken for it
    SELECT hold_reason INTO v_hold_reason FROM handles WHERE handle = v_handle;
    PERFORM _refuse_held(v_handle, v_hold_reason);
    v_min := minimum_bid(a.top_cents, a.reserve_cents);
    IF p_amount IS NULL OR p_amount < v_min THEN
        RAISE EXCEPTION 'bid too low for handle "%"', v_handle
            USING ERRCODE = 'HM012',
                  DETAIL = format('The minimum bid is %s (%s); the bid was %s.', dollars(v_min),
                                  CASE WHEN a.top_cents IS NULL THEN 'the reserve'
                                       ELSE format('the top bid %s plus the larger of $1.00 and 5%%',
                                                   dollars(a.top_cents)) END,
                                  dollars(p_amount));
    END IF;
    -- both wallets this bid writes, in id order, before either is written
    PERFORM 1 FROM ledger_accounts
     WHERE account_id IN (p_bidder_id, a.top_bidder_id)
     ORDER BY ledger_account_id FOR NO KEY UPDATE;
    -- The top bid is voided first, so that a top bidder raising its own bid
    -- needs only the new amount.
    v_raise := a.top_bidder_id = p_bidder_id;
    IF a.top_bid_id IS NOT NULL THEN
        PERFORM _hold_void(a.top_bid_id, p_as_of);
        UPDATE bids SET state = 'outbid' WHERE bid_id = a.top_bid_id;
        IF NOT v_raise THEN
            INSERT INTO outbox (kind, account_id, handle, at, detail)
            VALUES ('outbid', a.top_bidder_id, v_handle, p_as_of,
                    format('You were outbid on @%s at %s; your %s is available again.',
                           v_handle, dollars(p_amount), dollars(a.top_cents)));
        END IF;
    END IF;
    SELECT o.hold_id, o.created INTO v_hold, v_created
      FROM _hold_open(p_bidder_id, p_amount, p_key, v_request, v_handle::text, p_as_of) o;
    INSERT INTO bids (bid_id, auction_id, bidder_id, amount_cents, at, state)
    VALUES (v_hold, a.auction_id, p_bidder_id, p_amount, p_as_of, 'top');
    -- a bid in the last hour keeps the auction open an hour after it
    v_ends := greatest(a.ends_at, p_as_of + interval '1 hour');
    UPDATE auctions SET top_bid_id = v_hold, top_cents = p_amount, top_bidder_id = p_bidder_id,
                        bid_count = bid_count + 1, ends_at = v_ends
     WHERE auction_id = a.auction_id;
    RETURN v_hold;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._cancel_auction(p_candidate text, p_seller_id bigint,
                                            p_as_of timestamptz, p_key text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_handle handle := _canonical(p_candidate);
    a auctions;
BEGIN
    IF p_seller_id IS NOT NULL AND (_claim_request(p_seller_id, p_key,
            format('cancel_auction(candidate => %L, seller_id => %s)', p_candidate, p_seller_id),
            p_as_of)).replayed THEN
        RETURN;
    END IF;
    SELECT * INTO a FROM auctions WHERE handle = v_handle AND state = 'open' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'handle "%" is not being auctioned', v_handle
            USING ERRCODE = 'HM008', DETAIL = 'No auction of it is open.';
    END IF;
    IF a.seller_id IS NULL THEN
        RAISE EXCEPTION 'the auction of handle "%" is the platform''s', v_handle
            USING ERRCODE = 'HM008', DETAIL = 'Only the seller may cancel an auction.';
    END IF;
    IF p_seller_id IS NULL OR a.seller_id <> p_seller_id THEN
        RAISE EXCEPTION 'account % did not start the auction of handle "%"',
                        coalesce(p_seller_id::text, 'NULL'), v_handle
            USING ERRCODE = 'HM008';
    END IF;
    IF a.bid_count > 0 THEN
        RAISE EXCEPTION 'the auction of handle "%" has bids', v_handle
            USING ERRCODE = 'HM008', DETAIL = format('The top bid is %s.', dollars(a.top_cents)),
                  HINT = 'An auction can be cancelled only before its first bid.';
    END IF;
    UPDATE auctions SET state = 'cancelled', closed_at = p_as_of, outcome = 'cancelled by the seller'
     WHERE auction_id = a.auction_id;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._accept_offer(p_offer_id bigint, p_seller_id bigint, p_as_of timestamptz,
                                          p_key text)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    o offers;
    v_transfer bigint;
    v_req record;
BEGIN
    PERFORM _require_account(p_seller_id);
    -- a retry after a lost answer gets the sale's transfer id again
    v_req := _claim_request(p_seller_id, p_key,
                            format('accept_offer(offer_id => %s, seller_id => %s)', p_offer_id, p_seller_id),
                            p_as_of);
    IF v_req.replayed THEN
        RETURN v_req.result;
    END IF;
    SELECT * INTO o FROM offers WHERE offer_id = p_offer_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'offer % does not exist', p_offer_id
            USING ERRCODE = 'HM008', DETAIL = format('No offer has the id %s.', p_offer_id);
    END IF;
    PERFORM _sellable_by_owner(o.handle, p_seller_id, p_as_of, 'sell');
    SELECT * INTO o FROM offers WHERE offer_id = p_offer_id FOR UPDATE;
    IF o.state <> 'open' THEN
        RAISE EXCEPTION 'offer % is %', p_offer_id, o.state USING ERRCODE = 'HM008';
    END IF;
    IF o.expires_at <= p_as_of THEN
        RAISE EXCEPTION 'offer % has expired', p_offer_id
            USING ERRCODE = 'HM008', DETAIL = format('It expired at %s.', o.expires_at);
    END IF;
    PERFORM _no_open_auction(o.handle);
    -- accepted first, so that the change of owner voids only the others
    UPDATE offers SET state = 'accepted', closed_at = p_as_of, sale_transfer_id = 0
     WHERE offer_id = o.offer_id;
    v_transfer := _sell_from_hold(o.handle::text, o.offer_id, p_seller_id, p_as_of,
                                  format('offer %s accepted', o.offer_id));
    UPDATE offers SET sale_transfer_id = v_transfer WHERE offer_id = o.offer_id;
    PERFORM _request_done(p_seller_id, p_key, v_transfer);
    RETURN v_transfer;
END $$;

COMMENT ON FUNCTION @extschema@.start_release_run(timestamptz, integer, boolean) IS
    'starts a run of the release sweep (release_dormant() by hand) and takes the release lock; resumes an interrupted run with the same as_of and dry_run; HM016 while another run holds the lock';

-- every recorded role gets what 1.1 adds
SELECT @extschema@._regrant();
