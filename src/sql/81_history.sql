-- src/sql/81_history.sql: the partitions of handle_events (issue 12, bounded
-- growth; doc/history_partitions.md).  One partition per UTC month, made
-- ahead by create_history_partitions() from cron; old months leave by
-- detach_history(), which the DBA follows with pg_dump and DROP TABLE.
--
-- Our own procedure rather than pg_partman: a partition here is more than a
-- table (its own guard trigger, the parent's owner and privileges, a key and
-- an index of its own, rows of its month moved out of the default
-- partition), what may be detached is the lifecycle's decision, and the
-- operators' role runs both through the gate without another extension,
-- its schema, its configuration table or its background worker.

-- Every partition with its range (NULL for the default partition), whether
-- its guard trigger is there and enabled, and the planner's estimate of its
-- rows.  The bounds are read back from their text, so the function sets
-- the time zone and date style they are printed and read in.
CREATE FUNCTION @extschema@.history_partitions()
    RETURNS TABLE (partition text, range_from timestamptz, range_to timestamptz,
                   is_default boolean, guarded boolean, estimated_events bigint)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    SET TimeZone = 'UTC'
    SET DateStyle = 'ISO'
BEGIN ATOMIC
    SELECT c.relname::text,
           substring(b.bound FROM 'FROM \(''([^'']*)''\)')::timestamptz,
           substring(b.bound FROM 'TO \(''([^'']*)''\)')::timestamptz,
           b.bound = 'DEFAULT',
           EXISTS (SELECT FROM pg_trigger t
                    WHERE t.tgrelid = c.oid AND t.tgname = 'guard' AND t.tgenabled <> 'D'
                      AND t.tgfoid = '@extschema@.guard()'::regprocedure),
           greatest(c.reltuples, 0)::bigint
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
     CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b
     WHERE i.inhparent = '@extschema@.handle_events'::regclass
     ORDER BY b.bound = 'DEFAULT', 2;
END;
COMMENT ON FUNCTION @extschema@.history_partitions() IS
    'the partitions of handle_events: each one''s range of event times (none for the default partition), whether its guard is on, and its estimated rows';

-- A partition as the parent is: the parent's owner, exactly the parent's
-- privileges (no role reads or writes a partition that it could not read
-- or write through the parent), the append-only guard, and the key and
-- index every partition has.  Run for each partition made, and for every
-- partition by each maintenance run, so that one attached by hand is made
-- the same.
CREATE FUNCTION @extschema@._history_partition_setup(p_partition regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_parent pg_class := (SELECT c FROM pg_class c WHERE c.oid = '@extschema@.handle_events'::regclass);
    v_rel pg_class := (SELECT c FROM pg_class c WHERE c.oid = p_partition);
    a record;
BEGIN
    IF v_rel.relowner <> v_parent.relowner THEN
        EXECUTE format('ALTER TABLE %s OWNER TO %s', p_partition, v_parent.relowner::regrole);
    END IF;
    IF v_rel.relacl IS NULL
       OR (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(v_rel.relacl) x)
          IS DISTINCT FROM (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(v_parent.relacl) x) THEN
        -- materializes the owner's own entry, as the parent's is
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', p_partition);
        FOR a IN SELECT DISTINCT x.grantee FROM aclexplode(v_rel.relacl) x
                  WHERE x.grantee NOT IN (0, v_parent.relowner) LOOP
            EXECUTE format('REVOKE ALL ON %s FROM %s', p_partition, a.grantee::regrole);
        END LOOP;
        FOR a IN SELECT x.grantee, x.privilege_type, x.is_grantable FROM aclexplode(v_parent.relacl) x
                  WHERE x.grantee <> v_parent.relowner LOOP
            EXECUTE format('GRANT %s ON %s TO %s%s', a.privilege_type, p_partition,
                           CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,
                           CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = p_partition AND t.tgname = 'guard') THEN
        EXECUTE format('CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard(''append_only'')', p_partition);
    ELSIF EXISTS (SELECT FROM pg_trigger t
                   WHERE t.tgrelid = p_partition AND t.tgname = 'guard' AND t.tgenabled = 'D') THEN
        EXECUTE format('ALTER TABLE %s ENABLE TRIGGER guard', p_partition);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = p_partition AND i.indisprimary) THEN
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (event_id, at)',
                       p_partition, v_rel.relname || '_pkey');
    END IF;
    IF NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = p_partition
                      AND pg_get_indexdef(i.indexrelid) LIKE '% (handle, event_id)') THEN
        EXECUTE format('CREATE INDEX %I ON %s (handle, event_id)', v_rel.relname || '_handle', p_partition);
    END IF;
END $$;

-- One step of the maintenance: makes the partition of the first month that
-- needs one and has none, and returns it; no row when every month has one.
-- The months that need one: as_of's and the months_ahead after it, and
-- every month the default partition holds events of, but none before
-- archived history ends (its months were detached on purpose; an event of
-- one stays in the default partition).  The default partition's events of
-- the month move into the new partition in the same transaction: a
-- partition cannot be attached while the default one holds rows of its
-- range, and history is moved, not copied, so that each event is in one
-- place.  The guard refuses that DELETE even through the gate (history is
-- append-only), so the default partition's guard is off for it: within this
-- transaction, on a table it has locked, so no other session sees it off.
-- The step with nothing to make goes over every partition instead
-- (_history_partition_setup), so a daily run also mends one attached by
-- hand; it blocks no write.  A step that makes a month blocks the writes
-- of history until it commits (a moment, or the move of the month's events
-- out of the default partition).  At most 3 seconds' wait for a lock: a
-- cron job that finds the table busy fails (55P03) and runs again the next
-- day, months ahead, rather than queueing every write behind its lock.
CREATE FUNCTION @extschema@._create_history_partition(p_months_ahead integer, p_as_of timestamptz)
    RETURNS TABLE (partition text, range_from timestamptz, range_to timestamptz, moved_events bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
    SET TimeZone = 'UTC'
    SET lock_timeout = '3s'
AS $$
DECLARE
    v_month timestamptz;
    v_next timestamptz;
    v_name text;
    v_moved bigint := 0;
    v_horizon timestamptz;
    p record;
BEGIN
    IF p_months_ahead IS NULL OR p_months_ahead < 0 OR p_months_ahead > 120 THEN
        RAISE EXCEPTION 'months_ahead must be between 0 and 120'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('It was %s.', coalesce(p_months_ahead::text, 'NULL'));
    END IF;
    -- one maintenance step or detach at a time; reads and writes go on
    LOCK TABLE ONLY handle_events IN SHARE UPDATE EXCLUSIVE MODE;
    SELECT max(a.range_to) INTO v_horizon FROM history_archive a;
    SELECT w.m INTO v_month
      FROM (SELECT generate_series(date_trunc('month', p_as_of),
                                   date_trunc('month', p_as_of) + make_interval(months => p_months_ahead),
                                   interval '1 month') AS m
            UNION
            SELECT DISTINCT date_trunc('month', e.at) FROM ONLY handle_events_default e) w
     WHERE w.m >= coalesce(v_horizon, '-infinity')
       AND NOT EXISTS (SELECT FROM history_partitions() b
                        WHERE NOT b.is_default AND b.range_from < w.m + interval '1 month'
                          AND b.range_to > w.m)
     ORDER BY w.m LIMIT 1;
    IF v_month IS NULL THEN
        FOR p IN SELECT b.partition FROM history_partitions() b LOOP
            PERFORM _history_partition_setup(format('@extschema@.%I', p.partition)::regclass);
        END LOOP;
        RETURN;
    END IF;
    -- No event is written while the month is made: a writer that routed
    -- an event of the month to the default partition before the new
    -- partition was attached would find, once attached, that the default
    -- partition no longer takes it (23514).  Writers take their lock on
    -- the parent before they route, so they wait here and then see the new
    -- partition; readers go on.
    LOCK TABLE ONLY handle_events IN SHARE ROW EXCLUSIVE MODE;
    v_next := v_month + interval '1 month';
    v_name := 'handle_events_p' || to_char(v_month, 'YYYY_MM');
    EXECUTE format('CREATE TABLE @extschema@.%I (LIKE @extschema@.handle_events INCLUDING DEFAULTS)', v_name);
    IF EXISTS (SELECT FROM ONLY handle_events_default e WHERE e.at >= v_month AND e.at < v_next) THEN
        ALTER TABLE handle_events_default DISABLE TRIGGER guard;
        EXECUTE format('WITH moved AS (DELETE FROM ONLY @extschema@.handle_events_default e
                                        WHERE e.at >= $1 AND e.at < $2 RETURNING e.*)
                        INSERT INTO @extschema@.%I (event_id, handle, from_state, to_state, at,
                                                    account_id, actor, reason)
                        SELECT event_id, handle, from_state, to_state, at, account_id, actor, reason
                          FROM moved', v_name)
            USING v_month, v_next;
        GET DIAGNOSTICS v_moved = ROW_COUNT;
        ALTER TABLE handle_events_default ENABLE TRIGGER guard;
    END IF;
    PERFORM _history_partition_setup(format('@extschema@.%I', v_name)::regclass);
    EXECUTE format('ALTER TABLE @extschema@.handle_events ATTACH PARTITION @extschema@.%I '
                   'FOR VALUES FROM (%L) TO (%L)', v_name, v_month, v_next);
    RETURN QUERY SELECT v_name, v_month, v_next, v_moved;
END $$;

CREATE FUNCTION @extschema@.create_history_partition(months_ahead integer,
                                                     as_of timestamptz DEFAULT now())
    RETURNS TABLE (partition text, range_from timestamptz, range_to timestamptz, moved_events bigint)
    AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.create_history_partition(integer, timestamptz) IS
    'one step of create_history_partitions(): makes the first missing monthly partition of handle_events and returns it, or no row';

-- The maintenance, for cron: every step in a transaction of its own, so a
-- month whose events move out of the default partition holds its locks
-- only for that month.  Idempotent: with every month made it changes
-- nothing.  Like release_dormant(), invoker's rights and no SET clause (it
-- commits), and each step at its own transaction's time unless time is
-- simulated.
CREATE PROCEDURE @extschema@.create_history_partitions(months_ahead integer DEFAULT 3,
                                                       as_of timestamptz DEFAULT now())
    LANGUAGE plpgsql
AS $$
DECLARE
    r record;
    v_made integer := 0;
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RAISE NOTICE 'create_history_partitions: this server is a replica; nothing to do';
        RETURN;
    END IF;
    -- refuses a time that is not the server's before any step
    PERFORM @extschema@._write_time(as_of, 'as_of');
    LOOP
        SELECT * INTO r FROM @extschema@.create_history_partition(months_ahead,
            CASE WHEN pg_catalog.current_setting('handle_market.simulated_time')::boolean
                 THEN as_of ELSE pg_catalog.now() END);
        COMMIT;
        EXIT WHEN r.partition IS NULL;
        v_made := v_made + 1;
        RAISE NOTICE '%', pg_catalog.format(
            'create_history_partitions: %s for events from %s to %s UTC (%s moved from the default partition)',
            r.partition, pg_catalog.to_char(r.range_from AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
            pg_catalog.to_char(r.range_to AT TIME ZONE 'UTC', 'YYYY-MM-DD'), r.moved_events);
    END LOOP;
    RAISE NOTICE 'create_history_partitions: % partitions made', v_made;
END $$;
COMMENT ON PROCEDURE @extschema@.create_history_partitions(integer, timestamptz) IS
    'the daily maintenance of handle_events: a partition for this month and months_ahead more, and for every month the default partition holds events of';

-- Detaches every partition that ends by older_than and returns them, for
-- the DBA to dump and drop; each is recorded in history_archive, which
-- check_invariants() reads.  Refused (HM019) when older_than is within the
-- longest redemption period of any policy version before as_of: while a
-- handle's redemption runs, restore_handle() reads its history (its last
-- event, to answer a retry of a restore as the restore answered), and so
-- does release_hold() for a retry; a handle in redemption was released at
-- or after that time, and its last event is no older than its release.
-- The default partition is never detached: an event in it older than
-- older_than stays, and a notice says how many.
CREATE FUNCTION @extschema@._detach_history(p_older_than timestamptz, p_as_of timestamptz)
    RETURNS TABLE (partition text, range_from timestamptz, range_to timestamptz, events bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
    SET TimeZone = 'UTC'
    SET lock_timeout = '3s'
AS $$
DECLARE
    v_redemption interval;
    v_keep_from timestamptz;
    v_first bigint;
    v_last bigint;
    v_left bigint;
    v_min_left bigint;
    v_out_of_order handle[];
    v_names text[];
    v_froms timestamptz[];
    v_tos timestamptz[];
BEGIN
    IF p_older_than IS NULL THEN
        RAISE EXCEPTION 'older_than must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM _read_time(p_older_than, 'older_than');
    SELECT max(po.redemption_period) INTO v_redemption FROM policy po;
    v_keep_from := p_as_of - v_redemption;
    IF p_older_than > v_keep_from THEN
        RAISE EXCEPTION 'the history after % is still needed', utc_time(v_keep_from)
            USING ERRCODE = 'HM019',
                  DETAIL = format('older_than is %s. While a handle''s redemption period runs, restore_handle() '
                                  'reads its last event, so the history of the longest redemption period of any '
                                  'policy version (%s) stays: only partitions that end by %s may be detached.',
                                  utc_time(p_older_than), v_redemption, utc_time(v_keep_from)),
                  HINT = 'Detach the older months now and this one when it is old enough.';
    END IF;
    LOCK TABLE ONLY handle_events IN SHARE UPDATE EXCLUSIVE MODE;
    SELECT coalesce(array_agg(b.partition ORDER BY b.range_to), '{}'),
           coalesce(array_agg(b.range_from ORDER BY b.range_to), '{}'),
           coalesce(array_agg(b.range_to ORDER BY b.range_to), '{}')
      INTO v_names, v_froms, v_tos
      FROM history_partitions() b WHERE NOT b.is_default AND b.range_to <= p_older_than;
    FOR i IN 1 .. cardinality(v_names) LOOP
        EXECUTE format('ALTER TABLE @extschema@.handle_events DETACH PARTITION @extschema@.%I', v_names[i]);
    END LOOP;
    -- the events left: a detached event newer than the oldest of them may
    -- belong to a handle with an older one left (out_of_order)
    SELECT min(e.event_id) INTO v_min_left FROM handle_events e;
    FOR i IN 1 .. cardinality(v_names) LOOP
        partition := v_names[i];
        range_from := v_froms[i];
        range_to := v_tos[i];
        EXECUTE format('SELECT count(*), min(event_id), max(event_id) FROM ONLY @extschema@.%I', partition)
           INTO events, v_first, v_last;
        EXECUTE format('SELECT coalesce(array_agg(DISTINCT d.handle ORDER BY d.handle), ''{}'')
                          FROM ONLY @extschema@.%I d
                         WHERE d.event_id > $1
                           AND EXISTS (SELECT FROM @extschema@.handle_events k
                                        WHERE k.handle = d.handle AND k.event_id < d.event_id)', partition)
           INTO v_out_of_order USING v_min_left;
        INSERT INTO history_archive (partition, range_from, range_to, events, first_event_id,
                                     last_event_id, out_of_order, detached_at)
        VALUES (partition, range_from, range_to, events, v_first, v_last, v_out_of_order, p_as_of);
        RETURN NEXT;
    END LOOP;
    SELECT count(*) INTO v_left FROM ONLY handle_events_default e WHERE e.at < p_older_than;
    IF v_left > 0 THEN
        RAISE NOTICE 'detach_history: % events older than % stay in the default partition',
            v_left, utc_time(p_older_than);
    END IF;
END $$;

CREATE FUNCTION @extschema@.detach_history(older_than timestamptz, as_of timestamptz DEFAULT now())
    RETURNS TABLE (partition text, range_from timestamptz, range_to timestamptz, events bigint)
    AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.detach_history(timestamptz, timestamptz) IS
    'detaches the monthly partitions of handle_events that end by older_than and returns them, for the DBA to dump and drop; refused (HM019) within the longest redemption period';
