-- src/sql/74_outbox_consumers.sql: the order the outbox hands messages out
-- in, its consumers and their durable cursors, and the prune that keeps the
-- outbox bounded (issue 12).
--
-- A consumer is registered by an operator and acknowledges, in order, the
-- messages it has handled: its cursor (acked_id) only moves forward.  The
-- prune deletes a message once every registered consumer has acknowledged it
-- and it is at least the retention old; with no consumer registered it
-- deletes nothing (nobody has said what was delivered).  The outbox is
-- append-only: its guard lets prune_outbox_batch() delete (hm_prune_gate,
-- the trigger's 'prunable') and nothing else.
--
-- The order.  A message id is taken when the message is written, but
-- transactions commit in another order: message 10's writer may still be
-- open when message 11 is committed and read.  A cursor of ids alone passes
-- 10 for good, and the prune then deletes it as acknowledged.  So each
-- message records its writing transaction (writer_xid: xid8, 64 bits, never
-- wraps), and a message is handed out only once every transaction with a
-- lower transaction id than its writer has ended (writer_xid below the
-- reading snapshot's xmin): after that, no message can commit with a lower
-- writer_xid.  Messages come out in
-- (writer_xid, message_id) order, and that pair is a cursor's position; a
-- consumer still holds and acknowledges message ids, each of which names its
-- pair.  Within one transaction ids only grow, so a transaction's messages
-- keep their id order.  Messages written before 1.1 have writer_xid 0: all
-- committed, before every later one.
--
-- The price: an open transaction that holds a transaction id (a long one, a
-- prepared one, in any database of the cluster) holds back every message of
-- a transaction that began writing after it, until it ends.  Nothing is
-- skipped; outbox_consumers() counts those messages as held_back.
--
-- Transaction ids are the cluster's own.  pg_upgrade and physical replicas
-- keep them; a pg_dump restored into another cluster does not, and the
-- outbox refuses to hand out, acknowledge or prune (HM020) until an operator
-- renumbers it (doc/monitoring.md), rather than order new messages behind
-- old cursors.

COMMENT ON COLUMN @extschema@.outbox.writer_xid IS
    'the transaction that wrote the message (0: written before 1.1); outbox_after() hands messages out in (writer_xid, message_id) order, once every older transaction has ended';
-- outbox_after(), the lag and the prune read the outbox in that order
CREATE INDEX outbox_delivery ON @extschema@.outbox (writer_xid, message_id);

CREATE TABLE @extschema@.outbox_consumers (
    name text PRIMARY KEY
        CHECK (name ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    -- every message up to this one, in the delivery order, is acknowledged
    -- (0: none yet)
    acked_id bigint NOT NULL DEFAULT 0 CHECK (acked_id >= 0),
    -- that message's writer_xid: with acked_id, the cursor's position, which
    -- holds after the prune has deleted the message itself
    acked_xid xid8 NOT NULL DEFAULT '0',
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

-- The last writer_xid handed out now: below the snapshot's xmin every
-- transaction has ended.  A transaction also reads its own messages when no
-- older transaction is open (then xmin is its own id): whatever commits
-- later has a higher id, and its own later messages higher message ids.
CREATE FUNCTION @extschema@._outbox_delivery_limit() RETURNS xid8
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT CASE WHEN pg_catalog.pg_current_xact_id_if_assigned() = s.xmin THEN s.xmin
                ELSE ((s.xmin::text)::numeric - 1)::text::xid8 END
      FROM (SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot()) AS xmin) s;
END;

-- A visible message (or cursor) whose transaction id this server has not
-- assigned yet came from another cluster (a pg_dump restored here): new
-- messages would sort before it, behind the cursors, and be skipped.  The
-- caller's own transaction is the one id at or past the snapshot's xmax
-- that it may see.
CREATE FUNCTION @extschema@._outbox_check_xids() RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_next xid8 := pg_snapshot_xmax(pg_current_snapshot());
    v_own xid8 := pg_current_xact_id_if_assigned();
    v_seen xid8;
BEGIN
    SELECT max(x) INTO v_seen
      FROM (SELECT max(o.writer_xid) FROM outbox o
             WHERE o.writer_xid >= v_next AND o.writer_xid IS DISTINCT FROM v_own
            UNION ALL
            SELECT max(c.acked_xid) FROM outbox_consumers c
             WHERE c.acked_xid >= v_next AND c.acked_xid IS DISTINCT FROM v_own) m(x);
    IF v_seen IS NOT NULL THEN
        RAISE EXCEPTION 'the outbox records transaction id %, which this server has not assigned yet', v_seen
            USING ERRCODE = 'HM020',
                  DETAIL = format('The next transaction id is %s: the outbox was restored from another cluster, whose transaction ids are not this one''s.', v_next),
                  HINT = 'Nothing is handed out, acknowledged or pruned until an operator renumbers it; see "Restoring into another cluster" in doc/monitoring.md.';
    END IF;
END $$;

-- The writer_xid of a cursor (a message id): the message's, or, once the
-- prune has deleted it, that of the consumer whose cursor it is.  0 and
-- below: before the first message.
CREATE FUNCTION @extschema@._outbox_cursor_xid(p_after bigint) RETURNS xid8
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v xid8;
BEGIN
    IF p_after IS NULL THEN
        RAISE EXCEPTION 'after_message_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM _outbox_check_xids();
    IF p_after <= 0 THEN
        RETURN '0';
    END IF;
    SELECT o.writer_xid INTO v FROM outbox o WHERE o.message_id = p_after;
    IF NOT FOUND THEN
        SELECT c.acked_xid INTO v FROM outbox_consumers c WHERE c.acked_id = p_after LIMIT 1;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'outbox message % is not in the outbox', p_after
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A cursor is the id of a message outbox_after() handed out; this one was pruned, was never written, or is not committed yet.',
                  HINT = 'A registered consumer resumes from its acked_id in outbox_consumers().';
    END IF;
    RETURN v;
END $$;

-- The application's read.  after_message_id is the last message it handled
-- (its acked_id); the messages after it come in the delivery order, but
-- for those of writers younger than a transaction still open, which may yet
-- commit a message before them.
CREATE FUNCTION @extschema@.outbox_after(after_message_id bigint DEFAULT 0, max_messages integer DEFAULT 1000)
    RETURNS SETOF @extschema@.outbox
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT o.* FROM @extschema@.outbox o
     WHERE (o.writer_xid, o.message_id) > ((SELECT @extschema@._outbox_cursor_xid(after_message_id)), after_message_id)
       AND o.writer_xid <= (SELECT @extschema@._outbox_delivery_limit())
     ORDER BY o.writer_xid, o.message_id
     LIMIT max_messages;
END;
COMMENT ON FUNCTION @extschema@.outbox_after(bigint, integer) IS
    'notifications after a message id (a consumer''s acked_id), in commit-safe order: a message comes out once every transaction older than its writer has ended, so a cursor never passes one; LISTEN handle_market to be woken';

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

-- The cursor moves forward only, in the delivery order.  An ack at or
-- before it changes nothing and returns it: a retry after a lost answer, or
-- a slower worker of the same consumer, cannot move it back (and is no
-- error, since what it says is true); so does an id with no message, which
-- is one the prune deleted (it was at or before every cursor) or one that
-- was never written.  An id beyond the last message is refused, and so is a
-- message outbox_after() does not hand out yet: the consumer cannot have
-- handled it, and a cursor past it would pass, and let the prune delete,
-- the messages an older open transaction commits later.  Returns the
-- cursor after the call.
CREATE FUNCTION @extschema@._outbox_ack(p_consumer text, p_up_to bigint)
    RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v outbox_consumers;
    v_xid xid8;
    v_last bigint;
BEGIN
    IF p_up_to IS NULL THEN
        RAISE EXCEPTION 'up_to must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO v FROM outbox_consumers WHERE name = _outbox_consumer_name(p_consumer) FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown outbox consumer "%"', p_consumer
            USING ERRCODE = 'HM018',
                  DETAIL = 'No consumer by that name is registered; outbox_consumers() lists those that are.',
                  HINT = 'An operator registers it with outbox_register_consumer().';
    END IF;
    IF p_up_to <= 0 OR p_up_to = v.acked_id THEN
        RETURN v.acked_id;
    END IF;
    PERFORM _outbox_check_xids();
    SELECT o.writer_xid INTO v_xid FROM outbox o WHERE o.message_id = p_up_to;
    IF NOT FOUND THEN
        -- the prune deletes messages of any id, the lowest cursor's
        -- position being no id: only the ids taken tell which never was
        v_last := coalesce(pg_sequence_last_value('outbox_message_id_seq'), 0);
        IF p_up_to > v_last THEN
            RAISE EXCEPTION 'cannot acknowledge outbox messages up to % for consumer "%"', p_up_to, v.name
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('The last message id taken is %s.', v_last);
        END IF;
        RETURN v.acked_id;
    END IF;
    IF (v_xid, p_up_to) <= (v.acked_xid, v.acked_id) THEN
        RETURN v.acked_id;
    END IF;
    IF v_xid > _outbox_delivery_limit() THEN
        RAISE EXCEPTION 'cannot acknowledge outbox message % for consumer "%"', p_up_to, v.name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'outbox_after() does not hand it out yet: a transaction older than its writer is still open, and what it writes comes before it.';
    END IF;
    UPDATE outbox_consumers SET acked_id = p_up_to, acked_xid = v_xid, acked_at = now() WHERE name = v.name;
    RETURN p_up_to;
END $$;

CREATE FUNCTION @extschema@.outbox_ack(consumer text, up_to bigint)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.outbox_ack(text, bigint) IS
    'a consumer acknowledges every message up to one outbox_after() handed it, in the order handed out; the cursor only moves forward, and the call returns it';

-- Every consumer with its cursor and how far behind it is: the committed
-- messages after its cursor (an exact count), how many of those wait for an
-- older transaction to end (held_back: outbox_after() does not hand them out
-- yet), and the oldest of them.  The application reads its own cursor here
-- when it starts.
CREATE FUNCTION @extschema@.outbox_consumers()
    RETURNS TABLE (consumer text, acked_id bigint, lag bigint, held_back bigint,
                   oldest_unacked_at timestamptz, registered_at timestamptz, acked_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT c.name, c.acked_id, l.lag, l.held_back, l.oldest, c.registered_at, c.acked_at
      FROM @extschema@.outbox_consumers c,
           LATERAL (SELECT count(*) AS lag,
                           count(*) FILTER (WHERE o.writer_xid > (SELECT @extschema@._outbox_delivery_limit()))
                               AS held_back,
                           min(o.created_at) AS oldest
                      FROM @extschema@.outbox o
                     WHERE (o.writer_xid, o.message_id) > (c.acked_xid, c.acked_id)) l
     ORDER BY c.name;
END;
COMMENT ON FUNCTION @extschema@.outbox_consumers() IS
    'each outbox consumer: its cursor, the messages after it (lag), those of them that wait for an older transaction to end (held_back), and the oldest of them';

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
-- horizon (the lowest cursor), in the delivery order; of those, the ones at
-- least the retention old are deleted.  created_at is the writing
-- transaction's start, not ordered with the delivery order, so a young
-- message is skipped, not a stop: the run goes on after it (last_id) and the
-- next run looks again.  An after_id the previous batch deleted has no
-- position left: the batch starts from the first message again, where only
-- the young messages that batch skipped are left before it.
CREATE FUNCTION @extschema@._prune_outbox_batch(p_after_id bigint, p_batch_size integer,
                                                OUT done boolean, OUT examined integer,
                                                OUT deleted integer, OUT last_id bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
DECLARE
    v_horizon outbox_consumers;
    v_after_xid xid8;
    v_after_id bigint := p_after_id;
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
    PERFORM _outbox_check_xids();
    SELECT * INTO v_horizon FROM outbox_consumers c ORDER BY c.acked_xid, c.acked_id LIMIT 1;
    SELECT o.writer_xid INTO v_after_xid FROM outbox o WHERE o.message_id = p_after_id;
    IF NOT FOUND THEN
        v_after_xid := '0';
        v_after_id := 0;
    END IF;
    WITH batch AS (
        SELECT o.writer_xid, o.message_id, o.created_at FROM outbox o
         WHERE (o.writer_xid, o.message_id) > (v_after_xid, v_after_id)
           AND (o.writer_xid, o.message_id) <= (coalesce(v_horizon.acked_xid, '0'), coalesce(v_horizon.acked_id, 0))
         ORDER BY o.writer_xid, o.message_id LIMIT p_batch_size
    ), gone AS (
        DELETE FROM outbox o USING batch b
         WHERE o.message_id = b.message_id AND b.created_at <= v_cutoff
        RETURNING o.message_id
    )
    SELECT count(*), (SELECT count(*) FROM gone),
           (SELECT b.message_id FROM batch b ORDER BY b.writer_xid DESC, b.message_id DESC LIMIT 1)
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
