#!/usr/bin/env bash
# test/installcheck.sh SUITE...: `make installcheck`.  Runs the named server
# suites, in the order given, against the running server that PGHOST,
# PGPORT and PGUSER name (PGUSER a superuser: the suites create databases,
# roles and the extension), the extension installed there (make install).
#
#   regress     pg_regress (sql/, expected/): make installcheck-regress
#   isolation   isolation specs (test/specs/): make installcheck-isolation
#   pgtap       test/pgtap/*.sql with pg_prove, in a database of its own
#   NAME        test/NAME.sh, or test/NAME/run.sh (drivers)
#
# pg_regress, isolation and pgTAP walk a simulated calendar, so they run with
# handle_market.simulated_time on (added to PGOPTIONS); each script sets
# what it needs itself.  Every suite makes and drops its own databases and
# roles (named hm_*, or pg_regress's contrib_regression and
# isolation_regression), so a second run finds nothing left by the first.
#
# crash_resume, ledger_fault and market_random crash the server (an
# immediate stop, or a backend killed with SIGKILL, which makes the
# postmaster end every session and run crash recovery): they run only with
# CRASH_TESTS=1, on a server nobody else uses, from the machine it runs on.
#
# Each suite's output goes to test/logs/SUITE.log; each prints one line
# "== SUITE: N passed, M failed" (scripts/run_tests.sh reads them), then the
# last line is "installcheck: N passed, M failed"; the exit status is 0 only
# when every suite ran and passed.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=test/logs
mkdir -p "$logs"
MAKE=${MAKE:-make}
crash_suites=" crash_resume ledger_fault market_random "
passed=0
failed=0

count() {    # count NAME PASSED FAILED
    passed=$((passed + $2))
    failed=$((failed + $3))
    echo "== $1: $2 passed, $3 failed"
}

# pg_regress and the isolation tester: a line per test; their diffs when one
# failed
pg_regress_suite() {    # pg_regress_suite NAME TARGET DIFFS
    local log=$logs/$1.log ok bad
    PGOPTIONS="${PGOPTIONS:-} -c handle_market.simulated_time=on" \
        $MAKE -s --no-print-directory "$2" >"$log" 2>&1
    ok=$(grep -cE '^(test )?[a-z_0-9]+ +\.\.\. ok|^ok [0-9]+ +- ' "$log")
    bad=$(grep -cE '\.\.\. FAILED|^not ok [0-9]+ +- ' "$log")
    grep -E '\.\.\. (ok|FAILED)|^(not )?ok [0-9]+ +- ' "$log"
    if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then
        cat "$log"
        bad=1
    fi
    [ "$bad" -ne 0 ] && [ -s "$3" ] && { echo "--- $3"; cat "$3"; }
    count "$1" "$ok" "$bad"
}

# pgTAP: every file in one database made for it (each file installs the
# extension in its own transaction and rolls it back)
pgtap_suite() {
    local log=$logs/pgtap.log ok bad planned db=hm_pgtap
    psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" \
        -c "CREATE DATABASE $db TEMPLATE template0" >"$log" 2>&1
    PGOPTIONS="${PGOPTIONS:-} -c handle_market.simulated_time=on" PGDATABASE=$db \
        pg_prove -v test/pgtap/*.sql >>"$log" 2>&1
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
    ok=$(grep -cE '^ok [0-9]+' "$log")
    bad=$(grep -cE '^not ok [0-9]+' "$log")
    # a test file that stops early fails, even if every test it ran passed
    planned=$(grep -c 'Looks like you planned' "$log")
    if ! grep -q '^Result: PASS' "$log" || [ "$planned" -ne 0 ]; then
        cat "$log"
        [ "$bad" -eq 0 ] && bad=1
    fi
    count pgTAP "$ok" "$bad"
}

# a test script: its last line "NAME: N passed, M failed"
script_suite() {    # script_suite NAME
    local path=test/$1.sh log=$logs/$1.log line
    [ -f "$path" ] || path=test/$1/run.sh
    if [ ! -f "$path" ]; then
        echo "installcheck: no suite $1"
        count "$1 (no such suite)" 0 1
        return
    fi
    bash "$path" >"$log" 2>&1
    line=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
    if [ -n "$line" ]; then
        grep -E '^not ok' "$log"
        count "$1" "$(awk '{print $2}' <<<"$line")" "$(awk '{print $4}' <<<"$line")"
    else
        cat "$log"
        count "$1 (did not run)" 0 1
    fi
}

run_suite() {    # run_suite NAME
    if [[ "$crash_suites" == *" $1 "* ]] && [ "${CRASH_TESTS:-}" != 1 ]; then
        echo "installcheck: $1 crashes the server; it runs only with CRASH_TESTS=1"
        count "$1 (not run)" 0 1
        return
    fi
    case "$1" in
        regress) pg_regress_suite regress installcheck-regress regression.diffs ;;
        isolation) pg_regress_suite isolation installcheck-isolation output_iso/regression.diffs ;;
        pgtap) pgtap_suite ;;
        *) script_suite "$1" ;;
    esac
}

if psql -X -q -At -d postgres -c "SELECT 1" >/dev/null; then
    for suite in "$@"; do run_suite "$suite"; done
else
    echo "installcheck: no server to connect to (PGHOST=${PGHOST:-} PGPORT=${PGPORT:-})"
    count "server" 0 1
fi
echo
echo "installcheck: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
