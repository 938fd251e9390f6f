-- src/sql/50_policy.sql: versioned lifecycle policy.  A version is in force
-- from its effective_from until the next version's.  A handle's clocks use
-- the version in force when the clock started (handles.policy_version), so a
-- later version never shortens a period already running.  Versions are
-- never changed or deleted, only added (add_policy_version).

CREATE TABLE @extschema@.policy (
    version integer PRIMARY KEY,
    effective_from timestamptz NOT NULL UNIQUE,
    inactive_after interval NOT NULL,
    notice_period interval NOT NULL,
    redemption_period interval NOT NULL,
    quarantine_period interval NOT NULL,
    premium_decay interval NOT NULL,
    transfer_lock interval NOT NULL,
    touch_resolution interval NOT NULL,
    profile text NOT NULL CHECK (profile IN ('x_classic', 'precis')),
    exempt_verified boolean NOT NULL,
    exempt_subscribers boolean NOT NULL,
    exempt_memorialized boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- periods have no month part: a clock must not depend on the calendar
    CHECK (date_part('month', inactive_after) = 0 AND date_part('year', inactive_after) = 0
       AND date_part('month', notice_period) = 0 AND date_part('year', notice_period) = 0
       AND date_part('month', redemption_period) = 0 AND date_part('year', redemption_period) = 0
       AND date_part('month', quarantine_period) = 0 AND date_part('year', quarantine_period) = 0
       AND date_part('month', premium_decay) = 0 AND date_part('year', premium_decay) = 0
       AND date_part('month', transfer_lock) = 0 AND date_part('year', transfer_lock) = 0
       AND date_part('month', touch_resolution) = 0 AND date_part('year', touch_resolution) = 0),
    CHECK (inactive_after > '0' AND notice_period >= '0' AND redemption_period >= '0'
       AND quarantine_period >= '0' AND premium_decay >= '0' AND transfer_lock >= '0'
       AND touch_resolution >= '0')
);
COMMENT ON TABLE @extschema@.policy IS
    'versioned lifecycle policy; a version is in force from effective_from until the next';

-- The defaults come from the anchors: X (30 days), domain registries (30-day
-- notice and redemption, 5-day pending delete, 60-day transfer lock), ENS
-- (21-day premium decay).
INSERT INTO @extschema@.policy VALUES
    (1, '-infinity', '30 days', '30 days', '30 days', '5 days', '21 days',
     '60 days', '1 hour', 'x_classic', true, true, true, now());

-- The version in force at as_of.
-- PL/pgSQL: its query is planned once per session.  A SQL function with a
-- SET clause is never inlined, and would read and plan its body on every
-- call: buy() spent a fifth of its time doing that.  SECURITY DEFINER: the
-- application may read the policy in force, not the table.
CREATE FUNCTION @extschema@.policy_at(as_of timestamptz DEFAULT now())
    RETURNS @extschema@.policy
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v @extschema@.policy;
BEGIN
    SELECT * INTO v FROM @extschema@.policy p
     WHERE p.effective_from <= policy_at.as_of
     ORDER BY p.effective_from DESC
     LIMIT 1;
    RETURN CASE WHEN FOUND THEN v END;
END $$;

-- C: the status math.
CREATE FUNCTION @extschema@.activity_status(last_active timestamptz, as_of timestamptz,
                                            inactive_after interval)
    RETURNS text
    AS 'MODULE_PATHNAME', 'hm_activity_status'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.activity_status(last_active timestamptz,
                                            as_of timestamptz DEFAULT now())
    RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT @extschema@.activity_status(last_active, as_of, p.inactive_after)
      FROM @extschema@.policy_at(as_of) p;
END;
COMMENT ON FUNCTION @extschema@.activity_status(timestamptz, timestamptz) IS
    'active or inactive, under the policy in force at as_of';

CREATE FUNCTION @extschema@.release_phase(released_at timestamptz, as_of timestamptz,
                                          redemption interval, quarantine interval,
                                          premium_decay interval,
                                          OUT phase text, OUT ends_at timestamptz)
    AS 'MODULE_PATHNAME', 'hm_release_phase_sql'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.release_phase(timestamptz, timestamptz, interval, interval, interval) IS
    'the phase of a released handle at as_of (redemption, quarantine, premium, available) and when it ends';
