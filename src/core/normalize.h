/*
 * src/core/normalize.h
 *	  The canonical form of a handle: RFC 8265 (PRECIS UsernameCaseMapped)
 *	  restricted to letters, combining marks, decimal digits and '_'.
 *
 * Pure C over ICU; no PostgreSQL headers.  Nothing here allocates on the heap
 * except ICU's own per-process singletons, so a caller may raise an error
 * right after a call without leaking anything.
 */
#ifndef HM_CORE_NORMALIZE_H
#define HM_CORE_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

/* Longest canonical handle, in code points and in UTF-8 bytes. */
#define HM_MAX_CODEPOINTS 64
#define HM_MAX_BYTES (HM_MAX_CODEPOINTS * 4)

/*
 * A canonical composition never merges more than four code points into one
 * (U+1F82 is the worst case), so an input longer than this cannot normalize
 * to HM_MAX_CODEPOINTS: it is refused before any work is done.
 */
#define HM_MAX_INPUT_CODEPOINTS (HM_MAX_CODEPOINTS * 4)

/* Room for a detail message, character name included. */
#define HM_DETAIL_LEN 320

typedef enum hm_status
{
	HM_OK = 0,
	HM_EMPTY,					/* nothing left after the optional '@' */
	HM_TOO_LONG,				/* more than HM_MAX_CODEPOINTS */
	HM_BAD_ENCODING,			/* not valid UTF-8 */
	HM_BAD_CHAR,				/* a character the profile does not allow */
	HM_BIDI,					/* the string breaks the Bidi rule */
	HM_ICU_FAILURE				/* ICU reported an error (out of memory) */
} hm_status;

typedef struct hm_error
{
	hm_status	status;
	int32_t		codepoint;		/* offending character, or -1 */
	int32_t		position;		/* its 1-based code point position in the
								 * input as given (a leading '@' counts) */
	int32_t		length;			/* code points counted, for HM_TOO_LONG */
	char		detail[HM_DETAIL_LEN];	/* one sentence, PostgreSQL style */
} hm_error;

/*
 * Canonicalizes in[0..len) into out (room for HM_MAX_BYTES bytes), setting
 * *outlen.  Returns HM_OK, or fills *err and returns its status.
 *
 * ASCII input takes a fast path that never calls ICU.
 */
hm_status	hm_canonicalize(const char *in, size_t len,
							char *out, size_t *outlen, hm_error *err);

/* Number of code points in valid UTF-8. */
size_t		hm_codepoint_count(const char *s, size_t len);

#endif
