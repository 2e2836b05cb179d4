/* Loading the policy's seccomp filter. The policy library builds it (every ABI of the host,
 * other architectures killed); the command loads it as its very last step before exec, after
 * no_new_privs, so nothing the sandbox itself still has to do is filtered. */
#include "seccomp.h"

#include <seccomp.h>

#include "util.h"

int seccomp_apply(scmp_filter_ctx filter)
{
	int r = seccomp_load(filter);
	if (r < 0)
		return step_fail(r, "the kernel needs CONFIG_SECCOMP_FILTER", "load the seccomp filter");
	return 0;
}
