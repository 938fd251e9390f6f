-- src/sql/83_rekey.sql (version 1.1): recomputing every stored confusable
-- key after the server's ICU changed (see "ICU and Unicode versions" in the
-- README).
--
-- rekey() has release_dormant()'s shape: an invoker-rights procedure that
-- loops over the handles in key order and commits after every batch; each
-- batch is one call of the gated rekey_batch(), its run's row in rekey_runs
-- advances in the same transaction, so a crash leaves only whole batches and
-- a rerun continues after the last committed handle.  One run at a time (the
-- re-key run lock, guard.c).
--
-- A stored key is recomputed by touching its row (handles.key and
-- premium_handles.key are STORED generated columns, recomputed on any
-- UPDATE of the row).  A handle whose new key is already another handle's,
-- or is also the new key of an earlier handle of the batch, would make the
-- unique index refuse the whole batch; such a row keeps its old key and is
-- reported in rekey_collisions instead, for an operator to decide about
-- (both handles stay live, and neither loses anything).

CREATE TABLE @extschema@.rekey_runs (
    run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_size integer NOT NULL,
    resumed_run_id bigint REFERENCES @extschema@.rekey_runs,
    -- the versions the keys are computed with; a run resumes only a run of
    -- the same versions
    icu_version text NOT NULL,
    unicode_version text NOT NULL,
    last_handle @extschema@.handle,
    batches integer NOT NULL DEFAULT 0,
    examined bigint NOT NULL DEFAULT 0,
    rekeyed bigint NOT NULL DEFAULT 0,
    -- handles left with their old key: per batch while running, the rows of
    -- rekey_collisions for this run once finished
    collisions bigint NOT NULL DEFAULT 0,
    premium_rekeyed integer,
    reserved_rekeyed integer,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    status text NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'finished', 'interrupted'))
);
COMMENT ON TABLE @extschema@.rekey_runs IS
    'one row per rekey run, updated as each batch commits';

CREATE TABLE @extschema@.rekey_collisions (
    run_id bigint NOT NULL REFERENCES @extschema@.rekey_runs,
    in_table text NOT NULL CHECK (in_table IN ('handles', 'premium_handles')),
    handle @extschema@.handle NOT NULL,
    other_handle @extschema@.handle NOT NULL,
    new_key text COLLATE "C" NOT NULL,
    found_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (run_id, in_table, handle)
);
COMMENT ON TABLE @extschema@.rekey_collisions IS
    'handles whose key under the running ICU is another handle''s: they keep their old key until an operator decides';

CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.rekey_runs
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.rekey_collisions
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.rekey_runs', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rekey_collisions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rekey_runs_run_id_seq', '');

-- The re-key run lock (guard.c, objid 3): taken by start_rekey_run(),
-- dropped by finish_rekey_run() or by the abort of a failed run.
CREATE FUNCTION @extschema@.rekey_lock_try() RETURNS boolean
    AS 'MODULE_PATHNAME', 'hm_rekey_lock_try' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION @extschema@.rekey_lock_release() RETURNS boolean
    AS 'MODULE_PATHNAME', 'hm_rekey_lock_release' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.rekey_lock_try() IS
    'takes the re-key run lock for the session if it is free; used by start_rekey_run, granted to nobody';
COMMENT ON FUNCTION @extschema@.rekey_lock_release() IS
    'drops the re-key run lock; used by finish_rekey_run, granted to nobody';

-- Recomputes the stale keys of handles or premium_handles: the key range
-- [p_lo, p_hi], or the handles p_only, or (all three NULL) the whole table.
-- A row is re-keyed when its new key is no other row's stored key and no
-- earlier (in key order) stale row's new key; passes repeat over the rows
-- left while they make progress (a key that moves frees another's).  So of
-- handles that now share a key, the one that already has it, or else the
-- first in key order, has it (whatever the batch size), and each other one
-- keeps its old key and is recorded in rekey_collisions with the handle it
-- collides with (one whose own new key is the same, when there is one).
-- Called by the gated implementations only.
CREATE FUNCTION @extschema@.rekey_rows(p_run_id bigint, p_table text,
                                       p_lo @extschema@.handle, p_hi @extschema@.handle,
                                       p_only @extschema@.handle[],
                                       OUT rekeyed integer, OUT collisions integer)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_where text;
    v_n integer;
    v_blocked handle[];
BEGIN
    IF p_table IS NULL OR p_table NOT IN ('handles', 'premium_handles') THEN
        RAISE EXCEPTION 'rekey_rows: unknown table %', p_table USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_where := CASE WHEN p_only IS NOT NULL THEN 't.handle = ANY ($3)'
                    WHEN p_lo IS NULL AND p_hi IS NULL THEN 'true'
                    ELSE 't.handle >= $1 AND t.handle <= $2' END;
    rekeyed := 0;
    LOOP
        EXECUTE format($q$
            WITH a AS (SELECT t.handle, t.key, confusable_key(t.handle) AS new_key
                         FROM %1$I t WHERE %2$s),
                 c AS (SELECT a.handle, a.new_key FROM a WHERE a.key IS DISTINCT FROM a.new_key),
                 free AS (SELECT c.handle FROM c
                           WHERE NOT EXISTS (SELECT FROM %1$I o
                                              WHERE o.key = c.new_key AND o.handle <> c.handle)
                             AND NOT EXISTS (SELECT FROM c o
                                              WHERE o.new_key = c.new_key AND o.handle < c.handle)),
                 u AS (UPDATE %1$I t SET handle = t.handle FROM free
                        WHERE t.handle = free.handle RETURNING t.handle)
            SELECT (SELECT count(*) FROM u)::integer,
                   ARRAY(SELECT c.handle FROM c WHERE NOT EXISTS (SELECT FROM u WHERE u.handle = c.handle)
                          ORDER BY c.handle)$q$, p_table, v_where)
          INTO v_n, v_blocked
          USING p_lo, p_hi, p_only;
        rekeyed := rekeyed + v_n;
        EXIT WHEN v_n = 0 OR cardinality(v_blocked) = 0;
        -- only the rows left, until no pass frees any
        v_where := 't.handle = ANY ($3)';
        p_only := v_blocked;
    END LOOP;
    collisions := coalesce(cardinality(v_blocked), 0);
    IF collisions > 0 THEN
        EXECUTE format($q$
            WITH b AS (SELECT t.handle, confusable_key(t.handle) AS new_key
                         FROM %1$I t WHERE t.handle = ANY ($2))
            INSERT INTO rekey_collisions (run_id, in_table, handle, other_handle, new_key)
            SELECT $1, %1$L, b.handle, x.other, b.new_key
              FROM b CROSS JOIN LATERAL (
                   SELECT o.handle AS other
                     FROM (SELECT o.handle FROM %1$I o WHERE o.key = b.new_key AND o.handle <> b.handle
                           UNION
                           SELECT b2.handle FROM b b2 WHERE b2.new_key = b.new_key AND b2.handle <> b.handle) o
                    ORDER BY (confusable_key(o.handle) = b.new_key) DESC, o.handle
                    LIMIT 1) x
            ON CONFLICT DO NOTHING$q$, p_table)
          USING p_run_id, v_blocked;
    END IF;
END $$;
COMMENT ON FUNCTION @extschema@.rekey_rows(bigint, text, @extschema@.handle, @extschema@.handle, @extschema@.handle[]) IS
    'recomputes the stale confusable keys of a key range of handles or premium_handles, leaving and recording collisions; used by the re-key run, granted to nobody';

CREATE FUNCTION @extschema@._start_rekey_run(p_batch_size integer)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_prev rekey_runs;
    v_run bigint;
    v_icu text := running_icu_version();
    v_uni text := running_unicode_version();
BEGIN
    IF p_batch_size IS NULL OR p_batch_size < 1 THEN
        RAISE EXCEPTION 'rekey needs a batch_size of at least 1'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT rekey_lock_try() THEN
        RAISE EXCEPTION 'another re-key run is in progress'
            USING ERRCODE = 'HM016',
                  DETAIL = 'One re-key run at a time; this one did nothing.',
                  HINT = 'See rekey_runs; the run holds the re-key lock until it finishes or fails.';
    END IF;
    -- serialized by the lock: a run still marked running is one that died
    UPDATE rekey_runs SET status = 'interrupted', finished_at = clock_timestamp()
     WHERE status = 'running';
    -- continue the last interrupted run after its last committed handle,
    -- unless the server's ICU changed since (its keys would be stale again)
    SELECT * INTO v_prev FROM rekey_runs r
     WHERE r.status = 'interrupted' AND r.icu_version = v_icu AND r.unicode_version = v_uni
       AND NOT EXISTS (SELECT FROM rekey_runs n WHERE n.resumed_run_id = r.run_id)
     ORDER BY r.run_id DESC LIMIT 1;
    INSERT INTO rekey_runs (batch_size, resumed_run_id, icu_version, unicode_version, last_handle)
    VALUES (p_batch_size, v_prev.run_id, v_icu, v_uni, v_prev.last_handle)
    RETURNING run_id INTO v_run;
    RETURN v_run;
END $$;

CREATE FUNCTION @extschema@.start_rekey_run(batch_size integer)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.start_rekey_run(integer) IS
    'starts a re-key run (rekey() by hand) and takes the re-key lock; resumes an interrupted run of the same ICU version; HM016 while another run holds the lock';

-- One batch: the next batch_size handles in key order, as in release runs.
CREATE FUNCTION @extschema@._rekey_batch(p_run_id bigint,
                                         OUT done boolean, OUT examined integer,
                                         OUT rekeyed integer, OUT collisions integer,
                                         OUT last_handle @extschema@.handle)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
    SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
    v_run rekey_runs;
    v_lo handle;
    v_hi handle;
BEGIN
    SELECT * INTO v_run FROM rekey_runs WHERE run_id = p_run_id FOR UPDATE;
    IF NOT FOUND OR v_run.status <> 'running' THEN
        RAISE EXCEPTION 're-key run % is not running', p_run_id USING ERRCODE = 'HM008';
    END IF;
    IF v_run.last_handle IS NULL THEN
        SELECT h.handle INTO v_lo FROM handles h ORDER BY h.handle LIMIT 1;
    ELSE
        SELECT h.handle INTO v_lo FROM handles h WHERE h.handle > v_run.last_handle
         ORDER BY h.handle LIMIT 1;
    END IF;
    SELECT h.handle INTO v_hi FROM handles h WHERE h.handle >= v_lo
     ORDER BY h.handle OFFSET v_run.batch_size - 1 LIMIT 1;
    IF v_hi IS NULL THEN
        SELECT count(*), max(h.handle) INTO examined, v_hi FROM handles h WHERE h.handle >= v_lo;
        done := true;
    ELSE
        examined := v_run.batch_size;
        done := NOT EXISTS (SELECT FROM (SELECT h.handle FROM handles h WHERE h.handle > v_hi
                                          ORDER BY h.handle LIMIT 1) nxt);
    END IF;
    last_handle := coalesce(v_hi, v_run.last_handle);
    rekeyed := 0;
    collisions := 0;
    IF examined > 0 THEN
        SELECT r.rekeyed, r.collisions INTO rekeyed, collisions
          FROM rekey_rows(p_run_id, 'handles', v_lo, v_hi, NULL) r;
    END IF;
    UPDATE rekey_runs
       SET batches = batches + 1, examined = rekey_runs.examined + _rekey_batch.examined,
           rekeyed = rekey_runs.rekeyed + _rekey_batch.rekeyed,
           collisions = rekey_runs.collisions + _rekey_batch.collisions,
           last_handle = _rekey_batch.last_handle
     WHERE run_id = p_run_id;
END $$;

CREATE FUNCTION @extschema@.rekey_batch(run_id bigint,
                                        OUT done boolean, OUT examined integer,
                                        OUT rekeyed integer, OUT collisions integer,
                                        OUT last_handle @extschema@.handle)
    AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.rekey_batch(bigint) IS
    'recomputes the confusable keys of the next batch of handles of a re-key run; a handle whose new key another handle has keeps its old key and is recorded in rekey_collisions';

-- The end of a run: the handles left with their old key (by this run or an
-- earlier one) are tried again, since a key that a later batch moved may
-- have freed theirs; then the premium list and the reservations, and the
-- versions are recorded.  They are recorded even when collisions remain:
-- every other key is current, the rows left keep their old keys (still
-- unique, still refusing what they refused), and no rerun could clear the
-- warning while an operator decides about them; the collisions stay in
-- rekey_collisions, in rekey_runs.collisions and in status().
CREATE FUNCTION @extschema@._finish_rekey_run(p_run_id bigint)
    RETURNS @extschema@.rekey_runs
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v rekey_runs;
    v_h record;
    v_p record;
    v_reserved integer;
    v_left handle[];
BEGIN
    SELECT * INTO v FROM rekey_runs WHERE run_id = p_run_id FOR UPDATE;
    IF NOT FOUND OR v.status <> 'running' THEN
        RAISE EXCEPTION 're-key run % is not running', p_run_id USING ERRCODE = 'HM008';
    END IF;
    -- rows still stale are tried again and recorded anew under this run
    v_left := ARRAY(SELECT DISTINCT c.handle FROM rekey_collisions c WHERE c.in_table = 'handles');
    DELETE FROM rekey_collisions WHERE run_id = p_run_id;
    SELECT * INTO v_h FROM rekey_rows(p_run_id, 'handles', NULL, NULL, v_left);
    SELECT * INTO v_p FROM rekey_rows(p_run_id, 'premium_handles', NULL, NULL, NULL);
    UPDATE reserved SET key = confusable_key(pattern::handle)
     WHERE key IS DISTINCT FROM confusable_key(pattern::handle);
    GET DIAGNOSTICS v_reserved = ROW_COUNT;
    UPDATE unicode_versions
       SET icu_version = v.icu_version, unicode_version = v.unicode_version, recorded_at = now();
    UPDATE rekey_runs
       SET status = 'finished', finished_at = clock_timestamp(),
           rekeyed = rekey_runs.rekeyed + v_h.rekeyed,
           collisions = (SELECT count(*) FROM rekey_collisions c WHERE c.run_id = p_run_id),
           premium_rekeyed = v_p.rekeyed, reserved_rekeyed = v_reserved
     WHERE run_id = p_run_id
    RETURNING * INTO v;
    PERFORM rekey_lock_release();
    RETURN v;
END $$;

CREATE FUNCTION @extschema@.finish_rekey_run(run_id bigint)
    RETURNS @extschema@.rekey_runs AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.finish_rekey_run(bigint) IS
    'ends a re-key run: retries the handles left with their old key, re-keys the premium list and the reservations, records the ICU and Unicode versions and drops the re-key lock';

CREATE PROCEDURE @extschema@.rekey(batch_size integer DEFAULT 10000)
    LANGUAGE plpgsql
AS $$
DECLARE
    v_run bigint;
    v_batch record;
    v_total record;
    v_batches integer := 0;
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RAISE NOTICE 'rekey: this server is a replica; nothing to do';
        RETURN;
    END IF;
    v_run := @extschema@.start_rekey_run(batch_size);
    COMMIT;
    LOOP
        SELECT * INTO v_batch FROM @extschema@.rekey_batch(v_run);
        COMMIT;
        v_batches := v_batches + 1;
        RAISE NOTICE 'rekey run %: batch %: examined %, re-keyed %, collisions % (through "%")',
            v_run, v_batches, v_batch.examined, v_batch.rekeyed, v_batch.collisions,
            coalesce(v_batch.last_handle::text, '');
        EXIT WHEN v_batch.done;
    END LOOP;
    SELECT * INTO v_total FROM @extschema@.finish_rekey_run(v_run);
    COMMIT;
    RAISE NOTICE '%', pg_catalog.format(
        'rekey run %s finished: %s batches, examined %s, re-keyed %s handles, %s premium, %s reserved; recorded ICU %s (Unicode %s)',
        v_run, v_total.batches, v_total.examined, v_total.rekeyed, v_total.premium_rekeyed,
        v_total.reserved_rekeyed, v_total.icu_version, v_total.unicode_version);
    IF v_total.collisions > 0 THEN
        RAISE WARNING 'rekey run %: % handles now share a confusable key with another handle and keep their old keys',
            v_run, v_total.collisions
            USING HINT = pg_catalog.format('SELECT * FROM handle_market.rekey_collisions WHERE run_id = %s;', v_run);
    END IF;
END $$;
COMMENT ON PROCEDURE @extschema@.rekey(integer) IS
    'recomputes every stored confusable key with the running ICU in batches that each commit, reports handles that now collide in rekey_collisions, and records the versions';

REVOKE ALL ON @extschema@.rekey_runs, @extschema@.rekey_collisions FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.rekey_runs_run_id_seq FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.rekey_lock_try(), @extschema@.rekey_lock_release(),
    @extschema@.rekey_rows(bigint, text, @extschema@.handle, @extschema@.handle, @extschema@.handle[]),
    @extschema@._start_rekey_run(integer), @extschema@.start_rekey_run(integer),
    @extschema@._rekey_batch(bigint), @extschema@.rekey_batch(bigint),
    @extschema@._finish_rekey_run(bigint), @extschema@.finish_rekey_run(bigint) FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE @extschema@.rekey(integer) FROM PUBLIC;
