/* pid 1 of the sandbox and the command it starts. pid 1 builds the root view in a mount
 * namespace of its own (so pivot_root cannot move the daemon's root), forks the command, then
 * only reaps, forwards signals and enforces the policy's timeout. The command hardens itself in
 * the order of DESIGN.md section 4 (limits, capabilities, no_new_privs, environment, the seccomp
 * filter last) and execs. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps.h"
#include "sandbox.h"
#include "seccomp.h"
#include "util.h"
#include "view.h"

struct init_args {
	const struct sandbox_config *cfg;
	int overlay_fd;
	const sigset_t *saved_mask;
};

/* Close every fd above 2 except those the user asked to pass (--keep-fd). */
static int close_stray_fds(const int *keep, size_t n)
{
	unsigned lo = 3;
	for (;;) {
		unsigned next = ~0u;
		for (size_t i = 0; i < n; i++)
			if ((unsigned)keep[i] >= lo && (unsigned)keep[i] < next)
				next = (unsigned)keep[i];
		if (next > lo && close_range(lo, next == ~0u ? ~0u : next - 1, 0) < 0)
			return step_fail(negerrno(), NULL, "close inherited file descriptors");
		if (next == ~0u)
			return 0;
		lo = next + 1;
	}
}

/* execvp, but telling "not found" (127) from "found, not executable" (126) the way a shell
 * does: a PATH directory we may not search is not a command we could not execute. */
static _Noreturn void exec_path(char *const *argv)
{
	const char *name = argv[0];
	int found_err = 0;
	if (strchr(name, '/')) {
		execv(name, argv);
		found_err = errno;
	} else {
		const char *path = getenv("PATH");
		for (const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin"; *p;) {
			size_t n = strcspn(p, ":");
			char full[4096];
			snprintf(full, sizeof(full), "%.*s%s%s", (int)n, p, n ? "/" : "", name);
			struct stat st;
			if (stat(full, &st) == 0 && !S_ISDIR(st.st_mode)) {
				execv(full, argv);
				if (!found_err || errno != EACCES)
					found_err = errno;
			}
			p += n + (p[n] == ':');
		}
	}
	if (!found_err || found_err == ENOENT) {
		log_error("%s: command not found in the sandbox", name);
		_exit(EXIT_NOT_FOUND);
	}
	log_error("%s: cannot execute: %s", name, strerror(found_err));
	_exit(EXIT_CANNOT_EXEC);
}

/* The policy's resource limits, already clamped to what we may set (sandbox-policy.c). */
static int set_limits(const struct policy_plan *plan)
{
	for (size_t i = 0; i < plan->n_rlimits; i++) {
		const struct policy_rlimit *l = &plan->rlimits[i];
		struct rlimit rl = { .rlim_cur = l->soft, .rlim_max = l->hard };
		if (setrlimit(l->resource, &rl) < 0)
			return step_fail(negerrno(), NULL, "set the policy's limit %s",
					 sandbox_rlimit_name(l->resource));
	}
	return 0;
}

static _Noreturn void exec_command(const struct sandbox_config *cfg, const sigset_t *saved)
{
	int r;
	if ((r = close_stray_fds(cfg->keep_fds, cfg->n_keep_fds)) < 0)
		_exit(EXIT_SETUP_FAILED);
	/* A session of its own: the build cannot push input into our terminal (TIOCSTI). */
	if (setsid() < 0)
		step_fail(negerrno(), NULL, "setsid"), _exit(EXIT_SETUP_FAILED);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != 1)
		_exit(EXIT_SETUP_FAILED);
	const struct policy_plan *plan = cfg->policy->plan;
	if (set_limits(plan) < 0 || caps_drop_except(plan->caps, plan->n_caps) < 0)
		_exit(EXIT_SETUP_FAILED);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		step_fail(negerrno(), NULL, "PR_SET_NO_NEW_PRIVS"), _exit(EXIT_SETUP_FAILED);
	if (cfg->envp)
		environ = cfg->envp; /* exec_path looks up PATH in the command's environment */
	if (seccomp_apply(cfg->policy->filter) < 0)
		_exit(EXIT_SETUP_FAILED);
	sigprocmask(SIG_SETMASK, saved, NULL);
	if (cfg->fn)
		_exit(cfg->fn(cfg->fn_arg));
	exec_path(cfg->argv);
}

static int init_run(const struct sandbox_config *cfg, int overlay_fd, const sigset_t *saved)
{
	/* pid 1 has neither the seccomp filter nor no_new_privs, yet runs with the command's
	 * credentials: while dumpable, the command could open /proc/1/mem for writing (or use
	 * process_vm_writev) and make pid 1 do what the filter refuses, and read the descriptors
	 * pid 1 holds through /proc/1/fd. Not dumpable, it is out of reach (the kernel then wants
	 * CAP_SYS_PTRACE in the host's namespace). The command inherits this until its execve,
	 * which makes it dumpable again, as it should be. */
	if (prctl(PR_SET_DUMPABLE, 0) < 0)
		return step_fail(negerrno(), NULL, "make pid 1 non-dumpable"), EXIT_SETUP_FAILED;
	if (unshare(CLONE_NEWNS) < 0)
		return step_fail(negerrno(), NULL, "create the sandbox's mount namespace");
	if (view_build_and_enter(cfg, overlay_fd) < 0)
		return EXIT_SETUP_FAILED;
	close(overlay_fd);
	log_info("root view ready; starting %s", cfg->fn ? "the probe" : cfg->argv[0]);
	pid_t pid = fork();
	if (pid < 0)
		return step_fail(negerrno(), NULL, "fork the command"), EXIT_SETUP_FAILED;
	if (pid == 0)
		exec_command(cfg, saved);
	/* pid 1 needs no privilege and no descriptor from here on: only wait and kill. What it
	 * inherited (the caller's descriptors above 2, --keep-fd ones) is the command's now. */
	if (close_range(3, ~0u, 0) < 0)
		log_warning("pid 1 could not close its descriptors: %s", strerror(errno));
	if (caps_drop_except(NULL, 0) < 0)
		log_warning("pid 1 kept its capabilities");
	sigset_t mask;
	sandbox_signal_set(&mask);
	sigaddset(&mask, SIGCHLD);
	pid_t group = -pid; /* the command leads its own session: signal all of it */
	/* The timeout is kept here, inside: the command cannot signal pid 1, and when pid 1
	 * returns the kernel kills whatever is left in the pid namespace. */
	return wait_forwarding(pid, &group, &mask, false, cfg->policy->plan->timeout_sec, NULL,
			       NULL);
}

pid_t init_start(const struct sandbox_config *cfg, int overlay_fd, const sigset_t *saved)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid < 0 ? step_fail(negerrno(), NULL, "fork pid 1") : pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	_exit(init_run(cfg, overlay_fd, saved));
}
