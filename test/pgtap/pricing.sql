-- test/pgtap/pricing.sql
-- Prices, quotes, the premium list and pricing versions (src/sql/75_pricing.sql,
-- src/pricing_sql.c), to the cent.  Runs in one transaction, walking simulated
-- time: day 0 is 2026-01-01 UTC.
--
-- Timeline.  Account 1 registers five handles (4, 5, 6, 7 and 15 characters)
-- on day 0 and goes quiet: noticed on day 30, released on day 60; redemption
-- to day 90, quarantine to day 95, premium to day 116, then available.
-- Account 6 registers "sixo" on day 10: noticed on day 40, released on day 70,
-- premium from day 105.  Pricing versions: 2 on day 96 (premium start
-- $10,000), 3 on day 120 (a 4-character tier of INT64_MAX cents, to reach an
-- overflow), 4 on day 200 (new tiers, basic 7 %), 5 on day 300 (one tier of 0
-- from 5 characters).
\ir include/settings.psql

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS handle_market;
-- The superuser only installs (and, through PGOPTIONS in make test, turns
-- handle_market.simulated_time on for this calendar-walking test; the value
-- stays after SET ROLE).  Everything else runs as an operator's role.
CREATE ROLE hm_test_pricing;               -- rolled back with the test
SELECT handle_market.grant_admin('hm_test_pricing');
SET ROLE hm_test_pricing;
SET search_path = handle_market, public;
SET timezone = 'UTC';
SET datestyle = 'ISO';

SELECT plan(133);

\ir include/calendar.sql
\ir include/error_of.sql
-- a quote as one line
CREATE FUNCTION pg_temp.q(p_candidate text, p_buyer bigint, p_at timestamptz) RETURNS text
    LANGUAGE sql AS $$
    SELECT format('%s|%s|%s|%s|%s', q.price_cents, q.fee_cents, q.seller_id, q.valid_until, q.reason)
      FROM handle_market.quote(p_candidate, p_buyer, p_at) q $$;

-- the premium curve on its own (S = $50,000, H = 24 h, W = 21 days)
SELECT is(decaying_premium('0'), 4999998::bigint, 'premium at t = 0: floor(S) - floor(S * 2^-21)');
SELECT is(decaying_premium('1 day'), 2499998::bigint, 'premium at 1 day');
SELECT is(decaying_premium('3 days'), 624998::bigint, 'premium at 3 days');
SELECT is(decaying_premium('7 days'), 39060::bigint, 'premium at 7 days');
SELECT is(decaying_premium('20 days'), 2::bigint, 'premium at 20 days');
SELECT is(decaying_premium('21 days'), 0::bigint, 'premium at 21 days: 0');
SELECT is(decaying_premium('36 hours'), 1767764::bigint, 'premium at 36 h: floor(5,000,000 * 2^-1.5) - 2');
SELECT is(decaying_premium('21 days' - interval '1 microsecond'), 0::bigint, 'premium a microsecond before the end: 0');
SELECT is(commission_fee(123457, 800), 9876::bigint, 'commission_fee rounds down to the cent');
SELECT is(commission_fee(9223372036854775807, 10000), 9223372036854775807, 'commission_fee is exact at INT64_MAX');
SELECT is(dollars(5000000), '$50,000.00', 'dollars()');

-- the seeded configuration
SELECT is((SELECT (version, premium_start_cents, premium_half_life, priority_price_cents)::text FROM pricing_at(pg_temp.day(0))),
          '(1,5000000,24:00:00,5000000)', 'pricing version 1: S = $50,000, H = 24 h, priority $50,000');
SELECT results_eq($$ SELECT min_length, price_cents FROM price_tiers WHERE version = 1 ORDER BY 1 $$,
                  $$ VALUES (4, 1000000::bigint), (5, 250000), (6, 50000), (7, 5000) $$, 'version 1 tiers');
SELECT results_eq($$ SELECT subscription, bps FROM commission_rates WHERE version = 1 ORDER BY bps $$,
                  $$ VALUES ('premium_plus', 300), ('premium', 500), ('basic', 800), ('none', 1000) $$,
                  'version 1 commission rates');

-- accounts and handles
\o /dev/null
SELECT upsert_account(1, active_at => pg_temp.day(0)), upsert_account(2, 'basic', active_at => pg_temp.day(0)),
       upsert_account(3, 'premium', active_at => pg_temp.day(0)), upsert_account(4, 'premium_plus', active_at => pg_temp.day(0)),
       upsert_account(5, active_at => pg_temp.day(0)), upsert_account(6, active_at => pg_temp.day(10));
\o
\o /dev/null
SELECT register_handle(1, 'four', pg_temp.day(0)), register_handle(1, 'fives', pg_temp.day(0)),
       register_handle(1, 'sixsix', pg_temp.day(0)), register_handle(1, 'seven_7', pg_temp.day(0)),
       register_handle(1, 'fifteen_chars_x', pg_temp.day(0)), register_handle(2, 'owned_two', pg_temp.day(0)),
       register_handle(3, 'owned_three', pg_temp.day(0)), register_handle(4, 'owned_four', pg_temp.day(0)),
       register_handle(3, 'held_three', pg_temp.day(0)), register_handle(6, 'sixo', pg_temp.day(10));
\o
\o /dev/null
SELECT hold_handle('held_three', 'court order 9', pg_temp.day(20));
\o
\o /dev/null
SELECT reserve_handle('acme', 'brand');
\o

-- not for sale
SELECT is(price('owned_two', pg_temp.day(1)), NULL, 'a registered handle, not listed: NULL');
SELECT is(price('held_three', pg_temp.day(21)), NULL, 'a held handle: NULL');
SELECT is(price('free_name', pg_temp.day(1)), NULL, 'a handle nobody holds: NULL (free to register)');
SELECT is(price('acme', pg_temp.day(1)), NULL, 'a reserved handle: NULL');
SELECT is(price('f1ves', pg_temp.day(1)), NULL, 'a look-alike of a handle: NULL');
SELECT is(price(NULL, pg_temp.day(1)), NULL, 'NULL in, NULL out');
SELECT is(pg_temp.error_of($$ SELECT handle_market.price('abc', '2026-01-02') $$),
          'HM004: handle "abc" does not meet the x_classic profile / handle must have 4 to 15 characters; it has 3',
          'HM004: too short, with check_handle''s reason');
SELECT is(pg_temp.error_of($$ SELECT handle_market.price('elon musk', '2026-01-02') $$),
          'HM004: handle "elon musk" does not meet the x_classic profile / character U+0020 SPACE at position 5 is not allowed',
          'HM004: not a handle at all');
SELECT is(price('@Owned_Two', pg_temp.day(1)), NULL, 'the candidate is canonicalized');

-- the release: redemption and quarantine are not for sale
\o /dev/null
SELECT pg_temp.sweep(30), pg_temp.sweep(40);
\o
-- (a quote reads the handle as it is now, so this one comes before its release)
SELECT is(pg_temp.q('sixo', 5, pg_temp.day(45)), '||||not for sale: at risk', 'quote: at risk');
\o /dev/null
SELECT pg_temp.sweep(60), pg_temp.sweep(70);
\o
SELECT is((SELECT string_agg(handle || ':' || state, ' ' ORDER BY handle) FROM handles WHERE owner_id IS DISTINCT FROM 2
            AND owner_id IS DISTINCT FROM 3 AND owner_id IS DISTINCT FROM 4),
          'fifteen_chars_x:released fives:released four:released seven_7:released sixo:released sixsix:released',
          'the quiet owners'' handles are released');
SELECT is(price('fives', pg_temp.day(61)), NULL, 'redemption (day 61): NULL');
SELECT is(price('fives', pg_temp.day(90) - interval '1 microsecond'), NULL, 'redemption to its last microsecond: NULL');
SELECT is(price('fives', pg_temp.day(90)), NULL, 'quarantine from day 90: NULL');
SELECT is(price('fives', pg_temp.day(95) - interval '1 microsecond'), NULL, 'quarantine to its last microsecond: NULL');

-- the premium phase starts at released_at + redemption + quarantine = day 95
SELECT is(price('fives', pg_temp.day(95)), 5249998::bigint, 'day 0 of the premium: 250,000 + 4,999,998');
SELECT is(price('fives', pg_temp.day(95) + interval '36 hours'), 2017764::bigint, '36 h: 250,000 + 1,767,764');
SELECT is(price('fives', pg_temp.day(102)), 289060::bigint, '7 days: 250,000 + 39,060');
SELECT is(price('fives', pg_temp.day(115)), 250002::bigint, '20 days: 250,000 + 2');
SELECT is(price('fives', pg_temp.day(116) - interval '1 microsecond'), 250000::bigint, 'the last microsecond of the premium: the base');
SELECT is(price('fives', pg_temp.day(116)), 250000::bigint, '21 days: available at the base');
SELECT is(price('four', pg_temp.day(95)), 5999998::bigint, '4 characters at day 0 of the premium: 1,000,000 + 4,999,998');

-- every tier boundary, in the available phase
SELECT is(price('four', pg_temp.day(116)), 1000000::bigint, '4 characters: $10,000');
SELECT is(price('fives', pg_temp.day(116)), 250000::bigint, '5 characters: $2,500');
SELECT is(price('sixsix', pg_temp.day(116)), 50000::bigint, '6 characters: $500');
SELECT is(price('seven_7', pg_temp.day(116)), 5000::bigint, '7 characters: $50');
SELECT is(price('fifteen_chars_x', pg_temp.day(116)), 5000::bigint, '15 characters: $50');

-- registering a released handle: the platform sells it now
SELECT is(pg_temp.error_of($$ SELECT handle_market.register_handle(5, 'fives', '2026-03-03') $$),
          'HM008: handle "fives" cannot be registered in its redemption phase / The redemption phase ends at 2026-04-01 00:00 UTC.',
          'redemption: HM008 as before');
SELECT is(pg_temp.error_of($$ SELECT handle_market.register_handle(5, 'fives', '2026-04-06') $$),
          'HM014: handle "fives" is not free to register / released handle "fives" in its premium phase: $52,499.98; the platform sells it',
          'HM014: premium phase, with the price');
SELECT is(pg_temp.error_of($$ SELECT handle_market.register_handle(5, 'fives', '2026-04-27') $$),
          'HM014: handle "fives" is not free to register / released handle "fives" in its available phase: $2,500.00; the platform sells it',
          'HM014: available phase, with the base price');

-- a pricing version changes the curve only for premium phases that start after it
SELECT is(add_pricing_version(pg_temp.day(96), '{"premium_start_cents": 1000000}'), 2, 'add_pricing_version: version 2 on day 96');
SELECT is(price('fives', pg_temp.day(96)), 2749998::bigint,
          'a premium that began on day 95 keeps version 1''s S: 250,000 + 2,499,998');
SELECT is(price('sixo', pg_temp.day(105)), 2000000::bigint,
          'one that begins on day 105 takes version 2''s: 1,000,000 + 1,000,000 - 0');
SELECT is(price('sixo', pg_temp.day(106)), 1500000::bigint, 'and halves from there: 1,000,000 + 500,000');

-- quotes of the platform's sales
SELECT is(pg_temp.q('fives', 5, pg_temp.day(97)),
          '1499998|0||2026-04-08 00:01:00+00|premium day 3 of 21: base $2,500.00 (5 characters) + premium $12,499.98',
          'quote: premium day 3, valid for a minute, all to the platform');
SELECT is(pg_temp.q('fives', 5, pg_temp.day(116) - interval '30 seconds'),
          '250000|0||2026-04-27 00:00:00+00|premium day 21 of 21: base $2,500.00 (5 characters) + premium $0.00',
          'quote: valid no later than the end of the premium phase');
SELECT is(pg_temp.q('fives', 5, pg_temp.day(116)),
          '250000|0|||released, now at its base price: $2,500.00 (5 characters)',
          'quote: available, no version scheduled: valid until further notice');
SELECT is(pg_temp.q('fives', 5, pg_temp.day(61)),
          '|||2026-04-01 00:00:00+00|in redemption until 2026-04-01 00:00 UTC', 'quote: redemption, valid until it ends');
SELECT is(pg_temp.q('fives', 5, pg_temp.day(92)),
          '|||2026-04-06 00:00:00+00|in quarantine until 2026-04-06 00:00 UTC', 'quote: quarantine, valid until it ends');
SELECT is(pg_temp.q('owned_two', 5, pg_temp.day(61)), '||||not for sale: registered', 'quote: registered');
SELECT is(pg_temp.q('held_three', 5, pg_temp.day(61)), '||||not for sale: held', 'quote: held');
SELECT is(pg_temp.q('free_name', 5, pg_temp.day(61)), '||||free to register', 'quote: free');
SELECT is(pg_temp.q('acme', 5, pg_temp.day(61)), '||||not for sale: reserved (brand)', 'quote: reserved');
SELECT is(pg_temp.q('f1ves', 5, pg_temp.day(61)), '||||not for sale: confusable with "fives"', 'quote: a look-alike');
SELECT throws_ok($$ SELECT * FROM quote('fives', 99, now()) $$, 'HM011', 'account 99 does not exist', 'quote: HM011 for an unknown buyer');
SELECT throws_ok($$ SELECT * FROM quote('abc', 5, now()) $$, 'HM004', 'handle "abc" does not meet the x_classic profile', 'quote: HM004');

-- the premium list
SELECT lives_ok($$ SELECT set_premium('elon') $$, 'set_premium with the defaults');
SELECT is((SELECT (category, price_cents, set_by, set_at = now())::text FROM premium_handles WHERE handle = 'elon'),
          '(priority,5000000,hm_test_pricing,t)', 'the entry records its price, who called (the role, not the session''s login) and when');
SELECT is(price('elon', pg_temp.day(61)), 5000000::bigint, 'a priority handle: $50,000');
-- price() is PARALLEL SAFE.  A parallel worker starts with no copy of the
-- versions or the premium list, and may not take a new snapshot to read
-- them (src/policy_cache.c): it reads them with the query's.  (Before,
-- this raised "cannot update SecondarySnapshot during a parallel operation".)
SET LOCAL force_parallel_mode = on;
SELECT handle_market.price('elon', '2026-03-03 00:00:00+00') AS parallel_price \gset
SET LOCAL force_parallel_mode = off;
SELECT is(:'parallel_price'::bigint, 5000000::bigint, 'price() in a parallel worker');
SELECT is(price('e1on', pg_temp.day(61)), NULL, 'its look-alike is not for sale');
SELECT is(pg_temp.q('elon', 5, pg_temp.day(61)), '5000000|0|||priority handle: $50,000.00', 'quote: priority handle');
SELECT is(pg_temp.q('e1on', 5, pg_temp.day(61)), '||||not for sale: confusable with priority handle "elon"', 'quote: its look-alike');
SELECT is(pg_temp.error_of($$ SELECT handle_market.register_handle(5, 'elon') $$),
          'HM014: handle "elon" is not free to register / priority handle "elon": $50,000.00; the platform sells it',
          'HM014: a premium handle');
SELECT is(pg_temp.error_of($$ SELECT handle_market.register_handle(5, 'E1ON') $$),
          'HM014: handle "e1on" is confusable with priority handle "elon" / priority handle "elon": $50,000.00; the platform sells it',
          'HM014: a look-alike of a premium handle');
SELECT is((SELECT (state, reason, price_cents)::text FROM lookup('elon', pg_temp.day(61))),
          '(available,"priority handle; the platform sells it",5000000)', 'lookup: a premium handle');
SELECT is((SELECT (state, reason, price_cents)::text FROM lookup('e1on', pg_temp.day(61))),
          '(invalid,"confusable with priority handle ""elon""",)', 'lookup: its look-alike');
SELECT lives_ok($$ SELECT set_premium('gold', 123456789, 'rare') $$, 'set_premium with a price and a category');
SELECT is(pg_temp.q('gold', 5, pg_temp.day(61)), '123456789|0|||rare handle: $1,234,567.89', 'quote: rare handle');
SELECT lives_ok($$ SELECT set_premium('gold', NULL, 'rare') $$, 'set_premium again: NULL price');
SELECT is(price('gold', pg_temp.day(61)), 5000000::bigint, 'no price of its own: the version''s priority price');
SELECT is(pg_temp.error_of($$ SELECT handle_market.set_premium('owned_two') $$),
          'HM008: handle "owned_two" cannot go on the premium list / It is registered by account 2.', 'set_premium: HM008 for an owned handle');
SELECT is(pg_temp.error_of($$ SELECT handle_market.set_premium('fives') $$),
          'HM008: handle "fives" cannot go on the premium list / It is released; the platform sells it through its release phases.',
          'set_premium: HM008 for a released handle');
SELECT throws_ok($$ SELECT set_premium('held_three') $$, 'HM010', 'handle "held_three" is under hold', 'set_premium: HM010 for a held handle');
SELECT is(pg_temp.error_of($$ SELECT handle_market.set_premium('my_twitter') $$),
          'HM003: handle "my_twitter" is reserved / reserved (brand): contains "twitter"', 'set_premium: HM003 for a reserved handle');
SELECT throws_ok($$ SELECT set_premium('abc') $$, 'HM004', 'handle "abc" does not meet the x_classic profile', 'set_premium: HM004');
SELECT is(pg_temp.error_of($$ SELECT handle_market.set_premium('zero', 0) $$),
          '22023: a premium price must be positive / The price given is 0 cents.', 'set_premium: 22023 for a price of 0');
SELECT throws_ok($$ SELECT set_premium('minus', -5) $$, '22023', 'a premium price must be positive', 'set_premium: 22023 for a negative price');
SELECT throws_ok($$ SELECT set_premium('shiny', 100, 'shiny') $$, '22023', 'unknown premium category "shiny"', 'set_premium: unknown category');
SELECT throws_ok($$ SELECT set_premium('f1ves') $$, 'HM002', 'handle "f1ves" is confusable with "fives"', 'set_premium: HM002, a look-alike of a handle');
SELECT throws_ok($$ SELECT set_premium('eIon') $$, 'HM002', 'handle "eion" is confusable with priority handle "elon"',
                 'set_premium: HM002, a look-alike of another entry');
SELECT lives_ok($$ SELECT set_premium('zeta'), reserve_handle('zeta', 'legal') $$, 'a premium handle reserved afterwards');
SELECT is(price('zeta', pg_temp.day(61)), NULL, 'the reservation wins: a reserved handle is never sold');
SELECT is(pg_temp.q('zeta', 5, pg_temp.day(61)), '||||not for sale: reserved (legal)', 'quote: reserved since');
SELECT is(unset_premium('elon'), true, 'unset_premium');
SELECT is(unset_premium('elon'), false, 'unset_premium of a handle not on the list');
SELECT is(price('elon', pg_temp.day(61)), NULL, 'off the list: free again');
SELECT is(register_handle(5, 'elon', pg_temp.day(61)), 'elon'::handle, 'and registered for free');

-- listings: the owner's price, and the platform's commission by the seller's subscription
\o /dev/null
SELECT upsert_account(7, active_at => pg_temp.day(150));
\o
\o /dev/null
SELECT register_handle(7, 'owned_seven', pg_temp.day(150));
\o
\o /dev/null
SELECT list_handle('owned_seven', 7, 123457, pg_temp.day(150)), list_handle('owned_two', 2, 123457, pg_temp.day(150)),
       list_handle('owned_three', 3, 123457, pg_temp.day(150)), list_handle('owned_four', 4, 123457, pg_temp.day(150));
\o
SELECT is(price('owned_two', pg_temp.day(150)), 123457::bigint, 'a listed handle: its listing price');
SELECT is(pg_temp.q('owned_seven', 5, pg_temp.day(150)), '123457|12345|7||listed by its owner at $1,234.57; commission 10% (none)',
          'quote: listing by a seller without a subscription: 10 %');
SELECT is(pg_temp.q('owned_two', 5, pg_temp.day(150)), '123457|9876|2||listed by its owner at $1,234.57; commission 8% (basic)',
          'quote: basic: 8 %');
SELECT is(pg_temp.q('owned_three', 5, pg_temp.day(150)), '123457|6172|3||listed by its owner at $1,234.57; commission 5% (premium)',
          'quote: premium: 5 %');
SELECT is(pg_temp.q('owned_four', 5, pg_temp.day(150)), '123457|3703|4||listed by its owner at $1,234.57; commission 3% (premium_plus)',
          'quote: premium_plus: 3 %');

-- overflow: a tier so large that base + premium leaves bigint
SELECT is(add_pricing_version(pg_temp.day(120), '{"tiers": {"4": 9223372036854775807, "5": 250000, "6": 50000, "7": 5000}}'),
          3, 'version 3: a 4-character tier of INT64_MAX cents');
SELECT is(pg_temp.error_of($$ SELECT handle_market.price('sixo', '2026-05-02') $$),
          'HM013: the price of handle "sixo" is out of range / The base price of 9223372036854775807 cents plus a premium of 15 cents exceeds 9223372036854775807 cents.',
          'HM013: base + premium overflows, with the numbers');
SELECT throws_ok($$ SELECT * FROM quote('sixo', 5, '2026-05-02') $$, 'HM013', NULL, 'quote: HM013 too');
SELECT is(price('sixo', pg_temp.day(126)), 9223372036854775807, 'without a premium the base alone fits');

-- a new version takes effect at its effective_from, and this session's copy sees it at once
SELECT is(price('four', pg_temp.day(250)), 9223372036854775807, 'before version 4 exists: version 3''s tier');
SELECT is(pg_temp.q('fives', 5, pg_temp.day(150)), '250000|0|||released, now at its base price: $2,500.00 (5 characters)',
          'quote: nothing scheduled yet');
SELECT is(add_pricing_version(pg_temp.day(200), '{"tiers": {"4": 2000000, "5": 300000, "6": 60000, "7": 6000}, "commission_bps": {"basic": 700}}'),
          4, 'version 4 on day 200: new tiers, basic 7 %');
SELECT is(price('four', pg_temp.day(250)), 2000000::bigint, 'the copy in this session sees version 4 at once');
SELECT is(price('four', pg_temp.day(200) - interval '1 microsecond'), 9223372036854775807, 'and not before its effective_from');
SELECT results_eq($$ SELECT price(h, pg_temp.day(200)) FROM unnest(ARRAY['four', 'fives', 'sixsix', 'seven_7', 'fifteen_chars_x']) h $$,
                  $$ VALUES (2000000::bigint), (300000), (60000), (6000), (6000) $$, 'version 4''s tiers at every boundary');
SELECT is(pg_temp.q('fives', 5, pg_temp.day(150)), '250000|0||2026-07-20 00:00:00+00|released, now at its base price: $2,500.00 (5 characters)',
          'quote: a fixed price holds until the next version begins');
SELECT is(pg_temp.q('owned_two', 5, pg_temp.day(200)), '123457|8641|2||listed by its owner at $1,234.57; commission 7% (basic)',
          'quote: the commission of the version in force');
SELECT is(pg_temp.q('gold', 5, pg_temp.day(150)), '5000000|0||2026-07-20 00:00:00+00|rare handle: $50,000.00',
          'quote: an entry at the version''s priority price holds until the next version');

-- a tier of 0 gives the handle away; below every tier there is no price
SELECT is(add_pricing_version(pg_temp.day(300), '{"tiers": {"5": 0}}'), 5, 'version 5: one tier of 0 from 5 characters');
SELECT is(price('four', pg_temp.day(300)), NULL, 'shorter than every tier: no price');
SELECT is(pg_temp.q('four', 5, pg_temp.day(300)), '||||free to register: no price tier for 4 characters', 'quote: no tier');
SELECT is(price('fives', pg_temp.day(300)), 0::bigint, 'a tier of 0: the price is 0');
SELECT is(register_handle(5, 'fives', pg_temp.day(300)), 'fives'::handle, 'a released handle at a price of 0 is registered for free');
SELECT is((SELECT (from_state, to_state)::text FROM handle_events WHERE handle = 'fives' ORDER BY event_id DESC LIMIT 1),
          '(available,registered)', 'its history says from which phase');

-- lookup shows the price
SELECT results_eq($$ SELECT l.state, l.price_cents FROM unnest(ARRAY['seven_7', 'owned_two', 'free_name', 'acme', 'abc']) c,
                           lookup(c, pg_temp.day(250)) l $$,
                  $$ VALUES ('available', 6000::bigint), ('registered', 123457), ('available', NULL), ('reserved', NULL),
                            ('invalid', NULL) $$, 'lookup: price_cents in every kind of state');

-- pricing versions: errors
SELECT throws_ok($$ SELECT add_pricing_version(pg_temp.day(250), '{}') $$, '22023',
                 'a new pricing version must start after the last one', 'versions only move forward');
SELECT throws_ok($$ SELECT add_pricing_version(pg_temp.day(400), '{"colour": "red"}') $$, '22023',
                 'unknown pricing settings: colour', 'unknown settings are refused');
SELECT throws_ok($$ SELECT add_pricing_version(pg_temp.day(400), '{"tiers": {"0": 5}}') $$, '22023', 'invalid price tiers', 'a tier of length 0');
SELECT throws_ok($$ SELECT add_pricing_version(pg_temp.day(400), '{"tiers": {"4": -1}}') $$, '22023', 'invalid price tiers', 'a negative tier');
SELECT throws_ok($$ SELECT add_pricing_version(pg_temp.day(400), '{"tiers": {}}') $$, '22023', NULL, 'no tiers at all');
SELECT throws_ok($$ SELECT add_pricing_version(pg_temp.day(400), '{"commission_bps": {"gold": 5}}') $$, '22023',
                 'invalid commission rates', 'an unknown subscription');
SELECT throws_ok($$ SELECT add_pricing_version(pg_temp.day(400), '{"commission_bps": {"basic": 10001}}') $$, '22023',
                 'invalid commission rates', 'a rate above 100 %');
SELECT throws_ok($$ SELECT add_pricing_version(pg_temp.day(400), '{"premium_half_life": "0 hours"}') $$, '22023',
                 'invalid pricing setting', 'a half-life of 0');
SELECT throws_ok($$ SELECT add_pricing_version(pg_temp.day(400), '{"premium_start_cents": "lots"}') $$, '22023',
                 'invalid pricing setting', 'a start that is not a number');

-- the guard.  The superuser: only a role that may write the tables (the owner
-- may) reaches the guard, which refuses even it; the admin role is refused
-- before it (42501).
RESET ROLE;
SELECT throws_ok($$ INSERT INTO price_tiers VALUES (1, 3, 1) $$, 'HM015', 'direct writes to handle_market.price_tiers are not allowed',
                 'HM015: no direct INSERT of a tier');
SELECT throws_ok($$ UPDATE pricing SET premium_start_cents = 0 $$, 'HM015', 'handle_market.pricing is append-only',
                 'HM015: pricing versions are never changed');
SELECT throws_ok($$ DELETE FROM premium_handles $$, 'HM015', 'direct writes to handle_market.premium_handles are not allowed',
                 'HM015: the premium list changes only through set_premium and unset_premium');

-- privileges (still the superuser: CREATE ROLE, and grant_app / grant_admin
-- are the owner's alone)
CREATE ROLE hm_price_app;
CREATE ROLE hm_price_admin;
\o /dev/null
SELECT grant_app('hm_price_app'), grant_admin('hm_price_admin');
\o
SELECT ok(has_function_privilege('hm_price_app', 'handle_market.price(text, timestamptz)', 'EXECUTE')
          AND has_function_privilege('hm_price_app', 'handle_market.quote(text, bigint, timestamptz)', 'EXECUTE')
          AND NOT has_function_privilege('hm_price_app', 'handle_market.set_premium(text, bigint, text)', 'EXECUTE')
          AND NOT has_function_privilege('hm_price_app', 'handle_market.add_pricing_version(timestamptz, jsonb)', 'EXECUTE'),
          'grant_app: price and quote, not the premium list or pricing versions');
SELECT ok(has_function_privilege('hm_price_admin', 'handle_market.set_premium(text, bigint, text)', 'EXECUTE')
          AND has_function_privilege('hm_price_admin', 'handle_market.unset_premium(text)', 'EXECUTE')
          AND has_function_privilege('hm_price_admin', 'handle_market.add_pricing_version(timestamptz, jsonb)', 'EXECUTE')
          AND has_table_privilege('hm_price_admin', 'handle_market.premium_handles', 'SELECT')
          AND NOT has_table_privilege('hm_price_admin', 'handle_market.premium_handles', 'INSERT'),
          'grant_admin: the premium list and pricing versions, reading but not writing the tables');
SET ROLE hm_price_app;
SELECT is(handle_market.price('seven_7', '2026-09-07'), 6000::bigint, 'the application prices without rights on the tables');
SELECT is((SELECT q.price_cents FROM handle_market.quote('owned_two', 5, '2026-09-07') q), 123457::bigint, 'and quotes');
SET ROLE hm_test_pricing;

SELECT * FROM finish();
ROLLBACK;
