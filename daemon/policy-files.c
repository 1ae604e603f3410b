/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The clinic policy in force: /etc, else vendor, else built in. See
 * policy-files.h. */
#include <errno.h>

#include "policy-files.h"

int sgd_policy_load_first(const char *const *paths, size_t n,
			  struct sgd_policy **out, const char **used,
			  char *err, size_t errlen)
{
	const char *dummy;
	int r;

	if (!out)
		return -EINVAL;
	if (!used)
		used = &dummy;
	for (size_t i = 0; i < n; i++) {
		r = sgd_policy_load(paths[i], out, err, errlen);
		if (r != -ENOENT) {
			*used = paths[i];
			return r;
		}
	}
	*used = SGD_POLICY_BUILTIN;
	return sgd_policy_parse(SGD_POLICY_BUILTIN, sgd_policy_builtin,
				sgd_policy_builtin_len, out, err, errlen);
}
