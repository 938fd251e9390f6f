-- src/sql/79_invariants.sql: what an auditor checks: the books, the escrow,
-- the auctions and the registry agree.

-- One line per violation; no rows when the books and the registry agree.
CREATE FUNCTION @extschema@.check_invariants() RETURNS SETOF text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, @extschema@, pg_temp
BEGIN ATOMIC
    SELECT format('transfer %s: its entries sum to %s cents, not 0', e.transfer_id, sum(e.amount))
      FROM @extschema@.entries e GROUP BY e.transfer_id HAVING sum(e.amount) <> 0
    UNION ALL
    SELECT format('transfer %s (%s) moves money but has %s entries', t.transfer_id, t.kind,
                  (SELECT count(*) FROM @extschema@.entries e WHERE e.transfer_id = t.transfer_id))
      FROM @extschema@.transfers t
     WHERE t.kind NOT IN ('handle_transfer', 'hold', 'hold_void')
       AND (SELECT count(*) FROM @extschema@.entries e WHERE e.transfer_id = t.transfer_id) < 2
    UNION ALL
    SELECT format('transfer %s (%s) only moves held money but has entries', t.transfer_id, t.kind)
      FROM @extschema@.transfers t
     WHERE t.kind IN ('handle_transfer', 'hold', 'hold_void')
       AND EXISTS (SELECT FROM @extschema@.entries e WHERE e.transfer_id = t.transfer_id)
    UNION ALL
    SELECT format('entry %s belongs to no transfer', e.entry_id)
      FROM @extschema@.entries e
     WHERE NOT EXISTS (SELECT FROM @extschema@.transfers t WHERE t.transfer_id = e.transfer_id)
    UNION ALL
    SELECT format('entry %s is on ledger account %s, which does not exist', e.entry_id, e.ledger_account_id)
      FROM @extschema@.entries e
     WHERE NOT EXISTS (SELECT FROM @extschema@.ledger_accounts l
                        WHERE l.ledger_account_id = e.ledger_account_id)
    UNION ALL
    SELECT format('wallet %s of account %s: balance %s cents, but its entries sum to %s',
                  l.ledger_account_id, l.account_id, l.balance, coalesce(s.total, 0))
      FROM @extschema@.ledger_accounts l
      LEFT JOIN (SELECT e.ledger_account_id, sum(e.amount) AS total
                   FROM @extschema@.entries e GROUP BY e.ledger_account_id) s
             ON s.ledger_account_id = l.ledger_account_id
     WHERE l.kind = 'wallet' AND l.balance IS DISTINCT FROM coalesce(s.total, 0)
    UNION ALL
    SELECT format('wallet %s of account %s: balance %s cents, held %s: negative or overdrawn',
                  l.ledger_account_id, l.account_id, l.balance, l.held)
      FROM @extschema@.ledger_accounts l
     WHERE l.kind = 'wallet' AND (l.held < 0 OR l.balance < l.held)
    UNION ALL
    SELECT format('handle %s runs under policy version %s, which does not exist', h.handle,
                  h.policy_version)
      FROM @extschema@.handles h
     WHERE NOT EXISTS (SELECT FROM @extschema@.policy p WHERE p.version = h.policy_version)
    UNION ALL
    SELECT format('handle %s is %s but has no owner', h.handle, h.state)
      FROM @extschema@.handles h
     WHERE h.state <> 'released'
       AND NOT EXISTS (SELECT FROM @extschema@.accounts a WHERE a.account_id = h.owner_id)
    UNION ALL
    -- A handle against its last event, one index probe each
    -- (handle_events_handle).  Every event records the account that owns the
    -- handle once the event is done, so the last one names the owner:
    -- registered (a registration, a re-registration after release, a
    -- restore; buy(), transfer_handle() and the sale that ends an auction or
    -- accepts an offer, src/market.c) records the new owner; at_risk and its
    -- reverts (the sweep, touch()) the owner; held and hold_released the
    -- owner, or for a released handle the account it was released from; and
    -- released (the sweep) that account.  So a registered or at-risk handle
    -- is owned by the account of its last event, and a released one by
    -- nobody, its previous owner being that account.  A handle without a
    -- history is reported once, by the state line.
    --
    -- History detach_history() archived (history_archive) is not there to
    -- compare with.  A handle with no event left is checked instead against
    -- where the archive ends: every time it keeps (registered_at,
    -- notice_at, released_at, held_at) is the time of one of its events, so
    -- all of them come before the archive's end, or an event after it is
    -- missing.  A handle that had an event archived after (by event_id) one
    -- that is left (history_archive.out_of_order: an event's time is its
    -- transaction's start, and a transaction that waited for the handle's
    -- row across the cut writes after one that started later) is not
    -- compared until it has an event newer than the archived ones.
    SELECT m.line
      FROM @extschema@.handles h
     CROSS JOIN (SELECT max(a.range_to) AS archived_before FROM @extschema@.history_archive a) arc
      LEFT JOIN (SELECT o.handle, max(a.last_event_id) AS archived_id
                   FROM @extschema@.history_archive a, unnest(a.out_of_order) o(handle)
                  GROUP BY o.handle) ooo ON ooo.handle = h.handle
      LEFT JOIN LATERAL (SELECT ev.event_id, ev.to_state, ev.account_id FROM @extschema@.handle_events ev
                          WHERE ev.handle = h.handle ORDER BY ev.event_id DESC LIMIT 1) last ON true
     CROSS JOIN LATERAL (SELECT coalesce(last.event_id < ooo.archived_id, false)
                                OR (last.event_id IS NULL
                                    AND coalesce(greatest(h.registered_at, h.notice_at, h.released_at, h.held_at)
                                                 < arc.archived_before, false)) AS unknown) k
     CROSS JOIN LATERAL (VALUES
           (CASE WHEN k.unknown THEN NULL
                 WHEN last.to_state IS DISTINCT FROM
                      CASE WHEN h.hold_reason IS NOT NULL THEN 'held' ELSE h.state END
                 THEN format('handle %s is %s, but its history ends in %s', h.handle,
                             CASE WHEN h.hold_reason IS NOT NULL THEN 'held' ELSE h.state END,
                             coalesce(last.to_state, 'nothing')) END),
           (CASE WHEN last.to_state IS NOT NULL AND NOT k.unknown
                  AND h.owner_id IS DISTINCT FROM
                      CASE WHEN h.state <> 'released' THEN last.account_id END
                 THEN format('handle %s is %s and owned by %s, but its last event (%s) records account %s',
                             h.handle, h.state, coalesce('account ' || h.owner_id, 'nobody'),
                             last.to_state, coalesce(last.account_id::text, 'none')) END),
           (CASE WHEN last.to_state IS NOT NULL AND NOT k.unknown AND h.state = 'released'
                  AND h.previous_owner_id IS DISTINCT FROM last.account_id
                 THEN format('handle %s was released from %s, but its last event (%s) records account %s',
                             h.handle, coalesce('account ' || h.previous_owner_id, 'nobody'),
                             last.to_state, coalesce(last.account_id::text, 'none')) END)
           ) m(line)
     WHERE m.line IS NOT NULL
    UNION ALL
    -- Each transfer that moves a handle (a purchase, a handle_transfer, the
    -- hold_post of an auction or an accepted offer) is recorded by exactly
    -- one event of that handle: the change of owner, to_state registered,
    -- whose reason ends in "(transfer N)" (src/market.c).  One pass over
    -- each table, hashed: a sale recorded twice, a sale not recorded, and an
    -- event naming a transfer that did not move its handle.  A transfer
    -- older than archived history may have had its event archived.
    SELECT CASE WHEN s.transfer_id IS NULL
                THEN format('transfer %s (%s) moved handle %s, but its history does not record it',
                            t.transfer_id, t.kind, t.handle)
                WHEN t.transfer_id IS NULL OR t.handle IS DISTINCT FROM s.handle
                THEN format('handle %s: its history records transfer %s, which moved %s', s.handle,
                            s.transfer_id, coalesce('handle ' || t.handle, 'no handle'))
                ELSE format('handle %s: transfer %s (%s) is recorded by %s events, not 1',
                            s.handle, s.transfer_id, t.kind, s.events) END
      FROM (SELECT substring(ev.reason FROM '\(transfer ([0-9]+)\)$')::bigint AS transfer_id,
                   ev.handle, count(*) AS events
              FROM @extschema@.handle_events ev
             WHERE ev.to_state = 'registered' AND ev.reason ~ '\(transfer [0-9]+\)$'
             GROUP BY 1, 2) s
      FULL JOIN (SELECT t.transfer_id, t.kind, t.handle, t.at FROM @extschema@.transfers t
                  WHERE t.kind IN ('purchase', 'handle_transfer', 'hold_post')) t
             ON t.transfer_id = s.transfer_id
     WHERE CASE WHEN s.transfer_id IS NULL
                THEN NOT coalesce(t.at < (SELECT max(a.range_to) FROM @extschema@.history_archive a), false)
                ELSE t.transfer_id IS NULL OR t.handle IS DISTINCT FROM s.handle OR s.events <> 1 END
    UNION ALL
    SELECT format('wallet %s of account %s holds %s cents, but its pending holds sum to %s',
                  l.ledger_account_id, l.account_id, l.held, coalesce(s.total, 0))
      FROM @extschema@.ledger_accounts l
      LEFT JOIN (SELECT ho.ledger_account_id, sum(ho.amount) AS total FROM @extschema@.holds ho
                  WHERE ho.state = 'pending' GROUP BY ho.ledger_account_id) s
             ON s.ledger_account_id = l.ledger_account_id
     WHERE l.kind = 'wallet' AND l.held IS DISTINCT FROM coalesce(s.total, 0)
    UNION ALL
    SELECT format('hold %s is %s, but its %s', ho.hold_id, ho.state,
                  coalesce('bid is ' || b.state, 'offer is ' || o.state, 'bid or offer is missing'))
      FROM @extschema@.holds ho
      LEFT JOIN @extschema@.bids b ON b.bid_id = ho.hold_id
      LEFT JOIN @extschema@.offers o ON o.offer_id = ho.hold_id
     WHERE (ho.state = 'pending') <> (coalesce(b.state = 'top', false) OR coalesce(o.state = 'open', false))
        OR (ho.state = 'posted') <> (coalesce(b.state = 'won', false) OR coalesce(o.state = 'accepted', false))
        OR (b.bid_id IS NULL AND o.offer_id IS NULL)
    UNION ALL
    SELECT format('auction %s has %s live top bids', a.auction_id,
                  (SELECT count(*) FROM @extschema@.bids b WHERE b.auction_id = a.auction_id AND b.state = 'top'))
      FROM @extschema@.auctions a
     WHERE (SELECT count(*) FROM @extschema@.bids b WHERE b.auction_id = a.auction_id AND b.state = 'top')
           <> CASE WHEN a.state = 'open' AND a.top_bid_id IS NOT NULL THEN 1 ELSE 0 END
        OR (a.state = 'open' AND a.top_bid_id IS NOT NULL AND NOT EXISTS (
               SELECT FROM @extschema@.bids b WHERE b.bid_id = a.top_bid_id AND b.state = 'top'))
    UNION ALL
    SELECT format('handle %s is in open auction %s and listed at %s cents', h.handle, a.auction_id,
                  h.list_price_cents)
      FROM @extschema@.auctions a JOIN @extschema@.handles h ON h.handle = a.handle
     WHERE a.state = 'open' AND h.list_price_cents IS NOT NULL;
END;
COMMENT ON FUNCTION @extschema@.check_invariants() IS
    'one line per violation of the ledger''s and the registry''s invariants; no rows when all hold';
