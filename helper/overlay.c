/* Mounting the project overlay. The FUSE mount is created detached (fsmount) and attached only
 * in the sandbox's own mount namespace, so the daemon's namespace never has anything over the
 * project path; the layers still travel as fds, opened before any mount existed. */
#include "overlay.h"

#include "../common/fuse_read.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mounts.h"
#include "util.h"

#ifndef ANTARES_OVERLAYD_PATH
#define ANTARES_OVERLAYD_PATH "/usr/local/bin/antares-overlayd"
#endif

const char *overlay_find_daemon(void)
{
	static char path[4096];
	const char *env = getenv("ANTARES_OVERLAYD");
	if (env && *env)
		return access(env, X_OK) == 0 ? env : NULL;
	char dir[4000];
	if (self_dir(dir, sizeof(dir)) == 0) {
		snprintf(path, sizeof(path), "%s/antares-overlayd", dir);
		if (access(path, X_OK) == 0)
			return path;
		snprintf(path, sizeof(path), "%s/../daemon/antares-overlayd", dir);
		if (access(path, X_OK) == 0)
			return path;
	}
	if (access(ANTARES_OVERLAYD_PATH, X_OK) == 0)
		return ANTARES_OVERLAYD_PATH;
	const char *p = getenv("PATH");
	while (p && *p) {
		size_t n = strcspn(p, ":");
		snprintf(path, sizeof(path), "%.*s/antares-overlayd", (int)n, p);
		if (n && access(path, X_OK) == 0)
			return path;
		p += n + (p[n] == ':');
	}
	return NULL;
}

int overlay_open_fuse(void)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	int r = negerrno();
	if (r == -ENOENT || r == -ENODEV || r == -ENXIO)
		return step_fail(r, "load the FUSE module (modprobe fuse) or install fuse3",
				 "open /dev/fuse");
	if (r == -EACCES || r == -EPERM)
		return step_fail(r,
				 "no access to /dev/fuse: it must be readable and writable by you "
				 "(distributions ship it as mode 0666: chmod 0666 /dev/fuse)",
				 "open /dev/fuse");
	return step_fail(r, NULL, "open /dev/fuse");
}

int overlay_mount_fuse(int fuse_fd, uid_t uid, gid_t gid)
{
	char fdopt[32], uidopt[32], gidopt[32], readopt[32];
	snprintf(fdopt, sizeof(fdopt), "fd=%d", fuse_fd);
	/* The daemon's default (common/fuse_read.h), which libfuse checks it repeats; not
	 * passed to it, so that an older daemon, which knows no max_read of its own, matches
	 * too. */
	snprintf(readopt, sizeof(readopt), "max_read=%u", ANTARES_MAX_READ);
	snprintf(uidopt, sizeof(uidopt), "user_id=%u", (unsigned)uid);
	snprintf(gidopt, sizeof(gidopt), "group_id=%u", (unsigned)gid);
	const char *opts[] = { "subtype=antares-overlayd", fdopt, "rootmode=40000", uidopt,
			       gidopt, "default_permissions", "allow_other", readopt, NULL };
	int mfd = mount_fs("fuse", "antares", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (mfd < 0)
		return step_fail(mfd,
				 mfd == -EPERM ? "this kernel does not allow FUSE mounts in a user "
						 "namespace (Linux >= 4.18 does)"
					       : "see 'antares-sandbox doctor'",
				 "mount FUSE in the user namespace");
	return mfd;
}

static _Noreturn void exec_daemon(const char *daemon, int fuse_fd,
				  const struct overlay_layers *l, bool verbose)
{
	char opts[8192], fdarg[16];
	int n = snprintf(opts, sizeof(opts), "lowerdir=");
	for (size_t i = 0; i < l->n_lower; i++)
		n += snprintf(opts + n, sizeof(opts) - (size_t)n, "%s/proc/self/fd/%d", i ? ":" : "",
			      l->lower_fds[i]);
	/* metacopy=on: the upper is the sandbox's private state, read by nothing but the daemon,
	 * so chmod -R or touch over a checkout need not copy any data. squash_unmapped: files of
	 * ids the namespace does not map (a checkout's group, say) must stay writable.
	 * writeback=0: a build opens and closes every header once per compiler run, and with the
	 * writeback cache each close() costs a FLUSH and the next stat() a GETATTR; without it
	 * the kernel opens files without asking the daemon at all (no OPEN, RELEASE or FLUSH),
	 * and a kernel subset compiles within 2 % of native, while a 1 GiB write is slower
	 * (doc/performance.md). */
	snprintf(opts + n, sizeof(opts) - (size_t)n,
		 ",upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d,metacopy=on,writeback=0,"
		 "squash_unmapped",
		 l->upper_fd, l->work_fd);
	snprintf(fdarg, sizeof(fdarg), "%d", fuse_fd);

	/* Hand over exactly these fds. Ours are O_CLOEXEC, but descriptors the caller left open
	 * for antares-sandbox (not O_CLOEXEC) would reach the daemon too: mark them all first. */
	int keep[70], nk = 0;
	keep[nk++] = fuse_fd, keep[nk++] = l->upper_fd, keep[nk++] = l->work_fd;
	for (size_t i = 0; i < l->n_lower; i++)
		keep[nk++] = l->lower_fds[i];
	if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
		log_warning("antares-overlayd may inherit stray descriptors: %s", strerror(errno));
	for (int i = 0; i < nk; i++)
		fcntl(keep[i], F_SETFD, 0);
	int devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0)
		dup2(devnull, STDIN_FILENO);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	const char *argv[] = { daemon, "--fd", fdarg, "-f", "-o", opts, "--log-level",
			       verbose ? "info" : "warning", NULL };
	log_info("start %s --fd %s -f -o %s", daemon, fdarg, opts);
	execv(daemon, (char **)argv);
	log_error("start %s: %s: set ANTARES_OVERLAYD to the daemon's path", daemon,
		  strerror(errno));
	_exit(EXIT_SETUP_FAILED);
}

int overlay_start_daemon(const char *daemon, int fuse_fd, const struct overlay_layers *layers,
			 bool verbose, pid_t *ret_pid)
{
	pid_t pid = fork();
	if (pid < 0)
		return step_fail(negerrno(), NULL, "fork antares-overlayd");
	if (pid == 0)
		exec_daemon(daemon, fuse_fd, layers, verbose);
	*ret_pid = pid;
	return 0;
}

int overlay_wait_ready(int mnt_fd, pid_t daemon)
{
	/* statfs always reaches the daemon (after its INIT reply); if the daemon dies first, the
	 * kernel aborts the connection, because only the daemon holds /dev/fuse now. */
	struct statfs sf;
	if (fstatfs(mnt_fd, &sf) == 0)
		return 0;
	int r = negerrno();
	int st = 0;
	pid_t p = 0;
	for (int i = 0; i < 100 && (p = waitpid(daemon, &st, WNOHANG)) == 0; i++)
		usleep(10000); /* it is exiting: it closed /dev/fuse */
	if (p == daemon)
		log_error("antares-overlayd exited (status %d) before serving the overlay: see its "
			  "message above",
			  WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	else
		step_fail(r, "see the daemon's messages above", "wait for antares-overlayd");
	return r;
}
