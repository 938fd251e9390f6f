-- test/pgtap/retries.sql
-- A client whose connection dropped after it sent a call cannot know whether
-- the call committed; it sends the same call again.  The state-changing calls
-- without an idempotency key are naturally idempotent: repeated after they
-- committed they give the same answer and write nothing (no handle_events,
-- no outbox, the row untouched), while a call that really conflicts is
-- refused with the same SQLSTATE as before (issue 11).  Runs in one
-- transaction, walking simulated time: day 0 is 2026-01-01 UTC.
--
-- Timeline.  Day 0: accounts 1 and 2 (subscribers, so never released), 3 and
-- 4 (not); 1 registers "retryme", 3 "lapsed_one", 4 "gone_one".  The sweep
-- notices 3 and 4 on day 30 and releases their handles on day 60; account 3
-- restores "lapsed_one" on day 70, which is held on day 71 and released from
-- its hold on day 72.  Reservations and the premium list on day 75, platform
-- auctions on day 80, policy and pricing versions from day 100.
\ir include/settings.psql

BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS handle_market;
-- The superuser only installs and turns handle_market.simulated_time on (a
-- superuser's setting; the value stays after SET ROLE) for this
-- calendar-walking test.  Everything else runs as an operator's role.
SET handle_market.simulated_time = on;
CREATE ROLE hm_test_retries;               -- rolled back with the test
SELECT handle_market.grant_admin('hm_test_retries');
SET ROLE hm_test_retries;
SET search_path = handle_market, public;
SET timezone = 'UTC';
SET datestyle = 'ISO';

SELECT plan(85);

\ir include/calendar.sql
\ir include/error_of.sql
-- what a call writes to the history and the outbox: the last ids (0 when
-- none), which a retry must leave as they are
CREATE FUNCTION pg_temp.writes() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT format('events %s, outbox %s',
                  (SELECT coalesce(max(event_id), 0) FROM handle_market.handle_events),
                  (SELECT coalesce(max(message_id), 0) FROM handle_market.outbox)) $$;
-- a handle's row, its physical place included: an update, even to the same
-- values, moves it
CREATE FUNCTION pg_temp.row_of(p_handle text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', h.ctid, h.owner_id, h.state, h.display,
                  h.registered_at, h.notice_at, h.released_at, h.previous_owner_id,
                  h.policy_version, h.hold_reason, h.held_at)
      FROM handle_market.handles h WHERE h.handle = p_handle::handle_market.handle $$;
CREATE FUNCTION pg_temp.active(p_account bigint) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT last_active_at FROM handle_market.accounts WHERE account_id = p_account $$;

SELECT lives_ok($$ SELECT upsert_account(1, 'basic', false, pg_temp.day(0)),
                          upsert_account(2, 'basic', false, pg_temp.day(0)),
                          upsert_account(3, 'none', false, pg_temp.day(0)),
                          upsert_account(4, 'none', false, pg_temp.day(0)) $$, 'four accounts');

-- register_handle ---------------------------------------------------------
SELECT is(register_handle(1, '@RetryMe', pg_temp.day(0)), 'retryme'::handle, 'register_handle: the first call');
SELECT pg_temp.writes() AS w \gset
SELECT pg_temp.row_of('retryme') AS r \gset
SELECT is(register_handle(1, '@RetryMe', pg_temp.day(0) + interval '1 hour'), 'retryme'::handle,
          'register_handle: the retry returns the same handle');
SELECT is(pg_temp.writes(), :'w', 'register_handle: the retry adds no event and no message');
SELECT is(pg_temp.row_of('retryme'), :'r', 'register_handle: the retry leaves the row as it was');
SELECT is(pg_temp.active(1), pg_temp.day(0), 'register_handle: the retry is not activity (nothing written)');
SELECT is(pg_temp.error_of($$ SELECT register_handle(2, 'retryme', pg_temp.day(0) + interval '1 hour') $$),
          'HM001: handle "retryme" is taken / It is registered; only a released handle may be registered again.', 'register_handle: another account still gets HM001');
SELECT is(pg_temp.error_of($$ SELECT register_handle(2, 'retrymee', pg_temp.day(0) + interval '1 hour') $$),
          'no error', 'register_handle: a handle of account 2');
SELECT is(pg_temp.error_of($$ SELECT register_handle(1, 'retrymee', pg_temp.day(0) + interval '1 hour') $$),
          'HM001: handle "retrymee" is taken / It is registered; only a released handle may be registered again.', 'register_handle: account 1 registering account 2''s handle: HM001');
-- a reservation added since refuses new registrations, not the retry
SELECT pg_temp.writes() AS w \gset
SELECT lives_ok($$ SELECT reserve_handle('retryme', 'brand') $$, 'retryme reserved after its registration');
SELECT is(register_handle(1, 'retryme', pg_temp.day(0) + interval '2 hours'), 'retryme'::handle,
          'register_handle: the retry still answers after a reservation');
SELECT is(pg_temp.error_of($$ SELECT register_handle(2, 'retryme', pg_temp.day(0) + interval '2 hours') $$),
          'HM003: handle "retryme" is reserved / reserved (brand): looks like "retryme"',
          'register_handle: another account gets HM003 as before');
SELECT ok(unreserve_handle('retryme'), 'the reservation removed');
SELECT is(pg_temp.writes(), :'w', 'register_handle: nothing written by the retry after the reservation');
SELECT is(register_handle(3, 'lapsed_one', pg_temp.day(0)), 'lapsed_one'::handle, 'account 3 registers lapsed_one');
SELECT is(register_handle(4, 'gone_one', pg_temp.day(0)), 'gone_one'::handle, 'account 4 registers gone_one');

-- the sweep: 3 and 4 noticed on day 30, released on day 60
SELECT pg_temp.sweep(30) AS run30 \gset
SELECT pg_temp.sweep(60) AS run60 \gset
SELECT results_eq($$ SELECT handle::text, state FROM handles ORDER BY handle $$,
                  $$ VALUES ('gone_one', 'released'), ('lapsed_one', 'released'), ('retryme', 'registered'),
                            ('retrymee', 'registered') $$, 'the subscribers keep their handles');
-- a registered handle that is at risk is no retry of a registration
SELECT is(pg_temp.error_of($$ SELECT register_handle(3, 'lapsed_one', pg_temp.day(61)) $$),
          'HM008: handle "lapsed_one" cannot be registered in its redemption phase / The redemption phase ends at 2026-04-01 00:00 UTC.',
          'register_handle: the former owner of a released handle is refused as before');

-- restore_handle ----------------------------------------------------------
SELECT is(pg_temp.error_of($$ SELECT restore_handle('lapsed_one', 3, pg_temp.day(70)) $$), 'no error',
          'restore_handle: the first call');
SELECT pg_temp.writes() AS w \gset
SELECT pg_temp.row_of('lapsed_one') AS r \gset
SELECT is(pg_temp.error_of($$ SELECT restore_handle('lapsed_one', 3, pg_temp.day(70) + interval '1 hour') $$),
          'no error', 'restore_handle: the retry succeeds');
SELECT is(pg_temp.writes(), :'w', 'restore_handle: the retry adds no event and no message');
SELECT is(pg_temp.row_of('lapsed_one'), :'r', 'restore_handle: the retry leaves the row as it was');
SELECT is(pg_temp.active(3), pg_temp.day(70), 'restore_handle: the first call''s activity only');
SELECT is((SELECT count(*) FROM outbox WHERE handle = 'lapsed_one' AND kind = 'restored'), 1::bigint,
          'restore_handle: one restored message');
SELECT is(pg_temp.error_of($$ SELECT restore_handle('lapsed_one', 1, pg_temp.day(70) + interval '1 hour') $$),
          'HM008: handle "lapsed_one" is not in redemption / Its state is registered.',
          'restore_handle: another account gets HM008 as before');

-- hold_handle and release_hold --------------------------------------------
SELECT is(pg_temp.error_of($$ SELECT hold_handle('lapsed_one', 'court order 1', pg_temp.day(71)) $$), 'no error',
          'hold_handle: the first call');
SELECT pg_temp.writes() AS w \gset
SELECT pg_temp.row_of('lapsed_one') AS r \gset
SELECT is(pg_temp.error_of($$ SELECT hold_handle('lapsed_one', 'court order 1', pg_temp.day(71) + interval '1 hour') $$),
          'no error', 'hold_handle: the retry succeeds');
SELECT is(pg_temp.writes(), :'w', 'hold_handle: the retry adds no event and no message');
SELECT is(pg_temp.row_of('lapsed_one'), :'r', 'hold_handle: the retry leaves the row as it was (held_at too)');
SELECT is(pg_temp.error_of($$ SELECT hold_handle('lapsed_one', 'court order 2', pg_temp.day(71) + interval '1 hour') $$),
          'HM010: handle "lapsed_one" is already under hold / hold: court order 1',
          'hold_handle: another reason gets HM010 as before');
SELECT is(pg_temp.error_of($$ SELECT register_handle(3, 'lapsed_one', pg_temp.day(71) + interval '1 hour') $$),
          'HM010: handle "lapsed_one" is under hold / hold: court order 1',
          'register_handle: the owner''s own handle under hold is refused as before (HM010)');
SELECT is(pg_temp.error_of($$ SELECT restore_handle('lapsed_one', 3, pg_temp.day(71) + interval '1 hour') $$),
          'HM008: handle "lapsed_one" is not in redemption / Its state is registered.',
          'restore_handle: after a hold the restore is no longer the last event: HM008 as before');

SELECT is(pg_temp.error_of($$ SELECT release_hold('lapsed_one', pg_temp.day(72)) $$), 'no error',
          'release_hold: the first call');
SELECT pg_temp.writes() AS w \gset
SELECT pg_temp.row_of('lapsed_one') AS r \gset
SELECT is(pg_temp.error_of($$ SELECT release_hold('lapsed_one', pg_temp.day(72) + interval '1 hour') $$),
          'no error', 'release_hold: the retry succeeds');
SELECT is(pg_temp.writes(), :'w', 'release_hold: the retry adds no event and no message');
SELECT is(pg_temp.row_of('lapsed_one'), :'r', 'release_hold: the retry leaves the row as it was');
SELECT is((SELECT count(*) FROM handle_events WHERE handle = 'lapsed_one' AND from_state = 'held'), 1::bigint,
          'release_hold: one release recorded');
SELECT is(pg_temp.error_of($$ SELECT release_hold('retryme', pg_temp.day(72)) $$),
          'HM008: handle "retryme" is not under hold / It has no legal hold to release.', 'release_hold: a handle never held gets HM008 as before');
SELECT is(pg_temp.error_of($$ SELECT release_hold('never_seen', pg_temp.day(72)) $$),
          'HM008: handle "never_seen" is not under hold / It has no legal hold to release.', 'release_hold: a handle nobody has gets HM008 as before');
SELECT is(pg_temp.error_of($$ SELECT hold_handle('never_seen', 'court order 3', pg_temp.day(72)) $$),
          'HM008: handle "never_seen" is not registered / ', 'hold_handle: a handle nobody has gets HM008 as before');

-- reserve_handle and unreserve_handle -------------------------------------
SELECT lives_ok($$ SELECT reserve_handle('retry_brand', 'brand', 'handle', 'a partner') $$, 'reserve_handle: the first call');
SELECT (SELECT ctid::text || '|' || kind || '|' || reason || '|' || note FROM reserved WHERE pattern = 'retry_brand') AS r \gset
SELECT is(pg_temp.error_of($$ SELECT reserve_handle('retry_brand', 'brand', 'handle', 'a partner') $$), 'no error',
          'reserve_handle: the retry succeeds');
SELECT is((SELECT ctid::text || '|' || kind || '|' || reason || '|' || note FROM reserved WHERE pattern = 'retry_brand'), :'r',
          'reserve_handle: the retry leaves the row where it was (no update)');
SELECT is(pg_temp.error_of($$ SELECT reserve_handle('retry_brand', 'legal', 'substring', 'a court') $$), 'no error',
          'reserve_handle: another reservation of the pattern changes it, as before');
SELECT is((SELECT kind || '|' || reason || '|' || note FROM reserved WHERE pattern = 'retry_brand'), 'substring|legal|a court',
          'reserve_handle: the reservation as changed');
SELECT is(pg_temp.error_of($$ SELECT reserve_handle('retry_brand', 'because') $$),
          '22023: unknown reservation reason "because" / ', 'reserve_handle: a bad reason is refused as before');
SELECT is(unreserve_handle('retry_brand'), true, 'unreserve_handle: the first call removes it');
SELECT is(unreserve_handle('retry_brand'), false, 'unreserve_handle: the retry succeeds, and says nothing was left to remove');
SELECT is((SELECT count(*) FROM reserved WHERE pattern = 'retry_brand'), 0::bigint, 'unreserve_handle: not reserved');

-- set_premium and unset_premium -------------------------------------------
SELECT lives_ok($$ SELECT set_premium('retry_prem', 700000, 'rare') $$, 'set_premium: the first call');
SELECT (SELECT ctid::text || '|' || category || '|' || price_cents FROM premium_handles WHERE handle = 'retry_prem') AS r \gset
SELECT is(pg_temp.error_of($$ SELECT set_premium('retry_prem', 700000, 'rare') $$), 'no error', 'set_premium: the retry succeeds');
SELECT is((SELECT ctid::text || '|' || category || '|' || price_cents FROM premium_handles WHERE handle = 'retry_prem'), :'r',
          'set_premium: the retry leaves the entry where it was (no update)');
SELECT is(pg_temp.error_of($$ SELECT set_premium('retry_prern', 700000, 'rare') $$),
          'HM002: handle "retry_prern" is confusable with rare handle "retry_prem" / "retry_prern" and "retry_prem" share the confusable key "retry_prern".',
          'set_premium: a look-alike of the entry gets HM002 as before');
SELECT lives_ok($$ SELECT set_premium('retry_prem_two', 800000, 'priority') $$, 'set_premium: another entry');
SELECT is(pg_temp.error_of($$ SELECT set_premium('retry_prem_two', 900000, 'priority') $$), 'no error',
          'set_premium: another price changes the entry, as before');
SELECT is((SELECT price_cents FROM premium_handles WHERE handle = 'retry_prem_two'), 900000::bigint, 'set_premium: the new price');
SELECT is(unset_premium('retry_prem_two'), true, 'unset_premium: the first call takes it off');
SELECT is(unset_premium('retry_prem_two'), false, 'unset_premium: the retry succeeds, and says nothing was left to take off');

-- start_platform_auction: a premium-list handle (no row to lock) and a
-- released one in its premium phase (day 95 to 116)
SELECT start_platform_auction('retry_prem', 10000, pg_temp.day(90), pg_temp.day(80)) AS a1 \gset
SELECT is((SELECT format('%s|%s|%s|%s|%s|%s', a.auction_id, a.seller_id, a.reserve_cents, a.started_at, a.ends_at, a.state)
             FROM auctions a WHERE a.handle = 'retry_prem'),
          format('%s||10000|2026-03-22 00:00:00+00|2026-04-01 00:00:00+00|open', :a1),
          'start_platform_auction: the first call opens the platform''s auction and returns its id');
SELECT pg_temp.writes() AS w \gset
SELECT is(start_platform_auction('retry_prem', 10000, pg_temp.day(90), pg_temp.day(80) + interval '1 hour'), :a1::bigint,
          'start_platform_auction: the retry returns the same auction');
SELECT is((SELECT count(*) FROM auctions WHERE handle = 'retry_prem'), 1::bigint, 'start_platform_auction: one auction');
SELECT is(pg_temp.writes(), :'w', 'start_platform_auction: the retry adds no event and no message');
SELECT is(pg_temp.error_of($$ SELECT start_platform_auction('retry_prem', 20000, pg_temp.day(90), pg_temp.day(80)) $$),
          format('HM008: handle "retry_prem" is being auctioned / Auction %s is open until 2026-04-01 00:00:00+00.', :a1),
          'start_platform_auction: another reserve gets HM008 as before');
SELECT is(pg_temp.error_of($$ SELECT start_platform_auction('retry_prem', 10000, pg_temp.day(91), pg_temp.day(80)) $$),
          format('HM008: handle "retry_prem" is being auctioned / Auction %s is open until 2026-04-01 00:00:00+00.', :a1),
          'start_platform_auction: another end gets HM008 as before');
SELECT start_platform_auction('gone_one', 5000, pg_temp.day(110), pg_temp.day(100)) AS a2 \gset
SELECT is((SELECT format('%s|%s|%s|%s|%s|%s', a.auction_id, a.seller_id, a.reserve_cents, a.started_at, a.ends_at, a.state)
             FROM auctions a WHERE a.handle = 'gone_one'),
          format('%s||5000|2026-04-11 00:00:00+00|2026-04-21 00:00:00+00|open', :a2),
          'start_platform_auction: a released handle in its premium phase, the first call');
SELECT is(start_platform_auction('gone_one', 5000, pg_temp.day(110), pg_temp.day(100) + interval '1 hour'), :a2::bigint,
          'start_platform_auction: a released handle, the retry returns the same auction');
SELECT is((SELECT count(*) FROM auctions WHERE handle = 'gone_one'), 1::bigint, 'start_platform_auction: one auction of it');
SELECT is(pg_temp.error_of($$ SELECT start_platform_auction('retryme', 5000, pg_temp.day(110), pg_temp.day(100)) $$),
          'HM008: handle "retryme" is not the platform''s to auction / Account 1 owns it.',
          'start_platform_auction: an owned handle is refused as before');

-- add_policy_version -------------------------------------------------------
SELECT is(add_policy_version(pg_temp.day(100), '{"inactive_after": "60 days"}'), 2, 'add_policy_version: the first call');
SELECT is(add_policy_version(pg_temp.day(100), '{"inactive_after": "60 days"}'), 2, 'add_policy_version: the retry returns the same version');
SELECT is(add_policy_version(pg_temp.day(100), '{"inactive_after": "1440 hours"}'), 2,
          'add_policy_version: the same setting written otherwise is the same version');
SELECT is((SELECT count(*) FROM policy), 2::bigint, 'add_policy_version: one version added');
SELECT is(pg_temp.error_of($$ SELECT add_policy_version(pg_temp.day(100), '{"inactive_after": "90 days"}') $$),
          '22023: policy version 2 already starts at 2026-04-11 00:00 UTC / inactive_after: 60 days in version 2, 90 days in this call.',
          'add_policy_version: other settings at the same time are refused, naming what differs');
SELECT is(pg_temp.error_of($$ SELECT add_policy_version(pg_temp.day(100), '{"notice_period": "10 days", "profile": "precis"}') $$),
          '22023: policy version 2 already starts at 2026-04-11 00:00 UTC / inactive_after: 60 days in version 2, 30 days in this call; '
          'notice_period: 30 days in version 2, 10 days in this call; profile: x_classic in version 2, precis in this call.',
          'add_policy_version: every setting that differs is named');
SELECT is(add_policy_version(pg_temp.day(200), '{"notice_period": "10 days"}'), 3, 'add_policy_version: a later version');
SELECT is(add_policy_version(pg_temp.day(100), '{"inactive_after": "60 days"}'), 2,
          'add_policy_version: a retry of version 2 still returns it once version 3 exists');
SELECT is(pg_temp.error_of($$ SELECT add_policy_version(pg_temp.day(150), '{}') $$),
          '22023: a new policy version must start after the last one / Version 3 starts at 2026-07-20 00:00:00+00.',
          'add_policy_version: a time before the last version is refused as before');
SELECT is(pg_temp.error_of($$ SELECT add_policy_version('-infinity', '{}') $$),
          '22023: effective_from must be a finite time / effective_from is -infinity.',
          'add_policy_version: the first version''s time is no retry (the gate refuses an infinite start before anything)');

-- add_pricing_version ------------------------------------------------------
SELECT is(add_pricing_version(pg_temp.day(100), '{"tiers": {"4": 2000000, "5": 250000, "6": 50000, "7": 5000}, "commission_bps": {"basic": 700}}'), 2,
          'add_pricing_version: the first call');
SELECT is(add_pricing_version(pg_temp.day(100), '{"tiers": {"4": 2000000, "5": 250000, "6": 50000, "7": 5000}, "commission_bps": {"basic": 700}}'), 2,
          'add_pricing_version: the retry returns the same version');
SELECT is(add_pricing_version(pg_temp.day(100), '{"commission_bps": {"basic": 700}, "tiers": {"07": 5000, "06": 50000, "05": 250000, "04": 2000000}}'), 2,
          'add_pricing_version: the same settings written otherwise are the same version');
SELECT is((SELECT format('%s versions, %s tiers, %s rates', (SELECT count(*) FROM pricing), (SELECT count(*) FROM price_tiers),
                         (SELECT count(*) FROM commission_rates))), '2 versions, 8 tiers, 8 rates',
          'add_pricing_version: one version added');
SELECT is(pg_temp.error_of($$ SELECT add_pricing_version(pg_temp.day(100), '{"tiers": {"4": 3000000, "5": 250000, "6": 50000, "7": 5000}, "commission_bps": {"basic": 700}}') $$),
          '22023: pricing version 2 already starts at 2026-04-11 00:00 UTC / tiers: {"4": 2000000, "5": 250000, "6": 50000, "7": 5000} in version 2, '
          '{"4": 3000000, "5": 250000, "6": 50000, "7": 5000} in this call.',
          'add_pricing_version: other tiers at the same time are refused, naming what differs');
SELECT is(pg_temp.error_of($$ SELECT add_pricing_version(pg_temp.day(100), '{"priority_price_cents": 100}') $$),
          '22023: pricing version 2 already starts at 2026-04-11 00:00 UTC / priority_price_cents: 5000000 in version 2, 100 in this call; '
          'tiers: {"4": 2000000, "5": 250000, "6": 50000, "7": 5000} in version 2, {"4": 1000000, "5": 250000, "6": 50000, "7": 5000} in this call; '
          'commission_bps: {"none": 1000, "basic": 700, "premium": 500, "premium_plus": 300} in version 2, '
          '{"none": 1000, "basic": 800, "premium": 500, "premium_plus": 300} in this call.',
          'add_pricing_version: every setting that differs is named');
SELECT is(pg_temp.error_of($$ SELECT add_pricing_version(pg_temp.day(50), '{}') $$),
          '22023: a new pricing version must start after the last one / Version 2 starts at 2026-04-11 00:00:00+00.',
          'add_pricing_version: a time before the last version is refused as before');

SELECT * FROM finish();
ROLLBACK;
