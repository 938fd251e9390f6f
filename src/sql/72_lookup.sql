-- src/sql/72_lookup.sql: one row that explains a handle.

-- NULL for input that is not a handle at all.
CREATE FUNCTION @extschema@._try_handle(p_candidate text) RETURNS @extschema@.handle
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    RETURN p_candidate::handle;
EXCEPTION WHEN invalid_text_representation THEN
    RETURN NULL;
END $$;

CREATE FUNCTION @extschema@.lookup(candidate text, as_of timestamptz DEFAULT now(),
                                   OUT handle @extschema@.handle, OUT state text,
                                   OUT owner_id bigint, OUT phase_ends_at timestamptz,
                                   OUT reason text, OUT price_cents bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_policy policy := policy_at(as_of);
    v_row handles;
    v_pol policy;
    v_res reserved;
    v_phase record;
    v_key text;
    v_other handle;
    v_premium record;       -- a premium_handles row (created after this file)
BEGIN
    PERFORM _read_time(as_of, 'as_of');     -- any time, but a finite one
    handle := _try_handle(candidate);
    IF handle IS NULL THEN
        state := 'invalid';
        reason := coalesce(check_handle(candidate, v_policy.profile), check_handle(candidate, 'precis'));
        RETURN;
    END IF;

    SELECT * INTO v_row FROM handles h WHERE h.handle = lookup.handle;
    IF FOUND THEN
        owner_id := v_row.owner_id;
        SELECT * INTO v_pol FROM policy p WHERE p.version = v_row.policy_version;
        IF v_row.hold_reason IS NOT NULL THEN
            state := 'held';
            reason := format('held since %s: %s', utc_date(v_row.held_at), v_row.hold_reason);
        ELSIF v_row.state = 'registered' THEN
            state := 'registered';
            reason := 'registered';
        ELSIF v_row.state = 'at_risk' THEN
            state := 'at_risk';
            phase_ends_at := v_row.notice_at + v_pol.notice_period;
            reason := format('at risk: the owner has been inactive; released on %s unless the owner is active again',
                             utc_date(phase_ends_at));
        ELSE
            v_phase := handle_phase(v_row, as_of);
            state := v_phase.phase;
            phase_ends_at := v_phase.ends_at;
            owner_id := NULL;
            reason := CASE v_phase.phase
                WHEN 'redemption' THEN format('in redemption until %s; only the former owner may restore it',
                                              utc_date(phase_ends_at))
                WHEN 'quarantine' THEN format('in quarantine until %s; nobody may take it',
                                              utc_date(phase_ends_at))
                WHEN 'premium' THEN format('released; sold at a decaying premium until %s',
                                           utc_date(phase_ends_at))
                ELSE 'available' END;
        END IF;
        price_cents := price(handle::text, as_of);
        RETURN;
    END IF;

    v_key := confusable_key(handle);
    v_res := reservation_for(v_key);
    IF v_res.pattern IS NOT NULL THEN
        state := 'reserved';
        reason := format('reserved: %s', v_res.reason);
        RETURN;
    END IF;

    reason := check_handle(candidate, v_policy.profile);
    IF reason IS NOT NULL THEN
        state := 'invalid';
        RETURN;
    END IF;

    SELECT h.handle INTO v_other FROM handles h WHERE h.key = v_key;
    IF FOUND THEN
        state := 'invalid';
        reason := format('confusable with "%s"', v_other);
        RETURN;
    END IF;
    -- on the premium list: the platform sells it; a look-alike is nobody's
    SELECT * INTO v_premium FROM premium_handles m WHERE m.key = v_key;
    IF FOUND AND v_premium.handle <> handle THEN
        state := 'invalid';
        reason := format('confusable with %s handle "%s"', v_premium.category, v_premium.handle);
        RETURN;
    END IF;
    state := 'available';
    reason := CASE WHEN v_premium.handle IS NOT NULL
                   THEN format('%s handle; the platform sells it', v_premium.category)
                   ELSE 'available' END;
    price_cents := price(handle::text, as_of);
END $$;
COMMENT ON FUNCTION @extschema@.lookup(text, timestamptz) IS
    'one row that explains a handle: canonical form, state, owner, when the phase ends, why, and what the platform asks for it (price())';
