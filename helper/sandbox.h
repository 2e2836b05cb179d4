/* antares-sandbox's run: the configuration main.c fills in, and the process tree of
 * DESIGN.md section 2 (parent -> setup child -> antares-overlayd | pid 1 -> command). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox-policy.h"

struct bind_mount {
	const char *src, *dst;
	bool readonly;
};

struct sandbox_config {
	const char *project;      /* absolute; the overlay appears here inside */
	const char *const *lowers; /* extra lower layers above the project, topmost first */
	size_t n_lowers;
	const char *state_dir;    /* holds upper/ and work/; ignored when ephemeral */
	bool ephemeral;           /* upper and work on a tmpfs thrown away at exit */
	const char *const *rootfs; /* image layers for "/", topmost first; none = host / */
	size_t n_rootfs;
	const struct bind_mount *binds;
	size_t n_binds;
	/* The policy's filter and plan; the four settings below are resolved from the command
	 * line and the policy (the command line wins), sandbox_run reads only them. */
	const struct sandbox_policy *policy;
	bool net_none;
	bool map_users;
	uid_t uid;
	gid_t gid;
	const int *keep_fds;
	size_t n_keep_fds;
	const char *overlayd;
	const char *state_hide;   /* hidden in the view: the live upper layers (NULL: none) */
	char **envp;              /* the command's environment (NULL: this process's) */
	const char *cwd;          /* where the command starts (falls back to the project) */
	char *const *argv;
	int (*fn)(void *arg);     /* run instead of argv, fully sandboxed (doctor's probe) */
	void *fn_arg;
	bool verbose;
};

/* Run the command in the sandbox; returns the exit status antares-sandbox should return. */
int sandbox_run(const struct sandbox_config *cfg);

/* Fork pid 1 (we must have unshared CLONE_NEWPID): it builds the view around the detached
 * overlay mount OVERLAY_FD and runs the command. Returns its pid or -errno. */
pid_t init_start(const struct sandbox_config *cfg, int overlay_fd, const sigset_t *saved_mask);

/* The signals every process of the tree forwards down to the command. */
void sandbox_signal_set(sigset_t *set);

/* Wait for MAIN, forwarding signals in MASK to FORWARD (-pgid for a group), reaping every other
 * child on the way (for pid 1 and the subreaper). On a second SIGINT/SIGTERM when ESCALATE,
 * MAIN gets SIGKILL. With TIMEOUT_SEC (0: none), FORWARD gets SIGTERM after that many seconds
 * and SIGKILL a grace period later, and the result is EXIT_TIMEOUT. OTHER, if set, hears of
 * other children. Returns a shell-style status. */
int wait_forwarding(pid_t main, pid_t *forward, const sigset_t *mask, bool escalate,
		    uint64_t timeout_sec, void (*other)(pid_t, int status, void *), void *ud);

/* Shell-style status (code, or 128+signal) of a wait(2) status. */
int status_of(int wstatus);
