#!/usr/bin/env bash
# test/readme.sh: every SQL example in README.md runs as shown, as the role
# it names.  Each ```sql block starts with a line "-- as ROLE" (app_backend,
# dba_ops, or "a superuser"); the blocks run in the README's order in one
# database, each statement on its own in autocommit, as that role (SET ROLE
# from the superuser's session: the privileges are the role's, and
# simulated time stays off).  A statement's trailing comment is checked:
#   -- ERROR ...          the statement must fail
#   -- token              (one word, no spaces) the exact result
#   -- a | b              the exact row, columns joined by " | "
#   -- 'text'             the exact result, without the quotes
# any other comment is prose, and the statement need only succeed.  A block
# whose header says "(with pg_cron)" is skipped: pg_cron needs
# shared_preload_libraries, which a throw-away cluster does not have.
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh
unset PGOPTIONS
db=hm_readme
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE template1" >/dev/null
psql -X -q -d postgres -c "DROP ROLE IF EXISTS app_backend" -c "DROP ROLE IF EXISTS dba_ops" >/dev/null 2>&1
psql -X -q -d "$db" -c "CREATE EXTENSION IF NOT EXISTS handle_market" >/dev/null

run_as() {    # run_as ROLE SQL: prints the result, or ERROR: <message>
    local set_role=""
    [ "$1" = superuser ] || set_role="SET ROLE $1;"
    psql -X -q -At -F ' | ' -d "$db" -v ON_ERROR_STOP=1 -c "$set_role" -c "$2" 2>&1 |
        sed -n '/^ERROR:/{p;q};p' | grep -v '^SET$'
}

blocks=0
role=""
stmt=""
while IFS= read -r line; do
    case "$line" in
        '```sql') inblock=1; blocks=$((blocks + 1)); role=""; stmt=""; continue ;;
        '```') inblock=0; continue ;;
    esac
    [ "${inblock:-0}" = 1 ] || continue
    if [ -z "$role" ]; then
        case "$line" in
            '-- as app_backend'*) role=app_backend ;;
            '-- as dba_ops'*) role=dba_ops ;;
            *'(with pg_cron)'*) role=skip ;;
            '-- as a superuser'*) role=superuser ;;
            *) role=none ;;
        esac
        check "README block $blocks names its role" yes "$([ "$role" != none ] && echo yes || echo "no: $line")"
        continue
    fi
    [ "$role" = skip ] && continue
    case "$line" in '--'*|'') continue ;; esac
    code=${line%%;*}
    if [ "$code" = "$line" ]; then stmt+="$line"$'\n'; continue; fi      # no ; yet
    comment=$(sed -n 's/^.*;[[:space:]]*--[[:space:]]*\(.*\)$/\1/p' <<<"$line")
    stmt+=$(sed 's/[[:space:]]*--[^;]*$//' <<<"$line")
    got=$(run_as "$role" "$stmt")
    short=$(tr -s ' \n' ' ' <<<"$stmt" | cut -c1-90)
    if [[ "$comment" == ERROR* ]]; then
        check "$role: $short (fails)" ERROR "$(cut -c1-5 <<<"$got")"
    elif [[ "$comment" == \'*\' ]]; then
        want=${comment#\'}; want=${want%\'}
        check "$role: $short" "$want" "$got"
    elif [[ "$comment" == *' | '* || ( -n "$comment" && "$comment" != *' '* ) ]]; then
        [ "$comment" = NULL ] && comment=""
        [ "$comment" = true ] && comment=t          # as psql prints booleans
        [ "$comment" = false ] && comment=f
        check "$role: $short" "$comment" "$got"
    else
        check "$role: $short (succeeds)" ok "$([[ "$got" == ERROR* ]] && echo "$got" || echo ok)"
    fi
    stmt=""
done <README.md

check "the README has SQL examples" yes "$([ "$blocks" -gt 5 ] && echo yes || echo no)"
report readme
