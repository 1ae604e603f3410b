// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the clinic policy parser, then the rules engine on
 * what it accepted. A refused file names "fuzz.conf:" and leaves the
 * output alone; an accepted one yields, for every region and a profile
 * with every condition, a finite limit in (0, absolute_max_n] named by a
 * valid winning reason.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "policy.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)

static struct sgd_profile prof;
static struct sgd_limits lim;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sgd_policy *pol = (struct sgd_policy *)&prof;	/* sentinel */
	char err[512], msg[256];
	int r;

	err[0] = '\0';
	r = sgd_policy_parse("fuzz.conf", (const char *)data, size, &pol, err,
			     sizeof(err));
	if (r) {
		ASSERT(r < 0);
		ASSERT(pol == (struct sgd_policy *)&prof);
		ASSERT(strncmp(err, "fuzz.conf:", 10) == 0);
		return 0;
	}
	ASSERT(pol->nregions > 0 && pol->nregions <= SGD_POLICY_MAX_REGIONS);
	ASSERT(isfinite(pol->absolute_max_n) && pol->absolute_max_n > 0);

	sgd_profile_init(&prof);
	strcpy(prof.patient_ref, "fuzz");
	for (size_t i = 0; i < pol->nconditions && i < SGD_PROFILE_MAX_CONDITIONS; i++)
		ASSERT(sgd_profile_add_condition(&prof, pol->conditions[i].name, msg,
						 sizeof(msg)) == SGD_PROFILE_OK);
	for (size_t i = 0; i < pol->nregions; i++) {
		const struct sgd_region *reg = &pol->regions[i];

		ASSERT(sgd_name_valid(reg->name));
		ASSERT(reg->cap_n > 0 && reg->cap_n <= pol->absolute_max_n);
		char site[SGD_REGION_MAX];

		/* a lateral region is treated on one side; without it refused */
		snprintf(site, sizeof(site), "%s%s", reg->name, reg->lateral ? ":left" : "");
		ASSERT((sgd_rules_evaluate(pol, &prof, reg->name, &lim, msg,
					   sizeof(msg)) == 0) == !reg->lateral);
		ASSERT(sgd_rules_evaluate(pol, &prof, site, &lim, msg,
					  sizeof(msg)) == 0);
		ASSERT(isfinite(lim.limit_n) && lim.limit_n > 0);
		ASSERT(lim.limit_n <= pol->absolute_max_n);
		ASSERT(lim.limit_n <= reg->cap_n);
		ASSERT(lim.winner < lim.nreasons);
		ASSERT(lim.reasons[lim.winner].cap_n == lim.limit_n);
		for (size_t k = 0; k < lim.nreasons; k++)
			ASSERT(lim.reasons[k].cap_n >= lim.limit_n);
		ASSERT((lim.verdict == SGD_VERDICT_CONTRAINDICATED) == (lim.ncontra > 0));
	}
	sgd_policy_free(pol);
	return 0;
}
