/*
 * src/market.c
 *	  The market: fixed-price listings, the atomic sale and the transfer of a
 *	  handle between users.
 *
 * Each function is the C implementation behind a gated SQL function (see
 * guard.c) and works through saved SPI plans.  A sale is one transaction:
 * claim the idempotency key, lock the handle, price it at the time of the
 * call, lock the wallets in id order, move the money, move the handle, and
 * write its history and notices.  Any refusal raises before anything is
 * written, or aborts what was, so a refused buyer pays nothing.
 *
 * Lock order, shared with the rest of the extension: doc/architecture.md
 * ("Lock order"): accounts, the key's claim, the handle, then every wallet
 * in one statement in ascending id order.
 */
#include "handle_market.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "escrow.h"
#include "ledger.h"
#include "price.h"
#include "refuse.h"
#include "spi_plan.h"

/* The handle a call is about, as it stands once it is locked. */
typedef struct LockedHandle
{
	char	   *handle;			/* canonical text */
	char	   *display;		/* as the caller typed it, without a leading @ */
	bool		exists;			/* a row in handles */
	char	   *state;			/* registered, at_risk, released */
	bool		has_owner;
	int64		owner_id;
	char	   *hold_reason;	/* NULL unless held */
	bool		has_locked_until;	/* a transfer lock, running or not */
	TimestampTz locked_until;
	bool		listed;
	int64		list_price;
} LockedHandle;

/*
 * The canonical form of candidate under the profile in force at as_of
 * (HM004), and a copy of that policy version for the statements to come:
 * their plans take its values as parameters, so they neither read the
 * policy table nor sort its versions on every call.
 */
static char *
canonical_handle(FunctionCallInfo fcinfo, const char *candidate, TimestampTz as_of,
				 PolicyVersion *pol)
{
	hm_policy_in_force(hm_function_namespace(fcinfo), as_of, pol);
	return hm_canonical_handle(cstring_to_text(candidate), pol);
}

static HmPlan handle_lock = HM_PLAN(
	"SELECT state, owner_id, hold_reason, transfer_locked_until, list_price_cents "
	"  FROM handles WHERE handle = $1::handle FOR UPDATE",
	1, TEXTOID);

/* Locks the row of the handle (canonical form), if it has one. */
static LockedHandle
lock_handle(const char *candidate, const char *handle)
{
	LockedHandle h;
	Datum		v[1];
	bool		isnull;

	memset(&h, 0, sizeof(h));
	h.handle = pstrdup(handle);
	h.display = pstrdup(candidate[0] == '@' ? candidate + 1 : candidate);
	v[0] = CStringGetTextDatum(h.handle);
	if (hm_plan_run(&handle_lock, v, NULL) == 0)
		return h;
	h.exists = true;
	h.state = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	h.owner_id = DatumGetInt64(hm_result(0, 2, &isnull));
	h.has_owner = !isnull;
	h.hold_reason = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	h.locked_until = DatumGetTimestampTz(hm_result(0, 4, &isnull));
	h.has_locked_until = !isnull;
	h.list_price = DatumGetInt64(hm_result(0, 5, &isnull));
	h.listed = !isnull;
	return h;
}

/* The shared refusals (refuse.c), for a locked handle */
static void
refuse_held(const LockedHandle *h)
{
	hm_refuse_held(h->handle, h->hold_reason);
}

static void
refuse_locked(const LockedHandle *h, TimestampTz as_of)
{
	hm_refuse_transfer_locked(h->handle, h->has_locked_until, h->locked_until, as_of);
}

static void
require_owner(const LockedHandle *h, int64 account_id, const char *what)
{
	hm_require_owner(h->handle, h->exists && h->has_owner, h->owner_id, account_id, what);
}

static HmPlan event_insert = HM_PLAN(
	"WITH e AS (INSERT INTO handle_events (handle, from_state, to_state, at, account_id, reason) "
	"           VALUES ($1::handle, $2, 'registered', $3, $4, $5)) "
	"INSERT INTO outbox (kind, account_id, handle, at, detail) "
	"SELECT kind, account_id, $1::handle, $3, detail "
	"  FROM (VALUES ($6, $4, $7), ($8, $9, $10)) v(kind, account_id, detail) WHERE kind IS NOT NULL",
	10, TEXTOID, TEXTOID, TIMESTAMPTZOID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID,
	TEXTOID);

/*
 * The history of a change of owner, and a notice to each side: to_id is the
 * new owner; from_id (when has_from) the one who gave it up.
 */
static void
record_new_owner(const LockedHandle *h, const char *from_state, TimestampTz at,
				 int64 to_id, const char *reason,
				 const char *to_kind, const char *to_detail,
				 bool has_from, int64 from_id, const char *from_kind, const char *from_detail)
{
	Datum		v[10];
	char		nulls[10] = "          ";

	v[0] = CStringGetTextDatum(h->handle);
	if (from_state)
		v[1] = CStringGetTextDatum(from_state);
	else
		nulls[1] = 'n';
	v[2] = TimestampTzGetDatum(at);
	v[3] = Int64GetDatum(to_id);
	v[4] = CStringGetTextDatum(reason);
	v[5] = CStringGetTextDatum(to_kind);
	v[6] = CStringGetTextDatum(to_detail);
	if (has_from)
	{
		v[7] = CStringGetTextDatum(from_kind);
		v[8] = Int64GetDatum(from_id);
		v[9] = CStringGetTextDatum(from_detail);
	}
	else
		nulls[7] = nulls[8] = nulls[9] = 'n';
	hm_plan_run(&event_insert, v, nulls);
}

static HmPlan owner_change = HM_PLAN(
	"UPDATE handles h SET owner_id = $2, previous_owner_id = coalesce(h.owner_id, h.previous_owner_id), "
	"       state = 'registered', "
	"       display = $4, registered_at = $3, notice_at = NULL, released_at = NULL, "
	"       list_price_cents = NULL, listed_at = NULL, policy_version = $5, "
	"       transfer_locked_until = $3 + $6 "
	" WHERE h.handle = $1::handle",
	6, TEXTOID, INT8OID, TIMESTAMPTZOID, TEXTOID, INT4OID, INTERVALOID);
static HmPlan owner_first = HM_PLAN(
	"INSERT INTO handles (handle, display, owner_id, state, registered_at, policy_version, "
	"                     transfer_locked_until) "
	"VALUES ($1::handle, $4, $2, 'registered', $3, $5, $3 + $6) ON CONFLICT DO NOTHING",
	6, TEXTOID, INT8OID, TIMESTAMPTZOID, TEXTOID, INT4OID, INTERVALOID);

/*
 * Gives the handle to account_id and starts its transfer lock, under pol,
 * the policy version in force at the time.
 */
static void
set_owner(const LockedHandle *h, int64 account_id, TimestampTz at, const PolicyVersion *pol)
{
	Datum		v[6] = {CStringGetTextDatum(h->handle), Int64GetDatum(account_id),
		TimestampTzGetDatum(at), CStringGetTextDatum(h->display), Int32GetDatum(pol->version),
	IntervalPGetDatum(&pol->transfer_lock)};

	if (h->exists)
	{
		hm_plan_run(&owner_change, v, NULL);
		return;
	}
	/* a handle sold for the first time; a concurrent buyer may have won */
	if (hm_plan_run(&owner_first, v, NULL) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_HM_STATE),
				 errmsg("handle \"%s\" was sold to someone else meanwhile", h->handle),
				 errhint("lookup() shows its owner; nothing was charged.")));
}

/* What lock_sale_wallets() found */
typedef struct SaleWallets
{
	int64		wallet_a;		/* 0: account a has no wallet */
	int64		wallet_b;
	bool		offers;			/* open offers on the handle (true when unknown) */
	HmWalletState *locked;		/* every wallet locked, as it was read */
	int			nlocked;
} SaleWallets;

/*
 * Locks, in ledger account id order, every wallet a change of owner writes:
 * the buyer's and the seller's (those given), and those of everyone with an
 * open offer on the handle, whose offers the change voids.  Each path that
 * moves one handle locks them here, after the handle and before any wallet,
 * so no two of them can deadlock on wallets.  A settlement batch, which
 * makes many sales in one transaction, has locked the wallets of all of
 * them before the first (78d_settlement.sql, _settle_batch): here it only finds
 * them locked.  The two lists are one semi-join
 * on the wallets' unique account_id: an OR of them would be no index
 * condition, and every sale would scan every wallet.  No offer can be made
 * meanwhile: make_offer() shares the lock of the handle row, which the
 * caller holds.
 */
static HmPlan sale_wallets_lock = HM_PLAN(
	"WITH o AS (SELECT o.buyer_id FROM offers o WHERE o.handle = $2::handle AND o.state = 'open') "
	"SELECT l.ledger_account_id, l.account_id, EXISTS (SELECT FROM o), l.balance, l.held "
	"  FROM ledger_accounts l "
	" WHERE l.account_id IN (SELECT unnest($1) UNION SELECT o.buyer_id FROM o) "
	" ORDER BY l.ledger_account_id FOR NO KEY UPDATE OF l",
	2, INT8ARRAYOID, TEXTOID);
/* A handle without a row was never owned, so nobody made an offer on it */
static HmPlan wallets_lock_no_offers = HM_PLAN(
	"SELECT l.ledger_account_id, l.account_id, false, l.balance, l.held "
	"  FROM ledger_accounts l WHERE l.account_id = ANY ($1) "
	" ORDER BY l.ledger_account_id FOR NO KEY UPDATE",
	1, INT8ARRAYOID);
static HmPlan offers_void = HM_PLAN(
	"SELECT _void_offers($1::handle, $2, $3)",
	3, TEXTOID, TIMESTAMPTZOID, TEXTOID);

static SaleWallets
lock_sale_wallets(const LockedHandle *h, int64 a, int64 b)
{
	Datum		ids[2] = {Int64GetDatum(a), Int64GetDatum(b)};
	Datum		v[2];
	uint64		n;
	SaleWallets w = {0, 0, h->exists, NULL, 0};

	v[0] = PointerGetDatum(construct_array(ids, 2, INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
										   TYPALIGN_DOUBLE));
	v[1] = CStringGetTextDatum(h->handle);
	n = hm_plan_run(h->exists ? &sale_wallets_lock : &wallets_lock_no_offers, v, NULL);
	w.locked = palloc(sizeof(HmWalletState) * (n + 1));
	for (uint64 r = 0; r < n; r++)
	{
		int64		account = hm_result_int64(r, 2);
		bool		isnull;

		if (account == a)
			w.wallet_a = hm_result_int64(r, 1);
		if (account == b)
			w.wallet_b = hm_result_int64(r, 1);
		w.offers = DatumGetBool(hm_result(r, 3, &isnull));
		w.locked[w.nlocked++] = (HmWalletState) {hm_result_int64(r, 1), hm_result_int64(r, 4),
		hm_result_int64(r, 5)};
	}
	return w;
}

/* The offers made to the previous owner end with the change of owner. */
static void
void_offers(const SaleWallets *w, const char *handle, TimestampTz at, const char *why)
{
	Datum		v[3] = {CStringGetTextDatum(handle), TimestampTzGetDatum(at),
	CStringGetTextDatum(why)};

	/* most handles have none: no call into PL/pgSQL for them */
	if (w->offers)
		hm_plan_run(&offers_void, v, NULL);
}

static HmPlan buyer_activity = HM_PLAN(
	"SELECT last_active_at >= $2 - $3 FROM accounts WHERE account_id = $1",
	3, INT8OID, TIMESTAMPTZOID, INTERVALOID);
static HmPlan activity = HM_PLAN(
	"SELECT _mark_active($1, $2)",
	2, INT8OID, TIMESTAMPTZOID);

/*
 * HM011 unless the buyer's account exists; whether its activity is older
 * than the touch resolution of pol, so that buying must record it (as
 * touch() does, a write only then).
 */
static bool
buyer_needs_touch(int64 account_id, TimestampTz at, const PolicyVersion *pol)
{
	Datum		v[3] = {Int64GetDatum(account_id), TimestampTzGetDatum(at),
	IntervalPGetDatum(&pol->touch_resolution)};
	bool		isnull;
	bool		recent;

	if (hm_plan_run(&buyer_activity, v, NULL) == 0)
		hm_refuse_unknown_account(account_id);
	recent = DatumGetBool(hm_result(0, 1, &isnull));
	return isnull || !recent;
}

/* Records the buyer's activity (under the activity lock, _mark_active) */
static void
mark_active(int64 account_id, TimestampTz at)
{
	Datum		v[2] = {Int64GetDatum(account_id), TimestampTzGetDatum(at)};

	hm_plan_run(&activity, v, NULL);
}

PG_FUNCTION_INFO_V1(hm_buy);
Datum
hm_buy(PG_FUNCTION_ARGS)
{
	char	   *candidate;
	int64		buyer_id;
	int64		max_price;
	char	   *key;
	TimestampTz as_of;
	PolicyVersion pol;
	bool		needs_touch;
	char	   *handle;
	char	   *request;
	int64		transfer_id;
	LockedHandle h;
	HmQuote		q;
	int64		price;
	int64		fee;
	bool		platform;
	int64		seller_id;
	SaleWallets w;
	HmLeg		legs[3];
	int			nlegs = 0;
	const char *from_state;

	hm_require_args(fcinfo, 5);
	candidate = text_to_cstring(PG_GETARG_TEXT_PP(0));
	buyer_id = PG_GETARG_INT64(1);
	max_price = PG_GETARG_INT64(2);
	key = text_to_cstring(PG_GETARG_TEXT_PP(3));
	as_of = PG_GETARG_TIMESTAMPTZ(4);
	if (max_price < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_price_cents must not be negative"),
				 errdetail("It was %lld cents.", (long long) max_price)));

	SPI_connect();
	hm_policy_in_force(hm_function_namespace(fcinfo), as_of, &pol);
	needs_touch = buyer_needs_touch(buyer_id, as_of, &pol);
	handle = hm_canonical_handle(cstring_to_text(candidate), &pol);
	request = psprintf("buy(candidate => %s, buyer_id => %lld, max_price_cents => %lld)",
					   quote_literal_cstr(candidate), (long long) buyer_id, (long long) max_price);
	if (!hm_claim_transfer(buyer_id, key, "purchase", request, handle, as_of, &transfer_id))
	{
		SPI_finish();
		PG_RETURN_INT64(transfer_id);
	}

	/*
	 * Buying is activity (a dormant buyer's new handle must not be noticed
	 * the same day), and the activity lock comes before any row.
	 */
	if (needs_touch)
		mark_active(buyer_id, as_of);
	h = lock_handle(candidate, handle);
	if (h.exists)
	{
		refuse_held(&h);
		hm_refuse_own_handle(h.handle, h.has_owner, h.owner_id, buyer_id);
	}
	hm_refuse_auctioned(h.handle, true);

	/* priced now, on the locked row: under a snapshot taken after the lock */
	PushActiveSnapshot(GetTransactionSnapshot());
	hm_quote(hm_function_namespace(fcinfo), cstring_to_text(h.handle), as_of,
			 GetActiveSnapshot(), &q);
	PopActiveSnapshot();
	price = q.price;
	if (!q.has_price)
		ereport(ERROR,
				(errcode(ERRCODE_HM_STATE),
				 errmsg("handle \"%s\" is not for sale", h.handle),
				 errdetail("%s", q.reason)));
	/* a tier of 0: the platform gives it away, through register_handle */
	if (price == 0)
		ereport(ERROR,
				(errcode(ERRCODE_HM_STATE),
				 errmsg("handle \"%s\" is not for sale: it is free to register", h.handle),
				 errdetail("%s", q.reason),
				 errhint("Register it with handle_market.register_handle().")));
	if (h.exists && h.has_owner)
		refuse_locked(&h, as_of);
	fee = q.fee;
	platform = !q.has_seller;
	seller_id = platform ? buyer_id : q.seller_id;
	if (price > max_price)
		ereport(ERROR,
				(errcode(ERRCODE_HM_PRICE),
				 errmsg("the price of handle \"%s\" is above max_price_cents", h.handle),
				 errdetail("The price is %s (%s); the most this buyer would pay is %s.",
						   hm_cents_text(price), q.reason, hm_cents_text(max_price))));

	/* the money: the buyer pays, the seller gets the price less the fee */
	w = lock_sale_wallets(&h, buyer_id, seller_id);
	if (w.wallet_a == 0)
		hm_refuse_funds(0, price);
	legs[nlegs++] = (HmLeg) {w.wallet_a, -price, true, 0};
	if (platform)
		fee = price;
	else if (price - fee > 0)
		legs[nlegs++] = (HmLeg) {w.wallet_b ? w.wallet_b : hm_wallet(seller_id, true),
			price - fee, true, 0};
	if (fee > 0)
		legs[nlegs++] = (HmLeg) {hm_fee_account(transfer_id), fee, false, 0};
	hm_post_locked(transfer_id, legs, nlegs, w.locked, w.nlocked);

	/* the handle */
	/* the stored state (a released handle's phase is derived, not stored),
	 * so that each event starts where the previous one ended */
	from_state = h.exists ? h.state : NULL;
	set_owner(&h, buyer_id, as_of, &pol);
	void_offers(&w, h.handle, as_of, psprintf("@%s was sold", h.handle));
	if (platform)
		record_new_owner(&h, from_state, as_of, buyer_id,
						 psprintf("bought from the platform for %s, %s (transfer %lld)",
								  hm_cents_text(price), q.reason, (long long) transfer_id),
						 "bought", psprintf("You bought @%s for %s.", h.handle, hm_cents_text(price)),
						 false, 0, NULL, NULL);
	else
		record_new_owner(&h, from_state, as_of, buyer_id,
						 psprintf("bought from account %lld for %s (transfer %lld)",
								  (long long) seller_id, hm_cents_text(price), (long long) transfer_id),
						 "bought", psprintf("You bought @%s for %s.", h.handle, hm_cents_text(price)),
						 true, seller_id, "sold",
						 psprintf("You sold @%s for %s; %s commission, %s to your wallet.", h.handle,
								  hm_cents_text(price), hm_cents_text(fee), hm_cents_text(price - fee)));
	SPI_finish();
	PG_RETURN_INT64(transfer_id);
}

PG_FUNCTION_INFO_V1(hm_transfer_handle);
Datum
hm_transfer_handle(PG_FUNCTION_ARGS)
{
	char	   *candidate;
	int64		from_id;
	int64		to_id;
	char	   *key;
	TimestampTz as_of;
	char	   *handle;
	char	   *request;
	int64		transfer_id;
	LockedHandle h;
	PolicyVersion pol;
	SaleWallets w;

	hm_require_args(fcinfo, 5);
	candidate = text_to_cstring(PG_GETARG_TEXT_PP(0));
	from_id = PG_GETARG_INT64(1);
	to_id = PG_GETARG_INT64(2);
	key = text_to_cstring(PG_GETARG_TEXT_PP(3));
	as_of = PG_GETARG_TIMESTAMPTZ(4);

	SPI_connect();
	hm_require_account(from_id);
	hm_require_account(to_id);
	handle = canonical_handle(fcinfo, candidate, as_of, &pol);
	request = psprintf("transfer_handle(candidate => %s, from_id => %lld, to_id => %lld)",
					   quote_literal_cstr(candidate), (long long) from_id, (long long) to_id);
	if (!hm_claim_transfer(from_id, key, "handle_transfer", request, handle, as_of, &transfer_id))
	{
		SPI_finish();
		PG_RETURN_INT64(transfer_id);
	}
	if (from_id == to_id)
		ereport(ERROR,
				(errcode(ERRCODE_HM_STATE),
				 errmsg("a handle cannot be transferred to its own owner")));
	h = lock_handle(candidate, handle);
	require_owner(&h, from_id, "transfer");
	refuse_held(&h);
	refuse_locked(&h, as_of);
	hm_refuse_auctioned(h.handle, false);
	w = lock_sale_wallets(&h, from_id, to_id);
	set_owner(&h, to_id, as_of, &pol);
	void_offers(&w, h.handle, as_of, psprintf("@%s was given to another account", h.handle));
	record_new_owner(&h, h.state, as_of, to_id,
					 psprintf("transferred by account %lld (transfer %lld)",
							  (long long) from_id, (long long) transfer_id),
					 "handle_received", psprintf("@%s was transferred to you.", h.handle),
					 true, from_id, "handle_sent",
					 psprintf("You transferred @%s to account %lld.", h.handle, (long long) to_id));
	SPI_finish();
	PG_RETURN_INT64(transfer_id);
}

static HmPlan listing_set = HM_PLAN(
	"UPDATE handles SET list_price_cents = $2, listed_at = CASE WHEN $2 IS NULL THEN NULL ELSE $3 END "
	" WHERE handle = $1::handle",
	3, TEXTOID, INT8OID, TIMESTAMPTZOID);

/* list_handle and unlist_handle */
static void
set_listing(FunctionCallInfo fcinfo, const char *candidate, int64 seller_id, bool list,
			int64 price, TimestampTz as_of)
{
	LockedHandle h;
	PolicyVersion pol;
	Datum		v[3];
	char		nulls[3] = "   ";

	hm_require_account(seller_id);
	h = lock_handle(candidate, canonical_handle(fcinfo, candidate, as_of, &pol));
	require_owner(&h, seller_id, list ? "list" : "unlist");
	refuse_held(&h);
	if (list)
	{
		refuse_locked(&h, as_of);
		hm_refuse_auctioned(h.handle, false);
	}
	else if (!h.listed)
		ereport(ERROR,
				(errcode(ERRCODE_HM_STATE),
				 errmsg("handle \"%s\" is not listed", h.handle)));
	v[0] = CStringGetTextDatum(h.handle);
	v[1] = Int64GetDatum(price);
	v[2] = TimestampTzGetDatum(as_of);
	if (!list)
		nulls[1] = 'n';
	hm_plan_run(&listing_set, v, nulls);
}

PG_FUNCTION_INFO_V1(hm_list_handle);
Datum
hm_list_handle(PG_FUNCTION_ARGS)
{
	int64		price;

	hm_require_args(fcinfo, 4);
	price = PG_GETARG_INT64(2);
	if (price <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("price_cents must be positive"),
				 errdetail("It was %lld cents.", (long long) price)));
	SPI_connect();
	set_listing(fcinfo, text_to_cstring(PG_GETARG_TEXT_PP(0)), PG_GETARG_INT64(1), true, price,
				PG_GETARG_TIMESTAMPTZ(3));
	SPI_finish();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(hm_unlist_handle);
Datum
hm_unlist_handle(PG_FUNCTION_ARGS)
{
	hm_require_args(fcinfo, 3);
	SPI_connect();
	set_listing(fcinfo, text_to_cstring(PG_GETARG_TEXT_PP(0)), PG_GETARG_INT64(1), false, 0,
				PG_GETARG_TIMESTAMPTZ(2));
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * _sell_from_hold(handle, hold_id, seller_id, as_of, how) RETURNS bigint:
 * the sale that ends an auction or accepts an offer.  The held money is the
 * price: it is posted (the buyer's balance and held money fall together),
 * the seller gets it less the commission of the seller's subscription (a
 * sale by the platform, seller_id NULL, is all fee), and the handle moves
 * under the same rules as buy().  Returns the posting transfer; a hold
 * already posted returns the transfer that posted it.
 *
 * Locks: the handle, the hold, then the wallets in one statement
 * (lock_sale_wallets).  accept_offer() has locked the handle and the offer
 * before; a settlement batch has locked the auctions, their handles and
 * every wallet its sales write, so this sale waits for no wallet there (a
 * batch that locked each sale's wallets here, in turn, deadlocked with
 * buy() and the other market paths).
 */
PG_FUNCTION_INFO_V1(hm_sell_from_hold);
Datum
hm_sell_from_hold(PG_FUNCTION_ARGS)
{
	char	   *handle;
	int64		hold_id;
	bool		platform = PG_ARGISNULL(2);
	int64		seller_id = platform ? 0 : PG_GETARG_INT64(2);
	TimestampTz as_of;
	char	   *how;
	HmHold		hold;
	LockedHandle h;
	int64		transfer_id;
	int64		price;
	int64		fee;
	HmLeg		legs[3];
	int			nlegs = 0;
	const char *from_state;
	PolicyVersion pol;
	SaleWallets w;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		elog(ERROR, "_sell_from_hold: arguments must not be null");
	handle = text_to_cstring(PG_GETARG_TEXT_PP(0));
	hold_id = PG_GETARG_INT64(1);
	as_of = PG_GETARG_TIMESTAMPTZ(3);
	how = text_to_cstring(PG_GETARG_TEXT_PP(4));

	SPI_connect();
	hm_policy_in_force(hm_function_namespace(fcinfo), as_of, &pol);
	h = lock_handle(handle, handle);
	hold = hm_hold_lock(hold_id);
	if (strcmp(hold.state, "posted") == 0)
	{
		SPI_finish();
		PG_RETURN_INT64(hold.closed_by);
	}
	if (strcmp(hold.state, "pending") != 0)
		elog(ERROR, "hold %lld was voided; it cannot pay", (long long) hold_id);
	refuse_held(&h);
	if (!platform)
	{
		require_owner(&h, seller_id, "sell");
		refuse_locked(&h, as_of);
	}
	else if (h.exists && h.has_owner)
		ereport(ERROR,
				(errcode(ERRCODE_HM_STATE),
				 errmsg("handle \"%s\" is no longer the platform's to sell", h.handle),
				 errdetail("Account %lld owns it.", (long long) h.owner_id)));
	hm_refuse_own_handle(h.handle, h.exists && h.has_owner, h.owner_id, hold.account_id);
	if (!hm_claim_closing("hold_post",
						  psprintf("post(hold_id => %lld)", (long long) hold_id),
						  h.handle, as_of, hold_id, &transfer_id))
		elog(ERROR, "hold %lld is pending but its posting %lld exists",
			 (long long) hold_id, (long long) transfer_id);

	price = hold.amount;
	fee = platform ? price : hm_seller_fee(seller_id, price, as_of, NULL, NULL);
	w = lock_sale_wallets(&h, hold.account_id, platform ? hold.account_id : seller_id);
	legs[nlegs++] = (HmLeg) {hold.wallet, -price, true, -price};
	if (!platform && price - fee > 0)
		legs[nlegs++] = (HmLeg) {w.wallet_b ? w.wallet_b : hm_wallet(seller_id, true),
			price - fee, true, 0};
	if (fee > 0)
		legs[nlegs++] = (HmLeg) {hm_fee_account(transfer_id), fee, false, 0};
	hm_post_locked(transfer_id, legs, nlegs, w.locked, w.nlocked);
	hm_hold_mark(&hold, "posted", transfer_id, as_of);

	from_state = h.exists ? h.state : NULL;
	set_owner(&h, hold.account_id, as_of, &pol);
	void_offers(&w, h.handle, as_of, psprintf("@%s was sold", h.handle));
	if (platform)
		record_new_owner(&h, from_state, as_of, hold.account_id,
						 psprintf("%s from the platform for %s (transfer %lld)", how,
								  hm_cents_text(price), (long long) transfer_id),
						 "bought", psprintf("You bought @%s for %s.", h.handle, hm_cents_text(price)),
						 false, 0, NULL, NULL);
	else
		record_new_owner(&h, from_state, as_of, hold.account_id,
						 psprintf("%s from account %lld for %s (transfer %lld)", how,
								  (long long) seller_id, hm_cents_text(price), (long long) transfer_id),
						 "bought", psprintf("You bought @%s for %s.", h.handle, hm_cents_text(price)),
						 true, seller_id, "sold",
						 psprintf("You sold @%s for %s; %s commission, %s to your wallet.", h.handle,
								  hm_cents_text(price), hm_cents_text(fee), hm_cents_text(price - fee)));
	SPI_finish();
	PG_RETURN_INT64(transfer_id);
}
