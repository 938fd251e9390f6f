-- src/sql/40_unicode_versions.sql: the ICU and Unicode versions the stored
-- confusable keys were computed with.  Each backend compares them with the
-- running ICU when it loads the library and warns when they differ.
--
-- Not registered with pg_extension_config_dump, on purpose: keys are derived
-- data that a restore recomputes with the restoring server's ICU, and
-- CREATE EXTENSION during the restore records that server's versions.

CREATE FUNCTION @extschema@.running_icu_version() RETURNS text
    AS 'MODULE_PATHNAME', 'handle_running_icu_version'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.running_unicode_version() RETURNS text
    AS 'MODULE_PATHNAME', 'handle_running_unicode_version'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE TABLE @extschema@.unicode_versions (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    icu_version text NOT NULL,
    unicode_version text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.unicode_versions IS
    'the ICU and Unicode versions that stored confusable keys were computed with';

INSERT INTO @extschema@.unicode_versions (icu_version, unicode_version)
VALUES (@extschema@.running_icu_version(), @extschema@.running_unicode_version());

-- No table is readable by PUBLIC; the versions are, through this function,
-- which is what each backend's check at library load calls.
CREATE FUNCTION @extschema@.recorded_unicode_versions(OUT icu_version text, OUT unicode_version text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT icu_version, unicode_version FROM @extschema@.unicode_versions;
END;

-- After recomputing stored keys under a new ICU, record the versions used.
CREATE FUNCTION @extschema@.record_unicode_versions()
    RETURNS @extschema@.unicode_versions
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    UPDATE @extschema@.unicode_versions
       SET icu_version = @extschema@.running_icu_version(),
           unicode_version = @extschema@.running_unicode_version(),
           recorded_at = now()
     RETURNING *;
END;
REVOKE ALL ON FUNCTION @extschema@.record_unicode_versions() FROM PUBLIC;
