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
