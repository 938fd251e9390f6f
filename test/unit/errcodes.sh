#!/usr/bin/env bash
# test/unit/errcodes.sh: the HM error codes are declared once, in
# src/errcodes.h, and both languages use exactly those.  Run by `make unit`
# (no server needed); ends with "errcodes: N passed, M failed".
#   * every 'HMnnn' that src/sql/*.sql and the update scripts write is
#     declared in the header;
#   * every declared code is raised somewhere: by SQL, or by C through its
#     ERRCODE_HM_* name;
#   * each line of the header says the code its MAKE_SQLSTATE builds;
#   * no C file builds an HM code of its own.
set -uo pipefail
cd "$(dirname "$0")/../.."
header=src/errcodes.h
passed=0
failed=0
check() {    # check NAME EXPECTED ACTUAL
    if [ "$2" == "$3" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        printf 'not ok - %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"
    fi
}

# NAME CODE for each declaration, the code taken from MAKE_SQLSTATE itself
declared=$(sed -n "s/^#define \(ERRCODE_HM_[A-Z_]*\) MAKE_SQLSTATE('H','M','\(.\)','\(.\)','\(.\)').*/\1 HM\2\3\4/p" "$header")
codes=$(awk '{ print $2 }' <<<"$declared" | sort)
sql_codes=$(grep -ohE "'HM[0-9]{3}'" src/sql/*.sql versions/*--*--*.sql | tr -d "'" | sort -u)
c_codes=$(while read -r name code; do
              grep -lw "$name" src/*.c >/dev/null && echo "$code"
          done <<<"$declared" | sort -u)

check "the header declares codes" yes "$([ -n "$codes" ] && echo yes || echo no)"
check "no code is declared twice" "" "$(uniq -d <<<"$codes" | tr '\n' ' ')"
check "every code the SQL raises is declared in $header" "" \
    "$(comm -23 <(echo "$sql_codes") <(echo "$codes") | tr '\n' ' ')"
check "every declared code is raised by the SQL or the C" "" \
    "$(comm -23 <(echo "$codes") <(sort -u <(echo "$sql_codes") <(echo "$c_codes")) | tr '\n' ' ')"
check "each declaration's comment names its own code" "" \
    "$(grep "^#define ERRCODE_HM_" "$header" |
       sed -n "s/.*MAKE_SQLSTATE('H','M','\(.\)','\(.\)','\(.\)').*\/\* \(HM[0-9]*\):.*/HM\1\2\3 \4/p" |
       awk '$1 != $2' | tr '\n' ' ')"
check "every declaration has a one-line meaning" "$(wc -l <<<"$codes" | tr -d ' ')" \
    "$(grep -cE "^#define ERRCODE_HM_[A-Z_]+ MAKE_SQLSTATE\(.*\)[[:space:]]+/\* HM[0-9]{3}: .+ \*/$" "$header")"
check "no C file builds an HM code outside $header" "" \
    "$(grep -lE "MAKE_SQLSTATE\('H', *'M'" src/*.c src/*.h src/core/*.[ch] | grep -vx "$header" | tr '\n' ' ')"
check "no C file spells an HM code as a string" "" \
    "$(grep -lE "\"HM[0-9]{3}\"" src/*.c src/*.h | tr '\n' ' ')"

echo "errcodes: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
