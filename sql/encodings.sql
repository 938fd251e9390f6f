-- A database in another encoding: the type converts at the edges and stores
-- UTF-8, so a handle means the same in every database.
CREATE DATABASE hm_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c hm_latin1
SET client_encoding = 'UTF8';
CREATE EXTENSION handle_market;
SET search_path = handle_market, public;
SELECT '@René'::handle AS canonical, length('@René'::handle) AS code_points,
       'RENÉ'::handle = 'rené'::handle AS equal,
       -- a 4-byte header and "rené" in UTF-8 (5 bytes; LATIN1 would need 4)
       pg_column_size('René'::handle) AS stored_bytes;
SELECT confusable_key('Renée') AS escaped_key, confusable_key('elon_musk') AS ascii_key,
       check_handle('René', 'precis') AS precis,
       check_handle('René') AS x_classic;
SELECT 'René Dupont'::handle;
\c contrib_regression
DROP DATABASE hm_latin1;
