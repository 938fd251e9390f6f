-- bench/release_bench.sql: release_dormant() over 1,000,000 handles, 40% of
-- whose owners are dormant, against the batched UPDATE a DBA would write by
-- hand for the same rows, both measured in the same run on the same server.
-- Run by bench/run.sh (make bench), after bench/handle_bench.sql.
--
-- The data is built once, through the API, in the database hm_tmpl:
-- accounts 1..N, account g owning handle 'u' || lpad(g, 7, '0'), all
-- registered on 2026-01-01; the owners with g % 5 < 2 (40%, spread evenly
-- over the key order) were last active on 2026-01-01, the others on
-- 2026-02-01.  Next to it, bench.h_copy and bench.a_copy hold a plain copy of
-- the same (handle, owner_id, state) and account rows.
--
-- What is timed: the notice pass at as_of 2026-02-05 (day 35 of dormancy),
-- batch_size 10000, that is
--   CALL handle_market.release_dormant('2026-02-05', 10000)
--     walks the 1,000,000 handles in key order, 100 batches each committed,
--     and puts the 400,000 dormant owners' handles at_risk (with their
--     handle_events and outbox rows), against
--   CALL bench.batched_update('2026-02-05', 10000)
--     the same walk over bench.h_copy (keyset pagination on its primary key,
--     COMMIT per batch), one UPDATE ... FROM bench.a_copy per batch that sets
--     state and notice_at of the rows whose owner is dormant and not exempt.
-- Both change the data, so every repetition runs in a fresh clone of hm_tmpl
-- (CREATE DATABASE ... TEMPLATE), with both passes in it, the order of the
-- two alternating from one repetition to the next; before each pass both
-- sides' tables are loaded into shared_buffers (pg_prewarm) and a CHECKPOINT
-- is taken.  The reported figures are medians of the repetitions.
\set QUIET on
\set ON_ERROR_STOP on
\pset pager off
SET client_min_messages = warning;
\if :{?n}
\else
    \set n 1000000
\endif
\setenv HM_N :n
-- The bench walks a calendar (accounts active on 2026-01-01 and 02-01, a
-- pass at 2026-02-05): as deployed every write happens at the server's time
-- (HM017), so every session of the bench, the loaders it starts and the
-- databases it connects to again, simulates time (as the superuser).
\setenv PGOPTIONS '-c handle_market.simulated_time=on'

\ir release_load.sql

-- The hand-written side: a plain copy of the same rows.
CREATE TABLE bench.h_copy (
    handle handle_market.handle PRIMARY KEY,
    owner_id bigint,
    state text NOT NULL,
    notice_at timestamptz
);
INSERT INTO bench.h_copy SELECT handle, owner_id, state, notice_at
  FROM handle_market.handles ORDER BY handle;
CREATE TABLE bench.a_copy (
    account_id bigint PRIMARY KEY,
    subscription text NOT NULL,
    verified boolean NOT NULL,
    last_active_at timestamptz NOT NULL
);
INSERT INTO bench.a_copy SELECT account_id, subscription, verified, last_active_at
  FROM handle_market.accounts ORDER BY account_id;

-- What a DBA would write by hand: walk the table in key order, batch_size
-- rows at a time, COMMIT after each batch, and mark the rows whose owner has
-- been inactive for 30 days and is not exempt, looking each owner up by its
-- primary key.  Two things keep this baseline honest rather than slow:
-- * The handle operators are named with their schema: with handle_market
--   off the search_path a bare >= finds no operator (handle does not cast
--   to text implicitly; before it did, and text's >= could not use the
--   primary key, so every batch would have been a sequential scan of h_copy).
-- * The owner test is a correlated subquery, not UPDATE ... FROM a_copy: at
--   the default cost settings the planner hash-joins each 10,000-row batch
--   against a full scan of the 1,000,000 accounts (about 4 times slower
--   here), which would measure a planner misestimate, not the work.
CREATE PROCEDURE bench.batched_update(p_as_of timestamptz, p_batch integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_lo handle_market.handle;      -- first handle of this batch
    v_next handle_market.handle;    -- first handle of the next batch
BEGIN
    SELECT handle INTO v_lo FROM bench.h_copy ORDER BY handle LIMIT 1;
    WHILE v_lo IS NOT NULL LOOP
        SELECT handle INTO v_next FROM bench.h_copy WHERE handle OPERATOR(handle_market.>=) v_lo
         ORDER BY handle OFFSET p_batch LIMIT 1;
        IF v_next IS NOT NULL THEN
            UPDATE bench.h_copy h SET state = 'at_risk', notice_at = p_as_of
             WHERE h.handle OPERATOR(handle_market.>=) v_lo
               AND h.handle OPERATOR(handle_market.<) v_next
               AND h.state = 'registered'
               AND (SELECT a.last_active_at <= p_as_of - interval '30 days'
                           AND NOT a.verified AND a.subscription = 'none'
                      FROM bench.a_copy a WHERE a.account_id = h.owner_id);
        ELSE                        -- the last batch
            UPDATE bench.h_copy h SET state = 'at_risk', notice_at = p_as_of
             WHERE h.handle OPERATOR(handle_market.>=) v_lo
               AND h.state = 'registered'
               AND (SELECT a.last_active_at <= p_as_of - interval '30 days'
                           AND NOT a.verified AND a.subscription = 'none'
                      FROM bench.a_copy a WHERE a.account_id = h.owner_id);
        END IF;
        COMMIT;
        v_lo := v_next;
    END LOOP;
END $$;

-- One timed pass: prewarm both sides, checkpoint, run, report the
-- milliseconds and how many rows the pass changed.
CREATE PROCEDURE bench.timed(which text, INOUT ms float8 DEFAULT NULL,
                             INOUT changed bigint DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    v_t0 timestamptz;
BEGIN
    PERFORM set_config('client_min_messages', 'warning', false);
    PERFORM pg_prewarm(c) FROM unnest(ARRAY[
        'handle_market.handles', 'handle_market.handles_pkey', 'handle_market.handles_key',
        'handle_market.handles_owner', 'handle_market.accounts', 'handle_market.accounts_pkey',
        'bench.h_copy', 'bench.h_copy_pkey', 'bench.a_copy', 'bench.a_copy_pkey']::regclass[]) c;
    CHECKPOINT;
    COMMIT;
    v_t0 := clock_timestamp();
    IF which = 'release_dormant' THEN
        CALL handle_market.release_dormant('2026-02-05', 10000);
    ELSE
        CALL bench.batched_update('2026-02-05', 10000);
    END IF;
    ms := extract(epoch FROM clock_timestamp() - v_t0) * 1000;
    IF which = 'release_dormant' THEN
        SELECT count(*) INTO changed FROM handle_market.handles WHERE state = 'at_risk';
    ELSE
        SELECT count(*) INTO changed FROM bench.h_copy WHERE state = 'at_risk';
    END IF;
END $$;

VACUUM (FREEZE, ANALYZE);
\c postgres
SET client_min_messages = warning;
-- a plain table: psql's \c ends the session and would take a temporary one along
CREATE TABLE release_times (rep int, label text, ms float8, changed bigint);

CREATE DATABASE hm_rep1 TEMPLATE hm_tmpl STRATEGY FILE_COPY;
\c hm_rep1
CALL bench.timed('batched UPDATE') \gset a_
CALL bench.timed('release_dormant') \gset b_
\c postgres
INSERT INTO release_times VALUES (1, 'batched UPDATE', :a_ms, :a_changed),
                                 (1, 'release_dormant', :b_ms, :b_changed);
DROP DATABASE hm_rep1;

CREATE DATABASE hm_rep2 TEMPLATE hm_tmpl STRATEGY FILE_COPY;
\c hm_rep2
CALL bench.timed('release_dormant') \gset b_
CALL bench.timed('batched UPDATE') \gset a_
\c postgres
INSERT INTO release_times VALUES (2, 'batched UPDATE', :a_ms, :a_changed),
                                 (2, 'release_dormant', :b_ms, :b_changed);
DROP DATABASE hm_rep2;

CREATE DATABASE hm_rep3 TEMPLATE hm_tmpl STRATEGY FILE_COPY;
\c hm_rep3
CALL bench.timed('batched UPDATE') \gset a_
CALL bench.timed('release_dormant') \gset b_
\c postgres
INSERT INTO release_times VALUES (3, 'batched UPDATE', :a_ms, :a_changed),
                                 (3, 'release_dormant', :b_ms, :b_changed);
DROP DATABASE hm_rep3;
-- history_bench.sql runs on the same data next (bench/run.sh keeps it)
\if :{?keep_tmpl}
\else
    DROP DATABASE hm_tmpl;
\endif

CREATE TEMP TABLE release_results AS
SELECT label, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms,
       min(changed) AS min_changed, max(changed) AS max_changed
  FROM release_times GROUP BY label;
DROP TABLE release_times;
CREATE FUNCTION pg_temp.r(a text) RETURNS float8 LANGUAGE sql AS
$$ SELECT ms FROM release_results WHERE label = a $$;

\pset footer off
\echo
SELECT to_char(:n, 'FM999,999,999') AS n_text \gset
\echo 'release_dormant: notice pass over' :n_text 'handles, 40% dormant owners, batch_size 10000,'
\echo 'medians of 3 repetitions, each in a fresh clone of the data'
\echo '(setup through the API:' :load_accounts_s 's accounts,' :load_handles_s 's handles, two loaders)'
SELECT label, round(ms::numeric, 1) AS median_ms,
       to_char(round(:n / (ms / 1000)), 'FM999,999,999') AS "examined/s",
       CASE WHEN min_changed = max_changed THEN min_changed::text
            ELSE min_changed || '..' || max_changed END AS rows_changed
  FROM release_results ORDER BY label;
SELECT format('release_dormant vs batched UPDATE: %s (target >= 0.5); %s handles/s',
              round((pg_temp.r('batched UPDATE') / pg_temp.r('release_dormant'))::numeric, 2),
              to_char(round(:n / (pg_temp.r('release_dormant') / 1000)), 'FM999,999,999'))
       AS line \gset
\echo :line
