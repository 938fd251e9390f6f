-- handle_market--1.0.sql: built by the Makefile from src/sql/*.sql, in order.

\echo Use "CREATE EXTENSION handle_market" to load this file. \quit

-- CREATE EXTENSION reuses a schema named handle_market if one exists.  The
-- SECURITY DEFINER functions below resolve names in it, so a schema that
-- another role owns (and could rename, then plant functions under the old
-- name), that another role may create objects in, or that holds objects
-- already, would run that role's code as the extension's owner.  Refuse it.
DO $$
DECLARE
    v_owner oid;
    v_acl aclitem[];
    v_creator regrole;
    v_objects bigint;
BEGIN
    SELECT n.nspowner, n.nspacl INTO v_owner, v_acl
      FROM pg_catalog.pg_namespace n WHERE n.nspname = '@extschema@';
    IF v_owner IS DISTINCT FROM (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'schema "@extschema@" is owned by role "%", not by the role installing handle_market', v_owner::regrole
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Its owner could rename it and plant functions that the extension''s SECURITY DEFINER code would run.',
                  HINT = format('Drop schema @extschema@ (it was created before the extension), or install as role "%s".', v_owner::regrole);
    END IF;
    SELECT a.grantee::regrole INTO v_creator
      FROM pg_catalog.aclexplode(v_acl) a
     WHERE a.privilege_type = 'CREATE' AND a.grantee <> v_owner LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'schema "@extschema@" lets role "%" create objects in it', coalesce(v_creator::text, 'PUBLIC')
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'A role that may create objects in the schema could plant functions that the extension''s SECURITY DEFINER code would run.',
                  HINT = 'Revoke CREATE on the schema from every other role, or drop it before CREATE EXTENSION.';
    END IF;
    SELECT (SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid)
         + (SELECT count(*) FROM pg_catalog.pg_proc p WHERE p.pronamespace = n.oid)
         + (SELECT count(*) FROM pg_catalog.pg_type t WHERE t.typnamespace = n.oid)
         + (SELECT count(*) FROM pg_catalog.pg_operator o WHERE o.oprnamespace = n.oid)
      INTO v_objects
      FROM pg_catalog.pg_namespace n WHERE n.nspname = '@extschema@';
    IF v_objects > 0 THEN
        RAISE EXCEPTION 'schema "@extschema@" already holds % objects', v_objects
            USING ERRCODE = 'duplicate_schema',
                  DETAIL = 'handle_market installs into a schema of its own; objects that were there before would resolve before its own.',
                  HINT = 'Move them out, or drop the schema before CREATE EXTENSION.';
    END IF;
END $$;
-- src/sql/10_handle_type.sql: the handle type, its I/O and its casts.

CREATE TYPE @extschema@.handle;

CREATE FUNCTION @extschema@.handle_in(cstring) RETURNS @extschema@.handle
    AS 'MODULE_PATHNAME', 'handle_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.handle_out(@extschema@.handle) RETURNS cstring
    AS 'MODULE_PATHNAME', 'handle_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.handle_recv(internal) RETURNS @extschema@.handle
    AS 'MODULE_PATHNAME', 'handle_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.handle_send(@extschema@.handle) RETURNS bytea
    AS 'MODULE_PATHNAME', 'handle_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- STORAGE extended: short values get one-byte headers, like text.
CREATE TYPE @extschema@.handle (
    INPUT = @extschema@.handle_in,
    OUTPUT = @extschema@.handle_out,
    RECEIVE = @extschema@.handle_recv,
    SEND = @extschema@.handle_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended,
    CATEGORY = 'S'
);

COMMENT ON TYPE @extschema@.handle IS
    'a social platform handle in canonical form (RFC 8265 UsernameCaseMapped: width-mapped, lowercased, NFC; letters, marks, digits and _ only)';

CREATE FUNCTION @extschema@.handle(text) RETURNS @extschema@.handle
    AS 'MODULE_PATHNAME', 'handle_from_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.handle_to_text(@extschema@.handle) RETURNS text
    AS 'MODULE_PATHNAME', 'handle_to_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- text -> handle validates, so it is never implicit.  handle -> text is not
-- implicit either: it would let text's = compare a handle with text as
-- typed ('elonmusk' = 'ElonMusk' is false), silently, wherever this schema
-- is not on search_path.  Without it, handle = text finds no operator (an
-- error), or this schema's handle-text operators, which canonicalize.
CREATE CAST (text AS @extschema@.handle)
    WITH FUNCTION @extschema@.handle(text) AS ASSIGNMENT;
CREATE CAST (@extschema@.handle AS text)
    WITH FUNCTION @extschema@.handle_to_text(@extschema@.handle) AS ASSIGNMENT;
-- src/sql/20_handle_operators.sql: comparison operators and the default
-- btree and hash operator classes.  Comparisons are byte comparisons of the
-- canonical form; they cannot fail, so they are LEAKPROOF.

CREATE FUNCTION @extschema@.handle_eq(@extschema@.handle, @extschema@.handle) RETURNS boolean
    AS 'MODULE_PATHNAME', 'handle_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.handle_ne(@extschema@.handle, @extschema@.handle) RETURNS boolean
    AS 'MODULE_PATHNAME', 'handle_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.handle_lt(@extschema@.handle, @extschema@.handle) RETURNS boolean
    AS 'MODULE_PATHNAME', 'handle_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.handle_le(@extschema@.handle, @extschema@.handle) RETURNS boolean
    AS 'MODULE_PATHNAME', 'handle_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.handle_gt(@extschema@.handle, @extschema@.handle) RETURNS boolean
    AS 'MODULE_PATHNAME', 'handle_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.handle_ge(@extschema@.handle, @extschema@.handle) RETURNS boolean
    AS 'MODULE_PATHNAME', 'handle_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.handle_cmp(@extschema@.handle, @extschema@.handle) RETURNS integer
    AS 'MODULE_PATHNAME', 'handle_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.handle_hash(@extschema@.handle) RETURNS integer
    AS 'MODULE_PATHNAME', 'handle_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.handle_hash_extended(@extschema@.handle, bigint) RETURNS bigint
    AS 'MODULE_PATHNAME', 'handle_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.handle_sortsupport(internal) RETURNS void
    AS 'MODULE_PATHNAME', 'handle_sortsupport' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.= (
    LEFTARG = @extschema@.handle, RIGHTARG = @extschema@.handle,
    FUNCTION = @extschema@.handle_eq,
    COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR @extschema@.<> (
    LEFTARG = @extschema@.handle, RIGHTARG = @extschema@.handle,
    FUNCTION = @extschema@.handle_ne,
    COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR @extschema@.< (
    LEFTARG = @extschema@.handle, RIGHTARG = @extschema@.handle,
    FUNCTION = @extschema@.handle_lt,
    COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR @extschema@.<= (
    LEFTARG = @extschema@.handle, RIGHTARG = @extschema@.handle,
    FUNCTION = @extschema@.handle_le,
    COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR @extschema@.> (
    LEFTARG = @extschema@.handle, RIGHTARG = @extschema@.handle,
    FUNCTION = @extschema@.handle_gt,
    COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR @extschema@.>= (
    LEFTARG = @extschema@.handle, RIGHTARG = @extschema@.handle,
    FUNCTION = @extschema@.handle_ge,
    COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);

-- Equal handles are equal bytes, so btree deduplication is safe
-- (btequalimage).
CREATE OPERATOR CLASS @extschema@.handle_ops
    DEFAULT FOR TYPE @extschema@.handle USING btree AS
        OPERATOR 1 @extschema@.<,
        OPERATOR 2 @extschema@.<=,
        OPERATOR 3 @extschema@.=,
        OPERATOR 4 @extschema@.>=,
        OPERATOR 5 @extschema@.>,
        FUNCTION 1 @extschema@.handle_cmp(@extschema@.handle, @extschema@.handle),
        FUNCTION 2 @extschema@.handle_sortsupport(internal),
        FUNCTION 4 btequalimage(oid);

-- min() and max() in handle order (text's follow the collation); the sort
-- operators let the planner read them off a btree index.
CREATE FUNCTION @extschema@.handle_larger(@extschema@.handle, @extschema@.handle) RETURNS @extschema@.handle
    AS 'MODULE_PATHNAME', 'handle_larger' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.handle_smaller(@extschema@.handle, @extschema@.handle) RETURNS @extschema@.handle
    AS 'MODULE_PATHNAME', 'handle_smaller' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE @extschema@.max(@extschema@.handle) (
    SFUNC = @extschema@.handle_larger, STYPE = @extschema@.handle,
    COMBINEFUNC = @extschema@.handle_larger, SORTOP = OPERATOR(@extschema@.>),
    PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.min(@extschema@.handle) (
    SFUNC = @extschema@.handle_smaller, STYPE = @extschema@.handle,
    COMBINEFUNC = @extschema@.handle_smaller, SORTOP = OPERATOR(@extschema@.<),
    PARALLEL = SAFE
);

CREATE OPERATOR CLASS @extschema@.handle_ops
    DEFAULT FOR TYPE @extschema@.handle USING hash AS
        OPERATOR 1 @extschema@.=,
        FUNCTION 1 @extschema@.handle_hash(@extschema@.handle),
        FUNCTION 2 @extschema@.handle_hash_extended(@extschema@.handle, bigint);

-- handle OP text and text OP handle (varchar coerces to text): the text is
-- canonicalized as handle input (bad text: 22P02), so 'ElonMusk'::text
-- equals the handle elonmusk.  The support function rewrites each clause
-- into the handle operator on handle(text), which the handle indexes serve.
-- Not LEAKPROOF: bad text raises an error that shows it.
CREATE FUNCTION @extschema@.handle_text_support(internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'handle_text_support' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.handle_eq_text(@extschema@.handle, text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'handle_eq_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SUPPORT @extschema@.handle_text_support;
CREATE FUNCTION @extschema@.text_eq_handle(text, @extschema@.handle) RETURNS boolean
    AS 'MODULE_PATHNAME', 'text_eq_handle' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SUPPORT @extschema@.handle_text_support;
CREATE FUNCTION @extschema@.handle_ne_text(@extschema@.handle, text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'handle_ne_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SUPPORT @extschema@.handle_text_support;
CREATE FUNCTION @extschema@.text_ne_handle(text, @extschema@.handle) RETURNS boolean
    AS 'MODULE_PATHNAME', 'text_ne_handle' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SUPPORT @extschema@.handle_text_support;
CREATE FUNCTION @extschema@.handle_lt_text(@extschema@.handle, text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'handle_lt_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SUPPORT @extschema@.handle_text_support;
CREATE FUNCTION @extschema@.text_lt_handle(text, @extschema@.handle) RETURNS boolean
    AS 'MODULE_PATHNAME', 'text_lt_handle' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SUPPORT @extschema@.handle_text_support;
CREATE FUNCTION @extschema@.handle_le_text(@extschema@.handle, text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'handle_le_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SUPPORT @extschema@.handle_text_support;
CREATE FUNCTION @extschema@.text_le_handle(text, @extschema@.handle) RETURNS boolean
    AS 'MODULE_PATHNAME', 'text_le_handle' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SUPPORT @extschema@.handle_text_support;
CREATE FUNCTION @extschema@.handle_gt_text(@extschema@.handle, text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'handle_gt_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SUPPORT @extschema@.handle_text_support;
CREATE FUNCTION @extschema@.text_gt_handle(text, @extschema@.handle) RETURNS boolean
    AS 'MODULE_PATHNAME', 'text_gt_handle' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SUPPORT @extschema@.handle_text_support;
CREATE FUNCTION @extschema@.handle_ge_text(@extschema@.handle, text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'handle_ge_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SUPPORT @extschema@.handle_text_support;
CREATE FUNCTION @extschema@.text_ge_handle(text, @extschema@.handle) RETURNS boolean
    AS 'MODULE_PATHNAME', 'text_ge_handle' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SUPPORT @extschema@.handle_text_support;
CREATE OPERATOR @extschema@.= (
    LEFTARG = @extschema@.handle, RIGHTARG = text, FUNCTION = @extschema@.handle_eq_text,
    COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel
);
CREATE OPERATOR @extschema@.= (
    LEFTARG = text, RIGHTARG = @extschema@.handle, FUNCTION = @extschema@.text_eq_handle,
    COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel
);
CREATE OPERATOR @extschema@.<> (
    LEFTARG = @extschema@.handle, RIGHTARG = text, FUNCTION = @extschema@.handle_ne_text,
    COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR @extschema@.<> (
    LEFTARG = text, RIGHTARG = @extschema@.handle, FUNCTION = @extschema@.text_ne_handle,
    COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR @extschema@.< (
    LEFTARG = @extschema@.handle, RIGHTARG = text, FUNCTION = @extschema@.handle_lt_text,
    COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR @extschema@.< (
    LEFTARG = text, RIGHTARG = @extschema@.handle, FUNCTION = @extschema@.text_lt_handle,
    COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR @extschema@.<= (
    LEFTARG = @extschema@.handle, RIGHTARG = text, FUNCTION = @extschema@.handle_le_text,
    COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR @extschema@.<= (
    LEFTARG = text, RIGHTARG = @extschema@.handle, FUNCTION = @extschema@.text_le_handle,
    COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR @extschema@.> (
    LEFTARG = @extschema@.handle, RIGHTARG = text, FUNCTION = @extschema@.handle_gt_text,
    COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR @extschema@.> (
    LEFTARG = text, RIGHTARG = @extschema@.handle, FUNCTION = @extschema@.text_gt_handle,
    COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR @extschema@.>= (
    LEFTARG = @extschema@.handle, RIGHTARG = text, FUNCTION = @extschema@.handle_ge_text,
    COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR @extschema@.>= (
    LEFTARG = text, RIGHTARG = @extschema@.handle, FUNCTION = @extschema@.text_ge_handle,
    COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);
-- src/sql/30_handle_functions.sql: confusable keys and sign-up profiles.

CREATE FUNCTION @extschema@.confusable_key(@extschema@.handle) RETURNS text
    AS 'MODULE_PATHNAME', 'handle_confusable_key'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.confusable_key(@extschema@.handle) IS
    'a key shared by handles a reader could mistake for each other (elon_musk, eIon_musk, e1on_musk, Cyrillic еlon_musk)';

-- Not STRICT: a NULL candidate gets a reason, since NULL means acceptable.
CREATE FUNCTION @extschema@.check_handle(candidate text, profile text DEFAULT 'x_classic')
    RETURNS text
    AS 'MODULE_PATHNAME', 'handle_check'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.check_handle(text, text) IS
    'NULL when candidate is acceptable under the profile (x_classic or precis), otherwise the reason; never raises for bad input';
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
-- src/sql/52_row_rules.sql: the row rules of the tables every sale writes
-- (handles, ledger_accounts, transfers, outbox), one CHECK constraint per
-- table, in C (src/core/row_rules.c).  PostgreSQL reads each CHECK
-- constraint of a table from its stored text on every statement that
-- writes the table; as sixteen constraints, with the enumerations as arrays
-- of text, that reading was a sixth of the CPU of a purchase.  Each function
-- returns true or raises check_violation naming the rule the row breaks.
-- The rules are listed in each table's constraint comment.

CREATE FUNCTION @extschema@.handles_row_rules(handle @extschema@.handle, display text,
        state text, owner_id bigint, released_at timestamptz, notice_at timestamptz,
        list_price_cents bigint, listed_at timestamptz, hold_reason text, held_at timestamptz)
    RETURNS boolean AS 'MODULE_PATHNAME', 'hm_handles_row_rules'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.ledger_accounts_row_rules(kind text, account_id bigint, slot integer,
        balance bigint, held bigint)
    RETURNS boolean AS 'MODULE_PATHNAME', 'hm_ledger_accounts_row_rules'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.transfers_row_rules(idempotency_key text, kind text)
    RETURNS boolean AS 'MODULE_PATHNAME', 'hm_transfers_row_rules'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.outbox_row_rules(kind text)
    RETURNS boolean AS 'MODULE_PATHNAME', 'hm_outbox_row_rules'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
-- src/sql/55_registry_tables.sql: accounts, handles, reserved names, history,
-- notifications and release runs.

CREATE TABLE @extschema@.accounts (
    account_id bigint PRIMARY KEY,
    subscription text NOT NULL DEFAULT 'none'
        CHECK (subscription IN ('none', 'basic', 'premium', 'premium_plus')),
    verified boolean NOT NULL DEFAULT false,
    status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'suspended', 'deactivated', 'memorialized')),
    -- No index covers last_active_at, so touch() stays a HOT update; the
    -- release sweep walks handles in key order instead.
    last_active_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 90);
COMMENT ON TABLE @extschema@.accounts IS 'the platform''s accounts, by the application''s own ids';

-- One row per handle that is or was registered.  The stored state changes
-- only with the owner's behaviour; what follows a release is computed
-- (release_phase) from released_at and the policy version.
CREATE TABLE @extschema@.handles (
    handle @extschema@.handle PRIMARY KEY,
    display text NOT NULL,
    key text COLLATE "C" GENERATED ALWAYS AS (@extschema@.confusable_key(handle)) STORED,
    owner_id bigint REFERENCES @extschema@.accounts,
    state text NOT NULL,
    registered_at timestamptz NOT NULL,
    notice_at timestamptz,
    released_at timestamptz,
    previous_owner_id bigint REFERENCES @extschema@.accounts,
    -- the policy version its clocks run under.  No foreign key: policy is
    -- append-only (its guard refuses updates and deletes) and every writer
    -- takes the version from it, while a key would make every new handle
    -- lock the same policy row (FOR KEY SHARE), so concurrent sales and
    -- release batches would share that lock through multixacts.
    -- check_invariants() checks it.
    policy_version integer NOT NULL,
    hold_reason text,
    held_at timestamptz,
    -- the market: a fixed-price listing by the owner, and the lock that a
    -- change of owner starts (no sale or transfer before it ends)
    list_price_cents bigint,
    listed_at timestamptz,
    transfer_locked_until timestamptz,
    CONSTRAINT handles_row_rules CHECK (@extschema@.handles_row_rules(handle, display, state,
        owner_id, released_at, notice_at, list_price_cents, listed_at, hold_reason, held_at))
) WITH (fillfactor = 60);
COMMENT ON CONSTRAINT handles_row_rules ON @extschema@.handles IS
    'display canonicalizes to handle; state is registered, at_risk or released; an owner exactly '
    'when not released; released_at exactly when released; notice_at exactly when at_risk; a '
    'listing has a positive price and listed_at, and a released handle has none; a hold has '
    'hold_reason and held_at (src/core/row_rules.c)';
-- fillfactor: room on each page for the sweep's updates (a notice, a release,
-- up to 40% of a page's rows at once) to be HOT, since none of them changes
-- an indexed column; at 80 a third of them were not, each then inserting
-- into all four indexes.  Keys are compared bytewise (COLLATE "C"): they are
-- identifiers, not words, and memcmp keeps index maintenance cheap.
COMMENT ON TABLE @extschema@.handles IS 'every handle that is or was registered';

-- No two handles a reader could mistake for each other.  A released handle
-- keeps its row, and its key, until someone takes it: a look-alike of a
-- released handle is as much an impersonation as one of a registered handle.
CREATE UNIQUE INDEX handles_key ON @extschema@.handles (key);
CREATE INDEX handles_owner ON @extschema@.handles (owner_id);
CREATE INDEX handles_previous_owner ON @extschema@.handles (previous_owner_id);

CREATE TABLE @extschema@.reserved (
    pattern text PRIMARY KEY,
    key text COLLATE "C" NOT NULL,
    kind text NOT NULL CHECK (kind IN ('handle', 'substring')),
    reason text NOT NULL CHECK (reason IN ('system', 'brand', 'offensive', 'legal')),
    note text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (key = @extschema@.confusable_key(pattern::@extschema@.handle))
);
COMMENT ON TABLE @extschema@.reserved IS
    'reserved handles and forbidden substrings, matched on confusable keys';
INSERT INTO @extschema@.reserved (pattern, key, kind, reason, note)
SELECT p, @extschema@.confusable_key(p::@extschema@.handle), 'substring', r, n
  FROM (VALUES ('twitter', 'brand', 'the platform''s name'),
               ('admin', 'system', 'impersonates staff')) AS v(p, r, n);

-- Who asked: the role that called the API function (guard.c).  Inside the
-- SECURITY DEFINER implementations current_user is the extension's owner.
CREATE FUNCTION @extschema@.actor() RETURNS text
    AS 'MODULE_PATHNAME', 'hm_actor' LANGUAGE C STABLE;

CREATE TABLE @extschema@.handle_events (
    event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    handle @extschema@.handle NOT NULL,
    from_state text,
    to_state text NOT NULL,
    at timestamptz NOT NULL,
    account_id bigint,
    actor text NOT NULL DEFAULT @extschema@.actor(),
    reason text NOT NULL
);
CREATE INDEX handle_events_handle ON @extschema@.handle_events (handle, event_id);
COMMENT ON TABLE @extschema@.handle_events IS 'append-only history of every state change';

CREATE TABLE @extschema@.outbox (
    message_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    account_id bigint,
    handle @extschema@.handle NOT NULL,
    at timestamptz NOT NULL,
    detail text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT outbox_row_rules CHECK (@extschema@.outbox_row_rules(kind))
);
COMMENT ON CONSTRAINT outbox_row_rules ON @extschema@.outbox IS
    'kind is inactivity_notice, released, restored, registered, held, hold_released, sold, '
    'bought, handle_sent, handle_received, outbid, auction_ended, offer_received or offer_ended '
    '(src/core/row_rules.c)';
COMMENT ON TABLE @extschema@.outbox IS
    'notifications for the application to deliver; read with outbox_after(), woken by NOTIFY handle_market';

CREATE TABLE @extschema@.release_runs (
    run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    as_of timestamptz NOT NULL,
    dry_run boolean NOT NULL,
    batch_size integer NOT NULL,
    resumed_run_id bigint REFERENCES @extschema@.release_runs,
    last_handle @extschema@.handle,
    batches integer NOT NULL DEFAULT 0,
    examined bigint NOT NULL DEFAULT 0,
    noticed bigint NOT NULL DEFAULT 0,
    released bigint NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    status text NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'finished', 'interrupted'))
);
COMMENT ON TABLE @extschema@.release_runs IS 'one row per release_dormant run, updated as each batch commits';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.policy', 'WHERE version > 1');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.accounts', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.handles', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.reserved', $$WHERE pattern NOT IN ('twitter', 'admin')$$);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.handle_events', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outbox', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.release_runs', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.handle_events_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outbox_message_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.release_runs_run_id_seq', '');
-- src/sql/60_guard.sql: the guard.  State and history tables accept writes
-- only while an API function runs (see src/guard.c); history tables accept
-- nothing but inserts.  The triggers are ordinary ones, so a superuser's
-- restore with session_replication_role = replica (or a data-only
-- pg_restore -a --disable-triggers after the schema) can load a dump;
-- nothing else gets past them.

CREATE FUNCTION @extschema@.guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'hm_guard' LANGUAGE C;

CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.accounts
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.handles
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.reserved
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.release_runs
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.policy
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only');
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.handle_events
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only');
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.outbox
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only');

-- One wake-up per statement, not per row: a release batch writes thousands
-- of messages; the application reads them with outbox_after().
--
-- A transaction that sent a NOTIFY commits while holding PostgreSQL's one
-- notification lock, so every writer that notifies commits one at a time:
-- at 8 clients, buy() spent most of its time waiting for that lock.  A
-- session that writes many small transactions and whose consumer polls
-- outbox_after() anyway may turn the wake-up off:
--   SET handle_market.outbox_notify = off
-- (or ALTER ROLE app SET ...).  The messages are written either way.
-- In C (src/outbox_notify.c): it runs after every statement that writes
-- the outbox.
CREATE FUNCTION @extschema@.outbox_notify() RETURNS trigger
    AS 'MODULE_PATHNAME', 'hm_outbox_notify'
    LANGUAGE C;
CREATE TRIGGER notify AFTER INSERT ON @extschema@.outbox
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.outbox_notify();
-- src/sql/65_internal.sql: helpers the API implementations share.  They write
-- only while the gate is open, so calling them directly achieves nothing.

-- Times in messages: UTC, the same whatever the session's DateStyle or
-- TimeZone, since outbox messages are stored and delivered elsewhere.
CREATE FUNCTION @extschema@.utc_time(ts timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"');
END;

CREATE FUNCTION @extschema@.utc_date(ts timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD');
END;

-- Writes happen at the server's time (src/server_time.c): the time a write
-- runs at, or HM017 when the caller asked for another one; no time may be
-- infinite.  The gate applies the same check to every API function that
-- writes; these are for the procedures and the reads written in SQL.
CREATE FUNCTION @extschema@._write_time(at timestamptz, arg text) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'hm_write_time_sql' LANGUAGE C STABLE STRICT;
CREATE FUNCTION @extschema@._read_time(at timestamptz, arg text) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'hm_read_time_sql' LANGUAGE C IMMUTABLE STRICT;

-- An account is exempt from release under a policy version.  No SET
-- clause, so that the sweep's query inlines it; a BEGIN ATOMIC body binds
-- its names when it is created, so the caller's search_path cannot change
-- what it means.  The account comes as columns, not as a row: building a
-- row value for each of a batch's accounts would cost more than the test.
CREATE FUNCTION @extschema@.is_exempt(verified boolean, subscription text, status text,
                                      p @extschema@.policy)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT (verified AND p.exempt_verified)
        OR (subscription <> 'none' AND p.exempt_subscribers)
        OR (status = 'memorialized' AND p.exempt_memorialized);
END;

CREATE FUNCTION @extschema@._record(p_handle @extschema@.handle, p_from text, p_to text,
                                    p_at timestamptz, p_account_id bigint, p_reason text,
                                    p_notice text DEFAULT NULL, p_notice_detail text DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    INSERT INTO handle_events (handle, from_state, to_state, at, account_id, reason)
    VALUES (p_handle, p_from, p_to, p_at, p_account_id, p_reason);
    IF p_notice IS NOT NULL THEN
        INSERT INTO outbox (kind, account_id, handle, at, detail)
        VALUES (p_notice, p_account_id, p_handle, p_at, p_notice_detail);
    END IF;
END $$;

-- HM011 for an account id that names no account.  A NULL id names none at
-- all: that is a missing argument (22004), named as the caller calls it
-- (p_argument), not an unknown account.
CREATE FUNCTION @extschema@._unknown_account(p_account_id bigint,
                                             p_argument text DEFAULT 'account_id')
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_account_id IS NULL THEN
        RAISE EXCEPTION '% must not be null', p_argument
            USING ERRCODE = 'null_value_not_allowed',
                  DETAIL = format('%s identifies the account to act for; NULL identifies none.',
                                  p_argument);
    END IF;
    RAISE EXCEPTION 'account % does not exist', p_account_id
        USING ERRCODE = 'HM011',
              HINT = 'Create it first with handle_market.upsert_account().';
END $$;

CREATE FUNCTION @extschema@._require_account(p_account_id bigint, p_lock text DEFAULT 'share',
                                             p_argument text DEFAULT 'account_id')
    RETURNS @extschema@.accounts
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v accounts;
BEGIN
    IF p_account_id IS NULL THEN
        PERFORM _unknown_account(NULL, p_argument);
    END IF;
    -- accounts are always locked before handles, everywhere: no deadlocks
    IF p_lock = 'update' THEN
        SELECT * INTO v FROM accounts WHERE account_id = p_account_id FOR NO KEY UPDATE;
    ELSE
        SELECT * INTO v FROM accounts WHERE account_id = p_account_id FOR SHARE;
    END IF;
    IF NOT FOUND THEN
        PERFORM _unknown_account(p_account_id, p_argument);
    END IF;
    RETURN v;
END $$;

-- HM010, in the words src/market.c uses too (refuse_held): a held handle
-- does not move.
CREATE FUNCTION @extschema@._refuse_held(p_handle @extschema@.handle, p_hold_reason text)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_hold_reason IS NOT NULL THEN
        RAISE EXCEPTION 'handle "%" is under hold', p_handle
            USING ERRCODE = 'HM010', DETAIL = format('hold: %s', p_hold_reason);
    END IF;
END $$;

CREATE FUNCTION @extschema@._canonical(p_candidate text) RETURNS @extschema@.handle
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF p_candidate IS NULL THEN
        RAISE EXCEPTION 'handle must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN p_candidate::handle;
END $$;

-- Registering, restoring, buying, bidding and offering are activity, like
-- touch().  The activity lock comes first, before any row (activity_lock.c):
-- callers take it at their start, through this function or directly.
CREATE FUNCTION @extschema@._mark_active(p_account_id bigint, p_at timestamptz)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    PERFORM activity_lock_shared();
    UPDATE accounts SET last_active_at = p_at
     WHERE account_id = p_account_id AND last_active_at < p_at;
END $$;

-- The reservation a confusable key falls under, if any: a reserved handle
-- with the same key, or a forbidden substring inside the key.
CREATE FUNCTION @extschema@.reservation_for(p_key text) RETURNS @extschema@.reserved
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT * FROM @extschema@.reserved r
     WHERE (r.kind = 'handle' AND r.key = p_key)
        OR (r.kind = 'substring' AND strpos(p_key, r.key) > 0)
     ORDER BY r.kind, r.pattern LIMIT 1;
END;
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
    IF p_account_id IS NULL OR p_subscription IS NULL OR p_verified IS NULL OR p_active_at IS NULL THEN
        RAISE EXCEPTION 'upsert_account arguments must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
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
    -- an owner at risk who is active again keeps the handle, at once
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
-- (touch's cache).  Versions are only inserted: the guard refuses the rest.
CREATE FUNCTION @extschema@.policy_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'hm_policy_changed' LANGUAGE C;
CREATE TRIGGER policy_changed AFTER INSERT ON @extschema@.policy
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.policy_changed();
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
                USING ERRCODE = 'HM001', HINT = 'lookup() explains a handle''s state.';
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
            RAISE EXCEPTION 'handle "%" is taken', v_handle USING ERRCODE = 'HM001';
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
        RAISE EXCEPTION 'handle "%" is not under hold', v_handle USING ERRCODE = 'HM008';
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
-- src/sql/75_pricing.sql: what the platform asks for a handle.  Prices are
-- bigint cents.  Like policy, the pricing configuration is versioned by
-- effective date: a version is in force from its effective_from until the
-- next one's; versions are only added (add_pricing_version), never changed.
-- The arithmetic is in C (src/core/pricing.c, src/pricing_sql.c).

CREATE TABLE @extschema@.pricing (
    version integer PRIMARY KEY,
    effective_from timestamptz NOT NULL UNIQUE,
    -- the ENS-style premium on a released handle: S, halving every H
    premium_start_cents bigint NOT NULL CHECK (premium_start_cents >= 0),
    premium_half_life interval NOT NULL
        CHECK (premium_half_life > '0' AND date_part('month', premium_half_life) = 0
               AND date_part('year', premium_half_life) = 0),
    -- what a premium-list entry without a price of its own costs
    priority_price_cents bigint NOT NULL CHECK (priority_price_cents > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.pricing IS
    'versioned pricing; a version is in force from effective_from until the next';

-- The base price of a released handle by the length of its canonical form:
-- handles of min_length code points or more, up to the next tier.
CREATE TABLE @extschema@.price_tiers (
    version integer NOT NULL REFERENCES @extschema@.pricing,
    min_length integer NOT NULL CHECK (min_length BETWEEN 1 AND 64),
    price_cents bigint NOT NULL CHECK (price_cents >= 0),
    PRIMARY KEY (version, min_length)
);
COMMENT ON TABLE @extschema@.price_tiers IS 'base price by handle length, per pricing version';

-- The platform's commission on a sale between users, by the seller's
-- subscription, in basis points (10000 = 100 %).
CREATE TABLE @extschema@.commission_rates (
    version integer NOT NULL REFERENCES @extschema@.pricing,
    subscription text NOT NULL CHECK (subscription IN ('none', 'basic', 'premium', 'premium_plus')),
    bps integer NOT NULL CHECK (bps BETWEEN 0 AND 10000),
    PRIMARY KEY (version, subscription)
);
COMMENT ON TABLE @extschema@.commission_rates IS 'commission by subscription, per pricing version';

-- The defaults come from the anchors: ENS's $50,000 premium halving daily
-- over the policy's 21-day window, X's $50,000 priority handles, a price
-- by length as ENS does, and X's subscription tiers.
INSERT INTO @extschema@.pricing VALUES (1, '-infinity', 5000000, '24 hours', 5000000, now());
INSERT INTO @extschema@.price_tiers VALUES (1, 4, 1000000), (1, 5, 250000), (1, 6, 50000), (1, 7, 5000);
INSERT INTO @extschema@.commission_rates VALUES
    (1, 'none', 1000), (1, 'basic', 800), (1, 'premium', 500), (1, 'premium_plus', 300);

-- Handles the platform sells itself, at a flat price, before anyone holds
-- them.  The confusable key is unique and register_handle() matches on it,
-- so a look-alike of a premium handle ("e1on" for "elon") cannot be
-- registered for free either.  An entry applies only while the handle has no
-- row in handles: once it is sold, its row decides.
CREATE TABLE @extschema@.premium_handles (
    handle @extschema@.handle PRIMARY KEY,
    key text COLLATE "C" GENERATED ALWAYS AS (@extschema@.confusable_key(handle)) STORED,
    category text NOT NULL CHECK (category IN ('priority', 'rare')),
    -- NULL: the priority_price_cents of the pricing version in force
    price_cents bigint CHECK (price_cents > 0),
    set_by text NOT NULL DEFAULT @extschema@.actor(),     -- who called, as in the history
    set_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX premium_handles_key ON @extschema@.premium_handles (key);
COMMENT ON TABLE @extschema@.premium_handles IS
    'the premium list: handles the platform sells at a flat price, matched on confusable keys';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.pricing', 'WHERE version > 1');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_tiers', 'WHERE version > 1');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.commission_rates', 'WHERE version > 1');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.premium_handles', '');

-- Written only through the API; the versions only by insert.  The seeds
-- above went in before the guard existed.
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.pricing
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only');
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.price_tiers
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only');
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.commission_rates
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only');
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.premium_handles
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();

-- price() keeps a copy of the versions and of the premium list in each
-- backend; a change drops every copy (policy_changed() invalidates the
-- relcache entry of the table it fires on: touch's policy copy relies on it).
-- Commission rates are read in SQL (quote()), so they need no trigger.
CREATE TRIGGER pricing_changed AFTER INSERT ON @extschema@.pricing
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.policy_changed();
CREATE TRIGGER pricing_changed AFTER INSERT ON @extschema@.price_tiers
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.policy_changed();
CREATE TRIGGER pricing_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.premium_handles
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.policy_changed();

-- The version in force at as_of.
-- PL/pgSQL, like policy_at(): its query is planned once per session (a SQL
-- function with a SET clause is never inlined, and would read and plan its
-- body on every call).
CREATE FUNCTION @extschema@.pricing_at(as_of timestamptz DEFAULT now())
    RETURNS @extschema@.pricing
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v @extschema@.pricing;
BEGIN
    SELECT * INTO v FROM @extschema@.pricing p
     WHERE p.effective_from <= pricing_at.as_of
     ORDER BY p.effective_from DESC
     LIMIT 1;
    RETURN CASE WHEN FOUND THEN v END;
END $$;

-- The commission on a sale by a seller with this subscription at as_of.
CREATE FUNCTION @extschema@.commission_bps(subscription text, as_of timestamptz DEFAULT now())
    RETURNS integer
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT r.bps FROM @extschema@.commission_rates r
             WHERE r.version = (SELECT p.version FROM @extschema@.pricing p
                                 WHERE p.effective_from <= commission_bps.as_of
                                 ORDER BY p.effective_from DESC LIMIT 1)
               AND r.subscription = commission_bps.subscription);
END $$;

-- Pure arithmetic (src/core): public, like release_phase().
CREATE FUNCTION @extschema@.commission_fee(price_cents bigint, bps integer)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_commission_fee'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.commission_fee(bigint, integer) IS
    'floor(price_cents * bps / 10000), exact for every bigint price';

CREATE FUNCTION @extschema@.decaying_premium(elapsed interval, start_cents bigint DEFAULT 5000000,
                                             half_life interval DEFAULT '24 hours',
                                             premium_window interval DEFAULT '21 days')
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_decaying_premium'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.decaying_premium(interval, bigint, interval, interval) IS
    'floor(S * 2^(-t/H)) - floor(S * 2^(-W/H)), clipped at 0 and 0 from t = W on, in cents';

-- "$50,000.00", "-$1.50": C (src/core/money.c), as every message writes it
CREATE FUNCTION @extschema@.dollars(cents bigint) RETURNS text
    AS 'MODULE_PATHNAME', 'hm_dollars' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- What the platform asks for a handle at as_of; NULL when it is not selling
-- it.  A handle with a row: held, or owned and not listed -> NULL; listed by
-- its owner -> the listing price; released -> by its phase (policy version
-- of the release): redemption and quarantine NULL, premium base + premium,
-- available base.  Without a row: on the premium list -> its price (NULL if
-- reserved since); otherwise NULL (free to register, reserved or a
-- look-alike).  Base: the tier of the version in force at as_of; premium:
-- the curve of the version in force when the premium phase began.  HM004
-- for a candidate that is not a handle under the profile in force (unless
-- it has a row), HM013 when a price leaves bigint.
CREATE FUNCTION @extschema@.price(candidate text, as_of timestamptz DEFAULT now())
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_price'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.price(text, timestamptz) IS
    'what the platform asks for a handle at as_of, in cents; NULL when it is not selling it';

-- The same computation, with its parts, for quote() and register_handle().
CREATE FUNCTION @extschema@._price_parts(candidate text, as_of timestamptz,
        OUT handle @extschema@.handle, OUT source text, OUT price_cents bigint,
        OUT length integer, OUT base_cents bigint, OUT premium_cents bigint,
        OUT premium_day integer, OUT premium_days integer, OUT pricing_version integer,
        OUT phase_ends_at timestamptz, OUT next_pricing_at timestamptz,
        OUT owner_id bigint, OUT state text, OUT category text,
        OUT own_price boolean, OUT transfer_locked_until timestamptz)
    AS 'MODULE_PATHNAME', 'hm_price_parts'
    LANGUAGE C STABLE STRICT;

-- One row: the price, the platform's fee out of it, who is paid, until when
-- the price holds, and why.  valid_until: a fixed price holds until the next
-- pricing version begins (NULL when none is scheduled; a listing and a
-- premium entry with a price of its own until someone changes them: NULL).
-- The decaying premium only falls, so price_cents is the most a purchase
-- before valid_until costs; valid_until is one minute on (or the end of the
-- premium phase, or the next version, if sooner), after which the quote is
-- stale: the price falls by up to 0.05 % a minute.  A buyer passes
-- price_cents as max_price_cents.  Not for sale: redemption and quarantine
-- until their end (the price is fixed by then), else NULL.
CREATE FUNCTION @extschema@.quote(candidate text, buyer_id bigint, as_of timestamptz DEFAULT now(),
                                  OUT price_cents bigint, OUT fee_cents bigint,
                                  OUT seller_id bigint, OUT valid_until timestamptz,
                                  OUT reason text)
    AS 'MODULE_PATHNAME', 'hm_quote_sql'
    LANGUAGE C STABLE SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp;

-- Why a handle nobody holds and nobody sells is not for sale: reserved, or
-- a look-alike of a handle or of a premium-list entry; else it is free.
-- Called by quote() (src/quote.c).
CREATE FUNCTION @extschema@._unsold_reason(p_handle @extschema@.handle)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_res reserved;
    v_other text;
BEGIN
    v_res := reservation_for(confusable_key(p_handle));
    IF v_res.pattern IS NOT NULL THEN
        RETURN format('not for sale: reserved (%s)', v_res.reason);
    END IF;
    SELECT format('"%s"', h.handle) INTO v_other
      FROM handles h WHERE h.key = confusable_key(p_handle);
    IF v_other IS NULL THEN
        SELECT format('%s handle "%s"', m.category, m.handle) INTO v_other
          FROM premium_handles m WHERE m.key = confusable_key(p_handle);
    END IF;
    RETURN coalesce('not for sale: confusable with ' || v_other, 'free to register');
END $$;
COMMENT ON FUNCTION @extschema@.quote(text, bigint, timestamptz) IS
    'the price of a handle for a buyer: price, the platform''s fee, the seller (NULL: the platform), until when it holds, and why';

-- The premium list.  An entry is refused for a handle that exists (its row
-- decides its price), is reserved, or is confusable with a handle or with
-- another entry.
CREATE FUNCTION @extschema@._set_premium(p_candidate text, p_price_cents bigint, p_category text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_policy policy := policy_at(now());
    v_reason text := check_handle(p_candidate, v_policy.profile);
    v_handle handle;
    v_key text;
    v_res reserved;
    v_row handles;
    v_other premium_handles;
BEGIN
    IF v_reason IS NOT NULL THEN
        RAISE EXCEPTION 'handle "%" does not meet the % profile', p_candidate, v_policy.profile
            USING ERRCODE = 'HM004', DETAIL = v_reason;
    END IF;
    IF p_category IS NULL OR p_category NOT IN ('priority', 'rare') THEN
        RAISE EXCEPTION 'unknown premium category "%"', p_category
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Categories are priority and rare.';
    END IF;
    IF p_price_cents <= 0 THEN
        RAISE EXCEPTION 'a premium price must be positive'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The price given is %s cents.', p_price_cents),
                  HINT = 'Pass NULL for the default priority price of the pricing version in force.';
    END IF;
    v_handle := p_candidate::handle;
    v_key := confusable_key(v_handle);
    v_res := reservation_for(v_key);
    IF v_res.pattern IS NOT NULL THEN
        RAISE EXCEPTION 'handle "%" is reserved', v_handle
            USING ERRCODE = 'HM003',
                  DETAIL = format('reserved (%s): %s "%s"', v_res.reason,
                                  CASE v_res.kind WHEN 'substring' THEN 'contains' ELSE 'looks like' END,
                                  v_res.pattern);
    END IF;
    SELECT * INTO v_row FROM handles WHERE key = v_key;
    IF FOUND AND v_row.handle = v_handle THEN
        PERFORM _refuse_held(v_handle, v_row.hold_reason);
        RAISE EXCEPTION 'handle "%" cannot go on the premium list', v_handle
            USING ERRCODE = 'HM008',
                  DETAIL = CASE WHEN v_row.state = 'released'
                                THEN 'It is released; the platform sells it through its release phases.'
                                ELSE format('It is %s by account %s.', replace(v_row.state, '_', ' '), v_row.owner_id) END;
    ELSIF FOUND THEN
        RAISE EXCEPTION 'handle "%" is confusable with "%"', v_handle, v_row.handle
            USING ERRCODE = 'HM002',
                  DETAIL = format('"%s" and "%s" share the confusable key "%s".', v_handle, v_row.handle, v_key);
    END IF;
    SELECT * INTO v_other FROM premium_handles WHERE key = v_key AND handle <> v_handle;
    IF FOUND THEN
        RAISE EXCEPTION 'handle "%" is confusable with % handle "%"', v_handle, v_other.category, v_other.handle
            USING ERRCODE = 'HM002',
                  DETAIL = format('"%s" and "%s" share the confusable key "%s".', v_handle, v_other.handle, v_key);
    END IF;
    -- An entry already there is changed to what is given (as before); the
    -- same entry again (a retry after a lost answer) is left as it is, with
    -- its set_by and set_at: the WHERE makes the upsert write nothing.  ON
    -- CONFLICT locks the existing row first, so two identical calls at once
    -- insert once and find the row the second time.
    INSERT INTO premium_handles (handle, category, price_cents)
    VALUES (v_handle, p_category, p_price_cents)
    ON CONFLICT (handle) DO UPDATE
       SET category = excluded.category, price_cents = excluded.price_cents,
           set_by = excluded.set_by, set_at = excluded.set_at
     WHERE (premium_handles.category, premium_handles.price_cents)
           IS DISTINCT FROM (excluded.category, excluded.price_cents);
END $$;

CREATE FUNCTION @extschema@.set_premium(candidate text, price_cents bigint DEFAULT 5000000,
                                        category text DEFAULT 'priority')
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.set_premium(text, bigint, text) IS
    'puts a handle nobody holds on the premium list (or changes its entry): the platform sells it at price_cents (NULL: the pricing version''s default priority price)';

-- Taking off an entry that is not there succeeds and says so (false), like
-- unreserve_handle() and a DELETE that finds no row: a retry after a lost
-- answer finds the handle off the list, as the first call left it.
CREATE FUNCTION @extschema@._unset_premium(p_candidate text)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    DELETE FROM premium_handles WHERE handle = _canonical(p_candidate);
    RETURN FOUND;
END $$;

CREATE FUNCTION @extschema@.unset_premium(candidate text)
    RETURNS boolean AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.unset_premium(text) IS
    'takes a handle off the premium list; false when it was not on it';

-- A new pricing version: the version in force at effective_from, with the
-- given changes: premium_start_cents, premium_half_life,
-- priority_price_cents, tiers (replaces the whole table: {"4": 1000000,
-- "5": 250000, ...}) and commission_bps (changes the subscriptions given:
-- {"basic": 700}).  Each version starts after the last one.
--
-- A retry after a lost answer: a version that starts at effective_from
-- already, with what this call would give it (the version before it with
-- the changes: the three prices, the tiers, the rates), is returned as it
-- is.  Anything else at the same time is refused (22023, like any other
-- time that is not after the last version), and the detail names what
-- differs.
CREATE FUNCTION @extschema@._add_pricing_version(p_effective_from timestamptz, p_changes jsonb)
    RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_changes jsonb := coalesce(p_changes, '{}');
    v_last pricing;
    v_same pricing;
    v_new pricing;
    v_bad text;
    v_tiers jsonb;
    v_rates jsonb;
    v_new_tiers jsonb;
    v_new_rates jsonb;
    v_diff text;
BEGIN
    IF jsonb_typeof(v_changes) <> 'object' THEN
        RAISE EXCEPTION 'pricing changes must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- one version added at a time, as in _add_policy_version: two identical
    -- calls at once would both read the same last version and both insert
    LOCK TABLE pricing IN SHARE ROW EXCLUSIVE MODE;
    -- a retry: the version that starts then, built on the one before it
    -- (the first version, which no call added, is no retry)
    SELECT * INTO v_same FROM pricing WHERE effective_from = p_effective_from;
    IF FOUND THEN
        SELECT * INTO v_last FROM pricing WHERE version < v_same.version ORDER BY version DESC LIMIT 1;
        IF NOT FOUND THEN
            v_same := NULL;
        END IF;
    END IF;
    IF v_same.version IS NULL THEN
        SELECT * INTO v_last FROM pricing ORDER BY version DESC LIMIT 1;
        IF p_effective_from IS NULL OR p_effective_from <= v_last.effective_from THEN
            RAISE EXCEPTION 'a new pricing version must start after the last one'
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('Version %s starts at %s.', v_last.version, v_last.effective_from);
        END IF;
        -- a version that starts in the past would change what was in force
        -- then, under answers already given; only a replay may write history
        IF p_effective_from < now() AND NOT current_setting('handle_market.simulated_time')::boolean THEN
            RAISE EXCEPTION 'a new pricing version cannot start in the past'
                USING ERRCODE = 'HM017',
                      DETAIL = format('It would start at %s; the server''s time is %s.',
                                      utc_time(p_effective_from), utc_time(now()));
        END IF;
    END IF;
    SELECT string_agg(k, ', ' ORDER BY k) INTO v_bad FROM jsonb_object_keys(v_changes) k
     WHERE k NOT IN ('premium_start_cents', 'premium_half_life', 'priority_price_cents',
                     'tiers', 'commission_bps');
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'unknown pricing settings: %', v_bad
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Settings are premium_start_cents, premium_half_life, priority_price_cents, tiers and commission_bps.';
    END IF;

    v_new := v_last;
    v_new.version := v_last.version + 1;
    v_new.effective_from := p_effective_from;
    v_new.created_at := now();
    BEGIN
        v_new.premium_start_cents := coalesce((v_changes->>'premium_start_cents')::bigint, v_last.premium_start_cents);
        v_new.premium_half_life := coalesce((v_changes->>'premium_half_life')::interval, v_last.premium_half_life);
        v_new.priority_price_cents := coalesce((v_changes->>'priority_price_cents')::bigint, v_last.priority_price_cents);
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION 'invalid pricing setting'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = SQLERRM;
    END;
    -- the detail names the first setting that is wrong, and why
    IF v_new.premium_start_cents < 0 OR v_new.priority_price_cents <= 0
       OR v_new.premium_half_life <= '0' OR date_part('month', v_new.premium_half_life) <> 0
       OR date_part('year', v_new.premium_half_life) <> 0 THEN
        RAISE EXCEPTION 'invalid pricing setting'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = CASE
                      WHEN v_new.premium_start_cents < 0
                      THEN format('premium_start_cents must be at least 0; it was %s.',
                                  v_new.premium_start_cents)
                      WHEN v_new.priority_price_cents <= 0
                      THEN format('priority_price_cents must be above 0; it was %s.',
                                  v_new.priority_price_cents)
                      WHEN v_new.premium_half_life <= '0'
                      THEN format('premium_half_life must be positive; it was %s.',
                                  v_new.premium_half_life)
                      ELSE format('premium_half_life must be given in days, hours or smaller units; '
                                  'it was %s, and a month has no fixed length.',
                                  v_new.premium_half_life) END;
    END IF;

    -- tiers: all given, or all the last version's
    v_tiers := v_changes->'tiers';
    IF v_tiers IS NOT NULL THEN
        IF jsonb_typeof(v_tiers) <> 'object' OR v_tiers = '{}' THEN
            RAISE EXCEPTION 'tiers must be a non-empty JSON object of min_length: price_cents'
                USING ERRCODE = 'invalid_parameter_value', DETAIL = format('tiers: %s', v_tiers);
        END IF;
        SELECT string_agg(format('%s: %s', t.key, t.value), ', ') INTO v_bad FROM jsonb_each(v_tiers) t
         WHERE t.key !~ '^[0-9]{1,2}$' OR t.key::integer NOT BETWEEN 1 AND 64
            OR jsonb_typeof(t.value) <> 'number' OR t.value::text !~ '^[0-9]{1,19}$'
            OR t.value::numeric > 9223372036854775807;
        IF v_bad IS NOT NULL THEN
            RAISE EXCEPTION 'invalid price tiers'
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('%s: a tier is a length from 1 to 64 and a price of at least 0 cents.', v_bad);
        END IF;
    END IF;
    v_rates := coalesce(v_changes->'commission_bps', '{}');
    IF jsonb_typeof(v_rates) <> 'object' THEN
        RAISE EXCEPTION 'commission_bps must be a JSON object of subscription: basis points'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('commission_bps: %s', v_rates);
    END IF;
    SELECT string_agg(format('%s: %s', r.key, r.value), ', ') INTO v_bad FROM jsonb_each(v_rates) r
     WHERE r.key NOT IN ('none', 'basic', 'premium', 'premium_plus')
        OR jsonb_typeof(r.value) <> 'number' OR r.value::text !~ '^[0-9]{1,5}$'
        OR r.value::numeric > 10000;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'invalid commission rates'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('%s: subscriptions are none, basic, premium and premium_plus; rates are 0 to 10000 basis points.', v_bad);
    END IF;

    IF v_same.version IS NOT NULL THEN
        -- what the version's tables would hold, to compare with a version that
        -- starts at the same time: tiers by length ("04" is 4), rates by
        -- subscription
        IF v_tiers IS NOT NULL THEN
            SELECT jsonb_object_agg(t.key::integer, t.value::text::bigint) INTO v_new_tiers
              FROM jsonb_each(v_tiers) t;
        ELSE
            SELECT jsonb_object_agg(t.min_length, t.price_cents) INTO v_new_tiers
              FROM price_tiers t WHERE t.version = v_last.version;
        END IF;
        SELECT jsonb_object_agg(r.subscription, coalesce((v_rates->>r.subscription)::integer, r.bps))
          INTO v_new_rates
          FROM commission_rates r WHERE r.version = v_last.version;

        SELECT string_agg(format('%s: %s in version %s, %s in this call', d.name, d.old, v_same.version, d.new),
                          '; ' ORDER BY d.ord) || '.'
          INTO v_diff
          FROM (VALUES (1, 'premium_start_cents', v_same.premium_start_cents::text,
                           v_new.premium_start_cents::text,
                           v_same.premium_start_cents = v_new.premium_start_cents),
                       (2, 'premium_half_life', v_same.premium_half_life::text,
                           v_new.premium_half_life::text,
                           v_same.premium_half_life = v_new.premium_half_life),
                       (3, 'priority_price_cents', v_same.priority_price_cents::text,
                           v_new.priority_price_cents::text,
                           v_same.priority_price_cents = v_new.priority_price_cents),
                       (4, 'tiers', (SELECT jsonb_object_agg(t.min_length, t.price_cents)
                                       FROM price_tiers t WHERE t.version = v_same.version)::text,
                           v_new_tiers::text, NULL),
                       (5, 'commission_bps', (SELECT jsonb_object_agg(r.subscription, r.bps)
                                                FROM commission_rates r WHERE r.version = v_same.version)::text,
                           v_new_rates::text, NULL)) d(ord, name, old, new, equal)
         WHERE NOT coalesce(d.equal, d.old::jsonb = d.new::jsonb);
        IF v_diff IS NULL THEN
            RETURN v_same.version;
        END IF;
        RAISE EXCEPTION 'pricing version % already starts at %', v_same.version, utc_time(v_same.effective_from)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = v_diff,
                  HINT = 'A version is never changed; add one that starts later.';
    END IF;

    BEGIN
        INSERT INTO pricing SELECT v_new.*;
    EXCEPTION WHEN unique_violation THEN
        -- REPEATABLE READ or SERIALIZABLE: the snapshot predates a version
        -- that another call added while this one waited for the lock.  A
        -- retry in a new transaction sees it (and returns it, if it is this
        -- one).
        RAISE EXCEPTION 'could not serialize access due to a concurrent pricing version'
            USING ERRCODE = 'serialization_failure',
                  DETAIL = format('Version %s was added after this transaction began.', v_new.version);
    END;
    IF v_tiers IS NOT NULL THEN
        INSERT INTO price_tiers (version, min_length, price_cents)
        SELECT v_new.version, t.key::integer, t.value::text::bigint FROM jsonb_each(v_tiers) t;
    ELSE
        INSERT INTO price_tiers (version, min_length, price_cents)
        SELECT v_new.version, t.min_length, t.price_cents FROM price_tiers t WHERE t.version = v_last.version;
    END IF;
    INSERT INTO commission_rates (version, subscription, bps)
    SELECT v_new.version, r.subscription, coalesce((v_rates->>r.subscription)::integer, r.bps)
      FROM commission_rates r WHERE r.version = v_last.version;
    RETURN v_new.version;
END $$;

CREATE FUNCTION @extschema@.add_pricing_version(effective_from timestamptz, changes jsonb)
    RETURNS integer AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.add_pricing_version(timestamptz, jsonb) IS
    'adds a pricing version in force from effective_from: the previous version with the given changes, such as {"tiers": {"4": 2000000, "5": 250000, "6": 50000, "7": 5000}}';
-- src/sql/76_ledger.sql: the ledger.  Double entry, append-only, idempotent.
--
-- A transfer is one movement of money (or, for a handle transfer, of no
-- money) under an idempotency key; its entries sum to zero, which a deferred
-- constraint trigger checks at commit.  Neither transfers nor entries are
-- ever updated or deleted.  The writing functions are C (src/ledger.c,
-- src/market.c), through SPI with saved plans.

-- Ledger accounts.  A user's wallet keeps its running balance, so that "may
-- this user spend x?" is one locked row; it can never go below zero.  The
-- platform's accounts (commission, and the payment processor through which
-- money comes in and goes out) keep none: their balance is the sum of their
-- entries.  So a sale updates no row that another sale updates, and the
-- platform's side is split in slots chosen by transfer id so that neither
-- do all sales append to one place of the entries index.
CREATE TABLE @extschema@.ledger_accounts (
    ledger_account_id bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 1001) PRIMARY KEY,
    kind text NOT NULL,
    account_id bigint UNIQUE REFERENCES @extschema@.accounts,
    slot integer,
    balance bigint,             -- wallets: posted balance, the sum of the entries
    held bigint,                -- wallets: money set aside by open bids and offers
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ledger_accounts_row_rules
        CHECK (@extschema@.ledger_accounts_row_rules(kind, account_id, slot, balance, held)),
    CHECK (held >= 0 AND balance >= held),      -- nobody spends money they lack
    UNIQUE (kind, slot)
);
COMMENT ON CONSTRAINT ledger_accounts_row_rules ON @extschema@.ledger_accounts IS
    'kind is wallet, fee or payments; a wallet, and only a wallet, belongs to an account and '
    'keeps a balance and held money; a platform account, and only a platform account, has a '
    'slot '
    '(src/core/row_rules.c)';
COMMENT ON TABLE @extschema@.ledger_accounts IS
    'wallets (one per user, with their balance) and the platform''s fee and payments slots';

-- The platform's slots, with fixed ids below the wallets': fee slot s is
-- s + 1, payments slot s is s + 101.  They never change, so the dump leaves
-- them out (the extension script makes them).
INSERT INTO @extschema@.ledger_accounts (ledger_account_id, kind, slot)
SELECT s + 1, 'fee', s FROM generate_series(0, 15) s
UNION ALL
SELECT s + 101, 'payments', s FROM generate_series(0, 15) s;

CREATE FUNCTION @extschema@.ledger_slots() RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 16;

-- Idempotency keys are scoped to the account that acts (the depositor, the
-- buyer, the giver, the bidder, the offerer), as Stripe scopes them to an
-- account: nobody can spend, block or read another account's key.  A
-- closing (hold_void, hold_post) has no key: it is the one transfer whose
-- pending_id is its hold, so no caller's key can stand in its way.
CREATE TABLE @extschema@.transfers (
    transfer_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_account_id bigint,
    idempotency_key text COLLATE "C",
    kind text NOT NULL,
    -- a hold_void or hold_post closes the pending hold made by this transfer
    pending_id bigint,
    -- the request's parameters: a replay must repeat them exactly
    request text NOT NULL,
    handle @extschema@.handle,
    at timestamptz NOT NULL,
    actor text NOT NULL DEFAULT @extschema@.actor(),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT transfers_row_rules CHECK (@extschema@.transfers_row_rules(idempotency_key, kind))
);
-- Partial: a closing has no key, and most transfers close nothing, so
-- neither index carries an entry for the rows it cannot constrain.
CREATE UNIQUE INDEX transfers_key ON @extschema@.transfers (key_account_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX transfers_closing ON @extschema@.transfers (pending_id)
    WHERE pending_id IS NOT NULL;
COMMENT ON CONSTRAINT transfers_row_rules ON @extschema@.transfers IS
    'the idempotency key is not empty; kind is deposit, withdrawal, purchase, handle_transfer, '
    'hold, hold_void or hold_post; a closing transfer (hold_void, hold_post) has no idempotency '
    'key, and every other transfer has one (src/core/row_rules.c)';
COMMENT ON TABLE @extschema@.transfers IS
    'every movement, once per idempotency key; append-only';

-- Keyed calls that move no money: list_handle, unlist_handle, start_auction,
-- cancel_auction, accept_offer and cancel_offer.  The same scoping and the
-- same replay rule as transfers (src/ledger.c): a retry of the same request
-- returns what the first call returned (result: an auction or a transfer).
CREATE TABLE @extschema@.requests (
    account_id bigint NOT NULL,
    idempotency_key text COLLATE "C" NOT NULL CHECK (idempotency_key <> ''),
    request text NOT NULL,
    result bigint,
    at timestamptz NOT NULL,
    actor text NOT NULL DEFAULT @extschema@.actor(),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, idempotency_key)
);
COMMENT ON TABLE @extschema@.requests IS
    'the idempotency keys of the calls that move no money, per account, with what each returned';
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.requests
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
SELECT pg_catalog.pg_extension_config_dump('@extschema@.requests', '');

CREATE FUNCTION @extschema@._claim_request(p_account_id bigint, p_key text, p_request text,
                                           p_at timestamptz, OUT replayed boolean, OUT result bigint)
    AS 'MODULE_PATHNAME', 'hm_claim_request' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@._request_done(p_account_id bigint, p_key text, p_result bigint)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_request_done' LANGUAGE C VOLATILE;

-- No foreign keys: a key check takes a share lock on the row it points to,
-- and every sale would then lock the same platform slot.  Only the ledger's
-- C code writes entries, for rows it has just written or locked, and
-- check_invariants() verifies that every entry's transfer and account exist.
CREATE TABLE @extschema@.entries (
    entry_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transfer_id bigint NOT NULL,
    ledger_account_id bigint NOT NULL,
    amount bigint NOT NULL CHECK (amount <> 0)      -- credit > 0, debit < 0
);
CREATE INDEX entries_transfer ON @extschema@.entries (transfer_id);
CREATE INDEX entries_account ON @extschema@.entries (ledger_account_id);
COMMENT ON TABLE @extschema@.entries IS
    'the legs of each transfer; each transfer''s legs sum to zero; append-only';

-- At commit: the entries of each transfer written in the transaction sum to
-- zero.  C, and once per transfer however many legs it has (ledger.c).
CREATE FUNCTION @extschema@.entries_balanced() RETURNS trigger
    AS 'MODULE_PATHNAME', 'hm_entries_balanced' LANGUAGE C;
CREATE CONSTRAINT TRIGGER balanced AFTER INSERT ON @extschema@.entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION @extschema@.entries_balanced();
-- An ordinary trigger, like the guard: a superuser in session_replication_role
-- replica (a restore) turns both off, and ENABLE ALWAYS would not survive
-- pg_restore --disable-triggers anyway (it re-enables as ENABLE).

CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.ledger_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.transfers
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only');
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.entries
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ledger_accounts', $$WHERE kind = 'wallet'$$);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfers', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.entries', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ledger_accounts_ledger_account_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.transfers_transfer_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.entries_entry_id_seq', '');

-- Money in and out.  C wrappers that open the gate around the C
-- implementations in ledger.c.
CREATE FUNCTION @extschema@._deposit(p_account_id bigint, p_amount_cents bigint,
                                     p_idempotency_key text, p_at timestamptz)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_deposit'
    LANGUAGE C SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp;
CREATE FUNCTION @extschema@.deposit(account_id bigint, amount_cents bigint,
                                    idempotency_key text, at timestamptz DEFAULT now())
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.deposit(bigint, bigint, text, timestamptz) IS
    'money arriving from the payment processor into a wallet; returns the transfer id; idempotent';

CREATE FUNCTION @extschema@._withdraw(p_account_id bigint, p_amount_cents bigint,
                                      p_idempotency_key text, p_at timestamptz)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_withdraw'
    LANGUAGE C SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp;
CREATE FUNCTION @extschema@.withdraw(account_id bigint, amount_cents bigint,
                                     idempotency_key text, at timestamptz DEFAULT now())
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.withdraw(bigint, bigint, text, timestamptz) IS
    'a payout from a wallet to the payment processor; returns the transfer id; idempotent';

-- What the user may spend: the posted balance less what bids and offers hold.
CREATE FUNCTION @extschema@.balance(account_id bigint) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_available bigint;
BEGIN
    IF NOT EXISTS (SELECT FROM accounts a WHERE a.account_id = balance.account_id) THEN
        PERFORM _unknown_account(balance.account_id);
    END IF;
    SELECT l.balance - l.held INTO v_available
      FROM ledger_accounts l WHERE l.account_id = balance.account_id;
    RETURN coalesce(v_available, 0);
END $$;
COMMENT ON FUNCTION @extschema@.balance(bigint) IS
    'what a user may spend: the wallet''s posted balance less what open bids and offers hold';

-- The balance of any ledger account, wallet or platform slot, from its entries.
CREATE FUNCTION @extschema@.ledger_balance(ledger_account_id bigint) RETURNS bigint
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT coalesce(sum(e.amount), 0)::bigint FROM @extschema@.entries e
     WHERE e.ledger_account_id = ledger_balance.ledger_account_id;
END;
-- src/sql/77_market.sql: listings, the atomic sale, the transfer of a handle,
-- and the invariants an auditor checks.  The implementations are C
-- (src/market.c); each API function is the gate in front of one.

-- Listing and unlisting are C (market.c); the key, when one is given, is
-- claimed first (src/ledger.c), so a retry after a lost answer does nothing
-- and succeeds again.
CREATE FUNCTION @extschema@._list_handle_c(p_candidate text, p_seller_id bigint,
                                           p_price_cents bigint, p_as_of timestamptz)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_list_handle' LANGUAGE C;
CREATE FUNCTION @extschema@._list_handle(p_candidate text, p_seller_id bigint,
                                         p_price_cents bigint, p_as_of timestamptz, p_key text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF p_seller_id IS NOT NULL AND (_claim_request(p_seller_id, p_key,
            format('list_handle(candidate => %L, seller_id => %s, price_cents => %s)',
                   p_candidate, p_seller_id, p_price_cents), p_as_of)).replayed THEN
        RETURN;
    END IF;
    PERFORM _list_handle_c(p_candidate, p_seller_id, p_price_cents, p_as_of);
END $$;
CREATE FUNCTION @extschema@.list_handle(candidate text, seller_id bigint, price_cents bigint,
                                        as_of timestamptz DEFAULT now(),
                                        idempotency_key text DEFAULT NULL)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.list_handle(text, bigint, bigint, timestamptz, text) IS
    'the owner offers a handle at a fixed price (a new price replaces the old one); with a key, a retry does nothing and succeeds';

CREATE FUNCTION @extschema@._unlist_handle_c(p_candidate text, p_seller_id bigint,
                                             p_as_of timestamptz)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_unlist_handle' LANGUAGE C;
CREATE FUNCTION @extschema@._unlist_handle(p_candidate text, p_seller_id bigint,
                                           p_as_of timestamptz, p_key text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF p_seller_id IS NOT NULL AND (_claim_request(p_seller_id, p_key,
            format('unlist_handle(candidate => %L, seller_id => %s)', p_candidate, p_seller_id),
            p_as_of)).replayed THEN
        RETURN;
    END IF;
    PERFORM _unlist_handle_c(p_candidate, p_seller_id, p_as_of);
END $$;
CREATE FUNCTION @extschema@.unlist_handle(candidate text, seller_id bigint,
                                          as_of timestamptz DEFAULT now(),
                                          idempotency_key text DEFAULT NULL)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.unlist_handle(text, bigint, timestamptz, text) IS
    'the owner withdraws a listing; with a key, a retry does nothing and succeeds';

CREATE FUNCTION @extschema@._buy(p_candidate text, p_buyer_id bigint, p_max_price_cents bigint,
                                 p_idempotency_key text, p_as_of timestamptz)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_buy'
    LANGUAGE C SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp;
CREATE FUNCTION @extschema@.buy(candidate text, buyer_id bigint, max_price_cents bigint,
                                idempotency_key text, as_of timestamptz DEFAULT now())
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.buy(text, bigint, bigint, text, timestamptz) IS
    'buys a handle from the platform or from its owner''s listing, atomically; returns the transfer id; idempotent';

CREATE FUNCTION @extschema@._transfer_handle(p_candidate text, p_from_id bigint, p_to_id bigint,
                                             p_idempotency_key text, p_as_of timestamptz)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_transfer_handle'
    LANGUAGE C SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp;
CREATE FUNCTION @extschema@.transfer_handle(candidate text, from_id bigint, to_id bigint,
                                            idempotency_key text, as_of timestamptz DEFAULT now())
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.transfer_handle(text, bigint, bigint, text, timestamptz) IS
    'gives a handle to another user without money, under the same rules as a sale; idempotent';
-- src/sql/78_auctions.sql: escrow holds, English auctions and offers.
--
-- A bid or an offer sets money aside as a pending hold (src/escrow.c): the
-- bidder's available balance falls at once; the hold ends posted (the sale,
-- src/market.c _sell_from_hold) or voided (outbid, cancelled, expired).
--
-- Lock order, on top of the market's (accounts, handles, wallets in id
-- order): an auction's row before anything it touches; a handle's row
-- before its offers.  Every transaction takes all the wallets it writes in
-- one statement, in ledger account id order, and waits for no wallet after
-- that: a bid its two (the new bidder's, the outbid one's), a sale or a
-- transfer those of its buyer, seller and offerers, a settlement batch
-- those of all its sales together (see _settle_batch).  Offers and holds
-- are locked only by a transaction that holds the lock of their handle (or,
-- for a bid's hold, of its auction), so their place relative to wallets
-- cannot close a cycle.

CREATE TABLE @extschema@.holds (
    hold_id bigint PRIMARY KEY,                 -- the 'hold' transfer
    account_id bigint NOT NULL,
    ledger_account_id bigint NOT NULL,          -- the wallet
    amount bigint NOT NULL CHECK (amount > 0),
    handle @extschema@.handle NOT NULL,
    opened_at timestamptz NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'posted', 'voided')),
    closed_by bigint,                           -- the 'hold_post' or 'hold_void' transfer
    closed_at timestamptz,
    CHECK ((state = 'pending') = (closed_by IS NULL)),
    CHECK ((state = 'pending') = (closed_at IS NULL))
);
CREATE INDEX holds_pending ON @extschema@.holds (ledger_account_id) WHERE state = 'pending';
COMMENT ON TABLE @extschema@.holds IS
    'money set aside by bids and offers: pending until posted (a sale) or voided';

CREATE FUNCTION @extschema@._hold_open(p_account_id bigint, p_amount bigint, p_key text,
                                       p_request text, p_handle text, p_at timestamptz,
                                       OUT hold_id bigint, OUT created boolean)
    AS 'MODULE_PATHNAME', 'hm_hold_open' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@._hold_void(p_hold_id bigint, p_at timestamptz) RETURNS bigint
    AS 'MODULE_PATHNAME', 'hm_hold_void' LANGUAGE C VOLATILE;
CREATE FUNCTION @extschema@._sell_from_hold(p_handle text, p_hold_id bigint, p_seller_id bigint,
                                            p_as_of timestamptz, p_how text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'hm_sell_from_hold' LANGUAGE C VOLATILE;

CREATE TABLE @extschema@.auctions (
    auction_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    handle @extschema@.handle NOT NULL,
    seller_id bigint,                           -- NULL: the platform
    reserve_cents bigint NOT NULL CHECK (reserve_cents > 0),
    started_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    state text NOT NULL DEFAULT 'open'
        CHECK (state IN ('open', 'settled', 'ended', 'failed', 'cancelled')),
    top_bid_id bigint,
    top_cents bigint,
    top_bidder_id bigint,
    bid_count integer NOT NULL DEFAULT 0,
    sale_transfer_id bigint,
    closed_at timestamptz,
    outcome text,
    CHECK (ends_at > started_at),
    CHECK ((top_bid_id IS NULL) = (top_cents IS NULL) AND (top_bid_id IS NULL) = (top_bidder_id IS NULL)),
    CHECK ((state = 'settled') = (sale_transfer_id IS NOT NULL)),
    CHECK ((state = 'open') = (closed_at IS NULL))
);
CREATE UNIQUE INDEX auctions_one_open ON @extschema@.auctions (handle) WHERE state = 'open';
CREATE INDEX auctions_open_ends ON @extschema@.auctions (ends_at) WHERE state = 'open';
COMMENT ON TABLE @extschema@.auctions IS 'English auctions, by owners and by the platform';

CREATE TABLE @extschema@.bids (
    bid_id bigint PRIMARY KEY,                  -- its hold
    auction_id bigint NOT NULL,
    bidder_id bigint NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    at timestamptz NOT NULL,
    state text NOT NULL CHECK (state IN ('top', 'outbid', 'won', 'refunded'))
);
CREATE INDEX bids_auction ON @extschema@.bids (auction_id);
CREATE UNIQUE INDEX bids_one_top ON @extschema@.bids (auction_id) WHERE state = 'top';
COMMENT ON TABLE @extschema@.bids IS 'every bid; the top one holds its money';

CREATE TABLE @extschema@.offers (
    offer_id bigint PRIMARY KEY,                -- its hold
    handle @extschema@.handle NOT NULL,
    buyer_id bigint NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    made_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    state text NOT NULL DEFAULT 'open'
        CHECK (state IN ('open', 'accepted', 'cancelled', 'voided', 'expired')),
    sale_transfer_id bigint,
    closed_at timestamptz,
    CHECK (expires_at > made_at),
    CHECK ((state = 'accepted') = (sale_transfer_id IS NOT NULL))
);
CREATE INDEX offers_open_handle ON @extschema@.offers (handle) WHERE state = 'open';
CREATE INDEX offers_open_expiry ON @extschema@.offers (expires_at) WHERE state = 'open';
COMMENT ON TABLE @extschema@.offers IS 'offers to owners, each holding its money until it ends';

CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.holds
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.auctions
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.bids
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.offers
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
SELECT pg_catalog.pg_extension_config_dump('@extschema@.holds', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.auctions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.auctions_auction_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bids', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.offers', '');

-- A retried call: the transfer its key made, if it is this same request
-- (HM006 if another); NULL for a new key (src/ledger.c, as every claim).
-- Called once the caller holds the lock a concurrent first call would hold,
-- so that call is seen committed.
CREATE FUNCTION @extschema@._replayed(p_account_id bigint, p_key text, p_kind text, p_request text)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'hm_replayed' LANGUAGE C STABLE STRICT;

-- The arguments a money function refuses when missing, in buy()'s words.
CREATE FUNCTION @extschema@._require_args(p_function text, VARIADIC p_missing boolean[])
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    FOR i IN 1 .. cardinality(p_missing) LOOP
        IF p_missing[i] THEN
            RAISE EXCEPTION 'argument % of % must not be null', i, p_function
                USING ERRCODE = 'null_value_not_allowed';
        END IF;
    END LOOP;
END $$;

-- The owner's handle, locked, and whether it may be put up for sale now.
CREATE FUNCTION @extschema@._sellable_by_owner(p_handle @extschema@.handle, p_seller_id bigint,
                                               p_as_of timestamptz, p_what text)
    RETURNS @extschema@.handles
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    h handles;
BEGIN
    SELECT * INTO h FROM handles WHERE handle = p_handle FOR UPDATE;
    IF NOT FOUND OR h.owner_id IS DISTINCT FROM p_seller_id THEN
        RAISE EXCEPTION 'account % does not own handle "%"', p_seller_id, p_handle
            USING ERRCODE = 'HM008', DETAIL = format('Only the owner of a registered handle may %s it.', p_what);
    END IF;
    PERFORM _refuse_held(p_handle, h.hold_reason);
    IF h.transfer_locked_until > p_as_of THEN
        RAISE EXCEPTION 'handle "%" is under its transfer lock', p_handle
            USING ERRCODE = 'HM007',
                  DETAIL = format('It changed hands recently; the lock ends at %s.', h.transfer_locked_until);
    END IF;
    RETURN h;
END $$;

CREATE FUNCTION @extschema@._no_open_auction(p_handle @extschema@.handle) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    a auctions;
BEGIN
    SELECT * INTO a FROM auctions WHERE handle = p_handle AND state = 'open';
    IF FOUND THEN
        RAISE EXCEPTION 'handle "%" is being auctioned', p_handle
            USING ERRCODE = 'HM008', DETAIL = format('Auction %s is open until %s.', a.auction_id, a.ends_at);
    END IF;
END $$;

CREATE FUNCTION @extschema@._new_auction(p_handle @extschema@.handle, p_seller_id bigint,
                                         p_reserve bigint, p_ends_at timestamptz,
                                         p_as_of timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_id bigint;
BEGIN
    IF p_reserve IS NULL OR p_reserve <= 0 THEN
        RAISE EXCEPTION 'reserve_cents must be positive'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('It was %s cents.', p_reserve);
    END IF;
    IF p_ends_at IS NULL OR p_ends_at <= p_as_of THEN
        RAISE EXCEPTION 'an auction must end after it starts'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It would start at %s and end at %s.', p_as_of, p_ends_at);
    END IF;
    PERFORM _no_open_auction(p_handle);
    BEGIN
        INSERT INTO auctions (handle, seller_id, reserve_cents, started_at, ends_at)
        VALUES (p_handle, p_seller_id, p_reserve, p_as_of, p_ends_at)
        RETURNING auction_id INTO v_id;
    EXCEPTION WHEN unique_violation THEN
        -- a premium-list handle has no row to lock: two platform auctions of
        -- it started at once meet here, the second after the first commits
        PERFORM _no_open_auction(p_handle);
        RAISE;
    END;
    RETURN v_id;
END $$;

CREATE FUNCTION @extschema@._start_auction(p_candidate text, p_seller_id bigint, p_reserve bigint,
                                           p_ends_at timestamptz, p_as_of timestamptz, p_key text)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_handle handle := _canonical(p_candidate);
    h handles;
    v_req record;
    v_id bigint;
BEGIN
    PERFORM _require_account(p_seller_id);
    -- a retry after a lost answer gets the same auction id
    v_req := _claim_request(p_seller_id, p_key,
                            format('start_auction(candidate => %L, seller_id => %s, reserve_cents => %s, ends_at => %s)',
                                   p_candidate, p_seller_id, p_reserve,
                                   to_char(p_ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00')),
                            p_as_of);
    IF v_req.replayed THEN
        RETURN v_req.result;
    END IF;
    h := _sellable_by_owner(v_handle, p_seller_id, p_as_of, 'auction');
    IF h.list_price_cents IS NOT NULL THEN
        RAISE EXCEPTION 'handle "%" is listed at a fixed price', v_handle
            USING ERRCODE = 'HM008', DETAIL = format('It is listed at %s.', dollars(h.list_price_cents)),
                  HINT = 'Unlist it first with handle_market.unlist_handle().';
    END IF;
    v_id := _new_auction(v_handle, p_seller_id, p_reserve, p_ends_at, p_as_of);
    PERFORM _request_done(p_seller_id, p_key, v_id);
    RETURN v_id;
END $$;

CREATE FUNCTION @extschema@.start_auction(candidate text, seller_id bigint, reserve_cents bigint,
                                          ends_at timestamptz, as_of timestamptz DEFAULT now(),
                                          idempotency_key text DEFAULT NULL)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.start_auction(text, bigint, bigint, timestamptz, timestamptz, text) IS
    'the owner auctions a handle it may sell; returns the auction id; with a key, a retry returns the same id';

-- The platform auctions what it would sell: a handle on the premium list or
-- a released handle in its premium or available phase.
CREATE FUNCTION @extschema@._start_platform_auction(p_candidate text, p_reserve bigint,
                                                    p_ends_at timestamptz, p_as_of timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_handle handle := _canonical(p_candidate);
    h handles;
    v_id bigint;
BEGIN
    SELECT * INTO h FROM handles WHERE handle = v_handle FOR UPDATE;
    IF FOUND AND h.owner_id IS NOT NULL THEN
        RAISE EXCEPTION 'handle "%" is not the platform''s to auction', v_handle
            USING ERRCODE = 'HM008', DETAIL = format('Account %s owns it.', h.owner_id);
    END IF;
    PERFORM _refuse_held(v_handle, h.hold_reason);
    -- a retry after a lost answer: the platform's open auction of the handle
    -- with this reserve and end is the one the first call started; its id
    -- again, nothing written.  Any other open auction is refused below
    -- (_no_open_auction: HM008).
    SELECT a.auction_id INTO v_id FROM auctions a
     WHERE a.handle = v_handle AND a.state = 'open' AND a.seller_id IS NULL
       AND a.reserve_cents = p_reserve AND a.ends_at = p_ends_at;
    IF FOUND THEN
        RETURN v_id;
    END IF;
    IF price(v_handle::text, p_as_of) IS NULL THEN
        RAISE EXCEPTION 'handle "%" is not for sale by the platform', v_handle
            USING ERRCODE = 'HM008', DETAIL = (SELECT reason FROM lookup(v_handle::text, p_as_of));
    END IF;
    BEGIN
        RETURN _new_auction(v_handle, NULL, p_reserve, p_ends_at, p_as_of);
    EXCEPTION WHEN SQLSTATE 'HM008' THEN
        -- a premium-list handle has no row to lock, so two identical calls
        -- at once both get here; the second waits on the open-auction index
        -- for the first to commit, and _new_auction then says the handle is
        -- being auctioned.  If that auction is the one this call asks for,
        -- it is this call's outcome.
        SELECT a.auction_id INTO v_id FROM auctions a
         WHERE a.handle = v_handle AND a.state = 'open' AND a.seller_id IS NULL
           AND a.reserve_cents = p_reserve AND a.ends_at = p_ends_at;
        IF FOUND THEN
            RETURN v_id;
        END IF;
        RAISE;
    END;
END $$;

CREATE FUNCTION @extschema@.start_platform_auction(candidate text, reserve_cents bigint,
                                                   ends_at timestamptz, as_of timestamptz DEFAULT now())
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.start_platform_auction(text, bigint, timestamptz, timestamptz) IS
    'the platform auctions a premium-list or released handle; returns the auction id';

-- The least the next bid may be: the reserve, then the top bid plus the
-- larger of $1 and 5% (rounded up to the cent).  numeric: no overflow.
CREATE FUNCTION @extschema@.minimum_bid(top_cents bigint, reserve_cents bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN top_cents IS NULL THEN reserve_cents
                ELSE greatest(top_cents::numeric + 100, ceil(top_cents::numeric * 105 / 100))::bigint END;

CREATE FUNCTION @extschema@._bid(p_candidate text, p_bidder_id bigint, p_amount bigint,
                                 p_key text, p_as_of timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_handle handle := _canonical(p_candidate);
    v_request text := format('bid(candidate => %L, bidder_id => %s, amount_cents => %s)',
                             p_candidate, p_bidder_id, p_amount);
    a auctions;
    v_min bigint;
    v_hold bigint;
    v_created boolean;
    v_ends timestamptz;
    v_raise boolean;
    v_hold_reason text;
BEGIN
    PERFORM _require_args('bid', p_candidate IS NULL, p_bidder_id IS NULL, p_amount IS NULL,
                          p_key IS NULL, p_as_of IS NULL);
    PERFORM _mark_active(p_bidder_id, p_as_of);     -- first: it takes the activity lock
    PERFORM _require_account(p_bidder_id);
    SELECT * INTO a FROM auctions WHERE handle = v_handle AND state = 'open' FOR UPDATE;
    v_hold := _replayed(p_bidder_id, p_key, 'hold', v_request);
    IF v_hold IS NOT NULL THEN
        RETURN v_hold;
    END IF;
    IF a.auction_id IS NULL THEN
        -- the bidder may have seen an auction that has just closed
        SELECT * INTO a FROM auctions WHERE handle = v_handle ORDER BY auction_id DESC LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'the auction of handle "%" is over', v_handle
                USING ERRCODE = 'HM008',
                      DETAIL = format('Auction %s closed at %s: %s.', a.auction_id, utc_time(a.closed_at), a.outcome);
        END IF;
        RAISE EXCEPTION 'handle "%" is not being auctioned', v_handle USING ERRCODE = 'HM008';
    END IF;
    IF p_as_of >= a.ends_at THEN
        RAISE EXCEPTION 'the auction of handle "%" has ended', v_handle
            USING ERRCODE = 'HM008', DETAIL = format('It ended at %s.', a.ends_at);
    END IF;
    IF a.seller_id = p_bidder_id THEN
        RAISE EXCEPTION 'account % cannot bid on its own handle "%"', p_bidder_id, v_handle
            USING ERRCODE = 'HM008';
    END IF;
    -- a held handle does not move: no money is taken for it
    SELECT hold_reason INTO v_hold_reason FROM handles WHERE handle = v_handle;
    PERFORM _refuse_held(v_handle, v_hold_reason);
    v_min := minimum_bid(a.top_cents, a.reserve_cents);
    IF p_amount IS NULL OR p_amount < v_min THEN
        RAISE EXCEPTION 'bid too low for handle "%"', v_handle
            USING ERRCODE = 'HM012',
                  DETAIL = format('The minimum bid is %s (%s); the bid was %s.', dollars(v_min),
                                  CASE WHEN a.top_cents IS NULL THEN 'the reserve'
                                       ELSE format('the top bid %s plus the larger of $1.00 and 5%%',
                                                   dollars(a.top_cents)) END,
                                  dollars(p_amount));
    END IF;
    -- both wallets this bid writes, in id order, before either is written
    PERFORM 1 FROM ledger_accounts
     WHERE account_id IN (p_bidder_id, a.top_bidder_id)
     ORDER BY ledger_account_id FOR NO KEY UPDATE;
    -- The top bid is voided first, so that a top bidder raising its own bid
    -- needs only the new amount.
    v_raise := a.top_bidder_id = p_bidder_id;
    IF a.top_bid_id IS NOT NULL THEN
        PERFORM _hold_void(a.top_bid_id, p_as_of);
        UPDATE bids SET state = 'outbid' WHERE bid_id = a.top_bid_id;
        IF NOT v_raise THEN
            INSERT INTO outbox (kind, account_id, handle, at, detail)
            VALUES ('outbid', a.top_bidder_id, v_handle, p_as_of,
                    format('You were outbid on @%s at %s; your %s is available again.',
                           v_handle, dollars(p_amount), dollars(a.top_cents)));
        END IF;
    END IF;
    SELECT o.hold_id, o.created INTO v_hold, v_created
      FROM _hold_open(p_bidder_id, p_amount, p_key, v_request, v_handle::text, p_as_of) o;
    INSERT INTO bids (bid_id, auction_id, bidder_id, amount_cents, at, state)
    VALUES (v_hold, a.auction_id, p_bidder_id, p_amount, p_as_of, 'top');
    -- a bid in the last hour keeps the auction open an hour after it
    v_ends := greatest(a.ends_at, p_as_of + interval '1 hour');
    UPDATE auctions SET top_bid_id = v_hold, top_cents = p_amount, top_bidder_id = p_bidder_id,
                        bid_count = bid_count + 1, ends_at = v_ends
     WHERE auction_id = a.auction_id;
    RETURN v_hold;
END $$;

CREATE FUNCTION @extschema@.bid(candidate text, bidder_id bigint, amount_cents bigint,
                                idempotency_key text, as_of timestamptz DEFAULT now())
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.bid(text, bigint, bigint, text, timestamptz) IS
    'bids in the open auction of a handle, holding the money; returns the bid id (its hold); idempotent';

CREATE FUNCTION @extschema@._cancel_auction(p_candidate text, p_seller_id bigint,
                                            p_as_of timestamptz, p_key text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_handle handle := _canonical(p_candidate);
    a auctions;
BEGIN
    IF p_seller_id IS NOT NULL AND (_claim_request(p_seller_id, p_key,
            format('cancel_auction(candidate => %L, seller_id => %s)', p_candidate, p_seller_id),
            p_as_of)).replayed THEN
        RETURN;
    END IF;
    SELECT * INTO a FROM auctions WHERE handle = v_handle AND state = 'open' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'handle "%" is not being auctioned', v_handle USING ERRCODE = 'HM008';
    END IF;
    IF a.seller_id IS NULL THEN
        RAISE EXCEPTION 'the auction of handle "%" is the platform''s', v_handle
            USING ERRCODE = 'HM008', DETAIL = 'Only the seller may cancel an auction.';
    END IF;
    IF p_seller_id IS NULL OR a.seller_id <> p_seller_id THEN
        RAISE EXCEPTION 'account % did not start the auction of handle "%"',
                        coalesce(p_seller_id::text, 'NULL'), v_handle
            USING ERRCODE = 'HM008';
    END IF;
    IF a.bid_count > 0 THEN
        RAISE EXCEPTION 'the auction of handle "%" has bids', v_handle
            USING ERRCODE = 'HM008', DETAIL = format('The top bid is %s.', dollars(a.top_cents)),
                  HINT = 'An auction can be cancelled only before its first bid.';
    END IF;
    UPDATE auctions SET state = 'cancelled', closed_at = p_as_of, outcome = 'cancelled by the seller'
     WHERE auction_id = a.auction_id;
END $$;

CREATE FUNCTION @extschema@.cancel_auction(candidate text, seller_id bigint,
                                           as_of timestamptz DEFAULT now(),
                                           idempotency_key text DEFAULT NULL)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;

-- One ended auction: the winner's hold pays (the sale, as buy() makes it);
-- without bids it just ends; a sale that cannot happen any more (the handle
-- was put under hold, taken, the seller lost it, or the seller's balance
-- would overflow) gives the winner's money back, and the run goes on.  NULL when the auction is not open or has not ended at as_of.
CREATE FUNCTION @extschema@._settle_auction(p_auction_id bigint, p_as_of timestamptz)
    RETURNS text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    a auctions;
    v_transfer bigint;
BEGIN
    SELECT * INTO a FROM auctions WHERE auction_id = p_auction_id FOR UPDATE;
    IF a.state <> 'open' OR a.ends_at > p_as_of THEN
        RETURN NULL;
    END IF;
    IF a.top_bid_id IS NULL THEN
        UPDATE auctions SET state = 'ended', closed_at = p_as_of, outcome = 'no bids'
         WHERE auction_id = a.auction_id;
        RETURN 'ended';
    END IF;
    BEGIN
        v_transfer := _sell_from_hold(a.handle::text, a.top_bid_id, a.seller_id, a.ends_at,
                                      format('won auction %s', a.auction_id));
    EXCEPTION WHEN SQLSTATE 'HM007' OR SQLSTATE 'HM008' OR SQLSTATE 'HM010' OR SQLSTATE 'HM013' THEN
        PERFORM _hold_void(a.top_bid_id, p_as_of);
        UPDATE bids SET state = 'refunded' WHERE bid_id = a.top_bid_id;
        UPDATE auctions SET state = 'failed', closed_at = p_as_of, outcome = SQLERRM
         WHERE auction_id = a.auction_id;
        INSERT INTO outbox (kind, account_id, handle, at, detail)
        VALUES ('auction_ended', a.top_bidder_id, a.handle, p_as_of,
                format('The auction of @%s could not be settled (%s); your %s is available again.',
                       a.handle, SQLERRM, dollars(a.top_cents)));
        RETURN 'failed';
    END;
    UPDATE bids SET state = 'won' WHERE bid_id = a.top_bid_id;
    UPDATE auctions SET state = 'settled', closed_at = p_as_of, sale_transfer_id = v_transfer,
                        outcome = format('sold to account %s for %s', a.top_bidder_id, dollars(a.top_cents))
     WHERE auction_id = a.auction_id;
    RETURN 'settled';
END $$;

-- Ends an open offer (false if it had already ended): its money comes back.
CREATE FUNCTION @extschema@._void_offer(p_offer_id bigint, p_state text, p_at timestamptz,
                                        p_why text)
    RETURNS boolean
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    o offers;
BEGIN
    SELECT * INTO o FROM offers WHERE offer_id = p_offer_id FOR UPDATE;
    IF o.state <> 'open' THEN
        RETURN false;
    END IF;
    PERFORM _hold_void(o.offer_id, p_at);
    UPDATE offers SET state = p_state, closed_at = p_at WHERE offer_id = o.offer_id;
    INSERT INTO outbox (kind, account_id, handle, at, detail)
    VALUES ('offer_ended', o.buyer_id, o.handle, p_at,
            format('Your offer of %s for @%s ended: %s; the money is available again.',
                   dollars(o.amount_cents), o.handle, p_why));
    RETURN true;
END $$;

-- Called by every change of owner (src/market.c): the offers were made to
-- the previous owner.  The caller has locked the offerers' wallets.
CREATE FUNCTION @extschema@._void_offers(p_handle @extschema@.handle, p_at timestamptz, p_why text)
    RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_id bigint;
    n integer := 0;
BEGIN
    FOR v_id IN SELECT offer_id FROM offers WHERE handle = p_handle AND state = 'open'
                 ORDER BY offer_id
    LOOP
        IF _void_offer(v_id, 'voided', p_at, p_why) THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END $$;

-- One batch of settlement, in its own transaction: up to p_limit ended
-- auctions or, once none is left, up to p_limit expired offers (never both:
-- a settled auction keeps its wallets locked until the commit).
--
-- Lock order.  Every row the batch will lock is locked first, kind by kind,
-- each kind in one statement and one order: the auctions (by id), their
-- handles (by handle), then every wallet any of its sales will write (by
-- ledger account id, in one statement: the winners', the sellers' and those
-- of everyone with an open offer on an auctioned handle, which the sale
-- voids).  Only then do the sales run, and a sale re-locks wallets the batch
-- already holds, so it never waits for one.  Locking each sale's wallets in
-- turn instead deadlocked (40P01) several times a minute under load: the
-- batch held sale 1's wallet W2 and then waited for sale 2's W1, while a
-- buy() holding W1 waited for W2.
--
-- Why no path can now close a cycle with a batch.  A cycle needs someone
-- who holds a row the batch waits for while waiting for a row the batch
-- holds.  The batch waits only (a) for auctions and handles, before it holds
-- any wallet, and (b) in one ordered statement for wallets; after that,
-- only for rows that the locks it holds make its own (the auctions' winning
-- holds, the offers and holds on its handles, the closings of those holds
-- (unique by hold), the first row of a handle the platform sells, which nobody
-- else may make while its auction is open).  Against (a): no path holds a
-- wallet while it waits for an auction or a handle.  bid() takes its
-- auction, buy(), transfer_handle(), accept_offer(), make_offer() and
-- cancel_offer() their handle, the expiry batch its handles, before any
-- wallet, and after the wallets none waits for another auction or handle;
-- the release batch takes no wallet.  Against (b): each of those paths
-- takes its wallets in one statement in id order too, and waits for no
-- wallet after it (make_offer(), cancel_offer(), deposit() and withdraw()
-- write one), so two transactions that each lock ascending from nothing
-- cannot wait for each other in both directions.
--
-- A seller without a wallet gets it here, before the wallets are locked,
-- not in its sale: a wallet that a first deposit made between this lock and
-- the sale would be one the batch takes late, out of order (and an empty
-- wallet for a sale that then fails is harmless).  Making it can wait only
-- for another transaction making the same wallet (a first deposit, or a
-- sale by that seller), which holds nothing the batch holds.
CREATE FUNCTION @extschema@._settle_batch(p_as_of timestamptz, p_limit integer,
                                          OUT auctions_done integer, OUT offers_expired integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_ids bigint[];
    v_id bigint;
BEGIN
    auctions_done := 0;
    offers_expired := 0;
    -- locked as they are chosen: an auction a last-minute bid has just
    -- extended drops out of the batch
    SELECT array_agg(s.auction_id ORDER BY s.auction_id) INTO v_ids
      FROM (SELECT auction_id FROM auctions WHERE state = 'open' AND ends_at <= p_as_of
             ORDER BY auction_id LIMIT p_limit FOR UPDATE) s;
    IF v_ids IS NOT NULL THEN
        PERFORM 1 FROM handles
         WHERE handle IN (SELECT handle FROM auctions WHERE auction_id = ANY (v_ids))
         ORDER BY handle FOR UPDATE;
        -- only an auction with a top bid is a sale; the auctions and
        -- handles are locked, so neither its parties nor the offers on its
        -- handle (make_offer() shares the handle's lock) change from here
        INSERT INTO ledger_accounts (kind, account_id, balance, held)
        SELECT 'wallet', a.seller_id, 0, 0 FROM auctions a
         WHERE a.auction_id = ANY (v_ids) AND a.top_bid_id IS NOT NULL AND a.seller_id IS NOT NULL
         GROUP BY a.seller_id ORDER BY a.seller_id
            ON CONFLICT (account_id) DO NOTHING;
        PERFORM 1 FROM ledger_accounts
         WHERE account_id IN (SELECT p.account_id
                                FROM auctions a,
                                     LATERAL (VALUES (a.top_bidder_id), (a.seller_id)) p(account_id)
                               WHERE a.auction_id = ANY (v_ids) AND a.top_bid_id IS NOT NULL
                              UNION
                              SELECT o.buyer_id
                                FROM auctions a JOIN offers o ON o.handle = a.handle
                               WHERE a.auction_id = ANY (v_ids) AND a.top_bid_id IS NOT NULL
                                 AND o.state = 'open')
         ORDER BY ledger_account_id FOR NO KEY UPDATE;
        FOREACH v_id IN ARRAY v_ids LOOP
            IF _settle_auction(v_id, p_as_of) IS NOT NULL THEN
                auctions_done := auctions_done + 1;
            END IF;
        END LOOP;
        RETURN;
    END IF;

    SELECT array_agg(s.offer_id ORDER BY s.offer_id) INTO v_ids
      FROM (SELECT offer_id FROM offers WHERE state = 'open' AND expires_at <= p_as_of
             ORDER BY expires_at, offer_id LIMIT p_limit) s;
    IF v_ids IS NULL THEN
        RETURN;
    END IF;
    PERFORM 1 FROM handles
     WHERE handle IN (SELECT handle FROM offers WHERE offer_id = ANY (v_ids))
     ORDER BY handle FOR SHARE;
    PERFORM 1 FROM offers WHERE offer_id = ANY (v_ids) ORDER BY offer_id FOR UPDATE;
    PERFORM 1 FROM ledger_accounts
     WHERE account_id IN (SELECT buyer_id FROM offers WHERE offer_id = ANY (v_ids))
     ORDER BY ledger_account_id FOR NO KEY UPDATE;
    FOREACH v_id IN ARRAY v_ids LOOP
        IF _void_offer(v_id, 'expired', p_as_of, 'it expired') THEN
            offers_expired := offers_expired + 1;
        END IF;
    END LOOP;
END $$;

CREATE FUNCTION @extschema@.settle_batch(as_of timestamptz, batch_size integer,
                                         OUT auctions_done integer, OUT offers_expired integer)
    AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.settle_lock_try() RETURNS boolean
    AS 'MODULE_PATHNAME', 'hm_settle_lock_try' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION @extschema@.settle_lock_release() RETURNS boolean
    AS 'MODULE_PATHNAME', 'hm_settle_lock_release' LANGUAGE C VOLATILE STRICT;

-- Settles every auction that has ended and voids every expired offer, in
-- batches of its own transaction.  One run at a time; a rerun after a crash
-- finds only what is left (settled auctions are no longer open).
CREATE PROCEDURE @extschema@.settle_auctions(as_of timestamptz DEFAULT now(),
                                             batch_size integer DEFAULT 100)
    LANGUAGE plpgsql
AS $$
DECLARE
    v record;
    v_auctions bigint := 0;
    v_offers bigint := 0;
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RAISE NOTICE 'settle_auctions: this server is a replica; nothing to do';
        RETURN;
    END IF;
    IF NOT @extschema@.settle_lock_try() THEN
        RAISE EXCEPTION 'another settlement run is in progress'
            USING ERRCODE = 'HM016',
                  DETAIL = 'One settlement run at a time; this one did nothing.';
    END IF;
    -- refuses a time that is not the server's before any batch
    PERFORM @extschema@._write_time(as_of, 'as_of');
    LOOP
        -- each batch at its own transaction's time, unless time is simulated:
        -- a long run must not settle by a clock that stopped at its start
        SELECT * INTO v FROM @extschema@.settle_batch(
            CASE WHEN pg_catalog.current_setting('handle_market.simulated_time')::boolean
                 THEN as_of ELSE pg_catalog.now() END, batch_size);
        COMMIT;
        v_auctions := v_auctions + v.auctions_done;
        v_offers := v_offers + v.offers_expired;
        EXIT WHEN v.auctions_done = 0 AND v.offers_expired = 0;
    END LOOP;
    PERFORM @extschema@.settle_lock_release();
    RAISE NOTICE 'settle_auctions: % auctions closed, % offers expired', v_auctions, v_offers;
END $$;

CREATE FUNCTION @extschema@._make_offer(p_candidate text, p_buyer_id bigint, p_amount bigint,
                                        p_expires_at timestamptz, p_key text, p_as_of timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_handle handle := _canonical(p_candidate);
    -- expires_at in UTC: the same request from a session in another zone
    v_request text := format('make_offer(candidate => %L, buyer_id => %s, amount_cents => %s, expires_at => %s)',
                             p_candidate, p_buyer_id, p_amount,
                             to_char(p_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00'));
    h handles;
    v_hold bigint;
    v_created boolean;
BEGIN
    PERFORM _require_args('make_offer', p_candidate IS NULL, p_buyer_id IS NULL, p_amount IS NULL,
                          p_expires_at IS NULL, p_key IS NULL, p_as_of IS NULL);
    PERFORM _mark_active(p_buyer_id, p_as_of);      -- first: it takes the activity lock
    PERFORM _require_account(p_buyer_id);
    -- shared: offers may be made side by side, but not while the handle moves
    SELECT * INTO h FROM handles WHERE handle = v_handle FOR SHARE;
    v_hold := _replayed(p_buyer_id, p_key, 'hold', v_request);
    IF v_hold IS NOT NULL THEN
        RETURN v_hold;
    END IF;
    IF h.owner_id IS NULL THEN
        RAISE EXCEPTION 'handle "%" has no owner to make an offer to', v_handle
            USING ERRCODE = 'HM008', HINT = 'lookup() says how it may be had.';
    END IF;
    IF h.owner_id = p_buyer_id THEN
        RAISE EXCEPTION 'account % already owns handle "%"', p_buyer_id, v_handle USING ERRCODE = 'HM008';
    END IF;
    PERFORM _refuse_held(v_handle, h.hold_reason);
    IF p_expires_at IS NULL OR p_expires_at <= p_as_of THEN
        RAISE EXCEPTION 'an offer must expire after it is made'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It would be made at %s and expire at %s.', p_as_of, p_expires_at);
    END IF;
    SELECT o.hold_id, o.created INTO v_hold, v_created
      FROM _hold_open(p_buyer_id, p_amount, p_key, v_request, v_handle::text, p_as_of) o;
    INSERT INTO offers (offer_id, handle, buyer_id, amount_cents, made_at, expires_at)
    VALUES (v_hold, v_handle, p_buyer_id, p_amount, p_as_of, p_expires_at);
    INSERT INTO outbox (kind, account_id, handle, at, detail)
    VALUES ('offer_received', h.owner_id, v_handle, p_as_of,
            format('Account %s offers %s for @%s until %s (offer %s).',
                   p_buyer_id, dollars(p_amount), v_handle, p_expires_at, v_hold));
    RETURN v_hold;
END $$;

CREATE FUNCTION @extschema@.make_offer(candidate text, buyer_id bigint, amount_cents bigint,
                                       expires_at timestamptz, idempotency_key text,
                                       as_of timestamptz DEFAULT now())
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.make_offer(text, bigint, bigint, timestamptz, text, timestamptz) IS
    'an offer to the owner of a handle, its money held until it ends; returns the offer id; idempotent';

CREATE FUNCTION @extschema@._accept_offer(p_offer_id bigint, p_seller_id bigint, p_as_of timestamptz,
                                          p_key text)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    o offers;
    v_transfer bigint;
    v_req record;
BEGIN
    PERFORM _require_account(p_seller_id);
    -- a retry after a lost answer gets the sale's transfer id again
    v_req := _claim_request(p_seller_id, p_key,
                            format('accept_offer(offer_id => %s, seller_id => %s)', p_offer_id, p_seller_id),
                            p_as_of);
    IF v_req.replayed THEN
        RETURN v_req.result;
    END IF;
    SELECT * INTO o FROM offers WHERE offer_id = p_offer_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'offer % does not exist', p_offer_id USING ERRCODE = 'HM008';
    END IF;
    PERFORM _sellable_by_owner(o.handle, p_seller_id, p_as_of, 'sell');
    SELECT * INTO o FROM offers WHERE offer_id = p_offer_id FOR UPDATE;
    IF o.state <> 'open' THEN
        RAISE EXCEPTION 'offer % is %', p_offer_id, o.state USING ERRCODE = 'HM008';
    END IF;
    IF o.expires_at <= p_as_of THEN
        RAISE EXCEPTION 'offer % has expired', p_offer_id
            USING ERRCODE = 'HM008', DETAIL = format('It expired at %s.', o.expires_at);
    END IF;
    PERFORM _no_open_auction(o.handle);
    -- accepted first, so that the change of owner voids only the others
    UPDATE offers SET state = 'accepted', closed_at = p_as_of, sale_transfer_id = 0
     WHERE offer_id = o.offer_id;
    v_transfer := _sell_from_hold(o.handle::text, o.offer_id, p_seller_id, p_as_of,
                                  format('offer %s accepted', o.offer_id));
    UPDATE offers SET sale_transfer_id = v_transfer WHERE offer_id = o.offer_id;
    PERFORM _request_done(p_seller_id, p_key, v_transfer);
    RETURN v_transfer;
END $$;

CREATE FUNCTION @extschema@.accept_offer(offer_id bigint, seller_id bigint,
                                         as_of timestamptz DEFAULT now(),
                                         idempotency_key text DEFAULT NULL)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.accept_offer(bigint, bigint, timestamptz, text) IS
    'the owner accepts an offer: the sale, with commission; the other open offers are voided; returns the transfer id; with a key, a retry returns the same id';

CREATE FUNCTION @extschema@._cancel_offer(p_offer_id bigint, p_buyer_id bigint, p_as_of timestamptz,
                                          p_key text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    o offers;
BEGIN
    IF p_buyer_id IS NOT NULL AND (_claim_request(p_buyer_id, p_key,
            format('cancel_offer(offer_id => %s, buyer_id => %s)', p_offer_id, p_buyer_id),
            p_as_of)).replayed THEN
        RETURN;
    END IF;
    SELECT * INTO o FROM offers WHERE offer_id = p_offer_id;
    IF NOT FOUND OR o.buyer_id IS DISTINCT FROM p_buyer_id THEN
        RAISE EXCEPTION 'account % made no offer %', p_buyer_id, p_offer_id USING ERRCODE = 'HM008';
    END IF;
    PERFORM 1 FROM handles WHERE handle = o.handle FOR SHARE;
    SELECT * INTO o FROM offers WHERE offer_id = p_offer_id FOR UPDATE;
    IF o.state <> 'open' THEN
        RAISE EXCEPTION 'offer % is %', p_offer_id, o.state USING ERRCODE = 'HM008';
    END IF;
    PERFORM _void_offer(o.offer_id, 'cancelled', p_as_of, 'you cancelled it');
END $$;

CREATE FUNCTION @extschema@.cancel_offer(offer_id bigint, buyer_id bigint,
                                         as_of timestamptz DEFAULT now(),
                                         idempotency_key text DEFAULT NULL)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
-- src/sql/79_invariants.sql: what an auditor checks: the books, the escrow,
-- the auctions and the registry agree.

-- One line per violation; no rows when the books and the registry agree.
CREATE FUNCTION @extschema@.check_invariants() RETURNS SETOF text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT format('transfer %s: its entries sum to %s cents, not 0', e.transfer_id, sum(e.amount))
      FROM @extschema@.entries e GROUP BY e.transfer_id HAVING sum(e.amount) <> 0
    UNION ALL
    SELECT format('transfer %s (%s) moves money but has %s entries', t.transfer_id, t.kind,
                  (SELECT count(*) FROM @extschema@.entries e WHERE e.transfer_id = t.transfer_id))
      FROM @extschema@.transfers t
     WHERE t.kind NOT IN ('handle_transfer', 'hold', 'hold_void')
       AND (SELECT count(*) FROM @extschema@.entries e WHERE e.transfer_id = t.transfer_id) < 2
    UNION ALL
    SELECT format('transfer %s (%s) only moves held money but has entries', t.transfer_id, t.kind)
      FROM @extschema@.transfers t
     WHERE t.kind IN ('handle_transfer', 'hold', 'hold_void')
       AND EXISTS (SELECT FROM @extschema@.entries e WHERE e.transfer_id = t.transfer_id)
    UNION ALL
    SELECT format('entry %s belongs to no transfer', e.entry_id)
      FROM @extschema@.entries e
     WHERE NOT EXISTS (SELECT FROM @extschema@.transfers t WHERE t.transfer_id = e.transfer_id)
    UNION ALL
    SELECT format('entry %s is on ledger account %s, which does not exist', e.entry_id, e.ledger_account_id)
      FROM @extschema@.entries e
     WHERE NOT EXISTS (SELECT FROM @extschema@.ledger_accounts l
                        WHERE l.ledger_account_id = e.ledger_account_id)
    UNION ALL
    SELECT format('wallet %s of account %s: balance %s cents, but its entries sum to %s',
                  l.ledger_account_id, l.account_id, l.balance, coalesce(s.total, 0))
      FROM @extschema@.ledger_accounts l
      LEFT JOIN (SELECT e.ledger_account_id, sum(e.amount) AS total
                   FROM @extschema@.entries e GROUP BY e.ledger_account_id) s
             ON s.ledger_account_id = l.ledger_account_id
     WHERE l.kind = 'wallet' AND l.balance IS DISTINCT FROM coalesce(s.total, 0)
    UNION ALL
    SELECT format('wallet %s of account %s: balance %s cents, held %s: negative or overdrawn',
                  l.ledger_account_id, l.account_id, l.balance, l.held)
      FROM @extschema@.ledger_accounts l
     WHERE l.kind = 'wallet' AND (l.held < 0 OR l.balance < l.held)
    UNION ALL
    SELECT format('handle %s runs under policy version %s, which does not exist', h.handle,
                  h.policy_version)
      FROM @extschema@.handles h
     WHERE NOT EXISTS (SELECT FROM @extschema@.policy p WHERE p.version = h.policy_version)
    UNION ALL
    SELECT format('handle %s is %s but has no owner', h.handle, h.state)
      FROM @extschema@.handles h
     WHERE h.state <> 'released'
       AND NOT EXISTS (SELECT FROM @extschema@.accounts a WHERE a.account_id = h.owner_id)
    UNION ALL
    -- A handle against its last event, one index probe each
    -- (handle_events_handle).  Every event records the account that owns the
    -- handle once the event is done, so the last one names the owner:
    -- registered (a registration, a re-registration after release, a
    -- restore; buy(), transfer_handle() and the sale that ends an auction or
    -- accepts an offer, src/market.c) records the new owner; at_risk and its
    -- reverts (the sweep, touch()) the owner; held and hold_released the
    -- owner, or for a released handle the account it was released from; and
    -- released (the sweep) that account.  So a registered or at-risk handle
    -- is owned by the account of its last event, and a released one by
    -- nobody, its previous owner being that account.  A handle without a
    -- history is reported once, by the state line.
    SELECT m.line
      FROM @extschema@.handles h
      LEFT JOIN LATERAL (SELECT ev.to_state, ev.account_id FROM @extschema@.handle_events ev
                          WHERE ev.handle = h.handle ORDER BY ev.event_id DESC LIMIT 1) last ON true
     CROSS JOIN LATERAL (VALUES
           (CASE WHEN last.to_state IS DISTINCT FROM
                      CASE WHEN h.hold_reason IS NOT NULL THEN 'held' ELSE h.state END
                 THEN format('handle %s is %s, but its history ends in %s', h.handle,
                             CASE WHEN h.hold_reason IS NOT NULL THEN 'held' ELSE h.state END,
                             coalesce(last.to_state, 'nothing')) END),
           (CASE WHEN last.to_state IS NOT NULL
                  AND h.owner_id IS DISTINCT FROM
                      CASE WHEN h.state <> 'released' THEN last.account_id END
                 THEN format('handle %s is %s and owned by %s, but its last event (%s) records account %s',
                             h.handle, h.state, coalesce('account ' || h.owner_id, 'nobody'),
                             last.to_state, coalesce(last.account_id::text, 'none')) END),
           (CASE WHEN last.to_state IS NOT NULL AND h.state = 'released'
                  AND h.previous_owner_id IS DISTINCT FROM last.account_id
                 THEN format('handle %s was released from %s, but its last event (%s) records account %s',
                             h.handle, coalesce('account ' || h.previous_owner_id, 'nobody'),
                             last.to_state, coalesce(last.account_id::text, 'none')) END)
           ) m(line)
     WHERE m.line IS NOT NULL
    UNION ALL
    -- Each transfer that moves a handle (a purchase, a handle_transfer, the
    -- hold_post of an auction or an accepted offer) is recorded by exactly
    -- one event of that handle: the change of owner, to_state registered,
    -- whose reason ends in "(transfer N)" (src/market.c).  One pass over
    -- each table, hashed: a sale recorded twice, a sale not recorded, and an
    -- event naming a transfer that did not move its handle.
    SELECT CASE WHEN s.transfer_id IS NULL
                THEN format('transfer %s (%s) moved handle %s, but its history does not record it',
                            t.transfer_id, t.kind, t.handle)
                WHEN t.transfer_id IS NULL OR t.handle IS DISTINCT FROM s.handle
                THEN format('handle %s: its history records transfer %s, which moved %s', s.handle,
                            s.transfer_id, coalesce('handle ' || t.handle, 'no handle'))
                ELSE format('handle %s: transfer %s (%s) is recorded by %s events, not 1',
                            s.handle, s.transfer_id, t.kind, s.events) END
      FROM (SELECT substring(ev.reason FROM '\(transfer ([0-9]+)\)$')::bigint AS transfer_id,
                   ev.handle, count(*) AS events
              FROM @extschema@.handle_events ev
             WHERE ev.to_state = 'registered' AND ev.reason ~ '\(transfer [0-9]+\)$'
             GROUP BY 1, 2) s
      FULL JOIN (SELECT t.transfer_id, t.kind, t.handle FROM @extschema@.transfers t
                  WHERE t.kind IN ('purchase', 'handle_transfer', 'hold_post')) t
             ON t.transfer_id = s.transfer_id
     WHERE s.transfer_id IS NULL OR t.transfer_id IS NULL OR t.handle IS DISTINCT FROM s.handle
        OR s.events <> 1
    UNION ALL
    SELECT format('wallet %s of account %s holds %s cents, but its pending holds sum to %s',
                  l.ledger_account_id, l.account_id, l.held, coalesce(s.total, 0))
      FROM @extschema@.ledger_accounts l
      LEFT JOIN (SELECT ho.ledger_account_id, sum(ho.amount) AS total FROM @extschema@.holds ho
                  WHERE ho.state = 'pending' GROUP BY ho.ledger_account_id) s
             ON s.ledger_account_id = l.ledger_account_id
     WHERE l.kind = 'wallet' AND l.held IS DISTINCT FROM coalesce(s.total, 0)
    UNION ALL
    SELECT format('hold %s is %s, but its %s', ho.hold_id, ho.state,
                  coalesce('bid is ' || b.state, 'offer is ' || o.state, 'bid or offer is missing'))
      FROM @extschema@.holds ho
      LEFT JOIN @extschema@.bids b ON b.bid_id = ho.hold_id
      LEFT JOIN @extschema@.offers o ON o.offer_id = ho.hold_id
     WHERE (ho.state = 'pending') <> (coalesce(b.state = 'top', false) OR coalesce(o.state = 'open', false))
        OR (ho.state = 'posted') <> (coalesce(b.state = 'won', false) OR coalesce(o.state = 'accepted', false))
        OR (b.bid_id IS NULL AND o.offer_id IS NULL)
    UNION ALL
    SELECT format('auction %s has %s live top bids', a.auction_id,
                  (SELECT count(*) FROM @extschema@.bids b WHERE b.auction_id = a.auction_id AND b.state = 'top'))
      FROM @extschema@.auctions a
     WHERE (SELECT count(*) FROM @extschema@.bids b WHERE b.auction_id = a.auction_id AND b.state = 'top')
           <> CASE WHEN a.state = 'open' AND a.top_bid_id IS NOT NULL THEN 1 ELSE 0 END
        OR (a.state = 'open' AND a.top_bid_id IS NOT NULL AND NOT EXISTS (
               SELECT FROM @extschema@.bids b WHERE b.bid_id = a.top_bid_id AND b.state = 'top'))
    UNION ALL
    SELECT format('handle %s is in open auction %s and listed at %s cents', h.handle, a.auction_id,
                  h.list_price_cents)
      FROM @extschema@.auctions a JOIN @extschema@.handles h ON h.handle = a.handle
     WHERE a.state = 'open' AND h.list_price_cents IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@.check_invariants() IS
    'one line per violation of the ledger''s and the registry''s invariants; no rows when all hold';
-- src/sql/80_release.sql: the release procedure for DBAs.
--
-- release_dormant() is an invoker-rights procedure that loops and commits;
-- each batch is one call of the gated release_batch(), so every batch is its
-- own transaction and a crash leaves only whole batches behind.  The run's
-- row in release_runs advances in the same transaction as the batch, which
-- is what lets a rerun resume exactly where the
-- interrupted one stopped.

-- The release lock (see guard.c): a session lock that no SQL function but
-- these can take, and that a failed run's abort drops.  Exposed to admins so
-- that a DBA driving batches by hand takes it the same way.
CREATE FUNCTION @extschema@.release_lock_try() RETURNS boolean
    AS 'MODULE_PATHNAME', 'hm_release_lock_try' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION @extschema@.release_lock_release() RETURNS boolean
    AS 'MODULE_PATHNAME', 'hm_release_lock_release' LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION @extschema@._start_release_run(p_as_of timestamptz, p_batch_size integer,
                                               p_dry_run boolean)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_prev release_runs;
    v_run bigint;
BEGIN
    IF p_as_of IS NULL OR p_dry_run IS NULL OR p_batch_size IS NULL OR p_batch_size < 1 THEN
        RAISE EXCEPTION 'release_dormant needs as_of, dry_run and a batch_size of at least 1'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Runs are serialized by the release lock, so a run still marked
    -- running is one that died.  Without the lock, starting a run would
    -- declare a live one dead.
    IF NOT release_lock_try() THEN
        RAISE EXCEPTION 'another release run is in progress'
            USING ERRCODE = 'HM016',
                  DETAIL = 'One release run at a time; this one did nothing.',
                  HINT = 'See release_runs; the run holds the release lock until it finishes or fails.';
    END IF;
    UPDATE release_runs SET status = 'interrupted', finished_at = clock_timestamp()
     WHERE status = 'running';
    SELECT * INTO v_prev FROM release_runs r
     -- A rerun continues the last interrupted run after its last committed
     -- handle, at the rerun's own time: writes happen at the server's time,
     -- so a rerun after a crash cannot repeat the first run's as_of, and
     -- the handles before last_handle were examined by that run (the next
     -- run examines them again).  A run at an earlier time than the
     -- interrupted one does not continue it.
     WHERE r.status = 'interrupted' AND r.as_of <= p_as_of AND r.dry_run = p_dry_run
       AND NOT EXISTS (SELECT FROM release_runs n WHERE n.resumed_run_id = r.run_id)
     ORDER BY r.run_id DESC LIMIT 1;
    INSERT INTO release_runs (as_of, dry_run, batch_size, resumed_run_id, last_handle)
    VALUES (p_as_of, p_dry_run, p_batch_size, v_prev.run_id, v_prev.last_handle)
    RETURNING run_id INTO v_run;
    RETURN v_run;
END $$;

CREATE FUNCTION @extschema@.start_release_run(as_of timestamptz, batch_size integer, dry_run boolean)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;

-- The activity lock (see activity_lock.c): each batch holds it exclusively
-- from before it reads until it commits; touch() and the other writes of
-- activity or exemption take it shared.
CREATE FUNCTION @extschema@.activity_lock_shared() RETURNS void
    AS 'MODULE_PATHNAME', 'hm_activity_lock_shared' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION @extschema@.activity_lock_exclusive() RETURNS void
    AS 'MODULE_PATHNAME', 'hm_activity_lock_exclusive' LANGUAGE C VOLATILE STRICT;

-- C: what the sweep does to one live, unheld handle ('notice', 'revert',
-- 'release' or NULL).  A notice is judged by the policy version it was
-- given under.
CREATE FUNCTION @extschema@.release_decision(state text, notice_at timestamptz,
                                             notice_period interval,
                                             notice_inactive_after interval,
                                             last_active_at timestamptz, exempt boolean,
                                             inactive_after interval, as_of timestamptz)
    RETURNS text
    AS 'MODULE_PATHNAME', 'hm_release_decision'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- What the sweep would do to each live handle of the key range [lo, hi] at
-- as_of.  The range is what keeps a batch on the primary key: a list of the
-- batch's handles made the planner scan the whole table.
CREATE FUNCTION @extschema@.release_decisions(p_lo @extschema@.handle, p_hi @extschema@.handle,
                                              p_as_of timestamptz, p_pol @extschema@.policy)
    RETURNS TABLE (row_id tid, handle @extschema@.handle, owner_id bigint, decision text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT h.ctid, h.handle, h.owner_id,
           @extschema@.release_decision(h.state, h.notice_at, hp.notice_period, hp.inactive_after,
               a.last_active_at, @extschema@.is_exempt(a.verified, a.subscription, a.status, p_pol),
               p_pol.inactive_after, p_as_of)
      FROM @extschema@.handles h
      JOIN @extschema@.accounts a ON a.account_id = h.owner_id
      JOIN @extschema@.policy hp ON hp.version = h.policy_version
     WHERE h.handle OPERATOR(@extschema@.>=) p_lo
       AND h.handle OPERATOR(@extschema@.<=) p_hi
       AND h.state IN ('registered', 'at_risk')
       AND h.hold_reason IS NULL;
END;

-- One batch: the next batch_size handles in key order.  Hash and merge
-- joins are off because a batch is a few thousand rows of a table that may
-- hold a billion: at the default costs the planner would rather scan all
-- the accounts than look up a batch's owners one by one.
CREATE FUNCTION @extschema@._release_batch(p_run_id bigint,
                                           OUT done boolean, OUT examined integer,
                                           OUT noticed integer, OUT released integer,
                                           OUT last_handle @extschema@.handle)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
    SET enable_hashjoin = off
    SET enable_mergejoin = off
    SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
    v_run release_runs;
    v_pol policy;
    v_lo handle;
    v_hi handle;
    v_reverted integer;
    v_release_on text;
BEGIN
    SELECT * INTO v_run FROM release_runs WHERE run_id = p_run_id FOR UPDATE;
    IF NOT FOUND OR v_run.status <> 'running' THEN
        RAISE EXCEPTION 'release run % is not running', p_run_id USING ERRCODE = 'HM008';
    END IF;
    -- Before anything is read: every statement below sees each touch that
    -- committed before this point, and a later one waits for this commit.
    IF NOT v_run.dry_run THEN
        PERFORM activity_lock_exclusive();
    END IF;
    v_pol := policy_at(v_run.as_of);
    -- the same for every handle noticed in this run
    v_release_on := utc_time(v_run.as_of + v_pol.notice_period);

    -- The batch is the key range [v_lo, v_hi].
    IF v_run.last_handle IS NULL THEN
        SELECT h.handle INTO v_lo FROM handles h ORDER BY h.handle LIMIT 1;
    ELSE
        SELECT h.handle INTO v_lo FROM handles h WHERE h.handle > v_run.last_handle
         ORDER BY h.handle LIMIT 1;
    END IF;
    SELECT h.handle INTO v_hi FROM handles h WHERE h.handle >= v_lo
     ORDER BY h.handle OFFSET v_run.batch_size - 1 LIMIT 1;
    IF v_hi IS NULL THEN            -- fewer than batch_size left
        SELECT count(*), max(h.handle) INTO examined, v_hi FROM handles h WHERE h.handle >= v_lo;
        done := true;
    ELSE
        examined := v_run.batch_size;
        -- ordered, so that it is one step of the primary key: without the
        -- ORDER BY the planner expects many rows above v_hi and scans the
        -- table for one, which near the end of the key order means most of it
        done := NOT EXISTS (SELECT FROM (SELECT h.handle FROM handles h WHERE h.handle > v_hi
                                          ORDER BY h.handle LIMIT 1) nxt);
    END IF;
    last_handle := coalesce(v_hi, v_run.last_handle);
    noticed := 0;
    released := 0;

    IF v_run.dry_run THEN
        SELECT count(*) FILTER (WHERE d.decision = 'notice'),
               count(*) FILTER (WHERE d.decision = 'release')
          INTO noticed, released
          FROM release_decisions(v_lo, v_hi, v_run.as_of, v_pol) d;
    ELSIF examined > 0 THEN
        -- Each UPDATE finds its row by the ctid the decision read (no second
        -- index probe; a row updated meanwhile is followed to its new
        -- version) and rechecks the state, hold and owner it decided on, so
        -- a handle that a restore, hold or sale changed meanwhile is left to
        -- the next run.
        WITH d AS (
            SELECT * FROM release_decisions(v_lo, v_hi, v_run.as_of, v_pol) d
             WHERE d.decision IS NOT NULL
        ), n AS (
            UPDATE handles h SET state = 'at_risk', notice_at = v_run.as_of,
                                 policy_version = v_pol.version
              FROM d WHERE h.ctid = d.row_id AND d.decision = 'notice'
               AND h.state = 'registered' AND h.hold_reason IS NULL AND h.owner_id = d.owner_id
            RETURNING h.handle, h.owner_id
        ), r AS (
            UPDATE handles h SET state = 'released', released_at = v_run.as_of,
                                 previous_owner_id = h.owner_id, owner_id = NULL,
                                 notice_at = NULL, policy_version = v_pol.version,
                                 list_price_cents = NULL, listed_at = NULL
              FROM d WHERE h.ctid = d.row_id AND d.decision = 'release'
               AND h.state = 'at_risk' AND h.hold_reason IS NULL AND h.owner_id = d.owner_id
            RETURNING h.handle, h.previous_owner_id
        ), v AS (
            UPDATE handles h SET state = 'registered', notice_at = NULL
              FROM d WHERE h.ctid = d.row_id AND d.decision = 'revert'
               AND h.state = 'at_risk' AND h.hold_reason IS NULL AND h.owner_id = d.owner_id
            RETURNING h.handle, h.owner_id
        ), e AS (
            INSERT INTO handle_events (handle, from_state, to_state, at, account_id, reason)
            SELECT handle, 'registered', 'at_risk', v_run.as_of, owner_id, 'the owner is inactive' FROM n
            UNION ALL
            SELECT handle, 'at_risk', 'released', v_run.as_of, previous_owner_id,
                   'the notice period ended and the owner is still inactive' FROM r
            UNION ALL
            SELECT handle, 'at_risk', 'registered', v_run.as_of, owner_id,
                   'the owner is active again or exempt' FROM v
        ), o AS (
            INSERT INTO outbox (kind, account_id, handle, at, detail)
            SELECT 'inactivity_notice', owner_id, handle, v_run.as_of,
                   'Log in before ' || v_release_on || ' to keep @' || handle::text || '.' FROM n
            UNION ALL
            SELECT 'released', previous_owner_id, handle, v_run.as_of,
                   '@' || handle::text || ' was released; you may restore it during redemption.' FROM r
        )
        SELECT (SELECT count(*) FROM n), (SELECT count(*) FROM r), (SELECT count(*) FROM v)
          INTO noticed, released, v_reverted;
    END IF;

    UPDATE release_runs
       SET batches = batches + 1, examined = release_runs.examined + _release_batch.examined,
           noticed = release_runs.noticed + _release_batch.noticed,
           released = release_runs.released + _release_batch.released,
           last_handle = _release_batch.last_handle
     WHERE run_id = p_run_id;
END $$;

CREATE FUNCTION @extschema@.release_batch(run_id bigint,
                                          OUT done boolean, OUT examined integer,
                                          OUT noticed integer, OUT released integer,
                                          OUT last_handle @extschema@.handle)
    AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@._finish_release_run(p_run_id bigint)
    RETURNS @extschema@.release_runs
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v release_runs;
BEGIN
    UPDATE release_runs SET status = 'finished', finished_at = clock_timestamp()
     WHERE run_id = p_run_id AND status = 'running'
    RETURNING * INTO v;
    PERFORM release_lock_release();
    RETURN v;
END $$;

CREATE FUNCTION @extschema@.finish_release_run(run_id bigint)
    RETURNS @extschema@.release_runs AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;

-- Procedures that COMMIT cannot be SECURITY DEFINER or carry SET: every
-- name below is qualified instead.
CREATE PROCEDURE @extschema@.release_dormant(as_of timestamptz DEFAULT now(),
                                             batch_size integer DEFAULT 10000,
                                             dry_run boolean DEFAULT false)
    LANGUAGE plpgsql
AS $$
DECLARE
    v_run bigint;
    v_batch record;
    v_total record;
    v_batches integer := 0;
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RAISE NOTICE 'release_dormant: this server is a replica; nothing to do';
        RETURN;
    END IF;
    -- another run going raises HM016 here, so that a cron job notices
    v_run := @extschema@.start_release_run(as_of, batch_size, dry_run);
    COMMIT;
    LOOP
        SELECT * INTO v_batch FROM @extschema@.release_batch(v_run);
        COMMIT;
        v_batches := v_batches + 1;
        RAISE NOTICE 'release_dormant run %: batch %: examined %, noticed %, released % (through "%")',
            v_run, v_batches, v_batch.examined, v_batch.noticed, v_batch.released,
            coalesce(v_batch.last_handle::text, '');
        EXIT WHEN v_batch.done;
    END LOOP;
    SELECT * INTO v_total FROM @extschema@.finish_release_run(v_run);
    COMMIT;
    RAISE NOTICE '%', pg_catalog.format(
        'release_dormant run %s finished: %s batches, examined %s, noticed %s, released %s%s',
        v_run, v_total.batches, v_total.examined, v_total.noticed, v_total.released,
        CASE WHEN dry_run THEN ' (dry run: nothing was changed)' ELSE '' END);
END $$;
COMMENT ON PROCEDURE @extschema@.release_dormant(timestamptz, integer, boolean) IS
    'notices inactive owners and releases handles whose notice ran out, in batches that each commit';
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
-- src/sql/95_comments.sql: a comment for every public function that did not
-- have one where it is defined.  Last in the script, so that every function
-- exists; test/pgtap/comments.sql checks that none is left without.  Each
-- says what the function is for and what a caller must know (who may call
-- it, what it refuses, what it returns when there is nothing).

-- the handle type: I/O, casts, comparisons (also with text), min/max, hashing (10, 20)
COMMENT ON FUNCTION @extschema@.handle_in(cstring) IS
    'input function of the handle type: the canonical form of the text, or 22P02 (with the reason in the detail) when it is no handle';
COMMENT ON FUNCTION @extschema@.handle_out(@extschema@.handle) IS
    'output function of the handle type: the canonical form, without @';
COMMENT ON FUNCTION @extschema@.handle_recv(internal) IS
    'binary input function of the handle type: the text is canonicalized and checked as handle_in() does';
COMMENT ON FUNCTION @extschema@.handle_send(@extschema@.handle) IS
    'binary output function of the handle type: the canonical form as UTF-8 text';
COMMENT ON FUNCTION @extschema@.handle(text) IS
    'the cast from text: the canonical handle, or 22P02 when the text is no handle; never implicit, since it can fail';
COMMENT ON FUNCTION @extschema@.handle_to_text(@extschema@.handle) IS
    'the assignment cast to text: the canonical form (text functions take h::text; no cast is implicit, so a handle never compares as text)';
COMMENT ON FUNCTION @extschema@.handle_eq(@extschema@.handle, @extschema@.handle) IS
    'the = operator: equal canonical forms, byte for byte (look-alikes are not equal; compare confusable_key() for that)';
COMMENT ON FUNCTION @extschema@.handle_ne(@extschema@.handle, @extschema@.handle) IS
    'the <> operator: different canonical forms';
COMMENT ON FUNCTION @extschema@.handle_lt(@extschema@.handle, @extschema@.handle) IS
    'the < operator: bytewise order of the canonical forms, not a collation';
COMMENT ON FUNCTION @extschema@.handle_le(@extschema@.handle, @extschema@.handle) IS
    'the <= operator: bytewise order of the canonical forms, not a collation';
COMMENT ON FUNCTION @extschema@.handle_gt(@extschema@.handle, @extschema@.handle) IS
    'the > operator: bytewise order of the canonical forms, not a collation';
COMMENT ON FUNCTION @extschema@.handle_ge(@extschema@.handle, @extschema@.handle) IS
    'the >= operator: bytewise order of the canonical forms, not a collation';
COMMENT ON FUNCTION @extschema@.handle_cmp(@extschema@.handle, @extschema@.handle) IS
    'btree support: -1, 0 or 1 by the bytewise order of the canonical forms';
COMMENT ON FUNCTION @extschema@.handle_hash(@extschema@.handle) IS
    'hash support: the hash of the canonical form, so equal handles hash alike';
COMMENT ON FUNCTION @extschema@.handle_hash_extended(@extschema@.handle, bigint) IS
    'hash support: the 64-bit seeded hash of the canonical form';
COMMENT ON FUNCTION @extschema@.handle_sortsupport(internal) IS
    'btree support: the bytewise comparator for sorts, called by the planner, not by users';
COMMENT ON FUNCTION @extschema@.handle_larger(@extschema@.handle, @extschema@.handle) IS
    'the later of two handles in bytewise order of their canonical forms: the state and combine function of max(handle)';
COMMENT ON FUNCTION @extschema@.handle_smaller(@extschema@.handle, @extschema@.handle) IS
    'the earlier of two handles in bytewise order of their canonical forms: the state and combine function of min(handle)';
COMMENT ON AGGREGATE @extschema@.max(@extschema@.handle) IS
    'the greatest handle in bytewise order of the canonical forms (not a collation); a btree index on the column serves it';
COMMENT ON AGGREGATE @extschema@.min(@extschema@.handle) IS
    'the least handle in bytewise order of the canonical forms (not a collation); a btree index on the column serves it';
COMMENT ON FUNCTION @extschema@.handle_text_support(internal) IS
    'planner support of the handle-text comparisons: rewrites h OP t into h OP handle(t), so handle indexes serve it; called by the planner, not by users';
COMMENT ON FUNCTION @extschema@.handle_eq_text(@extschema@.handle, text) IS
    'the handle = text operator: compares the handle with the text canonicalized as handle input (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.text_eq_handle(text, @extschema@.handle) IS
    'the text = handle operator: compares the text canonicalized as handle input with the handle (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.handle_ne_text(@extschema@.handle, text) IS
    'the handle <> text operator: compares the handle with the text canonicalized as handle input (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.text_ne_handle(text, @extschema@.handle) IS
    'the text <> handle operator: compares the text canonicalized as handle input with the handle (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.handle_lt_text(@extschema@.handle, text) IS
    'the handle < text operator: compares the handle with the text canonicalized as handle input, in bytewise order of the canonical forms (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.text_lt_handle(text, @extschema@.handle) IS
    'the text < handle operator: compares the text canonicalized as handle input with the handle, in bytewise order of the canonical forms (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.handle_le_text(@extschema@.handle, text) IS
    'the handle <= text operator: compares the handle with the text canonicalized as handle input, in bytewise order of the canonical forms (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.text_le_handle(text, @extschema@.handle) IS
    'the text <= handle operator: compares the text canonicalized as handle input with the handle, in bytewise order of the canonical forms (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.handle_gt_text(@extschema@.handle, text) IS
    'the handle > text operator: compares the handle with the text canonicalized as handle input, in bytewise order of the canonical forms (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.text_gt_handle(text, @extschema@.handle) IS
    'the text > handle operator: compares the text canonicalized as handle input with the handle, in bytewise order of the canonical forms (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.handle_ge_text(@extschema@.handle, text) IS
    'the handle >= text operator: compares the handle with the text canonicalized as handle input, in bytewise order of the canonical forms (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.text_ge_handle(text, @extschema@.handle) IS
    'the text >= handle operator: compares the text canonicalized as handle input with the handle, in bytewise order of the canonical forms (text that is no handle: 22P02)';

-- Unicode versions (40)
COMMENT ON FUNCTION @extschema@.running_icu_version() IS
    'the ICU version this server''s library runs with';
COMMENT ON FUNCTION @extschema@.running_unicode_version() IS
    'the Unicode version of the ICU this server''s library runs with';
COMMENT ON FUNCTION @extschema@.recorded_unicode_versions() IS
    'the ICU and Unicode versions the stored confusable keys were computed with; a backend warns when they differ from the running ones';
COMMENT ON FUNCTION @extschema@.record_unicode_versions() IS
    'records the running ICU and Unicode versions, once the stored confusable keys have been recomputed under them; granted to nobody, so only the extension''s owner runs it';

-- policy and lifecycle arithmetic (50, 65, 71)
COMMENT ON FUNCTION @extschema@.policy_at(timestamptz) IS
    'the policy version in force at as_of: the one with the latest effective_from not after it';
COMMENT ON FUNCTION @extschema@.activity_status(timestamptz, timestamptz, interval) IS
    'active or inactive: whether last_active is more than inactive_after before as_of; the interval must have no month part (22023)';
COMMENT ON FUNCTION @extschema@.is_exempt(boolean, text, text, @extschema@.policy) IS
    'whether an account (verified, subscription, status) is exempt from release under a policy version; used by the release sweep';
COMMENT ON FUNCTION @extschema@.handle_phase(@extschema@.handles, timestamptz) IS
    'the phase of a released handle at as_of (redemption, quarantine, premium, available) and when it ends, under the policy version it was released under';
COMMENT ON FUNCTION @extschema@.released_at_plus(@extschema@.handles) IS
    'when the redemption of a released handle ends, under the policy version it was released under; NULL unless released';
COMMENT ON FUNCTION @extschema@.utc_time(timestamptz) IS
    'a time as messages write it: YYYY-MM-DD HH24:MI UTC, whatever the session''s TimeZone or DateStyle';
COMMENT ON FUNCTION @extschema@.utc_date(timestamptz) IS
    'a date as messages write it: YYYY-MM-DD in UTC, whatever the session''s TimeZone or DateStyle';
COMMENT ON FUNCTION @extschema@.reservation_for(text) IS
    'the reservation a confusable key falls under (a reserved handle with that key or a forbidden substring of it), or NULL';

-- the guard, history and row rules (52, 55, 60, 70)
COMMENT ON FUNCTION @extschema@.guard() IS
    'trigger: refuses (HM015) every write to a state table outside an API function, and all but inserts to a history table; session_replication_role = replica (a restore) turns it off';
COMMENT ON FUNCTION @extschema@.actor() IS
    'the role that called the API function now running (not the extension''s owner, which runs its implementation)';
COMMENT ON FUNCTION @extschema@.outbox_notify() IS
    'trigger: one NOTIFY handle_market per statement that writes the outbox, unless handle_market.outbox_notify is off';
COMMENT ON FUNCTION @extschema@.policy_changed() IS
    'trigger: a new policy version makes every backend drop its cached copy of the policy';
COMMENT ON FUNCTION @extschema@.handles_row_rules(@extschema@.handle, text, text, bigint, timestamptz, timestamptz, bigint, timestamptz, text, timestamptz) IS
    'the CHECK of handles: true, or check_violation naming the rule the row breaks (see the constraint''s comment)';
COMMENT ON FUNCTION @extschema@.ledger_accounts_row_rules(text, bigint, integer, bigint, bigint) IS
    'the CHECK of ledger_accounts: true, or check_violation naming the rule the row breaks (see the constraint''s comment)';
COMMENT ON FUNCTION @extschema@.transfers_row_rules(text, text) IS
    'the CHECK of transfers: true, or check_violation naming the rule the row breaks (see the constraint''s comment)';
COMMENT ON FUNCTION @extschema@.outbox_row_rules(text) IS
    'the CHECK of outbox: true, or check_violation naming the rule the row breaks (see the constraint''s comment)';

-- accounts and handles (70, 71, 73)
COMMENT ON FUNCTION @extschema@.set_account_status(bigint, text) IS
    'sets an account''s status (active, suspended, deactivated, memorialized), which decides exemption from release; HM011 for an unknown account';
COMMENT ON FUNCTION @extschema@.release_hold(text, timestamptz) IS
    'ends a hold: the handle moves again, and its notice and release clocks resume, shifted by the time it was held; HM008 unless held';
COMMENT ON FUNCTION @extschema@.unreserve_handle(text) IS
    'removes a reservation or forbidden substring; false when there was none';

-- pricing and money (75, 76, 78)
COMMENT ON FUNCTION @extschema@.pricing_at(timestamptz) IS
    'the pricing version in force at as_of: the one with the latest effective_from not after it';
COMMENT ON FUNCTION @extschema@.commission_bps(text, timestamptz) IS
    'the commission, in basis points, on a sale by a seller with this subscription, under the pricing version in force at as_of';
COMMENT ON FUNCTION @extschema@.dollars(bigint) IS
    'cents as messages write them: "$50,000.00", "-$1.50"';
COMMENT ON FUNCTION @extschema@.ledger_slots() IS
    'how many fee and payments slots the platform''s side of the ledger is split into (a transfer uses slot transfer_id % ledger_slots())';
COMMENT ON FUNCTION @extschema@.ledger_balance(bigint) IS
    'the balance of any ledger account, wallet or platform slot, as the sum of its entries (a full sum: for audits, not for the hot path)';
COMMENT ON FUNCTION @extschema@.entries_balanced() IS
    'deferred constraint trigger: at commit, the entries of each transfer written in the transaction sum to zero, or check_violation';
COMMENT ON FUNCTION @extschema@.minimum_bid(bigint, bigint) IS
    'the least the next bid may be: the reserve when there is no top bid, else the top bid plus the larger of $1 and 5% (rounded up to the cent)';
COMMENT ON FUNCTION @extschema@.settle_batch(timestamptz, integer) IS
    'one batch of settle_auctions(): settles up to batch_size auctions that ended by as_of, or else voids up to batch_size expired offers; zero and zero when nothing is left';
COMMENT ON PROCEDURE @extschema@.settle_auctions(timestamptz, integer) IS
    'settles every auction that has ended and voids every expired offer, in batches that each commit; one run at a time, and a rerun finds only what is left';

-- the release sweep (80)
COMMENT ON FUNCTION @extschema@.activity_lock_shared() IS
    'takes the activity lock shared until the transaction ends, as every write of activity, exemption or status does before its first row; granted to nobody';
COMMENT ON FUNCTION @extschema@.activity_lock_exclusive() IS
    'takes the activity lock exclusively until the transaction ends, as each release batch does before it reads; granted to nobody';
COMMENT ON FUNCTION @extschema@.release_decision(text, timestamptz, interval, interval, timestamptz, boolean, interval, timestamptz) IS
    'what the release sweep does to one live, unheld handle at as_of: notice, revert, release or NULL (nothing)';
COMMENT ON FUNCTION @extschema@.release_decisions(@extschema@.handle, @extschema@.handle, timestamptz, @extschema@.policy) IS
    'what the release sweep would do to each live, unheld handle of the key range [lo, hi] at as_of under a policy version';
COMMENT ON FUNCTION @extschema@.start_release_run(timestamptz, integer, boolean) IS
    'starts a run of the release sweep (release_dormant() by hand) and takes the release lock; resumes an interrupted run with the same as_of and dry_run; HM008 while another run holds the lock';
COMMENT ON FUNCTION @extschema@.release_batch(bigint) IS
    'the next batch of a running release run: notices, releases and gives back handles in key order; commit after each, and stop when done; HM008 unless the run is running';
COMMENT ON FUNCTION @extschema@.finish_release_run(bigint) IS
    'marks a release run finished and drops the release lock; returns the run''s row, NULL when it was not running';

-- keyed calls and run locks (77, 78, 80)
COMMENT ON FUNCTION @extschema@.cancel_auction(text, bigint, timestamptz, text) IS
    'the seller cancels an auction that has no bids yet; with a key, a retry after a lost answer succeeds again';
COMMENT ON FUNCTION @extschema@.cancel_offer(bigint, bigint, timestamptz, text) IS
    'the buyer withdraws an open offer and its held money comes back; with a key, a retry after a lost answer succeeds again';
COMMENT ON FUNCTION @extschema@.release_lock_try() IS
    'for a DBA driving release batches by hand: takes the release run lock for the session (false when another run holds it); no other SQL function can take it';
COMMENT ON FUNCTION @extschema@.release_lock_release() IS
    'gives back the release run lock this session holds (false when it held none); a failed transaction gives it back too';
COMMENT ON FUNCTION @extschema@.settle_lock_try() IS
    'takes the settlement run lock for the session (false when another run holds it), as settle_auctions() does; no other SQL function can take it';
COMMENT ON FUNCTION @extschema@.settle_lock_release() IS
    'gives back the settlement run lock this session holds (false when it held none)';
