-- bench/handle_bench.sql: the handle type against the baselines it must be
-- measured by, all in one run on one server.  Costs are medians of
-- interleaved repetitions; per-call costs subtract the cost of the same scan
-- without the function.  Run by bench/run.sh (make bench).
\set QUIET on
\set ON_ERROR_STOP on
\pset pager off
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
SET max_parallel_maintenance_workers = 0;
SET work_mem = '256MB';
SET maintenance_work_mem = '1GB';
SET jit = off;

CREATE EXTENSION handle_market;
CREATE EXTENSION citext;
CREATE SCHEMA bench;
SET search_path = bench, public;

-- Realistic ASCII handles: words and names in mixed case, digits and
-- underscores, 4 to 15 characters.
SELECT setseed(0.42) \gset
CREATE TABLE bench.ascii AS
WITH words AS (
    SELECT ARRAY['John', 'jane', 'Cool', 'dark', 'Elon', 'mike', 'Sara', 'TheReal',
                 'crypto', 'Big', 'lil', 'Mr', 'doc', 'its', 'Alex', 'maria',
                 'Pixel', 'night', 'Gold', 'tiny', 'Max', 'luna', 'Sky', 'real'] AS a,
           ARRAY['Smith', 'cat', 'Musk', 'Gamer', 'wolf', 'Dev', 'King', 'queen',
                 'fan', 'Official', 'tv', 'news', 'Bot', 'Pro', 'art', 'Lee',
                 'Fox', 'bear', 'Rider', 'chef', 'Jones', 'music', 'hq', 'Ninja'] AS b
)
SELECT left(a[1 + floor(random() * 24)::int]
            || CASE WHEN random() < 0.4 THEN '_' ELSE '' END
            || b[1 + floor(random() * 24)::int]
            || CASE WHEN random() < 0.6 THEN floor(random() * 10000)::int::text ELSE '' END,
            15) AS x
  FROM words, generate_series(1, 1000000);
ALTER TABLE bench.ascii
    ADD COLUMN h handle_market.handle,
    ADD COLUMN xc text COLLATE "C",
    ADD COLUMN ci citext;
UPDATE bench.ascii SET h = x::handle_market.handle, xc = x, ci = x;
VACUUM (FREEZE, ANALYZE) bench.ascii;

-- Non-ASCII handles: Cyrillic, Greek and accented Latin, mixed case.
CREATE TABLE bench.unicode AS
WITH words AS (
    SELECT ARRAY['Иван', 'Мария', 'Дмитрий', 'Σωκράτης', 'Ελένη', 'Νίκος', 'José',
                 'Zoë', 'Łukasz', 'Dvořák', 'Müller', 'Ñandú', 'Ærø', 'Çelik',
                 'Ольга', 'Γιώργος'] AS a,
           ARRAY['_', '', '_official', '77', '_tv', '2024'] AS b
)
SELECT a[1 + floor(random() * 16)::int] || b[1 + floor(random() * 6)::int] AS x
  FROM words, generate_series(1, 200000);
VACUUM (FREEZE, ANALYZE) bench.unicode;

-- median milliseconds of each query, the queries run in turn reps times
CREATE FUNCTION bench.run(labels text[], queries text[], reps int)
RETURNS TABLE (label text, ms float8)
LANGUAGE plpgsql AS $$
DECLARE
    v_times float8[] := array_fill(0::float8, ARRAY[array_length(queries, 1), reps]);
    v_t0 timestamptz;
BEGIN
    FOR i IN 1 .. array_length(queries, 1) LOOP      -- warm-up
        EXECUTE queries[i];
    END LOOP;
    FOR r IN 1 .. reps LOOP
        FOR i IN 1 .. array_length(queries, 1) LOOP
            v_t0 := clock_timestamp();
            EXECUTE queries[i];
            v_times[i][r] := extract(epoch FROM clock_timestamp() - v_t0) * 1000;
        END LOOP;
    END LOOP;
    FOR i IN 1 .. array_length(queries, 1) LOOP
        label := labels[i];
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY t)
          INTO ms FROM unnest(v_times[i:i][1:reps]) t;
        RETURN NEXT;
    END LOOP;
END $$;

CREATE TEMP TABLE results (label text PRIMARY KEY, ms float8);

INSERT INTO results SELECT * FROM bench.run(
    ARRAY['scan text', 'lower(x)', 'lower(x COLLATE "C")', 'x::handle', 'scan handle',
          'confusable_key(h)'],
    ARRAY['SELECT count(x) FROM bench.ascii',
          'SELECT count(lower(x)) FROM bench.ascii',
          'SELECT count(lower(x COLLATE "C")) FROM bench.ascii',
          'SELECT count(x::handle_market.handle) FROM bench.ascii',
          'SELECT count(h) FROM bench.ascii',
          'SELECT count(handle_market.confusable_key(h)) FROM bench.ascii'],
    7);

CREATE FUNCTION bench.build(col text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE INDEX bench_idx ON bench.ascii (%I)', col);
    DROP INDEX bench.bench_idx;
END $$;
INSERT INTO results SELECT * FROM bench.run(
    ARRAY['index handle', 'index text "C"', 'index citext'],
    ARRAY['SELECT bench.build(''h'')', 'SELECT bench.build(''xc'')', 'SELECT bench.build(''ci'')'],
    5);

INSERT INTO results SELECT * FROM bench.run(
    ARRAY['unicode scan', 'unicode lower(x)', 'unicode x::handle', 'unicode confusable_key'],
    ARRAY['SELECT count(x) FROM bench.unicode',
          'SELECT count(lower(x)) FROM bench.unicode',
          'SELECT count(x::handle_market.handle) FROM bench.unicode',
          'SELECT count(handle_market.confusable_key(x::handle_market.handle)) FROM bench.unicode'],
    7);

\pset footer off
\echo
SELECT version() AS server, current_setting('lc_ctype') AS lc_ctype,
       handle_market.running_icu_version() AS icu;
\echo Medians (ms): 1,000,000 ASCII rows; 200,000 non-ASCII rows
SELECT label, round(ms::numeric, 1) AS ms FROM results ORDER BY label;

CREATE FUNCTION pg_temp.r(a text) RETURNS float8 LANGUAGE sql AS
$$ SELECT ms FROM results WHERE label = a $$;

\echo
\echo 'Ratios (per-call ratios subtract the plain scan; lower is better;'
\echo 'lower(x) uses the lc_ctype shown above; lower(x COLLATE "C") is its cheapest path)'
SELECT 'x::handle vs lower(x), per call' AS measure,
       round(((pg_temp.r('x::handle') - pg_temp.r('scan text'))
            / (pg_temp.r('lower(x)') - pg_temp.r('scan text')))::numeric, 2) AS ratio,
       'at most 1.3' AS target,
       round((pg_temp.r('x::handle') / pg_temp.r('lower(x)'))::numeric, 2) AS whole_query_ratio
UNION ALL
SELECT 'x::handle vs lower(x COLLATE "C"), per call',
       round(((pg_temp.r('x::handle') - pg_temp.r('scan text'))
            / (pg_temp.r('lower(x COLLATE "C")') - pg_temp.r('scan text')))::numeric, 2),
       'stricter baseline', NULL
UNION ALL
SELECT 'confusable_key(h) vs lower(x), per call',
       round(((pg_temp.r('confusable_key(h)') - pg_temp.r('scan handle'))
            / (pg_temp.r('lower(x)') - pg_temp.r('scan text')))::numeric, 2),
       'at most 1.5',
       round((pg_temp.r('confusable_key(h)') / pg_temp.r('lower(x)'))::numeric, 2)
UNION ALL
SELECT 'btree build: handle vs text COLLATE "C"',
       round((pg_temp.r('index handle') / pg_temp.r('index text "C"'))::numeric, 2),
       'at most 1.2', NULL
UNION ALL
SELECT 'btree build: handle vs citext',
       round((pg_temp.r('index handle') / pg_temp.r('index citext'))::numeric, 2),
       'clearly below 1', NULL
UNION ALL
SELECT 'non-ASCII x::handle vs lower(x), per call',
       round(((pg_temp.r('unicode x::handle') - pg_temp.r('unicode scan'))
            / (pg_temp.r('unicode lower(x)') - pg_temp.r('unicode scan')))::numeric, 2),
       'reported', NULL;

\echo
\echo Non-ASCII per-call cost (microseconds; target under 3)
SELECT round(((pg_temp.r('unicode x::handle') - pg_temp.r('unicode scan')) * 1000 / 200000)::numeric, 3)
           AS "x::handle µs/call",
       round(((pg_temp.r('unicode confusable_key') - pg_temp.r('unicode x::handle')) * 1000 / 200000)::numeric, 3)
           AS "confusable_key µs/call",
       round(((pg_temp.r('unicode lower(x)') - pg_temp.r('unicode scan')) * 1000 / 200000)::numeric, 3)
           AS "lower(x) µs/call";
