-- The lifecycle walked through simulated time: day 0 is 2026-01-01 UTC.
-- Nothing here waits for a clock: every call takes the time it acts at.
SET timezone = 'UTC';
SET datestyle = 'ISO';
\set SHOW_CONTEXT never
SET search_path = handle_market, public;
\set QUIET on
CREATE FUNCTION pg_temp.day(n int) RETURNS timestamptz LANGUAGE sql IMMUTABLE
    AS $$ SELECT '2026-01-01 00:00:00+00'::timestamptz + n * interval '1 day' $$;
CREATE FUNCTION pg_temp.show(n int) RETURNS TABLE (day int, handle handle_market.handle, state text,
                                                   owner_id bigint, ends date, reason text, price bigint)
    LANGUAGE sql AS $$
    SELECT n, l.handle, l.state, l.owner_id, (l.phase_ends_at AT TIME ZONE 'UTC')::date, l.reason, l.price_cents
      FROM unnest(ARRAY['quiet_one', 'comes_back', 'restorer', 'subscriber', 'verified_vip',
                        'late_policy', 'on_hold']) AS c,
           handle_market.lookup(c, pg_temp.day(n)) AS l
     ORDER BY c $$;
\set QUIET off

-- Day 0: seven owners register.
SELECT upsert_account(1, active_at => pg_temp.day(0)),
       upsert_account(2, active_at => pg_temp.day(0)),
       upsert_account(3, active_at => pg_temp.day(0)),
       upsert_account(4, 'premium', active_at => pg_temp.day(0)),
       upsert_account(5, verified => true, active_at => pg_temp.day(0)),
       upsert_account(6, active_at => pg_temp.day(0)),
       upsert_account(7, active_at => pg_temp.day(0));
SELECT register_handle(1, 'Quiet_One', pg_temp.day(0)),
       register_handle(2, 'Comes_Back', pg_temp.day(0)),
       register_handle(3, 'Restorer', pg_temp.day(0)),
       register_handle(4, 'Subscriber', pg_temp.day(0)),
       register_handle(5, 'Verified_VIP', pg_temp.day(0)),
       register_handle(6, 'Late_Policy', pg_temp.day(0)),
       register_handle(7, 'On_Hold', pg_temp.day(0));
SELECT activity_status(pg_temp.day(0), pg_temp.day(29)) AS day29,
       activity_status(pg_temp.day(0), pg_temp.day(30)) AS day30;

-- Day 29: nobody is inactive yet.
CALL release_dormant(pg_temp.day(29), 3);
SELECT * FROM pg_temp.show(29);

-- Day 30: the non-exempt owners are noticed.
CALL release_dormant(pg_temp.day(30), 3);
SELECT * FROM pg_temp.show(30);
SELECT kind, account_id, handle, detail FROM outbox WHERE kind = 'inactivity_notice' ORDER BY handle;

-- Day 31: a policy change doubles the notice period from day 31 on; the
-- notices already running keep their 30 days.
SELECT add_policy_version(pg_temp.day(31), '{"notice_period": "60 days"}');
SELECT * FROM pg_temp.show(31);

-- Day 45: one owner logs in and keeps the handle at once; a hold freezes another.
SELECT touch(2, pg_temp.day(45));
SELECT hold_handle('on_hold', 'trademark dispute 2026-17', pg_temp.day(45));
SELECT * FROM pg_temp.show(45);

-- Day 60: notices run out: released (the held one does not move).
CALL release_dormant(pg_temp.day(60), 3);
SELECT * FROM pg_temp.show(60);

-- Day 61: in redemption; the former owner restores, a stranger may not.
SELECT restore_handle('restorer', 1, pg_temp.day(61));
SELECT restore_handle('restorer', 3, pg_temp.day(61));
SELECT * FROM pg_temp.show(61);

-- Day 90: redemption over; quarantine.  Day 95: premium.  Day 116: available.
SELECT * FROM pg_temp.show(90);
SELECT restore_handle('quiet_one', 1, pg_temp.day(90));
SELECT * FROM pg_temp.show(95);
SELECT register_handle(2, 'quiet_one', pg_temp.day(95));
SELECT * FROM pg_temp.show(116);

-- Day 117: the platform sells the available handle at its base price, so
-- it is not free to register; an operator makes handles of 7 characters or
-- more free from day 117, and someone registers it (registering is
-- activity).  The hold is lifted and the held handle's clock resumes where
-- it stopped (15 days of notice were left).
SELECT register_handle(3, '@Quiet_One', pg_temp.day(117));
SELECT add_pricing_version(pg_temp.day(117), '{"tiers": {"4": 1000000, "5": 250000, "6": 50000, "7": 0}}');
SELECT register_handle(3, '@Quiet_One', pg_temp.day(117));
SELECT release_hold('on_hold', pg_temp.day(117));
SELECT * FROM pg_temp.show(117);
CALL release_dormant(pg_temp.day(131), 3);
CALL release_dormant(pg_temp.day(132), 3);
SELECT * FROM pg_temp.show(132);

-- the history of one handle, in order
SELECT from_state, to_state, at::date, account_id, reason
  FROM handle_events WHERE handle = 'quiet_one' ORDER BY event_id;
-- every release run, recorded
SELECT run_id, as_of::date, dry_run, batches, examined, noticed, released, status
  FROM release_runs ORDER BY run_id;
-- a dry run counts and changes nothing
SELECT count(*) AS events_before FROM handle_events \gset
CALL release_dormant(pg_temp.day(200), 2, dry_run => true);
SELECT count(*) = :events_before AS nothing_changed FROM handle_events;
SELECT dry_run, noticed, released, status FROM release_runs ORDER BY run_id DESC LIMIT 1;
