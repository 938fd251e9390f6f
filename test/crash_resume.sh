#!/usr/bin/env bash
# test/crash_resume.sh: release_dormant() survives a server crash.
#
# Run inside a throw-away cluster:  bash scripts/cluster.sh bash test/crash_resume.sh
# (or make installcheck CRASH_TESTS=1 against a server nobody else uses)
# (pg_virtualenv sets PGHOST/PGPORT/PGUSER/PGPASSWORD, PGVERSION and
# PG_CLUSTER_CONF_ROOT; its cluster is called "regress".)
#
# Makes 20,000 handles, one per account, 40% of the owners dormant (plus 5%
# dormant but verified, so exempt), computes a dry run, starts
# CALL release_dormant(AS_OF, 200) in the background, waits until the run has
# committed at least 5 batches and crashes the server
# (pg_ctlcluster --mode immediate ... stop: every backend is killed, no
# checkpoint, WAL replay at the next start; pg_virtualenv's cluster runs with
# fsync=off, so this is a crash of the server, not of the machine).  A
# server that is no pg_virtualenv or Debian cluster (make installcheck
# CRASH_TESTS=1 against one started by pg_ctl) loses the CALL's backend to
# SIGKILL instead: the postmaster ends every session and runs the same crash
# recovery; that needs this machine, as root or the server's user.  After
# the restart it checks:
#   (a) no batch is half applied: the at-risk handles are exactly the
#       dormant, non-exempt handles up to the interrupted run's last_handle,
#       their number is the run's recorded noticed count, and handle_events
#       and outbox hold exactly one notice each;
#   (b) a rerun with the same as_of resumes: its row has resumed_run_id set,
#       the old row becomes interrupted, it examines only the handles after
#       last_handle, and the two runs together examined, noticed and released
#       what the dry run said;
#   (c) no handle has two at_risk events (or two notices).
# Prints "crash_resume: N passed, M failed" and exits non-zero on failure.
#
# A third session holds the row of a dormant owner's handle about 80% of the
# way through the key order (FOR UPDATE, as a concurrent buy() would), so
# the batch that notices it waits, and however fast the machine the run
# cannot finish before the crash.
set -uo pipefail
# the calendar: owners last active on day 0 (simulated time, superuser only)
export PGOPTIONS="${PGOPTIONS:-} -c handle_market.simulated_time=on"

ver=${PGVERSION:-15}
cluster=${HM_CLUSTER:-regress}
db=hm_crash_resume
as_of='2026-01-31 00:00+00'          # day 30: owners last active on day 0 get a notice
batch_size=200
handles=20000

call_log=$(mktemp)

. "$(dirname "$0")/lib.sh"

finish() {
    [ -n "${blocker_pid:-}" ] && kill "$blocker_pid" 2>/dev/null
    [ -n "${call_pid:-}" ] && kill "$call_pid" 2>/dev/null
    rm -f "$call_log"
    report crash_resume
    exit $?
}

# --- setup ------------------------------------------------------------------
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE template0" || { check "create database" ok failed; finish; }
if ! psql_db -o /dev/null <<SQL
SET client_min_messages = warning;
SET timezone = 'UTC';
CREATE EXTENSION handle_market;
-- account i owns handle user_i.  i % 5 in (0, 1): dormant since day 0 (40%);
-- i % 20 = 2: dormant but verified, so exempt (5%); the rest were active on day 25.
SELECT count(handle_market.upsert_account(i, 'none', i % 20 = 2,
           CASE WHEN i % 5 IN (0, 1) OR i % 20 = 2 THEN timestamptz '2026-01-01 00:00+00'
                ELSE timestamptz '2026-01-26 00:00+00' END))
  FROM generate_series(1, $handles) i;
SELECT count(handle_market.register_handle(i, 'user_' || i, '2026-01-01 00:00+00'))
  FROM generate_series(1, $handles) i;
-- handle_events by month: January (the registrations move out of the
-- default partition) and February; the run's notices go to January's
CALL handle_market.create_history_partitions(1, '2026-01-01 00:00+00');
SQL
then
    check "setup" ok failed
    finish
fi
check "handles made" "$handles" "$(value "SELECT count(*) FROM handle_market.handles")"
check "the registrations are in January's partition of handle_events" "$handles 0" \
    "$(value "SELECT (SELECT count(*) FROM handle_market.handle_events_p2026_01) || ' '
                     || (SELECT count(*) FROM handle_market.handle_events_default)")"

# The dry run: what a whole run at as_of would do.
psql_db -c "CALL handle_market.release_dormant('$as_of', $batch_size, true)" 2>/dev/null
dry=$(value "SELECT examined || ' ' || noticed || ' ' || released FROM handle_market.release_runs
              WHERE dry_run AND status = 'finished'")
check "dry run: examined, noticed, released" "$handles $((handles * 2 / 5)) 0" "$dry"
read -r dry_examined dry_noticed dry_released <<<"$dry"

# --- run, and crash it --------------------------------------------------------
blocked_handle=$(value "SELECT handle FROM handle_market.handles h
                          JOIN handle_market.accounts a ON a.account_id = h.owner_id
                         WHERE a.last_active_at < '2026-01-02' AND NOT a.verified
                         ORDER BY h.handle OFFSET $((handles * 2 / 5 * 4 / 5)) LIMIT 1")
psql_db -c "BEGIN" \
    -c "SELECT 1 FROM handle_market.handles WHERE handle OPERATOR(handle_market.=) '$blocked_handle' FOR UPDATE" \
    -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
blocker_pid=$!
# wait until the blocker holds its lock
for _ in $(seq 1 100); do
    [ "$(value "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db'
                 AND query LIKE 'SELECT pg_sleep(600)%'")" = 1 ] && break
    sleep 0.1
done

psql_db -c "CALL handle_market.release_dormant('$as_of', $batch_size)" >"$call_log" 2>&1 &
call_pid=$!

batches=0
for _ in $(seq 1 6000); do          # 10 minutes at most
    batches=$(value "SELECT coalesce(max(batches), 0) FROM handle_market.release_runs
                      WHERE NOT dry_run AND status = 'running'")
    [ "${batches:-0}" -ge 5 ] && break
    kill -0 "$call_pid" 2>/dev/null || break
    sleep 0.05
done
if [ "${batches:-0}" -lt 5 ]; then
    cat "$call_log"
    check "the run reached 5 batches" ">= 5" "$batches"
    finish
fi
echo "# crashing the server: the run has committed $batches batches so far"
log=$(server_log)
log_lines=$(wc -l <"$log" 2>/dev/null || echo 0)
if pg_lsclusters -h "$ver" "$cluster" >/dev/null 2>&1; then
    # pg_virtualenv's cluster (or a Debian one named by HM_CLUSTER): stopped
    # in immediate mode, every backend killed, and started again
    pg_ctlcluster --mode immediate "$ver" "$cluster" stop
    crashed=$?
    wait "$call_pid"
    call_rc=$?
    [ "$crashed" -eq 0 ] && { pg_ctlcluster "$ver" "$cluster" start || crashed=restart; }
else
    # any other server: the backend that runs the CALL is killed with
    # SIGKILL, so the postmaster ends every session and runs crash recovery
    # (no checkpoint, the WAL replayed) as after an immediate stop
    victim=$(value "SELECT pid FROM pg_stat_activity WHERE datname = '$db'
                     AND query LIKE 'CALL handle_market.release_dormant%'")
    kill -9 "$victim" 2>/dev/null
    crashed=$?
    wait "$call_pid"
    call_rc=$?
fi
if [ "$crashed" != 0 ]; then
    check "crash the server" ok "failed ($crashed)"
    finish
fi
wait "$blocker_pid" 2>/dev/null
blocker_pid=
call_pid=
echo "# the CALL's client said: $(tr '\n' ' ' <"$call_log" | tail -c 300)"
check "the CALL was cut off by the crash (psql exit status not 0)" yes "$([ "$call_rc" -ne 0 ] && echo yes || echo "no ($call_rc)")"

wait_ready || { check "server ready after restart" ok failed; finish; }
for _ in $(seq 1 100); do          # the postmaster may still be tearing down
    value "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.1
done
wait_ready || { check "server ready after restart" ok failed; finish; }
if [ -r "$log" ]; then
    check "the restart replayed WAL (crash recovery)" yes \
        "$(tail -n +"$((log_lines + 1))" "$log" | grep -q 'database system was interrupted\|not properly shut down; automatic recovery in progress' && echo yes || echo no)"
else
    log_not_read 1
fi

# --- (a) whole batches only ---------------------------------------------------
run=$(value "SELECT run_id || ' ' || batches || ' ' || examined || ' ' || noticed || ' ' || released
               FROM handle_market.release_runs WHERE NOT dry_run")
read -r run1 b1 e1 n1 r1 <<<"$run"
last1=$(value "SELECT last_handle FROM handle_market.release_runs WHERE run_id = $run1")
echo "# after the crash: run $run1, $b1 batches, examined $e1, noticed $n1, released $r1, through $last1"
check "one real run, still marked running" "1 running" \
    "$(value "SELECT count(*) || ' ' || min(status) FROM handle_market.release_runs WHERE NOT dry_run")"
check "the crash came after at least 5 batches" yes "$([ "$b1" -ge 5 ] && echo yes || echo "no ($b1)")"
check "the crash came before the run finished" yes "$([ "$e1" -lt "$handles" ] && echo yes || echo "no ($e1)")"
check "examined = batches * batch_size" "$((b1 * batch_size))" "$e1"
check "examined = handles up to last_handle" "$e1" \
    "$(value "SELECT count(*) FROM handle_market.handles WHERE handle OPERATOR(handle_market.<=) '$last1'")"
check "at_risk handles = recorded noticed" "$n1" \
    "$(value "SELECT count(*) FROM handle_market.handles WHERE state = 'at_risk'")"
check "at_risk events = recorded noticed" "$n1" \
    "$(value "SELECT count(*) FROM handle_market.handle_events WHERE to_state = 'at_risk'")"
check "every at_risk event in January's partition, none in the default one" "$n1 0" \
    "$(value "SELECT (SELECT count(*) FROM handle_market.handle_events_p2026_01 WHERE to_state = 'at_risk') || ' '
                     || (SELECT count(*) FROM handle_market.handle_events_default)")"
check "inactivity notices in the outbox = recorded noticed" "$n1" \
    "$(value "SELECT count(*) FROM handle_market.outbox WHERE kind = 'inactivity_notice'")"
check "nothing released" "0 0" \
    "$(value "SELECT $r1 || ' ' || count(*) FROM handle_market.handles WHERE state = 'released'")"
# exactly the dormant, non-exempt handles up to last_handle are at risk
dormant="SELECT h.handle FROM handle_market.handles h
           JOIN handle_market.accounts a ON a.account_id = h.owner_id
          WHERE a.last_active_at <= timestamptz '$as_of' - interval '30 days'
            AND NOT a.verified AND a.subscription = 'none'"
check "at_risk = dormant handles up to last_handle (both ways)" "0 0" \
    "$(value "SELECT (SELECT count(*) FROM ($dormant AND h.handle OPERATOR(handle_market.<=) '$last1'
                                             EXCEPT SELECT handle FROM handle_market.handles
                                                     WHERE state = 'at_risk') x)
               || ' ' ||
               (SELECT count(*) FROM (SELECT handle FROM handle_market.handles WHERE state = 'at_risk'
                                      EXCEPT $dormant AND h.handle OPERATOR(handle_market.<=) '$last1') y)")"
check "every at_risk handle has its event and its notice" 0 \
    "$(value "SELECT count(*) FROM handle_market.handles h
               WHERE h.state = 'at_risk'
                 AND (NOT EXISTS (SELECT FROM handle_market.handle_events e
                                   WHERE e.handle OPERATOR(handle_market.=) h.handle AND e.to_state = 'at_risk'
                                     AND e.at = h.notice_at)
                      OR NOT EXISTS (SELECT FROM handle_market.outbox o
                                      WHERE o.handle OPERATOR(handle_market.=) h.handle AND o.kind = 'inactivity_notice'))")"

# --- (b) the rerun resumes ----------------------------------------------------
max_event=$(value "SELECT coalesce(max(event_id), 0) FROM handle_market.handle_events")
rerun_out=$(psql_db -c "CALL handle_market.release_dormant('$as_of', $batch_size)" 2>&1)
rc=$?
check "the rerun succeeded" 0 "$rc"
[ "$rc" -ne 0 ] && echo "$rerun_out"
run=$(value "SELECT run_id || ' ' || coalesce(resumed_run_id::text, 'NULL') || ' ' || batches || ' '
                    || examined || ' ' || noticed || ' ' || released || ' ' || status
               FROM handle_market.release_runs WHERE NOT dry_run AND run_id <> $run1")
read -r run2 resumed2 b2 e2 n2 r2 status2 <<<"$run"
echo "# rerun: run $run2 (resumed_run_id $resumed2), $b2 batches, examined $e2, noticed $n2, released $r2, $status2"
check "the rerun resumed the interrupted run" "$run1" "$resumed2"
check "the rerun finished" finished "$status2"
check "the interrupted run is marked interrupted" interrupted \
    "$(value "SELECT status FROM handle_market.release_runs WHERE run_id = $run1")"
check "three runs in all: dry, interrupted, resumed" "3" \
    "$(value "SELECT count(*) FROM handle_market.release_runs")"
check "the rerun examined only the handles after last_handle" \
    "$(value "SELECT count(*) FROM handle_market.handles WHERE handle OPERATOR(handle_market.>) '$last1'")" "$e2"
check "the rerun noticed nothing up to last_handle" 0 \
    "$(value "SELECT count(*) FROM handle_market.handle_events
               WHERE event_id > $max_event AND handle OPERATOR(handle_market.<=) '$last1'")"
check "examined by both runs = dry run" "$dry_examined" "$((e1 + e2))"
check "noticed by both runs = dry run" "$dry_noticed" "$((n1 + n2))"
check "released by both runs = dry run" "$dry_released" "$((r1 + r2))"
check "at_risk handles = dry run's noticed" "$dry_noticed" \
    "$(value "SELECT count(*) FROM handle_market.handles WHERE state = 'at_risk'")"
check "at_risk = every dormant handle (both ways)" "0 0" \
    "$(value "SELECT (SELECT count(*) FROM ($dormant EXCEPT SELECT handle FROM handle_market.handles
                                                          WHERE state = 'at_risk') x)
               || ' ' ||
               (SELECT count(*) FROM (SELECT handle FROM handle_market.handles WHERE state = 'at_risk'
                                      EXCEPT $dormant) y)")"

# --- (c) nobody noticed twice -------------------------------------------------
check "no handle has two at_risk events" 0 \
    "$(value "SELECT count(*) FROM (SELECT handle FROM handle_market.handle_events
                                     WHERE to_state = 'at_risk' GROUP BY handle HAVING count(*) > 1) d")"
check "no handle has two inactivity notices" 0 \
    "$(value "SELECT count(*) FROM (SELECT handle FROM handle_market.outbox
                                     WHERE kind = 'inactivity_notice' GROUP BY handle HAVING count(*) > 1) d")"
check "at_risk events = inactivity notices = dry run's noticed" "$dry_noticed $dry_noticed" \
    "$(value "SELECT (SELECT count(*) FROM handle_market.handle_events WHERE to_state = 'at_risk')
               || ' ' || (SELECT count(*) FROM handle_market.outbox WHERE kind = 'inactivity_notice')")"

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
finish
