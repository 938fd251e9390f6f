-- versions/handle_market--1.0--1.1.sql: ALTER EXTENSION handle_market
-- UPDATE TO '1.1' from 1.0 (see CHANGELOG.md).  test/upgrade.sh checks that
-- a database updated with it equals a fresh 1.1 install object by object.

\echo Use "ALTER EXTENSION handle_market UPDATE TO '1.1'" to load this file. \quit

-- src/sql/85_status.sql: one function a DBA and a monitoring system read
-- (postgres_exporter's custom queries: a metric, its labels, a value).
-- Invoker's rights: the operators' role reads every table (grant_admin).

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
    -- a full check reads every table: off by default
    SELECT 'invariant_violations', '', count(*)::numeric
      FROM @extschema@.check_invariants() WHERE with_invariants;
END;
REVOKE EXECUTE ON FUNCTION @extschema@.status(boolean) FROM PUBLIC;      -- grant_admin() grants it
COMMENT ON FUNCTION @extschema@.status(boolean) IS
    'for operators and monitoring: handles by state, the last release run''s progress and rate, auctions and offers waiting for settlement, pending holds, the outbox''s last message, and (with_invariants) the count of invariant violations';

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

CREATE OR REPLACE FUNCTION @extschema@.grant_app(role regrole) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA @extschema@ TO %s', role);
    FOR r IN SELECT g.routine, g.is_procedure FROM @extschema@.api_grants g
              WHERE g.level = 'app' ORDER BY g.routine LOOP
        EXECUTE format('GRANT EXECUTE ON %s @extschema@.%s TO %s',
                       CASE WHEN r.is_procedure THEN 'PROCEDURE' ELSE 'FUNCTION' END, r.routine, role);
    END LOOP;
    INSERT INTO @extschema@.grantees AS g (role, level) VALUES (grant_app.role::text, 'app')
    ON CONFLICT ON CONSTRAINT grantees_pkey DO NOTHING;
END $$;
COMMENT ON FUNCTION @extschema@.grant_app(regrole) IS
    'lets a role use the application API: accounts, activity, registration, restore, lookup, outbox, money, sales, auctions, offers; the role is recorded, and every update grants it what the update adds';

CREATE OR REPLACE FUNCTION @extschema@.grant_admin(role regrole) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    PERFORM @extschema@.grant_app(role);
    FOR r IN SELECT g.routine, g.is_procedure FROM @extschema@.api_grants g
              WHERE g.level = 'admin' ORDER BY g.routine LOOP
        EXECUTE format('GRANT EXECUTE ON %s @extschema@.%s TO %s',
                       CASE WHEN r.is_procedure THEN 'PROCEDURE' ELSE 'FUNCTION' END, r.routine, role);
    END LOOP;
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

-- ===== issue 12, the outbox: consumers, acknowledgements, the prune =====
-- (src/sql/60_guard.sql, 74_outbox_consumers.sql, 85_status.sql, 90_privileges.sql)

-- the outbox's guard lets prune_outbox_batch() delete
DROP TRIGGER guard ON @extschema@.outbox;
-- the outbox is append-only but prunable: prune_outbox_batch() alone may
-- delete what every consumer acknowledged (74_outbox_consumers.sql)
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.outbox
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only', 'prunable');

-- src/sql/74_outbox_consumers.sql: the outbox's consumers, their durable
-- cursors, and the prune that keeps the outbox bounded (issue 12).
--
-- A consumer is registered by an operator and acknowledges, in order, the
-- messages it has handled: its cursor (acked_id) only moves forward.  The
-- prune deletes a message once every registered consumer has acknowledged it
-- and it is at least the retention old; with no consumer registered it
-- deletes nothing (nobody has said what was delivered).  The outbox is
-- append-only: its guard lets prune_outbox_batch() delete (hm_prune_gate,
-- the trigger's 'prunable') and nothing else.

CREATE TABLE @extschema@.outbox_consumers (
    name text PRIMARY KEY
        CHECK (name ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    -- every message up to this id is acknowledged (0: none yet)
    acked_id bigint NOT NULL DEFAULT 0 CHECK (acked_id >= 0),
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

-- The cursor moves forward only.  An ack at or below it changes nothing and
-- returns it: a retry after a lost answer, or a slower worker of the same
-- consumer, cannot move it back (and is no error, since what it says is
-- true).  An id beyond the last message is refused: the consumer cannot
-- have handled it, and acknowledging it would let the prune delete a
-- message written later, unread.  Returns the cursor after the call.
CREATE FUNCTION @extschema@._outbox_ack(p_consumer text, p_up_to bigint)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v outbox_consumers;
    v_last bigint;
BEGIN
    IF p_up_to IS NULL THEN
        RAISE EXCEPTION 'up_to must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO v FROM outbox_consumers WHERE name = _outbox_consumer_name(p_consumer) FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown outbox consumer "%"', p_consumer
            USING ERRCODE = 'HM018',
                  HINT = 'An operator registers it with outbox_register_consumer().';
    END IF;
    IF p_up_to <= v.acked_id THEN
        RETURN v.acked_id;
    END IF;
    -- pruned messages are all at or below every cursor, so the largest id
    -- left is the last message whenever the call would move the cursor
    SELECT coalesce(max(message_id), 0) INTO v_last FROM outbox;
    IF p_up_to > v_last THEN
        RAISE EXCEPTION 'cannot acknowledge outbox messages up to % for consumer "%"', p_up_to, v.name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The last message is %s.', v_last);
    END IF;
    UPDATE outbox_consumers SET acked_id = p_up_to, acked_at = now() WHERE name = v.name;
    RETURN p_up_to;
END $$;

CREATE FUNCTION @extschema@.outbox_ack(consumer text, up_to bigint)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.outbox_ack(text, bigint) IS
    'a consumer acknowledges every message up to an id; the cursor only moves forward, and the call returns it';

-- Every consumer with its cursor and how far behind it is: the messages
-- after its cursor (an exact count) and the oldest of them.  The
-- application reads its own cursor here when it starts.
CREATE FUNCTION @extschema@.outbox_consumers()
    RETURNS TABLE (consumer text, acked_id bigint, lag bigint, oldest_unacked_at timestamptz,
                   registered_at timestamptz, acked_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT c.name, c.acked_id, l.lag, l.oldest, c.registered_at, c.acked_at
      FROM @extschema@.outbox_consumers c,
           LATERAL (SELECT count(*) AS lag, min(o.created_at) AS oldest
                      FROM @extschema@.outbox o WHERE o.message_id > c.acked_id) l
     ORDER BY c.name;
END;
COMMENT ON FUNCTION @extschema@.outbox_consumers() IS
    'each outbox consumer: its cursor, the messages after it (lag) and the oldest of them';

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
-- horizon (the lowest cursor), in id order; of those, the ones at least the
-- retention old are deleted.  created_at is the writing transaction's
-- start, not ordered with the id, so a young message is skipped, not a
-- stop: the run goes on after it (last_id) and the next run looks again.
CREATE FUNCTION @extschema@._prune_outbox_batch(p_after_id bigint, p_batch_size integer,
                                                OUT done boolean, OUT examined integer,
                                                OUT deleted integer, OUT last_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_horizon bigint;
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
    SELECT min(acked_id) INTO v_horizon FROM outbox_consumers;
    WITH batch AS (
        SELECT o.message_id, o.created_at FROM outbox o
         WHERE o.message_id > p_after_id AND o.message_id <= coalesce(v_horizon, 0)
         ORDER BY o.message_id LIMIT p_batch_size
    ), gone AS (
        DELETE FROM outbox o USING batch b
         WHERE o.message_id = b.message_id AND b.created_at <= v_cutoff
        RETURNING o.message_id
    )
    SELECT count(*), (SELECT count(*) FROM gone), max(b.message_id)
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
REVOKE EXECUTE ON FUNCTION @extschema@._outbox_consumer_name(text),
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
CREATE OR REPLACE FUNCTION @extschema@.status(with_invariants boolean DEFAULT false)
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
    -- each consumer: the messages after its cursor, and how old the oldest
    -- of them is (0 when none): a consumer that falls behind shows here
    SELECT 'outbox_consumer_' || m.k, 'consumer=' || c.consumer, m.v
      FROM @extschema@.outbox_consumers() c,
           LATERAL (VALUES
               ('lag', c.lag::numeric),
               ('lag_seconds', coalesce(round(extract(epoch FROM now() - c.oldest_unacked_at), 3), 0))
           ) m(k, v)
    UNION ALL
    SELECT 'outbox_retention_seconds', '', round(extract(epoch FROM @extschema@.outbox_retention()))
    UNION ALL
    -- a full check reads every table: off by default
    SELECT 'invariant_violations', '', count(*)::numeric
      FROM @extschema@.check_invariants() WHERE with_invariants;
END;
COMMENT ON FUNCTION @extschema@.status(boolean) IS
    'for operators and monitoring: handles by state, the last release run''s progress and rate, auctions and offers waiting for settlement, pending holds, the outbox''s last message, each outbox consumer''s lag in messages and seconds, the outbox''s retention, and (with_invariants) the count of invariant violations';

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

-- every recorded role gets what 1.1 adds
SELECT @extschema@._regrant();
