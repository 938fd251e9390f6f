#!/usr/bin/env bash
# scripts/run_tests.sh: `make test`.  On a fresh Debian 12 machine: installs
# what is missing, builds and installs the extension, runs the core unit
# tests, a libFuzzer smoke run, and every server suite (make installcheck:
# pg_regress, isolation, pgTAP, the scripts under test/) in throw-away
# clusters.  Prints a count line per suite and ends with "N passed, M
# failed".
set -uo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
logs=test/logs
rm -rf "$logs" && mkdir -p "$logs"
passed=0
failed=0

count() {    # count NAME PASSED FAILED
    passed=$((passed + $2))
    failed=$((failed + $3))
    echo "== $1: $2 passed, $3 failed"
}

finish() {
    echo
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
    exit $?
}

if ! bash scripts/install_deps.sh; then
    count "dependencies" 0 1
    finish
fi

if ! { make -s -j2 && make -s install; } >"$logs/build.log" 2>&1; then
    cat "$logs/build.log"
    count "build" 0 1
    finish
fi
count "build and install" 1 0

make -s unit >"$logs/unit.log" 2>&1
cat "$logs/unit.log"
line=$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed' "$logs/unit.log" | tail -1)
if [ -n "$line" ]; then
    count "core unit tests" "$(echo "$line" | awk '{print $2}')" "$(echo "$line" | awk '{print $4}')"
else
    count "core unit tests (did not run)" 0 1
fi

if make -s fuzz FUZZ_SECONDS="$FUZZ_SECONDS" >"$logs/fuzz.log" 2>&1; then
    count "fuzz smoke (${FUZZ_SECONDS}s, $(grep -o 'Done [0-9]* runs' "$logs/fuzz.log"))" 1 0
else
    tail -40 "$logs/fuzz.log"
    count "fuzz smoke" 0 1
fi

# The server suites are `make installcheck` (test/installcheck.sh: a line
# "== SUITE: N passed, M failed" each), inside throw-away clusters: one for
# every suite that leaves the server running (regress, isolation, pgTAP,
# dump_roundtrip, roles, readme, rekey, drivers, upgrade), and one for each
# suite that crashes it (CRASH_TESTS=1), so that a crash cannot disturb
# another suite.
installcheck() {    # installcheck LOGNAME MAKE-ARGS...
    local log=$logs/$1.log line name
    shift
    bash scripts/cluster.sh make -s --no-print-directory installcheck "$@" >"$log" 2>&1
    grep -v -E '^== .*: [0-9]+ passed, [0-9]+ failed$|^installcheck: [0-9]+ passed|^(Creating new PostgreSQL cluster|Dropping cluster)|^$' "$log"
    if ! grep -qE '^installcheck: [0-9]+ passed, [0-9]+ failed$' "$log"; then
        count "installcheck $* (did not finish)" 0 1
    fi
    while read -r line; do
        name=$(sed -E 's/^== (.*): [0-9]+ passed, [0-9]+ failed$/\1/' <<<"$line")
        count "$name" "$(awk '{print $(NF-3)}' <<<"$line")" "$(awk '{print $(NF-1)}' <<<"$line")"
    done < <(grep -E '^== .*: [0-9]+ passed, [0-9]+ failed$' "$log")
}

installcheck installcheck
for suite in crash_resume ledger_fault market_random; do
    installcheck "installcheck-$suite" SUITES="$suite" CRASH_TESTS=1
done

finish
