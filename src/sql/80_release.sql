-- src/sql/80_release.sql: the release procedure for DBAs.
--
-- release_dormant() is an invoker-rights procedure that loops and commits;
-- each batch is one call of the gated release_batch(), so every batch is its
-- own transaction and a crash leaves only whole batches behind.  The run's
-- row in release_runs advances in the same transaction as the batch, which
-- is what lets a rerun with the same as_of resume exactly where the
-- interrupted one stopped.

-- The release lock (see guard.c): a session advisory lock that a failed
-- run's abort drops.  Exposed so that a DBA driving batches by hand takes it
-- the same way.
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
            USING ERRCODE = 'HM008',
                  HINT = 'See release_runs; the run holds the release lock until it finishes or fails.';
    END IF;
    UPDATE release_runs SET status = 'interrupted', finished_at = clock_timestamp()
     WHERE status = 'running';
    SELECT * INTO v_prev FROM release_runs r
     WHERE r.status = 'interrupted' AND r.as_of = p_as_of AND r.dry_run = p_dry_run
       AND NOT EXISTS (SELECT FROM release_runs n WHERE n.resumed_run_id = r.run_id)
     ORDER BY r.run_id DESC LIMIT 1;
    INSERT INTO release_runs (as_of, dry_run, batch_size, resumed_run_id, last_handle)
    VALUES (p_as_of, p_dry_run, p_batch_size, v_prev.run_id, v_prev.last_handle)
    RETURNING run_id INTO v_run;
    RETURN v_run;
END $$;

CREATE FUNCTION @extschema@.start_release_run(as_of timestamptz, batch_size integer, dry_run boolean)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;

-- One batch: the next batch_size handles in key order.
CREATE FUNCTION @extschema@._release_batch(p_run_id bigint,
                                           OUT done boolean, OUT examined integer,
                                           OUT noticed integer, OUT released integer,
                                           OUT last_handle @extschema@.handle)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_run release_runs;
    v_pol policy;
    v_batch handle[];
    v_reverted integer;
    v_release_on text;
BEGIN
    SELECT * INTO v_run FROM release_runs WHERE run_id = p_run_id FOR UPDATE;
    IF NOT FOUND OR v_run.status <> 'running' THEN
        RAISE EXCEPTION 'release run % is not running', p_run_id USING ERRCODE = 'HM008';
    END IF;
    v_pol := policy_at(v_run.as_of);
    -- the same for every handle noticed in this run
    v_release_on := utc_time(v_run.as_of + v_pol.notice_period);

    -- one row more than the batch tells whether this batch is the last
    IF v_run.last_handle IS NULL THEN
        SELECT array_agg(h.handle ORDER BY h.handle) INTO v_batch
          FROM (SELECT h.handle FROM handles h
                 ORDER BY h.handle LIMIT v_run.batch_size + 1) h;
    ELSE
        SELECT array_agg(h.handle ORDER BY h.handle) INTO v_batch
          FROM (SELECT h.handle FROM handles h WHERE h.handle > v_run.last_handle
                 ORDER BY h.handle LIMIT v_run.batch_size + 1) h;
    END IF;
    done := coalesce(cardinality(v_batch), 0) <= v_run.batch_size;
    v_batch := v_batch[1:v_run.batch_size];
    examined := coalesce(cardinality(v_batch), 0);
    last_handle := coalesce(v_batch[examined], v_run.last_handle);
    noticed := 0;
    released := 0;

    IF v_run.dry_run THEN
        SELECT count(*) FILTER (WHERE d.decision = 'notice'),
               count(*) FILTER (WHERE d.decision = 'release')
          INTO noticed, released
          FROM release_decisions(v_batch, v_run.as_of, v_pol) d;
    ELSIF examined > 0 THEN
        -- Lock the owners first (the order every API function uses), so a
        -- touch() that committed before these locks is seen by the decisions
        -- below and a touch() that comes later waits for this batch.
        PERFORM 1 FROM accounts
         WHERE account_id IN (SELECT h.owner_id FROM handles h
                               WHERE h.handle = ANY (v_batch) AND h.state <> 'released'
                                 AND h.hold_reason IS NULL)
         ORDER BY account_id FOR NO KEY UPDATE;

        WITH d AS (
            SELECT * FROM release_decisions(v_batch, v_run.as_of, v_pol)
        ), n AS (
            UPDATE handles h SET state = 'at_risk', notice_at = v_run.as_of,
                                 policy_version = v_pol.version
              FROM d WHERE h.handle = d.handle AND d.decision = 'notice'
               AND h.state = 'registered' AND h.hold_reason IS NULL
            RETURNING h.handle, h.owner_id
        ), r AS (
            UPDATE handles h SET state = 'released', released_at = v_run.as_of,
                                 previous_owner_id = h.owner_id, owner_id = NULL,
                                 notice_at = NULL, policy_version = v_pol.version
              FROM d WHERE h.handle = d.handle AND d.decision = 'release'
               AND h.state = 'at_risk' AND h.hold_reason IS NULL
            RETURNING h.handle, h.previous_owner_id
        ), v AS (
            UPDATE handles h SET state = 'registered', notice_at = NULL
              FROM d WHERE h.handle = d.handle AND d.decision = 'revert'
               AND h.state = 'at_risk' AND h.hold_reason IS NULL
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
                   format('Log in before %s to keep @%s.', v_release_on, handle) FROM n
            UNION ALL
            SELECT 'released', previous_owner_id, handle, v_run.as_of,
                   format('@%s was released; you may restore it during redemption.', handle) FROM r
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

-- What the sweep would do to each live handle of a batch, at as_of.
CREATE FUNCTION @extschema@.release_decisions(p_batch @extschema@.handle[], p_as_of timestamptz,
                                              p_pol @extschema@.policy)
    RETURNS TABLE (handle @extschema@.handle, decision text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT h.handle,
           CASE
               WHEN h.state = 'registered'
                    AND NOT @extschema@.is_exempt(a, p_pol)
                    AND @extschema@.activity_status(a.last_active_at, p_as_of, p_pol.inactive_after) = 'inactive'
                   THEN 'notice'
               WHEN h.state = 'at_risk'
                    AND (@extschema@.is_exempt(a, p_pol)
                         OR @extschema@.activity_status(a.last_active_at, p_as_of, hp.inactive_after) = 'active')
                   THEN 'revert'
               WHEN h.state = 'at_risk' AND p_as_of >= h.notice_at + hp.notice_period
                   THEN 'release'
           END AS decision
      FROM @extschema@.handles h
      JOIN @extschema@.accounts a ON a.account_id = h.owner_id
      JOIN @extschema@.policy hp ON hp.version = h.policy_version
     WHERE h.handle = ANY (p_batch)
       AND h.state IN ('registered', 'at_risk')
       AND h.hold_reason IS NULL;
END;

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

-- Procedures that COMMIT cannot be SECURITY DEFINER or carry SET: every
-- name below is qualified instead.
CREATE PROCEDURE @extschema@.release_dormant(as_of timestamptz DEFAULT now(),
                                             batch_size integer DEFAULT 10000,
                                             dry_run boolean DEFAULT false)
    LANGUAGE plpgsql
AS $$
DECLARE
    v_run bigint;
    v_batch record;
    v_total record;
    v_batches integer := 0;
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RAISE NOTICE 'release_dormant: this server is a replica; nothing to do';
        RETURN;
    END IF;
    IF NOT @extschema@.release_lock_try() THEN
        RAISE NOTICE 'release_dormant: another run is in progress; this one does nothing';
        RETURN;
    END IF;
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
    END LOOP;
    SELECT * INTO v_total FROM @extschema@.finish_release_run(v_run);
    COMMIT;
    RAISE NOTICE '%', pg_catalog.format(
        'release_dormant run %s finished: %s batches, examined %s, noticed %s, released %s%s',
        v_run, v_total.batches, v_total.examined, v_total.noticed, v_total.released,
        CASE WHEN dry_run THEN ' (dry run: nothing was changed)' ELSE '' END);
END $$;
COMMENT ON PROCEDURE @extschema@.release_dormant(timestamptz, integer, boolean) IS
    'notices inactive owners and releases handles whose notice ran out, in batches that each commit';
