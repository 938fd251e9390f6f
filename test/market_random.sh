#!/usr/bin/env bash
# test/market_random.sh: a seeded random walk through the market (deposits,
# withdrawals, listings, sales, auctions, bids, offers, settlement, holds,
# release runs) by several clients at once, with a reader checking the books
# in one snapshot all along, one backend SIGKILLed in the middle.
#
# Run inside a throw-away cluster:  bash scripts/cluster.sh bash test/market_random.sh
# (pg_virtualenv sets PGHOST/PGPORT/PGUSER/PGPASSWORD, PGVERSION and
# PG_CLUSTER_CONF_ROOT; its cluster is called "regress".)
#
#   SEED=n        the seed (default 20261128; printed).  Each step's choices
#                 come from setseed() over a hash of the seed, the phase,
#                 pgbench's client id and the client's transaction number, so
#                 a client's choices replay; the interleaving of clients
#                 does not (with CLIENTS=1 the walk replays step for step).
#   DURATION=s    seconds of load before the kill (default 15; `make test`);
#                 the second phase runs a third of it (at least 5 s).
#   CLIENTS=n     pgbench clients (default 4).
#   TICK=interval simulated time per step (default '15 minutes').
#   KEEP_DB=1     keep the database at the end, to look into a failure.
#
# Sets up 30 accounts with deposits (26-30 poor, so HM005 happens), 45
# handles registered to them (every third listed), 15 handles on the premium
# list.  Accounts 28-30 stay dormant (they never buy, bid, offer, log in or
# sell), so their handles are noticed, released, restored or sold again.  The load is pgbench running mr_step(seed): one action picked at
# random among deposit, withdraw, list_handle, unlist_handle, buy,
# start_auction, start_platform_auction, bid, cancel_auction, make_offer,
# accept_offer, cancel_offer, settle_batch, touch, a whole release run,
# hold_handle, release_hold, restore_handle and transfer_handle, at a
# simulated time (a sequence: each step is TICK later), so auctions end,
# offers expire, owners go inactive and transfer locks run out during the
# run.  mr_step catches only the business refusals HM005..HM014 and 22023,
# and HM016 from a release run while another client's run is going (logged
# with their SQLSTATE); 40P01 and 40001 are caught, recorded in
# mr_conflicts and fail the test (a lock-order bug); anything else reaches
# pgbench as an ERROR and fails the test.  Each call and its outcome is
# written to mr_log in the step's transaction, as an application would.
#
# During both phases a reader (psql in a loop) checks in single statements
# (one snapshot each): all entries sum to 0; wallet balances + platform slots'
# entries sum to 0; no wallet's available balance is negative; wallets' held
# money = pending holds.  A violation is written to mr_violations.
#
# Checks after the crash, after a second phase, and after settling
# everything far in the future: check_invariants() is empty; the reader saw
# no violation; deposited - withdrawn (mr_log) = wallets + fee slots =
# -(payments slots); mr_log and the ledger agree both ways; every sale pays
# the seller the price less its tier's commission and the fee slot the rest;
# replaying every logged keyed call returns its id and moves nothing; no
# deadlock or serialization failure; no HM006/HM011/HM013 (keys are fresh,
# accounts exist, amounts are small).
# Prints "market_random: N passed, M failed" and exits non-zero on failure.
set -uo pipefail
# the calendar is simulated (history in the past; superuser only)
export PGOPTIONS="${PGOPTIONS:-} -c handle_market.simulated_time=on"

db=hm_market_random
SEED=${SEED:-20261128}
DURATION=${DURATION:-15}
CLIENTS=${CLIENTS:-4}
TICK=${TICK:-15 minutes}
phase2=$((DURATION / 3 > 5 ? DURATION / 3 : 5))
accounts=30
owned=45
premium=15

tmp=$(mktemp -d)

. "$(dirname "$0")/lib.sh"

stop_reader() {
    if [ -n "${reader_pid:-}" ]; then
        touch "$tmp/stop"
        wait "$reader_pid" 2>/dev/null
        reader_pid=
    fi
}

finish() {
    [ -n "${bench_pid:-}" ] && kill "$bench_pid" 2>/dev/null
    stop_reader
    rm -rf "$tmp"
    echo "# seed $SEED (replay: SEED=$SEED DURATION=$DURATION CLIENTS=$CLIENTS TICK='$TICK')"
    report market_random
    exit $?
}

echo "# seed $SEED, $CLIENTS clients, ${DURATION}s + ${phase2}s, a step is $TICK"

# --- setup ------------------------------------------------------------------
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE template0" || { check "create database" ok failed; finish; }
if ! psql_db -o /dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION handle_market;

CREATE TABLE mr_conf (base timestamptz NOT NULL, tick interval NOT NULL,
                      accounts int NOT NULL, handles int NOT NULL);
INSERT INTO mr_conf VALUES ('2030-01-01 00:00+00', '$TICK', $accounts, $owned + $premium);
CREATE SEQUENCE mr_clock;       -- the simulated clock: step n is at base + n * tick
CREATE SEQUENCE mr_keys;        -- idempotency keys, fresh for every call
CREATE SEQUENCE mr_reads;
-- the handles the walk picks from: mrh_* registered, mrp_* on the premium list
CREATE TABLE mr_handles (n int PRIMARY KEY, handle text NOT NULL UNIQUE);
INSERT INTO mr_handles SELECT i, 'mrh_' || lpad(i::text, 3, '0') FROM generate_series(1, $owned) i;
INSERT INTO mr_handles SELECT $owned + i, 'mrp_' || lpad(i::text, 3, '0') FROM generate_series(1, $premium) i;
-- commission by tier (version 1), for the test's own oracle
CREATE TABLE mr_bps (subscription text PRIMARY KEY, bps int NOT NULL);
INSERT INTO mr_bps VALUES ('none', 1000), ('basic', 800), ('premium', 500), ('premium_plus', 300);

-- what the application writes in the transaction of each call: the step, the
-- call's arguments, its result (a transfer or hold id) or the SQLSTATE that
-- refused it
CREATE TABLE mr_log (id bigserial PRIMARY KEY, step bigint NOT NULL, action text NOT NULL,
                     account bigint, other bigint, handle text, amount bigint, ts timestamptz,
                     idempotency_key text, result bigint, sqlstate text,
                     -- which backend, when: the other side of a deadlock is
                     -- the step of the other process running at the time
                     pid int NOT NULL DEFAULT pg_backend_pid(), started_at timestamptz,
                     ended_at timestamptz DEFAULT clock_timestamp());
CREATE TABLE mr_conflicts (id bigserial PRIMARY KEY, step bigint, action text, sqlstate text,
                           message text, detail text, context text,
                           pid int NOT NULL DEFAULT pg_backend_pid(),
                           at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE mr_violations (id bigserial PRIMARY KEY, seen_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                            entries_total numeric, books numeric, min_available bigint, held_diff numeric);

-- the tiers in turn; the last three accounts (dormant) pay nothing, so are
-- not exempt from release
SELECT count(handle_market.upsert_account(i, CASE WHEN i > $accounts - 3 THEN 'none'
                                                  ELSE (ARRAY['none', 'basic', 'premium', 'premium_plus'])[i % 4 + 1] END,
                                          false, (SELECT base FROM mr_conf)))
  FROM generate_series(1, $accounts) i;
INSERT INTO mr_log (step, action, account, amount, idempotency_key, result)
SELECT 0, 'deposit', i, a, 'setup-dep-' || i,
       handle_market.deposit(i, a, 'setup-dep-' || i, (SELECT base FROM mr_conf))
  FROM (SELECT i, CASE WHEN i <= 25 THEN 50000 + i * 10000 ELSE 2000 END AS a
          FROM generate_series(1, $accounts) i) d;
-- handle n belongs to account n; the last 15 to accounts 28 and 29, which
-- stay dormant (see mr_step), so they are released
CREATE FUNCTION mr_first_owner(n int) RETURNS bigint LANGUAGE sql IMMUTABLE
    RETURN CASE WHEN n <= $accounts THEN n ELSE $accounts - 2 + n % 2 END;
SELECT count(handle_market.register_handle(mr_first_owner(n), handle, (SELECT base FROM mr_conf)))
  FROM mr_handles WHERE n <= $owned;
SELECT count(handle_market.list_handle(handle, mr_first_owner(n), 1000 + n * 500, (SELECT base FROM mr_conf)))
  FROM mr_handles WHERE n <= $owned AND n % 3 = 0;
SELECT count(handle_market.set_premium(handle, 2000 + (n - $owned) * 3000))
  FROM mr_handles WHERE n > $owned;

-- Who acts for an owner: the owner, 90% of the time, unless dormant (the
-- last three accounts); else the other account given (HM008, mostly).
CREATE FUNCTION mr_actor(owner bigint, r float8, other bigint) RETURNS bigint LANGUAGE sql IMMUTABLE
    RETURN CASE WHEN r < 0.9 AND owner <= $accounts - 3 THEN owner ELSE other END;

-- The i-th of the rows of a query, i from a random number in [0, 1).
CREATE FUNCTION mr_pick(q text, r float8) RETURNS record LANGUAGE plpgsql AS \$\$
DECLARE
    n bigint;
    x record;
BEGIN
    EXECUTE format('SELECT count(*) FROM (%s) q', q) INTO n;
    -- a row of NULLs when the query has none
    EXECUTE format('SELECT q.* FROM (SELECT) one LEFT JOIN LATERAL (%s OFFSET %s LIMIT 1) q ON true',
                   q, floor(r * n)::bigint) INTO x;
    RETURN x;
END \$\$;

-- One step of the walk.
CREATE FUNCTION mr_step(seed int) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE
    c mr_conf;
    v_step bigint := nextval('mr_clock');
    t timestamptz;
    r_act float8; r_acct float8; r_pick float8; r_amt float8; r_time float8; r_var float8;
    act text;
    acct bigint;
    other bigint;
    h text;
    amt bigint;
    ts timestamptz;
    k text;
    res bigint;
    x record;
    q record;
    v_started timestamptz := clock_timestamp();
    v_state text; v_msg text; v_detail text; v_context text;
BEGIN
    SELECT * INTO c FROM mr_conf;
    t := c.base + v_step * c.tick;
    PERFORM setseed(seed / 2147483648.0);
    r_act := random(); r_acct := random(); r_pick := random();
    r_amt := random(); r_time := random(); r_var := random();
    act := CASE
        WHEN r_act < 0.07 THEN 'deposit'
        WHEN r_act < 0.12 THEN 'withdraw'
        WHEN r_act < 0.20 THEN 'list_handle'
        WHEN r_act < 0.23 THEN 'unlist_handle'
        WHEN r_act < 0.35 THEN 'buy'
        WHEN r_act < 0.41 THEN 'start_auction'
        WHEN r_act < 0.43 THEN 'start_platform_auction'
        WHEN r_act < 0.58 THEN 'bid'
        WHEN r_act < 0.60 THEN 'cancel_auction'
        WHEN r_act < 0.72 THEN 'make_offer'
        WHEN r_act < 0.80 THEN 'accept_offer'
        WHEN r_act < 0.84 THEN 'cancel_offer'
        WHEN r_act < 0.91 THEN 'settle_batch'
        WHEN r_act < 0.93 THEN 'touch'
        WHEN r_act < 0.95 THEN 'release_run'
        WHEN r_act < 0.96 THEN 'hold_handle'
        WHEN r_act < 0.97 THEN 'release_hold'
        WHEN r_act < 0.98 THEN 'restore_handle'
        ELSE 'transfer_handle' END;
    -- the last three accounts never buy, bid, offer or log in: they only
    -- sell what they own, so their handles go dormant and are released
    acct := 1 + floor(r_acct * (c.accounts - 3))::bigint;
    SELECT m.handle INTO h FROM mr_handles m WHERE m.n = 1 + floor(r_pick * c.handles)::int;
    BEGIN
        CASE act
        WHEN 'deposit' THEN
            amt := 1000 + floor(r_amt * 49000)::bigint;
            k := 'mr-' || nextval('mr_keys');
            res := handle_market.deposit(acct, amt, k, t);
        WHEN 'withdraw' THEN
            -- up to 120% of what is available: some are refused (HM005)
            amt := 1 + floor(r_amt * 1.2 * greatest(handle_market.balance(acct), 0))::bigint;
            k := 'mr-' || nextval('mr_keys');
            res := handle_market.withdraw(acct, amt, k, t);
        WHEN 'list_handle' THEN
            x := mr_pick('SELECT handle::text, owner_id FROM handle_market.handles
                           WHERE owner_id IS NOT NULL ORDER BY handle', r_pick);
            h := coalesce(x.handle, h);
            acct := mr_actor(x.owner_id, r_var, acct);
            amt := 500 + floor(r_amt * 60000)::bigint;
            PERFORM handle_market.list_handle(h, acct, amt, t);
        WHEN 'unlist_handle' THEN
            x := mr_pick('SELECT handle::text, owner_id FROM handle_market.handles
                           WHERE list_price_cents IS NOT NULL ORDER BY handle', r_pick);
            h := coalesce(x.handle, h);
            acct := mr_actor(x.owner_id, r_var, acct);
            PERFORM handle_market.unlist_handle(h, acct, t);
        WHEN 'buy' THEN
            -- half the time a listed handle, else any handle of the walk
            IF r_var < 0.5 THEN
                x := mr_pick('SELECT handle::text FROM handle_market.handles
                               WHERE list_price_cents IS NOT NULL ORDER BY handle', r_amt);
                h := coalesce(x.handle, h);
            END IF;
            SELECT * INTO q FROM handle_market.quote(h, acct, t);
            -- the quoted price as the most to pay; a cent less now and then (HM009)
            amt := coalesce(q.price_cents, 100000) - CASE WHEN r_time < 0.1 THEN 1 ELSE 0 END;
            k := 'mr-' || nextval('mr_keys');
            res := handle_market.buy(h, acct, amt, k, t);
        WHEN 'start_auction' THEN
            x := mr_pick('SELECT handle::text, owner_id FROM handle_market.handles
                           WHERE owner_id IS NOT NULL ORDER BY handle', r_pick);
            h := coalesce(x.handle, h);
            acct := mr_actor(x.owner_id, r_var, acct);
            amt := 500 + floor(r_amt * 30000)::bigint;
            ts := t + (1 + floor(r_time * 71)) * interval '1 hour';
            res := handle_market.start_auction(h, acct, amt, ts, t);
        WHEN 'start_platform_auction' THEN
            x := mr_pick('SELECT m.handle FROM mr_handles m
                           LEFT JOIN handle_market.handles hh ON hh.handle OPERATOR(handle_market.=) m.handle::handle_market.handle
                           WHERE hh.owner_id IS NULL ORDER BY m.handle', r_pick);
            h := coalesce(x.handle, h);
            amt := 500 + floor(r_amt * 30000)::bigint;
            ts := t + (1 + floor(r_time * 71)) * interval '1 hour';
            acct := NULL;
            res := handle_market.start_platform_auction(h, amt, ts, t);
        WHEN 'bid' THEN
            x := mr_pick('SELECT handle::text, auction_id, seller_id, top_cents, reserve_cents
                            FROM handle_market.auctions WHERE state = ''open'' ORDER BY auction_id', r_pick);
            h := coalesce(x.handle, h);
            amt := handle_market.minimum_bid(x.top_cents, x.reserve_cents);
            -- the minimum and up to 10% more; a cent below it now and then (HM012)
            amt := CASE WHEN r_var < 0.08 THEN amt - 1
                        ELSE amt + floor(r_amt * 0.1 * coalesce(amt, 1000))::bigint END;
            amt := coalesce(amt, 1000);
            k := 'mr-' || nextval('mr_keys');
            res := handle_market.bid(h, acct, amt, k, t);
        WHEN 'cancel_auction' THEN
            x := mr_pick('SELECT handle::text, seller_id FROM handle_market.auctions
                           WHERE state = ''open'' ORDER BY auction_id', r_pick);
            h := coalesce(x.handle, h);
            acct := mr_actor(x.seller_id, r_var, acct);
            PERFORM handle_market.cancel_auction(h, acct, t);
        WHEN 'make_offer' THEN
            IF r_var < 0.9 THEN
                x := mr_pick('SELECT handle::text FROM handle_market.handles
                               WHERE owner_id IS NOT NULL ORDER BY handle', r_pick);
                h := coalesce(x.handle, h);
            END IF;
            amt := 500 + floor(r_amt * 40000)::bigint;
            ts := t + (1 + floor(r_time * 167)) * interval '1 hour';
            k := 'mr-' || nextval('mr_keys');
            res := handle_market.make_offer(h, acct, amt, ts, k, t);
        WHEN 'accept_offer' THEN
            x := mr_pick('SELECT o.offer_id, o.handle::text, hh.owner_id
                            FROM handle_market.offers o
                            JOIN handle_market.handles hh ON hh.handle OPERATOR(handle_market.=) o.handle
                           WHERE o.state = ''open'' ORDER BY o.offer_id', r_pick);
            h := coalesce(x.handle, h);
            other := coalesce(x.offer_id, 0);
            acct := mr_actor(x.owner_id, r_var, acct);
            res := handle_market.accept_offer(other, acct, t);
        WHEN 'cancel_offer' THEN
            x := mr_pick('SELECT offer_id, handle::text, buyer_id FROM handle_market.offers
                           WHERE state = ''open'' ORDER BY offer_id', r_pick);
            h := coalesce(x.handle, h);
            other := coalesce(x.offer_id, 0);
            acct := CASE WHEN r_var < 0.9 THEN coalesce(x.buyer_id, acct) ELSE acct END;
            PERFORM handle_market.cancel_offer(other, acct, t);
        WHEN 'settle_batch' THEN
            SELECT * INTO q FROM handle_market.settle_batch(t, 50);
            acct := NULL;
            h := NULL;
            amt := q.auctions_done;
            res := q.offers_expired;
        WHEN 'touch' THEN
            -- only the first half of the accounts log in: the others' handles
            -- (those not exempt by subscription) are noticed and released
            h := NULL;
            acct := 1 + floor(r_acct * c.accounts / 2)::bigint;
            PERFORM handle_market.touch(acct, t);
        WHEN 'release_run' THEN
            -- release_dormant()'s steps, in this one transaction
            acct := NULL;
            h := NULL;
            res := handle_market.start_release_run(t, 1000, false);
            LOOP
                SELECT * INTO q FROM handle_market.release_batch(res);
                EXIT WHEN q.done;
            END LOOP;
            SELECT released INTO amt FROM handle_market.finish_release_run(res);
        WHEN 'hold_handle' THEN
            acct := NULL;
            PERFORM handle_market.hold_handle(h, 'mr: a legal hold', t);
        WHEN 'release_hold' THEN
            x := mr_pick('SELECT handle::text FROM handle_market.handles
                           WHERE hold_reason IS NOT NULL ORDER BY handle', r_pick);
            h := coalesce(x.handle, h);
            acct := NULL;
            PERFORM handle_market.release_hold(h, t);
        WHEN 'restore_handle' THEN
            x := mr_pick('SELECT handle::text, previous_owner_id FROM handle_market.handles
                           WHERE state = ''released'' ORDER BY handle', r_pick);
            h := coalesce(x.handle, h);
            acct := CASE WHEN r_var < 0.9 THEN coalesce(x.previous_owner_id, acct) ELSE acct END;
            PERFORM handle_market.restore_handle(h, acct, t);
        WHEN 'transfer_handle' THEN
            x := mr_pick('SELECT handle::text, owner_id FROM handle_market.handles
                           WHERE owner_id IS NOT NULL ORDER BY handle', r_pick);
            h := coalesce(x.handle, h);
            other := acct;
            acct := mr_actor(x.owner_id, r_var, acct);
            k := 'mr-' || nextval('mr_keys');
            res := handle_market.transfer_handle(h, acct, other, k, t);
        END CASE;
        INSERT INTO mr_log (step, action, account, other, handle, amount, ts, idempotency_key, result, started_at)
        VALUES (v_step, act, acct, other, h, amt, ts, k, res, v_started);
    EXCEPTION
        WHEN SQLSTATE 'HM005' OR SQLSTATE 'HM006' OR SQLSTATE 'HM007' OR SQLSTATE 'HM008'
          OR SQLSTATE 'HM009' OR SQLSTATE 'HM010' OR SQLSTATE 'HM011' OR SQLSTATE 'HM012'
          OR SQLSTATE 'HM013' OR SQLSTATE 'HM014' OR SQLSTATE '22023' THEN
            INSERT INTO mr_log (step, action, account, other, handle, amount, ts, idempotency_key, sqlstate, started_at)
            VALUES (v_step, act, acct, other, h, amt, ts, k, SQLSTATE, v_started);
        -- one release run at a time: another client's run is going
        WHEN SQLSTATE 'HM016' THEN
            IF act <> 'release_run' THEN
                RAISE;
            END IF;
            INSERT INTO mr_log (step, action, account, other, handle, amount, ts, idempotency_key, sqlstate, started_at)
            VALUES (v_step, act, acct, other, h, amt, ts, k, SQLSTATE, v_started);
        -- a lock-order bug: counted, reported, and the test fails
        WHEN SQLSTATE '40P01' OR SQLSTATE '40001' THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT,
                                    v_detail = PG_EXCEPTION_DETAIL, v_context = PG_EXCEPTION_CONTEXT;
            INSERT INTO mr_conflicts (step, action, sqlstate, message, detail, context)
            VALUES (v_step, act, v_state, v_msg, v_detail, v_context);
            INSERT INTO mr_log (step, action, account, other, handle, amount, ts, idempotency_key, sqlstate, started_at)
            VALUES (v_step, act, acct, other, h, amt, ts, k, v_state, v_started);
    END;
    RETURN act;
END \$\$;
SQL
then
    check "setup" ok failed
    finish
fi

check "setup: 30 wallets, 45 handles registered, 15 listed, 15 on the premium list" "30 45 15 15" \
    "$(value "SELECT (SELECT count(*) FROM handle_market.ledger_accounts WHERE kind = 'wallet') || ' '
                  || (SELECT count(*) FROM handle_market.handles WHERE owner_id IS NOT NULL) || ' '
                  || (SELECT count(*) FROM handle_market.handles WHERE list_price_cents IS NOT NULL) || ' '
                  || (SELECT count(*) FROM handle_market.premium_handles)")"
check "setup: no invariant broken" 0 "$(value "SELECT count(*) FROM handle_market.check_invariants()")"

# --- the reader: the books in one snapshot, again and again ------------------
# one statement, so one snapshot: entries sum to 0; wallets' balances plus
# the platform slots' entries sum to 0; nobody's available balance is
# negative; wallets' held money is their pending holds
read_books="WITH s AS (
    SELECT (SELECT coalesce(sum(amount), 0) FROM handle_market.entries) AS entries_total,
           (SELECT coalesce(sum(balance), 0) FROM handle_market.ledger_accounts WHERE kind = 'wallet')
           + (SELECT coalesce(sum(e.amount), 0) FROM handle_market.entries e
               WHERE e.ledger_account_id IN (SELECT ledger_account_id FROM handle_market.ledger_accounts
                                              WHERE kind <> 'wallet')) AS books,
           (SELECT min(balance - held) FROM handle_market.ledger_accounts WHERE kind = 'wallet') AS min_available,
           (SELECT coalesce(sum(held), 0) FROM handle_market.ledger_accounts WHERE kind = 'wallet')
           - (SELECT coalesce(sum(amount), 0) FROM handle_market.holds WHERE state = 'pending') AS held_diff),
v AS (INSERT INTO mr_violations (entries_total, books, min_available, held_diff)
      SELECT * FROM s WHERE entries_total <> 0 OR books <> 0 OR min_available < 0 OR held_diff <> 0
      RETURNING 1)
SELECT 'read ' || (SELECT count(*) FROM v);"
for _ in $(seq 1 20); do echo "$read_books"; done >"$tmp/reader.sql"
reader() {
    while [ ! -e "$tmp/stop" ]; do
        psql -X -q -At -d "$db" -f "$tmp/reader.sql" >>"$tmp/reader.out" 2>>"$tmp/reader.err" || sleep 0.2
    done
}
start_reader() {
    rm -f "$tmp/stop"
    reader &
    reader_pid=$!
}
reads() { grep -c '^read ' "$tmp/reader.out" 2>/dev/null || echo 0; }
: >"$tmp/reader.out"
: >"$tmp/reader.err"
start_reader

# --- phase 1: the walk, and kill a backend --------------------------------------
cat >"$tmp/step.sql" <<'SQL'
\set n :n + 1
\set s abs(hash_fnv1a(:seed * 1000 + :phase * 100 + :client_id, :n)) % 2147483647
SELECT mr_step(:s);
SQL
log=$(server_log)
log_lines=$(wc -l <"$log" 2>/dev/null || echo 0)

pgbench -n -c "$CLIENTS" -j 2 -T $((DURATION + 60)) -D seed="$SEED" -D phase=1 -D n=0 \
    -f "$tmp/step.sql" "$db" >"$tmp/bench1.log" 2>&1 &
bench_pid=$!
sleep "$DURATION"
victim=$(value "SELECT pid FROM pg_stat_activity WHERE datname = '$db' AND application_name LIKE 'pgbench%'
                 ORDER BY state = 'active' DESC, random() LIMIT 1")
echo "# $(value "SELECT count(*) FROM mr_log WHERE step > 0") steps committed, simulated time $(value "SELECT base + (SELECT last_value FROM mr_clock) * tick FROM mr_conf")"
if [[ "$victim" =~ ^[0-9]+$ ]]; then
    echo "# killing pgbench backend $victim with SIGKILL"
    check "SIGKILL the backend" 0 "$(kill -9 "$victim"; echo $?)"
else
    # every client has died of an error: say so, and check the books anyway
    check "a pgbench backend to kill" "a pid" "$victim"
    victim=
    kill "$bench_pid" 2>/dev/null
fi
wait "$bench_pid"
bench_rc=$?
bench_pid=
echo "# pgbench said: $(grep -v '^ *$' "$tmp/bench1.log" | tail -n 6 | tr '\n' ' ' | tail -c 400)"
check "pgbench was cut off by the crash (exit status not 0)" yes \
    "$([ "$bench_rc" -ne 0 ] && echo yes || echo "no ($bench_rc)")"
check "no client of the walk met an unexpected ERROR before the crash" 0 "$(grep -c 'ERROR:' "$tmp/bench1.log")"
grep -A 3 'ERROR:' "$tmp/bench1.log" | head -12 | sed 's/^/#   /'
wait_ready || { check "server ready after the crash" ok failed; finish; }
for _ in $(seq 1 100); do
    value "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.1
done
wait_ready || { check "server ready after the crash" ok failed; finish; }
if [ -n "$victim" ] && [ -r "$log" ]; then
    new_log=$(tail -n +"$((log_lines + 1))" "$log")
    check "the postmaster saw the backend killed by signal 9" yes \
        "$(grep -q "process (PID $victim) was terminated by signal 9" <<<"$new_log" && echo yes || echo no)"
    check "the restart ran crash recovery" yes \
        "$(grep -q 'all server processes terminated; reinitializing' <<<"$new_log" \
           && grep -q 'not properly shut down; automatic recovery in progress\|database system was interrupted' <<<"$new_log" \
           && echo yes || echo no)"
elif [ -n "$victim" ]; then
    log_not_read 2
fi
# the reader reads on while the server restarts; the checks below run without it
stop_reader
reads1=$(reads)

# --- the checks ------------------------------------------------------------------
# sum over mr_log's committed deposits and withdrawals
flows="SELECT coalesce(sum(amount) FILTER (WHERE action = 'deposit'), 0)
              - coalesce(sum(amount) FILTER (WHERE action = 'withdraw'), 0) AS net
         FROM mr_log WHERE sqlstate IS NULL AND action IN ('deposit', 'withdraw')"
seen_conflicts=0
seen_log=0
seen_violations=0
books() {
    check "$1: check_invariants() finds nothing" "" \
        "$(value "SELECT string_agg(v, '; ') FROM (SELECT v FROM handle_market.check_invariants() v LIMIT 5) x")"
    check "$1: all entries sum to 0" 0 "$(value "SELECT coalesce(sum(amount), 0) FROM handle_market.entries")"
    check "$1: deposited - withdrawn = wallets + fee slots = -(payments slots)" \
        "$(value "SELECT net || ' ' || net || ' ' || net FROM ($flows) f")" \
        "$(value "SELECT (SELECT sum(balance) FROM handle_market.ledger_accounts WHERE kind = 'wallet')
                         + (SELECT coalesce(sum(amount), 0) FROM handle_market.entries WHERE ledger_account_id BETWEEN 1 AND 16)
                         || ' ' || (SELECT sum(balance) FROM handle_market.ledger_accounts WHERE kind = 'wallet')
                         + (SELECT coalesce(sum(amount), 0) FROM handle_market.entries WHERE ledger_account_id BETWEEN 1 AND 16)
                         || ' ' || -(SELECT coalesce(sum(amount), 0) FROM handle_market.entries WHERE ledger_account_id BETWEEN 101 AND 116)")"
    check "$1: no wallet overdrawn, none holds more than it has" 0 \
        "$(value "SELECT count(*) FROM handle_market.ledger_accounts WHERE kind = 'wallet' AND (held < 0 OR balance < held)")"
    # each violation, conflict and odd refusal is reported once, in the first check after it
    check "$1: the reader saw no violation in $(reads) snapshots" "" \
        "$(value "SELECT string_agg(format('at %s: entries %s, books %s, min available %s, held - pending %s',
                                             seen_at, entries_total, books, min_available, held_diff), '; ')
                    FROM (SELECT * FROM mr_violations WHERE id > $seen_violations ORDER BY id LIMIT 5) v")"
    check "$1: no deadlock or serialization failure (40P01, 40001)" none \
        "$(value "SELECT CASE WHEN count(*) = 0 THEN 'none' ELSE count(*) || ': ' || string_agg(
                      format('%s (%s at step %s): %s %s [%s] {the other side: %s}', sqlstate, action, step,
                             message, replace(coalesce(detail, ''), E'\n', ' '),
                             replace(context, E'\n', ' / '),
                             coalesce((SELECT string_agg(format('%s at step %s (%s)', g.action, g.step,
                                                                coalesce(g.sqlstate, 'done')), ', ')
                                         FROM mr_log g
                                        WHERE g.pid <> c.pid AND g.started_at <= c.at AND g.ended_at >= c.at
                                          AND g.pid IN (SELECT m[1]::int
                                                          FROM regexp_matches(c.detail, 'process ([0-9]+)', 'g') m)),
                                      'not logged')), '; ') FILTER (WHERE rn <= 3) END
                    FROM (SELECT *, row_number() OVER (ORDER BY id) AS rn FROM mr_conflicts
                           WHERE id > $seen_conflicts) c")"
    check "$1: no HM006, HM011 or HM013 (fresh keys, known accounts, small amounts)" "" \
        "$(value "SELECT string_agg(DISTINCT action || ':' || sqlstate, ' ') FROM mr_log
                   WHERE sqlstate IN ('HM006', 'HM011', 'HM013') AND id > $seen_log")"
    seen_conflicts=$(value "SELECT coalesce(max(id), 0) FROM mr_conflicts")
    seen_log=$(value "SELECT coalesce(max(id), 0) FROM mr_log")
    seen_violations=$(value "SELECT coalesce(max(id), 0) FROM mr_violations")
}
agree() {
    check "$1: each logged keyed call has its transfer (key, kind, id)" 0 \
        "$(value "SELECT count(*) FROM mr_log g
                   WHERE g.sqlstate IS NULL AND g.idempotency_key IS NOT NULL
                     AND NOT EXISTS (SELECT FROM handle_market.transfers t
                                      WHERE t.transfer_id = g.result AND t.idempotency_key = g.idempotency_key
                                        AND t.kind = CASE g.action WHEN 'deposit' THEN 'deposit'
                                                                   WHEN 'withdraw' THEN 'withdrawal'
                                                                   WHEN 'buy' THEN 'purchase'
                                                                   WHEN 'bid' THEN 'hold'
                                                                   WHEN 'make_offer' THEN 'hold'
                                                                   WHEN 'transfer_handle' THEN 'handle_transfer' END)")"
    check "$1: each transfer under a walk's key was logged as done; refusals left none" 0 \
        "$(value "SELECT count(*) FROM handle_market.transfers t
                   WHERE (t.idempotency_key LIKE 'mr-%' OR t.idempotency_key LIKE 'setup-%')
                     AND NOT EXISTS (SELECT FROM mr_log g WHERE g.idempotency_key = t.idempotency_key
                                                            AND g.sqlstate IS NULL)")"
    check "$1: each logged deposit and withdrawal moved its amount" 0 \
        "$(value "SELECT count(*) FROM mr_log g
                   WHERE g.sqlstate IS NULL AND g.action IN ('deposit', 'withdraw')
                     AND (SELECT e.amount FROM handle_market.entries e
                           JOIN handle_market.ledger_accounts l ON l.ledger_account_id = e.ledger_account_id
                          WHERE e.transfer_id = g.result AND l.account_id = g.account)
                         IS DISTINCT FROM CASE g.action WHEN 'deposit' THEN g.amount ELSE -g.amount END")"
    check "$1: each accepted offer was posted by the transfer logged" 0 \
        "$(value "SELECT count(*) FROM mr_log g
                   WHERE g.sqlstate IS NULL AND g.action = 'accept_offer'
                     AND NOT EXISTS (SELECT FROM handle_market.transfers t
                                      JOIN handle_market.offers o ON o.offer_id = t.pending_id
                                     WHERE t.transfer_id = g.result AND t.kind = 'hold_post'
                                       AND o.offer_id = g.other AND o.state = 'accepted'
                                       AND o.sale_transfer_id = t.transfer_id)")"
    check "$1: each posted hold is a logged accepted offer or a settled auction" 0 \
        "$(value "SELECT count(*) FROM handle_market.transfers t
                   WHERE t.kind = 'hold_post'
                     AND NOT EXISTS (SELECT FROM mr_log g WHERE g.action = 'accept_offer' AND g.sqlstate IS NULL
                                                            AND g.result = t.transfer_id)
                     AND NOT EXISTS (SELECT FROM handle_market.auctions a
                                      WHERE a.sale_transfer_id = t.transfer_id AND a.state = 'settled'
                                        AND a.top_bid_id = t.pending_id)")"
    # every sale: the buyer pays the price; a user's sale pays the seller the
    # price less the commission of the seller's tier, the rest to a fee slot;
    # a platform sale is all fee.  Buyer and seller as the history names them.
    check "$1: every sale split by the seller's tier, between the accounts its history names" "" \
        "$(value "WITH s AS (
                    SELECT t.transfer_id, t.kind, ev.account_id AS buyer,
                           (regexp_match(ev.reason, 'from account ([0-9]+) for'))[1]::bigint AS seller,
                           (SELECT -sum(e.amount) FROM handle_market.entries e JOIN handle_market.ledger_accounts l
                                 ON l.ledger_account_id = e.ledger_account_id
                             WHERE e.transfer_id = t.transfer_id AND e.amount < 0 AND l.account_id = ev.account_id)::bigint AS price,
                           (SELECT sum(e.amount) FROM handle_market.entries e
                             WHERE e.transfer_id = t.transfer_id AND e.ledger_account_id BETWEEN 1 AND 16)::bigint AS fee,
                           (SELECT sum(e.amount) FROM handle_market.entries e JOIN handle_market.ledger_accounts l
                                 ON l.ledger_account_id = e.ledger_account_id
                             WHERE e.transfer_id = t.transfer_id AND e.amount > 0 AND l.kind = 'wallet')::bigint AS proceeds,
                           (SELECT string_agg(l.account_id::text, ',') FROM handle_market.entries e
                              JOIN handle_market.ledger_accounts l ON l.ledger_account_id = e.ledger_account_id
                             WHERE e.transfer_id = t.transfer_id AND e.amount > 0 AND l.kind = 'wallet') AS paid_to,
                           (SELECT count(*) FROM handle_market.entries e WHERE e.transfer_id = t.transfer_id) AS legs
                      FROM handle_market.transfers t
                      LEFT JOIN handle_market.handle_events ev
                             ON ev.handle OPERATOR(handle_market.=) t.handle AND ev.reason LIKE '%(transfer ' || t.transfer_id || ')'
                     WHERE t.kind IN ('purchase', 'hold_post'))
                  SELECT string_agg(format('transfer %s (%s): buyer %s, seller %s, price %s, fee %s, proceeds %s to %s, %s legs',
                                           transfer_id, kind, buyer, coalesce(seller::text, 'platform'), price, fee,
                                           proceeds, paid_to, legs), '; ')
                    FROM (SELECT * FROM s
                           WHERE buyer IS NULL OR price IS NULL OR price <= 0
                              OR CASE WHEN seller IS NULL
                                      THEN fee IS DISTINCT FROM price OR proceeds IS NOT NULL OR legs <> 2
                                      ELSE fee IS DISTINCT FROM price * (SELECT b.bps FROM mr_bps b JOIN handle_market.accounts a
                                                                          ON a.subscription = b.subscription
                                                                         WHERE a.account_id = s.seller) / 10000
                                        OR proceeds IS DISTINCT FROM price - fee
                                        OR paid_to IS DISTINCT FROM seller::text
                                        OR seller = buyer
                                        OR legs <> 3 END
                           ORDER BY transfer_id LIMIT 3) bad")"
}
books "after the crash"
agree "after the crash"

# --- replay what committed (a lost COMMIT ack); then phase 2 -----------------------
state="SELECT (SELECT count(*) || ' ' || sum(amount) FROM handle_market.entries) || ' '
              || (SELECT count(*) FROM handle_market.transfers) || ' '
              || (SELECT string_agg(account_id || ':' || balance || ':' || held, ',' ORDER BY account_id)
                    FROM handle_market.ledger_accounts WHERE kind = 'wallet')"
before=$(value "$state")
check "replaying every logged keyed call returns its id" 0 \
    "$(value "SELECT count(*) FROM mr_log g, mr_conf c
               WHERE g.sqlstate IS NULL AND g.idempotency_key LIKE 'mr-%'
                 AND CASE g.action
                     WHEN 'deposit' THEN handle_market.deposit(g.account, g.amount, g.idempotency_key, c.base + g.step * c.tick)
                     WHEN 'withdraw' THEN handle_market.withdraw(g.account, g.amount, g.idempotency_key, c.base + g.step * c.tick)
                     WHEN 'buy' THEN handle_market.buy(g.handle, g.account, g.amount, g.idempotency_key, c.base + g.step * c.tick)
                     WHEN 'bid' THEN handle_market.bid(g.handle, g.account, g.amount, g.idempotency_key, c.base + g.step * c.tick)
                     WHEN 'make_offer' THEN handle_market.make_offer(g.handle, g.account, g.amount, g.ts, g.idempotency_key,
                                                                     c.base + g.step * c.tick)
                     WHEN 'transfer_handle' THEN handle_market.transfer_handle(g.handle, g.account, g.other, g.idempotency_key,
                                                                               c.base + g.step * c.tick)
                     END IS DISTINCT FROM g.result")"
check "the replay moved no money and wrote no transfer" "$before" "$(value "$state")"

start_reader
pgbench -n -c "$CLIENTS" -j 2 -T "$phase2" -D seed="$SEED" -D phase=2 -D n=0 \
    -f "$tmp/step.sql" "$db" >"$tmp/bench2.log" 2>&1
bench_rc=$?
stop_reader
check "a second phase after recovery ends cleanly" 0 "$bench_rc"
check "no client of the second phase met an ERROR" 0 "$(grep -c 'ERROR:' "$tmp/bench2.log")"
grep -A 3 'ERROR:' "$tmp/bench2.log" | head -12 | sed 's/^/#   /'
[ "$bench_rc" -ne 0 ] && tail -n 20 "$tmp/bench2.log"
reads2=$(($(reads) - reads1))
books "after the second phase"

# --- everything settled, far in the future ---------------------------------------
check "settling every auction and offer a year on" ok \
    "$(psql_db -At -o /dev/null <<'SQL' 2>&1 && echo ok
DO $$
DECLARE
    t timestamptz := (SELECT base + (SELECT last_value FROM mr_clock) * tick + interval '1 year' FROM mr_conf);
    v record;
BEGIN
    LOOP
        SELECT * INTO v FROM handle_market.settle_batch(t, 100);
        EXIT WHEN v.auctions_done = 0 AND v.offers_expired = 0;
    END LOOP;
END $$;
SQL
)"
check "then no auction open, no offer open, no money held" "0 0 0" \
    "$(value "SELECT (SELECT count(*) FROM handle_market.auctions WHERE state = 'open') || ' '
                  || (SELECT count(*) FROM handle_market.offers WHERE state = 'open') || ' '
                  || (SELECT sum(held) FROM handle_market.ledger_accounts WHERE kind = 'wallet')")"
check "the reader ran all along ($reads1 snapshots before the crash, $reads2 after)" yes \
    "$([ "$reads1" -gt 0 ] && [ "$reads2" -gt 0 ] && echo yes || echo no)"
check "the reader met no ERROR" "" "$(grep 'ERROR:' "$tmp/reader.err" | head -3)"
books "at the end"
agree "at the end"

# --- what the walk did -------------------------------------------------------------
echo "# steps (done / refused by SQLSTATE):"
value "WITH g AS (SELECT action, sqlstate, count(*) AS n FROM mr_log WHERE step > 0 GROUP BY 1, 2)
        SELECT format('#   %-24s %6s done  %s', action, coalesce(sum(n) FILTER (WHERE sqlstate IS NULL), 0),
                      coalesce(string_agg(sqlstate || ':' || n, ' ' ORDER BY sqlstate)
                                   FILTER (WHERE sqlstate IS NOT NULL), ''))
          FROM g GROUP BY action ORDER BY action"
echo "# $(value "SELECT count(*) FILTER (WHERE state = 'settled') || ' auctions settled, '
                     || count(*) FILTER (WHERE state = 'failed') || ' failed, '
                     || count(*) FILTER (WHERE state = 'ended') || ' ended without bids, '
                     || count(*) FILTER (WHERE state = 'cancelled') || ' cancelled' FROM handle_market.auctions"); $(value "SELECT string_agg(state || ' ' || n, ', ') FROM (SELECT state, count(*) n FROM handle_market.offers GROUP BY state ORDER BY state) o") offers; $(value "SELECT count(*) FROM handle_market.handle_events WHERE to_state = 'released'") handles released; simulated time reached $(value "SELECT base + (SELECT last_value FROM mr_clock) * tick FROM mr_conf")"
check "the walk sold handles, settled auctions and accepted offers" yes \
    "$(value "SELECT CASE WHEN (SELECT count(*) FROM handle_market.transfers WHERE kind = 'purchase') > 0
                          AND (SELECT count(*) FROM handle_market.auctions WHERE state = 'settled') > 0
                          AND (SELECT count(*) FROM handle_market.offers WHERE state = 'accepted') > 0
                     THEN 'yes' ELSE 'no' END")"

[ -z "${KEEP_DB:-}" ] && psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
finish
