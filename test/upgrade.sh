#!/usr/bin/env bash
# test/upgrade.sh: ALTER EXTENSION handle_market UPDATE, from every released
# version to the current one.  For each older version V:
#   (a) a database with V installed and updated equals a fresh install of the
#       current version object by object (test/catalog_fingerprint.sql:
#       functions with their bodies and settings, tables, constraints,
#       indexes, triggers, comments, ACLs), and the data the scripts write
#       (api_grants, the first policy and pricing versions, the platform's
#       ledger accounts, the seeded reservations) is the same;
#   (b) a database loaded with realistic state under V (test/upgrade_seed.sql)
#       keeps it exactly: every table's rows, the balances, an empty
#       check_invariants(); the roles V granted are recorded and can call what
#       the update added;
#   (c) the whole server suite (pg_regress, isolation, pgTAP, the role matrix
#       and the documentation's examples) passes on databases made from a
#       template database (hm_up_template) that was updated from the oldest
#       version: pg_regress in one such database (--use-existing, so that it
#       does not make its own from template0), each isolation spec in one of
#       its own (a spec's teardown reinstalls the extension), each pgTAP file
#       in one of its own, roles.sh and readme.sh from it (HM_TEMPLATE).
# Run inside a throw-away cluster (scripts/cluster.sh), or by make
# installcheck, as a superuser.  template1 is left alone; every database and
# role it makes is dropped when it ends.
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" handle_market.control)
olds=$(ls versions/ | sed -n 's/^handle_market--\([0-9.]*\)\.sql$/\1/p' | sort -V | grep -vx "$current")
oldest=$(head -1 <<<"$olds")
export PGOPTIONS=""          # the seed turns simulated time on itself
TMPDIR=$(mktemp -d)
forget "hm_fresh hm_bare hm_state hm_tap hm_up_regress hm_up_isolation hm_up_template" "hm_up_app hm_up_admin"
trap 'rm -rf "$TMPDIR"; forget_now' EXIT

sq() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
fresh_db() { sq -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"; }

fresh_db hm_fresh
sq -d hm_fresh -c "CREATE EXTENSION handle_market"
# the data the extension's scripts write, without times of installation
script_data="SELECT 'api_grants', (SELECT string_agg(format('%s %s %s', routine, is_procedure, level), '; ' ORDER BY routine) FROM handle_market.api_grants)
  UNION ALL SELECT 'policy', (SELECT string_agg((p.version, p.effective_from, p.inactive_after, p.notice_period, p.redemption_period, p.quarantine_period, p.premium_decay, p.transfer_lock, p.touch_resolution, p.profile, p.exempt_verified, p.exempt_subscribers, p.exempt_memorialized)::text, '; ') FROM handle_market.policy p)
  UNION ALL SELECT 'platform accounts', (SELECT string_agg(format('%s %s %s', ledger_account_id, kind, slot), '; ' ORDER BY ledger_account_id) FROM handle_market.ledger_accounts WHERE kind <> 'wallet')
  UNION ALL SELECT 'reserved', (SELECT string_agg(format('%s %s %s', pattern, kind, reason), '; ' ORDER BY pattern) FROM handle_market.reserved)
  UNION ALL SELECT 'extension version', (SELECT extversion FROM pg_extension WHERE extname = 'handle_market')"
sq -d hm_fresh -f test/catalog_fingerprint.sql >"$TMPDIR/fresh.catalog" 2>&1 || true
sq -d hm_fresh -c "$script_data" >"$TMPDIR/fresh.data"
check "a fresh install is version $current" "extension version|$current" "$(tail -1 "$TMPDIR/fresh.data")"

for v in $olds; do
    # (a) the catalog
    fresh_db hm_bare
    sq -d hm_bare -c "CREATE EXTENSION handle_market VERSION '$v'" -c "ALTER EXTENSION handle_market UPDATE"
    sq -d hm_bare -f test/catalog_fingerprint.sql >"$TMPDIR/bare.catalog" 2>&1 || true
    sq -d hm_bare -c "$script_data" >"$TMPDIR/bare.data"
    check "$v updated: the catalog equals a fresh $current, object by object" "" \
        "$(diff "$TMPDIR/fresh.catalog" "$TMPDIR/bare.catalog" | head -40)"
    check "$v updated: the data its scripts write equals a fresh $current's" "" \
        "$(diff "$TMPDIR/fresh.data" "$TMPDIR/bare.data")"
    check "the catalog comparison compares something" yes \
        "$([ "$(wc -l <"$TMPDIR/fresh.catalog")" -gt 500 ] && echo yes || wc -l <"$TMPDIR/fresh.catalog")"

    # (b) the state
    fresh_db hm_state
    db=hm_state
    sq -d hm_state -c "CREATE EXTENSION handle_market VERSION '$v'"
    sq -d postgres -c "DROP ROLE IF EXISTS hm_up_app" -c "DROP ROLE IF EXISTS hm_up_admin" 2>/dev/null
    sq -d postgres -c "CREATE ROLE hm_up_app LOGIN PASSWORD '${PGPASSWORD:-x}'" \
                   -c "CREATE ROLE hm_up_admin LOGIN PASSWORD '${PGPASSWORD:-x}'"
    sq -d hm_state -c "SELECT handle_market.grant_app('hm_up_app')" -c "SELECT handle_market.grant_admin('hm_up_admin')" >/dev/null
    sq -d hm_state -f test/upgrade_seed.sql
    # every table of the old version: its rows, as text, in a fixed order
    tables=$(sq -d hm_state -c "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_class c
                                 WHERE c.relnamespace = 'handle_market'::regnamespace AND c.relkind IN ('r', 'p')")
    # (its columns: a column the update adds is checked on its own below)
    declare -A cols=()
    for t in $tables; do
        cols[$t]=$(sq -d hm_state -c "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
                                       WHERE attrelid = 'handle_market.$t'::regclass AND attnum > 0 AND NOT attisdropped")
    done
    snapshot() {
        for t in $tables; do
            echo "$t $(sq -d hm_state -c "SELECT count(*) || ' ' || coalesce(md5(string_agg(r::text, E'\n' ORDER BY r::text COLLATE \"C\")), '-') FROM (SELECT ${cols[$t]} FROM handle_market.$t) r")"
        done
    }
    snapshot >"$TMPDIR/before"
    sq -d hm_state -c "CREATE TABLE public.routines_before AS SELECT p.oid::regprocedure::text AS sig
                         FROM pg_proc p WHERE p.pronamespace = 'handle_market'::regnamespace"
    phases=$(sq -d hm_state -c "SELECT string_agg(l.state, ' ' ORDER BY l.state) FROM unnest(ARRAY['reg_a','risk_b','red_c','quar_d','prem_e','avail_f','held_g','acme']) h, handle_market.lookup(h) l")
    check "the seed reached every lifecycle state under $v" \
        "at_risk available held premium quarantine redemption registered reserved" "$phases"
    check "the seed made sales, auctions, offers, holds and runs" "t" \
        "$(sq -d hm_state -c "SELECT (SELECT count(*) FROM handle_market.transfers WHERE kind = 'purchase') >= 2
                                  AND (SELECT count(*) FROM handle_market.auctions WHERE state = 'open') = 1
                                  AND (SELECT count(*) FROM handle_market.auctions WHERE state = 'settled') = 1
                                  AND (SELECT count(DISTINCT state) FROM handle_market.offers) = 4
                                  AND (SELECT count(DISTINCT state) FROM handle_market.holds) = 3
                                  AND (SELECT count(*) FROM handle_market.release_runs) >= 8")"
    check "the books agree before the update" "" "$(sq -d hm_state -c "SELECT string_agg(c, '; ') FROM handle_market.check_invariants() c")"
    sq -d hm_state -c "ALTER EXTENSION handle_market UPDATE" 2>&1 | grep -v '^$'
    check "$v with state updated to $current" "$current" "$(sq -d hm_state -c "SELECT extversion FROM pg_extension WHERE extname = 'handle_market'")"
    check "$v to $current: every table of $v keeps every row exactly" "" "$(snapshot | diff "$TMPDIR/before" -)"
    check "$v to $current: the books still agree" "" "$(sq -d hm_state -c "SELECT string_agg(c, '; ') FROM handle_market.check_invariants() c")"
    # the update put $v's history in handle_events' default partition; the
    # first maintenance sorts it into months, and moves, not copies, it
    sq -d hm_state -c "SET handle_market.simulated_time = on" -c "CALL handle_market.create_history_partitions()" >/dev/null 2>&1
    check "$v to $current: the first maintenance sorts $v's history into monthly partitions" "0 yes" \
        "$(sq -d hm_state -c "SELECT (SELECT count(*) FROM handle_market.handle_events_default) || ' '
                                  || CASE WHEN count(*) > 1 THEN 'yes' ELSE 'no' END
                             FROM handle_market.history_partitions() WHERE NOT is_default")"
    check "$v to $current: after it, every table of $v still keeps every row exactly" "" "$(snapshot | diff "$TMPDIR/before" -)"
    check "$v to $current: and the books still agree" "" "$(sq -d hm_state -c "SELECT string_agg(c, '; ') FROM handle_market.check_invariants() c")"
    # the outbox's delivery order (1.1): every message of $v is committed
    # and comes first (writer_xid 0); one written after the update comes
    # after them, whatever its id
    old_last=$(sq -d hm_state -c "SELECT max(message_id) FROM handle_market.outbox")
    old_ids=$(sq -d hm_state -c "SELECT string_agg(message_id::text, ',' ORDER BY message_id) FROM handle_market.outbox")
    check "$v to $current: the outbox's messages of $v have writer_xid 0, and there are some" "0 true" \
        "$(sq -d hm_state -c "SELECT count(*) FILTER (WHERE writer_xid <> '0') || ' ' || (count(*) > 10) FROM handle_market.outbox")"
    sq -d hm_state -c "SET ROLE hm_up_app" -c "SELECT handle_market.register_handle(12, 'after_update')" >/dev/null
    check "$v to $current: outbox_after() hands out $v's messages in id order, then the new one" \
        "$old_ids,registered after_update" \
        "$(sq -d hm_state -c "SET ROLE hm_up_app" -c "SELECT string_agg(CASE WHEN message_id > $old_last THEN kind || ' ' || handle ELSE message_id::text END, ',' ORDER BY n)
                                FROM handle_market.outbox_after(0, 100000) WITH ORDINALITY a(message_id, kind, account_id, handle, at, detail, created_at, writer_xid, n)")"
    check "$v to $current: the roles $v granted are recorded" "hm_up_admin admin; hm_up_app app" \
        "$(sq -d hm_state -c "SELECT string_agg(role || ' ' || level, '; ' ORDER BY role) FROM handle_market.grantees")"
    # what the update added, called by the roles the old version granted
    added=$(sq -d hm_state -F '|' -c "SELECT g.routine, g.level FROM handle_market.api_grants g
                                      WHERE to_regprocedure('handle_market.' || g.routine)::text
                                            NOT IN (SELECT sig FROM public.routines_before)
                                      ORDER BY g.routine")
    check "$current adds API routines to test with old grants" yes "$([ -n "$added" ] && echo yes || echo no)"
    while IFS='|' read -r routine level; do
        [ -z "$routine" ] && continue
        for role in hm_up_app hm_up_admin; do
            want=no
            { [ "$level" = app ] || [ "$role" = hm_up_admin ]; } && want=yes
            check "$role, granted under $v, may call $routine ($level) of $current" "$want" \
                "$(sq -d hm_state -c "SELECT CASE WHEN has_function_privilege('$role', 'handle_market.$routine', 'EXECUTE') THEN 'yes' ELSE 'no' END")"
        done
    done <<<"$added"
done

# (c) the whole suite on databases made from a template updated from the oldest
tmpl=hm_up_template
fresh_db $tmpl
sq -d $tmpl -c "CREATE EXTENSION handle_market VERSION '$oldest'" -c "ALTER EXTENSION handle_market UPDATE"
check "the template was updated from $oldest to $current" "$current" \
    "$(sq -d $tmpl -c "SELECT extversion FROM pg_extension WHERE extname = 'handle_market'")"
# a database made from the template, set as pg_regress sets the ones it makes
from_template() {
    sq -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" \
       -c "CREATE DATABASE $1 TEMPLATE $tmpl"
    for setting in "lc_messages TO 'C'" "lc_monetary TO 'C'" "lc_numeric TO 'C'" "lc_time TO 'C'" \
                   "bytea_output TO 'hex'" "timezone_abbreviations TO 'Default'"; do
        sq -d postgres -c "ALTER DATABASE $1 SET $setting"
    done
}
logs=test/logs/upgrade
rm -rf "$logs" && mkdir -p "$logs"
export PGOPTIONS="-c handle_market.simulated_time=on"
from_template hm_up_regress
make -s --no-print-directory installcheck-regress CONTRIB_TESTDB=hm_up_regress \
    EXTRA_REGRESS_OPTS="--use-existing --outputdir=$logs/regress" >"$logs/regress.log" 2>&1
check "pg_regress ran on the database from the updated template" "$current" \
    "$(sq -d hm_up_regress -c "SELECT extversion FROM pg_extension WHERE extname = 'handle_market'")"
: >"$logs/isolation.log"
for spec in test/specs/*.spec; do
    spec=$(basename "$spec" .spec)
    from_template hm_up_isolation
    make -s --no-print-directory installcheck-isolation ISOLATION="$spec" ISOLATION_TESTDB=hm_up_isolation \
        EXTRA_REGRESS_OPTS="--use-existing --outputdir=$logs/isolation" >>"$logs/isolation.log" 2>&1
    sq -d postgres -c "DROP DATABASE hm_up_isolation"
done
# each pgTAP file in a database of its own, as fresh from the updated
# template as a file's own CREATE EXTENSION would be: they count ids
: >"$logs/pgtap.log"
for f in test/pgtap/*.sql; do
    sq -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS hm_tap" \
       -c "CREATE DATABASE hm_tap TEMPLATE $tmpl"
    PGDATABASE=hm_tap pg_prove "$f" >>"$logs/pgtap.log" 2>&1
done
unset PGOPTIONS
HM_TEMPLATE=$tmpl bash test/roles.sh >"$logs/roles.log" 2>&1
HM_TEMPLATE=$tmpl bash test/readme.sh >"$logs/readme.log" 2>&1
check "on the updated template: pg_regress" 0 "$(grep -c 'FAILED' "$logs/regress.log")"
check "on the updated template: pg_regress ran every test" "$(ls sql/*.sql | wc -l)" "$(grep -c ' \.\.\. ok' "$logs/regress.log")"
check "on the updated template: isolation" 0 "$(grep -c 'FAILED' "$logs/isolation.log")"
check "on the updated template: isolation ran every spec" "$(ls test/specs/*.spec | wc -l)" "$(grep -c ' \.\.\. ok' "$logs/isolation.log")"
check "on the updated template: pgTAP, every file" "$(ls test/pgtap/*.sql | wc -l) PASS" \
    "$(grep -c '^Result: PASS' "$logs/pgtap.log") $(grep -q '^Result: FAIL' "$logs/pgtap.log" && echo FAIL || echo PASS)"
check "on the updated template: the role matrix" "0 failed" "$(sed -n 's/^roles: [0-9]* passed, \([0-9]* failed\)$/\1/p' "$logs/roles.log")"
check "on the updated template: the documentation's examples" "0 failed" "$(sed -n 's/^readme: [0-9]* passed, \([0-9]* failed\)$/\1/p' "$logs/readme.log")"
report upgrade
