-- src/sql/85_status.sql: one function a DBA and a monitoring system read
-- (postgres_exporter's custom queries: a metric, its labels, a value).
-- Invoker's rights: the operators' role reads every table (grant_admin).

CREATE FUNCTION @extschema@.status(with_invariants boolean DEFAULT false)
    RETURNS TABLE (metric text, labels text, value numeric)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    -- the registry: handles by stored state, and those under a hold
    SELECT 'handles', 'state=' || h.state, count(*)::numeric
      FROM @extschema@.handles h GROUP BY h.state
    UNION ALL
    SELECT 'handles', 'state=held', count(*)::numeric
      FROM @extschema@.handles h WHERE h.hold_reason IS NOT NULL
    UNION ALL
    -- the last release run (dry or not): how far it got and how fast
    SELECT 'release_run_' || m.k, 'run_id=' || r.run_id || ',status=' || r.status || ',dry_run=' || r.dry_run, m.v
      FROM (SELECT * FROM @extschema@.release_runs ORDER BY run_id DESC LIMIT 1) r,
           LATERAL (VALUES
               ('batches', r.batches::numeric),
               ('examined', r.examined::numeric),
               ('noticed', r.noticed::numeric),
               ('released', r.released::numeric),
               ('seconds', round(extract(epoch FROM coalesce(r.finished_at, clock_timestamp()) - r.started_at), 3)),
               ('examined_per_second',
                round(r.examined / greatest(extract(epoch FROM coalesce(r.finished_at, clock_timestamp()) - r.started_at), 0.001), 1)),
               -- a running run's handles still ahead of it, at its rate so far
               ('seconds_left', CASE WHEN r.status = 'running' AND r.examined > 0 THEN
                    round((SELECT count(*) FROM @extschema@.handles h
                            WHERE r.last_handle IS NULL OR h.handle OPERATOR(@extschema@.>) r.last_handle)
                          * extract(epoch FROM clock_timestamp() - r.started_at) / r.examined, 1) END)
           ) m(k, v)
    UNION ALL
    -- the last re-key run (rekey()): its progress, and the handles it left
    -- with their old key because another handle has their new one
    SELECT 'rekey_run_' || m.k, 'run_id=' || r.run_id || ',status=' || r.status, m.v
      FROM (SELECT * FROM @extschema@.rekey_runs ORDER BY run_id DESC LIMIT 1) r,
           LATERAL (VALUES
               ('batches', r.batches::numeric),
               ('examined', r.examined::numeric),
               ('rekeyed', r.rekeyed::numeric),
               ('collisions', r.collisions::numeric)
           ) m(k, v)
    UNION ALL
    -- 1 while the stored keys were computed with another ICU than the server runs
    SELECT 'unicode_versions_stale',
           'recorded=' || u.icu_version || ',running=' || @extschema@.running_icu_version(),
           CASE WHEN u.icu_version = @extschema@.running_icu_version()
                 AND u.unicode_version = @extschema@.running_unicode_version() THEN 0 ELSE 1 END::numeric
      FROM @extschema@.unicode_versions u
    UNION ALL
    -- settlement: auctions that have ended and wait for settle_auctions()
    SELECT 'auctions', 'state=' || a.state, count(*)::numeric
      FROM @extschema@.auctions a GROUP BY a.state
    UNION ALL
    SELECT 'auctions_ended_unsettled', '', count(*)::numeric
      FROM @extschema@.auctions a WHERE a.state = 'open' AND a.ends_at <= now()
    UNION ALL
    SELECT 'offers_expired_open', '', count(*)::numeric
      FROM @extschema@.offers o WHERE o.state = 'open' AND o.expires_at <= now()
    UNION ALL
    -- escrow: money set aside by open bids and offers
    SELECT 'holds_pending', '', count(*)::numeric
      FROM @extschema@.holds WHERE state = 'pending'
    UNION ALL
    SELECT 'holds_pending_cents', '', coalesce(sum(amount), 0)::numeric
      FROM @extschema@.holds WHERE state = 'pending'
    UNION ALL
    -- the outbox: the newest message, for lag against a consumer's cursor
    SELECT 'outbox_last_message_id', '', coalesce(max(message_id), 0)::numeric
      FROM @extschema@.outbox
    UNION ALL
    -- each consumer: the messages after its cursor, those of them an older
    -- open transaction holds back, and how old the oldest is (0 when none):
    -- a consumer that falls behind, or a transaction left open, shows here
    SELECT 'outbox_consumer_' || m.k, 'consumer=' || c.consumer, m.v
      FROM @extschema@.outbox_consumers() c,
           LATERAL (VALUES
               ('lag', c.lag::numeric),
               ('held_back', c.held_back::numeric),
               ('lag_seconds', coalesce(round(extract(epoch FROM now() - c.oldest_unacked_at), 3), 0))
           ) m(k, v)
    UNION ALL
    SELECT 'outbox_retention_seconds', '', round(extract(epoch FROM @extschema@.outbox_retention()))
    UNION ALL
    -- history (81_history.sql): how many monthly partitions handle_events
    -- has, how far past now the newest reaches (a cron job that stopped
    -- shows here months before a write lands in the default partition),
    -- how old the oldest is, the events in the default partition (0 once
    -- the maintenance has run), partitions without their guard (0), and the
    -- partitions detached
    SELECT 'history_' || m.k, '', m.v
      FROM (SELECT count(*) FILTER (WHERE NOT b.is_default) AS n,
                   max(b.range_to) FILTER (WHERE NOT b.is_default) AS newest_to,
                   min(b.range_from) FILTER (WHERE NOT b.is_default) AS oldest_from,
                   count(*) FILTER (WHERE NOT b.guarded) AS unguarded
              FROM @extschema@.history_partitions() b) p,
           LATERAL (VALUES
               ('partitions', p.n::numeric),
               ('partitions_ahead_seconds',
                greatest(coalesce(round(extract(epoch FROM p.newest_to - now())), 0), 0)),
               ('oldest_partition_age_seconds',
                greatest(coalesce(round(extract(epoch FROM now() - p.oldest_from)), 0), 0)),
               ('partitions_unguarded', p.unguarded::numeric),
               ('default_partition_events',
                (SELECT count(*) FROM @extschema@.handle_events_default)::numeric),
               ('archived_partitions', (SELECT count(*) FROM @extschema@.history_archive)::numeric)
           ) m(k, v)
    UNION ALL
    -- a full check reads every table: off by default
    SELECT 'invariant_violations', '', count(*)::numeric
      FROM @extschema@.check_invariants() WHERE with_invariants;
END;
REVOKE EXECUTE ON FUNCTION @extschema@.status(boolean) FROM PUBLIC;      -- grant_admin() grants it
COMMENT ON FUNCTION @extschema@.status(boolean) IS
    'for operators and monitoring: handles by state, the last release run''s progress and rate, the last re-key run''s progress and collisions, whether the stored keys'' ICU is the server''s, auctions and offers waiting for settlement, pending holds, the outbox''s last message, each outbox consumer''s lag in messages and seconds and the messages of it an open older transaction holds back, the outbox''s retention, the partitions of handle_events (how many, how far ahead and back, events in the default partition, unguarded, archived), and (with_invariants) the count of invariant violations';
