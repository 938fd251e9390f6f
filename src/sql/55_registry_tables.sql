-- src/sql/55_registry_tables.sql: accounts, handles, reserved names, history,
-- notifications and release runs.

CREATE TABLE @extschema@.accounts (
    account_id bigint PRIMARY KEY,
    subscription text NOT NULL DEFAULT 'none'
        CHECK (subscription IN ('none', 'basic', 'premium', 'premium_plus')),
    verified boolean NOT NULL DEFAULT false,
    status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'suspended', 'deactivated', 'memorialized')),
    -- No index covers last_active_at, so touch() stays a HOT update; the
    -- release sweep walks handles in key order instead.
    last_active_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 90);
COMMENT ON TABLE @extschema@.accounts IS 'the platform''s accounts, by the application''s own ids';

-- One row per handle that is or was registered.  The stored state changes
-- only with the owner's behaviour; what follows a release is computed
-- (release_phase) from released_at and the policy version.
CREATE TABLE @extschema@.handles (
    handle @extschema@.handle PRIMARY KEY,
    display text NOT NULL,
    key text COLLATE "C" GENERATED ALWAYS AS (@extschema@.confusable_key(handle)) STORED,
    owner_id bigint REFERENCES @extschema@.accounts,
    state text NOT NULL,
    registered_at timestamptz NOT NULL,
    notice_at timestamptz,
    released_at timestamptz,
    previous_owner_id bigint REFERENCES @extschema@.accounts,
    -- the policy version its clocks run under.  No foreign key: policy is
    -- append-only (its guard refuses updates and deletes) and every writer
    -- takes the version from it, while a key would make every new handle
    -- lock the same policy row (FOR KEY SHARE), so concurrent sales and
    -- release batches would share that lock through multixacts.
    -- check_invariants() checks it.
    policy_version integer NOT NULL,
    hold_reason text,
    held_at timestamptz,
    -- the market: a fixed-price listing by the owner, and the lock that a
    -- change of owner starts (no sale or transfer before it ends)
    list_price_cents bigint,
    listed_at timestamptz,
    transfer_locked_until timestamptz,
    CONSTRAINT handles_row_rules CHECK (@extschema@.handles_row_rules(handle, display, state,
        owner_id, released_at, notice_at, list_price_cents, listed_at, hold_reason, held_at))
) WITH (fillfactor = 60);
COMMENT ON CONSTRAINT handles_row_rules ON @extschema@.handles IS
    'display canonicalizes to handle; state is registered, at_risk or released; an owner exactly '
    'when not released; released_at exactly when released; notice_at exactly when at_risk; a '
    'listing has a positive price and listed_at, and a released handle has none; a hold has '
    'hold_reason and held_at (src/core/row_rules.c)';
-- fillfactor: room on each page for the sweep's updates (a notice, a release,
-- up to 40% of a page's rows at once) to be HOT, since none of them changes
-- an indexed column; at 80 a third of them were not, each then inserting
-- into all four indexes.  Keys are compared bytewise (COLLATE "C"): they are
-- identifiers, not words, and memcmp keeps index maintenance cheap.
COMMENT ON TABLE @extschema@.handles IS 'every handle that is or was registered';

-- No two handles a reader could mistake for each other.  A released handle
-- keeps its row, and its key, until someone takes it: a look-alike of a
-- released handle is as much an impersonation as one of a registered handle.
CREATE UNIQUE INDEX handles_key ON @extschema@.handles (key);
CREATE INDEX handles_owner ON @extschema@.handles (owner_id);
CREATE INDEX handles_previous_owner ON @extschema@.handles (previous_owner_id);

CREATE TABLE @extschema@.reserved (
    pattern text PRIMARY KEY,
    key text COLLATE "C" NOT NULL,
    kind text NOT NULL CHECK (kind IN ('handle', 'substring')),
    reason text NOT NULL CHECK (reason IN ('system', 'brand', 'offensive', 'legal')),
    note text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (key = @extschema@.confusable_key(pattern::@extschema@.handle))
);
COMMENT ON TABLE @extschema@.reserved IS
    'reserved handles and forbidden substrings, matched on confusable keys';
INSERT INTO @extschema@.reserved (pattern, key, kind, reason, note)
SELECT p, @extschema@.confusable_key(p::@extschema@.handle), 'substring', r, n
  FROM (VALUES ('twitter', 'brand', 'the platform''s name'),
               ('admin', 'system', 'impersonates staff')) AS v(p, r, n);

-- Who asked: the role that called the API function (guard.c).  Inside the
-- SECURITY DEFINER implementations current_user is the extension's owner.
CREATE FUNCTION @extschema@.actor() RETURNS text
    AS 'MODULE_PATHNAME', 'hm_actor' LANGUAGE C STABLE;

-- Partitioned by the event's time, one partition per UTC month, so that old
-- history leaves by DETACH (detach_history()) instead of a DELETE; the
-- months are made ahead by create_history_partitions() (81_history.sql,
-- doc/history_partitions.md).  `at` is the key: it is the lifecycle's time
-- (restore and the invariants reason in it), and as deployed it is the
-- writing transaction's now(), so a month's partition stops growing when
-- the month ends.  An event whose month has no partition (none made yet, a
-- simulated or backdated time) lands in the default partition, so a write
-- never fails for want of one; the next maintenance run moves it out.
--
-- No index or key on the parent: each partition has its own primary key
-- (event_id, at) and index (handle, event_id).  A partitioned index would
-- be a member of the extension that CREATE EXTENSION makes at a restore
-- before pg_dump attaches the partitions made at run time, and attaching
-- makes each partition's index at once, so pg_dump's own ADD CONSTRAINT
-- and CREATE INDEX for them then fail.
CREATE TABLE @extschema@.handle_events (
    event_id bigint GENERATED ALWAYS AS IDENTITY,
    handle @extschema@.handle NOT NULL,
    from_state text,
    to_state text NOT NULL,
    at timestamptz NOT NULL,
    account_id bigint,
    actor text NOT NULL DEFAULT @extschema@.actor(),
    reason text NOT NULL
) PARTITION BY RANGE (at);
COMMENT ON TABLE @extschema@.handle_events IS 'append-only history of every state change';
CREATE TABLE @extschema@.handle_events_default PARTITION OF @extschema@.handle_events DEFAULT;
ALTER TABLE @extschema@.handle_events_default
    ADD CONSTRAINT handle_events_default_pkey PRIMARY KEY (event_id, at);
CREATE INDEX handle_events_default_handle ON @extschema@.handle_events_default (handle, event_id);
COMMENT ON TABLE @extschema@.handle_events_default IS
    'the events of months without a partition of their own, until create_history_partitions() moves them';

-- History detached by detach_history(), one row per partition: what
-- check_invariants() knows was archived, and what the DBA dumps and drops.
CREATE TABLE @extschema@.history_archive (
    partition text PRIMARY KEY,
    range_from timestamptz NOT NULL,
    range_to timestamptz NOT NULL,
    events bigint NOT NULL,
    first_event_id bigint,
    last_event_id bigint,
    -- handles with an event left in the history that is older (by
    -- event_id) than one of theirs detached here: check_invariants() does
    -- not compare them with their last event left, which is not their last
    out_of_order @extschema@.handle[] NOT NULL,
    detached_at timestamptz NOT NULL,
    actor text NOT NULL DEFAULT @extschema@.actor()
);
COMMENT ON TABLE @extschema@.history_archive IS
    'partitions of handle_events detached by detach_history(): their range, their events, when and by whom';

CREATE TABLE @extschema@.outbox (
    message_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    account_id bigint,
    handle @extschema@.handle NOT NULL,
    at timestamptz NOT NULL,
    detail text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- the writing transaction: the delivery order (74_outbox_consumers.sql);
    -- last, where the update from 1.0 adds it
    writer_xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    CONSTRAINT outbox_row_rules CHECK (@extschema@.outbox_row_rules(kind))
);
COMMENT ON CONSTRAINT outbox_row_rules ON @extschema@.outbox IS
    'kind is inactivity_notice, released, restored, registered, held, hold_released, sold, '
    'bought, handle_sent, handle_received, outbid, auction_ended, offer_received or offer_ended '
    '(src/core/row_rules.c)';
COMMENT ON TABLE @extschema@.outbox IS
    'notifications for the application to deliver; read with outbox_after(), woken by NOTIFY handle_market';

CREATE TABLE @extschema@.release_runs (
    run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    as_of timestamptz NOT NULL,
    dry_run boolean NOT NULL,
    batch_size integer NOT NULL,
    resumed_run_id bigint REFERENCES @extschema@.release_runs,
    last_handle @extschema@.handle,
    batches integer NOT NULL DEFAULT 0,
    examined bigint NOT NULL DEFAULT 0,
    noticed bigint NOT NULL DEFAULT 0,
    released bigint NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    status text NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'finished', 'interrupted'))
);
COMMENT ON TABLE @extschema@.release_runs IS 'one row per release_dormant run, updated as each batch commits';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.policy', 'WHERE version > 1');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.accounts', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.handles', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.reserved', $$WHERE pattern NOT IN ('twitter', 'admin')$$);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.handle_events', '');
-- the parent has no rows of its own (pg_dump writes a partition's rows as
-- that partition's); the default partition is the extension's, so its rows
-- are dumped as a configuration table's; the monthly partitions are made at
-- run time, belong to no extension, and are dumped as any table is.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.handle_events_default', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.history_archive', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outbox', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.release_runs', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.handle_events_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outbox_message_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.release_runs_run_id_seq', '');
