/*
 * test/unit/test_core.c
 *	  Unit tests of src/core/, outside the server.  Prints one line per
 *	  failure and a closing "N passed, M failed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unicode/uspoof.h>
#include <unicode/ustring.h>

#include "../../src/core/confusable.h"
#include "../../src/core/icu_support.h"
#include "../../src/core/lifecycle.h"
#include "../../src/core/normalize.h"
#include "../../src/core/profiles.h"
#include "../../src/core/utf8.h"

static int	passed;
static int	failed;

static void
check(int ok, const char *what, const char *got, const char *want)
{
	if (ok)
		passed++;
	else
	{
		failed++;
		printf("FAIL %s\n  got:  %s\n  want: %s\n", what, got, want);
	}
}

static void
canon_ok(const char *in, const char *want)
{
	char		out[HM_MAX_BYTES + 1];
	size_t		n;
	hm_error	err;
	hm_status	st = hm_canonicalize(in, strlen(in), out, &n, &err);

	if (st != HM_OK)
	{
		check(0, in, err.detail, want);
		return;
	}
	out[n] = '\0';
	check(strcmp(out, want) == 0, in, out, want);

	/* the canonical form is a fixed point */
	{
		char		again[HM_MAX_BYTES + 1];
		size_t		m;

		st = hm_canonicalize(out, n, again, &m, &err);
		again[st == HM_OK ? m : 0] = '\0';
		check(st == HM_OK && m == n && memcmp(again, out, n) == 0,
			  "canonical form is stable", again, out);
	}
}

static void
canon_err(const char *in, hm_status want_status, const char *want_detail)
{
	char		out[HM_MAX_BYTES];
	size_t		n;
	hm_error	err;
	hm_status	st = hm_canonicalize(in, strlen(in), out, &n, &err);

	if (st == HM_OK)
	{
		check(0, in, "(accepted)", want_detail);
		return;
	}
	check(st == want_status && strcmp(err.detail, want_detail) == 0, in,
		  err.detail, want_detail);
}

static void
key_of(const char *in, char *key)
{
	char		canon[HM_MAX_BYTES];
	size_t		n;
	size_t		k;
	hm_error	err;

	if (hm_canonicalize(in, strlen(in), canon, &n, &err) != HM_OK ||
		!hm_confusable_key(canon, n, key, HM_KEY_MAX_BYTES, &k))
	{
		strcpy(key, "(error)");
		return;
	}
	key[k] = '\0';
}

static void
same_key(const char *a, const char *b)
{
	char		ka[HM_KEY_MAX_BYTES + 1];
	char		kb[HM_KEY_MAX_BYTES + 1];
	char		what[200];

	key_of(a, ka);
	key_of(b, kb);
	snprintf(what, sizeof(what), "key(%s) = key(%s)", a, b);
	check(strcmp(ka, kb) == 0 && strcmp(ka, "(error)") != 0, what, ka, kb);
}

static void
key_is(const char *in, const char *want)
{
	char		k[HM_KEY_MAX_BYTES + 1];
	char		what[200];

	key_of(in, k);
	snprintf(what, sizeof(what), "key(%s)", in);
	check(strcmp(k, want) == 0, what, k, want);
}

static void
profile_is(const char *profile_name, const char *in, const char *want)
{
	hm_profile	p;
	char		reason[HM_DETAIL_LEN];
	char		what[200];
	int			ok;

	if (!hm_profile_from_name(profile_name, &p))
	{
		check(0, profile_name, "unknown profile", "");
		return;
	}
	ok = hm_check_profile(p, in, strlen(in), reason);
	snprintf(what, sizeof(what), "%s(%s)", profile_name, in);
	if (want == NULL)
		check(ok, what, reason, "(acceptable)");
	else
		check(!ok && strcmp(reason, want) == 0, what, ok ? "(acceptable)" : reason,
			  want);
}

/*
 * Our ASCII table must contain ICU's own ASCII skeleton mappings, or an ASCII
 * handle and a Unicode look-alike of it would get different keys.
 */
static void
ascii_table_covers_icu_skeleton(void)
{
	const char *alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_";

	for (const char *c = alphabet; *c; c++)
	{
		UErrorCode	status = U_ZERO_ERROR;
		UChar		in[1] = {(UChar) * c};
		UChar		sk[16];
		UChar		low[16];
		char		utf8[64];
		char		via_icu[128];
		char		ours[8];
		int32_t		n;
		size_t		a;
		size_t		b;
		char		what[64];

		n = uspoof_getSkeleton(hm_spoof_checker(), 0, in, 1, sk, 16, &status);
		n = u_strToLower(low, 16, sk, n, "", &status);
		u_strToUTF8(utf8, sizeof(utf8), &n, low, n, &status);
		a = hm_ascii_fold(utf8, (size_t) n, via_icu);
		b = hm_ascii_fold(c, 1, ours);
		via_icu[a] = '\0';
		ours[b] = '\0';
		snprintf(what, sizeof(what), "table covers ICU's skeleton of '%c'", *c);
		check(U_SUCCESS(status) && strcmp(via_icu, ours) == 0, what, via_icu, ours);
	}
}

/*
 * The rule the key exists for: whenever ICU's skeletons of two canonical
 * handles are equal, their keys are equal.  The candidates are every code
 * point as a handle of its own and between two letters ("a" c "b", which
 * lets combining marks and context-sensitive letters in), kept when the
 * handle type accepts them.  The type is the widest profile: precis runs the
 * type's canonicalization before its own checks and x_classic's alphabet is
 * ASCII, so every handle either profile accepts is among these.
 *
 * The skeletons come from a checker opened here with ICU's defaults, not
 * from the one the key uses, so the test does not share the key's setup.
 */
typedef struct skel_row
{
	char		skeleton[96];
	char		key[96];
	char		canon[32];
	int32_t		cp;
} skel_row;

static int
skel_row_cmp(const void *a, const void *b)
{
	const skel_row *x = a;
	const skel_row *y = b;
	int			c = strcmp(x->skeleton, y->skeleton);

	return c != 0 ? c : strcmp(x->canon, y->canon);
}

/* Fills row from the handle in[0..n); false when the type refuses it. */
static bool
skel_row_fill(USpoofChecker *sc, const char *in, size_t n, int32_t cp,
			  skel_row *row, int *too_long)
{
	char		canon[HM_MAX_BYTES];
	char		key[HM_KEY_MAX_BYTES];
	size_t		clen;
	size_t		klen;
	hm_error	err;
	UErrorCode	status = U_ZERO_ERROR;
	int32_t		slen;

	if (hm_canonicalize(in, n, canon, &clen, &err) != HM_OK)
		return false;
	slen = uspoof_getSkeletonUTF8(sc, 0, canon, (int32_t) clen, row->skeleton,
								  sizeof(row->skeleton), &status);
	if (U_FAILURE(status) || slen >= (int32_t) sizeof(row->skeleton) ||
		clen >= sizeof(row->canon) ||
		!hm_confusable_key(canon, clen, key, sizeof(key), &klen) ||
		klen >= sizeof(row->key))
	{
		(*too_long)++;
		return false;
	}
	row->skeleton[slen] = '\0';
	memcpy(row->canon, canon, clen);
	row->canon[clen] = '\0';
	memcpy(row->key, key, klen);
	row->key[klen] = '\0';
	row->cp = cp;
	return true;
}

static void
equal_skeletons_share_keys(void)
{
	UErrorCode	status = U_ZERO_ERROR;
	USpoofChecker *sc = uspoof_open(&status);
	size_t		cap = 300000;
	skel_row   *rows = malloc(cap * sizeof(skel_row));
	size_t		nrows = 0;
	int			too_long = 0;
	int			codepoints = 0;
	int			groups = 0;
	int			shared = 0;
	long		pairs = 0;
	int			bad = 0;
	clock_t		t0 = clock();
	char		what[400];

	if (sc == NULL || U_FAILURE(status) || rows == NULL)
	{
		check(0, "equal skeletons share keys", "could not set up", "a checker");
		return;
	}
	for (int32_t cp = 0; cp <= 0x10FFFF; cp++)
	{
		unsigned char in[8];
		size_t		n;
		bool		any = false;

		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;
		n = hm_utf8_encode(cp, in);
		if (nrows < cap && skel_row_fill(sc, (char *) in, n, cp, &rows[nrows], &too_long))
			nrows++, any = true;
		in[0] = 'a';
		n = 1 + hm_utf8_encode(cp, in + 1);
		in[n++] = 'b';
		if (nrows < cap && skel_row_fill(sc, (char *) in, n, cp, &rows[nrows], &too_long))
			nrows++, any = true;
		codepoints += any;
	}
	qsort(rows, nrows, sizeof(skel_row), skel_row_cmp);
	for (size_t i = 0; i < nrows;)
	{
		size_t		j = i + 1;
		int			forms = 1;

		for (; j < nrows && strcmp(rows[j].skeleton, rows[i].skeleton) == 0; j++)
		{
			if (strcmp(rows[j].canon, rows[j - 1].canon) == 0)
				continue;		/* "a"+"a"+"b" and "aab" are one handle */
			forms++;
			if (strcmp(rows[j].key, rows[i].key) != 0 && bad++ < 10)
			{
				char		got[256];

				snprintf(what, sizeof(what),
						 "skeleton \"%s\": U+%04X \"%s\" and U+%04X \"%s\" share a key",
						 rows[i].skeleton, (unsigned) rows[i].cp, rows[i].canon,
						 (unsigned) rows[j].cp, rows[j].canon);
				snprintf(got, sizeof(got), "\"%s\" and \"%s\"", rows[i].key, rows[j].key);
				check(0, what, got, "one key");
			}
		}
		groups++;
		if (forms > 1)
		{
			shared++;
			pairs += (long) forms * (forms - 1) / 2;
		}
		i = j;
	}
	printf("equal skeletons share keys: %d code points, %zu canonical handles, "
		   "%d skeletons, %d of them shared by %ld pairs; %d pairs apart; %.1f s\n",
		   codepoints, nrows, groups, shared, pairs, bad,
		   (double) (clock() - t0) / CLOCKS_PER_SEC);
	snprintf(what, sizeof(what), "%d pairs with equal skeletons and different keys", bad);
	check(bad == 0, "every pair with equal skeletons shares a key", what, "none");
	/* a walk that found next to nothing would pass vacuously */
	check(nrows > 250000 && shared > 500 && too_long == 0 && nrows < cap,
		  "the walk covers the repertoire", "fewer handles than expected", "all");
	free(rows);
	uspoof_close(sc);
}

/*
 * Each Latin small capital A-Z gets the key of its letter: ICU maps some to
 * the letter and our table the rest, and a change of ICU's data that moved
 * one out of the table's reach would show here.
 */
static void
small_capitals_read_as_letters(void)
{
	static const int32_t caps[26] = {
		0x1D00, 0x0299, 0x1D04, 0x1D05, 0x1D07, 0xA730, 0x0262, 0x029C, 0x026A,
		0x1D0A, 0x1D0B, 0x029F, 0x1D0D, 0x0274, 0x1D0F, 0x1D18, 0xA7AF, 0x0280,
		0xA731, 0x1D1B, 0x1D1C, 0x1D20, 0x1D21, 0, 0x028F, 0x1D22,
	};

	for (int k = 0; k < 26; k++)
	{
		char		cap[8];
		char		letter[2] = {(char) ('a' + k), '\0'};

		if (caps[k] == 0)
			continue;			/* there is no small capital X */
		cap[hm_utf8_encode(caps[k], (unsigned char *) cap)] = '\0';
		same_key(cap, letter);
	}
}

#define DAY ((int64_t) 86400 * 1000000)

static void
phase_is(int64_t released, int64_t as_of, const char *want_phase, int64_t want_end)
{
	hm_release_periods p = {30 * DAY, 5 * DAY, 21 * DAY};
	int64_t		end;
	hm_phase	ph = hm_release_phase(released, as_of, &p, &end);
	char		what[96];
	char		got[96];
	char		want[96];

	snprintf(what, sizeof(what), "phase at day %lld", (long long) ((as_of - released) / DAY));
	snprintf(got, sizeof(got), "%s until %lld", hm_phase_name(ph), (long long) end);
	snprintf(want, sizeof(want), "%s until %lld", want_phase, (long long) want_end);
	check(strcmp(got, want) == 0, what, got, want);
}

static void
lifecycle_tests(void)
{
	int64_t		r = 1000 * DAY;

	check(!hm_is_inactive(0, 30 * DAY - 1, 30 * DAY), "active a microsecond before 30 days", "inactive", "active");
	check(hm_is_inactive(0, 30 * DAY, 30 * DAY), "inactive at exactly 30 days", "active", "inactive");
	check(!hm_is_inactive(HM_TIME_MAX - DAY, HM_TIME_MAX - 1, 30 * DAY), "no overflow near the end of time",
		  "inactive", "active");
	check(hm_time_add(HM_TIME_MAX - 5, 10) == HM_TIME_MAX, "hm_time_add saturates up", "wrapped", "max");
	check(hm_time_add(HM_TIME_MIN + 5, -10) == HM_TIME_MIN, "hm_time_add saturates down", "wrapped", "min");
	phase_is(r, r - DAY, "redemption", r + 30 * DAY);	/* asked before the release */
	phase_is(r, r, "redemption", r + 30 * DAY);
	phase_is(r, r + 30 * DAY - 1, "redemption", r + 30 * DAY);
	phase_is(r, r + 30 * DAY, "quarantine", r + 35 * DAY);
	phase_is(r, r + 35 * DAY - 1, "quarantine", r + 35 * DAY);
	phase_is(r, r + 35 * DAY, "premium", r + 56 * DAY);
	phase_is(r, r + 56 * DAY - 1, "premium", r + 56 * DAY);
	phase_is(r, r + 56 * DAY, "available", HM_TIME_MAX);
	phase_is(r, HM_TIME_MAX, "available", HM_TIME_MAX);
}

static void
sweep_is(const char *what, bool at_risk, bool exempt, int64_t last_active, int64_t as_of,
		 int64_t notice_at, int64_t notice_inactive_after, const char *want)
{
	hm_sweep_input in = {
		.at_risk = at_risk, .exempt = exempt, .last_active = last_active, .as_of = as_of,
		.inactive_after = 30 * DAY, .notice_at = notice_at, .notice_period = 30 * DAY,
		.notice_inactive_after = notice_inactive_after,
	};
	const char *got = hm_sweep_action_name(hm_sweep_decide(&in));

	got = got ? got : "none";
	check(strcmp(got, want) == 0, what, got, want);
}

/* Day 0 = last activity; a notice at day 30 runs out at day 60. */
static void
sweep_tests(void)
{
	sweep_is("registered, active 29 days ago", false, false, 0, 29 * DAY, 0, 0, "none");
	sweep_is("registered, inactive 30 days", false, false, 0, 30 * DAY, 0, 0, "notice");
	sweep_is("registered, inactive but exempt", false, true, 0, 90 * DAY, 0, 0, "none");
	sweep_is("at risk, notice runs a microsecond more", true, false, 0, 60 * DAY - 1,
			 30 * DAY, 30 * DAY, "none");
	sweep_is("at risk, notice ran out", true, false, 0, 60 * DAY, 30 * DAY, 30 * DAY, "release");
	sweep_is("at risk, active since the notice", true, false, 45 * DAY, 60 * DAY,
			 30 * DAY, 30 * DAY, "revert");
	sweep_is("at risk, exempt since the notice", true, true, 0, 60 * DAY, 30 * DAY, 30 * DAY,
			 "revert");
	/* the notice's own policy (60 days inactive) judges it, not today's 30 */
	sweep_is("at risk, active under the notice's policy", true, false, 10 * DAY, 60 * DAY,
			 30 * DAY, 60 * DAY, "revert");
	check(hm_sweep_action_name(HM_SWEEP_NONE) == NULL, "no name for no action", "a name", "NULL");
}

int
main(void)
{
	char		sixty_four[65];
	char		sixty_five[66];

	/* canonical forms */
	canon_ok("@ElonMusk", "elonmusk");
	canon_ok("elon_musk", "elon_musk");
	canon_ok("\xEF\xBC\xAA\xEF\xBD\x95liet", "juliet");	/* fullwidth Ju */
	canon_ok("\xE2\x84\xAA" "evin", "kevin");	/* KELVIN SIGN */
	canon_ok("e\xCC\x81", "\xC3\xA9");	/* e + COMBINING ACUTE -> é */
	canon_ok("\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3",	/* ΟΔΟΣ -> οδος, final sigma */
			 "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x82");
	canon_ok("\xCE\xA3\xCE\x91",	/* ΣΑ -> σα: not final */
			 "\xCF\x83\xCE\xB1");
	canon_ok("\xC4\xB0stanbul", "i\xCC\x87stanbul");	/* İ -> i + dot */
	canon_ok("\xD0\xB5lon_musk", "\xD0\xB5lon_musk");	/* Cyrillic е is a letter */
	canon_ok("\xE1\x84\x80\xE1\x85\xA1", "\xEA\xB0\x80");	/* jamo -> 가 */
	canon_ok("\xD7\x90\xD7\x91", "\xD7\x90\xD7\x91");	/* Hebrew */
	canon_ok("\xD7\x90\xD7\x91" "1", "\xD7\x90\xD7\x91" "1");	/* RTL ends in EN */
	canon_ok("1abc", "1abc");	/* no RTL: the Bidi rule does not apply */
	memset(sixty_four, 'a', 64);
	sixty_four[64] = '\0';
	canon_ok(sixty_four, sixty_four);

	/* rejections, with the exact detail */
	canon_err("", HM_EMPTY, "handle is empty");
	canon_err("@", HM_EMPTY, "handle is empty");
	canon_err("a b", HM_BAD_CHAR, "character U+0020 SPACE at position 2 is not allowed");
	canon_err("@a b", HM_BAD_CHAR, "character U+0020 SPACE at position 3 is not allowed");
	canon_err("@@elon", HM_BAD_CHAR,
			  "character U+0040 COMMERCIAL AT at position 2 is not allowed");
	canon_err("elon.musk", HM_BAD_CHAR,
			  "character U+002E FULL STOP at position 5 is not allowed");
	canon_err("a\tb", HM_BAD_CHAR,
			  "character U+0009 <control-0009> at position 2 is not allowed");
	canon_err("a\xE2\x80\x8B" "b", HM_BAD_CHAR,
			  "character U+200B ZERO WIDTH SPACE at position 2 is not allowed");
	canon_err("\xC3\xA9l\xE2\x80\x8D", HM_BAD_CHAR,
			  "character U+200D ZERO WIDTH JOINER at position 3 is not allowed");
	canon_err("\xEF\xAC\x81sh", HM_BAD_CHAR,
			  "character U+FB01 LATIN SMALL LIGATURE FI at position 1 is not allowed");
	canon_err("I\xE2\x99\xA5" "u", HM_BAD_CHAR,
			  "character U+2665 BLACK HEART SUIT at position 2 is not allowed");
	canon_err("\xD9\x80" "a", HM_BAD_CHAR,
			  "character U+0640 ARABIC TATWEEL at position 1 is not allowed");
	canon_err("\xC2\xB2", HM_BAD_CHAR,
			  "character U+00B2 SUPERSCRIPT TWO at position 1 is not allowed");
	canon_err("\xE1\x84\x80\xCC\x80\xE1\x85\xA1", HM_BAD_CHAR,
			  "character U+1100 HANGUL CHOSEONG KIYEOK at position 1 is not allowed: conjoining Hangul jamo must form a syllable");
	canon_err("\xD9\xA1\xDB\xB2", HM_BAD_CHAR,
			  "character U+06F2 EXTENDED ARABIC-INDIC DIGIT TWO at position 2 is not allowed: Arabic-Indic and extended Arabic-Indic digits cannot be mixed");
	canon_err("a\xD7\x90", HM_BIDI,
			  "character U+05D0 HEBREW LETTER ALEF at position 2 breaks the Bidi rule (RFC 5893): right-to-left characters cannot follow a left-to-right start");
	canon_err("\xD7\x90" "a", HM_BIDI,
			  "character U+0061 LATIN SMALL LETTER A at position 2 breaks the Bidi rule (RFC 5893): left-to-right characters cannot follow a right-to-left start");
	canon_err("\xD7\x90_", HM_BIDI,
			  "character U+005F LOW LINE at position 2 breaks the Bidi rule (RFC 5893): the handle must end with a letter or a digit");
	canon_err("1\xD7\x90", HM_BIDI,
			  "character U+0031 DIGIT ONE at position 1 breaks the Bidi rule (RFC 5893): a handle with right-to-left characters must begin with a letter");
	canon_err("\xC0\xAF", HM_BAD_ENCODING, "invalid UTF-8 byte sequence at position 1");
	canon_err("\xED\xA0\x80", HM_BAD_ENCODING, "invalid UTF-8 byte sequence at position 1");
	memset(sixty_five, 'a', 65);
	sixty_five[65] = '\0';
	canon_err(sixty_five, HM_TOO_LONG, "handle has 65 characters; at most 64 are allowed");

	/* confusable keys */
	key_is("elon_musk", "elon_rnusk");
	same_key("elon_musk", "eIon_musk");
	same_key("elon_musk", "e1on_musk");
	same_key("elon_musk", "EL0N_MUSK");
	same_key("elon_musk", "\xD0\xB5lon_musk");	/* Cyrillic е */
	same_key("g00gle", "google");
	same_key("apple", "\xD0\xB0\xD1\x80\xD1\x80\xD3\x8F\xD0\xB5");	/* аррӏе */
	same_key("vvikipedia", "wikipedia");
	same_key("cloud", "doud");
	key_is("\xD0\xB0\xD1\x80\xD1\x80\xD3\x8F\xD0\xB5", "apple");
	ascii_table_covers_icu_skeleton();

	/*
	 * Look-alikes ICU's skeleton joins and a casefold before it used to
	 * split (issue 11).  ß and Greek β: the skeleton of β is ß, which folds
	 * to ss, so all three meet.
	 */
	key_is("stra\xC3\x9F" "e", "strasse");
	key_is("stra\xCE\xB2" "e", "strasse");	/* Greek β */
	same_key("stra\xC3\x9F" "e", "stra\xCE\xB2" "e");
	same_key("Stra\xC3\x9F" "e", "strasse");
	/* stigma ϛ and final sigma ς: both end at the skeleton of σ, "o" */
	key_is("\xCF\x9B", "o");
	same_key("\xCF\x9B", "\xCF\x82");
	key_is("\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x9B", "o\xE1\xBA\x9Foo");	/* οδοϛ: δ -> ẟ */
	same_key("\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x9B", "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x82");
	/* Cherokee small letter a ꭰ (U+AB70), Latin small capital d ᴅ (U+1D05) */
	key_is("\xEA\xAD\xB0", "cl");
	same_key("\xEA\xAD\xB0", "\xE1\xB4\x85");
	same_key("\xE1\x8E\xA0", "\xE1\xB4\x85");	/* capital Ꭰ canonicalizes to ꭰ */
	same_key("\xE1\xB4\x85", "d");
	/* Cherokee small letter hu ꮁ (U+AB81) and r */
	key_is("\xEA\xAE\x81", "r");
	same_key("\xEA\xAE\x81" "oot", "root");
	same_key("\xE1\xB4\x87\xCA\x9F\xE1\xB4\x8F\xC9\xB4_\xE1\xB4\x8D\xE1\xB4\x9C\xEA\x9C\xB1\xE1\xB4\x8B",
			 "elon_musk");		/* ᴇʟᴏɴ_ᴍᴜꜱᴋ */
	small_capitals_read_as_letters();

	/*
	 * U+0307 after a soft-dotted letter is the letter's own dot: the key
	 * drops it, and precis (which lets it through) cannot split the pair.
	 */
	profile_is("precis", "eli\xCC\x87onmusk", NULL);
	key_is("eli\xCC\x87onmusk", "ellonrnusk");
	same_key("eli\xCC\x87onmusk", "elionmusk");
	same_key("\xC4\xB0stanbul", "istanbul");	/* İ -> i + U+0307 */
	same_key("j\xCC\x87", "j");
	same_key("\xD1\x96\xCC\x87", "\xD1\x96");	/* Cyrillic і */
	key_is("i\xCC\xA3\xCC\x87", "l\xCC\xA3");	/* a dot below does not come between */
	key_is("i\xCC\x81\xCC\x87", "l\xCC\x81\xCC\x87");	/* an acute above does */
	key_is("i\xCC\x87\xCC\x87", "l\xCC\x87");	/* the second dot shows */
	key_is("\xC8\xA7", "a\xCC\x87");	/* ȧ: a is not soft-dotted (keys are NFD) */

	equal_skeletons_share_keys();

	/* profiles */
	profile_is("x_classic", "elon_musk", NULL);
	profile_is("x_classic", "@Elon_Musk", NULL);
	profile_is("x_classic", "abc", "handle must have 4 to 15 characters; it has 3");
	profile_is("x_classic", "abcdefghijklmnop",
			   "handle must have 4 to 15 characters; it has 16");
	profile_is("x_classic", "\xD0\xB5lon_musk",
			   "character U+0435 CYRILLIC SMALL LETTER IE at position 1 is not allowed");
	profile_is("x_classic", "", "handle is empty");
	profile_is("precis", "\xD0\xB0\xD1\x80\xD1\x80\xD3\x8F\xD0\xB5", NULL);
	profile_is("precis", "Ren\xC3\xA9_2", NULL);
	profile_is("precis", "ab", "handle must have 3 to 30 characters; it has 2");
	profile_is("precis", "\xD0\xB0pple",
			   "handle mixes the scripts Cyrillic and Latin, which may not be mixed");
	profile_is("precis", "a b c", "character U+0020 SPACE at position 2 is not allowed");
	profile_is("precis", "abc\xD9\xA1" "1",
			   "character U+0661 ARABIC-INDIC DIGIT ONE at position 4 breaks the Bidi rule (RFC 5893): right-to-left characters cannot follow a left-to-right start");
	profile_is("precis", "ab\xE0\xA5\xA7",	/* ab१ */
			   "handle mixes the scripts Latin and Devanagari, which may not be mixed");

	lifecycle_tests();
	sweep_tests();

	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
