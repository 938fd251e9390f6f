/*
 * src/quote.c
 *	  quote(candidate, buyer_id, as_of): the price of a handle for a buyer,
 *	  the platform's fee out of it, who is paid, until when the price holds,
 *	  and why.  buy() prices a sale with the same code, on the row it has
 *	  locked, so the reason a purchase records is the quote's.
 *
 * The rules are documented beside quote() in src/sql/75_pricing.sql.  A
 * quote reads no table beyond price()'s, except the seller's commission for
 * a listing and, for a handle nobody holds, why it is not for sale.
 */
#include "price.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "core/lifecycle.h"
#include "core/money.h"
#include "ledger.h"
#include "refuse.h"
#include "spi_plan.h"

/* Times in reasons as utc_time() writes them (src/sql/65_internal.sql) */
static char *
utc_time_text(TimestampTz t)
{
	Datum		s = DirectFunctionCall2Coll(timestamp_to_char, C_COLLATION_OID,
											TimestampGetDatum(t),
											CStringGetTextDatum("YYYY-MM-DD HH24:MI \"UTC\""));

	return TextDatumGetCString(s);
}

/* "10", "2.5", "0.01": basis points as a percentage, as trim_scale() does */
static char *
percent_text(int32 bps)
{
	if (bps % 100 == 0)
		return psprintf("%d", bps / 100);
	if (bps % 10 == 0)
		return psprintf("%d.%d", bps / 100, (bps % 100) / 10);
	return psprintf("%d.%02d", bps / 100, bps % 100);
}

static TimestampTz
earliest(TimestampTz a, TimestampTz b)
{
	return a < b ? a : b;
}

static HmPlan seller_commission = HM_PLAN(
	"SELECT a.subscription, commission_bps(a.subscription, $2) FROM accounts a "
	" WHERE a.account_id = $1",
	2, INT8OID, TIMESTAMPTZOID);
static HmPlan unsold_reason = HM_PLAN(
	"SELECT _unsold_reason($1::handle)",
	1, TEXTOID);

int64
hm_seller_fee(int64 seller_id, int64 price, TimestampTz as_of, int32 *bps_out,
			  char **subscription_out)
{
	Datum		v[2] = {Int64GetDatum(seller_id), TimestampTzGetDatum(as_of)};
	char	   *subscription;
	bool		isnull;
	int32		bps;
	int64		fee;

	if (hm_plan_run(&seller_commission, v, NULL) != 1)
		elog(ERROR, "seller %lld has no account", (long long) seller_id);
	subscription = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	bps = DatumGetInt32(hm_result(0, 2, &isnull));
	if (isnull)
		elog(ERROR, "the pricing version in force at %s has no commission for subscription %s",
			 utc_time_text(as_of), subscription);
	if (hm_money_fee(price, bps, &fee) != HM_MONEY_OK)
		elog(ERROR, "a commission of %d basis points on %lld cents is out of range",
			 bps, (long long) price);
	if (bps_out)
		*bps_out = bps;
	if (subscription_out)
		*subscription_out = subscription;
	return fee;
}

/* A listing: the seller's commission, by subscription, of the version in force */
static void
quote_listing(HmQuote *q, TimestampTz as_of)
{
	const PriceInfo *p = &q->info;
	char	   *subscription;
	int32		bps;

	q->has_seller = true;
	q->seller_id = p->owner_id;
	q->fee = hm_seller_fee(p->owner_id, p->price, as_of, &bps, &subscription);
	q->reason = psprintf("listed by its owner at %s; commission %s%% (%s)%s",
						 hm_cents_text(p->price), percent_text(bps), subscription,
						 p->has_locked && p->locked_until > as_of
						 ? psprintf("; transfer locked until %s", utc_time_text(p->locked_until))
						 : "");
}

void
hm_quote(Oid nsp, text *candidate, TimestampTz as_of, Snapshot snapshot, HmQuote *q)
{
	const PriceInfo *p = &q->info;
	char	   *len;

	memset(q, 0, sizeof(*q));
	hm_compute_price(nsp, candidate, as_of, snapshot, &q->info);
	q->has_price = p->has_price;
	q->price = p->price;
	q->valid_until = HM_TIME_MAX;
	len = psprintf("%d character%s", p->length, p->length == 1 ? "" : "s");

	switch (p->source)
	{
		case SRC_PREMIUM:
			/* the premium only falls: the price holds as a most for a minute */
			q->valid_until = earliest(earliest(hm_time_add(as_of, USECS_PER_MINUTE), p->phase_ends_at),
									  p->next_pricing_at);
			q->reason = psprintf("premium day %d of %d: base %s (%s) + premium %s",
								 p->premium_day, p->premium_days, hm_cents_text(p->base), len,
								 hm_cents_text(p->premium));
			break;
		case SRC_AVAILABLE:
			q->valid_until = p->next_pricing_at;
			q->reason = psprintf("released, now at its base price: %s (%s)",
								 hm_cents_text(p->base), len);
			break;
		case SRC_LISTED:
			quote_listing(q, as_of);
			break;
		case SRC_PREMIUM_LIST:
			if (!p->list_price_set)
				q->valid_until = p->next_pricing_at;
			q->reason = psprintf("%s handle: %s", p->category, hm_cents_text(p->price));
			break;
		case SRC_REDEMPTION:
		case SRC_QUARANTINE:
			q->valid_until = p->phase_ends_at;
			q->reason = psprintf("in %s until %s", hm_price_source_names[p->source],
								 utc_time_text(p->phase_ends_at));
			break;
		case SRC_HELD:
			q->reason = "not for sale: held";
			break;
		case SRC_OWNED:
			{
				char	   *state = pstrdup(p->state);

				for (char *c = state; *c; c++)
					if (*c == '_')
						*c = ' ';
				q->reason = psprintf("not for sale: %s", state);
				break;
			}
		case SRC_NO_TIER:
			/* register_handle() gives a released handle without a price away */
			q->reason = psprintf("free to register: no price tier for %s", len);
			break;
		case SRC_RESERVED:
			q->reason = psprintf("not for sale: reserved (%s)", p->category);
			break;
		case SRC_UNSOLD:
			{
				/* free, unless reserved or a look-alike: SQL says which */
				Datum		v[1] = {PointerGetDatum(p->handle)};

				hm_plan_run(&unsold_reason, v, NULL);
				q->reason = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
				break;
			}
	}
}

/*
 * quote(candidate, buyer_id, as_of): the SQL face of hm_quote().  The buyer
 * must be given (22004) and exist (HM011), whatever the other arguments are.
 */
PG_FUNCTION_INFO_V1(hm_quote_sql);
Datum
hm_quote_sql(PG_FUNCTION_ARGS)
{
	HmQuote		q;
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	/* a NULL buyer is a missing argument, not an unknown account */
	if (PG_ARGISNULL(1))
		hm_refuse_null_account("buyer_id");
	SPI_connect();
	hm_require_account(PG_GETARG_INT64(1));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("quote arguments must not be null")));
	hm_quote(hm_function_namespace(fcinfo), PG_GETARG_TEXT_PP(0), PG_GETARG_TIMESTAMPTZ(2),
			 GetActiveSnapshot(), &q);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "quote must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = Int64GetDatum(q.price);
	nulls[0] = !q.has_price;
	values[1] = Int64GetDatum(q.fee);
	nulls[1] = !q.has_price;
	values[2] = Int64GetDatum(q.seller_id);
	nulls[2] = !q.has_seller;
	values[3] = TimestampTzGetDatum(q.valid_until);
	nulls[3] = q.valid_until == HM_TIME_MAX;
	values[4] = CStringGetTextDatum(q.reason);
	/* the tuple is built before SPI_finish frees what SPI returned */
	{
		HeapTuple	tup = heap_form_tuple(tupdesc, values, nulls);
		Datum		result = SPI_datumTransfer(HeapTupleGetDatum(tup), false, -1);

		SPI_finish();
		PG_RETURN_DATUM(result);
	}
}
