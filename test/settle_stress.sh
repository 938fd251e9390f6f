#!/usr/bin/env bash
# test/settle_stress.sh: settlement under load, counting deadlocks (40P01).
# Not part of `make test`; run inside a throw-away cluster:
#   bash scripts/cluster.sh bash test/settle_stress.sh
#
#   DURATION=s   seconds of load (default 60)
#   CLIENTS=n    pgbench clients (default 8)
#   ACCOUNTS=n   accounts everyone trades among (default 12: few, so that
#                every sale's wallets overlap another's)
#
# pgbench runs, on overlapping accounts, each market call in a transaction
# of its own: bid() on a random open auction, start_auction() of a fresh
# handle, make_offer() on an auctioned handle (its settlement voids it),
# buy() of a freshly listed handle, transfer_handle() of a fresh one and
# accept_offer() of a fresh offer.  Calls run at now(); auctions end a
# minute later and a bid moves the end an hour on, so a loop of
# CALL settle_auctions(now() + 2 hours, 20) settles everything with bids,
# up to 20 sales a batch.  Business refusals (HM0xx, e.g. a bid that lost
# its race, an auction just settled) are caught and tallied; 40P01 and
# 40001 reach pgbench, which counts them as failures and goes on.  The
# result: pgbench's failure counts, the settle loop's failed calls, the
# "deadlock detected" lines in the server log and, for each deadlock, the
# calls in its cycle.  Before settlement batches locked all their wallets
# at once, 60 s here gave some 20 deadlocks, each with settle_auctions.
set -euo pipefail

DURATION=${DURATION:-60}
CLIENTS=${CLIENTS:-8}
ACCOUNTS=${ACCOUNTS:-12}
DB=hm_settle_stress
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
export PGOPTIONS='-c handle_market.simulated_time=on -c client_min_messages=warning'

q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
q -d $DB -v accounts="$ACCOUNTS" >/dev/null <<'SQL'
CREATE EXTENSION handle_market;
CREATE SCHEMA stress;
CREATE SEQUENCE stress.n;
CREATE UNLOGGED TABLE stress.outcome (kind text, result text);
SELECT count(handle_market.upsert_account(a)) FROM generate_series(1, :accounts) a;
SELECT count(handle_market.deposit(a, 1000000000000, 'stress-dep-' || a))
  FROM generate_series(1, :accounts) a;
-- a fresh handle of owner's, listed or not (its own transaction): st00000042
CREATE FUNCTION stress.name(n bigint) RETURNS text LANGUAGE sql
    RETURN 'st' || lpad(n::text, 8, '0');
CREATE FUNCTION stress.fresh(p_owner bigint, p_list boolean) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    n bigint := nextval('stress.n');
BEGIN
    PERFORM handle_market.register_handle(p_owner, stress.name(n));
    IF p_list THEN
        PERFORM handle_market.list_handle(stress.name(n), p_owner, 500);
    END IF;
    RETURN n;
END $$;
CREATE FUNCTION stress.offer(n bigint, p_buyer bigint) RETURNS bigint LANGUAGE sql
    RETURN handle_market.make_offer(stress.name(n), p_buyer, 300, now() + interval '30 days',
                                    'stress-' || nextval('stress.n'));
-- One market call, in its own transaction; a business refusal (HM0xx, or
-- 22004 for no open auction to bid on) is not what this test is about.
CREATE FUNCTION stress.try(p_kind text, n bigint, a bigint, b bigint) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    CASE p_kind
    WHEN 'start' THEN
        PERFORM handle_market.start_auction(stress.name(n), a, 100, now() + interval '1 minute');
    WHEN 'bid' THEN
        SELECT handle INTO h FROM handle_market.auctions
         WHERE state = 'open' ORDER BY random() LIMIT 1;
        PERFORM handle_market.bid(h, a, (SELECT handle_market.minimum_bid(top_cents, reserve_cents)
                                           FROM handle_market.auctions
                                          WHERE handle = h::handle_market.handle AND state = 'open'),
                                  'stress-' || nextval('stress.n'));
    WHEN 'offer_auctioned' THEN
        SELECT handle INTO h FROM handle_market.auctions
         WHERE state = 'open' ORDER BY random() LIMIT 1;
        PERFORM handle_market.make_offer(h, a, 100, now() + interval '30 days',
                                         'stress-' || nextval('stress.n'));
    WHEN 'buy' THEN
        PERFORM handle_market.buy(stress.name(n), a, 500, 'stress-' || nextval('stress.n'));
    WHEN 'transfer' THEN
        PERFORM handle_market.transfer_handle(stress.name(n), a, b, 'stress-' || nextval('stress.n'));
    WHEN 'accept' THEN
        PERFORM handle_market.accept_offer(n, b);
    END CASE;
    INSERT INTO stress.outcome VALUES (p_kind, 'ok');
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    IF SQLSTATE IN ('40P01', '40001') OR SQLSTATE NOT LIKE 'HM%' AND SQLSTATE <> '22004' THEN
        RAISE;
    END IF;
    INSERT INTO stress.outcome VALUES (p_kind, SQLSTATE);
    RETURN SQLSTATE;
END $$;
SQL
# a few auctions to bid on from the start
q -d $DB -c "SELECT stress.try('start', stress.fresh(1 + g % $ACCOUNTS, false), 1 + g % $ACCOUNTS, 0)
               FROM generate_series(1, 50) g" >/dev/null

# two distinct accounts a and b; each SELECT is its own transaction
pick='\set a random(1, :accounts)
\set d random(1, :accounts - 1)
\set b 1 + (:a - 1 + :d) % :accounts'
printf '%s\n' "$pick" "SELECT stress.try('bid', 0, :a, 0);" >"$work/bid.sql"
printf '%s\n' "$pick" "SELECT stress.fresh(:a, false) AS n \\gset" \
    "SELECT stress.try('start', :n, :a, 0);" >"$work/start.sql"
printf '%s\n' "$pick" "SELECT stress.try('offer_auctioned', 0, :a, 0);" >"$work/offer.sql"
printf '%s\n' "$pick" "SELECT stress.fresh(:b, true) AS n \\gset" \
    "SELECT stress.try('buy', :n, :a, :b);" >"$work/buy.sql"
printf '%s\n' "$pick" "SELECT stress.fresh(:a, false) AS n \\gset" \
    "SELECT stress.try('transfer', :n, :a, :b);" >"$work/transfer.sql"
printf '%s\n' "$pick" "SELECT stress.fresh(:b, false) AS n \\gset" "SELECT stress.offer(:n, :a) AS o \\gset" \
    "SELECT stress.try('accept', :o, :a, :b);" >"$work/accept.sql"

# the server log, to cross-check the victims counted below (LOGFILE=...)
log=${LOGFILE:-}
if [ -z "$log" ]; then
    f=$(q -d $DB -c "SELECT pg_current_logfile()")
    if [ -n "$f" ]; then log="$(q -d $DB -c 'SHOW data_directory')/$f"; else log="$PGHOST/log"; fi
fi
before=$(grep -c 'deadlock detected' "$log" 2>/dev/null || true)

end=$((SECONDS + DURATION))
settles=0; settle_fail=0; settle_deadlock=0
(
    while [ $SECONDS -lt $end ]; do
        if out=$(psql -X -q -d $DB -c "CALL handle_market.settle_auctions(now() + interval '2 hours', 20)" 2>&1); then
            echo ok
        elif echo "$out" | grep -q 'deadlock detected'; then
            echo deadlock
        else
            echo "fail: $out"
        fi
        sleep 0.2
    done
) >"$work/settle.out" &
settle_pid=$!

pgbench -n -c "$CLIENTS" -j 2 -T "$DURATION" --failures-detailed -D accounts="$ACCOUNTS" \
    -f "$work/bid.sql@8" -f "$work/start.sql@1" -f "$work/offer.sql@1" \
    -f "$work/buy.sql@3" -f "$work/transfer.sql@2" -f "$work/accept.sql@3" \
    $DB >"$work/pgbench.out" 2>&1 || { cat "$work/pgbench.out" >&2; exit 1; }
wait $settle_pid

settles=$(grep -c '^' "$work/settle.out" || true)
settle_deadlock=$(grep -c '^deadlock' "$work/settle.out" || true)
settle_fail=$(grep -c '^fail' "$work/settle.out" || true)
grep '^fail' "$work/settle.out" | sort | uniq -c | head -5 >&2 || true
after=$(grep -c 'deadlock detected' "$log" 2>/dev/null || true)

grep -E '^(number of (transactions actually processed|failed transactions|deadlock failures|serialization failures)|tps)' \
    "$work/pgbench.out"
echo "settle_auctions calls: $settles, of which 40P01: $settle_deadlock, other failures: $settle_fail"
q -d $DB -F ' ' -c "SELECT 'auctions settled: ' || count(*) FILTER (WHERE state = 'settled')
                          || ', failed: ' || count(*) FILTER (WHERE state = 'failed')
                          || ', still open: ' || count(*) FILTER (WHERE state = 'open')
                     FROM handle_market.auctions"
q -d $DB -F ' ' -c "SELECT kind, result, count(*) FROM stress.outcome GROUP BY 1, 2 ORDER BY 1, 3 DESC"
echo "check_invariants() violations: $(q -d $DB -c 'SELECT count(*) FROM handle_market.check_invariants()')"
echo "40P01 victims: $(( $(awk '/^number of deadlock failures:/ { print $5 }' "$work/pgbench.out") + settle_deadlock ))" \
     "(pgbench's deadlock failures + the settle loop's)"
if [ -r "$log" ]; then
    echo "\"deadlock detected\" in the server log: $((after - before))"
else
    echo "(no server log at $log: set LOGFILE to cross-check)"
fi
# each deadlock's parties (the calls of the processes in its cycle)
if [ -r "$log" ] && [ "$after" -gt "$before" ]; then
    echo "deadlocks by parties:"
    awk 'function kind(st) {
             if (st ~ /settle_auctions/) return "settle_auctions";
             if (match(st, /try\(.[a-z_]+/)) return substr(st, RSTART + 5, RLENGTH - 5);
             if (st ~ /stress\.offer/) return "make_offer";
             if (st ~ /stress\.fresh/) return "register/list";
             return st }
         /ERROR: +deadlock detected/ { if (p != "") print p; p = ""; on = 1; next }
         on && /Process [0-9]+: / { sub(/.*Process [0-9]+: /, ""); p = (p == "" ? "" : p " + ") kind($0); next }
         on && !/^\t/ && !/DETAIL/ { if (p != "") print p; p = ""; on = 0 }
         END { if (p != "") print p }' "$log" | sort | uniq -c | sed 's/^/  /'
fi
