-- src/sql/95_comments.sql: a comment for every public function that did not
-- have one where it is defined.  Last in the script, so that every function
-- exists; test/pgtap/comments.sql checks that none is left without.  Each
-- says what the function is for and what a caller must know (who may call
-- it, what it refuses, what it returns when there is nothing).

-- the handle type: I/O, casts, comparisons (also with text), min/max, hashing (10, 20)
COMMENT ON FUNCTION @extschema@.handle_in(cstring) IS
    'input function of the handle type: the canonical form of the text, or 22P02 (with the reason in the detail) when it is no handle';
COMMENT ON FUNCTION @extschema@.handle_out(@extschema@.handle) IS
    'output function of the handle type: the canonical form, without @';
COMMENT ON FUNCTION @extschema@.handle_recv(internal) IS
    'binary input function of the handle type: the text is canonicalized and checked as handle_in() does';
COMMENT ON FUNCTION @extschema@.handle_send(@extschema@.handle) IS
    'binary output function of the handle type: the canonical form as UTF-8 text';
COMMENT ON FUNCTION @extschema@.handle(text) IS
    'the cast from text: the canonical handle, or 22P02 when the text is no handle; never implicit, since it can fail';
COMMENT ON FUNCTION @extschema@.handle_to_text(@extschema@.handle) IS
    'the assignment cast to text: the canonical form (text functions take h::text; no cast is implicit, so a handle never compares as text)';
COMMENT ON FUNCTION @extschema@.handle_eq(@extschema@.handle, @extschema@.handle) IS
    'the = operator: equal canonical forms, byte for byte (look-alikes are not equal; compare confusable_key() for that)';
COMMENT ON FUNCTION @extschema@.handle_ne(@extschema@.handle, @extschema@.handle) IS
    'the <> operator: different canonical forms';
COMMENT ON FUNCTION @extschema@.handle_lt(@extschema@.handle, @extschema@.handle) IS
    'the < operator: bytewise order of the canonical forms, not a collation';
COMMENT ON FUNCTION @extschema@.handle_le(@extschema@.handle, @extschema@.handle) IS
    'the <= operator: bytewise order of the canonical forms, not a collation';
COMMENT ON FUNCTION @extschema@.handle_gt(@extschema@.handle, @extschema@.handle) IS
    'the > operator: bytewise order of the canonical forms, not a collation';
COMMENT ON FUNCTION @extschema@.handle_ge(@extschema@.handle, @extschema@.handle) IS
    'the >= operator: bytewise order of the canonical forms, not a collation';
COMMENT ON FUNCTION @extschema@.handle_cmp(@extschema@.handle, @extschema@.handle) IS
    'btree support: -1, 0 or 1 by the bytewise order of the canonical forms';
COMMENT ON FUNCTION @extschema@.handle_hash(@extschema@.handle) IS
    'hash support: the hash of the canonical form, so equal handles hash alike';
COMMENT ON FUNCTION @extschema@.handle_hash_extended(@extschema@.handle, bigint) IS
    'hash support: the 64-bit seeded hash of the canonical form';
COMMENT ON FUNCTION @extschema@.handle_sortsupport(internal) IS
    'btree support: the bytewise comparator for sorts, called by the planner, not by users';
COMMENT ON FUNCTION @extschema@.handle_larger(@extschema@.handle, @extschema@.handle) IS
    'the later of two handles in bytewise order of their canonical forms: the state and combine function of max(handle)';
COMMENT ON FUNCTION @extschema@.handle_smaller(@extschema@.handle, @extschema@.handle) IS
    'the earlier of two handles in bytewise order of their canonical forms: the state and combine function of min(handle)';
COMMENT ON AGGREGATE @extschema@.max(@extschema@.handle) IS
    'the greatest handle in bytewise order of the canonical forms (not a collation); a btree index on the column serves it';
COMMENT ON AGGREGATE @extschema@.min(@extschema@.handle) IS
    'the least handle in bytewise order of the canonical forms (not a collation); a btree index on the column serves it';
COMMENT ON FUNCTION @extschema@.handle_text_support(internal) IS
    'planner support of the handle-text comparisons: rewrites h OP t into h OP handle(t), so handle indexes serve it; called by the planner, not by users';
COMMENT ON FUNCTION @extschema@.handle_eq_text(@extschema@.handle, text) IS
    'the handle = text operator: compares the handle with the text canonicalized as handle input (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.text_eq_handle(text, @extschema@.handle) IS
    'the text = handle operator: compares the text canonicalized as handle input with the handle (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.handle_ne_text(@extschema@.handle, text) IS
    'the handle <> text operator: compares the handle with the text canonicalized as handle input (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.text_ne_handle(text, @extschema@.handle) IS
    'the text <> handle operator: compares the text canonicalized as handle input with the handle (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.handle_lt_text(@extschema@.handle, text) IS
    'the handle < text operator: compares the handle with the text canonicalized as handle input, in bytewise order of the canonical forms (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.text_lt_handle(text, @extschema@.handle) IS
    'the text < handle operator: compares the text canonicalized as handle input with the handle, in bytewise order of the canonical forms (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.handle_le_text(@extschema@.handle, text) IS
    'the handle <= text operator: compares the handle with the text canonicalized as handle input, in bytewise order of the canonical forms (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.text_le_handle(text, @extschema@.handle) IS
    'the text <= handle operator: compares the text canonicalized as handle input with the handle, in bytewise order of the canonical forms (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.handle_gt_text(@extschema@.handle, text) IS
    'the handle > text operator: compares the handle with the text canonicalized as handle input, in bytewise order of the canonical forms (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.text_gt_handle(text, @extschema@.handle) IS
    'the text > handle operator: compares the text canonicalized as handle input with the handle, in bytewise order of the canonical forms (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.handle_ge_text(@extschema@.handle, text) IS
    'the handle >= text operator: compares the handle with the text canonicalized as handle input, in bytewise order of the canonical forms (text that is no handle: 22P02)';
COMMENT ON FUNCTION @extschema@.text_ge_handle(text, @extschema@.handle) IS
    'the text >= handle operator: compares the text canonicalized as handle input with the handle, in bytewise order of the canonical forms (text that is no handle: 22P02)';

-- Unicode versions (40)
COMMENT ON FUNCTION @extschema@.running_icu_version() IS
    'the ICU version this server''s library runs with';
COMMENT ON FUNCTION @extschema@.running_unicode_version() IS
    'the Unicode version of the ICU this server''s library runs with';
COMMENT ON FUNCTION @extschema@.recorded_unicode_versions() IS
    'the ICU and Unicode versions the stored confusable keys were computed with; a backend warns when they differ from the running ones';
COMMENT ON FUNCTION @extschema@.record_unicode_versions() IS
    'records the running ICU and Unicode versions, once the stored confusable keys have been recomputed under them; granted to nobody, so only the extension''s owner runs it';

-- policy and lifecycle arithmetic (50, 65, 71)
COMMENT ON FUNCTION @extschema@.policy_at(timestamptz) IS
    'the policy version in force at as_of: the one with the latest effective_from not after it';
COMMENT ON FUNCTION @extschema@.activity_status(timestamptz, timestamptz, interval) IS
    'active or inactive: whether last_active is more than inactive_after before as_of; the interval must have no month part (22023)';
COMMENT ON FUNCTION @extschema@.is_exempt(boolean, text, text, @extschema@.policy) IS
    'whether an account (verified, subscription, status) is exempt from release under a policy version; used by the release sweep';
COMMENT ON FUNCTION @extschema@.handle_phase(@extschema@.handles, timestamptz) IS
    'the phase of a released handle at as_of (redemption, quarantine, premium, available) and when it ends, under the policy version it was released under';
COMMENT ON FUNCTION @extschema@.released_at_plus(@extschema@.handles) IS
    'when the redemption of a released handle ends, under the policy version it was released under; NULL unless released';
COMMENT ON FUNCTION @extschema@.utc_time(timestamptz) IS
    'a time as messages write it: YYYY-MM-DD HH24:MI UTC, whatever the session''s TimeZone or DateStyle';
COMMENT ON FUNCTION @extschema@.utc_date(timestamptz) IS
    'a date as messages write it: YYYY-MM-DD in UTC, whatever the session''s TimeZone or DateStyle';
COMMENT ON FUNCTION @extschema@.reservation_for(text) IS
    'the reservation a confusable key falls under (a reserved handle with that key or a forbidden substring of it), or NULL';

-- the guard, history and row rules (52, 55, 60, 70)
COMMENT ON FUNCTION @extschema@.guard() IS
    'trigger: refuses (HM015) every write to a state table outside an API function, and all but inserts to a history table; session_replication_role = replica (a restore) turns it off';
COMMENT ON FUNCTION @extschema@.actor() IS
    'the role that called the API function now running (not the extension''s owner, which runs its implementation)';
COMMENT ON FUNCTION @extschema@.outbox_notify() IS
    'trigger: one NOTIFY handle_market per statement that writes the outbox, unless handle_market.outbox_notify is off';
COMMENT ON FUNCTION @extschema@.policy_changed() IS
    'trigger: a new policy version makes every backend drop its cached copy of the policy';
COMMENT ON FUNCTION @extschema@.handles_row_rules(@extschema@.handle, text, text, bigint, timestamptz, timestamptz, bigint, timestamptz, text, timestamptz) IS
    'the CHECK of handles: true, or check_violation naming the rule the row breaks (see the constraint''s comment)';
COMMENT ON FUNCTION @extschema@.ledger_accounts_row_rules(text, bigint, integer, bigint, bigint) IS
    'the CHECK of ledger_accounts: true, or check_violation naming the rule the row breaks (see the constraint''s comment)';
COMMENT ON FUNCTION @extschema@.transfers_row_rules(text, text) IS
    'the CHECK of transfers: true, or check_violation naming the rule the row breaks (see the constraint''s comment)';
COMMENT ON FUNCTION @extschema@.outbox_row_rules(text) IS
    'the CHECK of outbox: true, or check_violation naming the rule the row breaks (see the constraint''s comment)';

-- accounts and handles (70, 71, 73)
COMMENT ON FUNCTION @extschema@.set_account_status(bigint, text) IS
    'sets an account''s status (active, suspended, deactivated, memorialized), which decides exemption from release; HM011 for an unknown account';
COMMENT ON FUNCTION @extschema@.release_hold(text, timestamptz) IS
    'ends a hold: the handle moves again, and its notice and release clocks resume, shifted by the time it was held; HM008 unless held';
COMMENT ON FUNCTION @extschema@.unreserve_handle(text) IS
    'removes a reservation or forbidden substring; false when there was none';

-- pricing and money (75, 76, 78)
COMMENT ON FUNCTION @extschema@.pricing_at(timestamptz) IS
    'the pricing version in force at as_of: the one with the latest effective_from not after it';
COMMENT ON FUNCTION @extschema@.commission_bps(text, timestamptz) IS
    'the commission, in basis points, on a sale by a seller with this subscription, under the pricing version in force at as_of';
COMMENT ON FUNCTION @extschema@.dollars(bigint) IS
    'cents as messages write them: "$50,000.00", "-$1.50"';
COMMENT ON FUNCTION @extschema@.ledger_slots() IS
    'how many fee and payments slots the platform''s side of the ledger is split into (a transfer uses slot transfer_id % ledger_slots())';
COMMENT ON FUNCTION @extschema@.ledger_balance(bigint) IS
    'the balance of any ledger account, wallet or platform slot, as the sum of its entries (a full sum: for audits, not for the hot path)';
COMMENT ON FUNCTION @extschema@.entries_balanced() IS
    'deferred constraint trigger: at commit, the entries of each transfer written in the transaction sum to zero, or check_violation';
COMMENT ON FUNCTION @extschema@.minimum_bid(bigint, bigint) IS
    'the least the next bid may be: the reserve when there is no top bid, else the top bid plus the larger of $1 and 5% (rounded up to the cent)';
COMMENT ON FUNCTION @extschema@.settle_batch(timestamptz, integer) IS
    'one batch of settle_auctions(): settles up to batch_size auctions that ended by as_of, or else voids up to batch_size expired offers; zero and zero when nothing is left';
COMMENT ON PROCEDURE @extschema@.settle_auctions(timestamptz, integer, interval) IS
    'settles every auction that has ended and voids every expired offer, in batches that each commit; one run at a time, and a rerun finds only what is left';

-- the release sweep (80)
COMMENT ON FUNCTION @extschema@.activity_lock_shared() IS
    'takes the activity lock shared until the transaction ends, as every write of activity, exemption or status does before its first row; granted to nobody';
COMMENT ON FUNCTION @extschema@.activity_lock_exclusive() IS
    'takes the activity lock exclusively until the transaction ends, as each release batch does before it reads; granted to nobody';
COMMENT ON FUNCTION @extschema@.release_decision(text, timestamptz, interval, interval, timestamptz, boolean, interval, timestamptz) IS
    'what the release sweep does to one live, unheld handle at as_of: notice, revert, release or NULL (nothing)';
COMMENT ON FUNCTION @extschema@.release_decisions(@extschema@.handle, @extschema@.handle, timestamptz, @extschema@.policy) IS
    'what the release sweep would do to each live, unheld handle of the key range [lo, hi] at as_of under a policy version';
COMMENT ON FUNCTION @extschema@.start_release_run(timestamptz, integer, boolean) IS
    'starts a run of the release sweep (release_dormant() by hand) and takes the release lock; resumes an interrupted run with the same as_of and dry_run; HM016 while another run holds the lock';
COMMENT ON FUNCTION @extschema@.release_batch(bigint) IS
    'the next batch of a running release run: notices, releases and gives back handles in key order; commit after each, and stop when done; HM008 unless the run is running';
COMMENT ON FUNCTION @extschema@.finish_release_run(bigint) IS
    'marks a release run finished and drops the release lock; returns the run''s row, NULL when it was not running';

-- keyed calls and run locks (77, 78, 80)
COMMENT ON FUNCTION @extschema@.cancel_auction(text, bigint, timestamptz, text) IS
    'the seller cancels an auction that has no bids yet; with a key, a retry after a lost answer succeeds again';
COMMENT ON FUNCTION @extschema@.cancel_offer(bigint, bigint, timestamptz, text) IS
    'the buyer withdraws an open offer and its held money comes back; with a key, a retry after a lost answer succeeds again';
COMMENT ON FUNCTION @extschema@.release_lock_try() IS
    'for a DBA driving release batches by hand: takes the release run lock for the session (false when another run holds it); no other SQL function can take it';
COMMENT ON FUNCTION @extschema@.release_lock_release() IS
    'gives back the release run lock this session holds (false when it held none); a failed transaction gives it back too';
COMMENT ON FUNCTION @extschema@.settle_lock_try() IS
    'takes the settlement run lock for the session (false when another run holds it), as settle_auctions() does; no other SQL function can take it';
COMMENT ON FUNCTION @extschema@.settle_lock_release() IS
    'gives back the settlement run lock this session holds (false when it held none)';
