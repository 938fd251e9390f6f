-- src/sql/73_admin.sql: reserved names, policy versions.

CREATE FUNCTION @extschema@._reserve_handle(p_pattern text, p_reason text, p_kind text, p_note text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_handle handle := _canonical(p_pattern);
BEGIN
    IF p_reason IS NULL OR p_reason NOT IN ('system', 'brand', 'offensive', 'legal') THEN
        RAISE EXCEPTION 'unknown reservation reason "%"', p_reason
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Reasons are system, brand, offensive and legal.';
    END IF;
    IF p_kind IS NULL OR p_kind NOT IN ('handle', 'substring') THEN
        RAISE EXCEPTION 'unknown reservation kind "%"', p_kind
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Kinds are handle and substring.';
    END IF;
    -- A pattern already reserved is changed to what is given (as before);
    -- the same reservation again (a retry after a lost answer) is left as it
    -- is, created_at included: the WHERE makes the upsert write nothing.
    -- ON CONFLICT locks the existing row first, so two identical calls at
    -- once insert once and find the row the second time.
    INSERT INTO reserved (pattern, key, kind, reason, note)
    VALUES (v_handle, confusable_key(v_handle), p_kind, p_reason, p_note)
    ON CONFLICT (pattern) DO UPDATE
       SET key = excluded.key, kind = excluded.kind, reason = excluded.reason, note = excluded.note
     WHERE (reserved.key, reserved.kind, reserved.reason, reserved.note)
           IS DISTINCT FROM (excluded.key, excluded.kind, excluded.reason, excluded.note);
END $$;

CREATE FUNCTION @extschema@.reserve_handle(pattern text, reason text, kind text DEFAULT 'handle',
                                           note text DEFAULT NULL)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.reserve_handle(text, text, text, text) IS
    'reserves a handle (kind handle) or forbids a substring (kind substring), matched on confusable keys';

-- Removing a reservation that is not there succeeds and says so (false),
-- like a DELETE that finds no row: a retry after a lost answer finds the
-- state the first call left, which is all a retrying client needs, and
-- refusing it would turn that outcome into an error.  The boolean tells
-- whether this call removed it, so a retry answers false where the first
-- call answered true.
CREATE FUNCTION @extschema@._unreserve_handle(p_pattern text)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    DELETE FROM reserved WHERE pattern = _canonical(p_pattern)::text;
    RETURN FOUND;
END $$;

CREATE FUNCTION @extschema@.unreserve_handle(pattern text)
    RETURNS boolean AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;

-- A new policy version: the version in force at effective_from, with the
-- given changes.  Versions are only added, never changed, and each starts
-- after the last one.  Every change is checked here, before the insert, so
-- that a bad one is refused (22023) with the setting named and the reason,
-- not by the table's constraints with a dump of the whole row.
--
-- A retry after a lost answer: a version that starts at effective_from
-- already, with the settings this call would give it (the version before
-- it with the changes), is returned as it is.  Other settings at the same
-- time are refused (22023, like any other time that is not after the last
-- version), and the detail names the settings that differ.
CREATE FUNCTION @extschema@._add_policy_version(p_effective_from timestamptz, p_changes jsonb)
    RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_changes jsonb := coalesce(p_changes, '{}');
    v_last policy;
    v_same policy;
    v_new policy;
    v_unknown text;
    v_key text;
    v_value jsonb;
    v_bad record;
BEGIN
    IF jsonb_typeof(v_changes) <> 'object' THEN
        RAISE EXCEPTION 'policy changes must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('They were %s.', v_changes);
    END IF;
    -- one version added at a time: two identical calls at once would both
    -- read the same last version and both insert.  SHARE ROW EXCLUSIVE
    -- conflicts with itself and with inserts, not with readers.  Under READ
    -- COMMITTED the reads below see what the one before committed.
    LOCK TABLE policy IN SHARE ROW EXCLUSIVE MODE;
    -- a retry: the version that starts then, built on the one before it
    -- (the first version, which no call added, is no retry)
    SELECT * INTO v_same FROM policy WHERE effective_from = p_effective_from;
    IF FOUND THEN
        SELECT * INTO v_last FROM policy WHERE version < v_same.version ORDER BY version DESC LIMIT 1;
        IF NOT FOUND THEN
            v_same := NULL;
        END IF;
    END IF;
    IF v_same.version IS NULL THEN
        SELECT * INTO v_last FROM policy ORDER BY version DESC LIMIT 1;
        IF p_effective_from IS NULL OR p_effective_from <= v_last.effective_from THEN
            RAISE EXCEPTION 'a new policy version must start after the last one'
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('Version %s starts at %s.', v_last.version, v_last.effective_from);
        END IF;
        -- a version that starts in the past would change what was in force
        -- then, under answers already given; only a replay may write history
        IF p_effective_from < now() AND NOT current_setting('handle_market.simulated_time')::boolean THEN
            RAISE EXCEPTION 'a new policy version cannot start in the past'
                USING ERRCODE = 'HM017',
                      DETAIL = format('It would start at %s; the server''s time is %s.',
                                      utc_time(p_effective_from), utc_time(now()));
        END IF;
    END IF;
    SELECT string_agg(k, ', ') INTO v_unknown FROM jsonb_object_keys(v_changes) k
     WHERE k IN ('version', 'effective_from', 'created_at')
        OR k NOT IN (SELECT attname FROM pg_attribute
                      WHERE attrelid = 'policy'::regclass AND attnum > 0 AND NOT attisdropped);
    IF v_unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown policy settings: %', v_unknown USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- each setting on its own, so that a value of the wrong type is named
    v_new := v_last;
    FOR v_key, v_value IN SELECT e.key, e.value FROM jsonb_each(v_changes) e ORDER BY e.key LOOP
        IF jsonb_typeof(v_value) = 'null' THEN
            RAISE EXCEPTION 'policy setting % must not be null', v_key
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'Every setting has a value; leave it out to keep the last version''s.';
        END IF;
        BEGIN
            v_new := jsonb_populate_record(v_new, jsonb_build_object(v_key, v_value));
        EXCEPTION WHEN data_exception THEN
            RAISE EXCEPTION 'policy setting % must be of type %', v_key,
                  (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                    WHERE a.attrelid = 'policy'::regclass AND a.attname = v_key)
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('It was %s: %s.', v_value, SQLERRM);
        END;
    END LOOP;

    -- the periods, as the policy table's checks want them
    SELECT f.name, f.value, f.positive INTO v_bad
      FROM (VALUES ('inactive_after', v_new.inactive_after, true),
                   ('notice_period', v_new.notice_period, false),
                   ('redemption_period', v_new.redemption_period, false),
                   ('quarantine_period', v_new.quarantine_period, false),
                   ('premium_decay', v_new.premium_decay, false),
                   ('transfer_lock', v_new.transfer_lock, false),
                   ('touch_resolution', v_new.touch_resolution, false)) f(name, value, positive)
     WHERE date_part('month', f.value) <> 0 OR date_part('year', f.value) <> 0
        OR f.value < interval '0' OR (f.positive AND f.value = interval '0')
     ORDER BY f.name LIMIT 1;
    IF FOUND THEN
        IF date_part('month', v_bad.value) <> 0 OR date_part('year', v_bad.value) <> 0 THEN
            -- as hm_interval_usecs (src/lifecycle_sql.c) refuses them
            RAISE EXCEPTION 'policy setting % must be given in days, hours or smaller units', v_bad.name
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('It was %s: a month has no fixed length, and a clock must not '
                                      'depend on the calendar it runs through.', v_bad.value);
        END IF;
        RAISE EXCEPTION 'policy setting % must be %', v_bad.name,
              CASE WHEN v_bad.positive THEN 'positive' ELSE 'zero or positive' END
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('It was %s.', v_bad.value);
    END IF;
    IF v_new.profile NOT IN ('x_classic', 'precis') THEN
        RAISE EXCEPTION 'policy setting profile must be x_classic or precis'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It was "%s", which is no profile check_handle() knows.', v_new.profile);
    END IF;

    IF v_same.version IS NOT NULL THEN
        v_new.version := v_same.version;
        v_new.effective_from := v_same.effective_from;
        v_new.created_at := v_same.created_at;
        -- each setting compared with its type's equality ('1 day' is '24 hours')
        IF v_new IS NOT DISTINCT FROM v_same THEN
            RETURN v_same.version;
        END IF;
        RAISE EXCEPTION 'policy version % already starts at %', v_same.version, utc_time(v_same.effective_from)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = (SELECT string_agg(format('%s: %s in version %s, %s in this call',
                                                     o.key, o.value, v_same.version, n.value),
                                              '; ' ORDER BY o.key) || '.'
                              FROM jsonb_each_text(to_jsonb(v_same)) o
                              JOIN jsonb_each_text(to_jsonb(v_new)) n USING (key)
                             WHERE o.value IS DISTINCT FROM n.value),
                  HINT = 'A version is never changed; add one that starts later.';
    END IF;

    v_new.version := v_last.version + 1;
    v_new.effective_from := p_effective_from;
    v_new.created_at := now();
    BEGIN
        INSERT INTO policy SELECT v_new.*;
    EXCEPTION WHEN unique_violation THEN
        -- REPEATABLE READ or SERIALIZABLE: the snapshot predates a version
        -- that another call added while this one waited for the lock.  A
        -- retry in a new transaction sees it (and returns it, if it is this
        -- one).
        RAISE EXCEPTION 'could not serialize access due to a concurrent policy version'
            USING ERRCODE = 'serialization_failure',
                  DETAIL = format('Version %s was added after this transaction began.', v_new.version);
    END;
    RETURN v_new.version;
END $$;

CREATE FUNCTION @extschema@.add_policy_version(effective_from timestamptz, changes jsonb)
    RETURNS integer AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.add_policy_version(timestamptz, jsonb) IS
    'adds a policy version in force from effective_from: the previous version with the given changes, such as {"inactive_after": "60 days"}';
