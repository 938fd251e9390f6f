#!/usr/bin/env bash
# test/readme.sh [FILE...]: every SQL example of the documentation runs as
# shown, as the role it names.  By default the files are README.md, then
# doc/*.md in name order, then bench/README.md; each file runs in a database
# of its own (hm_readme, made afresh from $HM_TEMPLATE, default template0),
# its ```sql blocks in the file's order, each statement on its own in
# autocommit (so a later block sees what an earlier one did).
#
# Each ```sql block starts with a line "-- as ROLE": app_backend, dba_ops or
# "a superuser".  The statements run as that role (SET ROLE from the
# superuser's session: the privileges are the role's, simulated time stays
# off, and the schema is not on search_path).  The roles are this script's
# own: app_backend and dba_ops are renamed hm_readme_app and hm_readme_ops
# wherever they appear (so a server's real roles of those names are never
# touched), created with grant_app() / grant_admin() unless the file creates
# them itself in a block, and dropped with the database.
#
# A statement ends on the first line with a ";" outside a comment.  Its
# trailing comment is checked:
#   -- ERROR CODE              it fails with that SQLSTATE ("-- ERROR CODE
#                              (prose)" the same); a bare "-- ERROR" fails
#   -- ERROR CODE: message     ... and exactly that message
#   -- token                   (one word, no spaces) the exact result
#   -- a | b                   the exact row, columns joined by " | "; in
#                              both, a column NULL, true or false as SQL
#                              says them
#   -- 'text'                  the exact result, without the quotes
# any other comment is prose, and the statement need only succeed.  Comment
# lines right below a statement check more: "-- => a | b", one line per row,
# the exact rows of a result too long for the statement's line; "-- DETAIL:
# text" and "-- HINT: text" the error's (or warning's) detail and hint.
# NOTICE and WARNING lines are not part of a result, nor trailing blanks
# (a NULL in the last column).
#
# A block that cannot run says so on its first line, "-- as ROLE (not run:
# why)" (it shows output, needs pg_cron, another cluster...): it is counted
# and listed as skipped, never silently.  A fenced block with no language
# that holds SQL is listed as skipped too.  Ends with "readme: N passed, M
# failed" (scripts/run_tests.sh reads it).
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh
unset PGOPTIONS
db=hm_readme
template=${HM_TEMPLATE:-template0}
app_role=hm_readme_app
ops_role=hm_readme_ops
skipped=0

if [ $# -gt 0 ]; then
    files=("$@")
else
    files=(README.md)
    for f in doc/*.md; do [ -f "$f" ] && files+=("$f"); done
    [ -f bench/README.md ] && files+=(bench/README.md)
fi

su_sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

drop_all() {
    su_sql -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" \
        -c "DROP ROLE IF EXISTS $app_role" -c "DROP ROLE IF EXISTS $ops_role" >/dev/null
}
trap drop_all EXIT

# the names the documentation uses, replaced by this script's own
rename() { sed -e "s/\bapp_backend\b/$app_role/g" -e "s/\bdba_ops\b/$ops_role/g"; }

# setup FILE: a fresh database with the extension, and the roles the file
# does not create itself
setup() {
    drop_all
    su_sql -d postgres -c "CREATE DATABASE $db TEMPLATE $template" >/dev/null &&
        su_sql -d "$db" -c "SET client_min_messages = warning" \
            -c "CREATE EXTENSION IF NOT EXISTS handle_market" >/dev/null || return 1
    local role grant
    for role in app_backend dba_ops; do
        grep -q "^CREATE ROLE $role\b" "$1" && continue
        grant=grant_app; [ "$role" = dba_ops ] && grant=grant_admin
        su_sql -d "$db" -c "$(rename <<<"CREATE ROLE $role LOGIN")" \
            -c "$(rename <<<"SELECT handle_market.$grant('$role')")" >/dev/null || return 1
    done
}

# run_as ROLE SQL: the statement's output with psql's verbose error fields
run_as() {
    local set_role="RESET ROLE"
    [ "$1" = superuser ] || set_role=$(rename <<<"SET ROLE $1")
    psql -X -q -At -F ' | ' -d "$db" -v ON_ERROR_STOP=1 -c "$set_role" \
        -c '\set VERBOSITY verbose' -c "$2" 2>&1 | grep -v -e '^SET$' -e '^RESET$'
}

# as_psql: expected rows as psql prints them: a column that says NULL,
# true or false is empty, t or f
as_psql() {
    sed -E -e ':a' -e 's/(^| \| )NULL( \| |$)/\1\2/; ta' \
           -e ':b' -e 's/(^| \| )true( \| |$)/\1t\2/; tb' \
           -e ':c' -e 's/(^| \| )false( \| |$)/\1f\2/; tc' -e 's/[[:space:]]*$//'
}

# field NAME OUTPUT: the text after "NAME:  " on its first line
field() { sed -n "s/^$1:  //p" <<<"$2" | head -1; }

# the statement waiting for its checks
stmt=""; comment=""; want_rows=""; want_detail=""; want_hint=""; label=""; role=""

run_pending() {
    [ -n "$stmt" ] || return 0
    local got err code msg value
    got=$(run_as "$role" "$(rename <<<"$stmt")")
    err=$(grep -m1 '^ERROR:  ' <<<"$got")
    code=""; msg=""
    if [ -n "$err" ]; then
        code=$(sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\): .*/\1/p' <<<"$err")
        msg=$(sed -n 's/^ERROR:  [0-9A-Z]\{5\}: //p' <<<"$err")
    fi
    value=$(grep -v -E '^(NOTICE|WARNING|DETAIL|HINT|CONTEXT|LOCATION|LINE [0-9]+|QUERY): ' <<<"$got" |
            grep -v -E '^ *\^ *$' | grep -v -E '^(PL/pgSQL|SQL statement|SQL function) ' | sed 's/[[:space:]]*$//')
    comment=$(rename <<<"$comment")
    if [[ "$comment" == ERROR* ]]; then
        local want_code want_msg
        want_code=$(sed -n 's/^ERROR \([0-9A-Z]\{5\}\)\b.*/\1/p' <<<"$comment")
        if [ -z "$want_code" ]; then
            check "$label: the ERROR comment names a SQLSTATE" "ERROR CODE" "$comment"
        else
            check "$label (fails with $want_code)" "$want_code" "${code:-no error: $value}"
            want_msg=$(sed -n 's/^ERROR [0-9A-Z]\{5\}: //p' <<<"$comment")
            [ -n "$want_msg" ] && check "$label (its message)" "$want_msg" "$msg"
        fi
    elif [ -n "$err" ]; then
        check "$label" "no error" "$err"
    elif [ -n "$want_rows" ]; then
        check "$label" "$(rename <<<"${want_rows%$'\n'}" | as_psql)" "$value"
    elif [[ "$comment" == \'*\' ]]; then
        local want=${comment#\'}; want=${want%\'}
        check "$label" "$want" "$value"
    elif [[ "$comment" == *' | '* || ( -n "$comment" && "$comment" != *' '* ) ]]; then
        check "$label" "$(as_psql <<<"$comment")" "$value"
    else
        check "$label (succeeds)" ok ok
    fi
    [ -n "$want_detail" ] && check "$label (its DETAIL)" "$(rename <<<"$want_detail")" "$(field DETAIL "$got")"
    [ -n "$want_hint" ] && check "$label (its HINT)" "$(rename <<<"$want_hint")" "$(field HINT "$got")"
    stmt=""; comment=""; want_rows=""; want_detail=""; want_hint=""
}

# looks_like_sql LINE: a statement or a psql prompt at the start of a line
looks_like_sql() {
    [[ "$1" =~ ^(SELECT|CALL|CREATE|ALTER|INSERT|UPDATE|DELETE|DROP|GRANT|SET|[a-z_]*=[#\>])[[:space:]] ]]
}

for file in "${files[@]}"; do
    echo "# $file"
    if ! setup "$file"; then
        check "$file: a database with the extension and the roles" ok failed
        continue
    fi
    blocks=0; lineno=0; fence=""; role=""; pending_text=""; stmt=""
    while IFS= read -r line || [ -n "$line" ]; do
        lineno=$((lineno + 1))
        if [ -z "$fence" ]; then
            case "$line" in
                '```sql') fence=sql; blocks=$((blocks + 1)); role="" ;;
                '```') fence=plain; pending_text="" ;;
                '```'*) fence=other ;;
            esac
            continue
        fi
        if [ "$line" = '```' ]; then
            [ "$fence" = sql ] && [ "$role" != skip ] && run_pending
            if [ "$fence" = plain ] && [ -n "$pending_text" ]; then
                skipped=$((skipped + 1))
                echo "skip - $file:$pending_text: SQL in a fenced block without a language (not run)"
            fi
            fence=""; continue
        fi
        if [ "$fence" = plain ]; then
            [ -z "$pending_text" ] && looks_like_sql "$line" && pending_text=$lineno
            continue
        fi
        [ "$fence" = sql ] || continue
        if [ -z "$role" ]; then
            case "$line" in
                '-- as '*'(not run: '*')'*) role=skip ;;
                '-- as app_backend'*) role=app_backend ;;
                '-- as dba_ops'*) role=dba_ops ;;
                '-- as a superuser'*) role=superuser ;;
                *) role=none ;;
            esac
            if [ "$role" = skip ]; then
                skipped=$((skipped + 1))
                echo "skip - $file:$lineno: $(sed -n 's/.*(not run: \(.*\)).*/\1/p' <<<"$line")"
            else
                check "$file:$lineno: the block names its role" yes \
                    "$([ "$role" != none ] && echo yes || echo "no: $line")"
            fi
            continue
        fi
        [ "$role" = skip ] || [ "$role" = none ] && continue
        case "$line" in
            '-- => '*) want_rows+="${line#-- => }"$'\n'; continue ;;
            '-- DETAIL: '*|'--   DETAIL: '*) want_detail=$(sed 's/^-- *DETAIL: *//' <<<"$line"); continue ;;
            '-- HINT: '*|'--   HINT: '*) want_hint=$(sed 's/^-- *HINT: *//' <<<"$line"); continue ;;
            '--'*|'') continue ;;
        esac
        code=${line%%--*}
        if [ -n "$stmt" ] && [[ "$stmt" == *';'* ]]; then run_pending; fi
        stmt+="$code"$'\n'
        if [[ "$code" == *';'* ]]; then
            comment=$(sed -n 's/^[^;]*;[^-]*--[[:space:]]*\(.*\)$/\1/p' <<<"$line" | sed 's/[[:space:]]*$//')
            label="$file:$lineno: $role: $(tr -s ' \n' ' ' <<<"$stmt" | sed 's/ *$//' | cut -c1-80)"
        fi
    done <"$file"
    [ -n "$stmt" ] && [[ "$stmt" == *';'* ]] && run_pending
    stmt=""
    [ "$file" = README.md ] && check "README.md has SQL examples" yes "$([ "$blocks" -ge 3 ] && echo yes || echo "$blocks blocks")"
done

echo "readme: $skipped blocks not run (listed above as skip)"
report readme
