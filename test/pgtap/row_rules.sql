-- test/pgtap/row_rules.sql
-- The row rules of handles, ledger_accounts, transfers and the outbox: one
-- CHECK constraint per table that calls C (src/sql/52_row_rules.sql,
-- src/row_rules_sql.c, src/core/row_rules.c).  Every rule is broken once
-- (some twice, from both sides), with triggers off as a restore has them
-- (session_replication_role = replica turns off the guard, not a CHECK),
-- and refused with check_violation, the constraint's name and the rule in
-- the detail.  Rows written through the API keep every rule; the plain
-- money CHECK (0 <= held <= balance) is still there beside the C one.
-- Runs in one transaction, walking simulated time: day 0 is 2026-01-01 UTC.
--
-- Timeline.  Account 1 registers "Gone_Quiet" on day 0 and goes quiet: the
-- sweep notices it on day 30 and releases it on day 60.  Account 4 registers
-- "risky_one" on day 25 and goes quiet: noticed on day 60.  On day 100
-- account 2 registers four handles (one typed "ELON_musk") and lists two; a
-- third is put on hold; account 3 deposits and buys "sold_one" on day
-- 101.  After the refusals: account 4 comes back (day 101), "elon_musk" is
-- given to account 4 (day 102), the hold is released and the listing
-- withdrawn (day 103), and account 3 buys "gone_quiet" at its base (day 116).
\ir include/settings.psql

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS handle_market;
-- The superuser only installs (and, through PGOPTIONS in make test, turns
-- handle_market.simulated_time on for this calendar-walking test; the value
-- stays after SET ROLE) and owns the two helpers that write with the
-- triggers off (below).  Everything else runs as an operator's role.
CREATE ROLE hm_test_rules;                 -- rolled back with the test
SELECT handle_market.grant_admin('hm_test_rules');
SET ROLE hm_test_rules;
SET search_path = handle_market, public;
SET timezone = 'UTC';
SET datestyle = 'ISO';

SELECT plan(84);

\ir include/calendar.sql
-- The two helpers that write with the triggers off are the superuser's,
-- SECURITY DEFINER: session_replication_role and a direct write to the
-- tables are its alone (a restore's), and nothing else here needs it.
RESET ROLE;
-- Runs a statement with the triggers off (the guard among them, not the
-- CHECK constraints), in a subtransaction that is always rolled back.
-- Returns "SQLSTATE: message / detail" of what it raised, or "no error, n
-- rows" with the number of rows it wrote.
CREATE FUNCTION pg_temp.error_of(p_sql text) RETURNS text LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE v_state text; v_msg text; v_detail text; v_rows bigint;
BEGIN
    BEGIN
        SET LOCAL session_replication_role = replica;
        EXECUTE p_sql;
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        RAISE EXCEPTION USING ERRCODE = 'HM999';
    EXCEPTION WHEN SQLSTATE 'HM999' THEN
        RETURN format('no error, %s rows', v_rows);
    END;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
    RETURN v_state || ': ' || v_msg || ' / ' || coalesce(v_detail, '');
END $$;
-- Runs a statement with the triggers off and lets what it raises through
-- (for throws_ok); the setting ends with the call.
CREATE FUNCTION pg_temp.as_replica(p_sql text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET session_replication_role = replica AS $$
BEGIN
    EXECUTE p_sql;
END $$;
SET ROLE hm_test_rules;
-- what error_of() returns for a row that breaks a rule of a table
CREATE FUNCTION pg_temp.breaks(p_table text, p_rule text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT format('23514: new row for relation "%s" violates check constraint "%s_row_rules" / The rule it breaks: %s.',
                  p_table, p_table, p_rule) $$;
-- each table's rows, as lines
CREATE FUNCTION pg_temp.handle_rows() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', h.handle, h.display, h.owner_id, h.state,
                             h.notice_at::date, h.released_at::date, h.list_price_cents, h.listed_at::date,
                             h.hold_reason, h.held_at::date), E'\n' ORDER BY h.handle)
      FROM handle_market.handles h $$;
CREATE FUNCTION pg_temp.wallets() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT string_agg(account_id || ':' || balance || '/' || held, ' ' ORDER BY account_id)
      FROM handle_market.ledger_accounts WHERE kind = 'wallet' $$;
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT md5(concat_ws(E'\n', pg_temp.handle_rows(),
                         (SELECT string_agg(l::text, ' ' ORDER BY ledger_account_id) FROM handle_market.ledger_accounts l),
                         (SELECT string_agg(t::text, ' ' ORDER BY transfer_id) FROM handle_market.transfers t),
                         (SELECT string_agg(o::text, ' ' ORDER BY message_id) FROM handle_market.outbox o))) $$;

-- ---------------------------------------------------------------------
-- Rows written through the API
\o /dev/null
SELECT upsert_account(1, active_at => pg_temp.day(0)), upsert_account(4, active_at => pg_temp.day(25)),
       upsert_account(2, active_at => pg_temp.day(100)), upsert_account(3, active_at => pg_temp.day(100));
SELECT register_handle(1, 'Gone_Quiet', pg_temp.day(0));
SELECT register_handle(4, 'risky_one', pg_temp.day(25));
SELECT pg_temp.sweep(30);
SELECT pg_temp.sweep(60);
SELECT register_handle(2, 'ELON_musk', pg_temp.day(100)), register_handle(2, 'for_sale_one', pg_temp.day(100)),
       register_handle(2, 'sold_one', pg_temp.day(100)), register_handle(2, 'on_hold_one', pg_temp.day(100));
SELECT list_handle('for_sale_one', 2, 12345, pg_temp.day(100)), list_handle('sold_one', 2, 5000, pg_temp.day(100));
SELECT hold_handle('on_hold_one', 'court order 7', pg_temp.day(100));
SELECT deposit(3, 100000, 'dep-3', pg_temp.day(100));
SELECT buy('sold_one', 3, 5000, 'buy-sold', pg_temp.day(101));
\o

SELECT is(pg_temp.handle_rows(),
          'elon_musk|ELON_musk|2|registered||||||' || E'\n' ||
          'for_sale_one|for_sale_one|2|registered|||12345|2026-04-11||' || E'\n' ||
          'gone_quiet|Gone_Quiet||released||2026-03-02||||' || E'\n' ||
          'on_hold_one|on_hold_one|2|registered|||||court order 7|2026-04-11' || E'\n' ||
          'risky_one|risky_one|4|at_risk|2026-03-02|||||' || E'\n' ||
          'sold_one|sold_one|3|registered||||||',
          'the API wrote a handle in each state: registered (shown as typed), listed, released, held, at risk, sold');
SELECT is(pg_temp.wallets(), '2:4500/0 3:95000/0', 'two wallets: the seller got 5,000 less 10%, the buyer paid 5,000');
SELECT is((SELECT string_agg(idempotency_key || ':' || kind, ' ' ORDER BY transfer_id) FROM transfers),
          'dep-3:deposit buy-sold:purchase', 'two transfers');
SELECT is((SELECT string_agg(kind, ' ' ORDER BY message_id) FROM outbox),
          'registered registered inactivity_notice inactivity_notice released registered registered registered '
          'registered held bought sold', 'twelve messages');

-- Every row the API wrote keeps the rules: rewriting each row as it is
-- makes PostgreSQL check it again.
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET display = display $$), 'no error, 6 rows',
          'every handle the API wrote keeps the rules');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.ledger_accounts SET kind = kind $$), 'no error, 34 rows',
          'every ledger account keeps the rules: 16 fee slots, 16 payments slots, 2 wallets');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.transfers SET kind = kind $$), 'no error, 2 rows',
          'every transfer keeps the rules');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.outbox SET kind = kind $$), 'no error, 12 rows',
          'every message keeps the rules');

SELECT pg_temp.state() AS before_refusals \gset

-- ---------------------------------------------------------------------
-- handles
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET display = 'elon_rnusk' WHERE handle = 'elon_musk' $$),
          pg_temp.breaks('handles', 'display is the handle as it was typed: its canonical form is the handle'),
          'handles: a display that is a look-alike of the handle (same confusable key) is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET display = 'someone_else' WHERE handle = 'elon_musk' $$),
          pg_temp.breaks('handles', 'display is the handle as it was typed: its canonical form is the handle'),
          'handles: a display that is another handle is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET display = 'elon musk!' WHERE handle = 'elon_musk' $$),
          pg_temp.breaks('handles', 'display is the handle as it was typed: its canonical form is the handle'),
          'handles: a display that is no handle at all is refused with the same rule (not a type error)');
SELECT is(pg_temp.error_of($$ INSERT INTO handle_market.handles (handle, display, owner_id, state, registered_at, policy_version)
                              VALUES ('new_handle', 'old_handle', 2, 'registered', pg_temp.day(100), 1) $$),
          pg_temp.breaks('handles', 'display is the handle as it was typed: its canonical form is the handle'),
          'handles: an INSERT is checked too');
SELECT is(pg_temp.error_of($$ INSERT INTO handle_market.handles (handle, display, owner_id, state, registered_at, policy_version)
                              VALUES ('new_handle', 'New_Handle', 2, 'registered', pg_temp.day(100), 1) $$),
          'no error, 1 rows', 'handles: an INSERT that keeps every rule is accepted');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET display = 'elon_musk' WHERE handle = 'elon_musk' $$),
          'no error, 1 rows', 'handles: the display may be the handle itself');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET display = 'eLoN_MuSk' WHERE handle = 'elon_musk' $$),
          'no error, 1 rows', 'handles: a display that differs only in case is accepted');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET display = 'ＥＬＯＮ_ｍｕｓｋ' WHERE handle = 'elon_musk' $$),
          'no error, 1 rows', 'handles: a display that differs only in width (fullwidth letters) is accepted');

SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET list_price_cents = 0 WHERE handle = 'for_sale_one' $$),
          pg_temp.breaks('handles', 'a listing price is positive'),
          'handles: a listing at 0 cents is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET list_price_cents = -1 WHERE handle = 'for_sale_one' $$),
          pg_temp.breaks('handles', 'a listing price is positive'),
          'handles: a listing below 0 is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET list_price_cents = 1 WHERE handle = 'for_sale_one' $$),
          'no error, 1 rows', 'handles: a listing at 1 cent is accepted');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET listed_at = NULL WHERE handle = 'for_sale_one' $$),
          pg_temp.breaks('handles', 'a listing has both a price and a time (list_price_cents and listed_at)'),
          'handles: a price without a listing time is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET listed_at = pg_temp.day(100) WHERE handle = 'elon_musk' $$),
          pg_temp.breaks('handles', 'a listing has both a price and a time (list_price_cents and listed_at)'),
          'handles: a listing time without a price is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET held_at = NULL WHERE handle = 'on_hold_one' $$),
          pg_temp.breaks('handles', 'a hold has both a reason and a time (hold_reason and held_at)'),
          'handles: a hold reason without a time is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET held_at = pg_temp.day(100) WHERE handle = 'elon_musk' $$),
          pg_temp.breaks('handles', 'a hold has both a reason and a time (hold_reason and held_at)'),
          'handles: a hold time without a reason is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET state = 'held' WHERE handle = 'elon_musk' $$),
          pg_temp.breaks('handles', 'state is registered, at_risk or released'),
          'handles: an unknown state is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET state = 'Registered' WHERE handle = 'elon_musk' $$),
          pg_temp.breaks('handles', 'state is registered, at_risk or released'),
          'handles: states are compared exactly (no case folding)');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET owner_id = 1 WHERE handle = 'gone_quiet' $$),
          pg_temp.breaks('handles', 'a released handle has no owner'),
          'handles: a released handle with an owner is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET released_at = NULL WHERE handle = 'gone_quiet' $$),
          pg_temp.breaks('handles', 'a released handle has released_at'),
          'handles: a released handle without released_at is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET list_price_cents = 100, listed_at = pg_temp.day(100)
                               WHERE handle = 'gone_quiet' $$),
          pg_temp.breaks('handles', 'a released handle is not listed'),
          'handles: a listed released handle is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET owner_id = NULL WHERE handle = 'elon_musk' $$),
          pg_temp.breaks('handles', 'a handle that is not released has an owner'),
          'handles: a registered handle without an owner is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET owner_id = NULL WHERE handle = 'risky_one' $$),
          pg_temp.breaks('handles', 'a handle that is not released has an owner'),
          'handles: an at-risk handle without an owner is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET released_at = pg_temp.day(100) WHERE handle = 'elon_musk' $$),
          pg_temp.breaks('handles', 'only a released handle has released_at'),
          'handles: a registered handle with released_at is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET released_at = pg_temp.day(100) WHERE handle = 'risky_one' $$),
          pg_temp.breaks('handles', 'only a released handle has released_at'),
          'handles: an at-risk handle with released_at is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET notice_at = pg_temp.day(100) WHERE handle = 'elon_musk' $$),
          pg_temp.breaks('handles', 'notice_at is set exactly when the handle is at risk'),
          'handles: a registered handle with notice_at is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET notice_at = NULL WHERE handle = 'risky_one' $$),
          pg_temp.breaks('handles', 'notice_at is set exactly when the handle is at risk'),
          'handles: an at-risk handle without notice_at is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET notice_at = pg_temp.day(30) WHERE handle = 'gone_quiet' $$),
          pg_temp.breaks('handles', 'notice_at is set exactly when the handle is at risk'),
          'handles: a released handle with notice_at is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET state = 'registered', notice_at = NULL WHERE handle = 'risky_one' $$),
          'no error, 1 rows', 'handles: at risk back to registered, by hand, keeps the rules');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET state = 'released', owner_id = NULL, released_at = pg_temp.day(100)
                               WHERE handle = 'elon_musk' $$),
          'no error, 1 rows', 'handles: a release by hand keeps the rules');

-- ---------------------------------------------------------------------
-- ledger_accounts
SELECT is(pg_temp.error_of($$ UPDATE handle_market.ledger_accounts SET kind = 'bank' WHERE account_id = 3 $$),
          pg_temp.breaks('ledger_accounts', 'kind is wallet, fee or payments'),
          'ledger_accounts: an unknown kind is refused');
SELECT is(pg_temp.error_of($$ INSERT INTO handle_market.ledger_accounts (kind, slot) VALUES ('fees', 16) $$),
          pg_temp.breaks('ledger_accounts', 'kind is wallet, fee or payments'),
          'ledger_accounts: an INSERT is checked too');
SELECT is(pg_temp.error_of($$ INSERT INTO handle_market.ledger_accounts (kind, slot) VALUES ('payments', 16) $$),
          'no error, 1 rows', 'ledger_accounts: a new payments slot keeps the rules');
SELECT is(pg_temp.error_of($$ INSERT INTO handle_market.ledger_accounts (kind, account_id, balance, held) VALUES ('wallet', 1, 0, 0) $$),
          'no error, 1 rows', 'ledger_accounts: a new empty wallet keeps the rules');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.ledger_accounts SET account_id = NULL WHERE account_id = 3 $$),
          pg_temp.breaks('ledger_accounts', 'a wallet, and only a wallet, belongs to an account'),
          'ledger_accounts: a wallet without an account is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.ledger_accounts SET account_id = 1 WHERE ledger_account_id = 1 $$),
          pg_temp.breaks('ledger_accounts', 'a wallet, and only a wallet, belongs to an account'),
          'ledger_accounts: a fee slot with an account is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.ledger_accounts SET slot = 99 WHERE account_id = 3 $$),
          pg_temp.breaks('ledger_accounts', 'a platform account, and only a platform account, has a slot'),
          'ledger_accounts: a wallet with a slot is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.ledger_accounts SET slot = NULL WHERE ledger_account_id = 101 $$),
          pg_temp.breaks('ledger_accounts', 'a platform account, and only a platform account, has a slot'),
          'ledger_accounts: a payments account without a slot is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.ledger_accounts SET held = NULL WHERE account_id = 3 $$),
          pg_temp.breaks('ledger_accounts', 'a wallet, and only a wallet, keeps a balance and held money'),
          'ledger_accounts: a wallet without held money is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.ledger_accounts SET balance = NULL WHERE account_id = 3 $$),
          pg_temp.breaks('ledger_accounts', 'a wallet, and only a wallet, keeps a balance and held money'),
          'ledger_accounts: a wallet without a balance is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.ledger_accounts SET balance = 0, held = 0 WHERE ledger_account_id = 1 $$),
          pg_temp.breaks('ledger_accounts', 'a wallet, and only a wallet, keeps a balance and held money'),
          'ledger_accounts: a fee slot with a balance and held money is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.ledger_accounts SET balance = 5 WHERE ledger_account_id = 1 $$),
          pg_temp.breaks('ledger_accounts', 'a wallet, and only a wallet, keeps a balance and held money'),
          'ledger_accounts: a fee slot with a balance alone is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.ledger_accounts SET held = 7 WHERE ledger_account_id = 101 $$),
          pg_temp.breaks('ledger_accounts', 'a wallet, and only a wallet, keeps a balance and held money'),
          'ledger_accounts: a payments slot with held money alone is refused');

-- the money rule is its own, plain CHECK, named by PostgreSQL
SELECT throws_ok($$ SELECT pg_temp.as_replica('UPDATE handle_market.ledger_accounts SET held = balance + 1 WHERE account_id = 3') $$,
                 '23514', 'new row for relation "ledger_accounts" violates check constraint "ledger_accounts_check"',
                 'ledger_accounts: held above the balance is refused by the money CHECK');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.ledger_accounts SET held = balance + 1 WHERE account_id = 3 $$),
          (SELECT format('23514: new row for relation "ledger_accounts" violates check constraint "ledger_accounts_check" / '
                         'Failing row contains (%s, wallet, 3, null, 95000, 95001, %s).', ledger_account_id, created_at)
             FROM ledger_accounts WHERE account_id = 3),
          'ledger_accounts: with the row in the detail');
SELECT throws_ok($$ SELECT pg_temp.as_replica('UPDATE handle_market.ledger_accounts SET held = -1 WHERE account_id = 3') $$,
                 '23514', 'new row for relation "ledger_accounts" violates check constraint "ledger_accounts_check"',
                 'ledger_accounts: negative held money is refused by the money CHECK');
SELECT throws_ok($$ SELECT pg_temp.as_replica('UPDATE handle_market.ledger_accounts SET balance = -1, held = -1 WHERE account_id = 3') $$,
                 '23514', 'new row for relation "ledger_accounts" violates check constraint "ledger_accounts_check"',
                 'ledger_accounts: a negative balance is refused by the money CHECK');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.ledger_accounts SET held = balance WHERE account_id = 3 $$),
          'no error, 1 rows', 'ledger_accounts: all of a balance may be held');

-- ---------------------------------------------------------------------
-- transfers
SELECT is(pg_temp.error_of($$ UPDATE handle_market.transfers SET idempotency_key = '' WHERE idempotency_key = 'dep-3' $$),
          pg_temp.breaks('transfers', 'an idempotency key is not empty'),
          'transfers: an empty idempotency key is refused');
SELECT is(pg_temp.error_of($$ INSERT INTO handle_market.transfers (idempotency_key, kind, request, at)
                              VALUES ('', 'deposit', 'deposit(account_id => 3, amount_cents => 1)', pg_temp.day(100)) $$),
          pg_temp.breaks('transfers', 'an idempotency key is not empty'),
          'transfers: an INSERT is checked too');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.transfers SET kind = 'refund' WHERE idempotency_key = 'dep-3' $$),
          pg_temp.breaks('transfers', 'kind is deposit, withdrawal, purchase, handle_transfer, hold, hold_void or hold_post'),
          'transfers: an unknown kind is refused');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.transfers SET kind = 'Deposit' WHERE idempotency_key = 'dep-3' $$),
          pg_temp.breaks('transfers', 'kind is deposit, withdrawal, purchase, handle_transfer, hold, hold_void or hold_post'),
          'transfers: kinds are compared exactly (no case folding)');
-- a closing (hold_void, hold_post) has no key, every other transfer has one
SELECT is((SELECT string_agg(k || ': ' || pg_temp.error_of(format('UPDATE handle_market.transfers SET kind = %L, idempotency_key = %L WHERE idempotency_key = ''dep-3''',
                                                                  k, CASE WHEN k IN ('hold_void', 'hold_post') THEN NULL ELSE 'dep-3' END)),
                             ', ' ORDER BY n)
             FROM unnest(ARRAY['deposit', 'withdrawal', 'purchase', 'handle_transfer', 'hold', 'hold_void', 'hold_post'])
                  WITH ORDINALITY AS u(k, n)),
          'deposit: no error, 1 rows, withdrawal: no error, 1 rows, purchase: no error, 1 rows, '
          'handle_transfer: no error, 1 rows, hold: no error, 1 rows, hold_void: no error, 1 rows, hold_post: no error, 1 rows',
          'transfers: each of the seven kinds is accepted (a closing without a key, the others with one)');
SELECT is((SELECT string_agg(k || ': ' || pg_temp.error_of(format('UPDATE handle_market.transfers SET kind = %L, idempotency_key = %L WHERE idempotency_key = ''dep-3''',
                                                                  k, CASE WHEN k IN ('hold_void', 'hold_post') THEN 'dep-3' ELSE NULL END)),
                             E'\n' ORDER BY n)
             FROM unnest(ARRAY['deposit', 'withdrawal', 'purchase', 'handle_transfer', 'hold', 'hold_void', 'hold_post'])
                  WITH ORDINALITY AS u(k, n)),
          (SELECT string_agg(k || ': ' || pg_temp.breaks('transfers', 'a closing transfer (hold_void, hold_post) has no idempotency key, '
                                                                    'and every other transfer has one'), E'\n' ORDER BY n)
             FROM unnest(ARRAY['deposit', 'withdrawal', 'purchase', 'handle_transfer', 'hold', 'hold_void', 'hold_post'])
                  WITH ORDINALITY AS u(k, n)),
          'transfers: a closing with a key, and any other transfer without one, is refused');

-- ---------------------------------------------------------------------
-- outbox
SELECT is(pg_temp.error_of($$ UPDATE handle_market.outbox SET kind = 'spam' WHERE message_id = (SELECT min(message_id) FROM handle_market.outbox) $$),
          pg_temp.breaks('outbox', 'kind is inactivity_notice, released, restored, registered, held, hold_released, '
                                   'sold, bought, handle_sent, handle_received, outbid, auction_ended, offer_received '
                                   'or offer_ended'),
          'outbox: an unknown kind is refused');
SELECT is(pg_temp.error_of($$ INSERT INTO handle_market.outbox (kind, account_id, handle, at, detail)
                              VALUES ('welcome', 2, 'elon_musk', pg_temp.day(100), 'Welcome.') $$),
          pg_temp.breaks('outbox', 'kind is inactivity_notice, released, restored, registered, held, hold_released, '
                                   'sold, bought, handle_sent, handle_received, outbid, auction_ended, offer_received '
                                   'or offer_ended'),
          'outbox: an INSERT is checked too');
SELECT is((SELECT string_agg(k || ': ' || pg_temp.error_of(format('INSERT INTO handle_market.outbox (kind, account_id, handle, at, detail) '
                                                                  'VALUES (%L, 2, ''elon_musk'', pg_temp.day(100), ''x'')', k)),
                             ', ' ORDER BY n)
             FROM unnest(ARRAY['inactivity_notice', 'released', 'restored', 'registered', 'held', 'hold_released',
                               'sold', 'bought', 'handle_sent', 'handle_received', 'outbid', 'auction_ended',
                               'offer_received', 'offer_ended']) WITH ORDINALITY AS u(k, n)),
          'inactivity_notice: no error, 1 rows, released: no error, 1 rows, restored: no error, 1 rows, '
          'registered: no error, 1 rows, held: no error, 1 rows, hold_released: no error, 1 rows, '
          'sold: no error, 1 rows, bought: no error, 1 rows, handle_sent: no error, 1 rows, '
          'handle_received: no error, 1 rows, outbid: no error, 1 rows, auction_ended: no error, 1 rows, '
          'offer_received: no error, 1 rows, offer_ended: no error, 1 rows',
          'outbox: each of the fourteen kinds is accepted');

-- ---------------------------------------------------------------------
-- The functions themselves: NULL passes, as it passes a CHECK; a broken
-- rule raises, whoever calls.  They are granted to no role (only the
-- constraints call them, in writes the API makes as the owner), so the
-- superuser calls them.
SELECT throws_ok($$ SELECT outbox_row_rules(NULL) $$, '42501', 'permission denied for function outbox_row_rules',
                 'the admin role cannot call a row-rules function');
RESET ROLE;
SELECT is(ARRAY[handles_row_rules(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                ledger_accounts_row_rules(NULL, NULL, NULL, NULL, NULL),
                transfers_row_rules(NULL, NULL), outbox_row_rules(NULL)],
          ARRAY[true, true, true, true], 'the four functions return true for NULL arguments');
SET ROLE hm_test_rules;
SELECT is(pg_temp.error_of($$ SELECT handle_market.transfers_row_rules('', 'refund') $$),
          pg_temp.breaks('transfers', 'an idempotency key is not empty'),
          'transfers_row_rules(idempotency_key, kind): the key is the first argument, and its rule is checked first');
SELECT is(pg_temp.error_of($$ SELECT handle_market.transfers_row_rules('k', 'refund') $$),
          pg_temp.breaks('transfers', 'kind is deposit, withdrawal, purchase, handle_transfer, hold, hold_void or hold_post'),
          'transfers_row_rules(idempotency_key, kind): the kind is the second argument');

-- ---------------------------------------------------------------------
-- Nothing refused changed anything, and the guard is back on
SELECT is(pg_temp.state(), :'before_refusals', 'the statements above changed nothing');
SELECT is(current_setting('session_replication_role'), 'origin', 'triggers are on again');
-- The superuser: only a role that may write the table (the owner may)
-- reaches the guard; the admin role is refused before it (42501).
RESET ROLE;
SELECT throws_ok($$ UPDATE handles SET display = display $$, 'HM015', NULL,
                 'without replica, the guard refuses a direct write before any CHECK');
SET ROLE hm_test_rules;

-- ---------------------------------------------------------------------
-- The constraints
SELECT results_eq($$ SELECT conrelid::regclass::text, conname::text COLLATE "default", pg_get_constraintdef(oid)
                       FROM pg_constraint
                      WHERE contype = 'c'
                        AND conrelid IN ('handle_market.handles'::regclass, 'handle_market.ledger_accounts'::regclass,
                                         'handle_market.transfers'::regclass, 'handle_market.outbox'::regclass)
                      ORDER BY conname $$,
                  $$ VALUES ('handles', 'handles_row_rules',
                             'CHECK (handles_row_rules(handle, display, state, owner_id, released_at, notice_at, list_price_cents, listed_at, hold_reason, held_at))'),
                            ('ledger_accounts', 'ledger_accounts_check', 'CHECK (((held >= 0) AND (balance >= held)))'),
                            ('ledger_accounts', 'ledger_accounts_row_rules',
                             'CHECK (ledger_accounts_row_rules(kind, account_id, slot, balance, held))'),
                            ('outbox', 'outbox_row_rules', 'CHECK (outbox_row_rules(kind))'),
                            ('transfers', 'transfers_row_rules', 'CHECK (transfers_row_rules(idempotency_key, kind))') $$,
                  'the CHECK constraints of the four tables: one row-rules constraint each, and the money CHECK');
SELECT is(obj_description((SELECT oid FROM pg_constraint WHERE conname = 'handles_row_rules'
                              AND conrelid = 'handle_market.handles'::regclass), 'pg_constraint'),
          'display canonicalizes to handle; state is registered, at_risk or released; an owner exactly '
          'when not released; released_at exactly when released; notice_at exactly when at_risk; a '
          'listing has a positive price and listed_at, and a released handle has none; a hold has '
          'hold_reason and held_at (src/core/row_rules.c)',
          'handles_row_rules has its comment');
SELECT is(obj_description((SELECT oid FROM pg_constraint WHERE conname = 'ledger_accounts_row_rules'
                              AND conrelid = 'handle_market.ledger_accounts'::regclass), 'pg_constraint'),
          'kind is wallet, fee or payments; a wallet, and only a wallet, belongs to an account and '
          'keeps a balance and held money; a platform account, and only a platform account, has a '
          'slot (src/core/row_rules.c)',
          'ledger_accounts_row_rules has its comment');
SELECT is(obj_description((SELECT oid FROM pg_constraint WHERE conname = 'transfers_row_rules'
                              AND conrelid = 'handle_market.transfers'::regclass), 'pg_constraint'),
          'the idempotency key is not empty; kind is deposit, withdrawal, purchase, handle_transfer, '
          'hold, hold_void or hold_post; a closing transfer (hold_void, hold_post) has no idempotency '
          'key, and every other transfer has one (src/core/row_rules.c)',
          'transfers_row_rules has its comment');
SELECT is(obj_description((SELECT oid FROM pg_constraint WHERE conname = 'outbox_row_rules'
                              AND conrelid = 'handle_market.outbox'::regclass), 'pg_constraint'),
          'kind is inactivity_notice, released, restored, registered, held, hold_released, sold, '
          'bought, handle_sent, handle_received, outbid, auction_ended, offer_received or offer_ended '
          '(src/core/row_rules.c)',
          'outbox_row_rules has its comment');

-- ---------------------------------------------------------------------
-- The extension's own flows still work under the rules
SELECT lives_ok($$ SELECT touch(4, pg_temp.day(101)) $$, 'day 101: account 4 comes back');
SELECT lives_ok($$ SELECT transfer_handle('@Elon_Musk', 2, 4, 'give-elon', pg_temp.day(102)) $$,
                'day 102: elon_musk is given to account 4, typed "@Elon_Musk"');
SELECT lives_ok($$ SELECT release_hold('on_hold_one', pg_temp.day(103)), unlist_handle('for_sale_one', 2, pg_temp.day(103)) $$,
                'day 103: the hold is released and the listing withdrawn');
SELECT lives_ok($$ SELECT buy('gone_quiet', 3, 5000, 'buy-gone', pg_temp.day(116)) $$,
                'day 116: the released handle is bought at its base price');
SELECT is(pg_temp.handle_rows(),
          'elon_musk|Elon_Musk|4|registered||||||' || E'\n' ||
          'for_sale_one|for_sale_one|2|registered||||||' || E'\n' ||
          'gone_quiet|gone_quiet|3|registered||||||' || E'\n' ||
          'on_hold_one|on_hold_one|2|registered||||||' || E'\n' ||
          'risky_one|risky_one|4|registered||||||' || E'\n' ||
          'sold_one|sold_one|3|registered||||||',
          'the handles after the flows: every one registered, none listed, held or noticed; a given handle shown as typed');
SELECT is(pg_temp.wallets(), '2:4500/0 3:90000/0', 'the wallets: the buyer paid 5,000 more');
SELECT is(pg_temp.error_of($$ UPDATE handle_market.handles SET display = display $$), 'no error, 6 rows',
          'every handle the flows rewrote keeps the rules');
SELECT is_empty($$ SELECT * FROM check_invariants() $$, 'check_invariants: no violations');

SELECT * FROM finish();
ROLLBACK;
