/* libseccomp filter construction. The default action is allow and the policy lists denials:
 * a build runs arbitrary toolchains, so an allow list would break them one syscall at a time,
 * while the dangerous calls are few and well known. Calls from an architecture not in the
 * filter kill the process (libseccomp's bad-arch action), so no ABI is left unfiltered. */
#include "seccomp.h"

#include <errno.h>
#include <seccomp.h>

#include "util.h"

static const uint32_t compat_arches[] = {
#if defined(__x86_64__)
	SCMP_ARCH_X86, SCMP_ARCH_X32,
#elif defined(__aarch64__)
	SCMP_ARCH_ARM,
#elif defined(__powerpc64__)
	SCMP_ARCH_PPC,
#elif defined(__s390x__)
	SCMP_ARCH_S390,
#endif
};

static int add_rule(scmp_filter_ctx ctx, const struct syscall_rule *r)
{
	int nr = seccomp_syscall_resolve_name(r->name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* not a call on this architecture: nothing to deny */
	uint32_t action = SCMP_ACT_ERRNO((uint16_t)r->errnum);
	if (r->match == SYSCALL_ALWAYS)
		return seccomp_rule_add(ctx, action, nr, 0);
	struct scmp_arg_cmp cmp = SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, r->mask, r->value);
	return seccomp_rule_add_array(ctx, action, nr, 1, &cmp);
}

int seccomp_apply(const struct sandbox_policy *policy)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return step_fail(-ENOMEM, NULL, "seccomp_init");
	int r = 0;
	for (size_t i = 0; r == 0 && i < sizeof(compat_arches) / sizeof(compat_arches[0]); i++) {
		r = seccomp_arch_add(ctx, compat_arches[i]);
		if (r == -EEXIST)
			r = 0;
	}
	if (r < 0) {
		seccomp_release(ctx);
		return step_fail(r, NULL, "seccomp: add a compat architecture");
	}
	for (size_t i = 0; i < policy->n_rules; i++) {
		r = add_rule(ctx, &policy->rules[i]);
		if (r < 0) {
			seccomp_release(ctx);
			return step_fail(r, "fix the policy", "seccomp rule for %s",
					 policy->rules[i].name);
		}
	}
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return step_fail(r, "the kernel needs CONFIG_SECCOMP_FILTER", "load the seccomp filter");
	return 0;
}
