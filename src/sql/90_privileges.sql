-- src/sql/90_privileges.sql: nothing is readable or writable by PUBLIC but
-- the type itself and the pure functions.  The DBA grants two roles:
-- grant_app() for the application, grant_admin() for operators and auditors.

REVOKE ALL ON ALL TABLES IN SCHEMA @extschema@ FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA @extschema@ FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA @extschema@ FROM PUBLIC;
REVOKE EXECUTE ON ALL PROCEDURES IN SCHEMA @extschema@ FROM PUBLIC;

-- the type, its operators and the pure functions stay public
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.handle_in(cstring), @extschema@.handle_out(@extschema@.handle),
    @extschema@.handle_recv(internal), @extschema@.handle_send(@extschema@.handle),
    @extschema@.handle(text), @extschema@.handle_to_text(@extschema@.handle),
    @extschema@.handle_eq(@extschema@.handle, @extschema@.handle),
    @extschema@.handle_ne(@extschema@.handle, @extschema@.handle),
    @extschema@.handle_lt(@extschema@.handle, @extschema@.handle),
    @extschema@.handle_le(@extschema@.handle, @extschema@.handle),
    @extschema@.handle_gt(@extschema@.handle, @extschema@.handle),
    @extschema@.handle_ge(@extschema@.handle, @extschema@.handle),
    @extschema@.handle_cmp(@extschema@.handle, @extschema@.handle),
    @extschema@.handle_hash(@extschema@.handle),
    @extschema@.handle_hash_extended(@extschema@.handle, bigint),
    @extschema@.handle_sortsupport(internal),
    @extschema@.handle_text_support(internal),
    @extschema@.handle_larger(@extschema@.handle, @extschema@.handle),
    @extschema@.handle_smaller(@extschema@.handle, @extschema@.handle),
    @extschema@.max(@extschema@.handle), @extschema@.min(@extschema@.handle),
    @extschema@.handle_eq_text(@extschema@.handle, text), @extschema@.text_eq_handle(text, @extschema@.handle),
    @extschema@.handle_ne_text(@extschema@.handle, text), @extschema@.text_ne_handle(text, @extschema@.handle),
    @extschema@.handle_lt_text(@extschema@.handle, text), @extschema@.text_lt_handle(text, @extschema@.handle),
    @extschema@.handle_le_text(@extschema@.handle, text), @extschema@.text_le_handle(text, @extschema@.handle),
    @extschema@.handle_gt_text(@extschema@.handle, text), @extschema@.text_gt_handle(text, @extschema@.handle),
    @extschema@.handle_ge_text(@extschema@.handle, text), @extschema@.text_ge_handle(text, @extschema@.handle),
    @extschema@.confusable_key(@extschema@.handle),
    @extschema@.check_handle(text, text),
    @extschema@.running_icu_version(), @extschema@.running_unicode_version(),
    @extschema@.recorded_unicode_versions(),
    @extschema@.activity_status(timestamptz, timestamptz, interval),
    @extschema@.release_phase(timestamptz, timestamptz, interval, interval, interval),
    @extschema@.decaying_premium(interval, bigint, interval, interval),
    @extschema@.commission_fee(bigint, integer), @extschema@.dollars(bigint),
    @extschema@.minimum_bid(bigint, bigint)
    TO PUBLIC;

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
    ('outbox_ack(text, bigint)', 'app'),
    ('outbox_consumers()', 'app'),
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
    ('outbox_register_consumer(text)', 'admin'),
    ('outbox_unregister_consumer(text)', 'admin'),
    ('set_outbox_retention(interval)', 'admin'),
    ('outbox_retention()', 'admin'),
    ('prune_outbox_batch(bigint, integer)', 'admin'),
    ('start_rekey_run(integer)', 'admin'),
    ('rekey_batch(bigint)', 'admin'),
    ('finish_rekey_run(bigint)', 'admin'),
    ('history_partitions()', 'admin'),
    ('create_history_partition(integer, timestamptz)', 'admin'),
    ('detach_history(timestamptz, timestamptz)', 'admin'),
    -- settle_auctions() is invoker-rights and checks its as_of with it
    ('_write_time(timestamptz, text)', 'admin'),
    -- and both batch procedures check their pause with it
    ('_batch_pause(interval)', 'admin');
INSERT INTO @extschema@.api_grants (routine, is_procedure, level) VALUES
    ('release_dormant(timestamptz, integer, boolean, interval)', true, 'admin'),
    ('settle_auctions(timestamptz, integer, interval)', true, 'admin'),
    ('prune_outbox(integer, interval)', true, 'admin'),
    ('rekey(integer)', true, 'admin'),
    ('create_history_partitions(integer, timestamptz)', true, 'admin');

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

CREATE FUNCTION @extschema@.grant_app(role regrole) RETURNS void
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

CREATE FUNCTION @extschema@.grant_admin(role regrole) RETURNS void
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
