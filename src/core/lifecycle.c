/*
 * src/core/lifecycle.c
 *	  The time arithmetic of a handle's lifecycle.
 */
#include "lifecycle.h"

#include <stddef.h>

int64_t
hm_time_add(int64_t a, int64_t b)
{
	int64_t		r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? HM_TIME_MAX : HM_TIME_MIN;
	return r;
}

bool
hm_is_inactive(int64_t last_active, int64_t as_of, int64_t inactive_after)
{
	return as_of >= hm_time_add(last_active, inactive_after);
}

hm_phase
hm_release_phase(int64_t released_at, int64_t as_of,
				 const hm_release_periods *p, int64_t *ends_at)
{
	int64_t		end = hm_time_add(released_at, p->redemption);

	if (as_of < end)
	{
		*ends_at = end;
		return HM_PHASE_REDEMPTION;
	}
	end = hm_time_add(end, p->quarantine);
	if (as_of < end)
	{
		*ends_at = end;
		return HM_PHASE_QUARANTINE;
	}
	end = hm_time_add(end, p->premium_decay);
	if (as_of < end)
	{
		*ends_at = end;
		return HM_PHASE_PREMIUM;
	}
	*ends_at = HM_TIME_MAX;
	return HM_PHASE_AVAILABLE;
}

const char *
hm_phase_name(hm_phase phase)
{
	switch (phase)
	{
		case HM_PHASE_REDEMPTION:
			return "redemption";
		case HM_PHASE_QUARANTINE:
			return "quarantine";
		case HM_PHASE_PREMIUM:
			return "premium";
		case HM_PHASE_AVAILABLE:
			break;
	}
	return "available";
}

hm_sweep_action
hm_sweep_decide(const hm_sweep_input *in)
{
	if (!in->at_risk)
		return !in->exempt && hm_is_inactive(in->last_active, in->as_of, in->inactive_after)
			? HM_SWEEP_NOTICE : HM_SWEEP_NONE;
	if (in->exempt || !hm_is_inactive(in->last_active, in->as_of, in->notice_inactive_after))
		return HM_SWEEP_REVERT;
	if (in->as_of >= hm_time_add(in->notice_at, in->notice_period))
		return HM_SWEEP_RELEASE;
	return HM_SWEEP_NONE;
}

const char *
hm_sweep_action_name(hm_sweep_action action)
{
	switch (action)
	{
		case HM_SWEEP_NOTICE:
			return "notice";
		case HM_SWEEP_REVERT:
			return "revert";
		case HM_SWEEP_RELEASE:
			return "release";
		case HM_SWEEP_NONE:
			break;
	}
	return NULL;
}
