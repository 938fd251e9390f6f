#!/usr/bin/env bash
# bench/touch_bench.sh: touch() on the hot path (the account was active within
# the policy's touch resolution, one hour, so touch only reads) under pgbench
# with 8 clients, against a `SELECT 1` pgbench script in the same run.  Each
# script runs twice, interleaved (SELECT 1, touch, SELECT 1, touch); the
# better run of each counts.  Runs inside scripts/cluster.sh (PGHOST etc. set);
# called by bench/run.sh (make bench) after bench/release_bench.sql.
set -euo pipefail

N=${TOUCH_ACCOUNTS:-1000000}
SECONDS_PER_RUN=${TOUCH_SECONDS:-15}
DB=hm_touch
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d $DB >/dev/null <<'EOF'
SET client_min_messages = warning;
CREATE EXTENSION handle_market;
CREATE EXTENSION pg_prewarm;
EOF

# Every account was last active at the same moment, a minute ago: fresh.
active_at=$(psql -X -A -t -d $DB -c "SELECT now() - interval '1 minute'")
t0=$(date +%s.%N)
for p in 0 1; do
    psql -X -q -v ON_ERROR_STOP=1 -d $DB -c "SELECT count(handle_market.upsert_account(g, active_at => '$active_at'))
        FROM generate_series($p * $N / 2 + 1, ($p + 1) * $N / 2) g" >/dev/null &
done
wait
load_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
psql -X -q -v ON_ERROR_STOP=1 -d $DB >/dev/null <<EOF
DO \$\$
BEGIN
    IF (SELECT count(*) FROM handle_market.accounts) <> $N THEN
        RAISE EXCEPTION 'touch bench: the load did not create $N accounts';
    END IF;
END \$\$;
VACUUM (FREEZE, ANALYZE);
SELECT pg_prewarm('handle_market.accounts'), pg_prewarm('handle_market.accounts_pkey'),
       pg_prewarm('handle_market.policy');
EOF

cat >"$work/select1.sql" <<'EOF'
SELECT 1;
EOF
cat >"$work/touch.sql" <<EOF
\set id random(1, $N)
SELECT handle_market.touch(:id);
EOF

declare -A tps
run() {     # run LABEL SCRIPT REP: one pgbench run; its tps into tps[LABEL,REP]
    local out
    out=$(pgbench -n -c 8 -j 2 -T "$SECONDS_PER_RUN" -f "$2" $DB 2>&1) || {
        echo "$out" >&2
        exit 1
    }
    tps[$1,$3]=$(echo "$out" | awk '/^tps = / { print $3; exit }')
    [ -n "${tps[$1,$3]}" ] || { echo "$out" >&2; exit 1; }
}
for rep in 1 2; do
    run select1 "$work/select1.sql" $rep
    run touch "$work/touch.sql" $rep
done

# touch must have only read: every account still has its load-time activity
written=$(psql -X -A -t -d $DB -c \
    "SELECT count(*) FROM handle_market.accounts WHERE last_active_at <> '$active_at'")
psql -X -q -d postgres -c "DROP DATABASE $DB" >/dev/null

best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
group() { printf '%.0f' "$1" | sed -E ':a; s/^([0-9]+)([0-9]{3})/\1,\2/; ta'; }
s1=$(best "${tps[select1,1]}" "${tps[select1,2]}")
tc=$(best "${tps[touch,1]}" "${tps[touch,2]}")

echo
printf 'touch on fresh accounts: pgbench -n -c 8 -j 2 -T %s, %s accounts (loaded in %.0f s, two loaders)\n' \
    "$SECONDS_PER_RUN" "$(group "$N")" "$load_s"
printf ' %-9s | %10s | %10s | %10s\n' script 'run 1 tps' 'run 2 tps' 'better'
printf ' %-9s | %10s | %10s | %10s\n' 'SELECT 1' "$(group "${tps[select1,1]}")" \
    "$(group "${tps[select1,2]}")" "$(group "$s1")"
printf ' %-9s | %10s | %10s | %10s\n' touch "$(group "${tps[touch,1]}")" \
    "$(group "${tps[touch,2]}")" "$(group "$tc")"
printf ' accounts written by the touch runs: %s (expected 0: touch only reads)\n' "$written"
echo
printf 'touch vs SELECT 1 (pgbench, 8 clients): %s (target >= 0.7); %s touch/s\n' \
    "$(awk -v t="$tc" -v s="$s1" 'BEGIN { printf "%.2f", t / s }')" "$(group "$tc")"
