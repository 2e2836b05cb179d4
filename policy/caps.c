/* The capability compiler: the capabilities a policy keeps, as a list (for the bounding and
 * ambient sets) and as a libcap state (permitted, effective, inheritable). */
#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>

#include "policy-internal.h"

int policy_compile_caps(const struct policy *p, cap_value_t **ret, size_t *ret_n)
{
	size_t n = 0;
	*ret = NULL;
	*ret_n = 0;
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		n += (p->caps >> c) & 1;
	if (n == 0)
		return 0;
	cap_value_t *v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = 0;
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if ((p->caps >> c) & 1)
			v[n++] = c;
	*ret = v;
	*ret_n = n;
	return 0;
}

int policy_compile_cap_state(const struct policy *p, cap_t *ret)
{
	cap_value_t *v;
	size_t n;
	int r = policy_compile_caps(p, &v, &n);
	if (r < 0)
		return r;
	cap_t caps = cap_init(); /* all sets empty */
	if (!caps) {
		free(v);
		return -ENOMEM;
	}
	if (n && (cap_set_flag(caps, CAP_PERMITTED, (int)n, v, CAP_SET) < 0 ||
		  cap_set_flag(caps, CAP_EFFECTIVE, (int)n, v, CAP_SET) < 0 ||
		  cap_set_flag(caps, CAP_INHERITABLE, (int)n, v, CAP_SET) < 0)) {
		free(v);
		cap_free(caps);
		return -EINVAL;
	}
	free(v);
	*ret = caps;
	return 0;
}
