/*
 * src/core/lifecycle.h
 *	  The time arithmetic of a handle's lifecycle.  Times are microseconds on
 *	  any fixed epoch (PostgreSQL's TimestampTz fits as is); periods are
 *	  microseconds.
 *
 * Only what depends on an owner's behaviour (active -> at risk -> released)
 * is stored.  What follows a release (redemption -> quarantine -> premium ->
 * available) is a pure function of released_at, as_of and the periods of the
 * policy version in force when the handle was released.
 */
#ifndef HM_CORE_LIFECYCLE_H
#define HM_CORE_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

/* Saturating bounds, so "infinity" timestamps behave. */
#define HM_TIME_MIN INT64_MIN
#define HM_TIME_MAX INT64_MAX

typedef enum hm_phase
{
	HM_PHASE_REDEMPTION,		/* only the former owner may restore it */
	HM_PHASE_QUARANTINE,		/* nobody may take it */
	HM_PHASE_PREMIUM,			/* sold at a decaying premium */
	HM_PHASE_AVAILABLE			/* sold or registered at the base price */
} hm_phase;

typedef struct hm_release_periods
{
	int64_t		redemption;
	int64_t		quarantine;
	int64_t		premium_decay;
} hm_release_periods;

/* a + b, clamped to [HM_TIME_MIN, HM_TIME_MAX] */
int64_t		hm_time_add(int64_t a, int64_t b);

/* An owner is inactive once inactive_after has passed since last_active. */
bool		hm_is_inactive(int64_t last_active, int64_t as_of, int64_t inactive_after);

/*
 * The phase of a released handle at as_of, and when that phase ends
 * (HM_TIME_MAX for available, which does not end).  Each phase includes its
 * start and excludes its end.  An as_of before released_at counts as the
 * start of redemption: the answer is about the current release.
 */
hm_phase	hm_release_phase(int64_t released_at, int64_t as_of,
							 const hm_release_periods *periods, int64_t *ends_at);

/* "redemption", "quarantine", "premium", "available" */
const char *hm_phase_name(hm_phase phase);

/* What the release sweep does to one live, unheld handle. */
typedef enum hm_sweep_action
{
	HM_SWEEP_NONE,
	HM_SWEEP_NOTICE,			/* registered -> at_risk */
	HM_SWEEP_REVERT,			/* at_risk -> registered: active again or exempt */
	HM_SWEEP_RELEASE			/* at_risk -> released: the notice ran out */
} hm_sweep_action;

typedef struct hm_sweep_input
{
	bool		at_risk;		/* else registered */
	bool		exempt;			/* under the policy in force at as_of */
	int64_t		last_active;
	int64_t		as_of;
	int64_t		inactive_after; /* of the policy in force at as_of */
	/* at_risk only: the notice and the policy version it was given under */
	int64_t		notice_at;
	int64_t		notice_period;
	int64_t		notice_inactive_after;
} hm_sweep_input;

/*
 * A notice is judged by the policy it was given under, so a later version
 * never shortens a notice already running.
 */
hm_sweep_action hm_sweep_decide(const hm_sweep_input *in);

/* NULL for HM_SWEEP_NONE, else "notice", "revert", "release" */
const char *hm_sweep_action_name(hm_sweep_action action);

#endif
