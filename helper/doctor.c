/* The doctor's checks. Each runs where the sandbox would do the same thing: /dev/fuse is opened
 * and FUSE mounted inside a fresh user namespace (permissions there differ from the host's),
 * seccomp is tested by loading the default policy's real filter, and the last check is a real
 * sandbox run under that policy that writes a SQLite WAL database and copies a file up. */
#include "doctor.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "overlay.h"
#include "project.h"
#include "sandbox.h"
#include "seccomp.h"
#include "userns.h"
#include "util.h"

enum { P_USERNS, P_MAP, P_FUSE_OPEN, P_FUSE_MOUNT, P_N };

static int failures;

static void report(bool ok, const char *check, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void report(bool ok, const char *check, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s %s: ", ok ? "PASS" : "FAIL", check);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
	failures += !ok;
}

/* In a child: unshare, map ourselves, open /dev/fuse, mount FUSE; each result into R. */
static void probe_namespaces(int r[P_N])
{
	int p[2];
	for (int i = 0; i < P_N; i++)
		r[i] = 1; /* not reached */
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid_t uid = getuid(), gid = getgid();
	pid_t pid = fork();
	if (pid == 0) {
		int v[P_N] = { 1, 1, 1, 1 }, fd;
		char map[64];
		v[P_USERNS] = unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ? negerrno() : 0;
		if (v[P_USERNS] == 0) {
			snprintf(map, sizeof(map), "0 %d 1", (int)uid);
			v[P_MAP] = write_small_file("/proc/self/uid_map", map);
			snprintf(map, sizeof(map), "0 %d 1", (int)gid);
			if (v[P_MAP] == 0)
				v[P_MAP] = write_small_file("/proc/self/setgroups", "deny");
			if (v[P_MAP] == 0)
				v[P_MAP] = write_small_file("/proc/self/gid_map", map);
		}
		if (v[P_MAP] == 0) {
			fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
			v[P_FUSE_OPEN] = fd < 0 ? negerrno() : 0;
			if (fd >= 0) {
				int m = overlay_mount_fuse(fd, 0, 0);
				v[P_FUSE_MOUNT] = m < 0 ? m : 0;
			}
		}
		(void)!write(p[1], v, sizeof(v));
		_exit(0);
	}
	close(p[1]);
	if (pid > 0 && read(p[0], r, sizeof(int) * P_N) != (ssize_t)(sizeof(int) * P_N))
		r[P_USERNS] = -ECHILD;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void check_namespaces(int r[P_N])
{
	char hint[512], v[32] = "?";
	if (r[P_USERNS] < 0) {
		report(false, "user namespaces", "unshare(CLONE_NEWUSER): %s; fix: %s",
		       strerror(-r[P_USERNS]), userns_hint(r[P_USERNS], hint, sizeof(hint)));
	} else if (r[P_MAP] < 0) {
		report(false, "user namespaces", "writing the id map: %s; fix: see user_namespaces(7)",
		       strerror(-r[P_MAP]));
	} else {
		read_small_file("/proc/sys/user/max_user_namespaces", v, sizeof(v));
		report(true, "user namespaces", "created and mapped one (user.max_user_namespaces=%s)", v);
	}
	if (r[P_FUSE_OPEN] == 1)
		report(false, "/dev/fuse", "not checked: it is opened inside a user namespace");
	else if (r[P_FUSE_OPEN] < 0)
		report(false, "/dev/fuse", "open inside the user namespace: %s; fix: %s",
		       strerror(-r[P_FUSE_OPEN]),
		       r[P_FUSE_OPEN] == -ENOENT ? "modprobe fuse, or install fuse3"
						 : "make it mode 0666 (chmod 0666 /dev/fuse), as "
						   "distributions ship it");
	else
		report(true, "/dev/fuse", "opened read-write inside a user namespace");
	if (r[P_FUSE_MOUNT] == 1)
		report(false, "FUSE mount in a user namespace", "not checked: needs /dev/fuse");
	else if (r[P_FUSE_MOUNT] < 0)
		report(false, "FUSE mount in a user namespace", "%s; fix: Linux >= 4.18 allows it; "
		       "check that no security module forbids mounts in user namespaces",
		       strerror(-r[P_FUSE_MOUNT]));
	else
		report(true, "FUSE mount in a user namespace", "mounted FUSE on a /dev/fuse fd");
}

static void check_seccomp(const struct sandbox_policy *policy)
{
	if (!policy) {
		report(false, "seccomp", "the default policy '%s' could not be loaded (see above); "
		       "fix: install antares's profiles, or set ANTARES_POLICY_PATH to a directory "
		       "holding %s.policy", SANDBOX_POLICY_DEFAULT, SANDBOX_POLICY_DEFAULT);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDERR_FILENO); /* the verdict is the exit status */
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(2);
		if (seccomp_apply(policy->filter) < 0)
			_exit(3);
		_exit(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -1, 0) < 0 && errno == EPERM ? 0 : 4);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (code == 0)
		report(true, "seccomp", "loaded the %s policy's filter (every ABI of this machine): "
		       "keyctl() got EPERM", SANDBOX_POLICY_DEFAULT);
	else if (code == 3)
		report(false, "seccomp", "the kernel refused the filter; fix: a kernel with "
		       "CONFIG_SECCOMP_FILTER, and no outer sandbox forbidding seccomp");
	else
		report(false, "seccomp", "the filter loaded but did not deny keyctl (status %d); "
		       "fix: check the %s profile, or report this as a bug", code,
		       SANDBOX_POLICY_DEFAULT);
}

static bool helper_ok(const char *name, char *why, size_t len)
{
	const char *p = userns_find_helper(name);
	struct stat st;
	if (!p) {
		snprintf(why, len, "%s is not installed; fix: apt-get install uidmap", name);
		return false;
	}
	if (stat(p, &st) == 0 && !(st.st_mode & S_ISUID) &&
	    getxattr(p, "security.capability", NULL, 0) < 0) {
		snprintf(why, len, "%s is neither setuid nor has file capabilities; fix: reinstall "
			 "uidmap", p);
		return false;
	}
	return true;
}

static void check_newuidmap(void)
{
	char why[512];
	unsigned long s, c;
	const char *name = "newuidmap";
	if (getuid() == 0) {
		report(true, name, "running as root: ids are mapped directly, newuidmap is not needed");
		return;
	}
	if (!helper_ok("newuidmap", why, sizeof(why)) || !helper_ok("newgidmap", why, sizeof(why))) {
		report(false, name, "%s", why);
		return;
	}
	if (userns_subid_range("/etc/subuid", &s, &c) < 0 ||
	    userns_subid_range("/etc/subgid", &s, &c) < 0) {
		report(false, name, "no subordinate ids for uid %u in /etc/subuid and /etc/subgid; "
		       "fix: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 USER",
		       (unsigned)getuid());
		return;
	}
	report(true, name, "newuidmap and newgidmap are installed; %lu subordinate ids", c);
}

/* Runs inside the sandbox, fully hardened: what SQLite in WAL mode and a copy-up need. */
static int probe_in_sandbox(void *arg)
{
	(void)arg;
	sqlite3 *db;
	char *err = NULL;
	const char *sql = "PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES(42);";
	if (sqlite3_open("probe.db", &db) != SQLITE_OK ||
	    sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "sqlite: %s\n", err ? err : sqlite3_errmsg(db));
		return 10;
	}
	sqlite3_stmt *st;
	int ok = sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
		 sqlite3_step(st) == SQLITE_ROW &&
		 !strcmp((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	if (!ok || sqlite3_close(db) != SQLITE_OK)
		return 11;
	FILE *f = fopen("tracked", "a");
	if (!f || fputs("probe\n", f) < 0 || fclose(f) != 0)
		return 12;
	return 0;
}

static bool file_is(const char *dir, const char *name, const char *want)
{
	char p[8400], buf[256] = "";
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return !strcmp(buf, want);
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char p[8400];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "we");
	if (!f)
		return negerrno();
	fputs(text, f);
	return fclose(f) < 0 ? negerrno() : 0;
}

static int run_probe(const char *scratch, const struct sandbox_policy *policy, const char *overlayd,
		     bool verbose)
{
	char lower[4200], state[4200], upper[4300];
	snprintf(lower, sizeof(lower), "%s/lower", scratch);
	snprintf(state, sizeof(state), "%s/state", scratch);
	snprintf(upper, sizeof(upper), "%s/upper", state);
	if (mkdir(lower, 0755) < 0 || write_file(lower, "tracked", "lower\n") < 0)
		return 1;
	_cleanup_close_ int lock = project_state_open(state, lower, true, true);
	if (lock < 0)
		return 1;
	const struct policy_plan *plan = policy->plan;
	struct sandbox_config cfg = { .project = lower, .state_dir = state, .policy = policy,
				      .net_none = plan->net == POLICY_NET_NONE,
				      .map_users = plan->user_map == POLICY_USER_MAP_SUBID,
				      .uid = plan->uid, .gid = plan->gid, .overlayd = overlayd,
				      .cwd = lower, .fn = probe_in_sandbox, .verbose = verbose };
	int status = sandbox_run(&cfg);
	if (status != 0)
		return status;
	if (!file_is(lower, "tracked", "lower\n") || access(upper, F_OK) < 0)
		return 20;
	char db[4400];
	snprintf(db, sizeof(db), "%s/probe.db", lower);
	if (access(db, F_OK) == 0)
		return 21;
	snprintf(db, sizeof(db), "%s/probe.db", upper);
	if (access(db, F_OK) < 0 || !file_is(upper, "tracked", "lower\nprobe\n"))
		return 22;
	return 0;
}

static void check_end_to_end(const struct sandbox_policy *policy, const char *overlayd,
			     bool verbose, bool prerequisites)
{
	const char *check = "overlay probe";
	if (!prerequisites || !policy) {
		report(false, check, "not run: it needs the checks above to pass");
		return;
	}
	if (!overlayd) {
		report(false, check, "antares-overlayd not found; fix: install it beside "
		       "antares-sandbox or set ANTARES_OVERLAYD");
		return;
	}
	const char *tmp = getenv("TMPDIR");
	char scratch[4096];
	snprintf(scratch, sizeof(scratch), "%s/antares-doctor.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch)) {
		report(false, check, "mkdtemp %s: %s; fix: set TMPDIR to a writable directory",
		       scratch, strerror(errno));
		return;
	}
	int r = run_probe(scratch, policy, overlayd, verbose);
	rm_rf_at(AT_FDCWD, scratch);
	if (r == 0)
		report(true, check, "SQLite WAL database and a copy-up in a sandbox on a scratch "
		       "overlay; the lower layer is unchanged");
	else if (r >= 20)
		report(false, check, "the sandbox ran but the layers are wrong (check %d); fix: "
		       "report this as a bug", r);
	else if (r >= 10 && r < 20)
		report(false, check, "inside the sandbox, step %d failed (see above: 10 SQLite WAL, "
		       "11 WAL mode/close, 12 append = copy-up); fix: run with --verbose", r);
	else
		report(false, check, "the sandbox failed (exit status %d, see the message above); "
		       "fix: run 'antares-sandbox --verbose -- true' for each step", r);
}

int doctor_run(const char *overlayd, bool verbose)
{
	int r[P_N];
	struct sandbox_policy *policy = NULL;
	probe_namespaces(r);
	check_namespaces(r);
	if (sandbox_policy_load(SANDBOX_POLICY_DEFAULT, &policy) < 0)
		policy = NULL;
	check_seccomp(policy);
	check_newuidmap();
	check_end_to_end(policy, overlayd, verbose, r[P_FUSE_MOUNT] == 0);
	sandbox_policy_free(policy);
	if (failures)
		printf("doctor: %d check%s failed\n", failures, failures > 1 ? "s" : "");
	else
		printf("doctor: all checks passed\n");
	return failures ? 1 : 0;
}
