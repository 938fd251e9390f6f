-- src/sql/77_market.sql: listings, the atomic sale, the transfer of a handle,
-- and the invariants an auditor checks.  The implementations are C
-- (src/market.c); each API function is the gate in front of one.

CREATE FUNCTION @extschema@._list_handle(p_candidate text, p_seller_id bigint,
                                         p_price_cents bigint, p_as_of timestamptz)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_list_handle'
    LANGUAGE C SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp;
CREATE FUNCTION @extschema@.list_handle(candidate text, seller_id bigint, price_cents bigint,
                                        as_of timestamptz DEFAULT now())
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.list_handle(text, bigint, bigint, timestamptz) IS
    'the owner offers a handle at a fixed price (a new price replaces the old one)';

CREATE FUNCTION @extschema@._unlist_handle(p_candidate text, p_seller_id bigint,
                                           p_as_of timestamptz)
    RETURNS void AS 'MODULE_PATHNAME', 'hm_unlist_handle'
    LANGUAGE C SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp;
CREATE FUNCTION @extschema@.unlist_handle(candidate text, seller_id bigint,
                                          as_of timestamptz DEFAULT now())
    RETURNS void AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.unlist_handle(text, bigint, timestamptz) IS
    'the owner withdraws a listing';

CREATE FUNCTION @extschema@._buy(p_candidate text, p_buyer_id bigint, p_max_price_cents bigint,
                                 p_idempotency_key text, p_as_of timestamptz)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_buy'
    LANGUAGE C SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp;
CREATE FUNCTION @extschema@.buy(candidate text, buyer_id bigint, max_price_cents bigint,
                                idempotency_key text, as_of timestamptz DEFAULT now())
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.buy(text, bigint, bigint, text, timestamptz) IS
    'buys a handle from the platform or from its owner''s listing, atomically; returns the transfer id; idempotent';

CREATE FUNCTION @extschema@._transfer_handle(p_candidate text, p_from_id bigint, p_to_id bigint,
                                             p_idempotency_key text, p_as_of timestamptz)
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_transfer_handle'
    LANGUAGE C SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp;
CREATE FUNCTION @extschema@.transfer_handle(candidate text, from_id bigint, to_id bigint,
                                            idempotency_key text, as_of timestamptz DEFAULT now())
    RETURNS bigint AS 'MODULE_PATHNAME', 'hm_gate' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.transfer_handle(text, bigint, bigint, text, timestamptz) IS
    'gives a handle to another user without money, under the same rules as a sale; idempotent';

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
     WHERE t.kind <> 'handle_transfer'
       AND (SELECT count(*) FROM @extschema@.entries e WHERE e.transfer_id = t.transfer_id) < 2
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
    SELECT format('handle %s is %s but has no owner', h.handle, h.state)
      FROM @extschema@.handles h
     WHERE h.state <> 'released'
       AND NOT EXISTS (SELECT FROM @extschema@.accounts a WHERE a.account_id = h.owner_id)
    UNION ALL
    SELECT format('handle %s is %s, but its history ends in %s', h.handle,
                  CASE WHEN h.hold_reason IS NOT NULL THEN 'held' ELSE h.state END,
                  coalesce(last.to_state, 'nothing'))
      FROM @extschema@.handles h
      LEFT JOIN LATERAL (SELECT ev.to_state FROM @extschema@.handle_events ev
                          WHERE ev.handle = h.handle ORDER BY ev.event_id DESC LIMIT 1) last ON true
     WHERE last.to_state IS DISTINCT FROM
           CASE WHEN h.hold_reason IS NOT NULL THEN 'held' ELSE h.state END;
END;
COMMENT ON FUNCTION @extschema@.check_invariants() IS
    'one line per violation of the ledger''s and the registry''s invariants; no rows when all hold';
