/* antares-policy: check, print, or run a command under a sandbox policy's syscall filter.
 * Only argument parsing and wiring live here; everything else is the policy library. */
#include <errno.h>
#include <getopt.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "policy.h"

#ifndef POLICY_DIR
#define POLICY_DIR "/usr/share/antares/policy"
#endif

#define MAX_DIRS 16

static void usage(FILE *out)
{
	fputs("Usage: antares-policy [OPTIONS] check POLICY\n"
	      "       antares-policy [OPTIONS] print POLICY\n"
	      "       antares-policy [OPTIONS] exec POLICY -- COMMAND [ARG...]\n"
	      "\n"
	      "Check, print, or run a command under an Antares sandbox policy. POLICY is a file\n"
	      "(a path with '/', or ending in .policy or .json) or a profile name such as "
	      "'build'.\n"
	      "\n"
	      "Commands:\n"
	      "  check    load and compile the policy; report errors as file:line:column\n"
	      "  print    print the fully resolved policy (includes expanded, groups listed)\n"
	      "  exec     run COMMAND with no_new_privs and the policy's seccomp filter\n"
	      "\n"
	      "Options:\n"
	      "  -d, --policy-dir=DIR  look for profile names in DIR first (repeatable)\n"
	      "  -h, --help            show this help and exit\n"
	      "  -V, --version         show the version and exit\n"
	      "\n"
	      "Profile names are searched in the -d directories, then $XDG_CONFIG_HOME/antares/\n"
	      "policy (or ~/.config/antares/policy), /etc/antares/policy and " POLICY_DIR ".\n"
	      "Exit status: 0 success, 1 invalid policy, 2 usage error; exec: the command's.\n"
	      "See antares-policy(1) and antares-policy(5).\n",
	      out);
}

static int load(const char *name, const char *const *dirs, struct policy **ret)
{
	struct policy_loader loader = { .search_dirs = dirs };
	struct policy_diags diags = { 0 };
	int r = policy_load(name, &loader, ret, &diags);
	policy_diags_print(&diags, stderr);
	policy_diags_clear(&diags);
	if (r < 0 && r != -EINVAL)
		fprintf(stderr, "antares-policy: %s: %s\n", name, strerror(-r));
	return r;
}

/* Loads and compiles every part, so `check` finds what only compiling can (conflicting
 * conditional rules, paths that need a home directory). */
static int check(const char *name, const char *const *dirs)
{
	struct policy *p = NULL;
	struct policy_diags diags = { 0 };
	struct policy_plan *plan = NULL;
	scmp_filter_ctx ctx = NULL;
	int r = load(name, dirs, &p);
	if (r < 0)
		return 1;
	if ((r = policy_compile_seccomp(p, &ctx, &diags)) == 0)
		r = policy_plan_build(p, "/home/antares-check", &plan, &diags);
	policy_diags_print(&diags, stderr);
	policy_diags_clear(&diags);
	if (r < 0 && r != -EINVAL)
		fprintf(stderr, "antares-policy: %s: %s\n", name, strerror(-r));
	if (ctx)
		seccomp_release(ctx);
	policy_plan_free(plan);
	policy_free(p);
	if (r < 0)
		return 1;
	printf("%s: ok\n", name);
	return 0;
}

static int print(const char *name, const char *const *dirs)
{
	struct policy *p = NULL;
	if (load(name, dirs, &p) < 0)
		return 1;
	int r = policy_print(p, stdout);
	policy_free(p);
	return r < 0 || fflush(stdout) != 0 ? 1 : 0;
}

static int exec_under(const char *name, const char *const *dirs, char **argv)
{
	struct policy *p = NULL;
	struct policy_diags diags = { 0 };
	scmp_filter_ctx ctx;
	if (load(name, dirs, &p) < 0)
		return 1;
	int r = policy_compile_seccomp(p, &ctx, &diags);
	policy_diags_print(&diags, stderr);
	policy_diags_clear(&diags);
	policy_free(p);
	if (r < 0)
		return 1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || (r = seccomp_load(ctx)) < 0) {
		fprintf(stderr, "antares-policy: loading the seccomp filter: %s\n",
			strerror(r < 0 ? -r : errno));
		seccomp_release(ctx);
		return 1;
	}
	seccomp_release(ctx);
	execvp(argv[0], argv);
	fprintf(stderr, "antares-policy: %s: %s\n", argv[0], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

static int add_default_dirs(const char **dirs, size_t n, char *config)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(config, 4096, "%s/antares/policy", xdg);
	else if (home && *home)
		snprintf(config, 4096, "%s/.config/antares/policy", home);
	if (*config)
		dirs[n++] = config;
	dirs[n++] = "/etc/antares/policy";
	dirs[n++] = POLICY_DIR;
	dirs[n] = NULL;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *dirs[MAX_DIRS + 4];
	static char config[4096];
	size_t n_dirs = 0;
	int c;

	while ((c = getopt_long(argc, argv, "+d:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (n_dirs == MAX_DIRS) {
				fprintf(stderr, "antares-policy: too many --policy-dir options\n");
				return 2;
			}
			dirs[n_dirs++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("antares-policy %s\n", ANTARES_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	add_default_dirs(dirs, n_dirs, config);
	if (argc - optind < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind], *policy = argv[optind + 1];
	if (strcmp(cmd, "check") == 0 && argc - optind == 2)
		return check(policy, dirs);
	if (strcmp(cmd, "print") == 0 && argc - optind == 2)
		return print(policy, dirs);
	if (strcmp(cmd, "exec") == 0 && argc - optind >= 4 && strcmp(argv[optind + 2], "--") == 0)
		return exec_under(policy, dirs, argv + optind + 3);
	usage(stderr);
	return 2;
}
