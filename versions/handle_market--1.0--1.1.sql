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

-- every recorded role gets what 1.1 adds
SELECT @extschema@._regrant();
