/*
 * src/handle_market.c
 *	  Module magic, library initialization and encoding helpers.
 */
#include "handle_market.h"

#include "mb/pg_wchar.h"

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

void
hm_icu_failure(const char *shown, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("could not normalize handle \"%s\"", shown),
			 errdetail("%s", detail)));
}
