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

# server_log: the server's log file, to read what the postmaster said after a
# crash: $HM_SERVER_LOG, else pg_virtualenv's (or a Debian) cluster's, else
# the logging collector's current file; nothing when none is readable here.
server_log() {
    local f=${HM_SERVER_LOG:-}
    [ -n "$f" ] || f=$(pg_lsclusters -h "${PGVERSION:-15}" "${HM_CLUSTER:-regress}" 2>/dev/null | awk '{print $7}')
    [ -n "$f" ] || f=$(psql -X -q -At -d postgres -c "SELECT CASE WHEN f LIKE '/%' THEN f
                                                         ELSE current_setting('data_directory') || '/' || f END
                                                    FROM pg_current_logfile() f" 2>/dev/null)
    if [ -n "$f" ] && [ -r "$f" ]; then echo "$f"; fi
}

# log_not_read N: says that N checks of the server's log were not made
log_not_read() {
    echo "# not checked ($1 checks): the server's log is not readable here; HM_SERVER_LOG may name it"
}

# forget DBS ROLES: at exit, drops these databases, then these roles (each a
# space-separated list), so that a second run on the same server finds
# nothing of this one (make installcheck); KEEP_DB=1 keeps them, to look
# into a failure.  A script that sets its own EXIT trap calls forget_now.
forget() {
    forget_dbs=$1
    forget_roles=$2
    trap forget_now EXIT
}
forget_now() {
    [ -n "${KEEP_DB:-}" ] && return
    local d r
    for d in ${forget_dbs:-}; do
        psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1
    done
    for r in ${forget_roles:-}; do
        psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1
    done
}

# report NAME: "NAME: N passed, M failed"; true when all passed
report() {
    echo "$1: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}
