/*
 * src/handle_type.c
 *	  The handle type: input and output, binary I/O, casts, comparison,
 *	  hashing and sort support.
 *
 * A handle is stored as the UTF-8 bytes of its canonical form, so equality,
 * hashing and ordering are plain byte comparisons (code point order).
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "lib/hyperloglog.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/supportnodes.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/sortsupport.h"

#include "core/normalize.h"
#include "handle_market.h"

/*
 * Canonicalizes a string in the server encoding.  Errors go to escontext
 * when it is a soft-error context (PostgreSQL 16+), otherwise they are
 * raised; returns NULL after a soft error.
 */
static text *
make_handle(const char *str, int len, Node *escontext)
{
	int			utf8len;
	char	   *utf8 = hm_to_utf8(str, len, &utf8len);
	char		out[HM_MAX_BYTES];
	size_t		outlen;
	hm_error	err;

	if (hm_canonicalize(utf8, utf8len, out, &outlen, &err) != HM_OK)
	{
		if (err.status == HM_ICU_FAILURE)
			hm_icu_failure(pnstrdup(str, len), err.detail);
		hm_ereturn(escontext, NULL,
				   (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					errmsg("invalid input syntax for type %s: \"%s\"",
						   "handle", pnstrdup(str, len)),
					errdetail("%s", err.detail)));
	}
	if (!hm_encodable(out, (int) outlen, str, len, escontext))
		return NULL;
	return cstring_to_text_with_len(out, (int) outlen);
}

/* The handle's text in the database encoding (not NUL-terminated). */
static char *
server_text(text *h, int *len)
{
	return hm_from_utf8(VARDATA_ANY(h), VARSIZE_ANY_EXHDR(h), len);
}

PG_FUNCTION_INFO_V1(handle_in);
Datum
handle_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	text	   *result = make_handle(str, strlen(str), hm_escontext(fcinfo));

	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(result);
}

PG_FUNCTION_INFO_V1(handle_out);
Datum
handle_out(PG_FUNCTION_ARGS)
{
	text	   *h = PG_GETARG_TEXT_PP(0);
	int			len;
	char	   *s = server_text(h, &len);

	PG_RETURN_CSTRING(pnstrdup(s, len));
}

/* Binary input is validated like text input: nothing is trusted. */
PG_FUNCTION_INFO_V1(handle_recv);
Datum
handle_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			nbytes;
	char	   *str = pq_getmsgtext(buf, buf->len - buf->cursor, &nbytes);

	PG_RETURN_TEXT_P(make_handle(str, nbytes, NULL));
}

PG_FUNCTION_INFO_V1(handle_send);
Datum
handle_send(PG_FUNCTION_ARGS)
{
	text	   *h = PG_GETARG_TEXT_PP(0);
	int			len;
	char	   *s = server_text(h, &len);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendtext(&buf, s, len);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(handle_from_text);
Datum
handle_from_text(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_TEXT_P(make_handle(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), NULL));
}

PG_FUNCTION_INFO_V1(handle_to_text);
Datum
handle_to_text(PG_FUNCTION_ARGS)
{
	text	   *h = PG_GETARG_TEXT_PP(0);
	int			len;
	char	   *s = server_text(h, &len);

	PG_RETURN_TEXT_P(cstring_to_text_with_len(s, len));
}

/* memcmp order of UTF-8 bytes is code point order */
static int
handle_compare(text *a, text *b)
{
	int			la = VARSIZE_ANY_EXHDR(a);
	int			lb = VARSIZE_ANY_EXHDR(b);
	int			r = memcmp(VARDATA_ANY(a), VARDATA_ANY(b), Min(la, lb));

	if (r != 0)
		return r;
	return (la > lb) - (la < lb);
}

#define HANDLE_CMP_FUNCTION(name, expr) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	text	   *a = PG_GETARG_TEXT_PP(0); \
	text	   *b = PG_GETARG_TEXT_PP(1); \
	int			cmp = handle_compare(a, b); \
 \
	PG_FREE_IF_COPY(a, 0); \
	PG_FREE_IF_COPY(b, 1); \
	expr; \
}

HANDLE_CMP_FUNCTION(handle_eq, PG_RETURN_BOOL(cmp == 0))
HANDLE_CMP_FUNCTION(handle_ne, PG_RETURN_BOOL(cmp != 0))
HANDLE_CMP_FUNCTION(handle_lt, PG_RETURN_BOOL(cmp < 0))
HANDLE_CMP_FUNCTION(handle_le, PG_RETURN_BOOL(cmp <= 0))
HANDLE_CMP_FUNCTION(handle_gt, PG_RETURN_BOOL(cmp > 0))
HANDLE_CMP_FUNCTION(handle_ge, PG_RETURN_BOOL(cmp >= 0))
HANDLE_CMP_FUNCTION(handle_cmp, PG_RETURN_INT32((cmp > 0) - (cmp < 0)))

/* min() and max() in handle order; text's would follow the collation */
PG_FUNCTION_INFO_V1(handle_larger);
Datum
handle_larger(PG_FUNCTION_ARGS)
{
	text	   *a = PG_GETARG_TEXT_PP(0);
	text	   *b = PG_GETARG_TEXT_PP(1);

	PG_RETURN_TEXT_P(handle_compare(a, b) >= 0 ? a : b);
}

PG_FUNCTION_INFO_V1(handle_smaller);
Datum
handle_smaller(PG_FUNCTION_ARGS)
{
	text	   *a = PG_GETARG_TEXT_PP(0);
	text	   *b = PG_GETARG_TEXT_PP(1);

	PG_RETURN_TEXT_P(handle_compare(a, b) <= 0 ? a : b);
}

/*
 * Comparisons of a handle with text (varchar coerces to text).  Without
 * them, text's operators would compare the handle's text with the text as
 * typed, and 'ElonMusk' would never equal the stored elonmusk.  The text is
 * canonicalized by the type's own input path, so bad text is 22P02 as in a
 * cast.  The planner never runs these per row: handle_text_support rewrites
 * each call into the handle operator applied to handle(text), which uses
 * the handle indexes and canonicalizes the text once.
 */
#define HANDLE_TEXT_CMP_FUNCTIONS(op, expr) \
PG_FUNCTION_INFO_V1(handle_##op##_text); \
Datum \
handle_##op##_text(PG_FUNCTION_ARGS) \
{ \
	text	   *t = PG_GETARG_TEXT_PP(1); \
	int			cmp = handle_compare(PG_GETARG_TEXT_PP(0), \
									 make_handle(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), NULL)); \
 \
	expr; \
} \
PG_FUNCTION_INFO_V1(text_##op##_handle); \
Datum \
text_##op##_handle(PG_FUNCTION_ARGS) \
{ \
	text	   *t = PG_GETARG_TEXT_PP(0); \
	int			cmp = handle_compare(make_handle(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), NULL), \
									 PG_GETARG_TEXT_PP(1)); \
 \
	expr; \
}

HANDLE_TEXT_CMP_FUNCTIONS(eq, PG_RETURN_BOOL(cmp == 0))
HANDLE_TEXT_CMP_FUNCTIONS(ne, PG_RETURN_BOOL(cmp != 0))
HANDLE_TEXT_CMP_FUNCTIONS(lt, PG_RETURN_BOOL(cmp < 0))
HANDLE_TEXT_CMP_FUNCTIONS(le, PG_RETURN_BOOL(cmp <= 0))
HANDLE_TEXT_CMP_FUNCTIONS(gt, PG_RETURN_BOOL(cmp > 0))
HANDLE_TEXT_CMP_FUNCTIONS(ge, PG_RETURN_BOOL(cmp >= 0))

/*
 * Planner support for the functions above: h OP t becomes h OP handle(t),
 * and t OP h becomes handle(t) OP h, with OP the handle operator of the
 * same name in the function's schema.  Then the clause is a handle clause
 * like any other: a btree or hash index on h serves it, equivalence classes
 * and hash or merge joins apply, and handle(t) is computed once per scan
 * (once at plan time when t is a constant) instead of once per comparison.
 *
 * Putting (handle, text) operators in the btree family instead would leave
 * the family incomplete (there is no text-on-text order with handle
 * semantics), and the index descent would canonicalize t at every step.
 */
PG_FUNCTION_INFO_V1(handle_text_support);
Datum
handle_text_support(PG_FUNCTION_ARGS)
{
	static const char *const ops[][2] = {
		{"eq", "="}, {"ne", "<>"}, {"lt", "<"}, {"le", "<="}, {"gt", ">"}, {"ge", ">="}
	};
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	FuncExpr   *call;
	char	   *fname;
	const char *opname = NULL;
	Node	   *left;
	Node	   *right;
	Node	  **textside;
	Oid			handletype;
	Oid			castfunc;
	Oid			opno;
	char	   *nsp;
	FuncExpr   *cast;
	OpExpr	   *result;

	if (!IsA(rawreq, SupportRequestSimplify))
		PG_RETURN_POINTER(NULL);
	call = ((SupportRequestSimplify *) rawreq)->fcall;
	if (list_length(call->args) != 2)
		PG_RETURN_POINTER(NULL);
	left = linitial(call->args);
	right = lsecond(call->args);
	textside = exprType(left) == TEXTOID ? &left : &right;
	handletype = exprType(textside == &left ? right : left);

	/* handle_eq_text or text_eq_handle: the operator's name is in the middle */
	fname = get_func_name(call->funcid);
	for (size_t i = 0; fname != NULL && i < lengthof(ops); i++)
	{
		char		middle[8];

		snprintf(middle, sizeof(middle), "_%s_", ops[i][0]);
		if (strstr(fname, middle) != NULL)
			opname = ops[i][1];
	}
	nsp = get_namespace_name(get_func_namespace(call->funcid));
	if (opname == NULL || nsp == NULL)
		PG_RETURN_POINTER(NULL);
	opno = OpernameGetOprid(list_make2(makeString(nsp), makeString(pstrdup(opname))),
							handletype, handletype);
	if (!OidIsValid(opno) ||
		find_coercion_pathway(handletype, TEXTOID, COERCION_ASSIGNMENT,
							  &castfunc) != COERCION_PATH_FUNC)
		PG_RETURN_POINTER(NULL);

	cast = makeFuncExpr(castfunc, handletype, list_make1(*textside),
						InvalidOid, exprCollation(*textside), COERCE_EXPLICIT_CAST);
	*textside = eval_const_expressions(((SupportRequestSimplify *) rawreq)->root,
									   (Node *) cast);
	result = (OpExpr *) make_opclause(opno, BOOLOID, false, (Expr *) left,
									  (Expr *) right, InvalidOid, InvalidOid);
	set_opfuncid(result);
	PG_RETURN_POINTER(result);
}

PG_FUNCTION_INFO_V1(handle_hash);
Datum
handle_hash(PG_FUNCTION_ARGS)
{
	text	   *h = PG_GETARG_TEXT_PP(0);
	Datum		r = hash_any((unsigned char *) VARDATA_ANY(h),
							 VARSIZE_ANY_EXHDR(h));

	PG_FREE_IF_COPY(h, 0);
	return r;
}

PG_FUNCTION_INFO_V1(handle_hash_extended);
Datum
handle_hash_extended(PG_FUNCTION_ARGS)
{
	text	   *h = PG_GETARG_TEXT_PP(0);
	Datum		r = hash_any_extended((unsigned char *) VARDATA_ANY(h),
									  VARSIZE_ANY_EXHDR(h),
									  PG_GETARG_INT64(1));

	PG_FREE_IF_COPY(h, 0);
	return r;
}

/*
 * Sort support.  The abbreviated key is the first eight bytes of the handle,
 * big-endian, so that comparing keys as unsigned integers orders them as
 * memcmp would; most handles differ in their first eight bytes, so most
 * comparisons during an index build never touch the full value.
 */
typedef struct HandleSortState
{
	hyperLogLogState abbr_card;
	double		input_count;
} HandleSortState;

static int
handle_fastcmp(Datum x, Datum y, SortSupport ssup pg_attribute_unused())
{
	text	   *a = DatumGetTextPP(x);
	text	   *b = DatumGetTextPP(y);
	int			r = handle_compare(a, b);

	if ((Pointer) a != DatumGetPointer(x))
		pfree(a);
	if ((Pointer) b != DatumGetPointer(y))
		pfree(b);
	return r;
}

#if SIZEOF_DATUM == 8
static int
handle_abbrev_cmp(Datum x, Datum y, SortSupport ssup pg_attribute_unused())
{
	return (x > y) - (x < y);
}

static Datum
handle_abbrev_convert(Datum original, SortSupport ssup)
{
	HandleSortState *st = (HandleSortState *) ssup->ssup_extra;
	text	   *h = DatumGetTextPP(original);
	Datum		key = 0;
	int			len = Min(VARSIZE_ANY_EXHDR(h), (int) sizeof(Datum));
	uint32		hash;

	memcpy(&key, VARDATA_ANY(h), len);
	key = DatumBigEndianToNative(key);

	hash = DatumGetUInt32(hash_uint32((uint32) (key ^ (key >> 32))));
	addHyperLogLog(&st->abbr_card, hash);
	st->input_count += 1;

	if ((Pointer) h != DatumGetPointer(original))
		pfree(h);
	return key;
}

/*
 * Abbreviation pays only when keys differ in their first eight bytes.  When
 * they mostly do not ("user_0000001", "user_0000002", ...), every comparison
 * would pay for the key and then for the full value: give up after 10,000
 * rows if there is not even one distinct key per 2,000 rows.
 */
static bool
handle_abbrev_abort(int memtupcount, SortSupport ssup)
{
	HandleSortState *st = (HandleSortState *) ssup->ssup_extra;
	double		card;

	if (memtupcount < 10000 || st->input_count < 10000)
		return false;
	card = estimateHyperLogLog(&st->abbr_card);
	return card < st->input_count / 2000.0 + 1.0;
}
#endif

PG_FUNCTION_INFO_V1(handle_sortsupport);
Datum
handle_sortsupport(PG_FUNCTION_ARGS)
{
	SortSupport ssup = (SortSupport) PG_GETARG_POINTER(0);

	ssup->comparator = handle_fastcmp;
#if SIZEOF_DATUM == 8
	if (ssup->abbreviate)
	{
		HandleSortState *st = palloc0(sizeof(HandleSortState));

		initHyperLogLog(&st->abbr_card, 10);
		ssup->ssup_extra = st;
		ssup->abbrev_full_comparator = handle_fastcmp;
		ssup->comparator = handle_abbrev_cmp;
		ssup->abbrev_converter = handle_abbrev_convert;
		ssup->abbrev_abort = handle_abbrev_abort;
	}
#endif
	PG_RETURN_VOID();
}
