/* The process tree of a run (DESIGN.md section 2). The parent stays on the host: it maps the
 * user namespace, forwards signals, and as a child subreaper waits until every descendant,
 * the daemon included, is gone. The setup child, in the new user and mount namespaces, mounts
 * the overlay, starts antares-overlayd, unshares the remaining namespaces and forks pid 1. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mounts.h"
#include "net.h"
#include "overlay.h"
#include "userns.h"
#include "util.h"

struct run {
	const struct sandbox_config *cfg;
	sigset_t mask, saved;
	pid_t daemon;
	int daemon_status; /* -1 while running */
};

void sandbox_signal_set(sigset_t *set)
{
	sigemptyset(set);
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(set, sigs[i]);
}

int status_of(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return EXIT_SETUP_FAILED;
}

static void forward(pid_t *target, int sig)
{
	/* A negative target is a process group that may not exist yet (before setsid). */
	if (kill(*target, sig) < 0 && errno == ESRCH && *target < 0)
		kill(-*target, sig);
}

/* After the policy's timeout: SIGTERM, then SIGKILL this long after, as a build that cleans up
 * on SIGTERM (make deletes half-written targets) needs a moment, and one that ignores it
 * must still end. */
#define TIMEOUT_GRACE_SEC 5

struct deadline {
	struct timespec at;
	int stage; /* 0 armed, 1 SIGTERM sent, 2 SIGKILL sent; -1 none */
};

static void deadline_arm(struct deadline *d, uint64_t sec)
{
	d->stage = -1;
	if (sec == 0 || sec > (uint64_t)INT32_MAX * 16) /* centuries: none, and no overflow */
		return;
	clock_gettime(CLOCK_MONOTONIC, &d->at);
	d->at.tv_sec += (time_t)sec;
	d->stage = 0;
}

/* Wait for a signal in MASK until D's next step is due; -1 with errno EAGAIN when it is. */
static int wait_signal(const sigset_t *mask, siginfo_t *si, const struct deadline *d)
{
	if (d->stage < 0 || d->stage >= 2)
		return sigwaitinfo(mask, si);
	struct timespec now, left;
	clock_gettime(CLOCK_MONOTONIC, &now);
	left.tv_sec = d->at.tv_sec - now.tv_sec;
	left.tv_nsec = d->at.tv_nsec - now.tv_nsec;
	if (left.tv_nsec < 0)
		left.tv_nsec += 1000000000L, left.tv_sec--;
	if (left.tv_sec < 0) {
		errno = EAGAIN;
		return -1;
	}
	return sigtimedwait(mask, si, &left);
}

static void deadline_step(struct deadline *d, pid_t main, pid_t *fwd, uint64_t timeout_sec)
{
	if (d->stage == 0) {
		log_error("the command ran longer than the policy's timeout of %llu s: stopping it "
			  "(exit status %d)",
			  (unsigned long long)timeout_sec, EXIT_TIMEOUT);
		forward(fwd, SIGTERM);
		d->at.tv_sec += TIMEOUT_GRACE_SEC;
	} else {
		log_warning("the command is still running %d s after SIGTERM: killing it",
			    TIMEOUT_GRACE_SEC);
		forward(fwd, SIGKILL);
		kill(main, SIGKILL);
	}
	d->stage++;
}

int wait_forwarding(pid_t main, pid_t *fwd, const sigset_t *mask, bool escalate,
		    uint64_t timeout_sec, void (*other)(pid_t, int, void *), void *ud)
{
	int stops = 0;
	struct deadline d;
	deadline_arm(&d, timeout_sec);
	for (;;) {
		siginfo_t si;
		int sig = wait_signal(mask, &si, &d);
		if (sig < 0) {
			if (errno == EAGAIN)
				deadline_step(&d, main, fwd, timeout_sec);
			continue; /* else EINTR */
		}
		if (sig != SIGCHLD) {
			log_info("forwarding signal %d", sig);
			forward(fwd, sig);
			if (escalate && (sig == SIGINT || sig == SIGTERM) && ++stops >= 2) {
				log_warning("second signal: killing the sandbox");
				kill(main, SIGKILL);
			}
			continue;
		}
		int st;
		pid_t p;
		while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
			if (p == main)
				return d.stage > 0 ? EXIT_TIMEOUT : status_of(st);
			if (other)
				other(p, st, ud);
		}
	}
}

/* Wait up to MS milliseconds for PID; then SIGTERM, then SIGKILL. Returns its status. */
static int wait_or_kill(pid_t pid, int ms)
{
	int st;
	for (int step = 0;; step++) {
		pid_t p = waitpid(pid, &st, WNOHANG);
		if (p == pid)
			return status_of(st);
		if (p < 0)
			return -1;
		if (step == ms / 10)
			kill(pid, SIGTERM);
		if (step == ms / 10 + 200)
			kill(pid, SIGKILL);
		usleep(10000);
	}
}

/* The daemon may exit just before pid 1 is reaped (pid 1's mount namespace, the overlay's last
 * mount, dies before pid 1 becomes a zombie), so only its status tells a crash apart. */
static void note_daemon(pid_t pid, int st, void *ud)
{
	struct run *run = ud;
	if (pid == run->daemon)
		run->daemon_status = status_of(st);
}

static int open_dir(const char *path, const char *what)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return step_fail(negerrno(), "check that the directory exists and is yours", "%s %s",
				 what, path);
	return fd;
}

/* Layers as fds, opened before any mount exists in this namespace. */
static int open_layers(const struct sandbox_config *cfg, struct overlay_layers *l)
{
	if (cfg->n_lowers + 1 > ARRAY_SIZE(l->lower_fds))
		return step_fail(-E2BIG, "use fewer --lower layers", "lower layers");
	for (size_t i = 0; i < cfg->n_lowers; i++)
		if ((l->lower_fds[l->n_lower++] = open_dir(cfg->lowers[i], "--lower")) < 0)
			return l->lower_fds[--l->n_lower];
	if ((l->lower_fds[l->n_lower++] = open_dir(cfg->project, "project directory")) < 0)
		return l->lower_fds[--l->n_lower];
	if (!cfg->ephemeral) {
		char up[4096], wk[4096];
		snprintf(up, sizeof(up), "%s/upper", cfg->state_dir);
		snprintf(wk, sizeof(wk), "%s/work", cfg->state_dir);
		if ((l->upper_fd = open_dir(up, "upper directory")) < 0)
			return l->upper_fd;
		return (l->work_fd = open_dir(wk, "work directory")) < 0 ? l->work_fd : 0;
	}
	/* --ephemeral: a detached tmpfs; it vanishes with the daemon's last fd on it. */
	const char *opts[] = { "mode=0755", NULL };
	_cleanup_close_ int tmp = mount_fs("tmpfs", "antares-upper", opts, 0);
	if (tmp < 0)
		return step_fail(tmp, NULL, "--ephemeral: create the tmpfs upper");
	if (mkdirat(tmp, "upper", 0755) < 0 || mkdirat(tmp, "work", 0700) < 0)
		return step_fail(negerrno(), NULL, "--ephemeral: create upper and work");
	l->upper_fd = openat(tmp, "upper", O_PATH | O_DIRECTORY | O_CLOEXEC);
	l->work_fd = openat(tmp, "work", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return l->upper_fd < 0 || l->work_fd < 0 ? step_fail(negerrno(), NULL, "--ephemeral") : 0;
}

static void close_layers(struct overlay_layers *l)
{
	for (size_t i = 0; i < l->n_lower; i++)
		closep(&l->lower_fds[i]);
	l->n_lower = 0;
	closep(&l->upper_fd);
	closep(&l->work_fd);
}

/* Mount the overlay and start its daemon. Returns the detached overlay mount fd. */
static int start_overlay(struct run *run)
{
	const struct sandbox_config *cfg = run->cfg;
	struct overlay_layers l = { .upper_fd = -1, .work_fd = -1 };
	int r = open_layers(cfg, &l);
	if (r < 0) {
		close_layers(&l);
		return r;
	}
	_cleanup_close_ int fuse = overlay_open_fuse();
	if (fuse < 0) {
		close_layers(&l);
		return fuse;
	}
	log_info("opened /dev/fuse");
	int mnt = overlay_mount_fuse(fuse, cfg->uid, cfg->gid);
	if (mnt >= 0)
		r = overlay_start_daemon(cfg->overlayd, fuse, &l, cfg->verbose, &run->daemon);
	close_layers(&l);
	if (mnt < 0 || r < 0) {
		closep(&mnt);
		return mnt < 0 ? mnt : r;
	}
	closep(&fuse); /* the daemon alone holds the connection: if it dies, the mount aborts */
	if ((r = overlay_wait_ready(mnt, run->daemon)) < 0) {
		close(mnt);
		return r;
	}
	log_info("antares-overlayd (pid %d) serves the overlay", (int)run->daemon);
	return mnt;
}

/* The namespaces the policy (and --net) ask for besides user and mount: pid always; ipc, uts
 * unless shared with the host; network for --net none / net = none, with loopback up. */
static int unshare_namespaces(const struct sandbox_config *cfg)
{
	const struct policy_plan *plan = cfg->policy->plan;
	bool ipc = plan->ipc == POLICY_SHARE_PRIVATE, uts = plan->uts == POLICY_SHARE_PRIVATE;
	int flags = CLONE_NEWPID | (ipc ? CLONE_NEWIPC : 0) | (uts ? CLONE_NEWUTS : 0) |
		    (cfg->net_none ? CLONE_NEWNET : 0);
	if (unshare(flags) < 0)
		return step_fail(negerrno(), NULL, "create the pid%s%s%s namespaces",
				 ipc ? ", ipc" : "", uts ? ", uts" : "", cfg->net_none ? ", network" : "");
	log_info("new pid%s%s%s namespaces", ipc ? ", ipc" : "", uts ? ", uts" : "",
		 cfg->net_none ? ", network" : "");
	if (uts && plan->hostname && sethostname(plan->hostname, strlen(plan->hostname)) < 0)
		return step_fail(negerrno(), NULL, "set the host name %s", plan->hostname);
	return cfg->net_none ? net_loopback_up() : 0;
}

static int setup_main(void *arg)
{
	struct run *run = arg;
	const struct sandbox_config *cfg = run->cfg;
	run->daemon = -1;
	run->daemon_status = -1;
	log_info("in a new user and mount namespace");
	/* Nothing we mount may propagate back, nor host mounts appear in the sandbox later. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return step_fail(negerrno(), NULL, "make / private"), EXIT_SETUP_FAILED;
	int mnt = start_overlay(run);
	if (mnt < 0)
		goto fail;
	if (unshare_namespaces(cfg) < 0)
		goto fail;
	pid_t init = init_start(cfg, mnt, &run->saved);
	close(mnt); /* pid 1 holds the overlay now; it dies with pid 1's mount namespace */
	if (init < 0)
		goto fail;
	pid_t fwd = init;
	int status = wait_forwarding(init, &fwd, &run->mask, false, 0, note_daemon, run);
	log_info("pid 1 exited with status %d; waiting for antares-overlayd", status);
	if (run->daemon_status < 0)
		run->daemon_status = wait_or_kill(run->daemon, 10000);
	if (run->daemon_status != 0)
		log_error("antares-overlayd failed (exit status %d, see its messages above): "
			  "the command may have seen I/O errors in %s",
			  run->daemon_status, cfg->project);
	return status;
fail:
	if (run->daemon > 0 && run->daemon_status < 0)
		wait_or_kill(run->daemon, 0);
	return EXIT_SETUP_FAILED;
}

/* As a subreaper we inherit the daemon if the setup child dies first: wait for everyone. */
static void reap_all(void)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t p = waitpid(-1, NULL, WNOHANG);
		if (p < 0)
			return; /* ECHILD: nothing left */
		if (p > 0)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= 5) {
			log_warning("killing leftover processes");
			char path[64], buf[4096];
			snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
			if (read_small_file(path, buf, sizeof(buf)) == 0)
				for (char *s, *t = strtok_r(buf, " ", &s); t; t = strtok_r(NULL, " ", &s))
					kill((pid_t)atoi(t), SIGKILL);
		}
		usleep(10000);
	}
}

int sandbox_run(const struct sandbox_config *cfg)
{
	struct run run = { .cfg = cfg };
	sandbox_signal_set(&run.mask);
	sigaddset(&run.mask, SIGCHLD);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_BLOCK, &run.mask, &run.saved);
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	struct idmap_config idm = { .uid = cfg->uid, .gid = cfg->gid, .map_users = cfg->map_users };
	pid_t pid = userns_spawn(&idm, CLONE_NEWNS, setup_main, &run);
	int status = EXIT_SETUP_FAILED;
	if (pid > 0) {
		pid_t fwd = pid;
		status = wait_forwarding(pid, &fwd, &run.mask, true, 0, NULL, NULL);
	}
	reap_all();
	sigprocmask(SIG_SETMASK, &run.saved, NULL);
	return status;
}
