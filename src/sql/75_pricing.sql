-- src/sql/75_pricing.sql: what the platform asks for a handle.  Prices are
-- bigint cents.  Like policy, the pricing configuration is versioned by
-- effective date: a version is in force from its effective_from until the
-- next one's; versions are only added (add_pricing_version), never changed.
-- The arithmetic is in C (src/core/pricing.c, src/pricing_sql.c).

CREATE TABLE @extschema@.pricing (
    version integer PRIMARY KEY,
    effective_from timestamptz NOT NULL UNIQUE,
    -- the ENS-style premium on a released handle: S, halving every H
    premium_start_cents bigint NOT NULL CHECK (premium_start_cents >= 0),
    premium_half_life interval NOT NULL
        CHECK (premium_half_life > '0' AND date_part('month', premium_half_life) = 0
               AND date_part('year', premium_half_life) = 0),
    -- what a premium-list entry without a price of its own costs
    priority_price_cents bigint NOT NULL CHECK (priority_price_cents > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.pricing IS
    'versioned pricing; a version is in force from effective_from until the next';

-- The base price of a released handle by the length of its canonical form:
-- handles of min_length code points or more, up to the next tier.
CREATE TABLE @extschema@.price_tiers (
    version integer NOT NULL REFERENCES @extschema@.pricing,
    min_length integer NOT NULL CHECK (min_length BETWEEN 1 AND 64),
    price_cents bigint NOT NULL CHECK (price_cents >= 0),
    PRIMARY KEY (version, min_length)
);
COMMENT ON TABLE @extschema@.price_tiers IS 'base price by handle length, per pricing version';

-- The platform's commission on a sale between users, by the seller's
-- subscription, in basis points (10000 = 100 %).
CREATE TABLE @extschema@.commission_rates (
    version integer NOT NULL REFERENCES @extschema@.pricing,
    subscription text NOT NULL CHECK (subscription IN ('none', 'basic', 'premium', 'premium_plus')),
    bps integer NOT NULL CHECK (bps BETWEEN 0 AND 10000),
    PRIMARY KEY (version, subscription)
);
COMMENT ON TABLE @extschema@.commission_rates IS 'commission by subscription, per pricing version';

-- The defaults come from the anchors: ENS's $50,000 premium halving daily
-- over the policy's 21-day window, X's $50,000 priority handles, a price
-- by length as ENS does, and X's subscription tiers.
INSERT INTO @extschema@.pricing VALUES (1, '-infinity', 5000000, '24 hours', 5000000, now());
INSERT INTO @extschema@.price_tiers VALUES (1, 4, 1000000), (1, 5, 250000), (1, 6, 50000), (1, 7, 5000);
INSERT INTO @extschema@.commission_rates VALUES
    (1, 'none', 1000), (1, 'basic', 800), (1, 'premium', 500), (1, 'premium_plus', 300);

-- Handles the platform sells itself, at a flat price, before anyone holds
-- them.  The confusable key is unique and register_handle() matches on it,
-- so a look-alike of a premium handle ("e1on" for "elon") cannot be
-- registered for free either.  An entry applies only while the handle has no
-- row in handles: once it is sold, its row decides.
CREATE TABLE @extschema@.premium_handles (
    handle @extschema@.handle PRIMARY KEY,
    key text COLLATE "C" GENERATED ALWAYS AS (@extschema@.confusable_key(handle)) STORED,
    category text NOT NULL CHECK (category IN ('priority', 'rare')),
    -- NULL: the priority_price_cents of the pricing version in force
    price_cents bigint CHECK (price_cents > 0),
    set_by text NOT NULL DEFAULT @extschema@.actor(),     -- who called, as in the history
    set_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX premium_handles_key ON @extschema@.premium_handles (key);
COMMENT ON TABLE @extschema@.premium_handles IS
    'the premium list: handles the platform sells at a flat price, matched on confusable keys';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.pricing', 'WHERE version > 1');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.price_tiers', 'WHERE version > 1');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.commission_rates', 'WHERE version > 1');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.premium_handles', '');

-- Written only through the API; the versions only by insert.  The seeds
-- above went in before the guard existed.
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.pricing
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only');
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.price_tiers
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only');
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.commission_rates
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard('append_only');
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.premium_handles
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();

-- price() keeps a copy of the versions and of the premium list in each
-- backend; a change drops every copy (policy_changed() invalidates the
-- relcache entry of the table it fires on: touch's policy copy relies on it).
-- Commission rates are read in SQL (quote()), so they need no trigger.
CREATE TRIGGER pricing_changed AFTER INSERT ON @extschema@.pricing
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.policy_changed();
CREATE TRIGGER pricing_changed AFTER INSERT ON @extschema@.price_tiers
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.policy_changed();
CREATE TRIGGER pricing_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.premium_handles
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.policy_changed();

-- The version in force at as_of.
-- PL/pgSQL, like policy_at(): its query is planned once per session (a SQL
-- function with a SET clause is never inlined, and would read and plan its
-- body on every call).
CREATE FUNCTION @extschema@.pricing_at(as_of timestamptz DEFAULT now())
    RETURNS @extschema@.pricing
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v @extschema@.pricing;
BEGIN
    SELECT * INTO v FROM @extschema@.pricing p
     WHERE p.effective_from <= pricing_at.as_of
     ORDER BY p.effective_from DESC
     LIMIT 1;
    RETURN CASE WHEN FOUND THEN v END;
END $$;

-- The commission on a sale by a seller with this subscription at as_of.
CREATE FUNCTION @extschema@.commission_bps(subscription text, as_of timestamptz DEFAULT now())
    RETURNS integer
    LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT r.bps FROM @extschema@.commission_rates r
             WHERE r.version = (SELECT p.version FROM @extschema@.pricing p
                                 WHERE p.effective_from <= commission_bps.as_of
                                 ORDER BY p.effective_from DESC LIMIT 1)
               AND r.subscription = commission_bps.subscription);
END $$;

-- Pure arithmetic (src/core): public, like release_phase().
CREATE FUNCTION @extschema@.commission_fee(price_cents bigint, bps integer)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_commission_fee'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.commission_fee(bigint, integer) IS
    'floor(price_cents * bps / 10000), exact for every bigint price';

CREATE FUNCTION @extschema@.decaying_premium(elapsed interval, start_cents bigint DEFAULT 5000000,
                                             half_life interval DEFAULT '24 hours',
                                             premium_window interval DEFAULT '21 days')
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_decaying_premium'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.decaying_premium(interval, bigint, interval, interval) IS
    'floor(S * 2^(-t/H)) - floor(S * 2^(-W/H)), clipped at 0 and 0 from t = W on, in cents';

-- "$50,000.00", "-$1.50": C (src/core/money.c), as every message writes it
CREATE FUNCTION @extschema@.dollars(cents bigint) RETURNS text
    AS 'MODULE_PATHNAME', 'hm_dollars' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- What the platform asks for a handle at as_of; NULL when it is not selling
-- it.  A handle with a row: held, or owned and not listed -> NULL; listed by
-- its owner -> the listing price; released -> by its phase (policy version
-- of the release): redemption and quarantine NULL, premium base + premium,
-- available base.  Without a row: on the premium list -> its price (NULL if
-- reserved since); otherwise NULL (free to register, reserved or a
-- look-alike).  Base: the tier of the version in force at as_of; premium:
-- the curve of the version in force when the premium phase began.  HM004
-- for a candidate that is not a handle under the profile in force (unless
-- it has a row), HM013 when a price leaves bigint.
CREATE FUNCTION @extschema@.price(candidate text, as_of timestamptz DEFAULT now())
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_price'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.price(text, timestamptz) IS
    'what the platform asks for a handle at as_of, in cents; NULL when it is not selling it';

-- The same computation, with its parts, for quote() and register_handle().
CREATE FUNCTION @extschema@._price_parts(candidate text, as_of timestamptz,
        OUT handle @extschema@.handle, OUT source text, OUT price_cents bigint,
        OUT length integer, OUT base_cents bigint, OUT premium_cents bigint,
        OUT premium_day integer, OUT premium_days integer, OUT pricing_version integer,
        OUT phase_ends_at timestamptz, OUT next_pricing_at timestamptz,
        OUT owner_id bigint, OUT state text, OUT category text,
        OUT own_price boolean, OUT transfer_locked_until timestamptz)
    AS 'MODULE_PATHNAME', 'hm_price_parts'
    LANGUAGE C STABLE STRICT;

-- One row: the price, the platform's fee out of it, who is paid, until when
-- the price holds, and why.  valid_until: a fixed price holds until the next
-- pricing version begins (NULL when none is scheduled; a listing and a
-- premium entry with a price of its own until someone changes them: NULL).
-- The decaying premium only falls, so price_cents is the most a purchase
-- before valid_until costs; valid_until is one minute on (or the end of the
-- premium phase, or the next version, if sooner), after which the quote is
-- stale: the price falls by up to 0.05 % a minute.  A buyer passes
-- price_cents as max_price_cents.  Not for sale: redemption and quarantine
-- until their end (the price is fixed by then), else NULL.
CREATE FUNCTION @extschema@.quote(candidate text, buyer_id bigint, as_of timestamptz DEFAULT now(),
                                  OUT price_cents bigint, OUT fee_cents bigint,
                                  OUT seller_id bigint, OUT valid_until timestamptz,
                                  OUT reason text)
    AS 'MODULE_PATHNAME', 'hm_quote_sql'
    LANGUAGE C STABLE SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp;

-- Why a handle nobody holds and nobody sells is not for sale: reserved, or
-- a look-alike of a handle or of a premium-list entry; else it is free.
-- Called by quote() (src/quote.c).
CREATE FUNCTION @extschema@._unsold_reason(p_handle @extschema@.handle)
    RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_res reserved;
    v_other text;
BEGIN
    v_res := reservation_for(confusable_key(p_handle));
    IF v_res.pattern IS NOT NULL THEN
        RETURN format('not for sale: reserved (%s)', v_res.reason);
    END IF;
    SELECT format('"%s"', h.handle) INTO v_other
      FROM handles h WHERE h.key = confusable_key(p_handle);
    IF v_other IS NULL THEN
        SELECT format('%s handle "%s"', m.category, m.handle) INTO v_other
          FROM premium_handles m WHERE m.key = confusable_key(p_handle);
    END IF;
    RETURN coalesce('not for sale: confusable with ' || v_other, 'free to register');
END $$;
COMMENT ON FUNCTION @extschema@.quote(text, bigint, timestamptz) IS
    'the price of a handle for a buyer: price, the platform''s fee, the seller (NULL: the platform), until when it holds, and why';

-- The premium list.  An entry is refused for a handle that exists (its row
-- decides its price), is reserved, or is confusable with a handle or with
-- another entry.
CREATE FUNCTION @extschema@._set_premium(p_candidate text, p_price_cents bigint, p_category text)
    RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_policy policy := policy_at(now());
    v_reason text := check_handle(p_candidate, v_policy.profile);
    v_handle handle;
    v_key text;
    v_res reserved;
    v_row handles;
    v_other premium_handles;
BEGIN
    IF v_reason IS NOT NULL THEN
        RAISE EXCEPTION 'handle "%" does not meet the % profile', p_candidate, v_policy.profile
            USING ERRCODE = 'HM004', DETAIL = v_reason;
    END IF;
    IF p_category IS NULL OR p_category NOT IN ('priority', 'rare') THEN
        RAISE EXCEPTION 'unknown premium category "%"', p_category
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Categories are priority and rare.';
    END IF;
    IF p_price_cents <= 0 THEN
        RAISE EXCEPTION 'a premium price must be positive'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The price given is %s cents.', p_price_cents),
                  HINT = 'Pass NULL for the default priority price of the pricing version in force.';
    END IF;
    v_handle := p_candidate::handle;
    v_key := confusable_key(v_handle);
    v_res := reservation_for(v_key);
    IF v_res.pattern IS NOT NULL THEN
        RAISE EXCEPTION 'handle "%" is reserved', v_handle
            USING ERRCODE = 'HM003',
                  DETAIL = format('reserved (%s): %s "%s"', v_res.reason,
                                  CASE v_res.kind WHEN 'substring' THEN 'contains' ELSE 'looks like' END,
                                  v_res.pattern);
    END IF;
    SELECT * INTO v_row FROM handles WHERE key = v_key;
    IF FOUND AND v_row.handle = v_handle THEN
        PERFORM _refuse_held(v_handle, v_row.hold_reason);
        RAISE EXCEPTION 'handle "%" cannot go on the premium list', v_handle
            USING ERRCODE = 'HM008',
                  DETAIL = CASE WHEN v_row.state = 'released'
                                THEN 'It is released; the platform sells it through its release phases.'
                                ELSE format('It is %s by account %s.', replace(v_row.state, '_', ' '), v_row.owner_id) END;
    ELSIF FOUND THEN
        RAISE EXCEPTION 'handle "%" is confusable with "%"', v_handle, v_row.handle
            USING ERRCODE = 'HM002',
                  DETAIL = format('"%s" and "%s" share the confusable key "%s".', v_handle, v_row.handle, v_key);
    END IF;
    SELECT * INTO v_other FROM premium_handles WHERE key = v_key AND handle <> v_handle;
    IF FOUND THEN
        RAISE EXCEPTION 'handle "%" is confusable with % handle "%"', v_handle, v_other.category, v_other.handle
            USING ERRCODE = 'HM002',
                  DETAIL = format('"%s" and "%s" share the confusable key "%s".', v_handle, v_other.handle, v_key);
    END IF;
    -- An entry already there is changed to what is given (as before); the
    -- same entry again (a retry after a lost answer) is left as it is, with
    -- its set_by and set_at: the WHERE makes the upsert write nothing.  ON
    -- CONFLICT locks the existing row first, so two identical calls at once
    -- insert once and find the row the second time.
    INSERT INTO premium_handles (handle, category, price_cents)
    VALUES (v_handle, p_category, p_price_cents)
    ON CONFLICT (handle) DO UPDATE
       SET category = excluded.category, price_cents = excluded.price_cents,
           set_by = excluded.set_by, set_at = excluded.set_at
     WHERE (premium_handles.category, premium_handles.price_cents)
           IS DISTINCT FROM (excluded.category, excluded.price_cents);
END $$;

CREATE FUNCTION @extschema@.set_premium(candidate text, price_cents bigint DEFAULT 5000000,
                                        category text DEFAULT 'priority')
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.set_premium(text, bigint, text) IS
    'puts a handle nobody holds on the premium list (or changes its entry): the platform sells it at price_cents (NULL: the pricing version''s default priority price)';

-- Taking off an entry that is not there succeeds and says so (false), like
-- unreserve_handle() and a DELETE that finds no row: a retry after a lost
-- answer finds the handle off the list, as the first call left it.
CREATE FUNCTION @extschema@._unset_premium(p_candidate text)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    DELETE FROM premium_handles WHERE handle = _canonical(p_candidate);
    RETURN FOUND;
END $$;

CREATE FUNCTION @extschema@.unset_premium(candidate text)
    RETURNS boolean AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.unset_premium(text) IS
    'takes a handle off the premium list; false when it was not on it';

-- A new pricing version: the version in force at effective_from, with the
-- given changes: premium_start_cents, premium_half_life,
-- priority_price_cents, tiers (replaces the whole table: {"4": 1000000,
-- "5": 250000, ...}) and commission_bps (changes the subscriptions given:
-- {"basic": 700}).  Each version starts after the last one.
--
-- A retry after a lost answer: a version that starts at effective_from
-- already, with what this call would give it (the version before it with
-- the changes: the three prices, the tiers, the rates), is returned as it
-- is.  Anything else at the same time is refused (22023, like any other
-- time that is not after the last version), and the detail names what
-- differs.
CREATE FUNCTION @extschema@._add_pricing_version(p_effective_from timestamptz, p_changes jsonb)
    RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_changes jsonb := coalesce(p_changes, '{}');
    v_last pricing;
    v_same pricing;
    v_new pricing;
    v_bad text;
    v_tiers jsonb;
    v_rates jsonb;
    v_new_tiers jsonb;
    v_new_rates jsonb;
    v_diff text;
BEGIN
    IF jsonb_typeof(v_changes) <> 'object' THEN
        RAISE EXCEPTION 'pricing changes must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- one version added at a time, as in _add_policy_version: two identical
    -- calls at once would both read the same last version and both insert
    LOCK TABLE pricing IN SHARE ROW EXCLUSIVE MODE;
    -- a retry: the version that starts then, built on the one before it
    -- (the first version, which no call added, is no retry)
    SELECT * INTO v_same FROM pricing WHERE effective_from = p_effective_from;
    IF FOUND THEN
        SELECT * INTO v_last FROM pricing WHERE version < v_same.version ORDER BY version DESC LIMIT 1;
        IF NOT FOUND THEN
            v_same := NULL;
        END IF;
    END IF;
    IF v_same.version IS NULL THEN
        SELECT * INTO v_last FROM pricing ORDER BY version DESC LIMIT 1;
        IF p_effective_from IS NULL OR p_effective_from <= v_last.effective_from THEN
            RAISE EXCEPTION 'a new pricing version must start after the last one'
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('Version %s starts at %s.', v_last.version, v_last.effective_from);
        END IF;
        -- a version that starts in the past would change what was in force
        -- then, under answers already given; only a replay may write history
        IF p_effective_from < now() AND NOT current_setting('handle_market.simulated_time')::boolean THEN
            RAISE EXCEPTION 'a new pricing version cannot start in the past'
                USING ERRCODE = 'HM017',
                      DETAIL = format('It would start at %s; the server''s time is %s.',
                                      utc_time(p_effective_from), utc_time(now()));
        END IF;
    END IF;
    SELECT string_agg(k, ', ' ORDER BY k) INTO v_bad FROM jsonb_object_keys(v_changes) k
     WHERE k NOT IN ('premium_start_cents', 'premium_half_life', 'priority_price_cents',
                     'tiers', 'commission_bps');
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'unknown pricing settings: %', v_bad
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Settings are premium_start_cents, premium_half_life, priority_price_cents, tiers and commission_bps.';
    END IF;

    v_new := v_last;
    v_new.version := v_last.version + 1;
    v_new.effective_from := p_effective_from;
    v_new.created_at := now();
    BEGIN
        v_new.premium_start_cents := coalesce((v_changes->>'premium_start_cents')::bigint, v_last.premium_start_cents);
        v_new.premium_half_life := coalesce((v_changes->>'premium_half_life')::interval, v_last.premium_half_life);
        v_new.priority_price_cents := coalesce((v_changes->>'priority_price_cents')::bigint, v_last.priority_price_cents);
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION 'invalid pricing setting'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = SQLERRM;
    END;
    -- the detail names the first setting that is wrong, and why
    IF v_new.premium_start_cents < 0 OR v_new.priority_price_cents <= 0
       OR v_new.premium_half_life <= '0' OR date_part('month', v_new.premium_half_life) <> 0
       OR date_part('year', v_new.premium_half_life) <> 0 THEN
        RAISE EXCEPTION 'invalid pricing setting'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = CASE
                      WHEN v_new.premium_start_cents < 0
                      THEN format('premium_start_cents must be at least 0; it was %s.',
                                  v_new.premium_start_cents)
                      WHEN v_new.priority_price_cents <= 0
                      THEN format('priority_price_cents must be above 0; it was %s.',
                                  v_new.priority_price_cents)
                      WHEN v_new.premium_half_life <= '0'
                      THEN format('premium_half_life must be positive; it was %s.',
                                  v_new.premium_half_life)
                      ELSE format('premium_half_life must be given in days, hours or smaller units; '
                                  'it was %s, and a month has no fixed length.',
                                  v_new.premium_half_life) END;
    END IF;

    -- tiers: all given, or all the last version's
    v_tiers := v_changes->'tiers';
    IF v_tiers IS NOT NULL THEN
        IF jsonb_typeof(v_tiers) <> 'object' OR v_tiers = '{}' THEN
            RAISE EXCEPTION 'tiers must be a non-empty JSON object of min_length: price_cents'
                USING ERRCODE = 'invalid_parameter_value', DETAIL = format('tiers: %s', v_tiers);
        END IF;
        SELECT string_agg(format('%s: %s', t.key, t.value), ', ') INTO v_bad FROM jsonb_each(v_tiers) t
         WHERE t.key !~ '^[0-9]{1,2}$' OR t.key::integer NOT BETWEEN 1 AND 64
            OR jsonb_typeof(t.value) <> 'number' OR t.value::text !~ '^[0-9]{1,19}$'
            OR t.value::numeric > 9223372036854775807;
        IF v_bad IS NOT NULL THEN
            RAISE EXCEPTION 'invalid price tiers'
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('%s: a tier is a length from 1 to 64 and a price of at least 0 cents.', v_bad);
        END IF;
    END IF;
    v_rates := coalesce(v_changes->'commission_bps', '{}');
    IF jsonb_typeof(v_rates) <> 'object' THEN
        RAISE EXCEPTION 'commission_bps must be a JSON object of subscription: basis points'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('commission_bps: %s', v_rates);
    END IF;
    SELECT string_agg(format('%s: %s', r.key, r.value), ', ') INTO v_bad FROM jsonb_each(v_rates) r
     WHERE r.key NOT IN ('none', 'basic', 'premium', 'premium_plus')
        OR jsonb_typeof(r.value) <> 'number' OR r.value::text !~ '^[0-9]{1,5}$'
        OR r.value::numeric > 10000;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'invalid commission rates'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('%s: subscriptions are none, basic, premium and premium_plus; rates are 0 to 10000 basis points.', v_bad);
    END IF;

    IF v_same.version IS NOT NULL THEN
        -- what the version's tables would hold, to compare with a version that
        -- starts at the same time: tiers by length ("04" is 4), rates by
        -- subscription
        IF v_tiers IS NOT NULL THEN
            SELECT jsonb_object_agg(t.key::integer, t.value::text::bigint) INTO v_new_tiers
              FROM jsonb_each(v_tiers) t;
        ELSE
            SELECT jsonb_object_agg(t.min_length, t.price_cents) INTO v_new_tiers
              FROM price_tiers t WHERE t.version = v_last.version;
        END IF;
        SELECT jsonb_object_agg(r.subscription, coalesce((v_rates->>r.subscription)::integer, r.bps))
          INTO v_new_rates
          FROM commission_rates r WHERE r.version = v_last.version;

        SELECT string_agg(format('%s: %s in version %s, %s in this call', d.name, d.old, v_same.version, d.new),
                          '; ' ORDER BY d.ord) || '.'
          INTO v_diff
          FROM (VALUES (1, 'premium_start_cents', v_same.premium_start_cents::text,
                           v_new.premium_start_cents::text,
                           v_same.premium_start_cents = v_new.premium_start_cents),
                       (2, 'premium_half_life', v_same.premium_half_life::text,
                           v_new.premium_half_life::text,
                           v_same.premium_half_life = v_new.premium_half_life),
                       (3, 'priority_price_cents', v_same.priority_price_cents::text,
                           v_new.priority_price_cents::text,
                           v_same.priority_price_cents = v_new.priority_price_cents),
                       (4, 'tiers', (SELECT jsonb_object_agg(t.min_length, t.price_cents)
                                       FROM price_tiers t WHERE t.version = v_same.version)::text,
                           v_new_tiers::text, NULL),
                       (5, 'commission_bps', (SELECT jsonb_object_agg(r.subscription, r.bps)
                                                FROM commission_rates r WHERE r.version = v_same.version)::text,
                           v_new_rates::text, NULL)) d(ord, name, old, new, equal)
         WHERE NOT coalesce(d.equal, d.old::jsonb = d.new::jsonb);
        IF v_diff IS NULL THEN
            RETURN v_same.version;
        END IF;
        RAISE EXCEPTION 'pricing version % already starts at %', v_same.version, utc_time(v_same.effective_from)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = v_diff,
                  HINT = 'A version is never changed; add one that starts later.';
    END IF;

    BEGIN
        INSERT INTO pricing SELECT v_new.*;
    EXCEPTION WHEN unique_violation THEN
        -- REPEATABLE READ or SERIALIZABLE: the snapshot predates a version
        -- that another call added while this one waited for the lock.  A
        -- retry in a new transaction sees it (and returns it, if it is this
        -- one).
        RAISE EXCEPTION 'could not serialize access due to a concurrent pricing version'
            USING ERRCODE = 'serialization_failure',
                  DETAIL = format('Version %s was added after this transaction began.', v_new.version);
    END;
    IF v_tiers IS NOT NULL THEN
        INSERT INTO price_tiers (version, min_length, price_cents)
        SELECT v_new.version, t.key::integer, t.value::text::bigint FROM jsonb_each(v_tiers) t;
    ELSE
        INSERT INTO price_tiers (version, min_length, price_cents)
        SELECT v_new.version, t.min_length, t.price_cents FROM price_tiers t WHERE t.version = v_last.version;
    END IF;
    INSERT INTO commission_rates (version, subscription, bps)
    SELECT v_new.version, r.subscription, coalesce((v_rates->>r.subscription)::integer, r.bps)
      FROM commission_rates r WHERE r.version = v_last.version;
    RETURN v_new.version;
END $$;

CREATE FUNCTION @extschema@.add_pricing_version(effective_from timestamptz, changes jsonb)
    RETURNS integer AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.add_pricing_version(timestamptz, jsonb) IS
    'adds a pricing version in force from effective_from: the previous version with the given changes, such as {"tiers": {"4": 2000000, "5": 250000, "6": 50000, "7": 5000}}';
