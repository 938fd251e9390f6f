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

-- every recorded role gets what 1.1 adds
SELECT @extschema@._regrant();
