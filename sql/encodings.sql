-- A database in another encoding: the type converts at the edges and stores
-- UTF-8, so a handle means the same in every database.  It comes back to
-- the database it was started in, whatever its name (test/upgrade.sh runs
-- it in one of its own).
\set regress_db :DBNAME
CREATE DATABASE hm_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c hm_latin1
SET client_encoding = 'UTF8';
CREATE EXTENSION handle_market;
SET search_path = handle_market, public;
SELECT '@René'::handle AS canonical, length('@René'::handle::text) AS code_points,
       'RENÉ'::handle = 'rené'::handle AS equal,
       -- a 4-byte header and "rené" in UTF-8 (5 bytes; LATIN1 would need 4)
       pg_column_size('René'::handle) AS stored_bytes;
SELECT confusable_key('Renée') AS escaped_key, confusable_key('elon_musk') AS ascii_key,
       check_handle('René', 'precis') AS precis,
       check_handle('René') AS x_classic;
SELECT 'René Dupont'::handle;
\c :regress_db
DROP DATABASE hm_latin1;

-- A handle whose canonical form the database encoding cannot hold is
-- refused at input: stored, it could be neither read nor dumped.  In EUC_JP,
-- halfwidth ｱﾞ becomes ア and a combining voiced mark (U+3099), which EUC_JP
-- lacks; ｶﾞ composes to ガ, which it has.
CREATE DATABASE hm_euc_jp ENCODING 'EUC_JP' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c hm_euc_jp
SET client_encoding = 'UTF8';
CREATE EXTENSION handle_market;
SET search_path = handle_market, public;
CREATE TABLE public.t (h handle);
INSERT INTO t VALUES ('ｱﾞｲｳ');
\echo :LAST_ERROR_SQLSTATE
SELECT 'ｱﾞｲｳ'::text::handle;
\echo :LAST_ERROR_SQLSTATE
SELECT 'ガイウ'::handle = 'ｱﾞｲｳ'::text;
\echo :LAST_ERROR_SQLSTATE
-- binary input too
COPY (SELECT 'ｱﾞｲｳ'::text) TO '/tmp/handle_market_regress_euc_jp.bin' (FORMAT binary);
COPY t FROM '/tmp/handle_market_regress_euc_jp.bin' (FORMAT binary);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO t VALUES ('ｶﾞｲｳ'), ('@Ｔａｒｏ');
SELECT h, length(h::text) AS code_points, h = 'ガイウ'::text AS equal FROM t ORDER BY h;
-- it reads back, and dumps (COPY TO is what pg_dump runs; then pg_dump itself)
COPY t TO STDOUT;
\! pg_dump --data-only --table=public.t --encoding=UTF8 hm_euc_jp | sed -n '/^COPY/,/^\\\./p'
\c :regress_db
DROP DATABASE hm_euc_jp;

-- In WIN1258, Vietnamese is typed as a base letter and a combining tone
-- mark; NFC composes "ê" and U+0323 into "ệ", which WIN1258 has no code for.
CREATE DATABASE hm_win1258 ENCODING 'WIN1258' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c hm_win1258
SET client_encoding = 'UTF8';
CREATE EXTENSION handle_market;
SET search_path = handle_market, public;
CREATE TABLE public.t (h handle);
INSERT INTO t VALUES (E'Vi\u00EA\u0323t');
\echo :LAST_ERROR_SQLSTATE
-- "ơ", "ư" and "á" are single codes in WIN1258, typed composed or not:
-- accepted, read back and dumped
INSERT INTO t VALUES ('THƠ'), ('Sư'), (E'Ca\u0301');
SELECT h, length(h::text) AS code_points FROM t ORDER BY h;
COPY t TO STDOUT;
\! pg_dump --data-only --table=public.t --encoding=UTF8 hm_win1258 | sed -n '/^COPY/,/^\\\./p'
\c :regress_db
DROP DATABASE hm_win1258;
