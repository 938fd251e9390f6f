-- test/upgrade_seed.sql: realistic state, through the API, for the upgrade
-- test: accounts; handles registered, at risk, in redemption, quarantine,
-- premium and available phases, held and reserved; sales from the platform
-- and between users, a gift; an open auction with an outbid bidder, a
-- settled one; open, accepted and cancelled offers; keyed listings; finished
-- and dry release runs.  Run as the superuser, because it walks a calendar
-- (handle_market.simulated_time) whose day 0, :'n', is the real today: the
-- phases are those of the real time, so the upgraded database is used as it
-- would be the day after.
\set ON_ERROR_STOP on
\set QUIET on
SET handle_market.simulated_time = on;
SET search_path = pg_catalog;
SET client_min_messages = warning;
SELECT now() AS n \gset
CREATE FUNCTION pg_temp.d(k numeric) RETURNS timestamptz LANGUAGE sql
    AS $$ SELECT now() + k * interval '1 day' $$;
\o /dev/null

-- Accounts 1-10 pay nothing and are verified by no one, so they may go
-- dormant; the active ones are seen yesterday.
SELECT handle_market.upsert_account(a, 'none', false, pg_temp.d(-130)) FROM generate_series(1, 12) a;
SELECT handle_market.upsert_account(11, 'premium', false, pg_temp.d(-130));
SELECT handle_market.deposit(a, 20000000, 'seed-' || a, pg_temp.d(-130)) FROM generate_series(1, 12) a;
SELECT handle_market.register_handle(a, h, pg_temp.d(-130))
  FROM (VALUES (1, 'reg_a'), (2, 'risk_b'), (3, 'red_c'), (4, 'quar_d'), (5, 'prem_e'),
               (6, 'avail_f'), (7, 'held_g'), (8, 'sell_h'), (9, 'auc_i'), (10, 'off_j'),
               (1, 'gift_k'), (9, 'sold_l'), (10, 'off_m'), (11, 'premium_n')) v(a, h);
SELECT handle_market.reserve_handle('acme', 'brand');
-- who stays active, and when each dormant owner was last seen
SELECT handle_market.touch(a, pg_temp.d(-100)) FROM unnest(ARRAY[1, 7, 8, 9, 10, 11, 12, 5]) a;
SELECT handle_market.touch(4, pg_temp.d(-92));
SELECT handle_market.touch(a, pg_temp.d(-70)) FROM unnest(ARRAY[1, 3, 7, 8, 9, 10, 11, 12]) a;
SELECT handle_market.touch(a, pg_temp.d(-35)) FROM unnest(ARRAY[1, 2, 7, 8, 9, 10, 11, 12]) a;
SELECT handle_market.touch(a, pg_temp.d(-4)) FROM unnest(ARRAY[1, 7, 8, 9, 10, 11, 12]) a;
-- release runs at each step of the calendar: avail_f is released 70 days
-- ago, prem_e 40, quar_d 32, red_c 10; risk_b is noticed 5 days ago
CALL handle_market.release_dormant(pg_temp.d(-100));
CALL handle_market.release_dormant(pg_temp.d(-70));
CALL handle_market.release_dormant(pg_temp.d(-62));
CALL handle_market.release_dormant(pg_temp.d(-40));
CALL handle_market.release_dormant(pg_temp.d(-32));
CALL handle_market.release_dormant(pg_temp.d(-10));
CALL handle_market.release_dormant(pg_temp.d(-5));
CALL handle_market.release_dormant(pg_temp.d(-5), 3, true);
SELECT handle_market.hold_handle('held_g', 'a court order', pg_temp.d(-3));
-- sales: a priority handle from the platform, a listing, a gift
SELECT handle_market.set_premium('jack');
SELECT handle_market.buy('jack', 1, 5000000, 'buy-jack', pg_temp.d(-2));
SELECT handle_market.list_handle('sell_h', 8, 12345, pg_temp.d(-3));
SELECT handle_market.buy('sell_h', 9, 12345, 'buy-sell_h', pg_temp.d(-2));
SELECT handle_market.transfer_handle('gift_k', 1, 10, 'gift-k', pg_temp.d(-2));
SELECT handle_market.list_handle('reg_a', 1, 99900, pg_temp.d(-1), 'list-reg_a');
-- auctions: one settled yesterday, one open with an outbid bidder
SELECT handle_market.start_auction('sold_l', 9, 1000, pg_temp.d(-1.5), pg_temp.d(-3));
SELECT handle_market.bid('sold_l', 1, 1500, 'bid-sold_l', pg_temp.d(-2));
CALL handle_market.settle_auctions(pg_temp.d(-1));
SELECT handle_market.start_auction('auc_i', 9, 1000, pg_temp.d(2), pg_temp.d(-1), 'auction-i');
SELECT handle_market.bid('auc_i', 1, 1000, 'bid-auc_i-1', pg_temp.d(-1));
SELECT handle_market.bid('auc_i', 12, 2000, 'bid-auc_i-12', pg_temp.d(-1));
-- offers: open, accepted (the other on the handle voided), cancelled
SELECT handle_market.make_offer('off_j', 1, 3000, pg_temp.d(10), 'offer-j-1', pg_temp.d(-1));
SELECT handle_market.make_offer('off_m', 12, 4000, pg_temp.d(10), 'offer-m-12', pg_temp.d(-1));
SELECT handle_market.make_offer('off_m', 1, 3500, pg_temp.d(10), 'offer-m-1', pg_temp.d(-1));
SELECT handle_market.accept_offer(o.offer_id, 10, pg_temp.d(-0.5), 'accept-m')
  FROM handle_market.offers o WHERE o.buyer_id = 12 AND o.handle::text = 'off_m';
SELECT handle_market.make_offer('off_j', 12, 2500, pg_temp.d(10), 'offer-j-12', pg_temp.d(-1));
SELECT handle_market.cancel_offer(o.offer_id, 12, pg_temp.d(-0.5), 'cancel-j-12')
  FROM handle_market.offers o WHERE o.buyer_id = 12 AND o.handle::text = 'off_j';
SELECT handle_market.withdraw(2, 100000, 'payout-2', pg_temp.d(-1));
\o
