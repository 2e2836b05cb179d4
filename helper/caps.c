/* Capability dropping with libcap. The capabilities a policy keeps (policy_compile_caps) stay
 * in the bounding, permitted, effective and inheritable sets and are raised in the ambient set,
 * so they survive execve whether the command runs as uid 0 inside (bounding decides) or as
 * another id (ambient). Every other capability leaves every set. */
#include "caps.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "util.h"

static void cap_freep(char **p)
{
	cap_free(*p);
}
#define _cleanup_cap_free_ __attribute__((cleanup(cap_freep)))

static bool is_kept(cap_value_t c, const cap_value_t *keep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] == c)
			return true;
	return false;
}

int caps_drop_except(const cap_value_t *keep, size_t n_keep)
{
	if (n_keep > 64)
		return step_fail(-E2BIG, NULL, "capabilities: too many kept");
	/* Bounding first: dropping from it needs CAP_SETPCAP, which goes last. */
	for (cap_value_t c = 0; c < 64; c++) {
		if (is_kept(c, keep, n_keep))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability, whatever libcap knows */
			return step_fail(negerrno(), NULL, "drop capability %d from the bounding set",
					 c);
		}
	}
	if (cap_reset_ambient() < 0)
		return step_fail(negerrno(), NULL, "clear the ambient capability set");

	cap_t caps = cap_init();
	int r = 0;
	if (!caps)
		return step_fail(negerrno(), NULL, "cap_init");
	if (n_keep &&
	    (cap_set_flag(caps, CAP_EFFECTIVE, (int)n_keep, keep, CAP_SET) < 0 ||
	     cap_set_flag(caps, CAP_PERMITTED, (int)n_keep, keep, CAP_SET) < 0 ||
	     cap_set_flag(caps, CAP_INHERITABLE, (int)n_keep, keep, CAP_SET) < 0))
		r = negerrno();
	if (r == 0 && cap_set_proc(caps) < 0)
		r = negerrno();
	cap_free(caps);
	if (r < 0)
		return step_fail(r, NULL, "set the process capabilities");
	for (size_t i = 0; i < n_keep; i++)
		if (cap_set_ambient(keep[i], CAP_SET) < 0) {
			r = negerrno();
			_cleanup_cap_free_ char *name = cap_to_name(keep[i]);
			return step_fail(r, NULL, "raise ambient capability %s", name ? name : "?");
		}
	return 0;
}
