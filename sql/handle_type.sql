-- The handle type: input, output, casts, operators, binary I/O.
SET search_path = handle_market, public;

-- canonical output
SELECT '@ElonMusk'::handle AS h;
SELECT 'elon_musk'::handle, 'ELON_MUSK'::handle, '@elon_musk'::handle;
SELECT 'Ｊｕｌｉｅｔ'::handle AS fullwidth, 'ΟΔΟΣ'::handle AS final_sigma,
       'İstanbul'::handle AS dotted_i, 'Kevin'::handle AS kelvin_sign;
-- NFC: a decomposed é becomes one code point
SELECT 'rene' || E'\u0301' AS typed, ('rene' || E'\u0301')::handle AS canonical,
       length(('rene' || E'\u0301')::handle) AS code_points;
-- 64 code points is the most
SELECT length(repeat('a', 64)::handle);

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

-- casts: text -> handle is assignment, handle -> text implicit
SELECT castcontext, castsource::regtype, casttarget::regtype
  FROM pg_cast WHERE castsource = 'handle'::regtype OR casttarget = 'handle'::regtype
 ORDER BY 2, 3;
CREATE TEMP TABLE t_assign (h handle);
INSERT INTO t_assign SELECT '@MixedCase'::text;
SELECT h, h || '!' AS concatenated, upper(h) AS upper_text FROM t_assign;
SELECT 'Elon'::varchar::handle AS from_varchar, handle('@Elon') AS by_function;

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
   AND (proname ~ '^handle(_(in|out|recv|send|to_text|eq|ne|lt|le|gt|ge|cmp|hash|hash_extended|sortsupport))?$'
        OR proname IN ('confusable_key', 'check_handle'))
 ORDER BY proname, pronargs;
