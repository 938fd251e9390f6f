-- test/pgtap/include/calendar.sql: the simulated calendar the lifecycle and
-- market files walk.  Day 0 is 2026-01-01 UTC (the files turn
-- handle_market.simulated_time on, or make test does through PGOPTIONS).
CREATE FUNCTION pg_temp.day(n numeric) RETURNS timestamptz LANGUAGE sql IMMUTABLE
    AS $$ SELECT '2026-01-01 00:00:00+00'::timestamptz + n * interval '1 day' $$;
-- one pass of the release sweep at day n, as release_dormant() does it
CREATE FUNCTION pg_temp.sweep(n int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_run bigint := handle_market.start_release_run(pg_temp.day(n), 1000, false);
BEGIN
    PERFORM handle_market.release_batch(v_run);
    PERFORM handle_market.finish_release_run(v_run);
    RETURN v_run;
END $$;
