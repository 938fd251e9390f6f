#!/usr/bin/env bash
# test/roles.sh: the extension as deployed.  Every API function is called as
# the role meant to call it (grant_app, grant_admin), as a login role that is
# no superuser, in autocommit (each statement COMMITs), without
# handle_market on its search_path, at the server's time; every other role
# must get 42501.  A function of the schema that this matrix does not name
# fails the test, so a function added later without a decision on who may
# call it is caught.  Then the attacks of issue 11: time, run locks, keys,
# the pre-created schema, settings.
#
# Run inside a throw-away cluster (scripts/cluster.sh), or by make
# installcheck; connects as the superuser only to install and to seed
# history (which needs simulated time: an inactive owner is one who was last
# seen 70 days ago).  Its database comes from $HM_TEMPLATE (template0 by
# default; test/upgrade.sh passes one updated from an older version); it
# drops its databases and roles when it ends.
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh
unset PGOPTIONS                       # as deployed: no simulated time
db=hm_roles
roles=(hm_app hm_admin hm_public)
forget "$db hm_planted" "hm_app hm_admin hm_public hm_dbowner"

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE ${HM_TEMPLATE:-template0}"
su_sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
su_sql <<SQL
CREATE EXTENSION IF NOT EXISTS handle_market;
DO \$\$ BEGIN
    CREATE ROLE hm_app LOGIN PASSWORD '${PGPASSWORD:-x}';
    CREATE ROLE hm_admin LOGIN PASSWORD '${PGPASSWORD:-x}';
    CREATE ROLE hm_public LOGIN PASSWORD '${PGPASSWORD:-x}';
EXCEPTION WHEN duplicate_object THEN NULL; END \$\$;
SELECT handle_market.grant_app('hm_app');
SELECT handle_market.grant_admin('hm_admin');
-- ids the calls need (offers), readable by everyone
CREATE TABLE public.seed (name text, n int, id bigint);
SELECT handle_market.outbox_register_consumer('ack_' || n) FROM generate_series(1, 3) n;
GRANT SELECT ON public.seed TO PUBLIC;
SQL

# The seed, for each role's number n (accounts n01..n05): as the superuser
# with simulated time, because history needs the past.
for n in 1 2 3; do
    su_sql <<SQL >/dev/null
SET handle_market.simulated_time = on;
SELECT handle_market.upsert_account(${n}01, 'premium_plus');
SELECT handle_market.upsert_account(${n}02, 'premium');
SELECT handle_market.upsert_account(${n}03, 'basic');
SELECT handle_market.upsert_account(${n}04);
SELECT handle_market.upsert_account(${n}05, 'none', false, now() - interval '70 days');
SELECT handle_market.deposit(${n}01, 1000000, 'seed');
SELECT handle_market.deposit(${n}02, 1000000, 'seed');
SELECT handle_market.register_handle(${n}01, 'own_$n');
SELECT handle_market.register_handle(${n}02, 'sell_$n');
SELECT handle_market.list_handle('sell_$n', ${n}02, 5000);
SELECT handle_market.register_handle(${n}05, 'rel_$n', now() - interval '70 days');
SELECT handle_market.register_handle(${n}03, 'auc_$n');
SELECT handle_market.start_auction('auc_$n', ${n}03, 1000, now() + interval '1 day');
SELECT handle_market.register_handle(${n}03, 'auc2_$n');
SELECT handle_market.register_handle(${n}03, 'offered_$n');
INSERT INTO public.seed SELECT 'offer', $n,
    handle_market.make_offer('offered_$n', ${n}01, 2000, now() + interval '10 days', 'seed-offer');
SELECT handle_market.register_handle(${n}04, 'offered2_$n');
INSERT INTO public.seed SELECT 'offer2', $n,
    handle_market.make_offer('offered2_$n', ${n}02, 1500, now() + interval '10 days', 'seed-offer');
SELECT handle_market.register_handle(${n}04, 'target_$n');
SELECT handle_market.register_handle(${n}04, 'held_$n');
SELECT handle_market.set_premium('pauc_$n', 10000);
SQL
done
# rel_n: noticed 35 days ago, released yesterday, so in redemption now
su_sql -c "SET handle_market.simulated_time = on" \
       -c "CALL handle_market.release_dormant(now() - interval '35 days')" \
       -c "CALL handle_market.release_dormant(now() - interval '1 day')" 2>/dev/null

# state_of ROLE SQL: "ok" when the statement commits, else its SQLSTATE
state_of() {
    local out
    out=$(PGPASSWORD=${PGPASSWORD:-x} psql -X -q -At -U "$1" -d "$db" \
          -c '\set VERBOSITY sqlstate' -c "$2" 2>&1 >/dev/null | grep 'ERROR:')
    if [ -z "$out" ]; then echo ok; else echo "$out" | sed -n 's/^.*ERROR: *\([0-9A-Z]\{5\}\).*$/\1/p' | head -1; fi
}

# Before the matrix adds versions in the future: a version may not start in
# the past (it would change what was in force then).
check "admin: a policy version that starts in the past is refused (HM017)" HM017 \
    "$(state_of hm_admin "SELECT handle_market.add_policy_version(now() - interval '1 day', '{\"inactive_after\": \"10 days\"}')")"
check "admin: so is a pricing version" HM017 \
    "$(state_of hm_admin "SELECT handle_market.add_pricing_version(now() - interval '1 day', '{}')")"

# The matrix: AUDIENCE|SQL, {n} standing for the role's number.  app: the
# application and the operators; admin: the operators only; public: every
# role; internal: nobody (helpers of the implementation).  Order matters
# where a call needs an earlier one (register before transfer).
matrix=$(cat <<'EOF'
app|SELECT handle_market.upsert_account({n}10)
app|SELECT handle_market.set_account_status({n}04, 'active')
app|SELECT handle_market.touch({n}01)
app|SELECT handle_market.activity_status(now() - interval '40 days', now())
app|SELECT handle_market.policy_at(now())
app|SELECT handle_market.register_handle({n}01, 'new_{n}')
app|SELECT handle_market.restore_handle('rel_{n}', {n}05)
app|SELECT handle_market.lookup('@Own_{n}')
app|SELECT handle_market.price('sell_{n}')
app|SELECT handle_market.quote('sell_{n}', {n}01)
app|SELECT handle_market.outbox_after(0, 10)
app|SELECT handle_market.outbox_consumers()
app|SELECT handle_market.outbox_ack('ack_{n}', 1)
app|SELECT handle_market.deposit({n}01, 100, 'd-{n}')
app|SELECT handle_market.withdraw({n}01, 50, 'w-{n}')
app|SELECT handle_market.balance({n}01)
app|SELECT handle_market.list_handle('own_{n}', {n}01, 7000)
app|SELECT handle_market.unlist_handle('own_{n}', {n}01)
app|SELECT handle_market.buy('sell_{n}', {n}01, 5000, 'b-{n}')
app|SELECT handle_market.transfer_handle('new_{n}', {n}01, {n}02, 't-{n}')
app|SELECT handle_market.start_auction('auc2_{n}', {n}03, 1000, now() + interval '2 days')
app|SELECT handle_market.cancel_auction('auc2_{n}', {n}03)
app|SELECT handle_market.bid('auc_{n}', {n}01, 1000, 'bid-{n}')
app|SELECT handle_market.make_offer('target_{n}', {n}02, 1000, now() + interval '5 days', 'o-{n}')
app|SELECT handle_market.accept_offer((SELECT id FROM public.seed WHERE name = 'offer' AND n = {n}), {n}03)
app|SELECT handle_market.cancel_offer((SELECT id FROM public.seed WHERE name = 'offer2' AND n = {n}), {n}02)
admin|SELECT handle_market.hold_handle('held_{n}', 'a court order')
admin|SELECT handle_market.release_hold('held_{n}')
admin|SELECT handle_market.reserve_handle('resv_{n}', 'brand')
admin|SELECT handle_market.unreserve_handle('resv_{n}')
admin|SELECT handle_market.add_policy_version(now() + interval '{n}00 days', '{}')
admin|SELECT handle_market.set_premium('prem2_{n}', 10000)
admin|SELECT handle_market.unset_premium('prem2_{n}')
admin|SELECT handle_market.add_pricing_version(now() + interval '{n}00 days', '{}')
admin|SELECT handle_market.pricing_at(now())
admin|SELECT handle_market.commission_bps('none', now())
admin|SELECT handle_market.start_platform_auction('pauc_{n}', 10000, now() + interval '1 day')
admin|SELECT handle_market.check_invariants()
admin|SELECT handle_market.status(true)
admin|SELECT handle_market.ledger_balance(1)
admin|SELECT handle_market.release_lock_try(), handle_market.release_lock_release()
admin|SELECT handle_market.settle_lock_try(), handle_market.settle_lock_release()
admin|DO $$ DECLARE r bigint := handle_market.start_release_run(now(), 10, true); BEGIN PERFORM handle_market.release_batch(r); PERFORM handle_market.finish_release_run(r); END $$
admin|CALL handle_market.release_dormant(now(), 100, true)
admin|CALL handle_market.release_dormant()
admin|CALL handle_market.release_dormant(now(), 2, true, interval '10 milliseconds')
admin|DO $$ DECLARE r bigint := handle_market.start_rekey_run(10); BEGIN PERFORM handle_market.rekey_batch(r); PERFORM handle_market.finish_rekey_run(r); END $$
admin|CALL handle_market.rekey()
admin|SELECT handle_market.history_partitions()
admin|SELECT handle_market.create_history_partition(3)
admin|CALL handle_market.create_history_partitions()
admin|SELECT handle_market.detach_history(now() - interval '10 years')
admin|SELECT handle_market.settle_batch(now(), 10)
admin|CALL handle_market.settle_auctions()
admin|SELECT handle_market.outbox_register_consumer('consumer_{n}')
admin|SELECT handle_market.outbox_retention(), handle_market.set_outbox_retention('7 days')
admin|SELECT handle_market.prune_outbox_batch(0, 10)
admin|CALL handle_market.prune_outbox(100)
admin|SELECT handle_market.outbox_unregister_consumer('consumer_{n}')
admin|SELECT count(*) FROM handle_market.transfers
public|SELECT '@ElonMusk'::handle_market.handle
public|SELECT handle_market.handle('x') OPERATOR(handle_market.=) handle_market.handle('X') AND handle_market.handle_to_text('x') = 'x'
public|SELECT handle_market.handle_ne('a', 'b'), handle_market.handle_lt('a', 'b'), handle_market.handle_le('a', 'b'), handle_market.handle_gt('a', 'b'), handle_market.handle_ge('a', 'b'), handle_market.handle_cmp('a', 'b'), handle_market.handle_eq('a', 'b')
public|SELECT handle_market.handle_hash('a'), handle_market.handle_hash_extended('a', 0)
public|SELECT handle_market.handle_eq_text('a', 'A'), handle_market.handle_ne_text('a', 'b'), handle_market.handle_lt_text('a', 'b'), handle_market.handle_le_text('a', 'b'), handle_market.handle_gt_text('a', 'b'), handle_market.handle_ge_text('a', 'b')
public|SELECT handle_market.text_eq_handle('A', 'a'), handle_market.text_ne_handle('a', 'b'), handle_market.text_lt_handle('a', 'b'), handle_market.text_le_handle('a', 'b'), handle_market.text_gt_handle('a', 'b'), handle_market.text_ge_handle('a', 'b')
public|SELECT handle_market.handle_larger('a', 'b'), handle_market.handle_smaller('a', 'b')
public|SELECT handle_market.max(h), handle_market.min(h) FROM (VALUES ('a'::handle_market.handle), ('B')) v(h)
public|SELECT handle_market.confusable_key('elon')
public|SELECT handle_market.check_handle('elon', 'x_classic')
public|SELECT handle_market.running_icu_version(), handle_market.running_unicode_version(), handle_market.recorded_unicode_versions()
public|SELECT handle_market.activity_status(now(), now(), interval '30 days')
public|SELECT handle_market.release_phase(now(), now(), interval '30 days', interval '5 days', interval '21 days')
public|SELECT handle_market.commission_fee(10000, 500), handle_market.dollars(100), handle_market.minimum_bid(100, 100)
public|SELECT handle_market.decaying_premium(interval '1 day', 5000000, interval '21 days', interval '1 day')
internal|SELECT handle_market.utc_time(now())
internal|SELECT handle_market.utc_date(now())
internal|SELECT handle_market.ledger_slots()
internal|SELECT handle_market.actor()
internal|SELECT handle_market.reservation_for('x')
internal|SELECT handle_market.is_exempt(true, 'none', 'active', NULL::handle_market.policy)
internal|SELECT handle_market.handle_phase(NULL::handle_market.handles, now())
internal|SELECT handle_market.released_at_plus(NULL::handle_market.handles)
internal|SELECT handle_market.activity_lock_shared()
internal|SELECT handle_market.activity_lock_exclusive()
internal|SELECT handle_market.release_decision('registered', NULL, interval '1 day', interval '1 day', now(), false, interval '1 day', now())
internal|SELECT handle_market.release_decisions(NULL, NULL, now(), NULL::handle_market.policy)
internal|SELECT handle_market.handles_row_rules(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
internal|SELECT handle_market.ledger_accounts_row_rules(NULL, NULL, NULL, NULL, NULL)
internal|SELECT handle_market.transfers_row_rules(NULL, NULL)
internal|SELECT handle_market.outbox_row_rules(NULL)
internal|SELECT handle_market.record_unicode_versions()
internal|SELECT handle_market.rekey_lock_try(), handle_market.rekey_lock_release()
internal|SELECT handle_market.rekey_rows(NULL, 'handles', NULL, NULL, NULL)
internal|SELECT handle_market.grant_app('hm_public')
internal|SELECT handle_market.grant_admin('hm_public')
EOF
)

declare -A expect_of=(
    [app:hm_app]=ok [app:hm_admin]=ok [app:hm_public]=42501
    [admin:hm_app]=42501 [admin:hm_admin]=ok [admin:hm_public]=42501
    [public:hm_app]=ok [public:hm_admin]=ok [public:hm_public]=ok
    [internal:hm_app]=42501 [internal:hm_admin]=42501 [internal:hm_public]=42501
)
n=0
for role in "${roles[@]}"; do
    n=$((n + 1))
    while IFS='|' read -r audience sql; do
        call=${sql//\{n\}/$n}
        check "$role: $call" "${expect_of[$audience:$role]}" "$(state_of "$role" "$call")"
    done <<<"$matrix"
done

# Every function of the schema is in the matrix (but the type's I/O and the
# trigger functions, which no statement calls).
not_called='handle_in|handle_out|handle_recv|handle_send|handle_sortsupport|handle_text_support|guard|outbox_notify|policy_changed|entries_balanced'
missing=$(su_sql -c "SELECT string_agg(DISTINCT p.proname, ' ' ORDER BY p.proname) FROM pg_proc p
                      WHERE p.pronamespace = 'handle_market'::regnamespace AND p.proname !~ '^_'
                        AND p.proname !~ '^($not_called)\$'" | tr ' ' '\n' |
          while read -r f; do grep -q "handle_market\.$f(" <<<"$matrix" || echo "$f"; done | tr '\n' ' ')
check "every function of the schema has a row in the role matrix" "" "$missing"

# --- Time: the caller does not choose it ---
check "app: a purchase 60 days ahead is refused (HM017)" HM017 \
    "$(state_of hm_app "SELECT handle_market.buy('sell_1', 102, 9000, 'time-1', now() + interval '60 days')")"
check "app: touch at infinity is refused (22023)" 22023 \
    "$(state_of hm_app "SELECT handle_market.touch(101, 'infinity')")"
check "app: a bid after the auction ended (as_of in the past) is refused (HM017)" HM017 \
    "$(state_of hm_app "SELECT handle_market.bid('auc_1', 102, 5000, 'time-2', now() - interval '2 days')")"
check "app: an explicit time within a minute is taken as the server's" ok \
    "$(state_of hm_app "SELECT handle_market.touch(101, now() - interval '20 seconds')")"
check "app: reads may ask about any finite time" ok \
    "$(state_of hm_app "SELECT handle_market.lookup('own_1', now() + interval '400 days'), handle_market.price('own_1', now() - interval '3 years')")"
check "app: a read at -infinity is refused (22023)" 22023 \
    "$(state_of hm_app "SELECT handle_market.lookup('own_1', '-infinity')")"
check "app: cannot turn simulated time on once the library is loaded (42501)" 42501 \
    "$(state_of hm_app "SELECT handle_market.touch(101); SET handle_market.simulated_time = on")"
check "app: a placeholder set before the library loads does not simulate time" HM017 \
    "$(state_of hm_app "SET handle_market.simulated_time = on; SELECT handle_market.touch(101, now() - interval '10 days')")"
check "admin: settling a day ahead is refused (HM017)" HM017 \
    "$(state_of hm_admin "CALL handle_market.settle_auctions(now() + interval '1 day')")"
check "admin: a release a year ahead is refused (HM017)" HM017 \
    "$(state_of hm_admin "CALL handle_market.release_dormant(now() + interval '1 year')")"
check "admin: a dry run may look a year ahead" ok \
    "$(state_of hm_admin "CALL handle_market.release_dormant(now() + interval '1 year', 100, true)")"
check "app: an auction that never ends is refused (22023)" 22023 \
    "$(state_of hm_app "SELECT handle_market.start_auction('own_1', 101, 1000, 'infinity')")"
check "app: nor one that ends in 20 years (22023)" 22023 \
    "$(state_of hm_app "SELECT handle_market.start_auction('own_1', 101, 1000, now() + interval '20 years')")"
check "app: an offer that never expires is refused (22023)" 22023 \
    "$(state_of hm_app "SELECT handle_market.make_offer('target_1', 102, 1000, 'infinity', 'o-inf')")"
check "app: a write with a NULL time is refused (22004)" 22004 \
    "$(state_of hm_app "SELECT handle_market.register_handle(101, 'null_time', NULL)")"
check "admin: a policy version at infinity is refused (22023)" 22023 \
    "$(state_of hm_admin "SELECT handle_market.add_policy_version('infinity', '{}')")"
check "admin: a pause of a day between batches is refused (22023)" 22023 \
    "$(state_of hm_admin "CALL handle_market.release_dormant(pause => interval '1 day')")"
check "admin: settlement with a pause between batches runs" ok \
    "$(state_of hm_admin "CALL handle_market.settle_auctions(pause => interval '10 milliseconds')")"
check "admin: a settlement of batches of 0 is refused (22023)" 22023 \
    "$(state_of hm_admin "CALL handle_market.settle_auctions(batch_size => 0)")"
check "admin: a settlement batch at a NULL time is refused (22004)" 22004 \
    "$(state_of hm_admin "SELECT handle_market.settle_batch(NULL, 10)")"
check "admin: release_dormant('infinity') is refused (22023)" 22023 \
    "$(state_of hm_admin "CALL handle_market.release_dormant('infinity')")"
last=$(su_sql -c "SELECT last_active_at > now() - interval '1 hour' AND last_active_at <= now() FROM handle_market.accounts WHERE account_id = 101")
check "the activity written is the server's time" t "$last"

# --- Run locks: PUBLIC cannot stop the runs; a second run is told so ---
PGPASSWORD=${PGPASSWORD:-x} psql -X -q -U hm_public -d "$db" \
    -c "SELECT pg_advisory_lock(hashtext('handle_market.release_dormant')), pg_advisory_lock(hashtext('handle_market.settle_auctions')), pg_sleep(4)" >/dev/null 2>&1 &
blocker=$!
sleep 1
check "a PUBLIC role's advisory lock does not stop a release run" ok "$(state_of hm_admin "CALL handle_market.release_dormant()")"
check "nor a settlement run" ok "$(state_of hm_admin "CALL handle_market.settle_auctions()")"
wait $blocker
PGPASSWORD=${PGPASSWORD:-x} psql -X -q -U hm_admin -d "$db" \
    -c "SELECT handle_market.release_lock_try(), handle_market.settle_lock_try(), pg_sleep(4)" >/dev/null 2>&1 &
holder=$!
sleep 1
check "a release run while another holds the lock raises HM016" HM016 "$(state_of hm_admin "CALL handle_market.release_dormant()")"
check "a settlement run while another holds the lock raises HM016" HM016 "$(state_of hm_admin "CALL handle_market.settle_auctions()")"
wait $holder
check "once the holder is gone, the run goes" ok "$(state_of hm_admin "CALL handle_market.release_dormant()")"
left=$(PGPASSWORD=${PGPASSWORD:-x} psql -X -q -At -U hm_admin -d "$db" \
    -c "DO \$\$ BEGIN PERFORM handle_market.start_release_run(now(), 10, true); RAISE EXCEPTION 'undone';
        EXCEPTION WHEN raise_exception THEN NULL; END \$\$" \
    -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 18509 AND pid = pg_backend_pid()" 2>&1)
check "a run lock taken in a subtransaction that rolls back goes with it" 0 "$left"

# --- A run cut off half-way is resumed by the next, at its own later time ---
su_sql -c "SET handle_market.simulated_time = on" \
       -c "SELECT handle_market.upsert_account(a, 'none', false, now() - interval '40 days'),
                  handle_market.register_handle(a, 'zz_dormant_' || a, now() - interval '40 days')
             FROM generate_series(901, 903) a" >/dev/null
psql -X -q -d "$db" -c "BEGIN" \
    -c "SELECT 1 FROM handle_market.handles WHERE handle::text = 'zz_dormant_902' FOR UPDATE" \
    -c "SELECT pg_sleep(3)" -c "COMMIT" >/dev/null 2>&1 &
locker=$!
sleep 1
check "a run that meets a locked handle fails half-way (lock_timeout, 55P03)" 55P03 \
    "$(PGOPTIONS='-c lock_timeout=300ms' state_of hm_admin "CALL handle_market.release_dormant(batch_size => 1)")"
wait $locker
check "the next run, at its own time, resumes the interrupted one" ok \
    "$(state_of hm_admin "CALL handle_market.release_dormant(batch_size => 1)")"
check "... marking it interrupted and going on after its last handle" "interrupted|true|true" \
    "$(su_sql -c "SELECT p.status || '|' || (r.as_of > p.as_of) || '|' || (r.examined < p.examined + r.examined AND p.last_handle IS NOT NULL)
                    FROM handle_market.release_runs r JOIN handle_market.release_runs p ON p.run_id = r.resumed_run_id
                   ORDER BY r.run_id DESC LIMIT 1")"
check "the dormant handles past the cut are at risk" "zz_dormant_901:at_risk zz_dormant_902:at_risk zz_dormant_903:at_risk" \
    "$(su_sql -c "SELECT string_agg(handle::text || ':' || state, ' ' ORDER BY handle::text) FROM handle_market.handles WHERE handle::text LIKE 'zz_dormant_%'")"

# --- The outbox's prune: only what every consumer acknowledged ---
su_sql -c "SELECT handle_market.outbox_unregister_consumer(name) FROM handle_market.outbox_consumers WHERE name LIKE 'ack_%'" \
       -c "SELECT handle_market.outbox_register_consumer('prune_a'), handle_market.outbox_register_consumer('prune_b')" \
       -c "SELECT handle_market.set_outbox_retention('0')" >/dev/null
acked=$(su_sql -c "SELECT handle_market.outbox_ack('prune_a', 5), handle_market.outbox_ack('prune_b', 3)" -At -F ' ')
check "two consumers acknowledge 5 and 3" "5 3" "$acked"
check "CALL prune_outbox() in autocommit" ok "$(state_of hm_admin "CALL handle_market.prune_outbox(2)")"
check "... deleted exactly the messages both acknowledged" "0 true" \
    "$(su_sql -c "SELECT count(*) FILTER (WHERE message_id <= 3) || ' ' || (min(message_id) = 4) FROM handle_market.outbox")"
su_sql -c "SELECT handle_market.outbox_unregister_consumer('prune_a'), handle_market.outbox_unregister_consumer('prune_b')" >/dev/null

# --- Keys: scoped to the acting account ---
check "account 101 uses key k-shared" ok "$(state_of hm_app "SELECT handle_market.deposit(101, 10000000, 'k-shared')")"
check "account 102 may use the same key" ok "$(state_of hm_app "SELECT handle_market.deposit(102, 1, 'k-shared')")"
detail=$(PGPASSWORD=${PGPASSWORD:-x} psql -X -q -At -U hm_app -d "$db" -c "SELECT handle_market.deposit(102, 2, 'k-shared')" 2>&1 | grep DETAIL)
check "a conflict on 102's key shows only 102's request" \
    "DETAIL:  Account 102 made transfer $(su_sql -c "SELECT transfer_id FROM handle_market.transfers WHERE key_account_id = 102 AND idempotency_key = 'k-shared'") with it by deposit(account_id => 102, amount_cents => 1); this request is deposit(account_id => 102, amount_cents => 2)." "$detail"
hold=$(PGPASSWORD=${PGPASSWORD:-x} psql -X -q -At -U hm_app -d "$db" -c "SELECT handle_market.bid('auc_1', 104, 0, 'x')" 2>/dev/null; su_sql -c "SELECT top_bid_id FROM handle_market.auctions WHERE handle::text = 'auc_1' AND state = 'open'")
check "a caller spending 'void:<hold>' as its key ..." ok "$(state_of hm_app "SELECT handle_market.deposit(102, 1, 'void:$hold')")"
check "... does not stop a higher bid from voiding that hold" ok \
    "$(state_of hm_app "SELECT handle_market.bid('auc_1', 202, 2000, 'bid-over')")"
check "the outbid hold was voided by a closing without a key" "voided|" \
    "$(su_sql -c "SELECT h.state || '|' || coalesce(t.idempotency_key, '') FROM handle_market.holds h JOIN handle_market.transfers t ON t.pending_id = h.hold_id WHERE h.hold_id = $hold")"

# --- Keyed calls that move no money: a retry returns the same outcome ---
su_sql -c "SET handle_market.simulated_time = on" -c "SELECT handle_market.register_handle(104, 'retry_1')" >/dev/null
a1=$(PGPASSWORD=${PGPASSWORD:-x} psql -X -q -At -U hm_app -d "$db" -c "SELECT handle_market.start_auction('retry_1', 104, 500, date_trunc('day', now()) + interval '3 days', idempotency_key => 'sa-1')")
a2=$(PGPASSWORD=${PGPASSWORD:-x} psql -X -q -At -U hm_app -d "$db" -c "SELECT handle_market.start_auction('retry_1', 104, 500, date_trunc('day', now()) + interval '3 days', idempotency_key => 'sa-1')")
check "start_auction retried with its key returns the same auction" "$a1" "$a2"
check "the same key for another reserve is HM006" HM006 \
    "$(state_of hm_app "SELECT handle_market.start_auction('retry_1', 104, 600, date_trunc('day', now()) + interval '3 days', idempotency_key => 'sa-1')")"
check "cancel_auction with a key ..." ok "$(state_of hm_app "SELECT handle_market.cancel_auction('retry_1', 104, idempotency_key => 'ca-1')")"
check "... retried after a lost answer succeeds again" ok "$(state_of hm_app "SELECT handle_market.cancel_auction('retry_1', 104, idempotency_key => 'ca-1')")"
check "without the key the second cancel is refused (HM008)" HM008 "$(state_of hm_app "SELECT handle_market.cancel_auction('retry_1', 104)")"

# --- The commit-time balance check runs as the table's owner: nothing in it
# may resolve through the committing session's search_path ---
psql -X -q -d "$db" -c "DROP SCHEMA IF EXISTS hm_app_own CASCADE" -c "CREATE SCHEMA hm_app_own AUTHORIZATION hm_app" >/dev/null
plant=$(PGPASSWORD=${PGPASSWORD:-x} psql -X -q -At -U hm_app -d "$db" -v ON_ERROR_STOP=1 <<'EOF2' 2>&1
CREATE FUNCTION hm_app_own.evil(s numeric, v bigint) RETURNS numeric LANGUAGE plpgsql AS
$$BEGIN RAISE EXCEPTION 'planted code ran as %', current_user; END$$;
CREATE AGGREGATE hm_app_own.sum(bigint) (sfunc = hm_app_own.evil, stype = numeric, initcond = '0');
CREATE FUNCTION hm_app_own.eq(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS
$$BEGIN RAISE EXCEPTION 'planted operator ran as %', current_user; END$$;
CREATE OPERATOR hm_app_own.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = hm_app_own.eq);
SET search_path = hm_app_own, pg_catalog;
SELECT handle_market.deposit(101, 100, 'planted-1') > 0;
EOF2
)
check "a deposit committed under a search_path with a planted sum() and = runs neither" t "$plant"
check "... and the role did not become anything it was not" "false|false" \
    "$(su_sql -c "SELECT rolsuper || '|' || rolcreaterole FROM pg_roles WHERE rolname = 'hm_app'")"

# --- Tables: nobody but the API writes; the app reads nothing directly ---
check "app: no SELECT on the ledger (42501)" 42501 "$(state_of hm_app "SELECT count(*) FROM handle_market.transfers")"
check "app: no INSERT into accounts (42501)" 42501 "$(state_of hm_app "INSERT INTO handle_market.accounts (account_id) VALUES (999)")"
check "admin: no UPDATE of wallets (42501)" 42501 "$(state_of hm_admin "UPDATE handle_market.ledger_accounts SET balance = 0")"
check "the books balance after all of the above" "" "$(su_sql -c "SELECT string_agg(c, '; ') FROM handle_market.check_invariants() c")"

# --- History partitions (issue 12, bounded growth), as deployed ---
# The matrix's CALL create_history_partitions() made this month and 3 ahead,
# and the seed's events of earlier months moved out of the default partition.
cur="handle_events_p$(su_sql -c "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM')")"
check "the maintenance made this month's partition and 3 ahead, every partition guarded, the default one empty" "4 true 0" \
    "$(su_sql -c "SELECT count(*) FILTER (WHERE range_from >= date_trunc('month', now(), 'UTC')) || ' ' || bool_and(guarded)
                         || ' ' || (SELECT count(*) FROM handle_market.handle_events_default)
                    FROM handle_market.history_partitions()")"
check "admin: detaching this month's history is refused (HM019)" HM019 \
    "$(state_of hm_admin "SELECT handle_market.detach_history(now())")"
check "admin: maintenance at a time a year ahead is refused (HM017)" HM017 \
    "$(state_of hm_admin "SELECT handle_market.create_history_partition(3, now() + interval '1 year')")"
check "admin: reads this month's partition" ok "$(state_of hm_admin "SELECT count(*) FROM handle_market.$cur")"
check "admin: no INSERT into it (42501)" 42501 \
    "$(state_of hm_admin "INSERT INTO handle_market.$cur (event_id, handle, to_state, at, reason) VALUES (0, 'x_y_z', 'registered', now(), 'x')")"
check "app: no SELECT on it (42501)" 42501 "$(state_of hm_app "SELECT count(*) FROM handle_market.$cur")"
check "public: no DELETE from the default partition (42501)" 42501 \
    "$(state_of hm_public "DELETE FROM handle_market.handle_events_default")"
check "the owner: no TRUNCATE of this month's partition (HM015)" "ERROR:  HM015" \
    "$(psql -X -q -d "$db" -c '\set VERBOSITY sqlstate' -c "TRUNCATE handle_market.$cur" 2>&1)"

# --- A schema created before CREATE EXTENSION by another role ---
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS hm_planted" -c "DROP ROLE IF EXISTS hm_dbowner" \
    -c "CREATE ROLE hm_dbowner LOGIN PASSWORD '${PGPASSWORD:-x}'" -c "CREATE DATABASE hm_planted OWNER hm_dbowner TEMPLATE template0" >/dev/null
PGPASSWORD=${PGPASSWORD:-x} psql -X -q -U hm_dbowner -d hm_planted -c "CREATE SCHEMA handle_market" >/dev/null
out=$(psql -X -q -d hm_planted -c '\set VERBOSITY sqlstate' -c "CREATE EXTENSION handle_market" 2>&1)
check "CREATE EXTENSION refuses a schema another role owns (42501)" "ERROR:  42501" "$out"
msg=$(psql -X -q -d hm_planted -c "CREATE EXTENSION handle_market" 2>&1 | head -1)
check "and says why" 'ERROR:  schema "handle_market" is owned by role "hm_dbowner", not by the role installing handle_market' "$msg"
psql -X -q -d hm_planted -c "DROP SCHEMA handle_market" -c "CREATE SCHEMA handle_market" -c "GRANT CREATE ON SCHEMA handle_market TO hm_dbowner" >/dev/null
check "or one another role may create objects in (42501)" "ERROR:  42501" \
    "$(psql -X -q -d hm_planted -c '\set VERBOSITY sqlstate' -c "CREATE EXTENSION handle_market" 2>&1)"
psql -X -q -d hm_planted -c "DROP SCHEMA handle_market" >/dev/null
check "a database without the schema installs" "" "$(psql -X -q -d hm_planted -c "CREATE EXTENSION handle_market" 2>&1)"

report roles
