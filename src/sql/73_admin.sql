-- src/sql/73_admin.sql: reserved names, policy versions, the outbox.

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
    INSERT INTO reserved (pattern, key, kind, reason, note)
    VALUES (v_handle, confusable_key(v_handle), p_kind, p_reason, p_note)
    ON CONFLICT (pattern) DO UPDATE
       SET key = excluded.key, kind = excluded.kind, reason = excluded.reason, note = excluded.note;
END $$;

CREATE FUNCTION @extschema@.reserve_handle(pattern text, reason text, kind text DEFAULT 'handle',
                                           note text DEFAULT NULL)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.reserve_handle(text, text, text, text) IS
    'reserves a handle (kind handle) or forbids a substring (kind substring), matched on confusable keys';

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
-- after the last one.
CREATE FUNCTION @extschema@._add_policy_version(p_effective_from timestamptz, p_changes jsonb)
    RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_last policy;
    v_new policy;
    v_unknown text;
BEGIN
    SELECT * INTO v_last FROM policy ORDER BY version DESC LIMIT 1;
    IF p_effective_from IS NULL OR p_effective_from <= v_last.effective_from THEN
        RAISE EXCEPTION 'a new policy version must start after the last one'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Version %s starts at %s.', v_last.version, v_last.effective_from);
    END IF;
    SELECT string_agg(k, ', ') INTO v_unknown FROM jsonb_object_keys(coalesce(p_changes, '{}')) k
     WHERE k IN ('version', 'effective_from', 'created_at')
        OR k NOT IN (SELECT attname FROM pg_attribute
                      WHERE attrelid = 'policy'::regclass AND attnum > 0 AND NOT attisdropped);
    IF v_unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown policy settings: %', v_unknown USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_new := jsonb_populate_record(v_last, coalesce(p_changes, '{}'));
    v_new.version := v_last.version + 1;
    v_new.effective_from := p_effective_from;
    v_new.created_at := now();
    INSERT INTO policy SELECT v_new.*;
    RETURN v_new.version;
END $$;

CREATE FUNCTION @extschema@.add_policy_version(effective_from timestamptz, changes jsonb)
    RETURNS integer AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.add_policy_version(timestamptz, jsonb) IS
    'adds a policy version in force from effective_from: the previous version with the given changes, such as {"inactive_after": "60 days"}';

-- The outbox is append-only; a consumer keeps its own cursor.
CREATE FUNCTION @extschema@.outbox_after(after_message_id bigint DEFAULT 0, max_messages integer DEFAULT 1000)
    RETURNS SETOF @extschema@.outbox
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT * FROM @extschema@.outbox
     WHERE message_id > after_message_id
     ORDER BY message_id
     LIMIT max_messages;
END;
COMMENT ON FUNCTION @extschema@.outbox_after(bigint, integer) IS
    'notifications after a message id, oldest first; LISTEN handle_market to be woken';
