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

CREATE OPERATOR CLASS @extschema@.handle_ops
    DEFAULT FOR TYPE @extschema@.handle USING hash AS
        OPERATOR 1 @extschema@.=,
        FUNCTION 1 @extschema@.handle_hash(@extschema@.handle),
        FUNCTION 2 @extschema@.handle_hash_extended(@extschema@.handle, bigint);
