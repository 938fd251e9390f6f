#!/usr/bin/env bash
# test/rekey.sh: rekey() after a change of key rules (issue 12).
#
# How the change is faked: handles.key and premium_handles.key are STORED
# generated columns, which no UPDATE can write, so the superuser swaps
# confusable_key() itself for a few registrations: CREATE OR REPLACE keeps
# the function's OID, ACL and comment, and every key written meanwhile is the
# stand-in's, as keys written under an older ICU would be.  The real C
# function is put back before the re-key, and unicode_versions is set to a
# version no server runs.  Nothing of this is reachable in production: it is
# the superuser editing the catalog of a throw-away database, and no setting
# or code path of the extension changes the key rules.  Then, as an operator
# (grant_admin, no superuser), in autocommit:
#   - an interrupted run (start_rekey_run + one rekey_batch, then the
#     session ends) and CALL rekey(2) that resumes it;
#   - exact results: every key recomputed but those of the handles that now
#     collide, each reported once with the handle it collides with and its
#     new key; a key that was blocked only by a key that a later batch moved
#     is re-keyed at the end; the premium list and reservations too; the
#     versions recorded; check_invariants() empty; status() says so;
#   - a rerun changes nothing and reports the same collisions;
#   - one run at a time (HM016).
# Run inside a throw-away cluster (scripts/cluster.sh), or by make
# installcheck, as a superuser; drops its database and role when it ends.
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh
unset PGOPTIONS
db=hm_rekey
forget "$db" hm_rk_admin
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE ${HM_TEMPLATE:-template0}" >/dev/null
su_sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
as_admin() { PGPASSWORD=${PGPASSWORD:-x} psql -X -q -At -v ON_ERROR_STOP=1 -U hm_rk_admin -d "$db" "$@"; }

su_sql <<SQL >/dev/null
CREATE EXTENSION IF NOT EXISTS handle_market;
DO \$\$ BEGIN
    CREATE ROLE hm_rk_admin LOGIN PASSWORD '${PGPASSWORD:-x}';
EXCEPTION WHEN duplicate_object THEN NULL; END \$\$;
SELECT handle_market.grant_admin('hm_rk_admin');
SQL

# The stand-in: the real key, but for the handles named here.  Under it:
#   apex  'apex_old' -> apex    blocked in batch 1 by zeta's old key 'apex'
#   zeta  'apex'     -> zeta    (moves in the last batch, freeing apex's)
#   dock  'dock_old' -> clock   collides with clock (key clock)
#   vvolf 'vvolf_old', wolf 'wolf_old' -> both vvolf: vvolf, first in key
#                                order, takes it; wolf collides with it
#   olive 'olive_old' -> ollve  a plain re-key
#   pdock (premium) 'pdock_old' -> pclock, the key of premium pclock
#   rdock (reserved) 'rdock_old' -> rclock
real_def=$(su_sql -c "SELECT pg_get_functiondef('handle_market.confusable_key(handle_market.handle)'::regprocedure)")
su_sql <<'SQL' >/dev/null
CREATE FUNCTION public.real_key(handle_market.handle) RETURNS text
    AS '$libdir/handle_market', 'handle_confusable_key' LANGUAGE C IMMUTABLE STRICT;
CREATE OR REPLACE FUNCTION handle_market.confusable_key(handle_market.handle) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT CASE $1::text WHEN 'apex' THEN 'apex_old' WHEN 'zeta' THEN 'apex'
                           WHEN 'dock' THEN 'dock_old' WHEN 'vvolf' THEN 'vvolf_old'
                           WHEN 'wolf' THEN 'wolf_old' WHEN 'olive' THEN 'olive_old'
                           WHEN 'pdock' THEN 'pdock_old' WHEN 'rdock' THEN 'rdock_old'
                           ELSE public.real_key($1) END $$;
SELECT handle_market.upsert_account(1);
SELECT handle_market.register_handle(1, h) FROM unnest(ARRAY['apex', 'clock', 'dock', 'olive', 'vvolf', 'wolf', 'zeta', 'kilo']) h;
SELECT handle_market.set_premium('pclock', 10000), handle_market.set_premium('pdock', 10000);
SELECT handle_market.reserve_handle('rdock', 'brand');
SQL
su_sql -c "$real_def" >/dev/null
su_sql -c "DROP FUNCTION public.real_key(handle_market.handle)" \
       -c "UPDATE handle_market.unicode_versions SET icu_version = '0.1', unicode_version = '0.1'"

check "a session warns that the keys were computed with another ICU, and says what to run" \
    "HINT:  Run CALL handle_market.rekey(); as an operator (version 1.1 and later): it recomputes the stored keys and records the versions." \
    "$(as_admin -c "SELECT handle_market.confusable_key('x')" 2>&1 >/dev/null | grep HINT)"
check "the stand-in wrote stale keys" "apex|apex_old|apex;dock|dock_old|clock;olive|olive_old|ollve;vvolf|vvolf_old|vvolf;wolf|wolf_old|vvolf;zeta|apex|zeta" \
    "$(su_sql -c "SELECT string_agg(format('%s|%s|%s', handle, key, handle_market.confusable_key(handle)), ';' ORDER BY handle)
                    FROM handle_market.handles WHERE key <> handle_market.confusable_key(handle)")"
check "the real confusable_key is back (C, still PUBLIC)" "c|true" \
    "$(su_sql -c "SELECT l.lanname || '|' || has_function_privilege('public', p.oid, 'EXECUTE') FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
                    WHERE p.oid = 'handle_market.confusable_key(handle_market.handle)'::regprocedure")"
check "an operator cannot write the runs or the collisions" "42501" \
    "$(as_admin -c '\set VERBOSITY sqlstate' -c "DELETE FROM handle_market.rekey_collisions" 2>&1 | sed -n 's/^ERROR: *//p')"

# An interrupted run: one batch, then the session ends (its lock with it).
first=$(as_admin <<'SQL' | tr '\n' ' '
SELECT handle_market.start_rekey_run(2) AS run \gset
SELECT :run;
SELECT examined FROM handle_market.rekey_batch(:run);
SQL
)
check "an operator's run by hand: one batch of 2" "1 2 " "$first"
check "the first batch left apex: zeta, of a later batch, still has the key 'apex'" "1|apex|zeta|apex" \
    "$(su_sql -c "SELECT string_agg(format('%s|%s|%s|%s', run_id, handle, other_handle, new_key), ';') FROM handle_market.rekey_collisions")"

out=$(as_admin -c "CALL handle_market.rekey(2)" 2>&1)
check "rekey: a NOTICE per batch (8 handles, 2 done, batches of 2)" 3 "$(grep -c 'NOTICE:  rekey run 2: batch' <<<"$out")"
check "rekey: the batches' counts" \
    'NOTICE:  rekey run 2: batch 1: examined 2, re-keyed 0, collisions 1 (through "kilo")|NOTICE:  rekey run 2: batch 2: examined 2, re-keyed 2, collisions 0 (through "vvolf")|NOTICE:  rekey run 2: batch 3: examined 2, re-keyed 1, collisions 1 (through "zeta")' \
    "$(grep 'NOTICE:  rekey run 2: batch' <<<"$out" | paste -sd'|')"
check "rekey: a WARNING names the collisions" \
    "WARNING:  rekey run 2: 3 handles now share a confusable key with another handle and keep their old keys" \
    "$(grep 'WARNING:  rekey' <<<"$out")"
check "rekey resumed the interrupted run after its last handle" "1|interrupted;2|finished|1|6|3" \
    "$(su_sql -c "SELECT string_agg(CASE WHEN run_id = 1 THEN run_id || '|' || status
                                         ELSE concat_ws('|', run_id, status, resumed_run_id, examined, collisions) END, ';' ORDER BY run_id)
                    FROM handle_market.rekey_runs")"
check "the collisions, exactly: each handle, the one it collides with, the key" \
    "handles|dock|clock|clock;handles|wolf|vvolf|vvolf;premium_handles|pdock|pclock|pclock" \
    "$(su_sql -c "SELECT string_agg(format('%s|%s|%s|%s', in_table, handle, other_handle, new_key), ';' ORDER BY in_table, handle)
                    FROM handle_market.rekey_collisions WHERE run_id = 2")"
check "every other stored key is confusable_key(handle); the colliding ones kept theirs" \
    "dock|dock_old;pdock|pdock_old;wolf|wolf_old" \
    "$(su_sql -c "SELECT string_agg(format('%s|%s', handle, key), ';' ORDER BY handle) FROM (
                    SELECT handle, key FROM handle_market.handles WHERE key <> handle_market.confusable_key(handle)
                    UNION ALL
                    SELECT handle, key FROM handle_market.premium_handles WHERE key <> handle_market.confusable_key(handle)) s")"
check "apex, blocked by zeta's old key, was re-keyed once zeta moved" "apex|zeta" \
    "$(su_sql -c "SELECT string_agg(key, '|' ORDER BY handle) FROM handle_market.handles WHERE handle::text IN ('apex', 'zeta')")"
check "the reservations were re-keyed" "rclock" \
    "$(su_sql -c "SELECT key FROM handle_market.reserved WHERE pattern = 'rdock'")"
check "the run counted: re-keyed handles, premium, reserved" "4|0|1" \
    "$(su_sql -c "SELECT rekeyed || '|' || premium_rekeyed || '|' || reserved_rekeyed FROM handle_market.rekey_runs WHERE run_id = 2")"
check "a new session no longer warns about the versions" "" \
    "$(as_admin -c "SELECT handle_market.confusable_key('x')" 2>&1 >/dev/null)"
check "the versions are recorded" "t" \
    "$(su_sql -c "SELECT icu_version = handle_market.running_icu_version() AND unicode_version = handle_market.running_unicode_version() FROM handle_market.unicode_versions")"
check "the registry is consistent: check_invariants() is empty" "" \
    "$(as_admin -c "SELECT string_agg(c::text, '; ') FROM handle_market.check_invariants() c")"
check "status() reports the run's collisions and current versions" "rekey_run_collisions|3;rekey_run_examined|6;unicode_versions_stale|0" \
    "$(as_admin -c "SELECT string_agg(metric || '|' || value, ';' ORDER BY metric) FROM handle_market.status()
                     WHERE metric IN ('rekey_run_collisions', 'rekey_run_examined', 'unicode_versions_stale')")"
check "the unique index still refuses a look-alike of a colliding handle" "HM" \
    "$(as_admin -c '\set VERBOSITY sqlstate' -c "SELECT handle_market.register_handle(1, 'cl0ck')" 2>&1 | sed -n 's/^ERROR: *\(HM\).*/\1/p')"

# A rerun changes nothing and reports the same collisions.
out=$(as_admin -c "CALL handle_market.rekey()" 2>&1)
check "a rerun: one batch, nothing re-keyed, the same collisions (2 handles, 1 premium)" \
    'NOTICE:  rekey run 3: batch 1: examined 8, re-keyed 0, collisions 2 (through "zeta")|3|0' \
    "$(grep 'batch 1' <<<"$out")|$(su_sql -c "SELECT collisions || '|' || rekeyed FROM handle_market.rekey_runs WHERE run_id = 3")"
check "a rerun reports the same collisions" \
    "handles|dock|clock|clock;handles|wolf|vvolf|vvolf;premium_handles|pdock|pclock|pclock" \
    "$(su_sql -c "SELECT string_agg(format('%s|%s|%s|%s', in_table, handle, other_handle, new_key), ';' ORDER BY in_table, handle)
                    FROM handle_market.rekey_collisions WHERE run_id = 3")"

# One run at a time.
as_admin -c "SELECT handle_market.start_rekey_run(5), pg_sleep(3)" >/dev/null 2>&1 &
holder=$!
sleep 1
check "a re-key while another run holds the lock raises HM016" HM016 \
    "$(as_admin -c '\set VERBOSITY sqlstate' -c "CALL handle_market.rekey()" 2>&1 | sed -n 's/^ERROR: *//p')"
wait "$holder"
check "once the holder is gone, a run goes (and marks the dead one interrupted)" "finished|interrupted" \
    "$(as_admin -c "CALL handle_market.rekey()" 2>/dev/null; su_sql -c "SELECT string_agg(status, '|' ORDER BY run_id DESC) FROM (SELECT * FROM handle_market.rekey_runs ORDER BY run_id DESC LIMIT 2) r")"
check "batch_size 0 is refused (22023)" 22023 \
    "$(as_admin -c '\set VERBOSITY sqlstate' -c "CALL handle_market.rekey(0)" 2>&1 | sed -n 's/^ERROR: *//p')"

report rekey
