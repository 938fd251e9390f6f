-- test/pgtap/auctions.sql
-- Escrow holds, English auctions and offers (src/sql/78a_escrow.sql to
-- 78d_settlement.sql, src/escrow.c, _sell_from_hold in src/market.c): every
-- rule and refusal, with exact cents and SQLSTATEs.  Runs in one transaction, walking
-- simulated time: day 0 is 2026-01-01 UTC.  settle_auctions() commits, so
-- settlement runs here through settle_batch(), one batch at a time.
--
-- Timeline.  Account 1 registers "quiet_one" and "quiet_two" on day 0 and
-- goes quiet: released on day 60 (the steps of release_dormant()); on day
-- 100 they are in their premium phase.  On day 100 sellers 11-14 (one per
-- subscription: none, basic, premium, premium_plus) register handles and
-- buyers 20-23 deposit $1,000.00 each.  Auctions run from day 100: "auction_one"
-- (seller 11, reserve $10.00, to day 107, extended by a last-hour bid), one
-- per tier (reserve $123.45, to day 110), one without bids, one that fails
-- (the handle is put on hold), and two by the platform (a premium-list
-- handle and a released one).  Offers follow on days 105-113.
--
-- Seven tests pin down rules this file found broken, since fixed: a null
-- bid amount is 22004; raising one's own top bid needs only the new amount
-- and sends no "outbid" notice; cancel_auction(h, NULL) cannot cancel a
-- platform auction; bid() refuses a held handle as make_offer() does; a
-- make_offer() replay from another time zone is the same request; one sale
-- that cannot be paid (HM013) fails that auction only.
\ir include/settings.psql

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS handle_market;
-- The superuser only installs (and, through PGOPTIONS in make test, turns
-- handle_market.simulated_time on for this calendar-walking test; the value
-- stays after SET ROLE).  Everything else runs as an operator's role.
CREATE ROLE hm_test_auctions;              -- rolled back with the test
SELECT handle_market.grant_admin('hm_test_auctions');
SET ROLE hm_test_auctions;
SET search_path = handle_market, public;
SET timezone = 'UTC';
SET datestyle = 'ISO';

SELECT plan(233);

\ir include/calendar.sql
\ir include/error_of.sql
-- the same, but whatever the statement did is undone even when it succeeds
-- (for calls that must succeed, checked without keeping what they did)
CREATE FUNCTION pg_temp.undone(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE v_state text; v_msg text; v_detail text;
BEGIN
    EXECUTE p_sql;
    RAISE EXCEPTION 'undo' USING ERRCODE = 'HMZZZ';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
    IF v_state = 'HMZZZ' THEN
        RETURN 'no error';
    END IF;
    RETURN v_state || ': ' || v_msg || ' / ' || coalesce(v_detail, '');
END $$;
-- the transfer made under an idempotency key (the keys used here are each
-- used by one account only)
CREATE FUNCTION pg_temp.tid(p_key text) RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT transfer_id FROM handle_market.transfers WHERE idempotency_key = p_key $$;
-- a hold's closing, found by its hold: a closing has no idempotency key of
-- its own, its pending_id is the hold (unique)
CREATE FUNCTION pg_temp.post_of(p_key text) RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT transfer_id FROM handle_market.transfers WHERE pending_id = pg_temp.tid(p_key) AND kind = 'hold_post' $$;
CREATE FUNCTION pg_temp.void_of(p_key text) RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT transfer_id FROM handle_market.transfers WHERE pending_id = pg_temp.tid(p_key) AND kind = 'hold_void' $$;
-- the legs of a transfer, in the order they were posted
CREATE FUNCTION pg_temp.legs_of(p_transfer_id bigint) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT string_agg(CASE l.kind WHEN 'wallet' THEN 'account ' || l.account_id
                                  ELSE l.kind || ' slot ' || l.slot END
                      || ' ' || CASE WHEN e.amount > 0 THEN '+' ELSE '' END || e.amount, ', ' ORDER BY e.entry_id)
      FROM handle_market.entries e JOIN handle_market.ledger_accounts l USING (ledger_account_id)
     WHERE e.transfer_id = p_transfer_id $$;
CREATE FUNCTION pg_temp.legs(p_key text) RETURNS text LANGUAGE sql STABLE
    AS $$ SELECT pg_temp.legs_of(pg_temp.tid(p_key)) $$;
-- what the platform's fee slots hold together
CREATE FUNCTION pg_temp.fees() RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(e.amount), 0)::bigint
      FROM handle_market.entries e JOIN handle_market.ledger_accounts l USING (ledger_account_id)
     WHERE l.kind = 'fee' $$;
-- a wallet: "posted balance/held"
CREATE FUNCTION pg_temp.wallet(p_account bigint) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT balance || '/' || held FROM handle_market.ledger_accounts WHERE account_id = p_account $$;
-- a handle's row, as one line
CREATE FUNCTION pg_temp.row_of(p_handle text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT format('%s|%s|%s|%s|%s|%s|%s|%s', h.owner_id, h.state, h.previous_owner_id,
                  h.registered_at, h.released_at, h.list_price_cents, h.hold_reason, h.transfer_locked_until)
      FROM handle_market.handles h WHERE h.handle = p_handle::handle_market.handle $$;
-- the latest auction of a handle
CREATE FUNCTION pg_temp.aid(p_handle text) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT max(auction_id) FROM handle_market.auctions WHERE handle = p_handle::handle_market.handle $$;
CREATE FUNCTION pg_temp.auction(p_handle text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT format('%s|seller %s|reserve %s|%s..%s|top %s by %s (%s bids)|closed %s|%s',
                  a.state, a.seller_id, a.reserve_cents, a.started_at, a.ends_at, a.top_cents,
                  a.top_bidder_id, a.bid_count, a.closed_at, a.outcome)
      FROM handle_market.auctions a WHERE a.auction_id = pg_temp.aid(p_handle) $$;
-- a hold, its bid or offer: "hold state amount|bid or offer state"
CREATE FUNCTION pg_temp.hold(p_key text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT format('%s %s|%s', h.state, h.amount, coalesce('bid ' || b.state, 'offer ' || o.state))
      FROM handle_market.holds h
      LEFT JOIN handle_market.bids b ON b.bid_id = h.hold_id
      LEFT JOIN handle_market.offers o ON o.offer_id = h.hold_id
     WHERE h.hold_id = pg_temp.tid(p_key) $$;
-- everything a refused call could have changed
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT format('transfers %s, entries %s, events %s, outbox %s, wallets %s, handles %s, holds %s, auctions %s, bids %s, offers %s',
                  (SELECT count(*) FROM handle_market.transfers),
                  (SELECT count(*) FROM handle_market.entries),
                  (SELECT count(*) FROM handle_market.handle_events),
                  (SELECT count(*) FROM handle_market.outbox),
                  (SELECT string_agg(account_id || ':' || balance || '/' || held, ' ' ORDER BY account_id)
                     FROM handle_market.ledger_accounts WHERE kind = 'wallet'),
                  (SELECT md5(string_agg(pg_temp.row_of(handle::text), ' ' ORDER BY handle)) FROM handle_market.handles),
                  (SELECT md5(string_agg(h::text, ' ' ORDER BY hold_id)) FROM handle_market.holds h),
                  (SELECT md5(string_agg(a::text, ' ' ORDER BY auction_id)) FROM handle_market.auctions a),
                  (SELECT md5(string_agg(b::text, ' ' ORDER BY bid_id)) FROM handle_market.bids b),
                  (SELECT md5(string_agg(o::text, ' ' ORDER BY offer_id)) FROM handle_market.offers o)) $$;

-- ---------------------------------------------------------------------
-- Accounts: 1 goes quiet; 11-14 sell, one per subscription; 20-23 buy;
-- 24 is poor; 25 has $20.00; 30 has no wallet; 19 is absurdly rich.
\o /dev/null
SELECT upsert_account(a, s, active_at => pg_temp.day(0))
  FROM (VALUES (1, 'none'), (11, 'none'), (12, 'basic'), (13, 'premium'), (14, 'premium_plus'),
               (19, 'none'), (20, 'none'), (21, 'none'), (22, 'none'), (23, 'none'), (24, 'none'),
               (25, 'none'), (30, 'none')) v(a, s);
SELECT register_handle(1, h, pg_temp.day(0)) FROM unnest(ARRAY['quiet_one', 'quiet_two']) h;
SELECT pg_temp.sweep(30);
SELECT pg_temp.sweep(60);
SELECT register_handle(s, h, pg_temp.day(100))
  FROM (VALUES (11, 'auction_one'), (11, 'listed_one'), (11, 'held_one'), (11, 'locked_one'),
               (12, 'cancel_me'), (12, 'tier_basic'), (12, 'fail_me'),
               (13, 'tier_premium'), (13, 'offer_me'), (13, 'raise_me'),
               (14, 'tier_plus'), (14, 'buy_me'), (14, 'no_bidder'), (19, 'poison_pill')) v(s, h);
SELECT deposit(a, 100000, 'dep-' || a, pg_temp.day(100)) FROM unnest(ARRAY[20, 21, 22, 23]) a;
SELECT deposit(24, 999, 'dep-24', pg_temp.day(100));
SELECT deposit(25, 2000, 'dep-25', pg_temp.day(100));
SELECT list_handle('listed_one', 11, 5000, pg_temp.day(100));
SELECT hold_handle('held_one', 'court order 1', pg_temp.day(100));
SELECT transfer_handle('locked_one', 11, 12, 'gift-locked', pg_temp.day(100));
SELECT set_premium('prem_name', 500000, 'rare');
SELECT set_premium('prem_two', 500000, 'rare');
\o
SELECT is((SELECT string_agg(handle || ':' || state, ' ' ORDER BY handle) FROM handles WHERE owner_id IS NULL),
          'quiet_one:released quiet_two:released', 'setup: the quiet owner''s handles are released');

-- ---------------------------------------------------------------------
-- minimum_bid(): the reserve, then max(top + $1, ceil(top * 1.05)).
SELECT results_eq($$ SELECT minimum_bid(t, 1000) FROM unnest(ARRAY[NULL, 1, 1000, 1999, 2000, 2001, 10000, 10001, 12345]::bigint[])
                      WITH ORDINALITY u(t, n) ORDER BY n $$,
                  $$ VALUES (1000::bigint), (101), (1100), (2099), (2100), (2102), (10500), (10502), (12963) $$,
                  'minimum_bid: the reserve first; then $1 up to $20.00, 5 % (rounded up to the cent) from there');

-- ---------------------------------------------------------------------
-- start_auction: who may auction what.
SELECT pg_temp.state() AS before_start \gset
SELECT is(pg_temp.error_of($$ SELECT handle_market.start_auction('auction_one', 12, 1000, pg_temp.day(107), pg_temp.day(100)) $$),
          'HM008: account 12 does not own handle "auction_one" / Only the owner of a registered handle may auction it.',
          'start_auction: HM008, not the owner');
SELECT throws_ok($$ SELECT start_auction('nobody_has_it', 11, 1000, pg_temp.day(107), pg_temp.day(100)) $$, 'HM008',
                 'account 11 does not own handle "nobody_has_it"', 'start_auction: HM008, a handle nobody holds');
SELECT throws_ok($$ SELECT start_auction('quiet_one', 1, 1000, pg_temp.day(107), pg_temp.day(100)) $$, 'HM008',
                 'account 1 does not own handle "quiet_one"', 'start_auction: HM008, the former owner of a released handle');
SELECT is(pg_temp.error_of($$ SELECT handle_market.start_auction('listed_one', 11, 1000, pg_temp.day(107), pg_temp.day(100)) $$),
          'HM008: handle "listed_one" is listed at a fixed price / It is listed at $50.00.',
          'start_auction: HM008, a handle listed at a fixed price');
SELECT is(pg_temp.error_of($$ SELECT handle_market.start_auction('held_one', 11, 1000, pg_temp.day(107), pg_temp.day(100)) $$),
          'HM010: handle "held_one" is under hold / hold: court order 1', 'start_auction: HM010, a held handle');
SELECT is(pg_temp.error_of($$ SELECT handle_market.start_auction('locked_one', 12, 1000, pg_temp.day(107), pg_temp.day(101)) $$),
          'HM007: handle "locked_one" is under its transfer lock / It changed hands recently; the lock ends at 2026-06-10 00:00:00+00.',
          'start_auction: HM007 under the transfer lock');
SELECT is(pg_temp.error_of($$ SELECT handle_market.start_auction('auction_one', 11, 0, pg_temp.day(107), pg_temp.day(100)) $$),
          '22023: reserve_cents must be positive / It was 0 cents.', 'start_auction: a reserve of 0');
SELECT throws_ok($$ SELECT start_auction('auction_one', 11, -1, pg_temp.day(107), pg_temp.day(100)) $$, '22023',
                 'reserve_cents must be positive', 'start_auction: a negative reserve');
SELECT is(pg_temp.error_of($$ SELECT handle_market.start_auction('auction_one', 11, 1000, pg_temp.day(100), pg_temp.day(100)) $$),
          '22023: an auction must end after it starts / It would start at 2026-04-11 00:00:00+00 and end at 2026-04-11 00:00:00+00.',
          'start_auction: ends_at = as_of');
SELECT throws_ok($$ SELECT start_auction('auction_one', 11, 1000, pg_temp.day(99), pg_temp.day(100)) $$, '22023',
                 'an auction must end after it starts', 'start_auction: ends_at before as_of');
SELECT throws_ok($$ SELECT start_auction('auction_one', 999, 1000, pg_temp.day(107), pg_temp.day(100)) $$, 'HM011',
                 'account 999 does not exist', 'start_auction: HM011, an unknown seller');
SELECT is(pg_temp.state(), :'before_start', 'the refused auctions changed nothing');

SELECT lives_ok($$ SELECT start_auction('auction_one', 11, 1000, pg_temp.day(107), pg_temp.day(100)) $$,
                'the owner auctions "auction_one": reserve $10.00, until day 107');
SELECT is(pg_temp.auction('auction_one'),
          'open|seller 11|reserve 1000|2026-04-11 00:00:00+00..2026-04-18 00:00:00+00|top  by  (0 bids)|closed |',
          'the auction row: open, no bids');
\o /dev/null
SELECT start_auction(h, s, 12345, pg_temp.day(110), pg_temp.day(100))
  FROM (VALUES ('tier_basic', 12), ('tier_premium', 13), ('tier_plus', 14)) v(h, s);
SELECT start_auction('raise_me', 13, 1500, pg_temp.day(110), pg_temp.day(100));
SELECT start_auction('no_bidder', 14, 1000, pg_temp.day(110), pg_temp.day(100));
SELECT start_auction('fail_me', 12, 3000, pg_temp.day(110), pg_temp.day(100));
SELECT start_auction('cancel_me', 12, 1000, pg_temp.day(120), pg_temp.day(100));
\o
SELECT pg_temp.state() AS before_second \gset
SELECT is(pg_temp.error_of($$ SELECT handle_market.start_auction('auction_one', 11, 2000, pg_temp.day(108), pg_temp.day(100)) $$),
          format('HM008: handle "auction_one" is being auctioned / Auction %s is open until 2026-04-18 00:00:00+00.', pg_temp.aid('auction_one')),
          'start_auction: HM008, a second open auction of the same handle');
SELECT is(pg_temp.error_of($$ SELECT handle_market.list_handle('auction_one', 11, 5000, pg_temp.day(101)) $$),
          format('HM008: handle "auction_one" is being auctioned / Auction %s is open until 2026-04-18 00:00:00+00.', pg_temp.aid('auction_one')),
          'list_handle: HM008 while the handle is auctioned');
SELECT throws_ok($$ SELECT buy('auction_one', 20, 1000000, 'buy-auctioned', pg_temp.day(101)) $$, 'HM008',
                 'handle "auction_one" is being auctioned', 'buy: HM008 while the handle is auctioned');
SELECT throws_ok($$ SELECT transfer_handle('auction_one', 11, 12, 'gift-auctioned', pg_temp.day(101)) $$, 'HM008',
                 'handle "auction_one" is being auctioned', 'transfer_handle: HM008 while the handle is auctioned');
SELECT is(pg_temp.state(), :'before_second', 'and they changed nothing');
-- the refusal is one (src/refuse.c) for C and SQL alike; only a buyer is
-- told to bid: the owner cannot bid on its own auction
CREATE FUNCTION pg_temp.hint_of(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_hint text;
BEGIN
    EXECUTE p_sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_hint = PG_EXCEPTION_HINT;
    RETURN v_hint;
END $$;
SELECT is(pg_temp.hint_of($$ SELECT handle_market.buy('auction_one', 20, 1000000, 'buy-auctioned', pg_temp.day(101)) $$),
          'Bid with handle_market.bid().', 'buy: the buyer is told to bid');
SELECT is(pg_temp.hint_of($$ SELECT handle_market.list_handle('auction_one', 11, 5000, pg_temp.day(101)) $$),
          '', 'list_handle: the owner is not');

-- ---------------------------------------------------------------------
-- Bids and their holds.
SELECT pg_temp.state() AS before_bids \gset
SELECT throws_ok($$ SELECT bid('auction_one', 11, 5000, 'bid-11', pg_temp.day(101)) $$, 'HM008',
                 'account 11 cannot bid on its own handle "auction_one"', 'bid: HM008, the seller cannot bid');
SELECT throws_ok($$ SELECT bid('listed_one', 20, 5000, 'bid-listed', pg_temp.day(101)) $$, 'HM008',
                 'handle "listed_one" is not being auctioned', 'bid: HM008, a handle not in auction');
SELECT throws_ok($$ SELECT bid('nobody_has_it', 20, 5000, 'bid-nobody', pg_temp.day(101)) $$, 'HM008',
                 'handle "nobody_has_it" is not being auctioned', 'bid: HM008, a handle nobody holds');
SELECT throws_ok($$ SELECT bid('auction_one', 999, 5000, 'bid-999', pg_temp.day(101)) $$, 'HM011',
                 'account 999 does not exist', 'bid: HM011, an unknown bidder');
SELECT throws_ok($$ SELECT bid('auction_one', 20, 5000, '', pg_temp.day(101)) $$, '22023',
                 'idempotency key must not be empty', 'bid: an empty idempotency key');
SELECT is(pg_temp.error_of($$ SELECT handle_market.bid('auction_one', 20, 999, 'bid-20-low', pg_temp.day(101)) $$),
          'HM012: bid too low for handle "auction_one" / The minimum bid is $10.00 (the reserve); the bid was $9.99.',
          'bid: HM012 one cent below the reserve, the detail gives the minimum');
SELECT is(pg_temp.error_of($$ SELECT handle_market.bid('auction_one', 30, 1000, 'bid-30', pg_temp.day(101)) $$),
          'HM005: insufficient funds / The wallet has $0.00 available; this needs $10.00.',
          'bid: HM005, a bidder without a wallet');
SELECT is(pg_temp.error_of($$ SELECT handle_market.bid('auction_one', 24, 1000, 'bid-24', pg_temp.day(101)) $$),
          'HM005: insufficient funds / The wallet has $9.99 available; this needs $10.00.',
          'bid: HM005, one cent short');
-- a null amount is refused as null, not as a bid too low
SELECT matches(pg_temp.error_of($$ SELECT handle_market.bid('auction_one', 20, NULL, 'bid-20-null', pg_temp.day(101)) $$),
               '^22004: ', 'bid: a null amount is refused as null (22004), as buy() does');
SELECT is(pg_temp.state(), :'before_bids', 'the refused bids changed nothing: no hold, no transfer, no bid');
SELECT is(pg_temp.tid('bid-24'), NULL, 'no transfer under the refused bid''s key');

-- the first bid: $10.00 held at once
SELECT bid('auction_one', 20, 1000, 'bid-20-a', pg_temp.day(101)) AS bid_id \gset
SELECT is(:bid_id::bigint, pg_temp.tid('bid-20-a'), 'bid at the reserve: the bid id is its hold''s transfer');
SELECT is(balance(20), 99000::bigint, 'balance() falls at once by the bid');
SELECT is(pg_temp.wallet(20), '100000/1000', 'the posted balance stays; ledger_accounts.held is the bid');
SELECT results_eq($$ SELECT kind, request, handle::text, at FROM transfers WHERE idempotency_key = 'bid-20-a' $$,
                  $$ VALUES ('hold', 'bid(candidate => ''auction_one'', bidder_id => 20, amount_cents => 1000)',
                             'auction_one', pg_temp.day(101)) $$, 'a hold transfer');
SELECT is((SELECT count(*) FROM entries WHERE transfer_id = pg_temp.tid('bid-20-a')), 0::bigint, 'without entries');
SELECT is(pg_temp.hold('bid-20-a'), 'pending 1000|bid top', 'the hold is pending, the bid on top');
SELECT is(pg_temp.auction('auction_one'),
          'open|seller 11|reserve 1000|2026-04-11 00:00:00+00..2026-04-18 00:00:00+00|top 1000 by 20 (1 bids)|closed |',
          'the auction records the top bid');
SELECT is_empty($$ SELECT * FROM check_invariants() $$, 'check_invariants after the first bid');

-- replays
SELECT pg_temp.state() AS after_first_bid \gset
SELECT is(bid('auction_one', 20, 1000, 'bid-20-a', pg_temp.day(102)), pg_temp.tid('bid-20-a'),
          'a replay returns the same bid id');
SELECT is(pg_temp.state(), :'after_first_bid', 'and holds the money once');
SELECT is(pg_temp.error_of($$ SELECT handle_market.bid('auction_one', 20, 1100, 'bid-20-a', pg_temp.day(101)) $$),
          format('HM006: idempotency key "bid-20-a" was already used for another request / Account 20 made transfer %s with it by bid(candidate => ''auction_one'', bidder_id => 20, amount_cents => 1000); this request is bid(candidate => ''auction_one'', bidder_id => 20, amount_cents => 1100).',
                 pg_temp.tid('bid-20-a')),
          'HM006: the same key for another amount');
-- keys are scoped to the bidder: another bidder's 'bid-20-a' is a key of its
-- own, so its bid is judged as a new one (too low: the top is $10.00)
SELECT is(pg_temp.error_of($$ SELECT handle_market.bid('auction_one', 21, 1000, 'bid-20-a', pg_temp.day(101)) $$),
          'HM012: bid too low for handle "auction_one" / The minimum bid is $11.00 (the top bid $10.00 plus the larger of $1.00 and 5%); the bid was $10.00.',
          'another bidder may use the same key: no HM006, a bid judged on its own');
SELECT throws_ok($$ SELECT bid('auction_one', 20, 1000, 'dep-20', pg_temp.day(101)) $$, 'HM006',
                 'idempotency key "dep-20" was already used for another request', 'HM006: a deposit''s key');
SELECT is(pg_temp.state(), :'after_first_bid', 'the reused keys changed nothing');

-- held money cannot be withdrawn
SELECT is(pg_temp.error_of($$ SELECT handle_market.withdraw(20, 99001, 'wd-20', pg_temp.day(101)) $$),
          'HM005: insufficient funds / The wallet has $990.00 available; this needs $990.01.',
          'withdraw: HM005, the held money is not available');
SELECT is(pg_temp.state(), :'after_first_bid', 'the refused withdrawal changed nothing');
SELECT lives_ok($$ SELECT withdraw(20, 99000, 'wd-20', pg_temp.day(101)) $$, 'withdraw exactly what is available');
SELECT is(balance(20), 0::bigint, 'balance() is 0');
SELECT is(pg_temp.wallet(20), '1000/1000', 'the wallet keeps exactly the held money');
\o /dev/null
SELECT deposit(20, 99000, 'dep-20-b', pg_temp.day(101));
\o

-- the minimum after a bid: top + $1.00 below $20.00
SELECT is(pg_temp.error_of($$ SELECT handle_market.bid('auction_one', 21, 1099, 'bid-21-low', pg_temp.day(102)) $$),
          'HM012: bid too low for handle "auction_one" / The minimum bid is $11.00 (the top bid $10.00 plus the larger of $1.00 and 5%); the bid was $10.99.',
          'bid: HM012 below top + $1.00');
SELECT lives_ok($$ SELECT bid('auction_one', 21, 1100, 'bid-21-a', pg_temp.day(102)) $$, 'account 21 bids $11.00');
SELECT is(balance(20), 100000::bigint, 'the outbid bidder has all of its money back at once');
SELECT is(pg_temp.wallet(20), '100000/0', 'nothing held any more');
SELECT is(balance(21), 98900::bigint, 'the new top bidder''s $11.00 is held');
SELECT is(pg_temp.hold('bid-20-a'), 'voided 1000|bid outbid', 'the old hold is voided, the old bid outbid');
SELECT results_eq($$ SELECT h.closed_by, h.closed_at, t.kind, t.pending_id, t.idempotency_key, t.key_account_id
                      FROM holds h JOIN transfers t ON t.transfer_id = h.closed_by
                      WHERE h.hold_id = pg_temp.tid('bid-20-a') $$,
                  $$ VALUES (pg_temp.void_of('bid-20-a'), pg_temp.day(102), 'hold_void', pg_temp.tid('bid-20-a'), NULL::text, NULL::bigint) $$,
                  'closed by its void transfer, which has no key: its pending_id is the hold');
SELECT results_eq($$ SELECT kind, account_id, at, detail FROM outbox WHERE handle = 'auction_one' AND kind = 'outbid' $$,
                  $$ VALUES ('outbid', 20::bigint, pg_temp.day(102), 'You were outbid on @auction_one at $11.00; your $10.00 is available again.') $$,
                  'an outbid notice to the previous top bidder');
SELECT is_empty($$ SELECT * FROM check_invariants() $$, 'check_invariants after an outbid');

-- the 5 % regime
SELECT lives_ok($$ SELECT bid('auction_one', 20, 10000, 'bid-20-b', pg_temp.day(103)) $$, 'account 20 bids $100.00');
SELECT is(pg_temp.error_of($$ SELECT handle_market.bid('auction_one', 21, 10499, 'bid-21-low', pg_temp.day(103)) $$),
          'HM012: bid too low for handle "auction_one" / The minimum bid is $105.00 (the top bid $100.00 plus the larger of $1.00 and 5%); the bid was $104.99.',
          'bid: HM012 below top + 5 %');
SELECT lives_ok($$ SELECT bid('auction_one', 21, 10500, 'bid-21-b', pg_temp.day(103)) $$, 'account 21 bids $105.00');
SELECT results_eq($$ SELECT a, balance(a) FROM unnest(ARRAY[20, 21]::bigint[]) a ORDER BY a $$,
                  $$ VALUES (20::bigint, 100000::bigint), (21, 89500) $$, 'only the top bid is held');

-- the top bidder raises its own bid: its old hold is released
SELECT lives_ok($$ SELECT bid('auction_one', 21, 11025, 'bid-21-c', pg_temp.day(104)) $$,
                'the top bidder raises its own bid to the minimum, $110.25');
SELECT is(balance(21), 88975::bigint, 'it pays only the new bid: 100000 - 11025');
SELECT is(pg_temp.wallet(21), '100000/11025', 'held: the new bid alone');
SELECT is(pg_temp.hold('bid-21-b'), 'voided 10500|bid outbid', 'its previous bid is closed');
SELECT is(pg_temp.auction('auction_one'),
          'open|seller 11|reserve 1000|2026-04-11 00:00:00+00..2026-04-18 00:00:00+00|top 11025 by 21 (5 bids)|closed |',
          'five bids, the top one $110.25 by 21');
-- the bidder is not told it was outbid by its own raise
SELECT is((SELECT count(*) FROM outbox WHERE handle = 'auction_one' AND kind = 'outbid' AND account_id = 21 AND at = pg_temp.day(104)),
          0::bigint, 'no "you were outbid" notice for raising one''s own bid');
-- raising one's own bid needs only the new amount
SELECT lives_ok($$ SELECT bid('raise_me', 25, 1500, 'bid-25-a', pg_temp.day(101)) $$, 'account 25 ($20.00) bids $15.00');
SELECT is(pg_temp.undone($$ SELECT handle_market.bid('raise_me', 25, 1600, 'bid-25-b', pg_temp.day(102)) $$), 'no error',
          'and may raise to $16.00: its own $15.00 is released by the raise');
SELECT is(balance(25), 500::bigint, 'the $15.00 bid stands');

-- an offer during the auction: made, but cannot be accepted
SELECT lives_ok($$ SELECT make_offer('auction_one', 22, 5000, pg_temp.day(130), 'off-22-auction', pg_temp.day(105)) $$,
                'an offer on a handle being auctioned');
SELECT is(pg_temp.error_of(format($$ SELECT handle_market.accept_offer(%s, 11, pg_temp.day(105)) $$, pg_temp.tid('off-22-auction'))),
          format('HM008: handle "auction_one" is being auctioned / Auction %s is open until 2026-04-18 00:00:00+00.', pg_temp.aid('auction_one')),
          'accept_offer: HM008 while the handle is auctioned');

-- ---------------------------------------------------------------------
-- The last hour: a bid in it keeps the auction open an hour after the bid.
SELECT lives_ok($$ SELECT bid('auction_one', 20, 11577, 'bid-20-c', pg_temp.day(106)) $$,
                'day 106: $115.77 (ceil(11025 * 1.05))');
SELECT is((SELECT ends_at FROM auctions WHERE auction_id = pg_temp.aid('auction_one')), pg_temp.day(107),
          'a bid a day before the end: ends_at unchanged');
SELECT lives_ok($$ SELECT bid('auction_one', 21, 12156, 'bid-21-d', '2026-04-17 23:00+00') $$,
                'a bid exactly an hour before the end');
SELECT is((SELECT ends_at FROM auctions WHERE auction_id = pg_temp.aid('auction_one')), pg_temp.day(107),
          'ends_at unchanged (the end is already an hour after it)');
SELECT lives_ok($$ SELECT bid('auction_one', 20, 12764, 'bid-20-d', '2026-04-17 23:30+00') $$,
                'a bid 30 minutes before the end: $127.64');
SELECT is((SELECT ends_at FROM auctions WHERE auction_id = pg_temp.aid('auction_one')), '2026-04-18 00:30+00'::timestamptz,
          'ends_at moves to the bid time + 1 hour');
SELECT pg_temp.state() AS before_late \gset
SELECT is(pg_temp.error_of($$ SELECT handle_market.bid('auction_one', 21, 20000, 'bid-21-late', '2026-04-18 00:30+00') $$),
          'HM008: the auction of handle "auction_one" has ended / It ended at 2026-04-18 00:30:00+00.',
          'bid: HM008 at ends_at');
SELECT throws_ok($$ SELECT bid('auction_one', 21, 20000, 'bid-21-late', pg_temp.day(108)) $$, 'HM008',
                 'the auction of handle "auction_one" has ended', 'bid: HM008 after ends_at');
SELECT is(bid('auction_one', 20, 12764, 'bid-20-d', pg_temp.day(108)), pg_temp.tid('bid-20-d'),
          'a replay after the end still returns the bid id');
SELECT is(pg_temp.state(), :'before_late', 'the late bids changed nothing');
SELECT results_eq($$ SELECT a, balance(a) FROM unnest(ARRAY[20, 21]::bigint[]) a ORDER BY a $$,
                  $$ VALUES (20::bigint, 100000 - 12764::bigint), (21, 100000) $$, 'before settlement: the top bid held, the rest free');
SELECT is(pg_temp.auction('auction_one'),
          'open|seller 11|reserve 1000|2026-04-11 00:00:00+00..2026-04-18 00:30:00+00|top 12764 by 20 (8 bids)|closed |',
          'eight bids');

-- ---------------------------------------------------------------------
-- The other auctions' bids.
SELECT lives_ok($$ SELECT bid('tier_basic', 22, 12345, 'bid-basic', pg_temp.day(101)),
                          bid('tier_premium', 22, 12345, 'bid-premium', pg_temp.day(101)),
                          bid('tier_plus', 22, 12345, 'bid-plus', pg_temp.day(101)),
                          bid('fail_me', 23, 3000, 'bid-fail', pg_temp.day(101)) $$,
                'account 22 bids $123.45 on the three tier auctions, 23 $30.00 on "fail_me"');
SELECT is(balance(22), (100000 - 3 * 12345 - 5000)::bigint, 'three bids and an offer held from 22');

-- cancel_auction
SELECT pg_temp.state() AS before_cancel \gset
SELECT is(pg_temp.error_of($$ SELECT handle_market.cancel_auction('auction_one', 11, pg_temp.day(105)) $$),
          'HM008: the auction of handle "auction_one" has bids / The top bid is $127.64.',
          'cancel_auction: HM008 once there are bids');
SELECT throws_ok($$ SELECT cancel_auction('auction_one', 12, pg_temp.day(105)) $$, 'HM008',
                 'account 12 did not start the auction of handle "auction_one"', 'cancel_auction: HM008, not the seller');
SELECT throws_ok($$ SELECT cancel_auction('cancel_me', 13, pg_temp.day(105)) $$, 'HM008',
                 'account 13 did not start the auction of handle "cancel_me"', 'cancel_auction: HM008, not the seller, without bids');
SELECT throws_ok($$ SELECT cancel_auction('listed_one', 11, pg_temp.day(105)) $$, 'HM008',
                 'handle "listed_one" is not being auctioned', 'cancel_auction: HM008, no open auction');
SELECT is(pg_temp.state(), :'before_cancel', 'the refused cancellations changed nothing');
SELECT lives_ok($$ SELECT cancel_auction('cancel_me', 12, pg_temp.day(105)) $$, 'the seller cancels an auction without bids');
SELECT is(pg_temp.auction('cancel_me'),
          'cancelled|seller 12|reserve 1000|2026-04-11 00:00:00+00..2026-05-01 00:00:00+00|top  by  (0 bids)|closed 2026-04-16 00:00:00+00|cancelled by the seller',
          'cancelled, closed at as_of');
SELECT throws_ok($$ SELECT cancel_auction('cancel_me', 12, pg_temp.day(105)) $$, 'HM008',
                 'handle "cancel_me" is not being auctioned', 'cancel_auction: HM008 a second time');
SELECT throws_ok($$ SELECT bid('cancel_me', 20, 1000, 'bid-cancelled', pg_temp.day(105)) $$, 'HM008',
                 'the auction of handle "cancel_me" is over', 'bid: HM008 on a cancelled auction');
SELECT lives_ok($$ SELECT list_handle('cancel_me', 12, 7000, pg_temp.day(105)) $$, 'the handle may be listed again');

-- ---------------------------------------------------------------------
-- The platform's auctions: a premium-list handle and a released one.
SELECT pg_temp.state() AS before_platform \gset
SELECT is(pg_temp.error_of($$ SELECT handle_market.start_platform_auction('auction_one', 1000, pg_temp.day(110), pg_temp.day(100)) $$),
          'HM008: handle "auction_one" is not the platform''s to auction / Account 11 owns it.',
          'start_platform_auction: HM008, an owned handle');
SELECT throws_ok($$ SELECT start_platform_auction('nobody_has_it', 1000, pg_temp.day(110), pg_temp.day(100)) $$, 'HM008',
                 'handle "nobody_has_it" is not for sale by the platform', 'start_platform_auction: HM008, a handle free to register');
SELECT throws_ok($$ SELECT start_platform_auction('prem_name', 0, pg_temp.day(110), pg_temp.day(100)) $$, '22023',
                 'reserve_cents must be positive', 'start_platform_auction: a reserve of 0');
SELECT throws_ok($$ SELECT start_platform_auction('prem_name', 1000, pg_temp.day(100), pg_temp.day(100)) $$, '22023',
                 'an auction must end after it starts', 'start_platform_auction: ends_at = as_of');
SELECT is(pg_temp.state(), :'before_platform', 'the refusals changed nothing');
SELECT lives_ok($$ SELECT start_platform_auction('prem_name', 10001, pg_temp.day(110), pg_temp.day(100)),
                          start_platform_auction('quiet_one', 5000, pg_temp.day(110), pg_temp.day(100)),
                          start_platform_auction('prem_two', 1000, pg_temp.day(110), pg_temp.day(100)) $$,
                'the platform auctions two premium-list handles and a released one (premium phase)');
SELECT is(pg_temp.auction('prem_name'),
          'open|seller |reserve 10001|2026-04-11 00:00:00+00..2026-04-21 00:00:00+00|top  by  (0 bids)|closed |',
          'a platform auction: no seller');
SELECT throws_ok($$ SELECT start_platform_auction('prem_name', 1000, pg_temp.day(111), pg_temp.day(100)) $$, 'HM008',
                 'handle "prem_name" is being auctioned', 'start_platform_auction: HM008, already auctioned');
SELECT throws_ok($$ SELECT buy('quiet_one', 23, 99999999, 'buy-quiet', pg_temp.day(101)) $$, 'HM008',
                 'handle "quiet_one" is being auctioned', 'buy: HM008, the released handle is auctioned');
SELECT throws_ok($$ SELECT buy('prem_name', 23, 99999999, 'buy-prem', pg_temp.day(101)) $$, 'HM008',
                 'handle "prem_name" is being auctioned', 'buy: HM008, the premium handle is auctioned');
SELECT is(pg_temp.error_of($$ SELECT handle_market.bid('prem_name', 22, 10000, 'bid-prem-low', pg_temp.day(101)) $$),
          'HM012: bid too low for handle "prem_name" / The minimum bid is $100.01 (the reserve); the bid was $100.00.',
          'bid: HM012 below a platform reserve');
SELECT lives_ok($$ SELECT bid('prem_name', 22, 10001, 'bid-prem-22', pg_temp.day(101)) $$, 'account 22 bids the reserve, $100.01');
SELECT is(pg_temp.error_of($$ SELECT handle_market.bid('prem_name', 23, 10501, 'bid-prem-low', pg_temp.day(102)) $$),
          'HM012: bid too low for handle "prem_name" / The minimum bid is $105.02 (the top bid $100.01 plus the larger of $1.00 and 5%); the bid was $105.01.',
          'bid: HM012 at $105.01, the 5 % rounded up');
SELECT lives_ok($$ SELECT bid('prem_name', 23, 10502, 'bid-prem-23', pg_temp.day(102)) $$, 'account 23 bids $105.02');
SELECT lives_ok($$ SELECT bid('quiet_one', 22, 5000, 'bid-quiet', pg_temp.day(102)) $$, 'account 22 bids $50.00 on the released handle');
-- seller_id NULL does not pass for the seller of a platform auction
SELECT is(pg_temp.undone($$ SELECT handle_market.cancel_auction('prem_two', NULL, pg_temp.day(102)) $$),
          'HM008: the auction of handle "prem_two" is the platform''s / Only the seller may cancel an auction.',
          'cancel_auction: an application cannot cancel the platform''s auction by passing no seller');
SELECT is_empty($$ SELECT * FROM check_invariants() $$, 'check_invariants with every auction open');

-- ---------------------------------------------------------------------
-- Settlement of "auction_one" (ends 2026-04-18 00:30, extended).
SELECT pg_temp.state() AS before_settle \gset
SELECT results_eq($$ SELECT * FROM settle_batch('2026-04-18 00:30+00'::timestamptz - interval '1 microsecond', 100) $$,
                  $$ VALUES (0, 0) $$, 'settle_batch before the end: nothing');
SELECT is(pg_temp.state(), :'before_settle', 'and nothing changed');
SELECT pg_temp.fees() AS fees_0 \gset
SELECT results_eq($$ SELECT * FROM settle_batch('2026-04-18 00:30+00', 100) $$, $$ VALUES (1, 0) $$,
                  'settle_batch at the end: one auction');
SELECT is(pg_temp.auction('auction_one'),
          'settled|seller 11|reserve 1000|2026-04-11 00:00:00+00..2026-04-18 00:30:00+00|top 12764 by 20 (8 bids)|closed 2026-04-18 00:30:00+00|sold to account 20 for $127.64',
          'settled, sold to the top bidder');
SELECT results_eq($$ SELECT a.sale_transfer_id, t.kind, t.idempotency_key, t.key_account_id
                      FROM auctions a JOIN transfers t ON t.transfer_id = a.sale_transfer_id
                      WHERE a.auction_id = pg_temp.aid('auction_one') $$,
                  $$ VALUES (pg_temp.post_of('bid-20-d'), 'hold_post', NULL::text, NULL::bigint) $$,
          'the sale is the posting of the winning hold (no key: its pending_id is the hold)');
SELECT is(pg_temp.hold('bid-20-d'), 'posted 12764|bid won', 'the winning hold is posted, the bid won');
SELECT is(pg_temp.legs_of(pg_temp.post_of('bid-20-d')),
          format('account 20 -12764, account 11 +11488, fee slot %s +1276', pg_temp.post_of('bid-20-d') % 16),
          'the winner pays $127.64; seller (none) gets it less 10 % rounded down: 11488, the fee 1276');
SELECT is(pg_temp.fees() - :fees_0, 1276::bigint, 'the fee slots got the commission');
SELECT results_eq($$ SELECT a, pg_temp.wallet(a), balance(a) FROM unnest(ARRAY[11, 20, 21]::bigint[]) a ORDER BY a $$,
                  $$ VALUES (11::bigint, '11488/0', 11488::bigint), (20, '87236/0', 87236), (21, '100000/0', 100000) $$,
                  'wallets: the seller paid, the winner charged once, the loser whole');
SELECT is(pg_temp.row_of('auction_one'), '20|registered|11|2026-04-18 00:30:00+00||||2026-06-17 00:30:00+00',
          'the winner owns the handle, locked 60 days from ends_at');
SELECT results_eq($$ SELECT from_state, to_state, at, account_id, reason FROM handle_events
                      WHERE handle = 'auction_one' ORDER BY event_id DESC LIMIT 1 $$,
                  $$ VALUES ('registered', 'registered', '2026-04-18 00:30+00'::timestamptz, 20::bigint,
                             format('won auction %s from account 11 for $127.64 (transfer %s)', pg_temp.aid('auction_one'),
                                    pg_temp.post_of('bid-20-d'))) $$,
                  'its event');
SELECT results_eq($$ SELECT kind, account_id, detail FROM outbox
                      WHERE handle = 'auction_one' AND kind IN ('bought', 'sold') ORDER BY message_id $$,
                  $$ VALUES ('bought', 20::bigint, 'You bought @auction_one for $127.64.'),
                            ('sold', 11::bigint, 'You sold @auction_one for $127.64; $12.76 commission, $114.88 to your wallet.') $$,
                  'bought and sold notices');
SELECT is(pg_temp.hold('off-22-auction'), 'voided 5000|offer voided', 'the change of owner voided the offer made to the seller');
SELECT is((SELECT detail FROM outbox WHERE handle = 'auction_one' AND kind = 'offer_ended'),
          'Your offer of $50.00 for @auction_one ended: @auction_one was sold; the money is available again.', 'with a notice');
SELECT is(balance(22), (100000 - 3 * 12345 - 5000 - 5000 + 5000)::bigint, 'and its money back: 22 holds only the bids');
SELECT is_empty($$ SELECT * FROM check_invariants() $$, 'check_invariants after the settlement');
SELECT pg_temp.state() AS after_settle \gset
SELECT results_eq($$ SELECT * FROM settle_batch('2026-04-18 00:30+00', 100) $$, $$ VALUES (0, 0) $$,
                  'settle_batch again: nothing more');
SELECT is(pg_temp.state(), :'after_settle', 'and nothing changed');

-- ---------------------------------------------------------------------
-- A settlement that cannot happen: the handle is put on hold.
\o /dev/null
SELECT hold_handle('fail_me', 'court order 9', pg_temp.day(108));
\o
-- bid refuses a held handle (HM010), as make_offer does
SELECT is(pg_temp.undone($$ SELECT handle_market.bid('fail_me', 21, 5000, 'bid-fail-21', pg_temp.day(109)) $$),
          'HM010: handle "fail_me" is under hold / hold: court order 9', 'bid: HM010 on a held handle, as make_offer');
SELECT pg_temp.fees() AS fees_1 \gset

-- Settlement on day 110: nine auctions end together, in batches.
SELECT results_eq($$ SELECT * FROM settle_batch(pg_temp.day(110), 2) $$, $$ VALUES (2, 0) $$,
                  'a batch of 2 settles 2');
SELECT results_eq($$ SELECT * FROM settle_batch(pg_temp.day(110), 100) $$, $$ VALUES (7, 0) $$,
                  'the next batch the 7 others');
SELECT results_eq($$ SELECT * FROM settle_batch(pg_temp.day(110), 100) $$, $$ VALUES (0, 0) $$,
                  'and a rerun nothing');
SELECT results_eq($$ SELECT handle::text, state, outcome FROM auctions WHERE ends_at = pg_temp.day(110) ORDER BY auction_id $$,
                  $$ VALUES ('tier_basic', 'settled', 'sold to account 22 for $123.45'),
                            ('tier_premium', 'settled', 'sold to account 22 for $123.45'),
                            ('tier_plus', 'settled', 'sold to account 22 for $123.45'),
                            ('raise_me', 'settled', 'sold to account 25 for $15.00'),
                            ('no_bidder', 'ended', 'no bids'),
                            ('fail_me', 'failed', 'handle "fail_me" is under hold'),
                            ('prem_name', 'settled', 'sold to account 23 for $105.02'),
                            ('quiet_one', 'settled', 'sold to account 22 for $50.00'),
                            ('prem_two', 'ended', 'no bids') $$,
                  'the outcomes');
SELECT results_eq($$ SELECT pg_temp.legs_of(pg_temp.post_of(k)) FROM unnest(ARRAY['bid-basic', 'bid-premium', 'bid-plus', 'bid-25-a']) WITH ORDINALITY k(k, n) ORDER BY n $$,
                  $$ VALUES (format('account 22 -12345, account 12 +11358, fee slot %s +987', pg_temp.post_of('bid-basic') % 16)),
                            (format('account 22 -12345, account 13 +11728, fee slot %s +617', pg_temp.post_of('bid-premium') % 16)),
                            (format('account 22 -12345, account 14 +11975, fee slot %s +370', pg_temp.post_of('bid-plus') % 16)),
                            (format('account 25 -1500, account 13 +1425, fee slot %s +75', pg_temp.post_of('bid-25-a') % 16)) $$,
                  'commission by the seller''s tier, rounded down: basic 8 %, premium 5 %, premium_plus 3 %');
SELECT results_eq($$ SELECT detail FROM outbox WHERE kind = 'sold' AND handle IN ('tier_basic', 'tier_premium', 'tier_plus') ORDER BY message_id $$,
                  $$ VALUES ('You sold @tier_basic for $123.45; $9.87 commission, $113.58 to your wallet.'),
                            ('You sold @tier_premium for $123.45; $6.17 commission, $117.28 to your wallet.'),
                            ('You sold @tier_plus for $123.45; $3.70 commission, $119.75 to your wallet.') $$,
                  'the sellers'' notices name the commission');
SELECT is(pg_temp.fees() - :fees_1, (987 + 617 + 370 + 75 + 10502 + 5000)::bigint,
          'the fee slots: the commissions and all of both platform sales');
SELECT results_eq($$ SELECT a, pg_temp.wallet(a) FROM unnest(ARRAY[12, 13, 14, 22, 23, 25]::bigint[]) a ORDER BY a $$,
                  $$ VALUES (12::bigint, '11358/0'), (13, '13153/0'), (14, '11975/0'), (22, '57965/0'), (23, '89498/0'), (25, '500/0') $$,
                  'wallets after settlement, to the cent');
SELECT results_eq($$ SELECT h, pg_temp.row_of(h) FROM unnest(ARRAY['tier_basic', 'tier_plus', 'no_bidder']) WITH ORDINALITY u(h, n) ORDER BY n $$,
                  $$ VALUES ('tier_basic', '22|registered|12|2026-04-21 00:00:00+00||||2026-06-20 00:00:00+00'),
                            ('tier_plus', '22|registered|14|2026-04-21 00:00:00+00||||2026-06-20 00:00:00+00'),
                            ('no_bidder', '14|registered||2026-04-11 00:00:00+00||||') $$,
                  'the sold handles changed owner; the one without bids did not');

-- the platform's sales: all of the price to the fee slots
SELECT is(pg_temp.legs_of(pg_temp.post_of('bid-prem-23')),
          format('account 23 -10502, fee slot %s +10502', pg_temp.post_of('bid-prem-23') % 16),
          'a premium-list handle: the winner pays $105.02, all of it to a fee slot');
SELECT is(pg_temp.hold('bid-prem-22'), 'voided 10001|bid outbid', 'the outbid platform bid was voided');
SELECT is(pg_temp.row_of('prem_name'), '23|registered||2026-04-21 00:00:00+00||||2026-06-20 00:00:00+00',
          'the winner owns the premium handle, locked 60 days');
SELECT results_eq($$ SELECT from_state, to_state, at, account_id, reason FROM handle_events WHERE handle = 'prem_name' $$,
                  $$ VALUES (NULL::text, 'registered', pg_temp.day(110), 23::bigint,
                             format('won auction %s from the platform for $105.02 (transfer %s)', pg_temp.aid('prem_name'),
                                    pg_temp.post_of('bid-prem-23'))) $$,
                  'its first event');
SELECT results_eq($$ SELECT kind, account_id, detail FROM outbox WHERE handle = 'prem_name' AND kind IN ('bought', 'sold') $$,
                  $$ VALUES ('bought', 23::bigint, 'You bought @prem_name for $105.02.') $$, 'a bought notice, nobody sold');
SELECT is(pg_temp.legs_of(pg_temp.post_of('bid-quiet')),
          format('account 22 -5000, fee slot %s +5000', pg_temp.post_of('bid-quiet') % 16),
          'a released handle: all of the $50.00 to a fee slot');
SELECT is(pg_temp.row_of('quiet_one'), '22|registered|1|2026-04-21 00:00:00+00||||2026-06-20 00:00:00+00',
          'the winner owns it; the former owner kept, released_at cleared');
SELECT results_eq($$ SELECT from_state, to_state, account_id FROM handle_events WHERE handle = 'quiet_one' ORDER BY event_id DESC LIMIT 1 $$,
                  $$ VALUES ('released', 'registered', 22::bigint) $$, 'its event starts from released');

-- the failed one: money back
SELECT is(pg_temp.auction('fail_me'),
          'failed|seller 12|reserve 3000|2026-04-11 00:00:00+00..2026-04-21 00:00:00+00|top 3000 by 23 (1 bids)|closed 2026-04-21 00:00:00+00|handle "fail_me" is under hold',
          'a held handle: the auction failed, with the reason');
SELECT is(pg_temp.hold('bid-fail'), 'voided 3000|bid refunded', 'the top bid refunded, its hold voided');
SELECT is((SELECT sale_transfer_id FROM auctions WHERE auction_id = pg_temp.aid('fail_me')), NULL, 'no sale');
SELECT is(pg_temp.post_of('bid-fail'), NULL, 'no posting');
SELECT results_eq($$ SELECT kind, account_id, at, detail FROM outbox WHERE handle = 'fail_me' AND kind = 'auction_ended' $$,
                  $$ VALUES ('auction_ended', 23::bigint, pg_temp.day(110),
                             'The auction of @fail_me could not be settled (handle "fail_me" is under hold); your $30.00 is available again.') $$,
                  'the bidder is told');
SELECT is(pg_temp.row_of('fail_me'), '12|registered||2026-04-11 00:00:00+00|||court order 9|', 'the seller keeps the held handle');
SELECT is_empty($$ SELECT * FROM check_invariants() $$, 'check_invariants after the day-110 settlement');

-- ---------------------------------------------------------------------
-- Offers to the owner of "offer_me" (account 13, premium: 5 %).
SELECT pg_temp.state() AS before_offers \gset
SELECT is(pg_temp.error_of($$ SELECT handle_market.make_offer('nobody_has_it', 20, 1000, pg_temp.day(120), 'off-x', pg_temp.day(110)) $$),
          'HM008: handle "nobody_has_it" has no owner to make an offer to / ', 'make_offer: HM008, a handle nobody holds');
SELECT throws_ok($$ SELECT make_offer('quiet_two', 20, 1000, pg_temp.day(120), 'off-x', pg_temp.day(110)) $$, 'HM008',
                 'handle "quiet_two" has no owner to make an offer to', 'make_offer: HM008, a released handle');
SELECT throws_ok($$ SELECT make_offer('offer_me', 13, 1000, pg_temp.day(120), 'off-x', pg_temp.day(110)) $$, 'HM008',
                 'account 13 already owns handle "offer_me"', 'make_offer: HM008, one''s own handle');
SELECT is(pg_temp.error_of($$ SELECT handle_market.make_offer('held_one', 20, 1000, pg_temp.day(120), 'off-x', pg_temp.day(110)) $$),
          'HM010: handle "held_one" is under hold / hold: court order 1', 'make_offer: HM010, a held handle');
SELECT is(pg_temp.error_of($$ SELECT handle_market.make_offer('offer_me', 20, 1000, pg_temp.day(110), 'off-x', pg_temp.day(110)) $$),
          '22023: an offer must expire after it is made / It would be made at 2026-04-21 00:00:00+00 and expire at 2026-04-21 00:00:00+00.',
          'make_offer: expires_at = as_of');
SELECT throws_ok($$ SELECT make_offer('offer_me', 20, 1000, pg_temp.day(109), 'off-x', pg_temp.day(110)) $$, '22023',
                 'an offer must expire after it is made', 'make_offer: expires_at before as_of');
SELECT throws_ok($$ SELECT make_offer('offer_me', 20, 0, pg_temp.day(120), 'off-x', pg_temp.day(110)) $$, '22023',
                 'amount_cents must be positive', 'make_offer: an amount of 0');
SELECT is(pg_temp.error_of($$ SELECT handle_market.make_offer('offer_me', 24, 1000, pg_temp.day(120), 'off-x', pg_temp.day(110)) $$),
          'HM005: insufficient funds / The wallet has $9.99 available; this needs $10.00.', 'make_offer: HM005, one cent short');
SELECT throws_ok($$ SELECT make_offer('offer_me', 999, 1000, pg_temp.day(120), 'off-x', pg_temp.day(110)) $$, 'HM011',
                 'account 999 does not exist', 'make_offer: HM011, an unknown buyer');
SELECT is(pg_temp.state(), :'before_offers', 'the refused offers changed nothing');

SELECT make_offer('offer_me', 20, 5000, pg_temp.day(120), 'off-20', pg_temp.day(110)) AS offer_id \gset
SELECT is(:offer_id::bigint, pg_temp.tid('off-20'), 'an offer of $50.00 until day 120: its id is its hold');
SELECT is(balance(20), (87236 - 5000)::bigint, 'its money is held at once');
SELECT is(pg_temp.hold('off-20'), 'pending 5000|offer open', 'a pending hold, an open offer');
SELECT results_eq($$ SELECT kind, account_id, detail FROM outbox WHERE handle = 'offer_me' AND kind = 'offer_received' $$,
                  $$ VALUES ('offer_received', 13::bigint,
                             format('Account 20 offers $50.00 for @offer_me until 2026-05-01 00:00:00+00 (offer %s).', pg_temp.tid('off-20'))) $$,
                  'the owner is told');
SELECT pg_temp.state() AS after_offer \gset
SELECT is(make_offer('offer_me', 20, 5000, pg_temp.day(120), 'off-20', pg_temp.day(111)), pg_temp.tid('off-20'),
          'a replay returns the same offer');
SELECT is(pg_temp.state(), :'after_offer', 'and holds once');
SELECT throws_ok($$ SELECT make_offer('offer_me', 20, 5001, pg_temp.day(120), 'off-20', pg_temp.day(110)) $$, 'HM006',
                 'idempotency key "off-20" was already used for another request', 'HM006: the same key for another amount');
SELECT throws_ok($$ SELECT make_offer('offer_me', 20, 5000, pg_temp.day(121), 'off-20', pg_temp.day(110)) $$, 'HM006',
                 'idempotency key "off-20" was already used for another request', 'HM006: the same key for another expiry');
-- the request text spells expires_at in UTC, whatever the session's zone
SET timezone = 'America/New_York';
SELECT is(pg_temp.error_of($$ SELECT handle_market.make_offer('offer_me', 20, 5000, '2026-05-01 00:00+00', 'off-20', '2026-04-21 00:00+00') $$),
          'no error', 'a replay from a session in another time zone is the same request');
SET timezone = 'UTC';
SELECT is(pg_temp.state(), :'after_offer', 'the replays changed nothing');

\o /dev/null
SELECT make_offer('offer_me', 21, 6000, pg_temp.day(120), 'off-21', pg_temp.day(110)),
       make_offer('offer_me', 22, 7000, pg_temp.day(112), 'off-22', pg_temp.day(110)),
       make_offer('offer_me', 23, 1000, pg_temp.day(120), 'off-23', pg_temp.day(110));
\o
SELECT results_eq($$ SELECT a, balance(a) FROM unnest(ARRAY[20, 21, 22, 23]::bigint[]) a ORDER BY a $$,
                  $$ VALUES (20::bigint, 82236::bigint), (21, 94000), (22, 50965), (23, 88498) $$, 'four offers, four holds');

-- accept: who and when
SELECT pg_temp.state() AS before_accept \gset
SELECT is(pg_temp.error_of(format($$ SELECT handle_market.accept_offer(%s, 14, pg_temp.day(111)) $$, pg_temp.tid('off-20'))),
          'HM008: account 14 does not own handle "offer_me" / Only the owner of a registered handle may sell it.',
          'accept_offer: HM008, not the owner');
SELECT throws_ok(format($$ SELECT accept_offer(%s, 20, pg_temp.day(111)) $$, pg_temp.tid('off-20')), 'HM008',
                 'account 20 does not own handle "offer_me"', 'accept_offer: HM008, the buyer');
SELECT throws_ok($$ SELECT accept_offer(0, 13, pg_temp.day(111)) $$, 'HM008', 'offer 0 does not exist', 'accept_offer: HM008, no such offer');
SELECT throws_ok(format($$ SELECT accept_offer(%s, 13, pg_temp.day(111)) $$, pg_temp.tid('bid-basic')), 'HM008',
                 format('offer %s does not exist', pg_temp.tid('bid-basic')), 'accept_offer: HM008, a bid is no offer');
SELECT throws_ok(format($$ SELECT accept_offer(%s, 999, pg_temp.day(111)) $$, pg_temp.tid('off-20')), 'HM011',
                 'account 999 does not exist', 'accept_offer: HM011, an unknown seller');
SELECT is(pg_temp.error_of(format($$ SELECT handle_market.accept_offer(%s, 13, pg_temp.day(112)) $$, pg_temp.tid('off-22'))),
          format('HM008: offer %s has expired / It expired at 2026-04-23 00:00:00+00.', pg_temp.tid('off-22')),
          'accept_offer: HM008 at its expiry');
SELECT is(pg_temp.state(), :'before_accept', 'the refusals changed nothing');

-- expired offers: voided by settlement
SELECT results_eq($$ SELECT * FROM settle_batch(pg_temp.day(112) - interval '1 microsecond', 100) $$, $$ VALUES (0, 0) $$,
                  'settle_batch before the expiry: nothing');
SELECT results_eq($$ SELECT * FROM settle_batch(pg_temp.day(112), 100) $$, $$ VALUES (0, 1) $$,
                  'settle_batch at the expiry: one offer expired');
SELECT is(pg_temp.hold('off-22'), 'voided 7000|offer expired', 'the offer expired, its hold voided');
SELECT is(balance(22), 57965::bigint, 'its $70.00 is back');
SELECT results_eq($$ SELECT kind, account_id, at, detail FROM outbox WHERE handle = 'offer_me' AND kind = 'offer_ended' $$,
                  $$ VALUES ('offer_ended', 22::bigint, pg_temp.day(112),
                             'Your offer of $70.00 for @offer_me ended: it expired; the money is available again.') $$,
                  'the buyer is told');
SELECT throws_ok(format($$ SELECT accept_offer(%s, 13, pg_temp.day(111)) $$, pg_temp.tid('off-22')), 'HM008',
                 format('offer %s is expired', pg_temp.tid('off-22')), 'accept_offer: HM008, an expired offer');
SELECT results_eq($$ SELECT * FROM settle_batch(pg_temp.day(112), 100) $$, $$ VALUES (0, 0) $$, 'a rerun: nothing');

-- cancel_offer: the buyer only
SELECT throws_ok(format($$ SELECT cancel_offer(%s, 20, pg_temp.day(112)) $$, pg_temp.tid('off-23')), 'HM008',
                 format('account 20 made no offer %s', pg_temp.tid('off-23')), 'cancel_offer: HM008, another buyer');
SELECT throws_ok(format($$ SELECT cancel_offer(%s, 13, pg_temp.day(112)) $$, pg_temp.tid('off-23')), 'HM008',
                 format('account 13 made no offer %s', pg_temp.tid('off-23')), 'cancel_offer: HM008, the owner');
SELECT throws_ok($$ SELECT cancel_offer(0, 23, pg_temp.day(112)) $$, 'HM008', 'account 23 made no offer 0', 'cancel_offer: HM008, no such offer');
SELECT lives_ok(format($$ SELECT cancel_offer(%s, 23, pg_temp.day(112)) $$, pg_temp.tid('off-23')), 'the buyer cancels its offer');
SELECT is(pg_temp.hold('off-23'), 'voided 1000|offer cancelled', 'cancelled, its hold voided');
SELECT is(balance(23), 89498::bigint, 'its $10.00 is back');
SELECT is((SELECT detail FROM outbox WHERE handle = 'offer_me' AND kind = 'offer_ended' AND account_id = 23),
          'Your offer of $10.00 for @offer_me ended: you cancelled it; the money is available again.', 'with a notice');
SELECT throws_ok(format($$ SELECT cancel_offer(%s, 23, pg_temp.day(112)) $$, pg_temp.tid('off-23')), 'HM008',
                 format('offer %s is cancelled', pg_temp.tid('off-23')), 'cancel_offer: HM008 a second time');
SELECT throws_ok(format($$ SELECT accept_offer(%s, 13, pg_temp.day(112)) $$, pg_temp.tid('off-23')), 'HM008',
                 format('offer %s is cancelled', pg_temp.tid('off-23')), 'accept_offer: HM008, a cancelled offer');

-- the owner accepts
SELECT pg_temp.fees() AS fees_2 \gset
SELECT accept_offer(pg_temp.tid('off-20'), 13, pg_temp.day(113)) AS sale_id \gset
SELECT is(:sale_id::bigint, pg_temp.post_of('off-20'), 'the owner accepts $50.00: the sale is the posting of the offer''s hold');
SELECT is(pg_temp.legs_of(pg_temp.post_of('off-20')),
          format('account 20 -5000, account 13 +4750, fee slot %s +250', pg_temp.post_of('off-20') % 16),
          'the buyer pays $50.00, the seller (premium) gets it less 5 %');
SELECT is(pg_temp.fees() - :fees_2, 250::bigint, 'the fee slots got $2.50');
SELECT results_eq($$ SELECT offer_id, state, sale_transfer_id, closed_at FROM offers WHERE handle = 'offer_me' ORDER BY offer_id $$,
                  $$ VALUES (pg_temp.tid('off-20'), 'accepted', pg_temp.post_of('off-20'), pg_temp.day(113)),
                            (pg_temp.tid('off-21'), 'voided', NULL, pg_temp.day(113)),
                            (pg_temp.tid('off-22'), 'expired', NULL, pg_temp.day(112)),
                            (pg_temp.tid('off-23'), 'cancelled', NULL, pg_temp.day(112)) $$,
                  'accepted; the other open offer voided');
SELECT is(pg_temp.hold('off-20'), 'posted 5000|offer accepted', 'the accepted offer''s hold is posted');
SELECT is(pg_temp.hold('off-21'), 'voided 6000|offer voided', 'the other''s voided');
SELECT results_eq($$ SELECT a, pg_temp.wallet(a) FROM unnest(ARRAY[13, 20, 21]::bigint[]) a ORDER BY a $$,
                  $$ VALUES (13::bigint, '17903/0'), (20, '82236/0'), (21, '100000/0') $$,
                  'wallets: the seller paid, the buyer charged, the other buyer whole');
SELECT is((SELECT detail FROM outbox WHERE handle = 'offer_me' AND kind = 'offer_ended' AND account_id = 21),
          'Your offer of $60.00 for @offer_me ended: @offer_me was sold; the money is available again.', 'the other buyer is told');
SELECT results_eq($$ SELECT kind, account_id, detail FROM outbox WHERE handle = 'offer_me' AND kind IN ('bought', 'sold') ORDER BY message_id $$,
                  $$ VALUES ('bought', 20::bigint, 'You bought @offer_me for $50.00.'),
                            ('sold', 13::bigint, 'You sold @offer_me for $50.00; $2.50 commission, $47.50 to your wallet.') $$,
                  'bought and sold notices');
SELECT is(pg_temp.row_of('offer_me'), '20|registered|13|2026-04-24 00:00:00+00||||2026-06-23 00:00:00+00',
          'the buyer owns the handle, locked 60 days');
SELECT is((SELECT reason FROM handle_events WHERE handle = 'offer_me' ORDER BY event_id DESC LIMIT 1),
          format('offer %s accepted from account 13 for $50.00 (transfer %s)', pg_temp.tid('off-20'), pg_temp.post_of('off-20')),
          'its event');
SELECT pg_temp.state() AS after_accept \gset
SELECT throws_ok(format($$ SELECT accept_offer(%s, 13, pg_temp.day(113)) $$, pg_temp.tid('off-20')), 'HM008', NULL,
                 'accept_offer: HM008 the second time');
SELECT throws_ok(format($$ SELECT cancel_offer(%s, 20, pg_temp.day(113)) $$, pg_temp.tid('off-20')), 'HM008',
                 format('offer %s is accepted', pg_temp.tid('off-20')), 'cancel_offer: HM008, an accepted offer');
SELECT is(pg_temp.state(), :'after_accept', 'which changed nothing');
SELECT is_empty($$ SELECT * FROM check_invariants() $$, 'check_invariants after the offers');

-- a buy() of a listed handle voids the open offers on it
\o /dev/null
SELECT list_handle('buy_me', 14, 20000, pg_temp.day(111));
SELECT make_offer('buy_me', 21, 3000, pg_temp.day(130), 'off-21-buy', pg_temp.day(111));
\o
SELECT is(balance(21), 97000::bigint, 'an offer on a listed handle holds $30.00');
SELECT lives_ok($$ SELECT buy('buy_me', 23, 20000, 'buy-buy_me', pg_temp.day(112)) $$, 'another buyer buys it at the listing');
SELECT is(pg_temp.hold('off-21-buy'), 'voided 3000|offer voided', 'the offer is voided');
SELECT is(balance(21), 100000::bigint, 'and its money back');
SELECT is((SELECT detail FROM outbox WHERE handle = 'buy_me' AND kind = 'offer_ended'),
          'Your offer of $30.00 for @buy_me ended: @buy_me was sold; the money is available again.', 'with a notice');
SELECT is(pg_temp.legs('buy-buy_me'), format('account 23 -20000, account 14 +19400, fee slot %s +600', pg_temp.tid('buy-buy_me') % 16),
          'the sale itself: premium_plus, 3 %');

-- ---------------------------------------------------------------------
-- one sale that cannot be paid (the seller's balance would leave bigint,
-- HM013) fails that auction only; the others settle.
\o /dev/null
SELECT deposit(19, 9223372036854775000, 'dep-19', pg_temp.day(100));
SELECT start_auction('poison_pill', 19, 1000, pg_temp.day(201), pg_temp.day(200));
SELECT bid('poison_pill', 20, 1000, 'bid-poison', pg_temp.day(200));
\o
SELECT is(pg_temp.undone($$ SELECT * FROM handle_market.settle_batch(pg_temp.day(201), 100) $$), 'no error',
          'settle_batch: a sale that cannot be paid does not stop the settlement of the others');

-- ---------------------------------------------------------------------
-- The books at the end.
SELECT is((SELECT sum(amount) FROM entries), 0::numeric, 'all entries sum to zero');
SELECT is_empty($$ SELECT e.entry_id FROM entries e JOIN ledger_accounts l USING (ledger_account_id)
                    WHERE l.kind = 'fee' AND l.slot <> e.transfer_id % 16 $$,
                'every fee leg is in the slot of its transfer id');
SELECT is(pg_temp.fees(), (1276 + 987 + 617 + 370 + 75 + 10502 + 5000 + 250 + 600)::bigint,
          'the fee slots: every commission and platform sale, to the cent');
SELECT is((SELECT sum(held) FROM ledger_accounts WHERE kind = 'wallet'), 1000::numeric, 'held: only the open bid on "poison_pill"');
SELECT results_eq($$ SELECT kind, count(*) FROM transfers GROUP BY kind ORDER BY kind $$,
                  $$ VALUES ('deposit', 8::bigint), ('handle_transfer', 1), ('hold', 23), ('hold_post', 8),
                            ('hold_void', 14), ('purchase', 1), ('withdrawal', 1) $$,
                  'the transfers: every hold closed once, no refused call left one behind');
SELECT is_empty($$ SELECT * FROM check_invariants() $$, 'check_invariants: no violations');

SELECT * FROM finish();
ROLLBACK;
