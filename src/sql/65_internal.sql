-- src/sql/65_internal.sql: helpers the API implementations share.  They write
-- only while the gate is open, so calling them directly achieves nothing.

-- Times in messages: UTC, the same whatever the session's DateStyle or
-- TimeZone, since outbox messages are stored and delivered elsewhere.
CREATE FUNCTION @extschema@.utc_time(ts timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"');
END;

CREATE FUNCTION @extschema@.utc_date(ts timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD');
END;

-- Writes happen at the server's time (src/server_time.c): the time a write
-- runs at, or HM017 when the caller asked for another one; no time may be
-- infinite.  The gate applies the same check to every API function that
-- writes; these are for the procedures and the reads written in SQL.
CREATE FUNCTION @extschema@._write_time(at timestamptz, arg text) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'hm_write_time_sql' LANGUAGE C STABLE STRICT;
CREATE FUNCTION @extschema@._read_time(at timestamptz, arg text) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'hm_read_time_sql' LANGUAGE C IMMUTABLE STRICT;

-- An account is exempt from release under a policy version.  No SET
-- clause, so that the sweep's query inlines it; a BEGIN ATOMIC body binds
-- its names when it is created, so the caller's search_path cannot change
-- what it means.  The account comes as columns, not as a row: building a
-- row value for each of a batch's accounts would cost more than the test.
CREATE FUNCTION @extschema@.is_exempt(verified boolean, subscription text, status text,
                                      p @extschema@.policy)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT (verified AND p.exempt_verified)
        OR (subscription <> 'none' AND p.exempt_subscribers)
        OR (status = 'memorialized' AND p.exempt_memorialized);
END;

CREATE FUNCTION @extschema@._record(p_handle @extschema@.handle, p_from text, p_to text,
                                    p_at timestamptz, p_account_id bigint, p_reason text,
                                    p_notice text DEFAULT NULL, p_notice_detail text DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    INSERT INTO handle_events (handle, from_state, to_state, at, account_id, reason)
    VALUES (p_handle, p_from, p_to, p_at, p_account_id, p_reason);
    IF p_notice IS NOT NULL THEN
        INSERT INTO outbox (kind, account_id, handle, at, detail)
        VALUES (p_notice, p_account_id, p_handle, p_at, p_notice_detail);
    END IF;
END $$;

-- HM011 for an account id that names no account.  A NULL id names none at
-- all: that is a missing argument (22004), named as the caller calls it
-- (p_argument), not an unknown account.
CREATE FUNCTION @extschema@._unknown_account(p_account_id bigint,
                                             p_argument text DEFAULT 'account_id')
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_account_id IS NULL THEN
        RAISE EXCEPTION '% must not be null', p_argument
            USING ERRCODE = 'null_value_not_allowed',
                  DETAIL = format('%s identifies the account to act for; NULL identifies none.',
                                  p_argument);
    END IF;
    RAISE EXCEPTION 'account % does not exist', p_account_id
        USING ERRCODE = 'HM011',
              HINT = 'Create it first with handle_market.upsert_account().';
END $$;

CREATE FUNCTION @extschema@._require_account(p_account_id bigint, p_lock text DEFAULT 'share',
                                             p_argument text DEFAULT 'account_id')
    RETURNS @extschema@.accounts
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v accounts;
BEGIN
    IF p_account_id IS NULL THEN
        PERFORM _unknown_account(NULL, p_argument);
    END IF;
    -- accounts are always locked before handles, everywhere: no deadlocks
    IF p_lock = 'update' THEN
        SELECT * INTO v FROM accounts WHERE account_id = p_account_id FOR NO KEY UPDATE;
    ELSE
        SELECT * INTO v FROM accounts WHERE account_id = p_account_id FOR SHARE;
    END IF;
    IF NOT FOUND THEN
        PERFORM _unknown_account(p_account_id, p_argument);
    END IF;
    RETURN v;
END $$;

-- HM010, in the words src/market.c uses too (refuse_held): a held handle
-- does not move.
CREATE FUNCTION @extschema@._refuse_held(p_handle @extschema@.handle, p_hold_reason text)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_hold_reason IS NOT NULL THEN
        RAISE EXCEPTION 'handle "%" is under hold', p_handle
            USING ERRCODE = 'HM010', DETAIL = format('hold: %s', p_hold_reason);
    END IF;
END $$;

CREATE FUNCTION @extschema@._canonical(p_candidate text) RETURNS @extschema@.handle
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF p_candidate IS NULL THEN
        RAISE EXCEPTION 'handle must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN p_candidate::handle;
END $$;

-- Registering, restoring, buying, bidding and offering are activity, like
-- touch().  The activity lock comes first, before any row (activity_lock.c):
-- callers take it at their start, through this function or directly.
CREATE FUNCTION @extschema@._mark_active(p_account_id bigint, p_at timestamptz)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    PERFORM activity_lock_shared();
    UPDATE accounts SET last_active_at = p_at
     WHERE account_id = p_account_id AND last_active_at < p_at;
END $$;

-- The reservation a confusable key falls under, if any: a reserved handle
-- with the same key, or a forbidden substring inside the key.
CREATE FUNCTION @extschema@.reservation_for(p_key text) RETURNS @extschema@.reserved
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT * FROM @extschema@.reserved r
     WHERE (r.kind = 'handle' AND r.key = p_key)
        OR (r.kind = 'substring' AND strpos(p_key, r.key) > 0)
     ORDER BY r.kind, r.pattern LIMIT 1;
END;

-- The arguments a money function refuses when missing, in buy()'s words.
CREATE FUNCTION @extschema@._require_args(p_function text, VARIADIC p_missing boolean[])
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    FOR i IN 1 .. cardinality(p_missing) LOOP
        IF p_missing[i] THEN
            RAISE EXCEPTION 'argument % of % must not be null', i, p_function
                USING ERRCODE = 'null_value_not_allowed';
        END IF;
    END LOOP;
END $$;

-- The owner's handle, locked, and whether it may be put up for sale now.
CREATE FUNCTION @extschema@._sellable_by_owner(p_handle @extschema@.handle, p_seller_id bigint,
                                               p_as_of timestamptz, p_what text)
    RETURNS @extschema@.handles
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    h handles;
BEGIN
    SELECT * INTO h FROM handles WHERE handle = p_handle FOR UPDATE;
    IF NOT FOUND OR h.owner_id IS DISTINCT FROM p_seller_id THEN
        RAISE EXCEPTION 'account % does not own handle "%"', p_seller_id, p_handle
            USING ERRCODE = 'HM008', DETAIL = format('Only the owner of a registered handle may %s it.', p_what);
    END IF;
    PERFORM _refuse_held(p_handle, h.hold_reason);
    IF h.transfer_locked_until > p_as_of THEN
        RAISE EXCEPTION 'handle "%" is under its transfer lock', p_handle
            USING ERRCODE = 'HM007',
                  DETAIL = format('It changed hands recently; the lock ends at %s.', h.transfer_locked_until);
    END IF;
    RETURN h;
END $$;

CREATE FUNCTION @extschema@._no_open_auction(p_handle @extschema@.handle) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    a auctions;
BEGIN
    SELECT * INTO a FROM auctions WHERE handle = p_handle AND state = 'open';
    IF FOUND THEN
        RAISE EXCEPTION 'handle "%" is being auctioned', p_handle
            USING ERRCODE = 'HM008', DETAIL = format('Auction %s is open until %s.', a.auction_id, a.ends_at);
    END IF;
END $$;
