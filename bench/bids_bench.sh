#!/usr/bin/env bash
# bench/bids_bench.sh: bids per second under pgbench with 8 clients, on one
# hot auction (every client bids on the same auction: its row is locked by
# each bid in turn) and on 1,000 auctions at once (each client bids on one
# at random), with pgbench's tpcb-like at 8 clients in the same run as the
# machine's yardstick.  Each script runs twice, interleaved; the better run
# counts.  Correctness first: afterwards every accepted bid is in bids, each
# auction has one live top bid, and check_invariants() is empty.  Runs
# inside scripts/cluster.sh; called by bench/run.sh (make bench).
set -euo pipefail

SECONDS_PER_RUN=${BIDS_SECONDS:-10}
REPS=2
HOT_AUCTIONS=${BIDS_HOT_AUCTIONS:-400}
DB=hm_bids
TPCB=hm_bids_tpcb
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

q -d postgres -c "CREATE DATABASE $DB" -c "CREATE DATABASE $TPCB"
q -d $DB -v hot_auctions="$HOT_AUCTIONS" -f bench/bids_setup.sql >/dev/null
pgbench -i -q -s 10 $TPCB >/dev/null 2>&1

echo 'SELECT bench.bid_hot(:client_id + 1);' >"$work/hot.sql"
echo 'SELECT bench.bid_wide(:client_id + 1);' >"$work/wide.sql"

declare -A tps
processed=0
bench() {   # bench LABEL DB ARGS...
    local label=$1 db=$2 out n
    shift 2
    out=$(pgbench -c 8 -j 2 -T "$SECONDS_PER_RUN" "$@" "$db" 2>&1) || {
        echo "bids bench: pgbench $label failed" >&2; echo "$out" >&2; exit 1; }
    tps[$label]=$(echo "$out" | awk '/^tps = / { print $3; exit }')
    n=$(echo "$out" | awk '/^number of transactions actually processed:/ { print $6; exit }')
    [ -n "${tps[$label]}" ] && [ -n "$n" ] || { echo "$out" >&2; exit 1; }
    [ "$db" = $DB ] && processed=$((processed + n))
    return 0
}

for rep in $(seq 1 $REPS); do
    q -d postgres -c CHECKPOINT
    bench "hot,$rep" $DB -n -f "$work/hot.sql"
    q -d postgres -c CHECKPOINT
    bench "wide,$rep" $DB -n -f "$work/wide.sql"
    q -d postgres -c CHECKPOINT
    # an outbid bid writes an outbox message; without its NOTIFY, commits
    # do not queue for PostgreSQL's notification lock (src/sql/60_guard.sql)
    PGOPTIONS="${PGOPTIONS:-} -c handle_market.outbox_notify=off" bench "wideq,$rep" $DB -n -f "$work/wide.sql"
    q -d postgres -c CHECKPOINT
    bench "tpcb,$rep" $TPCB
done

read -r bids tops open_with_bids hot_used races violations negative < <(q -d $DB -F ' ' -c "
    SELECT (SELECT count(*) FROM handle_market.bids),
           (SELECT count(*) FROM handle_market.bids WHERE state = 'top'),
           (SELECT count(*) FROM handle_market.auctions WHERE state = 'open' AND top_bid_id IS NOT NULL),
           (SELECT n FROM bench.hot),
           (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM bench.races),
           (SELECT count(*) FROM handle_market.check_invariants()),
           (SELECT count(*) FROM handle_market.ledger_accounts WHERE kind = 'wallet' AND balance < held)")
if [ "$bids" != "$processed" ] || [ "$tops" != "$open_with_bids" ] || [ "$violations" != 0 ] \
    || [ "$negative" != 0 ]; then
    echo "bids bench: $processed bid transactions but $bids bids; $tops top bids for $open_with_bids" \
         "auctions with bids; $violations invariant violations; $negative overdrawn wallets" >&2
    exit 1
fi
[ "$hot_used" -lt "$HOT_AUCTIONS" ] || { echo "bids bench: the hot auctions ran out" >&2; exit 1; }

best() { local b=0 r; for r in $(seq 1 $REPS); do
    b=$(awk -v a="$b" -v c="${tps[$1,$r]}" 'BEGIN { print (c + 0 > a + 0) ? c : a }'); done; echo "$b"; }
group() { printf '%.0f' "$1" | sed -E ':a; s/^([0-9]+)([0-9]{3})/\1,\2/; ta'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
h=$(best hot); w=$(best wide); wq=$(best wideq); t=$(best tpcb)

echo
printf 'bid() under pgbench, 8 clients, -T %s, %s runs each, interleaved; the better run counts\n' \
    "$SECONDS_PER_RUN" "$REPS"
printf ' %-26s' script; for r in $(seq 1 $REPS); do printf ' | %9s' "run $r tps"; done; printf ' | %9s\n' better
for s in hot wide wideq tpcb; do
    case $s in
        hot) name='one hot auction' ;; wide) name='1,000 auctions' ;;
        wideq) name='1,000 auctions, no NOTIFY' ;; tpcb) name='tpcb-like (scale 10)' ;;
    esac
    printf ' %-26s' "$name"
    for r in $(seq 1 $REPS); do printf ' | %9s' "$(group "${tps[$s,$r]}")"; done
    printf ' | %9s\n' "$(group "$(best $s)")"
done
printf ' %s bids accepted, every one recorded; %s races lost and bid again (HM012);\n' \
    "$(group "$bids")" "$(group "$races")"
printf ' %s hot auctions used (each to about $10,000,000,000); check_invariants(): %s violations\n' \
    "$hot_used" "$violations"
echo
printf 'bids, one hot auction, 8 clients: %s bids/s (%s of tpcb-like)\n' "$(group "$h")" "$(ratio "$h" "$t")"
printf 'bids, 1,000 auctions, 8 clients: %s bids/s (%s of tpcb-like); with handle_market.outbox_notify = off: %s bids/s (%s)\n' \
    "$(group "$w")" "$(ratio "$w" "$t")" "$(group "$wq")" "$(ratio "$wq" "$t")"

q -d postgres -c "DROP DATABASE $DB" -c "DROP DATABASE $TPCB"
