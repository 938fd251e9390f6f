-- src/sql/74_outbox_consumers.sql: the outbox's consumers, their durable
-- cursors, and the prune that keeps the outbox bounded (issue 12).
--
-- A consumer is registered by an operator and acknowledges, in order, the
-- messages it has handled: its cursor (acked_id) only moves forward.  The
-- prune deletes a message once every registered consumer has acknowledged it
-- and it is at least the retention old; with no consumer registered it
-- deletes nothing (nobody has said what was delivered).  The outbox is
-- append-only: its guard lets prune_outbox_batch() delete (hm_prune_gate,
-- the trigger's 'prunable') and nothing else.

CREATE TABLE @extschema@.outbox_consumers (
    name text PRIMARY KEY
        CHECK (name ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    -- every message up to this id is acknowledged (0: none yet)
    acked_id bigint NOT NULL DEFAULT 0 CHECK (acked_id >= 0),
    registered_at timestamptz NOT NULL DEFAULT now(),
    acked_at timestamptz
);
COMMENT ON TABLE @extschema@.outbox_consumers IS
    'consumers of the outbox and how far each has acknowledged; prune_outbox() keeps what any of them has not';

-- The retention: no row means the default, 7 days.  A row only once an
-- operator sets it, so that a dump carries a changed retention and a
-- restore into a fresh install (which writes no row) does not collide.
CREATE TABLE @extschema@.outbox_settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    retention interval NOT NULL CHECK (retention >= interval '0'),
    set_at timestamptz NOT NULL DEFAULT now(),
    set_by text NOT NULL DEFAULT @extschema@.actor()
);
COMMENT ON TABLE @extschema@.outbox_settings IS
    'the outbox''s retention (one row, once set_outbox_retention() was called; 7 days without it)';

CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.outbox_consumers
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
CREATE TRIGGER guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.outbox_settings
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.guard();
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outbox_consumers', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outbox_settings', '');

-- the name's rules, in one place for the three functions that take it
CREATE FUNCTION @extschema@._outbox_consumer_name(p_name text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_name IS NULL THEN
        RAISE EXCEPTION 'a consumer''s name must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_name !~ '^[a-z][a-z0-9_.-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid outbox consumer name "%"', p_name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A name is 1 to 63 characters: a lower-case letter, then lower-case letters, digits, "_", "." or "-".';
    END IF;
    RETURN p_name;
END $$;

-- Registering a consumer that is registered already succeeds and says so
-- (false), its cursor untouched: a retry after a lost answer.
CREATE FUNCTION @extschema@._outbox_register_consumer(p_name text)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    -- after any prune batch under way: it read the horizon without this
    -- consumer, and must not delete a message the consumer has not seen
    LOCK TABLE outbox_consumers IN SHARE ROW EXCLUSIVE MODE;
    INSERT INTO outbox_consumers (name) VALUES (_outbox_consumer_name(p_name))
    ON CONFLICT (name) DO NOTHING;
    RETURN FOUND;
END $$;

CREATE FUNCTION @extschema@.outbox_register_consumer(name text)
    RETURNS boolean AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.outbox_register_consumer(text) IS
    'registers an outbox consumer with nothing acknowledged; from then on prune_outbox() keeps every message it has not acknowledged (false: it was registered already)';

-- A consumer taken out of service: the prune no longer waits for it.
CREATE FUNCTION @extschema@._outbox_unregister_consumer(p_name text)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    DELETE FROM outbox_consumers WHERE name = _outbox_consumer_name(p_name);
    RETURN FOUND;
END $$;

CREATE FUNCTION @extschema@.outbox_unregister_consumer(name text)
    RETURNS boolean AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.outbox_unregister_consumer(text) IS
    'removes an outbox consumer, so that the prune no longer keeps messages for it (false: it was not registered)';

-- The cursor moves forward only.  An ack at or below it changes nothing and
-- returns it: a retry after a lost answer, or a slower worker of the same
-- consumer, cannot move it back (and is no error, since what it says is
-- true).  An id beyond the last message is refused: the consumer cannot
-- have handled it, and acknowledging it would let the prune delete a
-- message written later, unread.  Returns the cursor after the call.
CREATE FUNCTION @extschema@._outbox_ack(p_consumer text, p_up_to bigint)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v outbox_consumers;
    v_last bigint;
BEGIN
    IF p_up_to IS NULL THEN
        RAISE EXCEPTION 'up_to must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO v FROM outbox_consumers WHERE name = _outbox_consumer_name(p_consumer) FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown outbox consumer "%"', p_consumer
            USING ERRCODE = 'HM018',
                  HINT = 'An operator registers it with outbox_register_consumer().';
    END IF;
    IF p_up_to <= v.acked_id THEN
        RETURN v.acked_id;
    END IF;
    -- pruned messages are all at or below every cursor, so the largest id
    -- left is the last message whenever the call would move the cursor
    SELECT coalesce(max(message_id), 0) INTO v_last FROM outbox;
    IF p_up_to > v_last THEN
        RAISE EXCEPTION 'cannot acknowledge outbox messages up to % for consumer "%"', p_up_to, v.name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The last message is %s.', v_last);
    END IF;
    UPDATE outbox_consumers SET acked_id = p_up_to, acked_at = now() WHERE name = v.name;
    RETURN p_up_to;
END $$;

CREATE FUNCTION @extschema@.outbox_ack(consumer text, up_to bigint)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.outbox_ack(text, bigint) IS
    'a consumer acknowledges every message up to an id; the cursor only moves forward, and the call returns it';

-- Every consumer with its cursor and how far behind it is: the messages
-- after its cursor (an exact count) and the oldest of them.  The
-- application reads its own cursor here when it starts.
CREATE FUNCTION @extschema@.outbox_consumers()
    RETURNS TABLE (consumer text, acked_id bigint, lag bigint, oldest_unacked_at timestamptz,
                   registered_at timestamptz, acked_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT c.name, c.acked_id, l.lag, l.oldest, c.registered_at, c.acked_at
      FROM @extschema@.outbox_consumers c,
           LATERAL (SELECT count(*) AS lag, min(o.created_at) AS oldest
                      FROM @extschema@.outbox o WHERE o.message_id > c.acked_id) l
     ORDER BY c.name;
END;
COMMENT ON FUNCTION @extschema@.outbox_consumers() IS
    'each outbox consumer: its cursor, the messages after it (lag) and the oldest of them';

CREATE FUNCTION @extschema@._set_outbox_retention(p_retention interval)
    RETURNS interval
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
BEGIN
    IF p_retention IS NULL THEN
        RAISE EXCEPTION 'retention must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_retention < interval '0' THEN
        RAISE EXCEPTION 'retention must not be negative'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('It was %s.', p_retention);
    END IF;
    INSERT INTO outbox_settings AS s (retention) VALUES (p_retention)
    ON CONFLICT (singleton) DO UPDATE SET retention = excluded.retention, set_at = excluded.set_at,
                                          set_by = excluded.set_by
     WHERE s.retention IS DISTINCT FROM excluded.retention;
    RETURN p_retention;
END $$;

CREATE FUNCTION @extschema@.set_outbox_retention(retention interval)
    RETURNS interval AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.set_outbox_retention(interval) IS
    'how long prune_outbox() keeps a message after it was written, even once every consumer acknowledged it (7 days until set)';

CREATE FUNCTION @extschema@.outbox_retention() RETURNS interval
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT coalesce((SELECT s.retention FROM @extschema@.outbox_settings s), interval '7 days');
END;
COMMENT ON FUNCTION @extschema@.outbox_retention() IS
    'the outbox''s retention in force (set_outbox_retention(); 7 days until set)';

-- One batch: the next batch_size messages after after_id up to the
-- horizon (the lowest cursor), in id order; of those, the ones at least the
-- retention old are deleted.  created_at is the writing transaction's
-- start, not ordered with the id, so a young message is skipped, not a
-- stop: the run goes on after it (last_id) and the next run looks again.
CREATE FUNCTION @extschema@._prune_outbox_batch(p_after_id bigint, p_batch_size integer,
                                                OUT done boolean, OUT examined integer,
                                                OUT deleted integer, OUT last_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_horizon bigint;
    v_cutoff timestamptz := now() - outbox_retention();
BEGIN
    IF p_after_id IS NULL THEN
        RAISE EXCEPTION 'after_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- A consumer registered meanwhile waits for this batch to commit (its
    -- registration takes a lock that conflicts with this one), so the
    -- horizon read below holds until the batch commits.  Acks do not wait:
    -- they only raise a cursor, and a horizon read before one is lower.
    -- No consumer: nothing is known delivered, and nothing is deleted.
    LOCK TABLE outbox_consumers IN SHARE UPDATE EXCLUSIVE MODE;
    SELECT min(acked_id) INTO v_horizon FROM outbox_consumers;
    WITH batch AS (
        SELECT o.message_id, o.created_at FROM outbox o
         WHERE o.message_id > p_after_id AND o.message_id <= coalesce(v_horizon, 0)
         ORDER BY o.message_id LIMIT p_batch_size
    ), gone AS (
        DELETE FROM outbox o USING batch b
         WHERE o.message_id = b.message_id AND b.created_at <= v_cutoff
        RETURNING o.message_id
    )
    SELECT count(*), (SELECT count(*) FROM gone), max(b.message_id)
      INTO examined, deleted, last_id FROM batch b;
    done := examined < p_batch_size;
    last_id := coalesce(last_id, p_after_id);
END $$;

CREATE FUNCTION @extschema@.prune_outbox_batch(after_id bigint, batch_size integer,
                                               OUT done boolean, OUT examined integer,
                                               OUT deleted integer, OUT last_id bigint)
    AS 'MODULE_PATHNAME', 'hm_prune_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.prune_outbox_batch(bigint, integer) IS
    'one batch of prune_outbox(): deletes, of the next batch_size messages after after_id that every consumer acknowledged, those at least the retention old';

-- Procedures that COMMIT cannot be SECURITY DEFINER or carry SET: every
-- name below is qualified instead.  Each batch commits; an interrupted run
-- leaves whole batches behind, and the next run starts again from the
-- beginning (what was deleted is gone, so that costs little).
CREATE PROCEDURE @extschema@.prune_outbox(batch_size integer DEFAULT 10000,
                                          pause interval DEFAULT '0')
    LANGUAGE plpgsql
AS $$
DECLARE
    v_batch record;
    v_after bigint := 0;
    v_batches integer := 0;
    v_deleted bigint := 0;
    v_pause interval := @extschema@._batch_pause(pause);
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RAISE NOTICE 'prune_outbox: this server is a replica; nothing to do';
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.outbox_consumers) THEN
        RAISE NOTICE 'prune_outbox: no consumer is registered, so no message is known delivered; nothing is pruned';
    END IF;
    LOOP
        SELECT * INTO v_batch FROM @extschema@.prune_outbox_batch(v_after, batch_size);
        COMMIT;
        v_batches := v_batches + 1;
        v_deleted := v_deleted + v_batch.deleted;
        v_after := v_batch.last_id;
        EXIT WHEN v_batch.done;
        IF v_pause > interval '0' THEN
            PERFORM pg_catalog.pg_sleep_for(v_pause);
        END IF;
    END LOOP;
    RAISE NOTICE '%', pg_catalog.format('prune_outbox: %s batches, %s messages deleted (through id %s)',
                                        v_batches, v_deleted, v_after);
END $$;
COMMENT ON PROCEDURE @extschema@.prune_outbox(integer, interval) IS
    'deletes, in batches that each commit, the outbox messages every consumer has acknowledged that are at least the retention old; nothing without a consumer';
