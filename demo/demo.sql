-- demo/demo.sql: what handle_market does so far, with real output.
-- Run by `make demo` on a throw-away cluster.
\pset pager off
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE EXTENSION handle_market;
SET search_path = handle_market, public;

-- 1. The handle type stores the canonical form: one leading @ dropped, width
--    mapped, lowercased, NFC.  Equality, hashing and ordering compare bytes.
SELECT '@ElonMusk'::handle AS typed_with_at,
       'ＥｌｏｎＭｕｓｋ'::handle AS fullwidth,
       'ElonMusk'::handle = '@elonmusk'::handle AS same_handle;

-- 2. Bad input is refused with SQLSTATE 22P02 and a detail that names the
--    character and where it is.
SELECT 'elon musk'::handle;
SELECT ('elon' || E'\u200B' || 'musk')::handle;
SELECT ('abc' || E'\u05D0')::handle;

-- 3. Look-alikes share a confusable key, so a unique index refuses them.
SELECT h AS candidate, confusable_key(h::handle) AS key
  FROM unnest(ARRAY['elon_musk', 'eIon_musk', 'e1on_musk', 'EL0N_MUSK',
                    'еlon_musk', 'g00gle', 'google', 'аррӏе', 'apple']) AS h;

CREATE TABLE registered (h handle PRIMARY KEY);
CREATE UNIQUE INDEX registered_lookalikes ON registered (confusable_key(h));
INSERT INTO registered VALUES ('elon_musk'), ('google');
INSERT INTO registered VALUES ('ELON_MUSK');      -- same handle
INSERT INTO registered VALUES ('eIon_musk');      -- capital I for l
INSERT INTO registered VALUES ('еlon_musk');      -- Cyrillic е
INSERT INTO registered VALUES ('g00gle');         -- zeros for o

-- 4. What a sign-up form calls on each keystroke: NULL when acceptable,
--    otherwise one reason.  It never raises for bad input.
SELECT c AS candidate, check_handle(c) AS x_classic, check_handle(c, 'precis') AS precis
  FROM unnest(ARRAY['elon_musk', 'abc', 'еlon_musk', 'аpple', 'René_2', 'elon musk']) AS c;

-- 5. Indexes: btree (with sort support) and hash, used like any type's.
INSERT INTO registered SELECT 'user_' || g FROM generate_series(1, 10000) g;
ANALYZE registered;
EXPLAIN (COSTS OFF) SELECT * FROM registered WHERE h = '@User_42';
SELECT * FROM registered WHERE h = '@User_42';

-- 6. The ICU and Unicode versions the keys were computed with.
SELECT icu_version, unicode_version, running_icu_version() AS running_icu
  FROM unicode_versions;

-- ------------------------------------------------------------------------
-- The registry, month by month (simulated time: every call says when it
-- acts, so the story needs no waiting).  Day 0 is 2026-01-01 UTC.  As
-- deployed, every write happens at the server's time (HM017 otherwise); a
-- superuser may let a session simulate time, as this demo does.
-- ------------------------------------------------------------------------
SET handle_market.simulated_time = on;
SET timezone = 'UTC';
SET datestyle = 'ISO';
\set QUIET on
CREATE FUNCTION pg_temp.day(n int) RETURNS timestamptz LANGUAGE sql IMMUTABLE
    AS $$ SELECT '2026-01-01 00:00:00+00'::timestamptz + n * interval '1 day' $$;
CREATE FUNCTION pg_temp.story(n int) RETURNS TABLE (handle handle_market.handle, state text,
                                                    owner bigint, reason text)
    LANGUAGE sql AS $$
    SELECT l.handle, l.state, l.owner_id, l.reason
      FROM unnest(ARRAY['ElonMusk', 'night_owl', 'cat_lady', 'StartupCEO']) c,
           handle_market.lookup(c, pg_temp.day(n)) l $$;
\set QUIET off

-- January: four people sign up.  One pays for Premium.
SELECT upsert_account(1, active_at => pg_temp.day(0)), upsert_account(2, active_at => pg_temp.day(0)),
       upsert_account(3, active_at => pg_temp.day(0)), upsert_account(4, 'premium', active_at => pg_temp.day(0));
SELECT register_handle(1, '@ElonMusk', pg_temp.day(0)), register_handle(2, 'night_owl', pg_temp.day(0)),
       register_handle(3, 'cat_lady', pg_temp.day(0)), register_handle(4, 'StartupCEO', pg_temp.day(0));
-- A look-alike and a reserved name are refused, with their own SQLSTATEs.
\set VERBOSITY verbose
SELECT register_handle(3, 'EIonMusk', pg_temp.day(1));
SELECT register_handle(3, 'tw1tter_support', pg_temp.day(1));
\set VERBOSITY default

-- February 1st (day 31): three owners have not logged in for 30 days.  The
-- DBA's nightly release run notices them; the Premium subscriber is exempt.
CALL release_dormant(pg_temp.day(31), 2);
SELECT * FROM pg_temp.story(31);
SELECT kind, account_id, handle, detail FROM outbox WHERE kind = 'inactivity_notice' ORDER BY handle;

-- February 15th: night_owl logs in and keeps the handle at once.
SELECT touch(2, pg_temp.day(45));
SELECT * FROM pg_temp.story(45);

-- March 3rd (day 61): the notices have run out.
CALL release_dormant(pg_temp.day(61), 2);
SELECT * FROM pg_temp.story(61);

-- March 10th: cat_lady comes back within redemption and restores her handle.
SELECT restore_handle('cat_lady', 3, pg_temp.day(68));
SELECT * FROM pg_temp.story(68);

-- April to May: ElonMusk goes through quarantine and a decaying premium,
-- then becomes available.
SELECT d AS day, s.state, s.reason FROM unnest(ARRAY[91, 96, 117]) d, pg_temp.story(d) s
 WHERE s.handle = 'elonmusk';

-- Everything that happened, in the append-only history.
SELECT handle, from_state, to_state, at::date, reason FROM handle_events ORDER BY event_id;
SELECT run_id, as_of::date, batches, examined, noticed, released, status FROM release_runs;

-- Nothing bypasses the API, not even the table owner.
UPDATE handles SET owner_id = 3 WHERE handle = 'elonmusk';
DELETE FROM handle_events;

-- ------------------------------------------------------------------------
-- The market (same simulated clock).  Money is bigint cents in a
-- double-entry ledger; every call that moves money carries an idempotency
-- key, so a client that lost the answer simply sends it again.
-- ------------------------------------------------------------------------

-- Two buyers arrive; money comes in from the payment processor.
SELECT upsert_account(5, 'premium_plus', active_at => pg_temp.day(95)),
       upsert_account(6, active_at => pg_temp.day(95));
SELECT deposit(5, 6000000, 'stripe:pi_5001') AS transfer, deposit(6, 1500000, 'stripe:pi_6001') AS transfer;
SELECT deposit(5, 6000000, 'stripe:pi_5001') AS same_transfer_again;   -- a retry changes nothing
SELECT balance(5), balance(6);

-- The platform puts a priority handle on its premium list at the flat
-- $50,000; nobody may register it for free.
SELECT set_premium('jack');
\set VERBOSITY verbose
SELECT register_handle(6, 'jack', pg_temp.day(96));
\set VERBOSITY default
SELECT * FROM quote('jack', 5, pg_temp.day(98));
SELECT buy('jack', 5, 5000000, 'order-5-jack', pg_temp.day(98)) AS transfer;

-- A refused double purchase: the same order sent again returns the same
-- transfer and charges nothing; another buyer is turned away.
SELECT buy('jack', 5, 5000000, 'order-5-jack', pg_temp.day(98)) AS same_transfer;
\set VERBOSITY verbose
SELECT buy('jack', 6, 5000000, 'order-6-jack', pg_temp.day(98));
\set VERBOSITY default
SELECT balance(5), balance(6);

-- ElonMusk, released on day 61, left quarantine on day 96: on day 98 it is
-- on day 3 of its decaying premium (two days of halving behind it).  $50
-- for 8 characters plus floor($50,000 / 2^2) - floor($50,000 / 2^21) =
-- $12,499.98.  The quote is what buy() will charge at most.
SELECT * FROM quote('elonmusk', 6, pg_temp.day(98));
SELECT buy('elonmusk', 6, 1254998, 'order-6-elon', pg_temp.day(98)) AS transfer;
SELECT * FROM lookup('elonmusk', pg_temp.day(98));

-- Resales between users: the platform keeps a commission by the seller's
-- subscription (none 10%, basic 8%, premium 5%, premium_plus 3%).
SELECT list_handle('StartupCEO', 4, 123457, pg_temp.day(100));     -- Premium seller
SELECT * FROM quote('StartupCEO', 6, pg_temp.day(100));
SELECT buy('StartupCEO', 6, 123457, 'order-6-ceo', pg_temp.day(100)) AS transfer;
SELECT list_handle('night_owl', 2, 50000, pg_temp.day(100));       -- no subscription
SELECT * FROM quote('night_owl', 5, pg_temp.day(100));
SELECT buy('night_owl', 5, 50000, 'order-5-owl', pg_temp.day(100)) AS transfer;

-- A handle that just changed hands is locked for 60 days.
\set VERBOSITY verbose
SELECT list_handle('elonmusk', 6, 1000000, pg_temp.day(101));
\set VERBOSITY default

-- The books: each transfer's legs sum to zero; wallets hold their running
-- balance; the platform's side is spread over 16 fee slots.
SELECT t.transfer_id, t.kind, t.handle, e.ledger_account_id, l.kind AS account_kind,
       l.account_id AS user_id, e.amount
  FROM transfers t JOIN entries e USING (transfer_id)
  JOIN ledger_accounts l USING (ledger_account_id)
 ORDER BY t.transfer_id, e.entry_id;
SELECT account_id, balance(account_id) FROM accounts ORDER BY account_id;
SELECT dollars(sum(e.amount)::bigint) AS platform_commission_and_sales
  FROM entries e JOIN ledger_accounts l USING (ledger_account_id) WHERE l.kind = 'fee';
SELECT handle, from_state, to_state, at::date, account_id, reason
  FROM handle_events WHERE at >= pg_temp.day(96) ORDER BY event_id;
SELECT kind, account_id, handle, detail FROM outbox
 WHERE kind IN ('bought', 'sold') ORDER BY message_id;
-- No rows: every invariant holds.
SELECT * FROM check_invariants();

-- ------------------------------------------------------------------------
-- Auctions and offers.  A bid or an offer holds its money in escrow (a
-- pending hold: the available balance falls at once) until it is posted
-- (the sale) or voided (outbid, cancelled, expired).
-- ------------------------------------------------------------------------

-- cat_lady auctions her handle: reserve $100, until April 20th noon.
SELECT start_auction('cat_lady', 3, 10000, pg_temp.day(109) + interval '12 hours', pg_temp.day(102)) AS auction;
SELECT bid('cat_lady', 5, 10000, 'bid-5-a', pg_temp.day(103)) AS bid;
SELECT balance(5) AS available_5, (SELECT held FROM ledger_accounts WHERE account_id = 5) AS held_5;
-- The next bid must be at least the top plus the larger of $1 and 5%.
\set VERBOSITY verbose
SELECT bid('cat_lady', 6, 10400, 'bid-6-a', pg_temp.day(104));
\set VERBOSITY default
SELECT bid('cat_lady', 6, 15000, 'bid-6-b', pg_temp.day(104)) AS bid;
-- Account 5 was outbid: its $100 is available again at once.
SELECT balance(5) AS available_5, (SELECT held FROM ledger_accounts WHERE account_id = 5) AS held_5;
SELECT kind, account_id, detail FROM outbox WHERE kind = 'outbid';
-- A bid in the last hour keeps the auction open an hour after it.
SELECT bid('cat_lady', 5, 20000, 'bid-5-b', pg_temp.day(109) + interval '11 hours 30 minutes') AS bid;
SELECT auction_id, handle, ends_at, top_cents, top_bidder_id, bid_count FROM auctions;
-- The DBA's settlement run: at noon the auction has not ended; at 13:00 it has.
CALL settle_auctions(pg_temp.day(109) + interval '12 hours');
CALL settle_auctions(pg_temp.day(109) + interval '13 hours');
SELECT auction_id, state, outcome, sale_transfer_id FROM auctions;
SELECT bid_id, bidder_id, amount_cents, state FROM bids ORDER BY bid_id;
SELECT account_id, balance(account_id) FROM accounts WHERE account_id IN (3, 5, 6) ORDER BY account_id;

-- Offers to an owner.  Two buyers offer for StartupCEO's new handle; the
-- owner (Premium: 5% commission) accepts the better one; the other
-- offer's money comes back.
SELECT register_handle(4, 'sunrise', pg_temp.day(110));
SELECT make_offer('sunrise', 6, 30000, pg_temp.day(120), 'offer-6-sunrise', pg_temp.day(111)) AS offer_6,
       make_offer('sunrise', 5, 25000, pg_temp.day(120), 'offer-5-sunrise', pg_temp.day(111)) AS offer_5;
SELECT account_id, balance(account_id) FROM accounts WHERE account_id IN (4, 5, 6) ORDER BY account_id;
SELECT accept_offer((SELECT offer_id FROM offers WHERE buyer_id = 6), 4, pg_temp.day(112)) AS transfer;
SELECT offer_id, buyer_id, amount_cents, state, sale_transfer_id FROM offers ORDER BY offer_id;
SELECT account_id, balance(account_id) FROM accounts WHERE account_id IN (4, 5, 6) ORDER BY account_id;

-- Every hold, and how it ended.
SELECT hold_id, account_id, amount, handle, state, closed_by FROM holds ORDER BY hold_id;
-- No rows: the books, the escrow and the registry agree.
SELECT * FROM check_invariants();
