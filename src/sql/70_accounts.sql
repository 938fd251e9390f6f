-- src/sql/70_accounts.sql: accounts and activity.
--
-- Each API function that writes is a C gate (hm_gate) in front of an
-- implementation of the same name with a leading underscore; see guard.c.

CREATE FUNCTION @extschema@._upsert_account(p_account_id bigint, p_subscription text,
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

CREATE FUNCTION @extschema@.upsert_account(account_id bigint, subscription text DEFAULT 'none',
                                           verified boolean DEFAULT false,
                                           active_at timestamptz DEFAULT now())
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.upsert_account(bigint, text, boolean, timestamptz) IS
    'creates an account (last active at active_at) or updates its subscription and verified flag';

CREATE FUNCTION @extschema@._set_account_status(p_account_id bigint, p_status text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('active', 'suspended', 'deactivated', 'memorialized') THEN
        RAISE EXCEPTION 'unknown account status "%"', p_status
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Statuses are active, suspended, deactivated and memorialized.';
    END IF;
    PERFORM activity_lock_shared();         -- before any row: activity_lock.c
    PERFORM _require_account(p_account_id, 'update');
    UPDATE accounts SET status = p_status WHERE account_id = p_account_id;
END $$;

CREATE FUNCTION @extschema@.set_account_status(account_id bigint, status text)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;

-- touch: the hot path.  Reads one row; writes only when the stored activity
-- is older than the policy's resolution, so most calls change nothing.  The
-- API function touch() decides that in C (src/touch.c), with the policy
-- cached in each backend, and calls _touch through the gate only when it
-- cannot: for a write, an unknown account or a NULL argument.
CREATE FUNCTION @extschema@._touch(p_account_id bigint, p_at timestamptz)
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

CREATE FUNCTION @extschema@.touch(account_id bigint, at timestamptz DEFAULT now())
    RETURNS void AS 'MODULE_PATHNAME', 'hm_touch' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.touch(bigint, timestamptz) IS
    'records activity; writes only when the stored activity is older than the policy''s touch resolution';

-- A new policy version makes every backend drop its copy of the policy
-- (src/policy_cache.c).  Versions are only inserted: the guard refuses the rest.
CREATE FUNCTION @extschema@.policy_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'hm_policy_changed' LANGUAGE C;
CREATE TRIGGER policy_changed AFTER INSERT ON @extschema@.policy
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.policy_changed();
