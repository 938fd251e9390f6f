#!/usr/bin/env bash
# scripts/run_tests.sh: `make test`.  On a fresh Debian 12 machine: installs
# what is missing, builds and installs the extension, runs the core unit
# tests, a libFuzzer smoke run, pg_regress and isolation tests, and the pgTAP
# suite in a throw-away cluster.  Ends with "N passed, M failed".
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

# These suites walk a simulated calendar (day 0, day 30, ...): they connect
# as the superuser, which may turn handle_market.simulated_time on, install
# and seed, then run their calls as roles granted by grant_app() and
# grant_admin() (SET ROLE keeps the setting).  The suites that test the
# extension as deployed (roles, readme, drivers) run without it, as login
# roles that are no superuser.
export PGOPTIONS="-c handle_market.simulated_time=on"

# pg_regress, isolation and pgTAP inside one throw-away cluster
bash scripts/cluster.sh bash -c '
    make installcheck ISOLATION= >test/logs/regress.log 2>&1
    make installcheck REGRESS= >test/logs/isolation.log 2>&1
    pg_prove -v test/pgtap/*.sql >test/logs/pgtap.log 2>&1
    true' >"$logs/cluster.log" 2>&1

for suite in regress isolation; do
    log="$logs/$suite.log"
    ok=$(grep -cE '^(test )?[a-z_0-9]+ +\.\.\. ok|^ok [0-9]+ +- ' "$log" 2>/dev/null)
    bad=$(grep -cE '\.\.\. FAILED|^not ok [0-9]+ +- ' "$log" 2>/dev/null)
    grep -E '\.\.\. (ok|FAILED)|^(not )?ok [0-9]+ +- ' "$log"
    if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then
        cat "$log" "$logs/cluster.log"
        bad=1
    fi
    count "$suite" "$ok" "$bad"
done
for diffs in regression.diffs output_iso/regression.diffs; do
    [ -s "$diffs" ] && { echo "--- $diffs"; cat "$diffs"; }
done

ok=$(grep -cE '^ok [0-9]+' "$logs/pgtap.log" 2>/dev/null)
bad=$(grep -cE '^not ok [0-9]+' "$logs/pgtap.log" 2>/dev/null)
# a test file that stops early fails, even if every test it ran passed
planned=$(grep -c 'Looks like you planned' "$logs/pgtap.log" 2>/dev/null)
if ! grep -q '^Result: PASS' "$logs/pgtap.log" || [ "$planned" -ne 0 ]; then
    cat "$logs/pgtap.log"
    [ "$bad" -eq 0 ] && bad=1
fi
count "pgTAP" "$ok" "$bad"

# Scripts that need a cluster of their own (crash_resume crashes it);
# drivers is test/drivers/run.sh.  roles, readme and drivers test the extension as
# deployed: they unset PGOPTIONS (no simulated time).
for script in crash_resume dump_roundtrip ledger_fault market_random roles readme rekey drivers upgrade; do
    path=test/$script.sh
    [ -f "$path" ] || path=test/$script/run.sh
    bash scripts/cluster.sh bash "$path" >"$logs/$script.log" 2>&1
    line=$(grep -E "^$script: [0-9]+ passed, [0-9]+ failed" "$logs/$script.log" | tail -1)
    if [ -n "$line" ]; then
        grep -E '^not ok' "$logs/$script.log"
        count "$script" "$(echo "$line" | awk '{print $2}')" "$(echo "$line" | awk '{print $4}')"
    else
        cat "$logs/$script.log"
        count "$script (did not run)" 0 1
    fi
done

finish
