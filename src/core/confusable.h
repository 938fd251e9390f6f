/*
 * src/core/confusable.h
 *	  Confusable keys: two handles a reader could mistake for each other get
 *	  the same key.
 */
#ifndef HM_CORE_CONFUSABLE_H
#define HM_CORE_CONFUSABLE_H

#include <stdbool.h>
#include <stddef.h>

/* Room a caller gives hm_confusable_key for its output. */
#define HM_KEY_MAX_BYTES 8192

/*
 * Our own fixed table for ASCII look-alikes, applied last to every key:
 *	 0 -> o, 1 -> l, i -> l, m -> rn, w -> vv, d -> cl.
 * Written out here, not taken from ICU, so that the keys of ASCII handles
 * never change when ICU's confusables data does.
 */
size_t		hm_ascii_fold(const char *in, size_t len, char *out);

/*
 * The key of a canonical handle (the output of hm_canonicalize).  Pure ASCII
 * goes through the table alone; anything else through the UTS #39 skeleton
 * first, and after it NFKC_Casefold and the skeleton again until they change
 * nothing, lowercasing, Latin small capitals read as their letters, U+0307
 * dropped after a soft-dotted letter, and then the table.  Everything after
 * the first skeleton reads only its output, so handles with equal skeletons
 * have equal keys.  Returns false when ICU fails or the key would not fit in
 * cap bytes.
 */
bool		hm_confusable_key(const char *canon, size_t len,
							  char *out, size_t cap, size_t *outlen);

#endif
