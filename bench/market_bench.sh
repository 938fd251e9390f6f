#!/usr/bin/env bash
# bench/market_bench.sh: the market under load, and price() per call.
#
#  1. buy() from the platform under pgbench, 1 and 8 clients, against
#     pgbench's built-in tpcb-like at 1 and 8 clients in the same run.  Every
#     buy transaction takes the next handle of a premium-list pool from a
#     sequence (bench/market_setup.sql), and each client
#     buys for a buyer of its own, so no two transactions ever want the same
#     handle or wallet.  tpcb-like runs at scale 10 (10 branches, 100 tellers,
#     1,000,000 accounts): 8 clients still meet on branch rows now and then,
#     as the standard benchmark does.  The four scripts run REPS times,
#     interleaved; the better run of each counts.  During the 8-client buy
#     runs one session samples what the buying backends wait for.
#  2. bench/market_price.sql: price() against lower() per call.
#
# Runs inside scripts/cluster.sh (PGHOST etc. set); called by bench/run.sh
# (make bench).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${MARKET_SECONDS:-10}
REPS=${MARKET_REPS:-2}
TPCB_SCALE=${MARKET_TPCB_SCALE:-10}
DB=hm_market
TPCB=hm_tpcb
work=$(mktemp -d)
sampler=
cleanup() {
    touch "$work/stop"
    [ -z "$sampler" ] || wait "$sampler" || true
    rm -rf "$work"
}
trap cleanup EXIT

q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$@"; }

q -d postgres -c "CREATE DATABASE $DB" -c "CREATE DATABASE $TPCB"
q -d $DB -f bench/market_setup.sql >/dev/null
pgbench -i -q -s "$TPCB_SCALE" $TPCB >/dev/null 2>&1 || {
    echo "market bench: pgbench -i -s $TPCB_SCALE failed" >&2
    exit 1
}

# pgbench scripts: one statement, the call itself, as tpcb-like's are
# plain statements: a wrapper function would parse and plan its body on
# every call, and even bench.pool_name() would be read and inlined by the
# planner each time, and count against buy; so the name is spelled out here
# as pool_name() spells it (a name that differs is not on the list, and the
# run fails).  The next handle of the pool, bought at its list price under a
# key of its own; the client number picks the buyer (9 alone, 1 to 8
# together).  Past the end of the pool the handle is free to register and
# buy() refuses it (HM008), which aborts the client: a pool too small fails
# the run instead of measuring errors.
buy_script() {
    echo "SELECT handle_market.buy(h, :client_id + $1, 100, 'bench-buy-' || h)" \
         "FROM (SELECT 'mb' || lpad(nextval('bench.next_handle')::text, 7, '0') AS h) s;"
}
buy_script 9 >"$work/buy1.sql"
buy_script 1 >"$work/buy8.sql"

declare -A tps
processed=0     # buy transactions pgbench reports, probes included
# bench LABEL CLIENTS DB ARGS...: one pgbench run; tps into tps[LABEL]
bench() {
    local label=$1 clients=$2 db=$3 out n
    shift 3
    out=$(pgbench -c "$clients" -j "$(( clients < 2 ? 1 : 2 ))" "$@" "$db" 2>&1) || {
        echo "market bench: pgbench $label failed" >&2
        echo "$out" >&2
        exit 1
    }
    tps[$label]=$(echo "$out" | awk '/^tps = / { print $3; exit }')
    n=$(echo "$out" | awk -F': ' '/^number of transactions actually processed/ { print $2; exit }')
    if [ -z "${tps[$label]}" ] || [ -z "$n" ] \
        || ! echo "$out" | grep -q '^number of failed transactions: 0 '; then
        echo "market bench: pgbench $label did not report a clean run" >&2
        echo "$out" >&2
        exit 1
    fi
    if [ "$db" = $DB ]; then processed=$((processed + n)); fi
}

# Warm up and estimate the rate: 3 s at 1 and at 8 clients on a first pool.
q -d $DB -c "SELECT bench.add_pool(20000)" >/dev/null
bench probe1 1 $DB -n -T 3 -f "$work/buy1.sql"
bench probe8 8 $DB -n -T 3 -f "$work/buy8.sql"
# The pool for the measured runs: what REPS runs of each at the probe rates
# would take, three times over (the probes may have run while the machine
# was busier than during the runs), and 20,000 more.
need=$(awk -v a="${tps[probe1]}" -v b="${tps[probe8]}" -v t="$SECONDS_PER_RUN" -v r="$REPS" \
    'BEGIN { printf "%d", 3 * (a + 2 * b) * t * r + 20000 }')
used=$(q -d $DB -c "SELECT last_value FROM bench.next_handle")
q -d $DB -c "SELECT bench.add_pool(greatest(0, $need - (20000 - $used)))" >/dev/null
pool=$(q -d $DB -c "SELECT n FROM bench.pool_size")
q -d $DB -c "VACUUM ANALYZE" -c "CHECKPOINT"

# One session samples, every 0.2 s, what the active pgbench backends of the
# market database wait for, and every lock they have not been granted.
sample_loop() {
    while [ ! -e "$work/stop" ]; do
        cat <<'EOF'
SELECT 'wait|' || coalesce(wait_event_type || ':' || wait_event, 'on CPU')
  FROM pg_stat_activity
 WHERE datname = current_database() AND application_name = 'pgbench' AND state = 'active';
SELECT 'lock|' || l.locktype || ' ' || l.mode || ' on ' ||
       CASE WHEN l.relation IS NOT NULL THEN l.relation::regclass::text
            WHEN l.locktype = 'object' AND l.classid = 'pg_database'::regclass AND l.objid = 0
                THEN 'database 0 (the lock of NOTIFY at commit)'
            WHEN l.locktype = 'transactionid' THEN 'another transaction (a row lock)'
            ELSE coalesce(l.classid::regclass::text || ' ' || l.objid, '?') END
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE NOT l.granted AND a.application_name = 'pgbench' AND a.datname = current_database();
EOF
        sleep 0.2
    done
}
start_sampler() {
    rm -f "$work/stop"
    sample_loop | psql -X -A -t -q -d $DB >>"$work/samples" 2>/dev/null &
    sampler=$!
}
stop_sampler() {
    touch "$work/stop"
    wait "$sampler" || true
    sampler=
}

: >"$work/samples"
for rep in $(seq 1 "$REPS"); do
    q -d postgres -c CHECKPOINT
    bench "buy1,$rep" 1 $DB -n -T "$SECONDS_PER_RUN" -f "$work/buy1.sql"
    q -d postgres -c CHECKPOINT
    bench "tpcb1,$rep" 1 $TPCB -T "$SECONDS_PER_RUN"
    q -d postgres -c CHECKPOINT
    start_sampler
    bench "buy8,$rep" 8 $DB -n -T "$SECONDS_PER_RUN" -f "$work/buy8.sql"
    stop_sampler
    q -d postgres -c CHECKPOINT
    bench "tpcb8,$rep" 8 $TPCB -T "$SECONDS_PER_RUN"
    # the same buys from sessions that do not send the outbox's NOTIFY
    # (src/sql/60_guard.sql): they no longer commit one at a time
    q -d postgres -c CHECKPOINT
    PGOPTIONS="${PGOPTIONS:-} -c handle_market.outbox_notify=off" \
        bench "buy8q,$rep" 8 $DB -n -T "$SECONDS_PER_RUN" -f "$work/buy8.sql"
done

# Every transaction bought exactly one handle, and the books agree.
read -r purchases taken owned violations < <(q -d $DB -F ' ' -c "
    SELECT (SELECT count(*) FROM handle_market.transfers WHERE kind = 'purchase'),
           (SELECT last_value FROM bench.next_handle),
           (SELECT count(*) FROM handle_market.handles WHERE owner_id BETWEEN 1 AND 9),
           (SELECT count(*) FROM handle_market.check_invariants())")
if [ "$purchases" != "$processed" ] || [ "$taken" != "$processed" ] || [ "$owned" != "$processed" ] \
    || [ "$violations" != 0 ]; then
    echo "market bench: $processed buy transactions, but $purchases purchases, $taken handles taken," \
         "$owned handles owned, $violations invariant violations" >&2
    exit 1
fi

best() {    # best LABEL: the better tps of the REPS runs
    local b=0 r
    for r in $(seq 1 "$REPS"); do
        b=$(awk -v a="$b" -v c="${tps[$1,$r]}" 'BEGIN { print (c + 0 > a + 0) ? c : a }')
    done
    echo "$b"
}
group() { printf '%.0f' "$1" | sed -E ':a; s/^([0-9]+)([0-9]{3})/\1,\2/; ta'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
b1=$(best buy1); b8=$(best buy8); t1=$(best tpcb1); t8=$(best tpcb8); b8q=$(best buy8q)

echo
printf 'buy() from the platform under pgbench -T %s, against tpcb-like (scale %s), %s runs each, interleaved\n' \
    "$SECONDS_PER_RUN" "$TPCB_SCALE" "$REPS"
printf ' %-20s' script; for r in $(seq 1 "$REPS"); do printf ' | %9s' "run $r tps"; done; printf ' | %9s\n' better
for s in buy1 buy8 buy8q tpcb1 tpcb8; do
    case $s in
        buy1) name='buy, 1 client' ;; buy8) name='buy, 8 clients' ;;
        buy8q) name='buy, 8, no NOTIFY' ;;
        tpcb1) name='tpcb-like, 1 client' ;; tpcb8) name='tpcb-like, 8 clients' ;;
    esac
    printf ' %-20s' "$name"
    for r in $(seq 1 "$REPS"); do printf ' | %9s' "$(group "${tps[$s,$r]}")"; done
    printf ' | %9s\n' "$(group "$(best $s)")"
done
printf ' %s purchases in all (probes included), each a fresh handle of a pool of %s; check_invariants(): %s violations\n' \
    "$(group "$purchases")" "$(group "$pool")" "$violations"
echo ' what the 8-client buy backends were doing (samples every 0.2 s, all runs):'
total=$(grep -c '^wait|' "$work/samples" || true)
grep '^wait|' "$work/samples" | cut -d'|' -f2 | sort | uniq -c | sort -rn | head -8 \
    | awk -v t="$total" '{ n = $1; $1 = ""; printf "   %5.1f %%  %s\n", 100 * n / t, substr($0, 2) }'
if grep -q '^lock|' "$work/samples"; then
    echo ' locks they waited for (samples):'
    grep '^lock|' "$work/samples" | cut -d'|' -f2 | sort | uniq -c | sort -rn | head -5 \
        | awk '{ n = $1; $1 = ""; printf "   %6d  %s\n", n, substr($0, 2) }'
else
    echo ' locks they waited for: none seen'
fi
echo
cores=$(nproc)
printf 'buy, 8 clients: %s tps; tpcb-like 8 clients: %s tps; ratio %s (target >= 0.5)\n' \
    "$(group "$b8")" "$(group "$t8")" "$(ratio "$b8" "$t8")"
printf 'buy, 8 clients, handle_market.outbox_notify = off: %s tps; ratio %s to tpcb-like; %s to buy at 1 client\n' \
    "$(group "$b8q")" "$(ratio "$b8q" "$t8")" "$(ratio "$b8q" "$b1")"
printf 'buy 8 clients / buy 1 client: %s (target >= 2); tpcb-like 8 / 1 clients: %s, the ceiling on this %s-core machine\n' \
    "$(ratio "$b8" "$b1")" "$(ratio "$t8" "$t1")" "$cores"
printf ' (%s cores: 8 clients run at most %s backends at once, so 8 / 1 beyond %s comes only from\n' "$cores" "$cores" "$cores"
printf '  overlapping client round trips; tpcb-like'"'"'s own 8 / 1 is the fair ceiling, and buy reaches %s of it)\n' \
    "$(ratio "$(ratio "$b8" "$b1")" "$(ratio "$t8" "$t1")")"
top_lock=$(grep '^lock|' "$work/samples" | cut -d'|' -f2 | sort | uniq -c | sort -rn | head -1 \
    | awk '{ $1 = ""; print substr($0, 2) }')
if [ -n "$top_lock" ]; then
    printf ' (8-client buys were found waiting for a lock in %s of %s backend samples; most often: %s)\n' \
        "$(grep -c '^lock|' "$work/samples")" "$total" "$top_lock"
fi

q -d postgres -c "DROP DATABASE $DB" -c "DROP DATABASE $TPCB"

q -d postgres -c "CREATE DATABASE hm_price"
psql -X -q -v ON_ERROR_STOP=1 -d hm_price -f bench/market_price.sql
q -d postgres -c "DROP DATABASE hm_price"
