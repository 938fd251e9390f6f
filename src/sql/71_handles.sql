-- src/sql/71_handles.sql: registering, restoring and holding handles.

-- The phase of a released handle at as_of, under the policy version that
-- was in force when it was released.
CREATE FUNCTION @extschema@.handle_phase(h @extschema@.handles, as_of timestamptz,
                                         OUT phase text, OUT ends_at timestamptz)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT r.phase, r.ends_at
      FROM @extschema@.policy p,
           @extschema@.release_phase(h.released_at, as_of, p.redemption_period,
                                     p.quarantine_period, p.premium_decay) r
     WHERE p.version = h.policy_version;
END;

CREATE FUNCTION @extschema@._register_handle(p_account_id bigint, p_candidate text,
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

CREATE FUNCTION @extschema@.register_handle(account_id bigint, candidate text,
                                            as_of timestamptz DEFAULT now())
    RETURNS @extschema@.handle AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.register_handle(bigint, text, timestamptz) IS
    'free registration of a handle that is not taken, reserved, confusable with a live handle, sold by the platform, or outside the policy''s profile';

CREATE FUNCTION @extschema@._restore_handle(p_candidate text, p_account_id bigint,
                                            p_as_of timestamptz)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_handle handle := _canonical(p_candidate);
    v_row handles;
    v_phase record;
BEGIN
    PERFORM activity_lock_shared();         -- before any row: activity_lock.c
    PERFORM _require_account(p_account_id, 'update');
    SELECT * INTO v_row FROM handles WHERE handle = v_handle FOR UPDATE;
    -- a retry of a restore that committed (its answer lost): the handle is
    -- this account's again and nothing has happened to it since, so the
    -- same answer, with nothing written again.  Anything since (a hold, a
    -- notice, a sale) makes its last event another one: refused as before.
    -- Two restores at once queue on the account's lock above; the second
    -- reads the first's row and event here.
    IF FOUND AND v_row.state = 'registered' AND v_row.owner_id = p_account_id
       AND (SELECT e.reason FROM handle_events e WHERE e.handle = v_handle
             ORDER BY e.event_id DESC LIMIT 1) = 'restored by the former owner' THEN
        RETURN;
    END IF;
    IF NOT FOUND OR v_row.state <> 'released' THEN
        RAISE EXCEPTION 'handle "%" is not in redemption', v_handle
            USING ERRCODE = 'HM008',
                  DETAIL = format('Its state is %s.', coalesce(v_row.state, 'unregistered'));
    END IF;
    PERFORM _refuse_held(v_handle, v_row.hold_reason);
    IF v_row.previous_owner_id IS DISTINCT FROM p_account_id THEN
        RAISE EXCEPTION 'only the former owner may restore handle "%"', v_handle
            USING ERRCODE = 'HM008',
                  DETAIL = format('Account %s was not its owner.', p_account_id);
    END IF;
    v_phase := handle_phase(v_row, p_as_of);
    IF v_phase.phase <> 'redemption' THEN
        RAISE EXCEPTION 'handle "%" is not in redemption', v_handle
            USING ERRCODE = 'HM008',
                  DETAIL = format('Redemption ended at %s; the handle is in its %s phase.',
                                  utc_time(released_at_plus(v_row)), v_phase.phase);
    END IF;

    -- restoring is activity: the handle must not be at risk again at once
    PERFORM _mark_active(p_account_id, p_as_of);
    UPDATE handles
       SET owner_id = p_account_id, state = 'registered', released_at = NULL,
           notice_at = NULL, policy_version = (policy_at(p_as_of)).version
     WHERE handle = v_handle;
    PERFORM _record(v_handle, 'redemption', 'registered', p_as_of, p_account_id,
                    'restored by the former owner', 'restored',
                    format('@%s is yours again.', v_handle));
END $$;

CREATE FUNCTION @extschema@.released_at_plus(h @extschema@.handles) RETURNS timestamptz
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT h.released_at + p.redemption_period FROM @extschema@.policy p
     WHERE p.version = h.policy_version;
END;

CREATE FUNCTION @extschema@.restore_handle(candidate text, account_id bigint,
                                           as_of timestamptz DEFAULT now())
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.restore_handle(text, bigint, timestamptz) IS
    'the former owner takes a released handle back during redemption';

CREATE FUNCTION @extschema@._hold_handle(p_candidate text, p_reason text, p_at timestamptz)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_handle handle := _canonical(p_candidate);
    v_row handles;
BEGIN
    IF p_reason IS NULL OR btrim(p_reason) = '' THEN
        RAISE EXCEPTION 'a hold needs a reason' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO v_row FROM handles WHERE handle = v_handle FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'handle "%" is not registered', v_handle
            USING ERRCODE = 'HM008', HINT = 'Reserve a handle nobody holds with reserve_handle().';
    END IF;
    -- a retry of a hold that committed: the same hold, nothing written again
    -- (the row lock above makes a second identical call wait for the first
    -- and then read its hold).  Another reason is another hold: refused.
    IF v_row.hold_reason = p_reason THEN
        RETURN;
    END IF;
    IF v_row.hold_reason IS NOT NULL THEN
        RAISE EXCEPTION 'handle "%" is already under hold', v_handle
            USING ERRCODE = 'HM010', DETAIL = format('hold: %s', v_row.hold_reason);
    END IF;
    UPDATE handles SET hold_reason = p_reason, held_at = p_at WHERE handle = v_handle;
    PERFORM _record(v_handle, v_row.state, 'held', p_at, coalesce(v_row.owner_id, v_row.previous_owner_id),
                    p_reason, 'held', format('@%s is under hold: %s', v_handle, p_reason));
END $$;

CREATE FUNCTION @extschema@.hold_handle(candidate text, reason text, at timestamptz DEFAULT now())
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.hold_handle(text, text, timestamptz) IS
    'a legal or trademark hold: the handle does not move, and its clocks stop, until release_hold()';

-- Releasing a hold restarts the clocks where they stopped: the time under
-- hold is added to notice_at and released_at.
CREATE FUNCTION @extschema@._release_hold(p_candidate text, p_at timestamptz)
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

CREATE FUNCTION @extschema@.release_hold(candidate text, at timestamptz DEFAULT now())
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
