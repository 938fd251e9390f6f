#!/usr/bin/env bash
# test/dump_roundtrip.sh: pg_dump / pg_restore keeps every row of the
# extension's tables.
#
# Run inside a throw-away cluster:  bash scripts/cluster.sh bash test/dump_roundtrip.sh
# (it connects as the cluster's superuser, which pg_virtualenv sets up).
#
# Makes a database with accounts and handles in every state (registered,
# at_risk, released, restored, re-registered after release, held), release
# runs (finished, dry, interrupted and resumed), a policy version
# (add_policy_version('2027-01-01', '{"inactive_after": "60 days"}')) and a
# reservation (reserve_handle('acme', 'brand')), two pricing versions (the
# second makes handles of 6 or more characters free, so that a released one
# can be registered again) and a premium-list entry, dumps it with pg_dump -Fc and
# restores it four ways:
#   1. plain pg_restore: refused.  The data of the extension's tables is
#      loaded with COPY, and the guard triggers refuse every COPY (HM015).
#   2. pg_restore --disable-triggers of the whole dump: refused the same way.
#      pg_restore emits DISABLE TRIGGER ALL only in a data-only restore (-a);
#      in a full restore the option does nothing.
#   3. pg_restore -s, then pg_restore -a --disable-triggers: works.  The data
#      pass wraps each table's COPY in ALTER TABLE ... DISABLE / ENABLE
#      TRIGGER ALL (superuser only: it disables the FK triggers too).
#   4. PGOPTIONS='-c session_replication_role=replica' pg_restore: works in one
#      pass.  Ordinary triggers such as the guard (and the FK triggers) do not
#      fire in a replica session; setting the parameter needs superuser.
# For 3 and 4 it compares accounts, handles, handle_events, outbox,
# release_runs, policy and reserved with the source, row for row in both
# directions (EXCEPT ALL both ways, on each row's jsonb), then checks the
# sequences, that every trigger is enabled again, that the guard still
# refuses direct writes, and that the API goes on where the source stopped.
#
# handle_events is partitioned by month (doc/history_partitions.md): the
# source's history is in its default partition (the extension's, dumped as
# a configuration table), in monthly partitions made at run time by
# create_history_partitions() (January's events moved there out of the
# default partition; tables of no extension, dumped as any table is, and
# attached by pg_dump after CREATE EXTENSION has made the parent), and in
# January's partition, detached by detach_history() (an ordinary table
# now) and recorded in history_archive.  Every event must come back once, in
# the partition it was in.
#
# The rows CREATE EXTENSION makes itself (policy version 1, the 'twitter' and
# 'admin' reservations) are not in the dump (pg_extension_config_dump
# filters); the restore's CREATE EXTENSION makes them again, so their
# created_at is the restore's time: they are compared without created_at.
# Prints "dump_roundtrip: N passed, M failed" and exits non-zero on failure.
set -uo pipefail
# the calendar is simulated (history in the past; superuser only)
export PGOPTIONS="${PGOPTIONS:-} -c handle_market.simulated_time=on"

src=hm_dump_src
tmp=$(mktemp -d)

# the extension's own triggers (not foreign-key ones) on its tables
count_triggers="SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                 WHERE c.relnamespace = 'handle_market'::regnamespace AND NOT t.tgisinternal"
# where each event is, and the partitions with their bounds and guards
placed="SELECT string_agg(t || ':' || n || ':' || ids, ' ' ORDER BY t) FROM (
          SELECT tableoid::regclass::text t, count(*) n, md5(string_agg(event_id::text, ',' ORDER BY event_id)) ids
            FROM handle_market.handle_events GROUP BY 1) x"
in_partitions="SELECT (SELECT count(*) FROM handle_market.handle_events
                          WHERE tableoid <> 'handle_market.handle_events_default'::regclass)
                       + (SELECT count(*) FROM handle_market.handle_events_p2026_01)"
partitions="SELECT string_agg(format('%s %s %s %s', partition, range_from, range_to, guarded), '; ' ORDER BY partition)
              FROM handle_market.history_partitions()"
tables="accounts handles handle_events handle_events_p2026_01 history_archive outbox release_runs policy reserved pricing price_tiers commission_rates premium_handles"

. "$(dirname "$0")/lib.sh"

# A failed query prints a marker of its own, so two failures never compare equal.
value() {    # value DB SQL
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "SET timezone = 'UTC'" -c "$2" \
        || echo "query failed ($RANDOM$RANDOM)"
}

dbs() { value postgres "SELECT string_agg(datname, ' ') FROM pg_database WHERE datname LIKE 'hm_dump_%'"; }

drop_dbs() {
    for d in $(dbs); do
        psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1
    done
}

finish() {
    drop_dbs
    rm -rf "$tmp"
    report dump_roundtrip
    exit $?
}

new_db() { psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $1 TEMPLATE template0"; }

# One line per row: the row as jsonb, without created_at for the extension's
# own rows; in primary key order.
rows() {    # rows DB TABLE
    local key strip="''"
    case $2 in
        accounts) key=account_id ;;
        handles) key=handle ;;
        handle_events|handle_events_p2026_01) key=event_id ;;
        history_archive) key=partition ;;
        outbox) key=message_id ;;
        release_runs) key=run_id ;;
        policy) key=version; strip="CASE WHEN t.version = 1 THEN 'created_at' ELSE '' END" ;;
        reserved) key=pattern; strip="CASE WHEN t.pattern IN ('twitter', 'admin') THEN 'created_at' ELSE '' END" ;;
        pricing) key=version; strip="CASE WHEN t.version = 1 THEN 'created_at' ELSE '' END" ;;
        price_tiers|commission_rates) key=version ;;
        premium_handles) key=handle ;;
    esac
    value "$1" "SELECT to_jsonb(t) - $strip FROM handle_market.$2 t ORDER BY t.$key"
}

compare_tables() {    # compare_tables DB LABEL
    local t a b only_src only_dst
    for t in $tables; do
        rows "$src" "$t" | sort >"$tmp/a"
        rows "$1" "$t" | sort >"$tmp/b"
        only_src=$(comm -23 "$tmp/a" "$tmp/b" | wc -l)
        only_dst=$(comm -13 "$tmp/a" "$tmp/b" | wc -l)
        a=$(wc -l <"$tmp/a")
        b=$(wc -l <"$tmp/b")
        check "$2: $t: $a rows, none missing, none extra" "$a 0 0" "$b $only_src $only_dst"
        if [ "$only_src$only_dst" != 00 ]; then
            comm -3 "$tmp/a" "$tmp/b" | head -5 | sed 's/^/#   /'
        fi
    done
}

check_restored() {    # check_restored DB LABEL
    local db=$1 label=$2
    compare_tables "$db" "$label"
    local seqs="SELECT e.last_value || '/' || e.is_called || ' ' || o.last_value || '/' || o.is_called
                       || ' ' || r.last_value || '/' || r.is_called
                  FROM handle_market.handle_events_event_id_seq e, handle_market.outbox_message_id_seq o,
                       handle_market.release_runs_run_id_seq r"
    check "$label: sequences as in the source" "$(value "$src" "$seqs")" "$(value "$db" "$seqs")"
    check "$label: every event in the partition it was in" "$(value "$src" "$placed")" "$(value "$db" "$placed")"
    check "$label: the partitions attached as in the source, each guarded" "$(value "$src" "$partitions")" "$(value "$db" "$partitions")"
    check "$label: check_invariants() finds nothing" "" "$(value "$db" "SELECT string_agg(c, '; ') FROM handle_market.check_invariants() c")"
    check "$label: every trigger on the extension's tables is enabled" 0 \
        "$(value "$db" "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                         WHERE c.relnamespace = 'handle_market'::regnamespace AND t.tgenabled <> 'O'")"
    # as many as CREATE EXTENSION made in the source: the guards, the outbox's
    # notify, and the policy_changed / pricing_changed cache invalidations
    check "$label: the extension's triggers present" "$(value "$src" "$count_triggers")" \
        "$(value "$db" "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                         WHERE c.relnamespace = 'handle_market'::regnamespace AND NOT t.tgisinternal")"
    check "$label: the guard refuses a direct write" "ERROR:  HM015" \
        "$(psql -X -q -d "$db" -c '\set VERBOSITY sqlstate' \
               -c "INSERT INTO handle_market.outbox (kind, handle, at, detail) VALUES ('held', 'x_y_z', now(), 'x')" 2>&1)"
    # the API goes on where the source stopped: new ids follow the source's
    local max_event max_run
    max_event=$(value "$src" "SELECT max(event_id) FROM handle_market.handle_events")
    max_run=$(value "$src" "SELECT max(run_id) FROM handle_market.release_runs")
    check "$label: register_handle works, its event follows the source's last" "afterlife $((max_event + 1))" \
        "$(value "$db" "SELECT handle_market.register_handle(4, 'afterlife', '2027-03-01 00:00+00')" 2>&1) $(value "$db" "SELECT max(event_id) FROM handle_market.handle_events")"
    check "$label: release_dormant works, its run follows the source's last" "$((max_run + 1)) finished" \
        "$(psql -X -q -d "$db" -c "CALL handle_market.release_dormant('2027-03-01 00:00+00', 3)" >/dev/null 2>&1;
           value "$db" "SELECT run_id || ' ' || status FROM handle_market.release_runs ORDER BY run_id DESC LIMIT 1")"
}

# --- the source -----------------------------------------------------------------
drop_dbs
new_db "$src" || { check "create database" ok failed; finish; }
# Day 0 = 2026-01-01.  Accounts 1, 2, 3, 6, 7 go quiet after day 0; 4 pays,
# 5 is verified (both exempt); 8 and 9 come later.  At the end: quiet_one
# released (day 60); comes_back (active day 45) and restorer (restored day
# 70) at risk again from the day-100 run; on_hold held; subscriber,
# verified_vip, sleepy (taken by account 8 on day 130) and newcomer registered.
if ! psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -d "$src" >"$tmp/setup.log" 2>&1 <<'SQL'
SET timezone = 'UTC';
SET client_min_messages = warning;
CREATE EXTENSION handle_market;
SELECT handle_market.upsert_account(1, active_at => '2026-01-01 00:00+00'),
       handle_market.upsert_account(2, active_at => '2026-01-01 00:00+00'),
       handle_market.upsert_account(3, active_at => '2026-01-01 00:00+00'),
       handle_market.upsert_account(4, 'premium', active_at => '2026-01-01 00:00+00'),
       handle_market.upsert_account(5, verified => true, active_at => '2026-01-01 00:00+00'),
       handle_market.upsert_account(6, active_at => '2026-01-01 00:00+00'),
       handle_market.upsert_account(7, active_at => '2026-01-01 00:00+00');
SELECT handle_market.register_handle(1, 'Quiet_One', '2026-01-01 00:00+00'),
       handle_market.register_handle(2, 'comes_back', '2026-01-01 00:00+00'),
       handle_market.register_handle(3, 'restorer', '2026-01-01 00:00+00'),
       handle_market.register_handle(4, 'subscriber', '2026-01-01 00:00+00'),
       handle_market.register_handle(5, 'verified_vip', '2026-01-01 00:00+00'),
       handle_market.register_handle(6, 'on_hold', '2026-01-01 00:00+00'),
       handle_market.register_handle(7, 'sleepy', '2026-01-01 00:00+00');
SELECT handle_market.add_policy_version('2027-01-01 00:00+00', '{"inactive_after": "60 days"}');
SELECT handle_market.reserve_handle('acme', 'brand');
CALL handle_market.release_dormant('2026-01-31 00:00+00', 3);          -- day 30: notices
-- day 31: the history's first maintenance: January (its events move out of
-- the default partition), February, March and April
CALL handle_market.create_history_partitions(2, '2026-02-01 00:00+00');
SELECT handle_market.touch(2, '2026-02-15 00:00+00');                 -- day 45: comes back
SELECT handle_market.hold_handle('on_hold', 'trademark dispute', '2026-02-20 00:00+00');
CALL handle_market.release_dormant('2026-03-02 00:00+00', 3);          -- day 60: releases
SELECT handle_market.restore_handle('restorer', 3, '2026-03-12 00:00+00');  -- day 70
CALL handle_market.release_dormant('2026-04-01 00:00+00', 3, true);    -- day 90: a dry run
-- day 100: a run that died after one batch, then the run that resumed it
SELECT handle_market.start_release_run('2026-04-11 00:00+00', 2, false);
SELECT handle_market.release_batch(max(run_id)) FROM handle_market.release_runs;
CALL handle_market.release_dormant('2026-04-11 00:00+00', 2);
-- day 130: sleepy, released on day 60, is available again
-- released handles are sold by the platform; from day 120 one of 6 or more characters is free
SELECT handle_market.add_pricing_version('2026-05-01 00:00+00', '{"tiers": {"4": 1000000, "5": 250000, "6": 0}}');
SELECT handle_market.set_premium('gold_bar', 7500000, 'rare');
SELECT handle_market.upsert_account(8, active_at => '2026-05-11 00:00+00');
SELECT handle_market.register_handle(8, 'sleepy', '2026-05-11 00:00+00');
-- under policy version 2
SELECT handle_market.upsert_account(9, active_at => '2027-02-01 00:00+00');
SELECT handle_market.register_handle(9, 'newcomer', '2027-02-01 00:00+00');
-- January is detached (an ordinary table now) and recorded in history_archive
SELECT handle_market.detach_history('2026-02-01 00:00+00', '2026-05-11 00:00+00');
SQL
then
    cat "$tmp/setup.log"
    check "set up the source" ok failed
    finish
fi
check "source: handles in every state" \
    "at_risk:2 held:1 registered:4 released:1" \
    "$(value "$src" "SELECT string_agg(s || ':' || n, ' ' ORDER BY s) FROM (
                       SELECT CASE WHEN hold_reason IS NOT NULL THEN 'held' ELSE state END s, count(*) n
                         FROM handle_market.handles GROUP BY 1) x")"
check "source: restored and re-registered handles, an interrupted and a resumed run" "1 1 1 1" \
    "$(value "$src" "SELECT (SELECT count(*) FROM handle_market.handle_events WHERE from_state = 'redemption')
                     || ' ' || (SELECT count(*) FROM handle_market.handle_events WHERE from_state = 'available')
                     || ' ' || (SELECT count(*) FROM handle_market.release_runs WHERE status = 'interrupted')
                     || ' ' || (SELECT count(*) FROM handle_market.release_runs WHERE resumed_run_id IS NOT NULL)")"
check "source: policy version 2 and the acme reservation" "2 1" \
    "$(value "$src" "SELECT (SELECT max(version) FROM handle_market.policy) || ' '
                     || (SELECT count(*) FROM handle_market.reserved WHERE pattern = 'acme')")"
check "source: pricing version 2 and a premium-list entry" "2 1" \
    "$(value "$src" "SELECT (SELECT max(version) FROM handle_market.pricing) || ' '
                     || (SELECT count(*) FROM handle_market.premium_handles)")"
# every guarded table pg_dump writes data for (its extension configuration tables)
n_guarded=$(value "$src" "SELECT count(*) FROM pg_extension e, unnest(e.extconfig) r(oid)
                           JOIN pg_class c ON c.oid = r.oid
                          WHERE e.extname = 'handle_market' AND c.relkind = 'r'
                            AND EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'guard')")

pg_dump -Fc -d "$src" -f "$tmp/src.dump" 2>"$tmp/dump.log"
check "pg_dump -Fc" 0 "$?"
grep -v 'circular foreign-key\|detail: release_runs\|hint:' "$tmp/dump.log"

# --- 1 and 2: refused -------------------------------------------------------------
for how in plain disable-triggers; do
    db=hm_dump_$(echo "$how" | tr - _)
    new_db "$db"
    if [ "$how" = plain ]; then
        pg_restore -d "$db" "$tmp/src.dump" >"$tmp/restore.log" 2>&1
    else
        pg_restore --disable-triggers -d "$db" "$tmp/src.dump" >"$tmp/restore.log" 2>&1
    fi
    rc=$?
    check "$how full restore: pg_restore fails" yes "$([ "$rc" -ne 0 ] && echo yes || echo no)"
    check "$how full restore: the guard refused the COPY into each of the $n_guarded tables" "$n_guarded" \
        "$(grep -c 'COPY failed for table .*: ERROR:  direct writes to handle_market\.[a-z_]* are not allowed' "$tmp/restore.log")"
    check "$how full restore: no row got into the extension's tables" 0 \
        "$(value "$db" "SELECT (SELECT count(*) FROM handle_market.accounts) + (SELECT count(*) FROM handle_market.handles)
                        + (SELECT count(*) FROM handle_market.handle_events_default) + (SELECT count(*) FROM handle_market.outbox)
                        + (SELECT count(*) FROM handle_market.release_runs) + (SELECT count(*) FROM handle_market.history_archive)")"
    # The monthly partitions belong to no extension: pg_dump makes their
    # guards after their data, as it makes any table's triggers, so a plain
    # restore (which fails) loads them.  Pinned, so that a change is noticed.
    check "$how full restore: the monthly partitions, tables of no extension, were loaded before their guards were made" \
        "$(value "$src" "$in_partitions")" "$(value "$db" "$in_partitions")"
done

# --- 3: schema, then data with --disable-triggers ---------------------------------
db=hm_dump_two_pass
new_db "$db"
pg_restore -s -d "$db" "$tmp/src.dump" >"$tmp/restore.log" 2>&1
check "two-pass restore: pg_restore -s" 0 "$?"
pg_restore -a --disable-triggers -d "$db" "$tmp/src.dump" >>"$tmp/restore.log" 2>&1
rc=$?
check "two-pass restore: pg_restore -a --disable-triggers" 0 "$rc"
[ "$rc" -ne 0 ] && cat "$tmp/restore.log"
check_restored "$db" "two-pass restore"

# --- 4: one pass as a replica session -------------------------------------------
db=hm_dump_replica
new_db "$db"
PGOPTIONS='-c session_replication_role=replica' pg_restore -d "$db" "$tmp/src.dump" >"$tmp/restore.log" 2>&1
rc=$?
check "replica restore: PGOPTIONS='-c session_replication_role=replica' pg_restore" 0 "$rc"
[ "$rc" -ne 0 ] && cat "$tmp/restore.log"
check_restored "$db" "replica restore"

# --- known bug: changes to the extension's own reservations do not survive --------
# reserve_handle() may change the built-in 'twitter' and 'admin' rows and
# unreserve_handle() may delete them, but pg_extension_config_dump's filter
# (pattern NOT IN ('twitter', 'admin')) leaves them out of the dump and the
# restore's CREATE EXTENSION makes the defaults again.
db=hm_dump_builtin
new_db "$db"
psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d "$db" \
    -c "CREATE EXTENSION handle_market" \
    -c "SELECT handle_market.reserve_handle('twitter', 'legal', 'substring', 'changed by an operator')" \
    -c "SELECT handle_market.unreserve_handle('admin')"
pg_dump -Fc -d "$db" -f "$tmp/builtin.dump" 2>/dev/null
new_db hm_dump_builtin_restored
PGOPTIONS='-c session_replication_role=replica' pg_restore -d hm_dump_builtin_restored "$tmp/builtin.dump" >/dev/null 2>&1
reserved_q="SELECT string_agg(pattern || ':' || reason || ':' || coalesce(note, ''), ' ' ORDER BY pattern)
              FROM handle_market.reserved"
# The documented limitation (README, "Privileges and the guard"): CREATE
# EXTENSION recreates the two seeded reservations at restore time, so changes
# to those two rows are not carried over.  Pinned here so that a change of
# behaviour is noticed.
check "the source holds the operator's changes to the seeded reservations" \
    "twitter:legal:changed by an operator" "$(value "$db" "$reserved_q")"
check "a restore recreates the seeded reservations as installed (documented)" \
    "admin:system:impersonates staff twitter:brand:the platform's name" \
    "$(value hm_dump_builtin_restored "$reserved_q")"

finish
