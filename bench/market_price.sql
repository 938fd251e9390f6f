-- bench/market_price.sql: price() per call against lower() over the same
-- text values, in a database of its own.  The candidates mix the three kinds
-- price() answers for: premium-list entries (no row; the backend's copy of
-- the list), handles released through release_dormant() and now in their
-- premium phase (a row; base by length + decaying premium), and handles
-- never registered, 4 to 15 characters (a primary-key probe that finds
-- nothing, then the list).  Costs are medians of interleaved repetitions;
-- per-call costs subtract the plain scan of the same values.  Run by
-- bench/market_bench.sh.
\set QUIET on
\set ON_ERROR_STOP on
\pset pager off
\pset footer off
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
SET jit = off;

CREATE EXTENSION handle_market;
CREATE SCHEMA bench;

-- Simulated time (as deployed every write happens at the server's time,
-- HM017; the superuser's session may simulate it): the owners were last
-- active at t0; the first release run
-- notices them, the second (after the 30-day notice period) releases them;
-- as_of falls after the 30 days of redemption and 5 of quarantine, on day
-- 4 of the 21-day premium phase.
SET handle_market.simulated_time = on;
SELECT date_trunc('day', now()) - interval '200 days' AS t0 \gset
SELECT :'t0'::timestamptz + interval '100 days' AS as_of \gset
CREATE TABLE bench.params AS SELECT :'as_of'::timestamptz AS as_of;

\o /dev/null

SELECT count(handle_market.upsert_account(g, active_at => :'t0')) FROM generate_series(1, 20000) g;
-- rel1 .. rel20000: 4 to 8 characters, so every price tier
SELECT count(handle_market.register_handle(g, 'rel' || g, as_of => :'t0')) FROM generate_series(1, 20000) g;
CALL handle_market.release_dormant(as_of => :'t0'::timestamptz + interval '31 days');
CALL handle_market.release_dormant(as_of => :'t0'::timestamptz + interval '62 days');
-- prm1 .. prm50000 on the premium list, half at the default price
SELECT count(*) FROM (
    SELECT handle_market.set_premium('prm' || g, CASE WHEN g % 2 = 0 THEN 100000 END)
      FROM generate_series(1, 50000) g) s;

-- 500,000 candidates in random order: 30 % premium list, 30 % released,
-- 40 % never registered (lowercase hex, 4 to 15 characters)
SELECT setseed(0.42) \gset
CREATE TABLE bench.mix AS
SELECT x, kind FROM (
    SELECT 'prm' || (1 + floor(random() * 50000)::int) AS x, 'premium list' AS kind
      FROM generate_series(1, 150000)
    UNION ALL
    SELECT 'rel' || (1 + floor(random() * 20000)::int), 'released, premium phase'
      FROM generate_series(1, 150000)
    UNION ALL
    SELECT substr(md5(g::text), 1, 4 + g % 12), 'never registered'
      FROM generate_series(1, 200000) g
) m ORDER BY random();
VACUUM (FREEZE, ANALYZE) bench.mix;
CREATE TABLE bench.mix_premium AS SELECT x FROM bench.mix WHERE kind = 'premium list';
CREATE TABLE bench.mix_released AS SELECT x FROM bench.mix WHERE kind = 'released, premium phase';
CREATE TABLE bench.mix_free AS SELECT x FROM bench.mix WHERE kind = 'never registered';
VACUUM (FREEZE, ANALYZE) bench.mix_premium, bench.mix_released, bench.mix_free;
\o

-- The setup did what it says: every released handle is in its premium
-- phase at as_of, and price() answers as expected for each kind.
DO $$
DECLARE
    v_bad bigint;
BEGIN
    SELECT count(*) INTO v_bad FROM bench.mix_released m,
           bench.params p, LATERAL handle_market.lookup(m.x, p.as_of) l
     WHERE l.state <> 'premium';
    IF v_bad > 0 THEN
        RAISE EXCEPTION 'price bench: % released candidates are not in their premium phase', v_bad;
    END IF;
END $$;
\echo
\echo 'price() bench: 500,000 candidates, as_of' :'as_of'
SELECT kind, count(*) AS candidates, count(handle_market.price(x, :'as_of')) AS priced,
       min(handle_market.price(x, :'as_of')) AS min_cents,
       max(handle_market.price(x, :'as_of')) AS max_cents
  FROM bench.mix GROUP BY kind ORDER BY kind;

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

CREATE TEMP TABLE results (label text PRIMARY KEY, ms float8, n bigint);
INSERT INTO results (label, ms)
SELECT * FROM bench.run(
    ARRAY['scan', 'lower', 'price', 'probe',
          'scan premium', 'price premium', 'scan released', 'price released',
          'scan free', 'price free'],
    ARRAY['SELECT count(x) FROM bench.mix',
          'SELECT count(lower(x)) FROM bench.mix',
          format('SELECT count(handle_market.price(x, %L)) FROM bench.mix', :'as_of'),
          'SELECT count((SELECT 1 FROM handle_market.handles h WHERE h.handle OPERATOR(handle_market.=) x::handle_market.handle)) FROM bench.mix',
          'SELECT count(x) FROM bench.mix_premium',
          format('SELECT count(handle_market.price(x, %L)) FROM bench.mix_premium', :'as_of'),
          'SELECT count(x) FROM bench.mix_released',
          format('SELECT count(handle_market.price(x, %L)) FROM bench.mix_released', :'as_of'),
          'SELECT count(x) FROM bench.mix_free',
          format('SELECT count(handle_market.price(x, %L)) FROM bench.mix_free', :'as_of')],
    7);
UPDATE results SET n = CASE WHEN label LIKE '% premium' THEN 150000
                            WHEN label LIKE '% released' THEN 150000
                            WHEN label LIKE '% free' THEN 200000
                            ELSE 500000 END;

CREATE FUNCTION pg_temp.r(a text) RETURNS float8 LANGUAGE sql AS
$$ SELECT ms FROM results WHERE label = a $$;
-- nanoseconds per call of what runs in query a beyond the plain scan
CREATE FUNCTION pg_temp.ns(a text, scan text) RETURNS numeric LANGUAGE sql AS
$$ SELECT round(((pg_temp.r(a) - pg_temp.r(scan)) * 1e6 / (SELECT n FROM results WHERE label = a))::numeric) $$;

\echo
\echo 'Medians of 7 interleaved runs (ms) and cost per call beyond the plain scan (ns)'
SELECT label, round(ms::numeric, 1) AS ms, n AS calls,
       CASE WHEN label LIKE 'scan%' THEN NULL
            ELSE pg_temp.ns(label, CASE WHEN label LIKE '% %' THEN 'scan ' || split_part(label, ' ', 2)
                                       ELSE 'scan' END) END AS ns_per_call
  FROM results ORDER BY label;

\echo
\t on
SELECT format('price() vs lower() per call, over the mix: %s ns vs %s ns; ratio %s (target <= 1.5); whole-query ratio %s',
              pg_temp.ns('price', 'scan'), pg_temp.ns('lower', 'scan'),
              round(((pg_temp.r('price') - pg_temp.r('scan'))
                     / (pg_temp.r('lower') - pg_temp.r('scan')))::numeric, 2),
              round((pg_temp.r('price') / pg_temp.r('lower'))::numeric, 2)) AS line;
-- what price() cannot avoid: the candidate as a handle and the primary-key
-- probe of handles that finds its row or none (a correlated subquery)
SELECT format('price() vs a primary-key probe of handles alone (x::handle and the index), per call: %s ns vs %s ns; ratio %s',
              pg_temp.ns('price', 'scan'), pg_temp.ns('probe', 'scan'),
              round(((pg_temp.r('price') - pg_temp.r('scan'))
                     / (pg_temp.r('probe') - pg_temp.r('scan')))::numeric, 2)) AS line;
SELECT format('price() per call by kind: premium list %s ns, released in premium phase %s ns, never registered %s ns',
              pg_temp.ns('price premium', 'scan premium'), pg_temp.ns('price released', 'scan released'),
              pg_temp.ns('price free', 'scan free')) AS line;
