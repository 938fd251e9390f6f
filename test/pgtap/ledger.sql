-- test/pgtap/ledger.sql
-- The ledger: deposits, withdrawals, balances, idempotency keys, the guard
-- on its tables, the commit-time balance check and check_invariants().
\ir include/settings.psql

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS handle_market;
-- The superuser only installs; everything else runs as an operator's role
-- (the API and SELECT on the ledger's tables, which the assertions read).
CREATE ROLE hm_test_ledger;                -- rolled back with the test
SELECT handle_market.grant_admin('hm_test_ledger');
SET ROLE hm_test_ledger;
SET search_path = handle_market, public;
SET timezone = 'UTC';

SELECT plan(41);

SELECT upsert_account(1), upsert_account(2), upsert_account(3);

-- deposits
SELECT is(balance(1), 0::bigint, 'an account without a wallet has nothing to spend');
SELECT lives_ok($$ SELECT deposit(1, 1000000, 'dep-1') $$, 'deposit');
SELECT is(balance(1), 1000000::bigint, 'the deposit is in the wallet, to the cent');
SELECT is((SELECT deposit(1, 1000000, 'dep-1')),
          (SELECT transfer_id FROM transfers WHERE idempotency_key = 'dep-1'),
          'the same key with the same parameters returns the first transfer');
SELECT is(balance(1), 1000000::bigint, 'a replayed deposit changes nothing');
SELECT is((SELECT count(*) FROM transfers WHERE idempotency_key = 'dep-1'), 1::bigint,
          'a replay writes no second transfer');
SELECT throws_ok($$ SELECT deposit(1, 999, 'dep-1') $$, 'HM006',
                 'idempotency key "dep-1" was already used for another request',
                 'the same key with another amount is refused');
-- keys are scoped to the account: another account's 'dep-1' is its own
SELECT lives_ok($$ SELECT deposit(2, 1000000, 'dep-1') $$,
                'the same key for another account is that account''s own: no HM006');
SELECT results_eq($$ SELECT key_account_id, kind FROM transfers WHERE idempotency_key = 'dep-1' ORDER BY transfer_id $$,
                  $$ VALUES (1::bigint, 'deposit'), (2::bigint, 'deposit') $$,
                  'two transfers under the key dep-1, one for each account');
SELECT is(balance(2), 1000000::bigint, 'the other account''s deposit is in its wallet');
SELECT throws_ok($$ SELECT withdraw(1, 1000000, 'dep-1') $$, 'HM006', NULL,
                 'the same key for another kind of transfer is refused');
SELECT throws_ok($$ SELECT deposit(1, 0, 'dep-zero') $$, '22023', 'amount_cents must be positive',
                 'a deposit of nothing is refused');
SELECT throws_ok($$ SELECT deposit(1, -5, 'dep-neg') $$, '22023', 'amount_cents must be positive',
                 'a negative deposit is refused');
SELECT throws_ok($$ SELECT deposit(1, 5, '') $$, '22023', 'idempotency key must not be empty',
                 'an empty key is refused');
SELECT throws_ok($$ SELECT deposit(1, 5, NULL) $$, '22004', NULL, 'a null key is refused');
SELECT throws_ok($$ SELECT deposit(42, 5, 'dep-42') $$, 'HM011', 'account 42 does not exist',
                 'a deposit to an unknown account is refused');
SELECT throws_ok($$ SELECT balance(42) $$, 'HM011', 'account 42 does not exist',
                 'the balance of an unknown account is refused');

-- withdrawals
SELECT lives_ok($$ SELECT withdraw(1, 250001, 'wd-1') $$, 'withdraw');
SELECT is(balance(1), 749999::bigint, 'the withdrawal left the wallet, to the cent');
SELECT throws_ok($$ SELECT withdraw(1, 750000, 'wd-2') $$, 'HM005', 'insufficient funds',
                 'a withdrawal of one cent more than the balance is refused');
SELECT is(balance(1), 749999::bigint, 'a refused withdrawal changes nothing');
SELECT lives_ok($$ SELECT withdraw(1, 749999, 'wd-3') $$, 'the whole balance can be withdrawn');
SELECT is(balance(1), 0::bigint, 'to exactly zero');
SELECT throws_ok($$ SELECT withdraw(3, 1, 'wd-4') $$, 'HM005', 'insufficient funds',
                 'an account without a wallet cannot withdraw');
SELECT is((SELECT count(*) FROM ledger_accounts WHERE account_id = 3), 0::bigint,
          'and the refused withdrawal made no wallet');

-- the money went somewhere: the payment processor's slots mirror the wallets
SELECT is((SELECT sum(amount) FROM entries), 0::numeric, 'all entries sum to zero');
SELECT is((SELECT sum(ledger_balance(ledger_account_id)) FROM ledger_accounts WHERE kind = 'payments'),
          -(1000000 + 1000000 - 250001 - 749999)::numeric, 'the payments slots hold the opposite of what came in and went out');
SELECT is((SELECT count(DISTINCT transfer_id) FROM entries), 4::bigint, 'four transfers moved money');
SELECT is((SELECT array_agg(kind ORDER BY transfer_id) FROM transfers),
          ARRAY['deposit', 'deposit', 'withdrawal', 'withdrawal'], 'each is recorded with its kind');

-- overflow: a wallet cannot pass bigint
SELECT lives_ok($$ SELECT deposit(3, 9223372036854775000, 'big-1') $$, 'a deposit near the limit');
SELECT throws_ok($$ SELECT deposit(3, 1000, 'big-2') $$, 'HM013', NULL,
                 'a deposit that would overflow the balance is refused');
SELECT is(balance(3), 9223372036854775000::bigint, 'and changes nothing');

-- the guard: the ledger is written only by its functions, and never rewritten.
-- The admin role may read the tables but not write them:
SELECT throws_ok($$ INSERT INTO entries (transfer_id, ledger_account_id, amount) VALUES (1, 1, 5) $$,
                 '42501', 'permission denied for table entries', 'the admin role cannot write entries at all');
-- The superuser, because only a role that may write the tables (the owner
-- may) reaches the guard, which refuses even it.
RESET ROLE;
SELECT throws_ok($$ INSERT INTO entries (transfer_id, ledger_account_id, amount) VALUES (1, 1, 5) $$,
                 'HM015', NULL, 'entries cannot be written directly');
SELECT throws_ok($$ UPDATE ledger_accounts SET balance = balance + 1 WHERE account_id = 1 $$,
                 'HM015', NULL, 'balances cannot be written directly');
SELECT throws_ok($$ DELETE FROM transfers $$, 'HM015', 'handle_market.transfers is append-only',
                 'transfers are never deleted');
SELECT throws_ok($$ UPDATE entries SET amount = 1 $$, 'HM015', 'handle_market.entries is append-only',
                 'entries are never updated');
SET ROLE hm_test_ledger;

-- check_invariants finds nothing wrong with books that balance
SELECT is_empty($$ SELECT * FROM check_invariants() $$, 'check_invariants: no violations');

-- What it reports when the books do not balance.  Only a superuser who
-- turns the guard off (session_replication_role = replica, as a restore
-- does) can write such an entry, and even then cannot commit it: the
-- deposit of transfer 1 queued the commit-time check of transfer 1, which
-- then finds the extra cent.  All in a subtransaction that is rolled back;
-- the function returns what it saw (pgTAP's own counters must not be
-- rolled back with it).
CREATE FUNCTION pg_temp.unbalanced_books() RETURNS text[] LANGUAGE plpgsql AS $f$
DECLARE
    seen text[];
BEGIN
    BEGIN
        SET LOCAL session_replication_role = replica;
        INSERT INTO entries (transfer_id, ledger_account_id, amount) VALUES (1, 1001, 7);
        SET LOCAL session_replication_role = origin;
        SELECT array_agg(v ORDER BY v) INTO seen FROM check_invariants() v;
        BEGIN
            SET CONSTRAINTS ALL IMMEDIATE;
            seen := seen || 'committed'::text;
        EXCEPTION WHEN check_violation THEN
            seen := seen || SQLERRM;
        END;
        RAISE EXCEPTION USING ERRCODE = 'HM999';
    EXCEPTION WHEN SQLSTATE 'HM999' THEN
        RETURN seen;
    END;
END $f$;
-- The superuser: session_replication_role and a write to entries are its alone.
RESET ROLE;
SELECT pg_temp.unbalanced_books() AS seen \gset
SET ROLE hm_test_ledger;
SELECT is((:'seen'::text[])[1:2],
          ARRAY['transfer 1: its entries sum to 7 cents, not 0',
                'wallet 1001 of account 1: balance 0 cents, but its entries sum to 7'],
          'check_invariants names the unbalanced transfer and the wallet');
SELECT is((:'seen'::text[])[3], 'transfer 1 does not balance',
          'the commit-time check refuses a transfer whose entries do not sum to zero');
SELECT is_empty($$ SELECT * FROM check_invariants() $$, 'and after the rollback the books balance again');

SELECT * FROM finish();
ROLLBACK;
