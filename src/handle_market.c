/*
 * src/handle_market.c
 *	  Module magic, library initialization and encoding helpers.
 */
#include "handle_market.h"

#include "catalog/namespace.h"
#include "mb/pg_wchar.h"

#include "core/normalize.h"
#include "core/unicode_chars.h"
#include "core/utf8.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	hm_check_unicode_versions();
	hm_outbox_notify_init();
	hm_server_time_init();
}

/* pg_do_encoding_conversion, skipped when the database is UTF-8 already */
static char *
convert(const char *s, int len, int src, int dest, int *outlen)
{
	char	   *r;

	if (GetDatabaseEncoding() == PG_UTF8)
	{
		*outlen = len;
		return (char *) s;
	}
	r = (char *) pg_do_encoding_conversion((unsigned char *) s, len, src, dest);
	*outlen = (r == s) ? len : (int) strlen(r);
	return r;
}

char *
hm_to_utf8(const char *s, int len, int *outlen)
{
	return convert(s, len, GetDatabaseEncoding(), PG_UTF8, outlen);
}

char *
hm_from_utf8(const char *s, int len, int *outlen)
{
	return convert(s, len, PG_UTF8, GetDatabaseEncoding(), outlen);
}

/*
 * Converts s[0..len) with the default conversion from src to dest into buf
 * (room for len * MAX_CONVERSION_GROWTH + 1 bytes), stopping at the first
 * character dest lacks instead of raising.  Returns how many bytes of s
 * converted; *outlen is the length written.
 */
static int
convert_no_error(const char *s, int len, int src, int dest, char *buf, int *outlen)
{
	Oid			proc = FindDefaultConversionProc(src, dest);
	int			done;

	if (!OidIsValid(proc))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("default conversion function for encoding \"%s\" to \"%s\" does not exist",
						pg_encoding_to_char(src), pg_encoding_to_char(dest))));
	done = pg_do_encoding_conversion_buf(proc, src, dest,
										 (unsigned char *) s, len,
										 (unsigned char *) buf,
										 len * MAX_CONVERSION_GROWTH + 1, true);
	*outlen = (int) strlen(buf);
	return done;
}

bool
hm_encodable(const char *canon, int len, const char *shown, int shownlen, Node *escontext)
{
	int			enc = GetDatabaseEncoding();
	char	   *there;
	char	   *back;
	int			therelen;
	int			backlen;
	int			bad;
	int32_t		cp = -1;
	int			position = 0;
	char		described[HM_DETAIL_LEN];

	/* every server encoding holds ASCII; SQL_ASCII stores the bytes as given */
	if (enc == PG_UTF8 || enc == PG_SQL_ASCII)
		return true;
	for (bad = 0; bad < len && !IS_HIGHBIT_SET(canon[bad]); bad++)
		;
	if (bad == len)
		return true;

	/*
	 * Both ways: a table that maps two code points to one character converts
	 * without error but reads back as another handle.
	 */
	there = palloc(len * MAX_CONVERSION_GROWTH + 1);
	bad = convert_no_error(canon, len, PG_UTF8, enc, there, &therelen);
	if (bad == len)
	{
		back = palloc(therelen * MAX_CONVERSION_GROWTH + 1);
		convert_no_error(there, therelen, enc, PG_UTF8, back, &backlen);
		for (bad = 0; bad < len && bad < backlen && back[bad] == canon[bad]; bad++)
			;
		if (bad == len && backlen == len)
			return true;
	}

	/* the code point holding byte bad, and its 1-based position */
	for (size_t i = 0; i < (size_t) len;)
	{
		position++;
		cp = hm_utf8_decode((const unsigned char *) canon, len, &i);
		if (cp < 0 || i > (size_t) bad)
			break;
	}
	hm_char_describe(cp, described, sizeof(described));
	hm_ereturn(escontext, false,
			   (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				errmsg("invalid input syntax for type %s: \"%s\"", "handle", pnstrdup(shown, shownlen)),
				errdetail("character %s at position %d of the canonical form has no equivalent in encoding %s",
						  described, position, GetDatabaseEncodingName())));
}

void
hm_icu_failure(const char *shown, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("could not normalize handle \"%s\"", shown),
			 errdetail("%s", detail)));
}
