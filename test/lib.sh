# test/lib.sh: what the test scripts under test/ share: TAP-style checks,
# psql helpers and the last line that scripts/run_tests.sh reads.  Sourced;
# a script sets db before it calls psql_db or value.
passed=0
failed=0

check() {    # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then
        passed=$((passed + 1))
        echo "ok - $1"
    else
        failed=$((failed + 1))
        echo "not ok - $1: expected '$2', got '$3'"
    fi
}

psql_db() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
# A failed query prints a marker of its own, so two failures never compare equal.
value() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1" || echo "query failed ($RANDOM$RANDOM)"; }

# Waits (30 s at most) for the server to accept connections after a crash.
wait_ready() {
    for _ in $(seq 1 300); do
        pg_isready -q -d postgres && return 0
        sleep 0.1
    done
    return 1
}

# report NAME: "NAME: N passed, M failed"; true when all passed
report() {
    echo "$1: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}
