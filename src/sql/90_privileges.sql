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

CREATE FUNCTION @extschema@.grant_app(role regrole) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA @extschema@ TO %s', role);
    EXECUTE format('GRANT EXECUTE ON FUNCTION
        @extschema@.upsert_account(bigint, text, boolean, timestamptz),
        @extschema@.set_account_status(bigint, text),
        @extschema@.touch(bigint, timestamptz),
        @extschema@.activity_status(timestamptz, timestamptz),
        @extschema@.policy_at(timestamptz),
        @extschema@.register_handle(bigint, text, timestamptz),
        @extschema@.restore_handle(text, bigint, timestamptz),
        @extschema@.lookup(text, timestamptz),
        @extschema@.price(text, timestamptz),
        @extschema@.quote(text, bigint, timestamptz),
        @extschema@.outbox_after(bigint, integer),
        @extschema@.deposit(bigint, bigint, text, timestamptz),
        @extschema@.withdraw(bigint, bigint, text, timestamptz),
        @extschema@.balance(bigint),
        @extschema@.list_handle(text, bigint, bigint, timestamptz, text),
        @extschema@.unlist_handle(text, bigint, timestamptz, text),
        @extschema@.buy(text, bigint, bigint, text, timestamptz),
        @extschema@.transfer_handle(text, bigint, bigint, text, timestamptz),
        @extschema@.start_auction(text, bigint, bigint, timestamptz, timestamptz, text),
        @extschema@.cancel_auction(text, bigint, timestamptz, text),
        @extschema@.bid(text, bigint, bigint, text, timestamptz),
        @extschema@.make_offer(text, bigint, bigint, timestamptz, text, timestamptz),
        @extschema@.accept_offer(bigint, bigint, timestamptz, text),
        @extschema@.cancel_offer(bigint, bigint, timestamptz, text) TO %s', role);
END $$;
COMMENT ON FUNCTION @extschema@.grant_app(regrole) IS
    'lets a role use the application API: accounts, activity, registration, restore, lookup, outbox, money, sales, auctions, offers';

CREATE FUNCTION @extschema@.grant_admin(role regrole) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM @extschema@.grant_app(role);
    EXECUTE format('GRANT EXECUTE ON FUNCTION
        @extschema@.hold_handle(text, text, timestamptz),
        @extschema@.release_hold(text, timestamptz),
        @extschema@.reserve_handle(text, text, text, text),
        @extschema@.unreserve_handle(text),
        @extschema@.add_policy_version(timestamptz, jsonb),
        @extschema@.set_premium(text, bigint, text),
        @extschema@.unset_premium(text),
        @extschema@.add_pricing_version(timestamptz, jsonb),
        @extschema@.pricing_at(timestamptz),
        @extschema@.commission_bps(text, timestamptz),
        @extschema@.start_release_run(timestamptz, integer, boolean),
        @extschema@.release_batch(bigint),
        @extschema@.finish_release_run(bigint),
        @extschema@.check_invariants(),
        @extschema@.ledger_balance(bigint),
        @extschema@.start_platform_auction(text, bigint, timestamptz, timestamptz),
        @extschema@.settle_batch(timestamptz, integer),
        @extschema@.settle_lock_try(), @extschema@.settle_lock_release(),
        @extschema@.release_lock_try(), @extschema@.release_lock_release(),
        -- settle_auctions() is invoker-rights and checks its as_of with it
        @extschema@._write_time(timestamptz, text) TO %s', role);
    EXECUTE format('GRANT EXECUTE ON PROCEDURE
        @extschema@.release_dormant(timestamptz, integer, boolean),
        @extschema@.settle_auctions(timestamptz, integer) TO %s', role);
    -- operators and auditors read everything; nobody writes but the API
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA @extschema@ TO %s', role);
END $$;
-- Only the extension's owner grants (a GRANT by anyone else grants nothing,
-- but says so in warnings); the REVOKE at the top ran before these existed.
REVOKE EXECUTE ON FUNCTION @extschema@.grant_app(regrole), @extschema@.grant_admin(regrole) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.grant_admin(regrole) IS
    'lets a role do what the application does, plus holds, reservations, policy and pricing versions, release runs, platform auctions and settlement, and read every table';
