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
