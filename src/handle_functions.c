/*
 * src/handle_functions.c
 *	  confusable_key() and check_handle().
 */
#include "handle_market.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "core/confusable.h"
#include "core/profiles.h"
#include "core/utf8.h"

/*
 * A key may hold characters the database encoding cannot (the skeleton
 * decomposes "é" into "e" and U+0301, which LATIN1 lacks).  Outside UTF-8
 * databases every non-ASCII code point is written as \uXXXX or \UXXXXXXXX,
 * and a backslash as two, so the key stays one-to-one and representable.
 */
static text *
escape_key(const char *key, size_t keylen)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (size_t i = 0; i < keylen;)
	{
		int32_t		cp = hm_utf8_decode((const unsigned char *) key, keylen, &i);

		if (cp == '\\')
			appendStringInfoString(&buf, "\\\\");
		else if (cp >= 0 && cp < 0x80)
			appendStringInfoChar(&buf, (char) cp);
		else if (cp >= 0 && cp <= 0xFFFF)
			appendStringInfo(&buf, "\\u%04X", (unsigned) cp);
		else if (cp > 0xFFFF)
			appendStringInfo(&buf, "\\U%08X", (unsigned) cp);
		else
			elog(ERROR, "confusable key is not valid UTF-8");
	}
	return cstring_to_text_with_len(buf.data, buf.len);
}

PG_FUNCTION_INFO_V1(handle_confusable_key);
Datum
handle_confusable_key(PG_FUNCTION_ARGS)
{
	text	   *h = PG_GETARG_TEXT_PP(0);
	char		key[HM_KEY_MAX_BYTES];	/* on the stack: palloc of 8 kB would
										 * be a malloc on every row */
	size_t		keylen;

	if (!hm_confusable_key(VARDATA_ANY(h), VARSIZE_ANY_EXHDR(h), key,
						   HM_KEY_MAX_BYTES, &keylen))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the confusable key of handle \"%s\"",
						text_to_cstring(h)),
				 errdetail("ICU failed, or the key is longer than %d bytes.",
						   HM_KEY_MAX_BYTES)));
	PG_FREE_IF_COPY(h, 0);
	if (GetDatabaseEncoding() == PG_UTF8)
		PG_RETURN_TEXT_P(cstring_to_text_with_len(key, (int) keylen));
	PG_RETURN_TEXT_P(escape_key(key, keylen));
}

/*
 * check_handle(candidate, profile): NULL when acceptable, else one reason.
 * Not strict: a NULL candidate is not acceptable, and saying NULL would say
 * it is.  An unknown profile is a programming error, so that one raises.
 */
PG_FUNCTION_INFO_V1(handle_check);
Datum
handle_check(PG_FUNCTION_ARGS)
{
	hm_profile	profile;
	char	   *profile_name;
	text	   *candidate;
	char	   *utf8;
	int			len;
	char		reason[HM_DETAIL_LEN];

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("profile must not be null"),
				 errhint("Known profiles are \"x_classic\" and \"precis\".")));
	profile_name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!hm_profile_from_name(profile_name, &profile))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown handle profile \"%s\"", profile_name),
				 errhint("Known profiles are \"x_classic\" and \"precis\".")));

	if (PG_ARGISNULL(0))
		PG_RETURN_TEXT_P(cstring_to_text("handle is missing"));
	candidate = PG_GETARG_TEXT_PP(0);
	utf8 = hm_to_utf8(VARDATA_ANY(candidate), VARSIZE_ANY_EXHDR(candidate), &len);
	if (hm_check_profile(profile, utf8, len, reason))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(reason));
}
