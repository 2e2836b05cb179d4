/* The built-in default policy ("default"): a deny list of the system calls a build never needs
 * and a sandbox escape often does. Replaced by the policy library once it lands: only this
 * file's two functions change. */
#include "sandbox-policy.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>

#define DENY(n) { .name = n, .errnum = EPERM, .match = SYSCALL_ALWAYS }
#define DENY_IF(n, a, m, v)                                                                        \
	{ .name = n, .errnum = EPERM, .match = SYSCALL_ARG_MASKED, .arg = a, .mask = m, .value = v }

static const struct syscall_rule default_rules[] = {
	/* @mount: the view is built before the filter; the build may not change it. */
	DENY("mount"), DENY("umount"), DENY("umount2"), DENY("pivot_root"), DENY("fsopen"),
	DENY("fsconfig"), DENY("fsmount"), DENY("fspick"), DENY("move_mount"), DENY("open_tree"),
	DENY("mount_setattr"),
	/* A nested user namespace would hand the build a fresh set of capabilities. */
	DENY_IF("unshare", 0, CLONE_NEWUSER, CLONE_NEWUSER),
	DENY_IF("clone", 0, CLONE_NEWUSER, CLONE_NEWUSER),
	/* clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc fall back to
	 * clone, which the rule above inspects. */
	{ .name = "clone3", .errnum = ENOSYS, .match = SYSCALL_ALWAYS },
	/* Kernel keyrings are not namespaced; bpf and perf are large attack surfaces. */
	DENY("keyctl"), DENY("add_key"), DENY("request_key"), DENY("bpf"), DENY("perf_event_open"),
	DENY("userfaultfd"), DENY("ptrace"),
	DENY("kexec_load"), DENY("kexec_file_load"), DENY("init_module"), DENY("finit_module"),
	DENY("delete_module"), DENY("reboot"), DENY("swapon"), DENY("swapoff"),
	DENY("open_by_handle_at"),
	/* Typing into the terminal's input queue; the command is 32 bits, mask the rest. */
	DENY_IF("ioctl", 1, 0xffffffffu, TIOCSTI), DENY_IF("ioctl", 1, 0xffffffffu, TIOCLINUX),
};

static const char *const default_hide[] = { "~", "/run/user" };

static const struct sandbox_policy default_policy = {
	.name = "default",
	.origin = "built in",
	.rules = default_rules,
	.n_rules = sizeof(default_rules) / sizeof(default_rules[0]),
	.keep_caps = NULL,
	.n_keep_caps = 0,
	.net_none = false,
	.hide = default_hide,
	.n_hide = sizeof(default_hide) / sizeof(default_hide[0]),
};

int sandbox_policy_load(const char *name_or_file, const struct sandbox_policy **ret, char *err,
			size_t errlen)
{
	if (!name_or_file || !strcmp(name_or_file, "default")) {
		*ret = &default_policy;
		return 0;
	}
	if (strchr(name_or_file, '/') || strstr(name_or_file, ".policy")) {
		snprintf(err, errlen,
			 "policy %s: policy files are not supported yet: only the built-in "
			 "'default' policy exists until the policy library lands",
			 name_or_file);
		return -EOPNOTSUPP;
	}
	snprintf(err, errlen,
		 "policy %s: no such policy: the only built-in policy is 'default' (policy files "
		 "are not supported yet)",
		 name_or_file);
	return -ENOENT;
}

static const char *errno_name(int e)
{
	return e == EPERM ? "EPERM" : e == ENOSYS ? "ENOSYS" : "E?";
}

void sandbox_policy_print(const struct sandbox_policy *p, FILE *out)
{
	fprintf(out, "# policy %s (%s)\n", p->name, p->origin);
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct syscall_rule *r = &p->rules[i];
		if (r->match == SYSCALL_ALWAYS)
			fprintf(out, "syscall deny %s %s\n", r->name, errno_name(r->errnum));
		else
			fprintf(out, "syscall deny %s %s if arg%u & 0x%llx == 0x%llx\n", r->name,
				errno_name(r->errnum), r->arg, (unsigned long long)r->mask,
				(unsigned long long)r->value);
	}
	fprintf(out, "capabilities keep");
	for (size_t i = 0; i < p->n_keep_caps; i++)
		fprintf(out, " %s", p->keep_caps[i]);
	fprintf(out, "%s\n", p->n_keep_caps ? "" : " none");
	fprintf(out, "network %s\n", p->net_none ? "none" : "host");
	for (size_t i = 0; i < p->n_hide; i++)
		fprintf(out, "hide %s\n", p->hide[i]);
}
