/*
 * src/core/utf8.c
 *	  Strict UTF-8 decoding and encoding.
 */
#include "utf8.h"

int32_t
hm_utf8_decode(const unsigned char *s, size_t len, size_t *i)
{
	size_t		p = *i;
	unsigned char b = s[p];
	int			need;
	int32_t		cp;
	int32_t		min;

	if (b < 0x80)
	{
		*i = p + 1;
		return b;
	}
	if (b >= 0xC2 && b <= 0xDF)
	{
		need = 1;
		cp = b & 0x1F;
		min = 0x80;
	}
	else if (b >= 0xE0 && b <= 0xEF)
	{
		need = 2;
		cp = b & 0x0F;
		min = 0x800;
	}
	else if (b >= 0xF0 && b <= 0xF4)
	{
		need = 3;
		cp = b & 0x07;
		min = 0x10000;
	}
	else
		return -1;

	if (len - p <= (size_t) need)
		return -1;
	for (int k = 1; k <= need; k++)
	{
		unsigned char c = s[p + k];

		if ((c & 0xC0) != 0x80)
			return -1;
		cp = (cp << 6) | (c & 0x3F);
	}
	/* overlong forms, UTF-16 surrogates and values past Unicode's range */
	if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return -1;
	*i = p + need + 1;
	return cp;
}

int
hm_utf8_encode(int32_t cp, unsigned char *out)
{
	if (cp < 0x80)
	{
		out[0] = (unsigned char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (unsigned char) (0xC0 | (cp >> 6));
		out[1] = (unsigned char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (unsigned char) (0xE0 | (cp >> 12));
		out[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (unsigned char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (unsigned char) (0xF0 | (cp >> 18));
	out[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (unsigned char) (0x80 | (cp & 0x3F));
	return 4;
}
