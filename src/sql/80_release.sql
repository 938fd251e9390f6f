-- src/sql/80_release.sql: the release procedure for DBAs.
--
-- release_dormant() is an invoker-rights procedure that loops and commits;
-- each batch is one call of the gated release_batch(), so every batch is its
-- own transaction and a crash leaves only whole batches behind.  The run's
-- row in release_runs advances in the same transaction as the batch, which
-- is what lets a rerun resume exactly where the
-- interrupted one stopped.

-- The release lock (see guard.c): a session lock that no SQL function but
-- these can take, and that a failed run's abort drops.  Exposed to admins so
-- that a DBA driving batches by hand takes it the same way.
CREATE FUNCTION @extschema@.release_lock_try() RETURNS boolean
    AS 'MODULE_PATHNAME', 'hm_release_lock_try' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION @extschema@.release_lock_release() RETURNS boolean
    AS 'MODULE_PATHNAME', 'hm_release_lock_release' LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION @extschema@._start_release_run(p_as_of timestamptz, p_batch_size integer,
                                               p_dry_run boolean)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_prev release_runs;
    v_run bigint;
BEGIN
    IF p_as_of IS NULL OR p_dry_run IS NULL OR p_batch_size IS NULL OR p_batch_size < 1 THEN
        RAISE EXCEPTION 'release_dormant needs as_of, dry_run and a batch_size of at least 1'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Runs are serialized by the release lock, so a run still marked
    -- running is one that died.  Without the lock, starting a run would
    -- declare a live one dead.
    IF NOT release_lock_try() THEN
        RAISE EXCEPTION 'another release run is in progress'
            USING ERRCODE = 'HM016',
                  DETAIL = 'One release run at a time; this one did nothing.',
                  HINT = 'See release_runs; the run holds the release lock until it finishes or fails.';
    END IF;
    UPDATE release_runs SET status = 'interrupted', finished_at = clock_timestamp()
     WHERE status = 'running';
    SELECT * INTO v_prev FROM release_runs r
     -- A rerun continues the last interrupted run after its last committed
     -- handle, at the rerun's own time: writes happen at the server's time,
     -- so a rerun after a crash cannot repeat the first run's as_of, and
     -- the handles before last_handle were examined by that run (the next
     -- run examines them again).  A run at an earlier time than the
     -- interrupted one does not continue it.
     WHERE r.status = 'interrupted' AND r.as_of <= p_as_of AND r.dry_run = p_dry_run
       AND NOT EXISTS (SELECT FROM release_runs n WHERE n.resumed_run_id = r.run_id)
     ORDER BY r.run_id DESC LIMIT 1;
    INSERT INTO release_runs (as_of, dry_run, batch_size, resumed_run_id, last_handle)
    VALUES (p_as_of, p_dry_run, p_batch_size, v_prev.run_id, v_prev.last_handle)
    RETURNING run_id INTO v_run;
    RETURN v_run;
END $$;

CREATE FUNCTION @extschema@.start_release_run(as_of timestamptz, batch_size integer, dry_run boolean)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;

-- The activity lock (see activity_lock.c): each batch holds it exclusively
-- from before it reads until it commits; touch() and the other writes of
-- activity or exemption take it shared.
CREATE FUNCTION @extschema@.activity_lock_shared() RETURNS void
    AS 'MODULE_PATHNAME', 'hm_activity_lock_shared' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION @extschema@.activity_lock_exclusive() RETURNS void
    AS 'MODULE_PATHNAME', 'hm_activity_lock_exclusive' LANGUAGE C VOLATILE STRICT;

-- C: what the sweep does to one live, unheld handle ('notice', 'revert',
-- 'release' or NULL).  A notice is judged by the policy version it was
-- given under.
CREATE FUNCTION @extschema@.release_decision(state text, notice_at timestamptz,
                                             notice_period interval,
                                             notice_inactive_after interval,
                                             last_active_at timestamptz, exempt boolean,
                                             inactive_after interval, as_of timestamptz)
    RETURNS text
    AS 'MODULE_PATHNAME', 'hm_release_decision'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- What the sweep would do to each live handle of the key range [lo, hi] at
-- as_of.  The range is what keeps a batch on the primary key: a list of the
-- batch's handles made the planner scan the whole table.
CREATE FUNCTION @extschema@.release_decisions(p_lo @extschema@.handle, p_hi @extschema@.handle,
                                              p_as_of timestamptz, p_pol @extschema@.policy)
    RETURNS TABLE (row_id tid, handle @extschema@.handle, owner_id bigint, decision text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT h.ctid, h.handle, h.owner_id,
           @extschema@.release_decision(h.state, h.notice_at, hp.notice_period, hp.inactive_after,
               a.last_active_at, @extschema@.is_exempt(a.verified, a.subscription, a.status, p_pol),
               p_pol.inactive_after, p_as_of)
      FROM @extschema@.handles h
      JOIN @extschema@.accounts a ON a.account_id = h.owner_id
      JOIN @extschema@.policy hp ON hp.version = h.policy_version
     WHERE h.handle OPERATOR(@extschema@.>=) p_lo
       AND h.handle OPERATOR(@extschema@.<=) p_hi
       AND h.state IN ('registered', 'at_risk')
       AND h.hold_reason IS NULL;
END;

-- One batch: the next batch_size handles in key order.  Hash and merge
-- joins are off because a batch is a few thousand rows of a table that may
-- hold a billion: at the default costs the planner would rather scan all
-- the accounts than look up a batch's owners one by one.
CREATE FUNCTION @extschema@._release_batch(p_run_id bigint,
                                           OUT done boolean, OUT examined integer,
                                           OUT noticed integer, OUT released integer,
                                           OUT last_handle @extschema@.handle)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
    SET enable_hashjoin = off
    SET enable_mergejoin = off
    SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
    v_run release_runs;
    v_pol policy;
    v_lo handle;
    v_hi handle;
    v_reverted integer;
    v_release_on text;
BEGIN
    SELECT * INTO v_run FROM release_runs WHERE run_id = p_run_id FOR UPDATE;
    IF NOT FOUND OR v_run.status <> 'running' THEN
        RAISE EXCEPTION 'release run % is not running', p_run_id USING ERRCODE = 'HM008';
    END IF;
    -- Before anything is read: every statement below sees each touch that
    -- committed before this point, and a later one waits for this commit.
    IF NOT v_run.dry_run THEN
        PERFORM activity_lock_exclusive();
    END IF;
    v_pol := policy_at(v_run.as_of);
    -- the same for every handle noticed in this run
    v_release_on := utc_time(v_run.as_of + v_pol.notice_period);

    -- The batch is the key range [v_lo, v_hi].
    IF v_run.last_handle IS NULL THEN
        SELECT h.handle INTO v_lo FROM handles h ORDER BY h.handle LIMIT 1;
    ELSE
        SELECT h.handle INTO v_lo FROM handles h WHERE h.handle > v_run.last_handle
         ORDER BY h.handle LIMIT 1;
    END IF;
    SELECT h.handle INTO v_hi FROM handles h WHERE h.handle >= v_lo
     ORDER BY h.handle OFFSET v_run.batch_size - 1 LIMIT 1;
    IF v_hi IS NULL THEN            -- fewer than batch_size left
        SELECT count(*), max(h.handle) INTO examined, v_hi FROM handles h WHERE h.handle >= v_lo;
        done := true;
    ELSE
        examined := v_run.batch_size;
        -- ordered, so that it is one step of the primary key: without the
        -- ORDER BY the planner expects many rows above v_hi and scans the
        -- table for one, which near the end of the key order means most of it
        done := NOT EXISTS (SELECT FROM (SELECT h.handle FROM handles h WHERE h.handle > v_hi
                                          ORDER BY h.handle LIMIT 1) nxt);
    END IF;
    last_handle := coalesce(v_hi, v_run.last_handle);
    noticed := 0;
    released := 0;

    IF v_run.dry_run THEN
        SELECT count(*) FILTER (WHERE d.decision = 'notice'),
               count(*) FILTER (WHERE d.decision = 'release')
          INTO noticed, released
          FROM release_decisions(v_lo, v_hi, v_run.as_of, v_pol) d;
    ELSIF examined > 0 THEN
        -- Each UPDATE finds its row by the ctid the decision read (no second
        -- index probe; a row updated meanwhile is followed to its new
        -- version) and rechecks the state, hold and owner it decided on, so
        -- a handle that a restore, hold or sale changed meanwhile is left to
        -- the next run.
        WITH d AS (
            SELECT * FROM release_decisions(v_lo, v_hi, v_run.as_of, v_pol) d
             WHERE d.decision IS NOT NULL
        ), n AS (
            UPDATE handles h SET state = 'at_risk', notice_at = v_run.as_of,
                                 policy_version = v_pol.version
              FROM d WHERE h.ctid = d.row_id AND d.decision = 'notice'
               AND h.state = 'registered' AND h.hold_reason IS NULL AND h.owner_id = d.owner_id
            RETURNING h.handle, h.owner_id
        ), r AS (
            UPDATE handles h SET state = 'released', released_at = v_run.as_of,
                                 previous_owner_id = h.owner_id, owner_id = NULL,
                                 notice_at = NULL, policy_version = v_pol.version,
                                 list_price_cents = NULL, listed_at = NULL
              FROM d WHERE h.ctid = d.row_id AND d.decision = 'release'
               AND h.state = 'at_risk' AND h.hold_reason IS NULL AND h.owner_id = d.owner_id
            RETURNING h.handle, h.previous_owner_id
        ), v AS (
            UPDATE handles h SET state = 'registered', notice_at = NULL
              FROM d WHERE h.ctid = d.row_id AND d.decision = 'revert'
               AND h.state = 'at_risk' AND h.hold_reason IS NULL AND h.owner_id = d.owner_id
            RETURNING h.handle, h.owner_id
        ), e AS (
            INSERT INTO handle_events (handle, from_state, to_state, at, account_id, reason)
            SELECT handle, 'registered', 'at_risk', v_run.as_of, owner_id, 'the owner is inactive' FROM n
            UNION ALL
            SELECT handle, 'at_risk', 'released', v_run.as_of, previous_owner_id,
                   'the notice period ended and the owner is still inactive' FROM r
            UNION ALL
            SELECT handle, 'at_risk', 'registered', v_run.as_of, owner_id,
                   'the owner is active again or exempt' FROM v
        ), o AS (
            INSERT INTO outbox (kind, account_id, handle, at, detail)
            SELECT 'inactivity_notice', owner_id, handle, v_run.as_of,
                   'Log in before ' || v_release_on || ' to keep @' || handle::text || '.' FROM n
            UNION ALL
            SELECT 'released', previous_owner_id, handle, v_run.as_of,
                   '@' || handle::text || ' was released; you may restore it during redemption.' FROM r
        )
        SELECT (SELECT count(*) FROM n), (SELECT count(*) FROM r), (SELECT count(*) FROM v)
          INTO noticed, released, v_reverted;
    END IF;

    UPDATE release_runs
       SET batches = batches + 1, examined = release_runs.examined + _release_batch.examined,
           noticed = release_runs.noticed + _release_batch.noticed,
           released = release_runs.released + _release_batch.released,
           last_handle = _release_batch.last_handle
     WHERE run_id = p_run_id;
END $$;

CREATE FUNCTION @extschema@.release_batch(run_id bigint,
                                          OUT done boolean, OUT examined integer,
                                          OUT noticed integer, OUT released integer,
                                          OUT last_handle @extschema@.handle)
    AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@._finish_release_run(p_run_id bigint)
    RETURNS @extschema@.release_runs
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v release_runs;
BEGIN
    UPDATE release_runs SET status = 'finished', finished_at = clock_timestamp()
     WHERE run_id = p_run_id AND status = 'running'
    RETURNING * INTO v;
    PERFORM release_lock_release();
    RETURN v;
END $$;

CREATE FUNCTION @extschema@.finish_release_run(run_id bigint)
    RETURNS @extschema@.release_runs AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;

-- The pause a batch procedure takes between batches (pg_partman's p_wait),
-- so that a run can be gentle on a busy primary: checked once, before the
-- first batch.  At most an hour: a longer pause is a scheduling job's.
CREATE FUNCTION @extschema@._batch_pause(pause interval) RETURNS interval
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pause IS NULL THEN
        RAISE EXCEPTION 'pause must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF pause < interval '0' OR pause > interval '1 hour' THEN
        RAISE EXCEPTION 'pause must be between 0 and 1 hour'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('It was %s.', pause);
    END IF;
    RETURN pause;
END $$;

-- Procedures that COMMIT cannot be SECURITY DEFINER or carry SET: every
-- name below is qualified instead.
CREATE PROCEDURE @extschema@.release_dormant(as_of timestamptz DEFAULT now(),
                                             batch_size integer DEFAULT 10000,
                                             dry_run boolean DEFAULT false,
                                             pause interval DEFAULT '0')
    LANGUAGE plpgsql
AS $$
DECLARE
    v_run bigint;
    v_batch record;
    v_total record;
    v_batches integer := 0;
    v_pause interval := @extschema@._batch_pause(pause);
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RAISE NOTICE 'release_dormant: this server is a replica; nothing to do';
        RETURN;
    END IF;
    -- another run going raises HM016 here, so that a cron job notices
    v_run := @extschema@.start_release_run(as_of, batch_size, dry_run);
    COMMIT;
    LOOP
        SELECT * INTO v_batch FROM @extschema@.release_batch(v_run);
        COMMIT;
        v_batches := v_batches + 1;
        RAISE NOTICE 'release_dormant run %: batch %: examined %, noticed %, released % (through "%")',
            v_run, v_batches, v_batch.examined, v_batch.noticed, v_batch.released,
            coalesce(v_batch.last_handle::text, '');
        EXIT WHEN v_batch.done;
        IF v_pause > interval '0' THEN
            PERFORM pg_catalog.pg_sleep_for(v_pause);
        END IF;
    END LOOP;
    SELECT * INTO v_total FROM @extschema@.finish_release_run(v_run);
    COMMIT;
    RAISE NOTICE '%', pg_catalog.format(
        'release_dormant run %s finished: %s batches, examined %s, noticed %s, released %s%s',
        v_run, v_total.batches, v_total.examined, v_total.noticed, v_total.released,
        CASE WHEN dry_run THEN ' (dry run: nothing was changed)' ELSE '' END);
END $$;
COMMENT ON PROCEDURE @extschema@.release_dormant(timestamptz, integer, boolean, interval) IS
    'notices inactive owners and releases handles whose notice ran out, in batches that each commit, with an optional pause between batches';
