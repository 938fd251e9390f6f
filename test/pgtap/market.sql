-- test/pgtap/market.sql
-- The market (src/sql/77_market.sql, src/market.c): the atomic sale from the
-- platform and between users, the transfer of a handle, listings, every
-- refusal with its SQLSTATE, idempotent replays, the books and privileges,
-- to the cent.  Runs in one transaction, walking simulated time: day 0 is
-- 2026-01-01 UTC.
--
-- Timeline.  Account 1 registers five handles on day 0 and goes quiet: the
-- sweep notices them on day 30 and releases them on day 60 (the steps of
-- release_dormant(), which commits and so cannot run inside this
-- transaction); redemption to day 90, quarantine to day 95, premium decay to
-- day 116.  Account 15 buys them on days 95, 96, 102 and 116.  On day 100
-- account 10 buys the priority handle "jack" ($50,000), sellers 11-14 (one
-- per subscription) register and list handles at $123.45, which account 16
-- buys on day 101; account 17 gives "gift_box" to account 18 on day 101.
-- Transfer locks (60 days) then end on days 160-161.
\ir include/settings.psql

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS handle_market;
-- The superuser only installs (and, through PGOPTIONS in make test, turns
-- handle_market.simulated_time on for this calendar-walking test; the value
-- stays after SET ROLE).  Everything else runs as an operator's role.
CREATE ROLE hm_test_market;                -- rolled back with the test
SELECT handle_market.grant_admin('hm_test_market');
SET ROLE hm_test_market;
SET search_path = handle_market, public;
SET timezone = 'UTC';
SET datestyle = 'ISO';

SELECT plan(147);

\ir include/calendar.sql
\ir include/error_of.sql
-- the transfer made under an idempotency key
CREATE FUNCTION pg_temp.tid(p_key text) RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT transfer_id FROM handle_market.transfers WHERE idempotency_key = p_key $$;
-- the legs of that transfer, in the order they were posted
CREATE FUNCTION pg_temp.legs(p_key text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT string_agg(CASE l.kind WHEN 'wallet' THEN 'account ' || l.account_id
                                  ELSE l.kind || ' slot ' || l.slot END
                      || ' ' || CASE WHEN e.amount > 0 THEN '+' ELSE '' END || e.amount, ', ' ORDER BY e.entry_id)
      FROM handle_market.entries e JOIN handle_market.ledger_accounts l USING (ledger_account_id)
     WHERE e.transfer_id = pg_temp.tid(p_key) $$;
-- what the platform's fee slots hold together
CREATE FUNCTION pg_temp.fees() RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(e.amount), 0)::bigint
      FROM handle_market.entries e JOIN handle_market.ledger_accounts l USING (ledger_account_id)
     WHERE l.kind = 'fee' $$;
-- a handle's row, as one line
CREATE FUNCTION pg_temp.row_of(p_handle text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT format('%s|%s|%s|%s|%s|%s|%s|%s|%s', h.owner_id, h.state, h.display, h.previous_owner_id,
                  h.registered_at, h.released_at, h.list_price_cents, h.listed_at, h.transfer_locked_until)
      FROM handle_market.handles h WHERE h.handle = p_handle::handle_market.handle $$;
-- everything a refused call could have changed
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT format('transfers %s, entries %s, events %s, outbox %s, wallets %s, handles %s',
                  (SELECT count(*) FROM handle_market.transfers),
                  (SELECT count(*) FROM handle_market.entries),
                  (SELECT count(*) FROM handle_market.handle_events),
                  (SELECT count(*) FROM handle_market.outbox),
                  (SELECT string_agg(account_id || ':' || balance || '/' || held, ' ' ORDER BY account_id)
                     FROM handle_market.ledger_accounts WHERE kind = 'wallet'),
                  (SELECT md5(string_agg(pg_temp.row_of(handle::text), ' ' ORDER BY handle)) FROM handle_market.handles)) $$;

-- ---------------------------------------------------------------------
-- Accounts: 1 goes quiet; 10, 15 and 16 buy; 11-14 sell, one per
-- subscription; 17 gives to 18; 19 is rich; 20 has no wallet; 21 buys "rich".
\o /dev/null
SELECT upsert_account(a, s, active_at => pg_temp.day(0))
  FROM (VALUES (1, 'none'), (10, 'none'), (11, 'none'), (12, 'basic'), (13, 'premium'),
               (14, 'premium_plus'), (15, 'none'), (16, 'none'), (17, 'none'), (18, 'none'),
               (19, 'none'), (20, 'none'), (21, 'none')) v(a, s);
SELECT register_handle(1, h, pg_temp.day(0))
  FROM unnest(ARRAY['Fresh_Release', 'one_day_later', 'week_later', 'fully_decayed', 'never_sold']) h;
SELECT pg_temp.sweep(30);
\o
SELECT is((SELECT string_agg(handle || ':' || state, ' ' ORDER BY handle) FROM handles),
          'fresh_release:at_risk fully_decayed:at_risk never_sold:at_risk one_day_later:at_risk week_later:at_risk',
          'day 30: the quiet owner''s handles are noticed');
\o /dev/null
SELECT pg_temp.sweep(60);
\o
SELECT is((SELECT string_agg(handle || ':' || state || ':' || released_at, ' ' ORDER BY handle) FROM handles),
          'fresh_release:released:2026-03-02 00:00:00+00 fully_decayed:released:2026-03-02 00:00:00+00 '
          'never_sold:released:2026-03-02 00:00:00+00 one_day_later:released:2026-03-02 00:00:00+00 '
          'week_later:released:2026-03-02 00:00:00+00',
          'day 60: released');
\o /dev/null
SELECT deposit(15, 10000000, 'dep-15', pg_temp.day(61));
\o

-- ---------------------------------------------------------------------
-- A released handle: not for sale in redemption and quarantine, then sold by
-- the platform at base ($50 for 7+ characters) + the ENS premium.
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('fresh_release', 15, 99999999, 'buy-fresh', pg_temp.day(61)) $$),
          'HM008: handle "fresh_release" is not for sale / in redemption until 2026-04-01 00:00 UTC',
          'redemption (day 61): HM008, not for sale');
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('fresh_release', 1, 99999999, 'buy-fresh', pg_temp.day(61)) $$),
          'HM008: handle "fresh_release" is not for sale / in redemption until 2026-04-01 00:00 UTC',
          'not even to the former owner, who may restore it instead');
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('fresh_release', 15, 99999999, 'buy-fresh', pg_temp.day(95) - interval '1 microsecond') $$),
          'HM008: handle "fresh_release" is not for sale / in quarantine until 2026-04-06 00:00 UTC',
          'quarantine, to its last microsecond: HM008');
SELECT is(price('fresh_release', pg_temp.day(95)), 5004998::bigint, 'day 0 of the premium: 5,000 + 4,999,998');
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('fresh_release', 15, 5004997, 'buy-fresh', pg_temp.day(95)) $$),
          'HM009: the price of handle "fresh_release" is above max_price_cents / The price is $50,049.98 (premium day 1 of 21: base $50.00 (13 characters) + premium $49,999.98); the most this buyer would pay is $50,049.97.',
          'HM009: one cent above max_price_cents');
SELECT is(balance(15), 10000000::bigint, 'the refused buyer paid nothing');
SELECT lives_ok($$ SELECT buy('fresh_release', 15, 5004998, 'buy-fresh', pg_temp.day(95)) $$,
                'day 95: bought at exactly its price');
SELECT is(balance(15), 10000000 - 5004998::bigint, 'the buyer paid 5,004,998 cents');
SELECT is(pg_temp.legs('buy-fresh'),
          format('account 15 -5004998, fee slot %s +5004998', pg_temp.tid('buy-fresh') % 16),
          'two legs: the buyer pays, all of it to one fee slot');
SELECT is(pg_temp.fees(), 5004998::bigint, 'the platform''s fee slots hold exactly the price');
SELECT is(pg_temp.row_of('fresh_release'),
          '15|registered|fresh_release|1|2026-04-06 00:00:00+00||||2026-06-05 00:00:00+00',
          'the handle: new owner, registered, shown as the buyer typed it, the former owner kept, released_at cleared, locked 60 days');
SELECT results_eq($$ SELECT from_state, to_state, at, account_id, reason FROM handle_events
                      WHERE handle = 'fresh_release' ORDER BY event_id DESC LIMIT 1 $$,
                  $$ VALUES ('released', 'registered', pg_temp.day(95), 15::bigint,
                             format('bought from the platform for $50,049.98, premium day 1 of 21: base $50.00 (13 characters) + premium $49,999.98 (transfer %s)',
                                    pg_temp.tid('buy-fresh'))) $$,
                  'its event: from the stored state, with how the price was made');
SELECT results_eq($$ SELECT kind, account_id, at, detail FROM outbox WHERE handle = 'fresh_release' AND kind IN ('bought', 'sold') $$,
                  $$ VALUES ('bought', 15::bigint, pg_temp.day(95), 'You bought @fresh_release for $50,049.98.') $$,
                  'one notice, to the buyer (the platform sold it)');
SELECT results_eq($$ SELECT kind, request, handle::text, at FROM transfers WHERE idempotency_key = 'buy-fresh' $$,
                  $$ VALUES ('purchase', 'buy(candidate => ''fresh_release'', buyer_id => 15, max_price_cents => 5004998)',
                             'fresh_release', pg_temp.day(95)) $$,
                  'the transfer records the request');

SELECT is(price('one_day_later', pg_temp.day(96)), 2504998::bigint, '1 day: 5,000 + 2,499,998');
SELECT lives_ok($$ SELECT buy('one_day_later', 15, 2504998, 'buy-one-day', pg_temp.day(96)) $$, 'day 96: bought');
SELECT is(price('week_later', pg_temp.day(102)), 44060::bigint, '7 days: 5,000 + 39,060');
SELECT lives_ok($$ SELECT buy('week_later', 15, 44060, 'buy-week', pg_temp.day(102)) $$, 'day 102: bought');
SELECT is(price('fully_decayed', pg_temp.day(116)), 5000::bigint, '21 days: the premium is 0, the base is left');
SELECT lives_ok($$ SELECT buy('fully_decayed', 15, 5000, 'buy-decayed', pg_temp.day(116)) $$, 'day 116: bought at the base');
SELECT results_eq($$ SELECT t.idempotency_key COLLATE "default", -e.amount FROM transfers t JOIN entries e USING (transfer_id)
                      JOIN ledger_accounts l USING (ledger_account_id)
                     WHERE l.account_id = 15 AND t.kind = 'purchase' ORDER BY t.transfer_id $$,
                  $$ VALUES ('buy-fresh', 5004998::bigint), ('buy-one-day', 2504998), ('buy-week', 44060), ('buy-decayed', 5000) $$,
                  'each purchase charged its exact price');
SELECT is(balance(15), (10000000 - 5004998 - 2504998 - 44060 - 5000)::bigint, 'the buyer''s balance, to the cent');
SELECT is(pg_temp.fees(), (5004998 + 2504998 + 44060 + 5000)::bigint, 'the fee slots, to the cent');
SELECT is((SELECT reason FROM handle_events WHERE handle = 'fully_decayed' ORDER BY event_id DESC LIMIT 1),
          format('bought from the platform for $50.00, released, now at its base price: $50.00 (13 characters) (transfer %s)',
                 pg_temp.tid('buy-decayed')),
          'the available phase: the event says so');

-- ---------------------------------------------------------------------
-- The premium list: "jack", a priority handle at $50,000.
\o /dev/null
SELECT set_premium('jack'), set_premium('rich', 100000, 'rare');
SELECT deposit(10, 6000000, 'dep-10', pg_temp.day(100));
\o
SELECT is((SELECT (price_cents, fee_cents, seller_id, reason)::text FROM quote('jack', 10, pg_temp.day(100))),
          '(5000000,0,,"priority handle: $50,000.00")', 'quote: $50,000, all to the platform');
SELECT pg_temp.state() AS before_jack \gset
SELECT lives_ok($$ SELECT buy('@Jack', 10, 5000000, 'buy-jack', pg_temp.day(100)) $$, 'buy a priority handle');
SELECT is(balance(10), 1000000::bigint, 'the buyer''s balance dropped by exactly 5,000,000');
SELECT is(pg_temp.fees(), (5004998 + 2504998 + 44060 + 5000 + 5000000)::bigint, 'the fee slots gained exactly 5,000,000');
SELECT is(pg_temp.legs('buy-jack'), format('account 10 -5000000, fee slot %s +5000000', pg_temp.tid('buy-jack') % 16),
          'its legs');
SELECT is(pg_temp.row_of('jack'), '10|registered|Jack||2026-04-11 00:00:00+00||||2026-06-10 00:00:00+00',
          'the handle gets its row: owner 10, registered, shown as typed, not listed, locked until as_of + 60 days');
SELECT results_eq($$ SELECT from_state, to_state, at, account_id, reason FROM handle_events WHERE handle = 'jack' $$,
                  $$ VALUES (NULL::text, 'registered', pg_temp.day(100), 10::bigint,
                             format('bought from the platform for $50,000.00, priority handle: $50,000.00 (transfer %s)',
                                    pg_temp.tid('buy-jack'))) $$,
                  'one event, from nothing to registered');
SELECT results_eq($$ SELECT kind, account_id, at, detail FROM outbox WHERE handle = 'jack' $$,
                  $$ VALUES ('bought', 10::bigint, pg_temp.day(100), 'You bought @jack for $50,000.00.') $$,
                  'one notice: bought, to the buyer');
SELECT pg_temp.state() AS after_jack \gset
SELECT isnt(:'after_jack'::text, :'before_jack'::text, '(the sale changed the state)');

-- idempotent replays
SELECT is(buy('@Jack', 10, 5000000, 'buy-jack', pg_temp.day(100)), pg_temp.tid('buy-jack'),
          'a replay returns the first transfer id');
SELECT is(buy('@Jack', 10, 5000000, 'buy-jack', pg_temp.day(130)), pg_temp.tid('buy-jack'),
          'so does a later replay (as_of is not part of the request)');
SELECT is(pg_temp.state(), :'after_jack', 'and changes nothing: balances, rows, owner');
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('@Jack', 10, 5000001, 'buy-jack', pg_temp.day(100)) $$),
          format('HM006: idempotency key "buy-jack" was already used for another request / Account 10 made transfer %s with it by buy(candidate => ''@Jack'', buyer_id => 10, max_price_cents => 5000000); this request is buy(candidate => ''@Jack'', buyer_id => 10, max_price_cents => 5000001).',
                 pg_temp.tid('buy-jack')),
          'HM006: the same key with another max_price_cents, naming both requests');
-- keys are scoped to the buyer: another buyer's 'buy-jack' is a key of its
-- own, so its purchase is judged as a new one (jack is sold)
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('@Jack', 16, 5000000, 'buy-jack', pg_temp.day(100)) $$),
          'HM008: handle "jack" is not for sale / not for sale: registered',
          'another buyer may use the same key: no HM006, a purchase judged on its own');
SELECT throws_ok($$ SELECT buy('rich', 10, 5000000, 'buy-jack', pg_temp.day(100)) $$, 'HM006',
                 'idempotency key "buy-jack" was already used for another request', 'HM006: another handle');
SELECT throws_ok($$ SELECT buy('jack', 10, 5000000, 'dep-10', pg_temp.day(100)) $$, 'HM006',
                 'idempotency key "dep-10" was already used for another request', 'HM006: a deposit''s key');
SELECT throws_ok($$ SELECT transfer_handle('jack', 10, 16, 'buy-jack', pg_temp.day(100)) $$, 'HM006',
                 'idempotency key "buy-jack" was already used for another request', 'HM006: a transfer with a purchase''s key');
SELECT is(pg_temp.state(), :'after_jack', 'a reused key changed nothing');

-- nobody buys it twice
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('jack', 16, 5000000, 'buy-jack-16', pg_temp.day(100)) $$),
          'HM008: handle "jack" is not for sale / not for sale: registered', 'HM008: a second buyer is refused');
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('JACK', 10, 5000000, 'buy-jack-again', pg_temp.day(101)) $$),
          'HM008: account 10 already owns handle "jack" / A handle cannot change hands from an account to itself.', 'HM008: the owner cannot buy it again');
SELECT is(pg_temp.state(), :'after_jack', 'the refusals changed nothing');

-- ---------------------------------------------------------------------
-- Insufficient funds: nothing changes.
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('rich', 20, 100000, 'buy-rich-20', pg_temp.day(100)) $$),
          'HM005: insufficient funds / The wallet has $0.00 available; this needs $1,000.00.',
          'HM005: a buyer without a wallet');
\o /dev/null
SELECT deposit(21, 99999, 'dep-21', pg_temp.day(100));
\o
SELECT pg_temp.state() AS before_rich \gset
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('rich', 21, 100000, 'buy-rich', pg_temp.day(100)) $$),
          'HM005: insufficient funds / The wallet has $999.99 available; this needs $1,000.00.',
          'HM005: one cent short');
SELECT is(pg_temp.state(), :'before_rich', 'nothing changed: balances, owners, rows');
SELECT is(balance(21), 99999::bigint, 'the balance is intact');
SELECT is(pg_temp.tid('buy-rich'), NULL, 'no transfer under the key');
SELECT is(pg_temp.row_of('rich'), NULL, 'the handle has no owner yet');
SELECT is((SELECT count(*) FROM ledger_accounts WHERE account_id = 20), 0::bigint, 'no wallet was made for the buyer without one');
-- the key was not used up: the same request succeeds once the money is there (below, as the application)
\o /dev/null
SELECT deposit(21, 1, 'dep-21b', pg_temp.day(100));
\o

-- ---------------------------------------------------------------------
-- Sales between users: commission by the seller's subscription, rounded down.
\o /dev/null
SELECT register_handle(s, h, pg_temp.day(100))
  FROM (VALUES (11, 'sale_none'), (12, 'sale_basic'), (13, 'sale_premium'), (14, 'sale_plus'),
               (17, 'gift_box'), (17, 'held_name'), (17, 'relist_me'), (19, 'overflow_me')) v(s, h);
SELECT deposit(16, 100000, 'dep-16', pg_temp.day(100));
\o
SELECT lives_ok($$ SELECT list_handle('sale_none', 11, 12345, pg_temp.day(100)),
                          list_handle('sale_basic', 12, 12345, pg_temp.day(100)),
                          list_handle('sale_premium', 13, 12345, pg_temp.day(100)),
                          list_handle('sale_plus', 14, 12345, pg_temp.day(100)) $$,
                'the four sellers list at $123.45');
SELECT is(pg_temp.row_of('sale_none'), '11|registered|sale_none||2026-04-11 00:00:00+00||12345|2026-04-11 00:00:00+00|',
          'the listing is on the row');
SELECT results_eq($$ SELECT q.price_cents, q.fee_cents, q.seller_id, q.reason
                       FROM unnest(ARRAY['sale_none', 'sale_basic', 'sale_premium', 'sale_plus']) WITH ORDINALITY c(h, n),
                            quote(c.h, 16, pg_temp.day(101)) q ORDER BY c.n $$,
                  $$ VALUES (12345::bigint, 1234::bigint, 11::bigint, 'listed by its owner at $123.45; commission 10% (none)'),
                            (12345, 987, 12, 'listed by its owner at $123.45; commission 8% (basic)'),
                            (12345, 617, 13, 'listed by its owner at $123.45; commission 5% (premium)'),
                            (12345, 370, 14, 'listed by its owner at $123.45; commission 3% (premium_plus)') $$,
                  'quotes: 10 %, 8 %, 5 %, 3 %, rounded down to the cent');
SELECT pg_temp.fees() AS fees_before_resales \gset
SELECT lives_ok($$ SELECT buy('sale_none', 16, 12345, 'buy-none', pg_temp.day(101)),
                          buy('sale_basic', 16, 12345, 'buy-basic', pg_temp.day(101)),
                          buy('sale_premium', 16, 12345, 'buy-premium', pg_temp.day(101)),
                          buy('sale_plus', 16, 12345, 'buy-plus', pg_temp.day(101)) $$,
                'account 16 buys all four');
SELECT is(balance(16), (100000 - 4 * 12345)::bigint, 'the buyer paid the price four times');
SELECT results_eq($$ SELECT a, balance(a) FROM unnest(ARRAY[11, 12, 13, 14]::bigint[]) a ORDER BY a $$,
                  $$ VALUES (11::bigint, 11111::bigint), (12, 11358), (13, 11728), (14, 11975) $$,
                  'each seller got the price less the commission: 12345 - 1234, - 987, - 617, - 370');
SELECT is(pg_temp.fees() - :fees_before_resales, (1234 + 987 + 617 + 370)::bigint, 'the platform got the commissions');
SELECT results_eq($$ SELECT pg_temp.legs(k) FROM unnest(ARRAY['buy-none', 'buy-basic', 'buy-premium', 'buy-plus']) WITH ORDINALITY k(k, n) ORDER BY n $$,
                  $$ VALUES (format('account 16 -12345, account 11 +11111, fee slot %s +1234', pg_temp.tid('buy-none') % 16)),
                            (format('account 16 -12345, account 12 +11358, fee slot %s +987', pg_temp.tid('buy-basic') % 16)),
                            (format('account 16 -12345, account 13 +11728, fee slot %s +617', pg_temp.tid('buy-premium') % 16)),
                            (format('account 16 -12345, account 14 +11975, fee slot %s +370', pg_temp.tid('buy-plus') % 16)) $$,
                  'three legs each: buyer, seller, a fee slot chosen by transfer id');
SELECT is(pg_temp.row_of('sale_none'), '16|registered|sale_none|11|2026-04-12 00:00:00+00||||2026-06-11 00:00:00+00',
          'the handle: new owner, listing cleared, the seller kept as previous owner, locked for 60 days');
SELECT results_eq($$ SELECT from_state, to_state, at, account_id, reason FROM handle_events
                      WHERE handle = 'sale_none' ORDER BY event_id DESC LIMIT 1 $$,
                  $$ VALUES ('registered', 'registered', pg_temp.day(101), 16::bigint,
                             format('bought from account 11 for $123.45 (transfer %s)', pg_temp.tid('buy-none'))) $$,
                  'the event names the seller and the transfer');
SELECT results_eq($$ SELECT kind, account_id, at, detail FROM outbox
                      WHERE handle = 'sale_none' AND kind IN ('bought', 'sold') ORDER BY message_id $$,
                  $$ VALUES ('bought', 16::bigint, pg_temp.day(101), 'You bought @sale_none for $123.45.'),
                            ('sold', 11::bigint, pg_temp.day(101), 'You sold @sale_none for $123.45; $12.34 commission, $111.11 to your wallet.') $$,
                  'notices: bought to the buyer, sold to the seller with the commission');
SELECT is((SELECT detail FROM outbox WHERE handle = 'sale_plus' AND kind = 'sold'),
          'You sold @sale_plus for $123.45; $3.70 commission, $119.75 to your wallet.', 'premium_plus: 3 %');

-- ---------------------------------------------------------------------
-- transfer_handle: no money, the same rules.
SELECT pg_temp.state() AS before_gift \gset
SELECT lives_ok($$ SELECT transfer_handle('gift_box', 17, 18, 'gift-1', pg_temp.day(101)) $$, 'transfer_handle');
SELECT is(pg_temp.row_of('gift_box'), '18|registered|gift_box|17|2026-04-12 00:00:00+00||||2026-06-11 00:00:00+00',
          'the receiver owns it, locked for 60 days');
SELECT results_eq($$ SELECT kind, request, handle::text, at FROM transfers WHERE idempotency_key = 'gift-1' $$,
                  $$ VALUES ('handle_transfer', 'transfer_handle(candidate => ''gift_box'', from_id => 17, to_id => 18)',
                             'gift_box', pg_temp.day(101)) $$, 'a transfer row');
SELECT is((SELECT count(*) FROM entries WHERE transfer_id = pg_temp.tid('gift-1')), 0::bigint, 'without entries');
SELECT is((SELECT (substring(:'before_gift' from 'wallets [^,]*'))), (SELECT substring(pg_temp.state() from 'wallets [^,]*')),
          'no balance moved');
SELECT results_eq($$ SELECT from_state, to_state, at, account_id, reason FROM handle_events
                      WHERE handle = 'gift_box' ORDER BY event_id DESC LIMIT 1 $$,
                  $$ VALUES ('registered', 'registered', pg_temp.day(101), 18::bigint,
                             format('transferred by account 17 (transfer %s)', pg_temp.tid('gift-1'))) $$, 'its event');
SELECT results_eq($$ SELECT kind, account_id, detail FROM outbox
                      WHERE handle = 'gift_box' AND kind IN ('handle_received', 'handle_sent') ORDER BY message_id $$,
                  $$ VALUES ('handle_received', 18::bigint, '@gift_box was transferred to you.'),
                            ('handle_sent', 17::bigint, 'You transferred @gift_box to account 18.') $$, 'its notices');
SELECT pg_temp.state() AS after_gift \gset
SELECT is(transfer_handle('gift_box', 17, 18, 'gift-1', pg_temp.day(101)), pg_temp.tid('gift-1'), 'a replay returns the same id');
SELECT is(pg_temp.state(), :'after_gift', 'and changes nothing');
SELECT throws_ok($$ SELECT transfer_handle('gift_box', 17, 16, 'gift-1', pg_temp.day(101)) $$, 'HM006',
                 'idempotency key "gift-1" was already used for another request', 'HM006: the same key to another receiver');
SELECT is(pg_temp.state(), :'after_gift', 'which changes nothing');
SELECT is(pg_temp.error_of($$ SELECT handle_market.transfer_handle('gift_box', 18, 17, 'gift-2', pg_temp.day(161) - interval '1 microsecond') $$),
          'HM007: handle "gift_box" is under its transfer lock / It changed hands recently; the lock ends at 2026-06-11 00:00:00+00.',
          'HM007: not back before the lock ends');
SELECT throws_ok($$ SELECT transfer_handle('gift_box', 17, 16, 'gift-3', pg_temp.day(102)) $$, 'HM008',
                 'account 17 does not own handle "gift_box"', 'HM008: the giver no longer owns it');
SELECT throws_ok($$ SELECT transfer_handle('gift_box', 18, 18, 'gift-4', pg_temp.day(200)) $$, 'HM008',
                 'a handle cannot be transferred to its own owner', 'HM008: to oneself');
SELECT throws_ok($$ SELECT transfer_handle('never_sold', 1, 16, 'gift-5', pg_temp.day(200)) $$, 'HM008',
                 'account 1 does not own handle "never_sold"', 'HM008: the former owner of a released handle');
SELECT throws_ok($$ SELECT transfer_handle('nobody_has_it', 17, 16, 'gift-6', pg_temp.day(200)) $$, 'HM008',
                 'account 17 does not own handle "nobody_has_it"', 'HM008: a handle nobody holds');
SELECT throws_ok($$ SELECT transfer_handle('gift_box', 18, 999, 'gift-7', pg_temp.day(200)) $$, 'HM011',
                 'account 999 does not exist', 'HM011: an unknown receiver');
SELECT throws_ok($$ SELECT transfer_handle('gift_box', 999, 18, 'gift-8', pg_temp.day(200)) $$, 'HM011',
                 'account 999 does not exist', 'HM011: an unknown giver');
SELECT throws_ok($$ SELECT transfer_handle('abc', 18, 17, 'gift-9', pg_temp.day(200)) $$, 'HM004',
                 'handle "abc" does not meet the x_classic profile', 'HM004: not a handle under the profile');
SELECT is(pg_temp.state(), :'after_gift', 'the refused transfers changed nothing');
SELECT lives_ok($$ SELECT transfer_handle('gift_box', 18, 17, 'gift-back', pg_temp.day(161)) $$,
                'back to the giver once the lock has ended');
SELECT is(pg_temp.row_of('gift_box'), '17|registered|gift_box|18|2026-06-11 00:00:00+00||||2026-08-10 00:00:00+00',
          'and a new lock starts');

-- ---------------------------------------------------------------------
-- Listings: who may list, what, and when.
SELECT is(pg_temp.error_of($$ SELECT handle_market.list_handle('gift_box', 18, 100, pg_temp.day(170)) $$),
          'HM008: account 18 does not own handle "gift_box" / Only the owner of a registered handle may list it.',
          'list_handle: HM008, not the owner');
SELECT throws_ok($$ SELECT list_handle('gift_box', 17, 100, pg_temp.day(170)) $$, 'HM007',
                 'handle "gift_box" is under its transfer lock', 'list_handle: HM007 under the transfer lock');
SELECT throws_ok($$ SELECT list_handle('relist_me', 17, 0, pg_temp.day(101)) $$, '22023',
                 'price_cents must be positive', 'list_handle: a price of 0');
SELECT throws_ok($$ SELECT list_handle('relist_me', 17, -1, pg_temp.day(101)) $$, '22023',
                 'price_cents must be positive', 'list_handle: a negative price');
SELECT throws_ok($$ SELECT list_handle('relist_me', 999, 100, pg_temp.day(101)) $$, 'HM011',
                 'account 999 does not exist', 'list_handle: HM011, an unknown seller');
SELECT throws_ok($$ SELECT list_handle('abc', 17, 100, pg_temp.day(101)) $$, 'HM004',
                 'handle "abc" does not meet the x_classic profile', 'list_handle: HM004');
SELECT throws_ok($$ SELECT list_handle('never_sold', 1, 100, pg_temp.day(101)) $$, 'HM008',
                 'account 1 does not own handle "never_sold"', 'list_handle: HM008, a released handle');
SELECT throws_ok($$ SELECT list_handle('nobody_has_it', 17, 100, pg_temp.day(101)) $$, 'HM008',
                 'account 17 does not own handle "nobody_has_it"', 'list_handle: HM008, a handle nobody holds');
SELECT throws_ok($$ SELECT unlist_handle('relist_me', 17, pg_temp.day(101)) $$, 'HM008',
                 'handle "relist_me" is not listed', 'unlist_handle: HM008, not listed');
SELECT lives_ok($$ SELECT list_handle('relist_me', 17, 1000, pg_temp.day(101)),
                          list_handle('relist_me', 17, 2000, pg_temp.day(102)) $$, 'list, then list again');
SELECT is(pg_temp.row_of('relist_me'), '17|registered|relist_me||2026-04-11 00:00:00+00||2000|2026-04-13 00:00:00+00|',
          'the new price replaces the old one');
SELECT throws_ok($$ SELECT unlist_handle('relist_me', 16, pg_temp.day(102)) $$, 'HM008',
                 'account 16 does not own handle "relist_me"', 'unlist_handle: HM008, not the owner');
SELECT lives_ok($$ SELECT unlist_handle('relist_me', 17, pg_temp.day(103)) $$, 'unlist_handle');
SELECT is(pg_temp.row_of('relist_me'), '17|registered|relist_me||2026-04-11 00:00:00+00||||', 'the listing is gone');
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('relist_me', 16, 2000, 'buy-relist', pg_temp.day(103)) $$),
          'HM008: handle "relist_me" is not for sale / not for sale: registered', 'an unlisted handle is not for sale');
SELECT lives_ok($$ SELECT list_handle('relist_me', 17, 3000, pg_temp.day(104)),
                          transfer_handle('relist_me', 17, 18, 'gift-relist', pg_temp.day(104)) $$,
                'a listed handle given away');
SELECT is(pg_temp.row_of('relist_me'), '18|registered|relist_me|17|2026-04-15 00:00:00+00||||2026-06-14 00:00:00+00',
          'the transfer clears the listing');

-- held: nothing moves
\o /dev/null
SELECT list_handle('held_name', 17, 5000, pg_temp.day(100));
SELECT hold_handle('held_name', 'court order 7', pg_temp.day(102));
\o
SELECT pg_temp.state() AS before_held \gset
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('held_name', 16, 5000, 'buy-held', pg_temp.day(103)) $$),
          'HM010: handle "held_name" is under hold / hold: court order 7', 'buy: HM010, a held handle even though listed');
SELECT throws_ok($$ SELECT transfer_handle('held_name', 17, 18, 'gift-held', pg_temp.day(103)) $$, 'HM010',
                 'handle "held_name" is under hold', 'transfer_handle: HM010');
SELECT throws_ok($$ SELECT list_handle('held_name', 17, 6000, pg_temp.day(103)) $$, 'HM010',
                 'handle "held_name" is under hold', 'list_handle: HM010');
SELECT throws_ok($$ SELECT unlist_handle('held_name', 17, pg_temp.day(103)) $$, 'HM010',
                 'handle "held_name" is under hold', 'unlist_handle: HM010');
SELECT is(pg_temp.state(), :'before_held', 'a held handle: nothing changed');

-- ---------------------------------------------------------------------
-- The other refusals of buy.
SELECT pg_temp.state() AS before_refusals \gset
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('abc', 16, 100, 'buy-abc', pg_temp.day(103)) $$),
          'HM004: handle "abc" does not meet the x_classic profile / handle must have 4 to 15 characters; it has 3',
          'HM004: too short, with check_handle''s reason');
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('elon musk', 16, 100, 'buy-abc', pg_temp.day(103)) $$),
          'HM004: handle "elon musk" does not meet the x_classic profile / character U+0020 SPACE at position 5 is not allowed',
          'HM004: not a handle at all');
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('jack', 999, 5000000, 'buy-999', pg_temp.day(103)) $$),
          'HM011: account 999 does not exist / ', 'HM011: an unknown buyer');
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('nobody_has_it', 16, 5000000, 'buy-free', pg_temp.day(103)) $$),
          'HM008: handle "nobody_has_it" is not for sale / free to register', 'HM008: a handle nobody holds is registered, not bought');
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('my_twitter', 16, 5000000, 'buy-reserved', pg_temp.day(103)) $$),
          'HM008: handle "my_twitter" is not for sale / not for sale: reserved (brand)', 'HM008: reserved');
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('r1ch', 16, 5000000, 'buy-lookalike', pg_temp.day(103)) $$),
          'HM008: handle "r1ch" is not for sale / not for sale: confusable with rare handle "rich"', 'HM008: a look-alike of a premium handle');
SELECT throws_ok($$ SELECT buy('rich', 16, -1, 'buy-neg', pg_temp.day(103)) $$, '22023',
                 'max_price_cents must not be negative', 'a negative max_price_cents');
SELECT throws_ok($$ SELECT buy('rich', 16, 100000, '', pg_temp.day(103)) $$, '22023',
                 'idempotency key must not be empty', 'an empty idempotency key');
-- (the message must name the function the caller called, not the one behind the gate)
SELECT throws_ok($$ SELECT buy('rich', 16, 100000, NULL, pg_temp.day(103)) $$, '22004',
                 'argument 4 of buy must not be null', 'a null idempotency key');
SELECT throws_ok($$ SELECT transfer_handle('gift_box', 17, NULL, 'gift-null', pg_temp.day(200)) $$, '22004',
                 'argument 3 of transfer_handle must not be null', 'a null receiver');
SELECT is(pg_temp.state(), :'before_refusals', 'the refusals changed nothing');

-- HM007 on a sale: a listing judged at a time inside the lock
SELECT lives_ok($$ SELECT list_handle('sale_none', 16, 20000, pg_temp.day(161)) $$, 'the lock over, the new owner lists it');
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('sale_none', 10, 20000, 'buy-locked', pg_temp.day(150)) $$),
          'HM007: handle "sale_none" is under its transfer lock / It changed hands recently; the lock ends at 2026-06-11 00:00:00+00.',
          'buy: HM007 at a time inside the lock');
SELECT lives_ok($$ SELECT buy('sale_none', 10, 20000, 'buy-resale', pg_temp.day(161)) $$, 'bought once the lock is over');
SELECT is(pg_temp.legs('buy-resale'), format('account 10 -20000, account 16 +18000, fee slot %s +2000', pg_temp.tid('buy-resale') % 16),
          'a resale: 10 % of 20,000 to the platform');

-- HM013: the seller's wallet would leave bigint
\o /dev/null
SELECT deposit(19, 9223372036854775000, 'dep-19', pg_temp.day(100));
SELECT list_handle('overflow_me', 19, 1000, pg_temp.day(100));
\o
SELECT pg_temp.state() AS before_overflow \gset
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('overflow_me', 16, 1000, 'buy-overflow', pg_temp.day(101)) $$),
          format('HM013: the balance of ledger account %s would leave the range of bigint cents / The balance is $92,233,720,368,547,750.00; the transfer adds $9.00.',
                 (SELECT ledger_account_id FROM ledger_accounts WHERE account_id = 19)),
          'HM013: the seller''s balance would overflow, with the numbers');
SELECT is(pg_temp.state(), :'before_overflow', 'and nothing changed');

-- ---------------------------------------------------------------------
-- Privileges: the application role buys; a role without the grant cannot.
-- The superuser: CREATE ROLE, and grant_app is the owner's alone.
RESET ROLE;
CREATE ROLE hm_market_app;
CREATE ROLE hm_market_nobody;
\o /dev/null
SELECT grant_app('hm_market_app');
\o
SET ROLE hm_market_app;
SELECT lives_ok($$ SELECT handle_market.buy('rich', 21, 100000, 'buy-rich', '2026-04-11') $$,
                'an application role buys: "rich" for $1,000.00');
SELECT is(handle_market.balance(21), 0::bigint, 'to exactly zero');
SELECT throws_ok($$ SELECT handle_market._buy('rich', 21, 100000, 'buy-rich-2', '2026-04-11') $$, '42501',
                 'permission denied for function _buy', 'but not the implementation behind the gate');
SELECT throws_ok($$ SELECT * FROM handle_market.entries $$, '42501', NULL, 'nor read the ledger');
SET ROLE hm_test_market;
SELECT is(pg_temp.row_of('rich'), '21|registered|rich||2026-04-11 00:00:00+00||||2026-06-10 00:00:00+00', 'the role''s purchase is done');
SELECT is((SELECT actor FROM transfers WHERE idempotency_key = 'buy-rich'), 'hm_market_app',
          'the transfer records the role that bought, not the owner of the implementation');
SELECT is((SELECT actor FROM transfers WHERE idempotency_key = 'buy-jack'), 'hm_test_market',
          'and the admin role''s purchase records the admin role');
SET ROLE hm_market_nobody;
SELECT throws_ok($$ SELECT handle_market.buy('jack', 21, 5000000, 'buy-nobody', '2026-04-11') $$, '42501',
                 'permission denied for function buy', 'a role without grant_app cannot buy');
SELECT throws_ok($$ SELECT handle_market.transfer_handle('rich', 21, 10, 'gift-nobody', '2026-04-11') $$, '42501',
                 'permission denied for function transfer_handle', 'nor transfer');
SELECT throws_ok($$ SELECT handle_market.list_handle('rich', 21, 10, '2026-04-11') $$, '42501',
                 'permission denied for function list_handle', 'nor list');
SET ROLE hm_test_market;

-- ---------------------------------------------------------------------
-- A price of 0 (a tier of 0 makes a released handle free).
SAVEPOINT free_tier;
\o /dev/null
SELECT add_pricing_version(pg_temp.day(300), '{"tiers": {"4": 1000000, "5": 250000, "6": 50000, "7": 0}}');
\o
SELECT is(price('never_sold', pg_temp.day(300)), 0::bigint, 'a tier of 0: the released handle costs nothing');
-- A handle that costs nothing is not sold: it is free to register (HM008
-- with the quote's reason), with or without a wallet; never HM005 for
-- $0.00, never an internal error.
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('never_sold', 20, 0, 'buy-free-20', pg_temp.day(300)) $$),
          'HM008: handle "never_sold" is not for sale: it is free to register / released, now at its base price: $0.00 (10 characters)',
          'buy at $0.00 without a wallet: HM008, free to register, not HM005');
SELECT is(pg_temp.error_of($$ SELECT handle_market.buy('never_sold', 16, 0, 'buy-free-16', pg_temp.day(300)) $$),
          'HM008: handle "never_sold" is not for sale: it is free to register / released, now at its base price: $0.00 (10 characters)',
          'buy at $0.00 with a wallet: HM008, free to register, not an internal error');
ROLLBACK TO SAVEPOINT free_tier;

-- ---------------------------------------------------------------------
-- The books at the end.
SELECT is((SELECT sum(amount) FROM entries), 0::numeric, 'all entries sum to zero');
SELECT is_empty($$ SELECT e.entry_id FROM entries e JOIN ledger_accounts l USING (ledger_account_id)
                    WHERE l.kind = 'fee' AND l.slot <> e.transfer_id % 16 $$,
                'every fee leg is in the slot of its transfer id');
SELECT is(pg_temp.fees(), (5004998 + 2504998 + 44060 + 5000 + 5000000 + 1234 + 987 + 617 + 370 + 2000 + 100000)::bigint,
          'the fee slots: the platform''s sales and the commissions, to the cent');
SELECT results_eq($$ SELECT kind, count(*) FROM transfers GROUP BY kind ORDER BY kind $$,
                  $$ VALUES ('deposit', 6::bigint), ('handle_transfer', 3), ('purchase', 11) $$,
                  'the transfers: no refused call left one behind');
SELECT is_empty($$ SELECT * FROM check_invariants() $$, 'check_invariants: no violations');

-- handles.policy_version has no foreign key (src/sql/55_registry_tables.sql):
-- check_invariants() names a handle whose version does not exist.  The row
-- is changed past the guard and the change undone.
SAVEPOINT bad_version;
-- The superuser: session_replication_role and a direct write are its alone.
-- (The rollback to the savepoint also undoes the RESET ROLE.)
RESET ROLE;
SET LOCAL session_replication_role = replica;
UPDATE handles SET policy_version = 99 WHERE handle = 'jack';
SET LOCAL session_replication_role = origin;
SET ROLE hm_test_market;
SELECT results_eq($$ SELECT * FROM check_invariants() $$,
                  $$ VALUES ('handle jack runs under policy version 99, which does not exist') $$,
                  'check_invariants: a handle under a policy version that does not exist');
ROLLBACK TO SAVEPOINT bad_version;
SELECT is_empty($$ SELECT * FROM check_invariants() $$, 'and none once it is undone');

SELECT * FROM finish();
ROLLBACK;
