/* What the sandbox takes from a policy: the seccomp rules, the capabilities kept, whether the
 * network is cut and which paths are hidden. This is the only interface between the helper and
 * policy; today default-policy.c provides it, later the policy library will (one file). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum syscall_match {
	SYSCALL_ALWAYS,    /* every call */
	SYSCALL_ARG_MASKED /* calls where (arg[ARG] & MASK) == VALUE */
};

struct syscall_rule {
	const char *name; /* as libseccomp spells it; unknown on an architecture = skipped */
	int errnum;       /* what the call returns instead of running */
	enum syscall_match match;
	unsigned arg;
	uint64_t mask, value;
};

struct sandbox_policy {
	const char *name;
	const char *origin; /* "built in", or the file it came from */
	const struct syscall_rule *rules;
	size_t n_rules;
	const char *const *keep_caps; /* capability names kept ("cap_chown"), none by default */
	size_t n_keep_caps;
	bool net_none;                /* a network namespace with only loopback */
	const char *const *hide;      /* paths replaced by an empty tmpfs; "~" is $HOME */
	size_t n_hide;
};

/* Resolve NAME_OR_FILE (NULL = the default) to a policy. Returns 0, -ENOENT for an unknown
 * name, -EOPNOTSUPP for a policy file (not supported until the policy library lands); ERR gets
 * the one-line reason. */
int sandbox_policy_load(const char *name_or_file, const struct sandbox_policy **ret, char *err,
			size_t errlen);

/* Print the resolved policy in the profile syntax of DESIGN.md section 5. */
void sandbox_policy_print(const struct sandbox_policy *p, FILE *out);
