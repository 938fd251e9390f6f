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

-- The refusals the C paths make too, written once in src/refuse.c: these
-- are its SQL faces, so the PL/pgSQL implementations raise them in the same
-- words (doc/architecture.md, "Refusals").
--
-- HM011 for an account id that names no account.  A NULL id names none at
-- all: that is a missing argument (22004), named as the caller calls it
-- (p_argument), not an unknown account.
CREATE FUNCTION @extschema@._unknown_account(p_account_id bigint,
                                             p_argument text DEFAULT 'account_id')
    RETURNS void
    AS 'MODULE_PATHNAME', 'hm_unknown_account_sql' LANGUAGE C;

-- HM010: a held handle does not move.
CREATE FUNCTION @extschema@._refuse_held(p_handle @extschema@.handle, p_hold_reason text)
    RETURNS void
    AS 'MODULE_PATHNAME', 'hm_refuse_held_sql' LANGUAGE C STABLE;

-- HM007 while the handle's transfer lock runs at p_as_of.
CREATE FUNCTION @extschema@._refuse_transfer_locked(p_handle @extschema@.handle,
                                                    p_locked_until timestamptz,
                                                    p_as_of timestamptz)
    RETURNS void
    AS 'MODULE_PATHNAME', 'hm_refuse_transfer_locked_sql' LANGUAGE C STABLE;

-- HM008 unless p_account_id is the owner (p_owner_id; NULL: nobody), who
-- alone may p_what it.
CREATE FUNCTION @extschema@._require_owner(p_handle @extschema@.handle, p_owner_id bigint,
                                           p_account_id bigint, p_what text)
    RETURNS void
    AS 'MODULE_PATHNAME', 'hm_require_owner_sql' LANGUAGE C STABLE;

-- HM008 when p_account_id owns the handle already (p_owner_id).
CREATE FUNCTION @extschema@._refuse_own_handle(p_handle @extschema@.handle, p_owner_id bigint,
                                               p_account_id bigint)
    RETURNS void
    AS 'MODULE_PATHNAME', 'hm_refuse_own_handle_sql' LANGUAGE C STABLE;

-- HM008 while the handle is in an open auction: the auction alone sells it.
CREATE FUNCTION @extschema@._no_open_auction(p_handle @extschema@.handle) RETURNS void
    AS 'MODULE_PATHNAME', 'hm_no_open_auction_sql' LANGUAGE C
    SET search_path = pg_catalog, @extschema@, pg_temp;

-- The arguments a money function refuses when missing, in buy()'s words.
CREATE FUNCTION @extschema@._require_args(p_function text, VARIADIC p_missing boolean[])
    RETURNS void
    AS 'MODULE_PATHNAME', 'hm_require_args_sql' LANGUAGE C STABLE;

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
    PERFORM _require_owner(p_handle, h.owner_id, p_seller_id, p_what);
    PERFORM _refuse_held(p_handle, h.hold_reason);
    PERFORM _refuse_transfer_locked(p_handle, h.transfer_locked_until, p_as_of);
    RETURN h;
END $$;
