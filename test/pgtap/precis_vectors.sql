-- test/pgtap/precis_vectors.sql
-- The handle type against PRECIS' own test vectors.  Our profile is stricter
-- than RFC 8265 UsernameCaseMapped (letters, marks, digits and _ only), so:
-- every vector PRECIS rejects we reject too, and every vector it accepts we
-- either accept with the same output or reject for a reason our profile
-- states.  Run by pg_prove from the project's root.
\ir include/settings.psql

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS handle_market;
-- The superuser only installs.  The type, check_handle and confusable_key are
-- PUBLIC's: the assertions run as a role with no grant at all, which proves it.
CREATE ROLE hm_test_public;                -- rolled back with the test
SET ROLE hm_test_public;

SELECT plan(18);

\set vectors_json `cat test/vectors/precis-golden-subset.json`

CREATE FUNCTION pg_temp.try_canon(candidate text, OUT canon text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
    canon := candidate::handle_market.handle::text;
EXCEPTION WHEN invalid_text_representation THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
END $$;

-- U+0000 and lone surrogates cannot be PostgreSQL text: find them in the raw
-- JSON, after taking out well-formed surrogate pairs.
CREATE TEMP TABLE raw_vectors AS
SELECT ord, x::text AS raw,
       regexp_replace(x::text, '\\ud[89ab][0-9a-f]{2}\\ud[c-f][0-9a-f]{2}', '', 'gi')
           ~* '\\u0000|\\ud[89a-f][0-9a-f]{2}' AS unrepresentable
  FROM json_array_elements(:'vectors_json'::json) WITH ORDINALITY AS t(x, ord);

CREATE TEMP TABLE vectors AS
SELECT ord, x->>'profile' AS profile, x->>'input' AS input,
       x->>'output' AS output, x->>'error' AS error
  FROM (SELECT ord, raw::json AS x FROM raw_vectors WHERE NOT unrepresentable) s;

CREATE TEMP TABLE results AS
SELECT v.*, r.canon, r.detail
  FROM vectors v, pg_temp.try_canon(v.input) r;

SELECT is(count(*), 975::bigint, 'the vector file holds 975 vectors') FROM raw_vectors;
SELECT is(count(*), 9::bigint, '9 vectors hold U+0000 or a lone surrogate, which text cannot hold')
  FROM raw_vectors WHERE unrepresentable;
SELECT is(count(*), 322::bigint, 'UsernameCaseMapped: 322 vectors are representable')
  FROM results WHERE profile = 'UsernameCaseMapped';

-- 1. every rejection is ours too
SELECT is_empty($$ SELECT profile, input FROM results
                    WHERE profile = 'UsernameCaseMapped' AND error IS NOT NULL AND canon IS NOT NULL $$,
                'UsernameCaseMapped: every vector PRECIS rejects, the type rejects');
SELECT is_empty($$ SELECT profile, input FROM results
                    WHERE profile = 'UsernameCaseMapped:ToLower' AND error IS NOT NULL AND canon IS NOT NULL $$,
                'UsernameCaseMapped:ToLower: every vector PRECIS rejects, the type rejects');
SELECT is_empty($$ SELECT profile, input FROM results
                    WHERE profile LIKE 'UsernameCaseMapped%' AND error IS NOT NULL
                      AND handle_market.check_handle(input, 'precis') IS NULL $$,
                'check_handle(precis) rejects every vector PRECIS rejects');

-- 2. what both accept comes out the same
SELECT is_empty($$ SELECT profile, input, output, canon FROM results
                    WHERE profile LIKE 'UsernameCaseMapped%' AND error IS NULL AND canon <> output $$,
                'UsernameCaseMapped: accepted vectors have PRECIS'' output exactly');
SELECT is(count(*), 108::bigint, 'UsernameCaseMapped: 108 accepted vectors accepted with the same output')
  FROM results WHERE profile = 'UsernameCaseMapped' AND error IS NULL AND canon = output;
SELECT is(count(*), 108::bigint, 'UsernameCaseMapped:ToLower: 108 accepted vectors accepted with the same output')
  FROM results WHERE profile = 'UsernameCaseMapped:ToLower' AND error IS NULL AND canon = output;

-- 3. what only PRECIS accepts, we reject for a reason our profile states
SELECT is(count(*), 30::bigint, 'UsernameCaseMapped: 30 accepted vectors fall outside our stricter profile')
  FROM results WHERE profile = 'UsernameCaseMapped' AND error IS NULL AND canon IS NULL;
SELECT is_empty($$ SELECT input, detail FROM results
                    WHERE profile LIKE 'UsernameCaseMapped%' AND error IS NULL AND canon IS NULL
                      AND detail !~ '^(character U\+[0-9A-F]{4,6} .+ at position [0-9]+ (is not allowed(: .+)?|breaks the Bidi rule \(RFC 5893\): .+)|handle has [0-9]+ characters; at most 64 are allowed|handle is empty)$' $$,
                'every stricter rejection gives a reason the profile states');
SELECT results_eq($$ SELECT DISTINCT substring(detail from 'character (U\+[0-9A-F]+ [^a]+) at') FROM results
                      WHERE profile = 'UsernameCaseMapped' AND error IS NULL AND canon IS NULL
                        AND detail LIKE 'character %'
                      ORDER BY 1 $$,
                  $$ VALUES ('U+0021 EXCLAMATION MARK'), ('U+0022 QUOTATION MARK'),
                            ('U+0023 NUMBER SIGN'), ('U+0027 APOSTROPHE'),
                            ('U+0028 LEFT PARENTHESIS'), ('U+002B PLUS SIGN'),
                            ('U+0040 COMMERCIAL AT'), ('U+005C REVERSE SOLIDUS'),
                            ('U+007E TILDE'), ('U+00B7 MIDDLE DOT'),
                            ('U+037E GREEK QUESTION MARK'), ('U+05F3 HEBREW PUNCTUATION GERESH'),
                            ('U+06FD ARABIC SIGN SINDHI AMPERSAND'),
                            ('U+06FE ARABIC SIGN SINDHI POSTPOSITION MEN'),
                            ('U+0F0B TIBETAN MARK INTERSYLLABIC TSHEG'), ('U+1FEF GREEK VARIA'),
                            ('U+200C ZERO WIDTH NON-JOINER'), ('U+3007 IDEOGRAPHIC NUMBER ZERO'),
                            ('U+30FB KATAKANA MIDDLE DOT'), ('U+FF01 FULLWIDTH EXCLAMATION MARK'),
                            ('U+FF04 FULLWIDTH DOLLAR SIGN') $$,
                  'beyond PRECIS we refuse punctuation, symbols, a joiner and a letter-number, by name');
SELECT is(detail, 'handle has 87 characters; at most 64 are allowed',
          'the one long accepted vector is refused for its length')
  FROM results WHERE profile = 'UsernameCaseMapped' AND error IS NULL AND detail LIKE 'handle has%';

-- 4. IdentifierClass applies no width or case mapping; where it rejects and
-- we accept, the mapping is the reason, so UsernameCaseMapped accepts too.
SELECT is_empty($$ SELECT i.input FROM results i
                    WHERE i.profile = 'IdentifierClass' AND i.error IS NOT NULL AND i.canon IS NOT NULL
                      AND NOT EXISTS (SELECT FROM results u
                                       WHERE u.profile = 'UsernameCaseMapped'
                                         AND u.input = i.input AND u.error IS NULL) $$,
                'IdentifierClass: we accept only what the mapping makes valid');
SELECT is(count(*), 184::bigint, 'IdentifierClass: 184 rejections are ours too')
  FROM results WHERE profile = 'IdentifierClass' AND error IS NOT NULL AND canon IS NULL;

-- 5. every PRECIS error category is covered
SELECT results_eq($$ SELECT error, count(*) FROM results
                      WHERE profile = 'UsernameCaseMapped' AND error IS NOT NULL AND canon IS NULL
                      GROUP BY error ORDER BY error $$,
                  $$ SELECT error, count(*) FROM results
                      WHERE profile = 'UsernameCaseMapped' AND error IS NOT NULL
                      GROUP BY error ORDER BY error $$,
                  'every PRECIS error category is rejected in full');

-- 6. the canonical form is a fixed point on every accepted vector
SELECT is_empty($$ SELECT canon FROM results
                    WHERE canon IS NOT NULL AND canon::handle_market.handle::text <> canon $$,
                'canonical forms canonicalize to themselves');
SELECT is_empty($$ SELECT canon FROM results
                    WHERE canon IS NOT NULL AND handle_market.confusable_key(canon::handle_market.handle) IS NULL $$,
                'every accepted vector has a confusable key');

SELECT * FROM finish();
ROLLBACK;
