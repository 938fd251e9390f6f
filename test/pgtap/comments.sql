-- test/pgtap/comments.sql
-- Every public function and procedure of the extension (schema
-- handle_market, name not starting with _) says what it is for in its
-- COMMENT: \df+ and the catalogs are how a caller finds out.  Most are
-- commented where they are defined, the rest in src/sql/95_comments.sql.
\ir include/settings.psql

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS handle_market;
SET handle_market.simulated_time = on;
SET search_path = handle_market, public;

SELECT plan(2);

SELECT is_empty($$
    SELECT p.oid::regprocedure::text
      FROM pg_proc p
     WHERE p.pronamespace = 'handle_market'::regnamespace
       AND p.proname !~ '^_'
       AND obj_description(p.oid, 'pg_proc') IS NULL
     ORDER BY 1 $$,
    'every public function and procedure has a comment');
-- a comment is a sentence, not a placeholder
SELECT is_empty($$
    SELECT p.oid::regprocedure::text
      FROM pg_proc p
     WHERE p.pronamespace = 'handle_market'::regnamespace
       AND p.proname !~ '^_'
       AND length(btrim(obj_description(p.oid, 'pg_proc'))) < 20
     ORDER BY 1 $$,
    'and none is shorter than 20 characters');

SELECT * FROM finish();
ROLLBACK;
