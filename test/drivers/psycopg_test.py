#!/usr/bin/python3
"""test/drivers/psycopg_test.py MODE: handle_market through psycopg 3.

MODE is "text" (psycopg's default: parameters sent as text) or "binary"
(every execute with binary=True: parameters and results in binary format).
Run by test/drivers/run.sh, which created the database and the app role and
put the premium handles drv_<tag>_vip ($500) and drv_<tag>_gold ($50,000) on
the list; the connection comes from the environment (PGHOST, PGPORT,
PGDATABASE, PGUSER=hm_driver_app, PGPASSWORD), with the default search_path,
so every call is schema-qualified.  Prints "ok - ..." / "not ok - ..." and
last "drivers_psycopg_<mode>: N passed, M failed".
"""
import sys

import psycopg

MODE = sys.argv[1] if len(sys.argv) > 1 else "text"
BINARY = MODE == "binary"
TAG = "pyb" if BINARY else "py"          # names and keys of this run
BASE = 2000 if BINARY else 1000          # account ids of this run
BUYER, SELLER, UNKNOWN = BASE + 1, BASE + 2, BASE + 99

passed = failed = 0


def report(name, expected, got):
    global passed, failed
    if expected == got:
        passed += 1
        print(f"ok - {name}")
    else:
        failed += 1
        print(f"not ok - {name}: expected {expected!r}, got {got!r}")


def run(sql, params=()):
    """All rows of one statement, parameters bound with %s placeholders."""
    with conn.cursor() as cur:
        cur.execute(sql, params, binary=BINARY)
        return cur.fetchall()


def check(name, expected, sql, params=()):
    """The first row of sql (a 1-tuple is unwrapped) equals expected."""
    try:
        rows = run(sql, params)
        got = rows[0] if len(rows) == 1 else rows
        if isinstance(got, tuple) and len(got) == 1:
            got = got[0]
    except psycopg.Error as e:
        got = f"error {e.sqlstate}: {str(e).splitlines()[0]}"
    report(name, expected, got)
    return got


def check_done(name, sql, params=()):
    """sql succeeds (a void function: nothing to compare but the absence
    of an error)."""
    try:
        run(sql, params)
        got = "done"
    except psycopg.Error as e:
        got = f"error {e.sqlstate}: {str(e).splitlines()[0]}"
    report(name, "done", got)


def check_id(name, sql, params=()):
    """sql returns a positive id (a transfer id); returns it, or None."""
    try:
        got = run(sql, params)[0][0]
    except psycopg.Error as e:
        got = f"error {e.sqlstate}: {str(e).splitlines()[0]}"
    ok = isinstance(got, int) and got > 0
    report(name, "a positive id", "a positive id" if ok else got)
    return got if ok else None


def check_same_id(name, first, sql, params=()):
    """a replay returns the id the first call returned."""
    if first is None:
        report(name, "the first call's id", "no first id to compare")
    else:
        check(name, first, sql, params)


def check_error(name, sqlstate, sql, params=()):
    """sql fails with exactly this SQLSTATE."""
    try:
        got = f"no error, returned {run(sql, params)!r}"
    except psycopg.Error as e:
        got = e.sqlstate
    report(name, sqlstate, got)


hm = "handle_market"
# psycopg's default opens a transaction on the first statement; an
# application that calls the API one call at a time runs in autocommit, so
# that each call commits (and its deferred ledger checks run) on its own.
conn = psycopg.connect("", autocommit=True)
print(f"# psycopg {psycopg.__version__}, {MODE} parameters, as {conn.info.user}")

check_done("upsert_account buyer", f"SELECT {hm}.upsert_account(%s)", (BUYER,))
check_done("upsert_account seller (premium: 5% commission)",
           f"SELECT {hm}.upsert_account(%s, %s)", (SELLER, "premium"))

# deposit: an id, and the same id again for the same key (idempotent)
deposit_sql = f"SELECT {hm}.deposit(%s, %s, %s)"
deposit = (BUYER, 1000000, f"drivers-{TAG}-deposit")
first = check_id("deposit returns a transfer id", deposit_sql, deposit)
check_same_id("deposit replayed with its key: same transfer id", first, deposit_sql, deposit)
check("balance after the deposit (once)", 1000000, f"SELECT {hm}.balance(%s)", (BUYER,))

h1, h2 = f"driver_{TAG}_1", f"driver_{TAG}_2"
# register_handle returns the extension's type, for which psycopg has no
# loader: in text it gives the text, in binary the bytes handle_send wrote
# (the canonical form in UTF-8)
as_returned = (lambda h: h.encode()) if BINARY else (lambda h: h)
check("register_handle('@Driver_...') returns the canonical handle", as_returned(h1),
      f"SELECT {hm}.register_handle(%s, %s)", (SELLER, f"@Driver_{TAG.capitalize()}_1"))
check("register a second handle", as_returned(h2),
      f"SELECT {hm}.register_handle(%s, %s)", (SELLER, f"@DRIVER_{TAG.upper()}_2"))
# lookup with the input as typed; handle::text so binary results need no
# loader for the extension's type
LOOKUP = (f"SELECT handle::text, state, owner_id, phase_ends_at, reason, price_cents"
          f" FROM {hm}.lookup(%s)")
check("lookup('@Driver_...') as typed", (h1, "registered", SELLER, None, "registered", None),
      LOOKUP, (f"@Driver_{TAG.capitalize()}_1",))

# a sale between users at a listing price: commission 5% of 1,234.57 for a
# premium seller, rounded down = 61.72
check_done("list_handle", f"SELECT {hm}.list_handle(%s, %s, %s)", (h2, SELLER, 123457))
check("lookup of the listed handle gives its price",
      (h2, "registered", SELLER, None, "registered", 123457), LOOKUP, (h2,))
check("quote: price, fee, seller", (123457, 6172, SELLER),
      f"SELECT price_cents, fee_cents, seller_id FROM {hm}.quote(%s, %s)", (h2, BUYER))
buy_sql = f"SELECT {hm}.buy(%s, %s, %s, %s)"
buy = (h2, BUYER, 123457, f"drivers-{TAG}-buy")
first = check_id("buy the listed handle returns a transfer id", buy_sql, buy)
check_same_id("buy replayed with its key: same transfer id", first, buy_sql, buy)
check("buyer's balance after the purchase (1,000,000 - 123,457)", 876543,
      f"SELECT {hm}.balance(%s)", (BUYER,))
check("seller's balance: price less 5% (123,457 - 6,172)", 117285,
      f"SELECT {hm}.balance(%s)", (SELLER,))
check_error("same key, another request: HM006", "HM006",
            buy_sql, (h2, BUYER, 123458, f"drivers-{TAG}-buy"))

# a platform sale: the whole price, no commission
vip, gold = f"drv_{TAG}_vip", f"drv_{TAG}_gold"
check_id("buy a premium handle from the platform", buy_sql,
         (vip, BUYER, 50000, f"drivers-{TAG}-vip"))
check("balance after the platform sale (876,543 - 50,000)", 826543,
      f"SELECT {hm}.balance(%s)", (BUYER,))
check_error("insufficient funds: HM005", "HM005",
            buy_sql, (gold, BUYER, 5000000, f"drivers-{TAG}-gold"))
check("a refused buy costs nothing", 826543, f"SELECT {hm}.balance(%s)", (BUYER,))

# the buyer's handles, read back through lookup (the app role reads no table)
owned = []
for c in (h1, h2, vip, gold):
    try:
        owned += [h for h, o in run(f"SELECT handle::text, owner_id FROM {hm}.lookup(%s)", (c,))
                  if o == BUYER]
    except psycopg.Error as e:
        owned.append(f"error {e.sqlstate}")
report("the buyer's handles", [h2, vip], owned)
check("the bought handle is no longer listed",
      (h2, "registered", BUYER, None, "registered", None), LOOKUP, (h2,))

check_error("taken: HM001", "HM001",
            f"SELECT {hm}.register_handle(%s, %s)", (BUYER, h1.upper()))
look_alike = f"driver_{TAG}_l"     # "l" for "1"
check("look-alike shares the confusable key", True,
      f"SELECT {hm}.confusable_key(%s::{hm}.handle) = {hm}.confusable_key(%s::{hm}.handle)", (look_alike, h1))
check_error("confusable: HM002", "HM002",
            f"SELECT {hm}.register_handle(%s, %s)", (BUYER, look_alike))
check_error("premium handle is not free: HM014", "HM014",
            f"SELECT {hm}.register_handle(%s, %s)", (BUYER, gold))
check_error("a space breaks the profile: HM004", "HM004",
            f"SELECT {hm}.register_handle(%s, %s)", (BUYER, f"driver {TAG}"))
check_error("a space is not a handle: 22P02", "22P02",
            f"SELECT %s::{hm}.handle", (f"driver {TAG}",))
check_error("unknown account: HM011", "HM011", f"SELECT {hm}.balance(%s)", (UNKNOWN,))
check_error("unknown account registers: HM011", "HM011",
            f"SELECT {hm}.register_handle(%s, %s)", (UNKNOWN, f"driver_{TAG}_9"))
check_error("no table privilege: 42501", "42501",
            f"INSERT INTO {hm}.accounts (account_id) VALUES (%s)", (UNKNOWN,))
# the default search_path does not see the type's operators, and no cast
# from handle is implicit, so a bare "=" between two handles is no operator
# at all (42883), never a silent false; named with its schema it compares
# the canonical forms (the input function made both elonmusk)
check_error("typed parameters: a bare = is 42883 without the schema on search_path", "42883",
            f"SELECT %s::{hm}.handle = %s::{hm}.handle", ("@ElonMusk", "elonmusk"))
check(f"typed parameters compare canonically with OPERATOR({hm}.=)", True,
      f"SELECT %s::{hm}.handle OPERATOR({hm}.=) %s::{hm}.handle", ("@ElonMusk", "elonmusk"))
# a text parameter against a handle column: handle = text canonicalizes the
# text as handle input, so the handle as the user typed it matches
check(f"a text parameter as typed equals a handle column with OPERATOR({hm}.=)", True,
      f"SELECT handle OPERATOR({hm}.=) %s::text FROM {hm}.lookup(%s)",
      (f"@DRIVER_{TAG.upper()}_1", h1))

conn.close()
print(f"drivers_psycopg_{MODE}: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
