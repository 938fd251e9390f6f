#!/usr/bin/env bash
# test/drivers/run.sh: handle_market driven through the drivers applications
# use, each in its ordinary binding mode, as the application role:
#   psycopg_test.py text    Python psycopg 3, %s parameters sent as text
#   psycopg_test.py binary  the same with binary=True
#   node/pg_test.js         Node.js node-postgres, $1 parameters
#   JdbcTest.java           pgJDBC, PreparedStatement setLong/setString
# Each registers, looks up the input as typed, buys, reads handles back and
# checks exact SQLSTATEs; see each program.  Each uses its own accounts,
# handles and idempotency keys, so all share one database.
#
# Run inside a throw-away cluster, like the other script tests:
#   bash scripts/cluster.sh bash test/drivers/run.sh
# (PGHOST/PGPORT set, PGUSER a superuser.)  Installs node-postgres from
# node/package-lock.json with `npm ci` when node/node_modules is missing or
# stale.  Prints each program's lines and last "drivers: N passed, M failed";
# exits non-zero on any failure.
set -uo pipefail
unset PGOPTIONS                       # as deployed: no simulated time

here=$(cd "$(dirname "$0")" && pwd)
db=hm_drivers
app=hm_driver_app
tags="py pyb js jdbc"       # one per program run; see the programs
tmp=$(mktemp -d)

. "$here/../lib.sh"
forget "$db" "$app"

finish() {
    [ -n "${proxy_pid:-}" ] && kill "$proxy_pid" 2>/dev/null
    rm -rf "$tmp"
    report drivers
    exit $?
}

# --- setup, as the superuser (only here: the programs connect as $app) ----
# A password, because scripts/cluster.sh (pg_virtualenv) reaches the server
# over TCP with scram-sha-256; a cluster that trusts its socket ignores it.
password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
seed=""
for t in $tags; do
    # drv_<tag>_vip is bought from the platform; drv_<tag>_gold costs more
    # than the buyer has (HM005) and is not free to register (HM014)
    seed+="SELECT handle_market.set_premium('drv_${t}_vip', 50000);"
    seed+="SELECT handle_market.set_premium('drv_${t}_gold', 5000000);"
done
if ! { psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
SET client_min_messages = warning;
DROP DATABASE IF EXISTS $db;
DROP ROLE IF EXISTS $app;
CREATE ROLE $app LOGIN PASSWORD '$password';
CREATE DATABASE $db TEMPLATE template0;
SQL
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
CREATE EXTENSION handle_market;
SELECT handle_market.grant_app('$app');
$seed
SQL
}; then
    check "setup as the superuser" done failed
    finish
fi

# The programs get the app role's connection from the environment only;
# its search_path stays the default, so they write handle_market.f(...).
as_app() { PGUSER=$app PGPASSWORD=$password PGDATABASE=$db "$@"; }

# run_program NAME COMMAND...: runs one program, prints its lines and adds
# its last line "drivers_NAME: N passed, M failed" to the totals; a program
# that dies without that line, or exits non-zero without a failure, counts
# as one failure.
run_program() {
    local name=$1 out rc line p f
    shift
    out=$("$@" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E "^drivers_$name: [0-9]+ passed, [0-9]+ failed$" | tail -1)
    p=$(echo "$line" | awk '{print $2}')
    f=$(echo "$line" | awk '{print $4}')
    if [ -z "$line" ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
        echo "not ok - drivers_$name exited with status $rc without reporting a failure"
        p=${p:-0}
        f=$((${f:-0} + 1))
    fi
    passed=$((passed + p))
    failed=$((failed + f))
}

# --- Python: Debian's python3-psycopg is for /usr/bin/python3, which may
# not be the first python3 on PATH (pyenv) ---------------------------------
python=python3
/usr/bin/python3 -c 'import psycopg' 2>/dev/null && python=/usr/bin/python3
run_program psycopg_text as_app "$python" "$here/psycopg_test.py" text
run_program psycopg_binary as_app "$python" "$here/psycopg_test.py" binary

# --- Node.js: node-postgres as pinned by package-lock.json ----------------
node_dir=$here/node
if [ ! -f "$node_dir/node_modules/.package-lock.json" ] ||
   [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error) >"$tmp/npm.log" 2>&1 ||
        { cat "$tmp/npm.log"; check "npm ci in test/drivers/node" done failed; }
fi
run_program node as_app node "$node_dir/pg_test.js"

# --- JDBC: pgJDBC speaks TCP only; when the cluster listens on a Unix
# socket alone, go through socket_proxy.js -------------------------------
jdbc_host=${PGHOST:-/var/run/postgresql}
jdbc_port=${PGPORT:-5432}
if [ "${jdbc_host#/}" != "$jdbc_host" ]; then
    node "$here/socket_proxy.js" "$jdbc_host/.s.PGSQL.$jdbc_port" >"$tmp/proxy.port" &
    proxy_pid=$!
    for _ in $(seq 1 100); do [ -s "$tmp/proxy.port" ] && break; sleep 0.1; done
    jdbc_host=127.0.0.1
    jdbc_port=$(cat "$tmp/proxy.port")
fi
jar=/usr/share/java/postgresql.jar
if javac -d "$tmp/classes" -cp "$jar" "$here/JdbcTest.java" >"$tmp/javac.log" 2>&1; then
    run_program jdbc as_app env HM_JDBC_URL="jdbc:postgresql://$jdbc_host:$jdbc_port/$db" \
        java -cp "$tmp/classes:$jar" JdbcTest
else
    cat "$tmp/javac.log"
    check "javac JdbcTest.java" done failed
fi

# --- after every driver, as the superuser: the books and the registry agree
check "check_invariants() after every driver" "" \
    "$(value "SELECT string_agg(v, ' | ') FROM handle_market.check_invariants() v")"

finish
