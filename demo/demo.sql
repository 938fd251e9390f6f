-- demo/demo.sql: what handle_market does so far, with real output.
-- Run by `make demo` on a throw-away cluster.
\pset pager off
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE EXTENSION handle_market;
SET search_path = handle_market, public;

-- 1. The handle type stores the canonical form: one leading @ dropped, width
--    mapped, lowercased, NFC.  Equality, hashing and ordering compare bytes.
SELECT '@ElonMusk'::handle AS typed_with_at,
       'ＥｌｏｎＭｕｓｋ'::handle AS fullwidth,
       'ElonMusk'::handle = '@elonmusk'::handle AS same_handle;

-- 2. Bad input is refused with SQLSTATE 22P02 and a detail that names the
--    character and where it is.
SELECT 'elon musk'::handle;
SELECT ('elon' || E'\u200B' || 'musk')::handle;
SELECT ('abc' || E'\u05D0')::handle;

-- 3. Look-alikes share a confusable key, so a unique index refuses them.
SELECT h AS candidate, confusable_key(h::handle) AS key
  FROM unnest(ARRAY['elon_musk', 'eIon_musk', 'e1on_musk', 'EL0N_MUSK',
                    'еlon_musk', 'g00gle', 'google', 'аррӏе', 'apple']) AS h;

CREATE TABLE registered (h handle PRIMARY KEY);
CREATE UNIQUE INDEX registered_lookalikes ON registered (confusable_key(h));
INSERT INTO registered VALUES ('elon_musk'), ('google');
INSERT INTO registered VALUES ('ELON_MUSK');      -- same handle
INSERT INTO registered VALUES ('eIon_musk');      -- capital I for l
INSERT INTO registered VALUES ('еlon_musk');      -- Cyrillic е
INSERT INTO registered VALUES ('g00gle');         -- zeros for o

-- 4. What a sign-up form calls on each keystroke: NULL when acceptable,
--    otherwise one reason.  It never raises for bad input.
SELECT c AS candidate, check_handle(c) AS x_classic, check_handle(c, 'precis') AS precis
  FROM unnest(ARRAY['elon_musk', 'abc', 'еlon_musk', 'аpple', 'René_2', 'elon musk']) AS c;

-- 5. Indexes: btree (with sort support) and hash, used like any type's.
INSERT INTO registered SELECT 'user_' || g FROM generate_series(1, 10000) g;
ANALYZE registered;
EXPLAIN (COSTS OFF) SELECT * FROM registered WHERE h = '@User_42';
SELECT * FROM registered WHERE h = '@User_42';

-- 6. The ICU and Unicode versions the keys were computed with.
SELECT icu_version, unicode_version, running_icu_version() AS running_icu
  FROM unicode_versions;
