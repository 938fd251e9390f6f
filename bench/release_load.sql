-- bench/release_load.sql: the data of the lifecycle benches, built once
-- through the API in the database hm_tmpl (included by release_bench.sql,
-- and by history_bench.sql when release_bench.sql has not left hm_tmpl):
-- accounts 1..:n, account g owning handle 'u' || lpad(g, 7, '0'), all
-- registered on 2026-01-01; the owners with g % 5 < 2 (40%, spread evenly
-- over the key order) were last active on 2026-01-01, the others on
-- 2026-02-01.  Sets :load_accounts_s and :load_handles_s.
CREATE DATABASE hm_tmpl;
\c hm_tmpl
SET client_min_messages = warning;
CREATE EXTENSION handle_market;
CREATE EXTENSION pg_prewarm;
CREATE SCHEMA bench;

-- Two loaders, one per core, each a contiguous half of the ids (so their
-- index insertions do not fight over the same leaf pages).
SELECT clock_timestamp() AS t_load \gset
\! for p in 0 1; do psql -X -q -v ON_ERROR_STOP=1 -d hm_tmpl -c "SELECT count(handle_market.upsert_account(g, active_at => CASE WHEN g % 5 < 2 THEN timestamptz '2026-01-01' ELSE timestamptz '2026-02-01' END)) FROM generate_series($p * $HM_N / 2 + 1, ($p + 1) * $HM_N / 2) g" >/dev/null & done; wait
SELECT round(extract(epoch FROM clock_timestamp() - :'t_load')) AS load_accounts_s,
       clock_timestamp() AS t_load \gset
\! for p in 0 1; do psql -X -q -v ON_ERROR_STOP=1 -d hm_tmpl -c "SELECT count(handle_market.register_handle(g, 'u' || lpad(g::text, 7, '0'), '2026-01-01')) FROM generate_series($p * $HM_N / 2 + 1, ($p + 1) * $HM_N / 2) g" >/dev/null & done; wait
SELECT round(extract(epoch FROM clock_timestamp() - :'t_load')) AS load_handles_s \gset
SELECT set_config('bench.n', :'n', false) \gset
DO $$
BEGIN
    IF (SELECT count(*) FROM handle_market.handles WHERE state = 'registered')
           <> current_setting('bench.n')::bigint
       OR (SELECT count(*) FROM handle_market.accounts) <> current_setting('bench.n')::bigint THEN
        RAISE EXCEPTION 'release bench: the load did not create % accounts and handles',
            current_setting('bench.n');
    END IF;
END $$;
