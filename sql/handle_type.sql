-- The handle type: input, output, casts, operators, binary I/O.
SET search_path = handle_market, public;

-- canonical output
SELECT '@ElonMusk'::handle AS h;
SELECT 'elon_musk'::handle, 'ELON_MUSK'::handle, '@elon_musk'::handle;
SELECT 'Ｊｕｌｉｅｔ'::handle AS fullwidth, 'ΟΔΟΣ'::handle AS final_sigma,
       'İstanbul'::handle AS dotted_i, 'Kevin'::handle AS kelvin_sign;
-- NFC: a decomposed é becomes one code point
SELECT 'rene' || E'\u0301' AS typed, ('rene' || E'\u0301')::handle AS canonical,
       length(('rene' || E'\u0301')::handle::text) AS code_points;
-- 64 code points is the most
SELECT length(repeat('a', 64)::handle::text);

-- equality, ordering and hashing compare canonical bytes
SELECT 'ElonMusk'::handle = '@elonmusk'::handle AS eq,
       'abc'::handle <> 'abd'::handle AS ne,
       'abc'::handle < 'abd'::handle AS lt,
       'abc'::handle <= 'abc'::handle AS le,
       'b'::handle > 'abc'::handle AS gt,
       'abc'::handle >= 'abcd'::handle AS ge,
       handle_cmp('a', 'b') AS cmp_lt, handle_cmp('b', 'b') AS cmp_eq,
       handle_cmp('c', 'b') AS cmp_gt;
SELECT handle_hash('ElonMusk') = handle_hash('elonmusk') AS same_hash,
       handle_hash_extended('ElonMusk', 42) = handle_hash_extended('elonmusk', 42) AS same_hash_ext,
       -- the extended hash with seed 0 extends the 32-bit one, as hash opclasses require
       handle_hash_extended('elonmusk', 0) & 4294967295
           = handle_hash('elonmusk')::bigint & 4294967295 AS seed0_extends,
       handle_hash_extended('elonmusk', 0) <> handle_hash_extended('elonmusk', 1) AS seed_matters;
-- code point order, not the collation's
SELECT array_agg(h ORDER BY h) FROM (VALUES ('zoe'::handle), ('Émile'), ('adam'), ('Ωmega'), ('_x'), ('9lives')) v(h);

-- casts: both ways by assignment, neither implicit
SELECT castcontext, castsource::regtype, casttarget::regtype
  FROM pg_cast WHERE castsource = 'handle'::regtype OR casttarget = 'handle'::regtype
 ORDER BY 2, 3;
CREATE TEMP TABLE t_assign (h handle);
INSERT INTO t_assign SELECT '@MixedCase'::text;
SELECT h, h || '!' AS concatenated, upper(h::text) AS upper_text FROM t_assign;
-- text functions need the explicit cast
SELECT upper(h) FROM t_assign;
\echo :LAST_ERROR_SQLSTATE
CREATE TEMP TABLE t_text (t text);
INSERT INTO t_text SELECT h FROM t_assign;
SELECT t FROM t_text;
SELECT 'Elon'::varchar::handle AS from_varchar, handle('@Elon') AS by_function;

-- comparisons with text or varchar canonicalize the text, as a cast would
SELECT 'elonmusk'::handle = '@ElonMusk'::text AS h_eq_text,
       '@ElonMusk'::text = 'elonmusk'::handle AS text_eq_h,
       'elonmusk'::handle = 'ELONMUSK'::varchar AS h_eq_varchar,
       'elonmusk'::handle <> 'Elon_Musk'::text AS ne,
       'abc'::handle < 'ABD'::text AS lt, 'abc'::handle <= 'ABC'::text AS le,
       'b'::handle > 'ABC'::text AS gt, 'abc'::handle >= 'ABCD'::text AS ge,
       'ABD'::text > 'abc'::handle AS text_gt, 'ABCD'::text <= 'abc'::handle AS text_le,
       'Ｊｕｌｉｅｔ'::text = 'juliet'::handle AS fullwidth;
-- in code point order, not the collation's: 'Z' < 'a' as text in C, but
-- the canonical 'z' follows 'a'
SELECT 'a'::handle < 'Z'::text AS lt_canonical;
-- bad text is bad input, never false
SELECT 'elonmusk'::handle = 'elon musk'::text;
\echo :LAST_ERROR_SQLSTATE
SELECT 'elon musk'::varchar <> 'elonmusk'::handle;
\echo :LAST_ERROR_SQLSTATE
SELECT NULL::text = 'elonmusk'::handle AS null_text;
PREPARE cmp_text(text) AS SELECT h FROM t_assign WHERE h = $1;
EXECUTE cmp_text('MixedCase');
EXECUTE cmp_text('@MIXEDCASE');
PREPARE cmp_varchar(varchar) AS SELECT h FROM t_assign WHERE $1 = h;
EXECUTE cmp_varchar('MIXEDcase');
EXECUTE cmp_varchar('mixed case');
\echo :LAST_ERROR_SQLSTATE
-- min and max follow handle order
SELECT min(h), max(h) FROM (VALUES ('zoe'::handle), ('Émile'), ('adam'), ('Ωmega')) v(h);

-- Without the schema on search_path there is no operator for a handle and
-- text: an error, never a comparison of the text as typed.
SET search_path = public;
SELECT 'ElonMusk'::handle_market.handle = '@elonmusk';
\echo :LAST_ERROR_SQLSTATE
SELECT 'ElonMusk'::handle_market.handle = '@elonmusk'::text;
\echo :LAST_ERROR_SQLSTATE
SELECT '@elonmusk'::varchar = 'ElonMusk'::handle_market.handle;
\echo :LAST_ERROR_SQLSTATE
CREATE TEMP TABLE users (id int, h handle_market.handle);
INSERT INTO users VALUES (42, 'User_42');
SELECT id FROM users WHERE h = 'User_42';
\echo :LAST_ERROR_SQLSTATE
PREPARE no_path(text) AS SELECT id FROM users WHERE h = $1;
\echo :LAST_ERROR_SQLSTATE
-- the schema's operators by name
SELECT 'ElonMusk'::handle_market.handle OPERATOR(handle_market.=) '@elonmusk' AS eq_literal,
       'ElonMusk'::handle_market.handle OPERATOR(handle_market.=) '@elonmusk'::text AS eq_text;
SELECT id, h FROM users WHERE h OPERATOR(handle_market.=) 'User_42';
PREPARE with_operator(text) AS
    SELECT id, h FROM users WHERE h OPERATOR(handle_market.=) $1;
EXECUTE with_operator('@USER_42');
SET search_path = handle_market, public;

-- binary send writes the canonical UTF-8 bytes
SELECT
       handle_send('Ωmega_1'::handle) = convert_to('ωmega_1', 'UTF8') AS canonical_bytes;
-- binary COPY round-trips, and receive validates what it reads
CREATE TEMP TABLE bin_src (t text);
INSERT INTO bin_src VALUES ('Ωmega_1'), ('@Elon');
COPY bin_src TO '/tmp/handle_market_regress_ok.bin' (FORMAT binary);
CREATE TEMP TABLE bin_dst (h handle);
COPY bin_dst FROM '/tmp/handle_market_regress_ok.bin' (FORMAT binary);
SELECT h FROM bin_dst ORDER BY h;
COPY bin_dst TO '/tmp/handle_market_regress_h.bin' (FORMAT binary);
CREATE TEMP TABLE bin_back (h handle);
COPY bin_back FROM '/tmp/handle_market_regress_h.bin' (FORMAT binary);
SELECT count(*) AS same_rows FROM bin_back JOIN bin_dst USING (h);
INSERT INTO bin_src VALUES ('elon musk');
COPY bin_src TO '/tmp/handle_market_regress_bad.bin' (FORMAT binary);
COPY bin_dst FROM '/tmp/handle_market_regress_bad.bin' (FORMAT binary);

-- NULLs
SELECT NULL::handle IS NULL AS null_in, handle(NULL) IS NULL AS null_cast;

-- storage: varlena with short headers, not collatable, string category
SELECT typlen, typstorage, typcategory, typcollation = 0 AS not_collatable
  FROM pg_type WHERE oid = 'handle'::regtype;

-- opclasses validate
SELECT opcname, amname, amvalidate(opc.oid)
  FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod
 WHERE opcintype = 'handle'::regtype ORDER BY amname;

-- volatility and strictness are honest
SELECT proname, provolatile, proisstrict, proparallel, proleakproof
  FROM pg_proc WHERE pronamespace = 'handle_market'::regnamespace
   AND (proname ~ '^handle(_(in|out|recv|send|to_text|eq|ne|lt|le|gt|ge|cmp|hash|hash_extended|sortsupport|larger|smaller|text_support))?$'
        OR proname ~ '^(handle_(eq|ne|lt|le|gt|ge)_text|text_(eq|ne|lt|le|gt|ge)_handle)$'
        OR proname IN ('confusable_key', 'check_handle'))
 ORDER BY proname, pronargs;
