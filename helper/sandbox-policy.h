/* What the sandbox takes from a policy of the policy library (policy/policy.h): the compiled
 * seccomp filter and the plan (namespaces, mounts, environment, limits, capabilities, timeout).
 * This is the only place the helper talks to policy/: loading, checking and printing a policy
 * by name or file, and the search path for names. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <sys/resource.h>

#include "policy.h"

/* The profile a run gets without --policy. */
#define SANDBOX_POLICY_DEFAULT "build"

struct sandbox_policy {
	char *name;		  /* as the user gave it: a profile name or a file */
	scmp_filter_ctx filter;	  /* the command loads it last, after no_new_privs */
	struct policy_plan *plan; /* "~" expanded, mount paths normalized, limits clamped */
};

/* Load NAME_OR_FILE (a path if it has a '/' or ends in .policy or .json, else a profile name
 * looked up in the search path) and compile it for the invoking user's home directory.
 * Diagnostics are logged one per line, "file:line:column: message". Limits above this
 * process's hard limits are clamped (logged with --verbose). Returns 0, or -errno. */
int sandbox_policy_load(const char *name_or_file, struct sandbox_policy **ret);
void sandbox_policy_free(struct sandbox_policy *p);

/* --check-policy: load and compile everything a run would. Prints "NAME: ok" on OUT and
 * returns 0, or prints the diagnostics on ERR and returns 1. */
int sandbox_policy_check(const char *name_or_file, FILE *out, FILE *err);

/* --print-policy: the fully resolved policy in the policy format (policy_print). Returns 0,
 * or 1 after printing the diagnostics on ERR. */
int sandbox_policy_print(const char *name_or_file, FILE *out, FILE *err);

/* The directories profile names are looked up in, NULL-terminated and malloc'ed (free with
 * policy_strv_free): $ANTARES_POLICY_PATH when set, else $XDG_CONFIG_HOME/antares/policy,
 * /etc/antares/policy and the shipped profiles (the source tree's policy/profiles when this
 * program runs from its build tree, else the installed datadir). */
int sandbox_policy_search_path(char ***ret);

/* Lower L to what an unprivileged process can set: hard at most OWN's hard limit (raising it
 * needs CAP_SYS_RESOURCE on the host), soft at most hard. Returns true when L changed. */
bool sandbox_rlimit_clamp(struct policy_rlimit *l, const struct rlimit *own);

/* The policy's name for RLIMIT_* RESOURCE ("nofile"), for messages. */
const char *sandbox_rlimit_name(int resource);
