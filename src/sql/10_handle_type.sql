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
