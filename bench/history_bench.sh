#!/usr/bin/env bash
# bench/history_bench.sh: the release over HM_N handles (default 1,000,000;
# 40% dormant owners) with handle_events partitioned by month, as 1.1 makes
# it, against the same install with handle_events one table, as 1.0 made
# it, in the same run on the same server.  Run by bench/run.sh (make bench)
# after bench/release_bench.sql, whose data (hm_tmpl, bench/release_load.sql)
# it clones; run alone, it loads that data itself.
#
# The unpartitioned side is the same 1.1 install with handle_events
# replaced by 1.0's table (an identity key, the (handle, event_id) index,
# the guard): the same code writes both, so the ratio is the partitioning's
# alone.  The frozen 1.0 install would differ in everything 1.1 changed.
#
# On each side, two passes of CALL release_dormant(as_of, 10000):
#   notice:  as_of 2026-02-05, puts the 400,000 dormant owners' handles at
#            risk (an event and an outbox message each);
#   release: as_of 2026-03-08, past the notice period, releases them (the
#            other owners were seen on 2026-03-01: no new notices).
# The partitioned side has the months January to April (its 1,000,000
# registrations moved into January's partition by create_history_partitions()),
# so the notices go to February's partition and the releases to March's.
# Before each pass every table and index the pass writes is loaded into
# shared_buffers (pg_prewarm) and a CHECKPOINT is taken.  Each pass reports
# its time, the WAL it wrote (pg_current_wal_lsn() before and after; with
# full-page writes, so the first change of each page after the checkpoint
# counts whole) and how much handle_events grew (every partition's table
# and indexes), both per handle the pass changed.  HISTORY_REPS repetitions
# (default 2), each in fresh clones of both sides, the order of the sides
# alternating; medians.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${HM_N:-1000000}
reps=${HISTORY_REPS:-2}
export HM_N=$n
# the bench walks a calendar as the superuser (see release_bench.sql)
export PGOPTIONS="-c handle_market.simulated_time=on"
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

if [ "$(q -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'hm_tmpl'")" = 0 ]; then
    q -d postgres -v n="$n" -f bench/release_load.sql >/dev/null
    q -d hm_tmpl -c "SET client_min_messages = error" -c "SET max_parallel_maintenance_workers = 0" -c "VACUUM (FREEZE, ANALYZE)"
fi
have=$(q -d hm_tmpl -c "SELECT count(*) FROM handle_market.handles")
if [ "$have" != "$n" ]; then
    echo "history bench: hm_tmpl has $have handles, not $n" >&2
    exit 1
fi

# One timed pass: prewarm, checkpoint, run; ms, WAL bytes, growth of
# handle_events in bytes, and the handles changed.
q -d hm_tmpl <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_prewarm;
CREATE SCHEMA IF NOT EXISTS bench;
-- the tables that hold handle_events' rows: its partitions, or itself
CREATE OR REPLACE FUNCTION bench.event_tables() RETURNS SETOF regclass LANGUAGE sql AS $$
    SELECT t.relid FROM pg_partition_tree('handle_market.handle_events') t WHERE t.isleaf
    UNION ALL
    SELECT c.oid::regclass FROM pg_class c
     WHERE c.oid = 'handle_market.handle_events'::regclass AND c.relkind = 'r' $$;
CREATE OR REPLACE FUNCTION bench.events_bytes() RETURNS bigint LANGUAGE sql AS $$
    SELECT sum(pg_total_relation_size(t))::bigint FROM bench.event_tables() t $$;
CREATE OR REPLACE PROCEDURE bench.history_pass(p_as_of timestamptz, INOUT ms float8 DEFAULT NULL,
                                               INOUT wal_bytes numeric DEFAULT NULL,
                                               INOUT events_bytes bigint DEFAULT NULL,
                                               INOUT changed bigint DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    v_t0 timestamptz;
    v_lsn pg_lsn;
    v_bytes bigint;
BEGIN
    PERFORM set_config('client_min_messages', 'warning', false);
    PERFORM pg_prewarm(c) FROM unnest(ARRAY[
        'handle_market.handles', 'handle_market.handles_pkey', 'handle_market.handles_key',
        'handle_market.handles_owner', 'handle_market.accounts', 'handle_market.accounts_pkey',
        'handle_market.outbox', 'handle_market.outbox_pkey']::regclass[]) c;
    PERFORM pg_prewarm(r) FROM (
        SELECT t AS r FROM bench.event_tables() t
        UNION ALL
        SELECT i.indexrelid FROM pg_index i WHERE i.indrelid IN (SELECT t FROM bench.event_tables() t)) x;
    CHECKPOINT;
    COMMIT;
    v_bytes := bench.events_bytes();
    v_lsn := pg_current_wal_lsn();
    v_t0 := clock_timestamp();
    CALL handle_market.release_dormant(p_as_of, 10000);
    ms := extract(epoch FROM clock_timestamp() - v_t0) * 1000;
    wal_bytes := pg_current_wal_lsn() - v_lsn;
    events_bytes := bench.events_bytes() - v_bytes;
    SELECT r.noticed + r.released INTO changed
      FROM handle_market.release_runs r ORDER BY r.run_id DESC LIMIT 1;
END $$;
SQL

# The active owners (last seen 2026-02-01) are seen again on 2026-03-01,
# so that the release pass releases the noticed handles and notices no
# others: each pass writes one event per handle it changes.  Set past the
# guard (the superuser, as a restore does): touch() would write the same.
q -d hm_tmpl -c "SET session_replication_role = replica" \
    -c "UPDATE handle_market.accounts SET last_active_at = '2026-03-01' WHERE last_active_at = '2026-02-01'" \
    -c "SET client_min_messages = error" -c "SET max_parallel_maintenance_workers = 0" \
    -c "VACUUM (FREEZE, ANALYZE) handle_market.accounts"

# the partitioned side: January to April, the registrations moved out of
# the default partition
t0=$(date +%s)
q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS hm_hist_part" -c "CREATE DATABASE hm_hist_part TEMPLATE hm_tmpl STRATEGY FILE_COPY"
q -d hm_hist_part -c "SET client_min_messages = warning" \
    -c "CALL handle_market.create_history_partitions(3, '2026-01-01')"
q -d hm_hist_part -c "SET client_min_messages = error" -c "SET max_parallel_maintenance_workers = 0" -c "VACUUM (FREEZE, ANALYZE)"
# the unpartitioned side: 1.0's table under the same name, the same events
# in it, the partitioned one emptied and out of the way (a superuser past
# the guard, as a restore is)
q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS hm_hist_flat" -c "CREATE DATABASE hm_hist_flat TEMPLATE hm_tmpl STRATEGY FILE_COPY"
q -d hm_hist_flat >/dev/null <<'SQL'
SET client_min_messages = warning;
SET max_parallel_maintenance_workers = 0;
SET max_parallel_workers_per_gather = 0;
SET session_replication_role = replica;
ALTER TABLE handle_market.handle_events RENAME TO handle_events_partitioned;
CREATE TABLE handle_market.handle_events (
    event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    handle handle_market.handle NOT NULL,
    from_state text,
    to_state text NOT NULL,
    at timestamptz NOT NULL,
    account_id bigint,
    actor text NOT NULL DEFAULT handle_market.actor(),
    reason text NOT NULL
);
INSERT INTO handle_market.handle_events
    (event_id, handle, from_state, to_state, at, account_id, actor, reason) OVERRIDING SYSTEM VALUE
SELECT event_id, handle, from_state, to_state, at, account_id, actor, reason
  FROM handle_market.handle_events_partitioned ORDER BY event_id;
CREATE INDEX handle_events_1_0_handle ON handle_market.handle_events (handle, event_id);
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON handle_market.handle_events
    FOR EACH STATEMENT EXECUTE FUNCTION handle_market.guard('append_only');
SELECT setval(pg_get_serial_sequence('handle_market.handle_events', 'event_id'), max(event_id))
  FROM handle_market.handle_events;
TRUNCATE handle_market.handle_events_partitioned;
SQL
q -d hm_hist_flat -c "SET client_min_messages = error" -c "SET max_parallel_maintenance_workers = 0" -c "VACUUM (FREEZE, ANALYZE)"
setup_s=$(( $(date +%s) - t0 ))
layouts=$(q -d hm_hist_part -c "SELECT string_agg(t.relid::regclass::text || ':' || (SELECT count(*) FROM handle_market.handle_events e WHERE e.tableoid = t.relid), ' ')
                                  FROM pg_partition_tree('handle_market.handle_events') t WHERE t.isleaf")
flat=$(q -d hm_hist_flat -c "SELECT relkind::text || ':' || (SELECT count(*) FROM handle_market.handle_events) FROM pg_class WHERE oid = 'handle_market.handle_events'::regclass")

q -d postgres -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS history_times" \
    -c "CREATE TABLE history_times (rep int, layout text, pass text, ms float8, wal_bytes numeric, events_bytes bigint, changed bigint)"
for rep in $(seq 1 "$reps"); do
    if [ $((rep % 2)) = 1 ]; then order="flat part"; else order="part flat"; fi
    for side in $order; do
        db=hm_hist_run_$side
        layout=$([ "$side" = part ] && echo partitioned || echo unpartitioned)
        q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE hm_hist_$side STRATEGY FILE_COPY"
        for pass in notice:2026-02-05 release:2026-03-08; do
            r=$(q -d "$db" -F ' ' -c "CALL bench.history_pass('${pass#*:}')")
            read -r ms wal bytes changed <<<"$r"
            q -d postgres -c "INSERT INTO history_times VALUES ($rep, '$layout', '${pass%%:*}', $ms, $wal, $bytes, $changed)"
        done
        q -d postgres -c "DROP DATABASE $db"
    done
done
q -d postgres -c "DROP DATABASE hm_hist_part" -c "DROP DATABASE hm_hist_flat"

echo
echo "history: release_dormant over $(q -d postgres -c "SELECT to_char($n, 'FM999,999,999')") handles, 40% dormant owners, batch_size 10000: a notice"
echo "pass (2026-02-05) and a release pass (2026-03-08), handle_events partitioned by month (1.1)"
echo "against one table (1.0's, under the same 1.1 code); medians of $reps repetitions, each in fresh clones"
echo "(setup ${setup_s}s; partitioned: $layouts; unpartitioned: kind $flat)"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -P footer=off <<'SQL'
SELECT layout, pass, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) AS median_ms,
       min(changed) AS handles,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY wal_bytes / changed)::numeric) AS wal_bytes_per_handle,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY events_bytes::numeric / changed)::numeric) AS events_bytes_per_handle
  FROM history_times GROUP BY layout, pass ORDER BY pass, layout;
SQL
q -d postgres <<'SQL'
WITH m AS (
    SELECT layout, pass, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY wal_bytes / changed) AS wal,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY events_bytes::numeric / changed) AS grow
      FROM history_times GROUP BY layout, pass
)
SELECT format('history partitions: release_dormant, notice + release pass, partitioned vs unpartitioned: %s (target >= 0.9; notice pass %s, release pass %s)',
              round(((SELECT sum(ms) FROM m WHERE layout = 'unpartitioned')
                     / (SELECT sum(ms) FROM m WHERE layout = 'partitioned'))::numeric, 2),
              round((u1.ms / p1.ms)::numeric, 2), round((u2.ms / p2.ms)::numeric, 2))
       || E'\n' ||
       format('history partitions: per handle released, partitioned vs unpartitioned: WAL %s vs %s bytes, handle_events growth %s vs %s bytes',
              round(p2.wal::numeric), round(u2.wal::numeric), round(p2.grow::numeric), round(u2.grow::numeric))
  FROM m p1, m u1, m p2, m u2
 WHERE p1.layout = 'partitioned' AND p1.pass = 'notice' AND u1.layout = 'unpartitioned' AND u1.pass = 'notice'
   AND p2.layout = 'partitioned' AND p2.pass = 'release' AND u2.layout = 'unpartitioned' AND u2.pass = 'release';
SQL
q -d postgres -c "DROP TABLE history_times" -c "DROP DATABASE hm_tmpl"
