-- Indexes on handles: btree (with sort support and deduplication) and hash.
SET search_path = handle_market, public;

CREATE TABLE accounts_demo (id int PRIMARY KEY, h handle NOT NULL);
INSERT INTO accounts_demo
SELECT g, 'user_' || g FROM generate_series(1, 20000) g;
CREATE UNIQUE INDEX accounts_demo_h ON accounts_demo (h);
ANALYZE accounts_demo;

-- the same handle in another case is the same value
INSERT INTO accounts_demo VALUES (0, '@USER_42');

SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM accounts_demo WHERE h = '@User_42';
SELECT id FROM accounts_demo WHERE h = '@User_42';
EXPLAIN (COSTS OFF) SELECT count(*) FROM accounts_demo WHERE h BETWEEN 'user_1000' AND 'user_1099';
SELECT count(*) FROM accounts_demo WHERE h BETWEEN 'user_1000' AND 'user_1099';
RESET enable_seqscan;

-- the sorted order (abbreviated keys) agrees with byte order of the text
SELECT count(*) AS out_of_order FROM (
  SELECT h::text AS t, lag(h::text) OVER (ORDER BY h) AS prev FROM accounts_demo) s
 WHERE prev COLLATE "C" >= t COLLATE "C";
-- the same with distinct leading bytes (abbreviation kept)
CREATE TEMP TABLE shuffled AS
SELECT md5(g::text) || '_' || g AS t FROM generate_series(1, 20000) g;
SELECT bool_and(a = b) AS same_order FROM (
  SELECT row_number() OVER (ORDER BY t::handle) AS n, t::handle AS a FROM shuffled) x
  JOIN (SELECT row_number() OVER (ORDER BY t COLLATE "C") AS n, t::handle AS b FROM shuffled) y
  USING (n);

-- handles sharing their first eight bytes: abbreviation is abandoned, and
-- the order is still right
CREATE TEMP TABLE same_prefix AS
SELECT 'same_prefix_' || md5(g::text) AS t FROM generate_series(1, 20000) g;
SELECT bool_and(a = b) AS same_order FROM (
  SELECT row_number() OVER (ORDER BY t::handle) AS n, t::handle AS a FROM same_prefix) x
  JOIN (SELECT row_number() OVER (ORDER BY t COLLATE "C") AS n, t::handle AS b FROM same_prefix) y
  USING (n);

-- indexes built with sort support pass amcheck's ordering checks
CREATE EXTENSION amcheck;
CREATE INDEX shuffled_h ON shuffled ((t::handle));
CREATE INDEX same_prefix_h ON same_prefix ((t::handle));
SELECT bt_index_check('shuffled_h', true), bt_index_check('same_prefix_h', true),
       bt_index_check('accounts_demo_h', true);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT t FROM shuffled ORDER BY t::handle LIMIT 3;
SELECT t FROM shuffled ORDER BY t::handle LIMIT 3;
RESET enable_seqscan;

-- hash index and hash join
CREATE INDEX accounts_demo_h_hash ON accounts_demo USING hash (h);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM accounts_demo WHERE h = 'user_7';
SELECT id FROM accounts_demo WHERE h = 'user_7';
RESET enable_bitmapscan;
RESET enable_seqscan;
SET enable_mergejoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF)
SELECT count(*) FROM accounts_demo a JOIN accounts_demo b ON a.h = b.h;
SELECT count(*) FROM accounts_demo a JOIN accounts_demo b ON a.h = b.h;
RESET enable_mergejoin;
RESET enable_nestloop;

-- unique index refuses the same handle typed differently
INSERT INTO accounts_demo VALUES (-1, 'User_7');

-- deduplication is allowed (equalimage)
SELECT amproc::regproc FROM pg_amproc
 WHERE amprocfamily = (SELECT opcfamily FROM pg_opclass
                        WHERE opcname = 'handle_ops'
                          AND opcmethod = (SELECT oid FROM pg_am WHERE amname = 'btree'))
   AND amprocnum = 4;

-- A text or varchar parameter (a driver's setString) is canonicalized once
-- and compared as a handle, through the btree index.
DROP INDEX accounts_demo_h_hash;
INSERT INTO accounts_demo VALUES (20001, 'elonmusk');
PREPARE by_text(text) AS SELECT id, h FROM accounts_demo WHERE h = $1;
PREPARE by_varchar(varchar) AS SELECT id, h FROM accounts_demo WHERE h = $1;
PREPARE text_first(text) AS SELECT id, h FROM accounts_demo WHERE $1 = h;
EXECUTE by_text('ElonMusk');
EXECUTE by_varchar('@ELONMUSK');
EXECUTE text_first('@User_42');
EXPLAIN (COSTS OFF) EXECUTE by_text('ElonMusk');
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE by_text('ElonMusk');
EXPLAIN (COSTS OFF) EXECUTE by_varchar('ElonMusk');
EXPLAIN (COSTS OFF) EXECUTE text_first('ElonMusk');
EXECUTE by_text('ElonMusk');
EXECUTE by_varchar('@ELONMUSK');
-- ranges too; BETWEEN is >= and <=
PREPARE text_range(text, text) AS
    SELECT count(*) FROM accounts_demo WHERE h BETWEEN $1 AND $2;
EXPLAIN (COSTS OFF) EXECUTE text_range('USER_1000', '@User_1099');
EXECUTE text_range('USER_1000', '@User_1099');
-- bad text is an error, as in a cast
EXECUTE by_text('elon musk');
\echo :LAST_ERROR_SQLSTATE
RESET plan_cache_mode;
EXECUTE by_varchar('elon.musk');
\echo :LAST_ERROR_SQLSTATE
-- a text column joins as handles
CREATE TEMP TABLE wanted (t text);
INSERT INTO wanted VALUES ('@ElonMusk'), ('USER_7'), ('nobody_here');
SELECT w.t, a.id, a.h FROM wanted w JOIN accounts_demo a ON a.h = w.t ORDER BY a.id;
