#!/usr/bin/env bash
# test/ledger_fault.sh: the ledger and the sale survive a backend killed
# under load, and a retry after a lost COMMIT acknowledgement is idempotent.
#
# Run inside a throw-away cluster:  bash scripts/cluster.sh bash test/ledger_fault.sh
# (pg_virtualenv sets PGHOST/PGPORT/PGUSER/PGPASSWORD, PGVERSION and
# PG_CLUSTER_CONF_ROOT; its cluster is called "regress".)
#
# Makes 50 accounts with deposits (accounts 41-50 get only $3, so some buys
# fail with HM005), 1,500 handles on the premium list at $1-$4, and one
# registered handle per account, 40 of them listed by their owners at $2-$3.
# A pgbench load (4 clients) then mixes deposits (fresh idempotency keys) and
# buys of a random pool handle by a random buyer, through a test function
# lf_step() that catches only the refusals a buy may legitimately meet
# (HM005 funds, HM007 transfer lock, HM008 sold / not for sale / own handle,
# HM009 price above max) and writes every outcome to lf_log in the same
# transaction, as an application would.  Once 500 buys have committed, one
# pgbench backend is killed with SIGKILL: the postmaster kills every backend and
# runs crash recovery.  After the restart it checks:
#   (a) check_invariants() finds nothing; all entries sum to 0; wallets +
#       fee slots = -(payments slots) = every deposit;
#   (b) an oracle built from the setup's prices and the registry: each
#       wallet holds its deposits, less the prices of the pool handles it now
#       owns, plus the proceeds (price less 10% commission) of its sold
#       listing; the fee slots hold the premium prices and commissions of the
#       handles sold; the payments slots the negated deposits;
#   (c) lf_log and the ledger agree both ways (committed together or not at
#       all), every pool handle was sold at most once, and each sale has one
#       'bought' (and for a listing one 'sold') outbox row;
#   (d) replaying every committed load call with its key after the crash
#       (a lost COMMIT ack across the crash) returns the same transfer ids
#       and changes nothing; a second pgbench run after recovery ends cleanly;
#   (e) a deposit and a buy committed in an explicit transaction, retried from
#       a new connection with the same key and parameters, return the same
#       transfer id and move no money; the same key with other parameters is
#       HM006; another buyer of the sold handle gets HM008 and pays nothing,
#       also under the first buyer's key (keys are scoped to the buyer).
# Prints "ledger_fault: N passed, M failed" and exits non-zero on failure.
set -uo pipefail
# the calendar is simulated (history in the past; superuser only)
export PGOPTIONS="${PGOPTIONS:-} -c handle_market.simulated_time=on"

db=hm_ledger_fault
accounts=50
premium=1500          # pool handles 1..1500: premium list
listed=40             # pool handles 1501..1540: listings of accounts 1..40
pool=$((premium + accounts))   # 1541..1550: registered, not listed (HM008)
load_seconds=10

tmp=$(mktemp -d)

. "$(dirname "$0")/lib.sh"

finish() {
    [ -n "${bench_pid:-}" ] && kill "$bench_pid" 2>/dev/null
    rm -rf "$tmp"
    report ledger_fault
    exit $?
}

# --- setup ------------------------------------------------------------------
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE template0" || { check "create database" ok failed; finish; }
if ! psql_db -o /dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION handle_market;
SELECT count(handle_market.upsert_account(i)) FROM generate_series(1, $accounts) i;
-- accounts 41..50 are poor: \$3, so some of their buys fail with HM005
SELECT count(handle_market.deposit(i, CASE WHEN i <= 40 THEN 20000 ELSE 300 END, 'setup-dep-' || i))
  FROM generate_series(1, $accounts) i;

-- the pool: n, the handle, its price, its seller (NULL: the platform; or the
-- owner of a listing), whether it is for sale
CREATE TABLE lf_pool (n int PRIMARY KEY, handle text NOT NULL, price bigint NOT NULL,
                      seller bigint, for_sale boolean NOT NULL);
INSERT INTO lf_pool
SELECT i, 'lfp_' || lpad(i::text, 4, '0'), 100 + (i % 7) * 50, NULL, true
  FROM generate_series(1, $premium) i;
INSERT INTO lf_pool
SELECT $premium + a, 'lfu_' || lpad(a::text, 3, '0'), 200 + a * 3, a, a <= $listed
  FROM generate_series(1, $accounts) a;
SELECT count(handle_market.set_premium(handle, price)) FROM lf_pool WHERE seller IS NULL;
SELECT count(handle_market.register_handle(seller, handle)) FROM lf_pool WHERE seller IS NOT NULL;
SELECT count(handle_market.list_handle(handle, seller, price)) FROM lf_pool WHERE seller IS NOT NULL AND for_sale;
-- kept apart from the load, for the retry test (e)
SELECT handle_market.set_premium('lf_retry', 400);

-- what the application writes in the transaction of each call
CREATE SEQUENCE lf_keys;
CREATE TABLE lf_log (id bigserial PRIMARY KEY, kind text NOT NULL, account bigint NOT NULL,
                     handle text, amount bigint NOT NULL, idempotency_key text NOT NULL,
                     transfer_id bigint, sqlstate text);

-- one step of the load: r <= 3 deposits \$5, otherwise buys pool handle n
-- (r = 10: offering a cent less than the price, so HM009 when it is for sale)
CREATE FUNCTION lf_step(buyer bigint, n int, r int) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE
    k text := 'lf-' || nextval('lf_keys');
    p lf_pool;
    offer bigint;
    t bigint;
BEGIN
    IF r <= 3 THEN
        t := handle_market.deposit(buyer, 500, k);
        INSERT INTO lf_log (kind, account, amount, idempotency_key, transfer_id)
        VALUES ('deposit', buyer, 500, k, t);
        RETURN;
    END IF;
    SELECT * INTO STRICT p FROM lf_pool WHERE lf_pool.n = lf_step.n;
    offer := CASE WHEN r = 10 THEN p.price - 1 ELSE p.price END;
    BEGIN
        t := handle_market.buy(p.handle, buyer, offer, k);
        INSERT INTO lf_log (kind, account, handle, amount, idempotency_key, transfer_id)
        VALUES ('buy', buyer, p.handle, offer, k, t);
    EXCEPTION WHEN SQLSTATE 'HM005' OR SQLSTATE 'HM007' OR SQLSTATE 'HM008' OR SQLSTATE 'HM009' THEN
        INSERT INTO lf_log (kind, account, handle, amount, idempotency_key, sqlstate)
        VALUES ('buy', buyer, p.handle, offer, k, SQLSTATE);
    END;
END \$\$;
SQL
then
    check "setup" ok failed
    finish
fi

initial_deposits=$((40 * 20000 + (accounts - 40) * 300))
check "setup: wallets hold every deposit" "$initial_deposits" \
    "$(value "SELECT sum(balance) FROM handle_market.ledger_accounts WHERE kind = 'wallet'")"
check "setup: payments slots hold the deposits negated" "-$initial_deposits" \
    "$(value "SELECT sum(amount) FROM handle_market.entries WHERE ledger_account_id BETWEEN 101 AND 116")"
check "setup: all entries sum to 0" 0 "$(value "SELECT coalesce(sum(amount), 0) FROM handle_market.entries")"
check "setup: no invariant broken" 0 "$(value "SELECT count(*) FROM handle_market.check_invariants()")"
check "setup: the pool is for sale at its prices" "$((premium + listed))" \
    "$(value "SELECT count(*) FROM lf_pool WHERE for_sale AND handle_market.price(handle) = price")"

# --- load, and kill a backend ---------------------------------------------------
cat >"$tmp/load.sql" <<SQL
\set buyer random(1, $accounts)
\set n random(1, $pool)
\set r random(1, 10)
SELECT lf_step(:buyer, :n, :r);
SQL
log=$(server_log)
log_lines=$(wc -l <"$log" 2>/dev/null || echo 0)

pgbench -n -c 4 -j 2 -T "$load_seconds" -f "$tmp/load.sql" "$db" >"$tmp/bench1.log" 2>&1 &
bench_pid=$!
# let the load run until it has sold a good part of the pool (4 s at most),
# so that the crash comes while buys still succeed
bought=0
for _ in $(seq 1 40); do
    sleep 0.1
    bought=$(value "SELECT count(*) FROM lf_log WHERE kind = 'buy' AND sqlstate IS NULL")
    [ "${bought:-0}" -ge 500 ] && break
done
victim=$(value "SELECT pid FROM pg_stat_activity WHERE datname = '$db' AND application_name = 'pgbench'
                 ORDER BY state = 'active' DESC, random() LIMIT 1")
if ! [[ "$victim" =~ ^[0-9]+$ ]]; then
    cat "$tmp/bench1.log"
    check "a pgbench backend to kill" "a pid" "$victim"
    finish
fi
echo "# killing pgbench backend $victim with SIGKILL ($(value "SELECT count(*) FROM lf_log") steps committed)"
check "SIGKILL the backend" 0 "$(kill -9 "$victim"; echo $?)"
wait "$bench_pid"
bench_rc=$?
bench_pid=
echo "# pgbench said: $(grep -v '^ *$' "$tmp/bench1.log" | tail -n 6 | tr '\n' ' ' | tail -c 400)"
check "pgbench was cut off by the crash (exit status not 0)" yes \
    "$([ "$bench_rc" -ne 0 ] && echo yes || echo "no ($bench_rc)")"
check "no client of the load met an ERROR before the crash" 0 "$(grep -c 'ERROR:' "$tmp/bench1.log")"
wait_ready || { check "server ready after the crash" ok failed; finish; }
# the postmaster may still be tearing down when the clients see the crash
for _ in $(seq 1 100); do
    value "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.1
done
wait_ready || { check "server ready after the crash" ok failed; finish; }
if [ -r "$log" ]; then
    new_log=$(tail -n +"$((log_lines + 1))" "$log")
    check "the postmaster saw the backend killed by signal 9" yes \
        "$(grep -q "process (PID $victim) was terminated by signal 9" <<<"$new_log" && echo yes || echo no)"
    check "the restart ran crash recovery" yes \
        "$(grep -q 'all server processes terminated; reinitializing' <<<"$new_log" \
           && grep -q 'not properly shut down; automatic recovery in progress\|database system was interrupted' <<<"$new_log" \
           && echo yes || echo no)"
else
    log_not_read 2
fi
echo "# after recovery: $(value "SELECT count(*) FILTER (WHERE kind = 'deposit') || ' deposits, '
                                    || count(*) FILTER (WHERE kind = 'buy' AND sqlstate IS NULL) || ' buys, '
                                    || count(*) FILTER (WHERE sqlstate IS NOT NULL) || ' refused buys ('
                                    || coalesce(string_agg(DISTINCT sqlstate, ' '), '') || ') committed'
                               FROM lf_log")"
check "the load committed deposits and buys before the crash" t \
    "$(value "SELECT count(*) FILTER (WHERE kind = 'deposit') > 0
                 AND count(*) FILTER (WHERE kind = 'buy' AND sqlstate IS NULL) > 0 FROM lf_log")"

# --- (a) invariants -------------------------------------------------------------
invariants() {
    check "$1: check_invariants() finds nothing" 0 "$(value "SELECT count(*) FROM handle_market.check_invariants()")"
    check "$1: all entries sum to 0" 0 "$(value "SELECT coalesce(sum(amount), 0) FROM handle_market.entries")"
    check "$1: wallets + fee slots = -(payments slots)" t \
        "$(value "SELECT (SELECT sum(balance) FROM handle_market.ledger_accounts WHERE kind = 'wallet')
                       + (SELECT coalesce(sum(amount), 0) FROM handle_market.entries WHERE ledger_account_id BETWEEN 1 AND 16)
                       = -(SELECT sum(amount) FROM handle_market.entries WHERE ledger_account_id BETWEEN 101 AND 116)")"
    check "$1: every entry is on a wallet or a platform slot, no wallet negative" 0 \
        "$(value "SELECT count(*) FROM handle_market.entries e
                   WHERE NOT (e.ledger_account_id BETWEEN 1 AND 16 OR e.ledger_account_id BETWEEN 101 AND 116
                              OR e.ledger_account_id IN (SELECT ledger_account_id FROM handle_market.ledger_accounts
                                                          WHERE kind = 'wallet' AND balance >= 0))")"
}
invariants "after the crash"

# --- (b) the oracle ---------------------------------------------------------------
# Who bought what: a pool handle whose owner is not its seller (the platform
# has none) was bought by its owner, once (the transfer lock keeps it from
# being listed again).
sold="SELECT p.*, h.owner_id AS buyer, CASE WHEN p.seller IS NULL THEN p.price ELSE p.price * 1000 / 10000 END AS fee
        FROM lf_pool p JOIN handle_market.handles h ON h.handle OPERATOR(handle_market.=) p.handle::handle_market.handle
       WHERE h.owner_id IS DISTINCT FROM p.seller"
deposits="SELECT account_id, sum(amount) AS amount FROM (
              SELECT i AS account_id, CASE WHEN i <= 40 THEN 20000 ELSE 300 END AS amount
                FROM generate_series(1, $accounts) i
              UNION ALL SELECT account, amount FROM lf_log WHERE kind = 'deposit') d GROUP BY account_id"
oracle() {
    check "$1: every wallet = deposits - pool handles bought + proceeds of its listing" 0 \
        "$(value "WITH s AS ($sold), d AS ($deposits)
                  SELECT count(*) FROM handle_market.ledger_accounts l JOIN d ON d.account_id = l.account_id
                   WHERE l.balance <> d.amount
                                    - coalesce((SELECT sum(s.price) FROM s WHERE s.buyer = l.account_id), 0)
                                    + coalesce((SELECT sum(s.price - s.fee) FROM s WHERE s.seller = l.account_id), 0)")"
    check "$1: one wallet per account, nothing held" "$accounts 0" \
        "$(value "SELECT count(*) || ' ' || sum(held) FROM handle_market.ledger_accounts WHERE kind = 'wallet'")"
    check "$1: fee slots = premium prices + commissions of the handles sold" \
        "$(value "WITH s AS ($sold) SELECT coalesce(sum(fee), 0) FROM s")" \
        "$(value "SELECT coalesce(sum(amount), 0) FROM handle_market.entries WHERE ledger_account_id BETWEEN 1 AND 16")"
    check "$1: payments slots = -(every deposit)" \
        "$(value "WITH d AS ($deposits) SELECT -sum(amount) FROM d")" \
        "$(value "SELECT sum(amount) FROM handle_market.entries WHERE ledger_account_id BETWEEN 101 AND 116")"
}
oracle "after the crash"

# --- (c) the application's log and the ledger agree -------------------------------
agree() {
    check "$1: each logged deposit or buy has its transfer (key, kind, id)" 0 \
        "$(value "SELECT count(*) FROM lf_log g
                   WHERE g.sqlstate IS NULL
                     AND NOT EXISTS (SELECT FROM handle_market.transfers t
                                      WHERE t.transfer_id = g.transfer_id AND t.idempotency_key = g.idempotency_key
                                        AND t.kind = CASE g.kind WHEN 'deposit' THEN 'deposit' ELSE 'purchase' END)")"
    check "$1: each load transfer is logged; no refused call left a transfer" 0 \
        "$(value "SELECT count(*) FROM handle_market.transfers t
                   WHERE t.idempotency_key LIKE 'lf-%'
                     AND NOT EXISTS (SELECT FROM lf_log g WHERE g.idempotency_key = t.idempotency_key
                                                            AND g.sqlstate IS NULL)")"
    check "$1: each logged deposit moved its amount into its account's wallet" 0 \
        "$(value "SELECT count(*) FROM lf_log g
                   WHERE g.kind = 'deposit'
                     AND (SELECT array_agg(e.amount ORDER BY e.amount) FROM handle_market.entries e
                           WHERE e.transfer_id = g.transfer_id
                             AND e.ledger_account_id IN ((SELECT ledger_account_id FROM handle_market.ledger_accounts
                                                           WHERE account_id = g.account),
                                                          101 + g.transfer_id % 16))
                         IS DISTINCT FROM ARRAY[-g.amount, g.amount]")"
    check "$1: each logged buy: the buyer owns the handle and paid its price" 0 \
        "$(value "WITH s AS ($sold)
                  SELECT count(*) FROM lf_log g
                   WHERE g.kind = 'buy' AND g.sqlstate IS NULL
                     AND NOT EXISTS (SELECT FROM s WHERE s.handle = g.handle AND s.buyer = g.account
                                                     AND s.price = g.amount)")"
    check "$1: each pool handle sold has exactly one logged buy and one purchase transfer" 0 \
        "$(value "WITH s AS ($sold)
                  SELECT count(*) FROM s
                   WHERE (SELECT count(*) FROM lf_log g WHERE g.handle = s.handle AND g.sqlstate IS NULL) <> 1
                      OR (SELECT count(*) FROM handle_market.transfers t
                           WHERE t.handle OPERATOR(handle_market.=) s.handle::handle_market.handle AND t.kind = 'purchase') <> 1")"
    check "$1: no pool handle bought twice" 0 \
        "$(value "SELECT count(*) FROM (SELECT handle FROM lf_log WHERE kind = 'buy' AND sqlstate IS NULL
                                        GROUP BY handle HAVING count(*) > 1) x")"
    check "$1: nothing bought that was not for sale" 0 \
        "$(value "WITH s AS ($sold) SELECT count(*) FROM s WHERE NOT s.for_sale")"
    check "$1: 'bought' notices = purchases; 'sold' notices = listings sold" \
        "$(value "SELECT count(*) FROM handle_market.transfers WHERE kind = 'purchase' AND idempotency_key LIKE 'lf-%'")
$(value "WITH s AS ($sold) SELECT count(*) FROM s WHERE seller IS NOT NULL")" \
        "$(value "SELECT count(*) FROM handle_market.outbox WHERE kind = 'bought'")
$(value "SELECT count(*) FROM handle_market.outbox WHERE kind = 'sold'")"
}
agree "after the crash"

# --- (d) replay what committed before the crash; then more load -------------------
entries_before=$(value "SELECT count(*) || ' ' || sum(amount) || ' ' || (SELECT sum(balance) FROM handle_market.ledger_accounts)
                         FROM handle_market.entries")
transfers_before=$(value "SELECT count(*) FROM handle_market.transfers")
check "replaying every committed load call (lost COMMIT ack) returns its transfer id" "0 0" \
    "$(value "SELECT count(*) FILTER (WHERE CASE WHEN kind = 'deposit'
                                             THEN handle_market.deposit(account, amount, idempotency_key) <> transfer_id END)
                  || ' ' ||
                  count(*) FILTER (WHERE CASE WHEN kind = 'buy'
                                          THEN handle_market.buy(handle, account, amount, idempotency_key) <> transfer_id END)
                FROM lf_log WHERE sqlstate IS NULL")"
check "the replay wrote no entry and no transfer" "$entries_before $transfers_before" \
    "$(value "SELECT count(*) || ' ' || sum(amount) || ' ' || (SELECT sum(balance) FROM handle_market.ledger_accounts)
                FROM handle_market.entries") $(value "SELECT count(*) FROM handle_market.transfers")"

pgbench -n -c 4 -j 2 -T 3 -f "$tmp/load.sql" "$db" >"$tmp/bench2.log" 2>&1
bench_rc=$?
check "a second load after recovery ends cleanly" 0 "$bench_rc"
[ "$bench_rc" -ne 0 ] && tail -n 20 "$tmp/bench2.log"
invariants "after the second load"
oracle "after the second load"
agree "after the second load"

# --- (e) a retry after a lost COMMIT ack --------------------------------------------
books="SELECT (SELECT count(*) || ' ' || sum(amount) FROM handle_market.entries) || ' '
              || (SELECT count(*) FROM handle_market.transfers) || ' '
              || (SELECT string_agg(account_id || ':' || balance, ',' ORDER BY account_id)
                    FROM handle_market.ledger_accounts WHERE kind = 'wallet')"
b3=$(value "SELECT handle_market.balance(3)")
dep1=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" \
           -c "BEGIN" -c "SELECT handle_market.deposit(3, 777, 'retry-dep')" -c "COMMIT" 2>&1)
check "deposit in a transaction, committed" yes "$([[ "$dep1" =~ ^[0-9]+$ ]] && echo yes || echo "no ($dep1)")"
check "the deposit arrived" "$((b3 + 777))" "$(value "SELECT handle_market.balance(3)")"
before=$(value "$books")
check "the deposit retried from a new connection returns the same transfer id" "$dep1" \
    "$(value "SELECT handle_market.deposit(3, 777, 'retry-dep')")"
check "... and in a transaction of its own too" "$dep1" \
    "$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" \
           -c "BEGIN" -c "SELECT handle_market.deposit(3, 777, 'retry-dep')" -c "COMMIT" 2>&1)"
check "the retried deposit moved no money" "$before" "$(value "$books")"
check "the same key for another amount: HM006" HM006 \
    "$(psql -X -q -At -d "$db" -v VERBOSITY=sqlstate -c "SELECT handle_market.deposit(3, 778, 'retry-dep')" 2>&1 \
       | grep -o 'HM[0-9]*' | head -1)"

b2=$(value "SELECT handle_market.balance(2)")
fees=$(value "SELECT coalesce(sum(amount), 0) FROM handle_market.entries WHERE ledger_account_id BETWEEN 1 AND 16")
buy1=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" \
           -c "BEGIN" -c "SELECT handle_market.buy('lf_retry', 2, 400, 'retry-buy')" -c "COMMIT" 2>&1)
check "buy in a transaction, committed" yes "$([[ "$buy1" =~ ^[0-9]+$ ]] && echo yes || echo "no ($buy1)")"
check "the buyer paid 400 and owns the handle" "$((b2 - 400)) 2" \
    "$(value "SELECT handle_market.balance(2) || ' ' || owner_id FROM handle_market.handles WHERE handle OPERATOR(handle_market.=) 'lf_retry'")"
check "the platform's fee slots got 400" "$((fees + 400))" \
    "$(value "SELECT sum(amount) FROM handle_market.entries WHERE ledger_account_id BETWEEN 1 AND 16")"
before=$(value "$books")
events=$(value "SELECT count(*) FROM handle_market.handle_events WHERE handle OPERATOR(handle_market.=) 'lf_retry'")
check "the buy retried from a new connection returns the same transfer id" "$buy1" \
    "$(value "SELECT handle_market.buy('lf_retry', 2, 400, 'retry-buy')")"
check "... and in a transaction of its own too" "$buy1" \
    "$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" \
           -c "BEGIN" -c "SELECT handle_market.buy('lf_retry', 2, 400, 'retry-buy')" -c "COMMIT" 2>&1)"
check "the retried buy moved no money and no handle" "$before $events 2" \
    "$(value "$books") $(value "SELECT count(*) FROM handle_market.handle_events WHERE handle OPERATOR(handle_market.=) 'lf_retry'") $(value "SELECT owner_id FROM handle_market.handles WHERE handle OPERATOR(handle_market.=) 'lf_retry'")"
check "the same key for another max price: HM006" HM006 \
    "$(psql -X -q -At -d "$db" -v VERBOSITY=sqlstate -c "SELECT handle_market.buy('lf_retry', 2, 401, 'retry-buy')" 2>&1 \
       | grep -o 'HM[0-9]*' | head -1)"
# keys are scoped to the buyer: buyer 4's 'retry-buy' is its own key, so its
# call is a new purchase of a sold handle
check "another buyer with the same key: not HM006 but HM008, and pays nothing" "HM008 $before" \
    "$(psql -X -q -At -d "$db" -v VERBOSITY=sqlstate -c "SELECT handle_market.buy('lf_retry', 4, 400, 'retry-buy')" 2>&1 \
       | grep -o 'HM[0-9]*' | head -1) $(value "$books")"
check "another buyer with a new key: HM008, and pays nothing" "HM008 $before" \
    "$(psql -X -q -At -d "$db" -v VERBOSITY=sqlstate -c "SELECT handle_market.buy('lf_retry', 4, 400, 'retry-buy-4')" 2>&1 \
       | grep -o 'HM[0-9]*' | head -1) $(value "$books")"
invariants "at the end"

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
finish
