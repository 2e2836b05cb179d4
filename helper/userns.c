/* User namespace creation and id mapping. The parent writes the maps because only a process
 * outside the namespace can map a range (through the setuid newuidmap), and doing it in one
 * place for both cases keeps the handshake single. */
#include "userns.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

const char *userns_hint(int r, char *buf, size_t len)
{
	char v[64] = "";
	if (r == -ENOSPC || r == -EUSERS) {
		read_small_file("/proc/sys/user/max_user_namespaces", v, sizeof(v));
		snprintf(buf, len,
			 "user namespaces are disabled or used up (user.max_user_namespaces=%s): "
			 "enable them with 'sysctl -w user.max_user_namespaces=15000'",
			 v[0] ? v : "?");
	} else if (r == -EPERM) {
		if (read_small_file("/proc/sys/kernel/unprivileged_userns_clone", v, sizeof(v)) == 0 &&
		    !strcmp(v, "0"))
			snprintf(buf, len, "unprivileged user namespaces are disabled: enable them "
					   "with 'sysctl -w kernel.unprivileged_userns_clone=1'");
		else if (read_small_file("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", v,
					 sizeof(v)) == 0 &&
			 !strcmp(v, "1"))
			snprintf(buf, len, "AppArmor restricts unprivileged user namespaces: allow "
					   "antares-sandbox in an AppArmor profile or set "
					   "kernel.apparmor_restrict_unprivileged_userns=0");
		else
			snprintf(buf, len, "something forbids unshare(CLONE_NEWUSER) here (a seccomp "
					   "filter of an outer container, or a chroot): run on the host");
	} else if (r == -EINVAL) {
		snprintf(buf, len, "the kernel lacks user namespaces (CONFIG_USER_NS)");
	} else {
		snprintf(buf, len, "see unshare(2)");
	}
	return buf;
}

int userns_subid_range(const char *file, unsigned long *start, unsigned long *count)
{
	struct passwd *pw = getpwuid(getuid());
	char uidstr[32], line[512];
	snprintf(uidstr, sizeof(uidstr), "%u", (unsigned)getuid());
	FILE *f = fopen(file, "re");
	if (!f)
		return -ENOENT;
	int r = -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		char *name = strtok(line, ":\n"), *s = strtok(NULL, ":\n"), *c = strtok(NULL, ":\n");
		if (!name || !s || !c)
			continue;
		if (strcmp(name, uidstr) && !(pw && !strcmp(name, pw->pw_name)))
			continue;
		*start = strtoul(s, NULL, 10);
		*count = strtoul(c, NULL, 10);
		r = *count > 0 ? 0 : -ENOENT;
		break;
	}
	fclose(f);
	return r;
}

const char *userns_find_helper(const char *name)
{
	static const char *const dirs[] = { "/usr/bin", "/bin", "/usr/local/bin", "/usr/sbin" };
	static char path[256];
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
		if (access(path, X_OK) == 0)
			return path;
	}
	return NULL;
}

void userns_format_map(char *buf, size_t len, unsigned long id, unsigned long outside,
		       unsigned long sub, unsigned long count)
{
	int n = 0;
	if (count == 0) {
		snprintf(buf, len, "%lu %lu 1\n", id, outside);
		return;
	}
	if (id > 0)
		n += snprintf(buf + n, len - (size_t)n, "0 %lu %lu\n", sub, id < count ? id : count);
	n += snprintf(buf + n, len - (size_t)n, "%lu %lu 1\n", id, outside);
	if (count > id)
		snprintf(buf + n, len - (size_t)n, "%lu %lu %lu\n", id + 1, sub + id, count - id);
}

/* Run newuidmap/newgidmap PID with the lines of MAP as arguments. */
static int run_map_helper(const char *name, pid_t pid, const char *map)
{
	const char *path = userns_find_helper(name);
	if (!path)
		return step_fail(-ENOENT, "install it (apt-get install uidmap) or drop --map-users",
				 "%s", name);
	char *argv[32], pidstr[32], copy[512];
	int argc = 0;
	snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	snprintf(copy, sizeof(copy), "%s", map);
	argv[argc++] = (char *)name;
	argv[argc++] = pidstr;
	for (char *save, *tok = strtok_r(copy, " \n", &save); tok && argc < 30;
	     tok = strtok_r(NULL, " \n", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	pid_t p = fork();
	if (p < 0)
		return negerrno();
	if (p == 0) {
		execv(path, argv);
		_exit(127);
	}
	int st;
	if (waitpid(p, &st, 0) < 0)
		return negerrno();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		log_error("%s failed (exit status %d, see its message above): check that %s has "
			  "a range in /etc/sub%cid (usermod --add-sub%cids 100000-165535 %s)",
			  name, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
			  getpwuid(getuid()) ? getpwuid(getuid())->pw_name : "you",
			  name[3] == 'u' ? 'u' : 'g', name[3] == 'u' ? 'u' : 'g',
			  getpwuid(getuid()) ? getpwuid(getuid())->pw_name : "USER");
		return -EPERM;
	}
	return 0;
}

static int write_map(pid_t pid, const char *file, const char *map)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	int r = write_small_file(path, map);
	if (r < 0)
		return step_fail(r, "see user_namespaces(7)", "write %s", path);
	return 0;
}

/* Map both ids. A range needs newuidmap (setuid) unless we are root on the host, who may
 * write any map; real root without a range maps the first 65536 ids onto themselves. */
static int map_ids(const struct idmap_config *cfg, pid_t pid)
{
	char umap[256], gmap[256];
	unsigned long us = 0, uc = 0, gs = 0, gc = 0;
	bool root = geteuid() == 0;
	if (cfg->map_users) {
		bool have = userns_subid_range("/etc/subuid", &us, &uc) == 0 &&
			    userns_subid_range("/etc/subgid", &gs, &gc) == 0;
		if (!have && !root)
			return step_fail(-ENOENT,
					 "add ranges with 'usermod --add-subuids 100000-165535 "
					 "--add-subgids 100000-165535 USER', or drop --map-users",
					 "--map-users: no subordinate ids in /etc/subuid and /etc/subgid");
		if (!have)
			us = gs = 1, uc = gc = 65535;
	}
	userns_format_map(umap, sizeof(umap), cfg->uid, getuid(), us, uc);
	userns_format_map(gmap, sizeof(gmap), cfg->gid, getgid(), gs, gc);
	log_info("uid map: %.*s", (int)strcspn(umap, "\n"), umap); /* first line: yours */
	if (cfg->map_users && !root) {
		int r = run_map_helper("newuidmap", pid, umap);
		return r < 0 ? r : run_map_helper("newgidmap", pid, gmap);
	}
	int r = write_map(pid, "uid_map", umap);
	if (r < 0)
		return r;
	/* An unprivileged single-id gid map requires setgroups to be denied first. */
	if (!cfg->map_users) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
		if ((r = write_small_file(path, "deny")) < 0)
			return step_fail(r, NULL, "write %s", path);
	}
	return write_map(pid, "gid_map", gmap);
}

static _Noreturn void child_main(int report_fd, int go_fd, pid_t parent, int flags,
				 int (*fn)(void *), void *arg)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(EXIT_SETUP_FAILED);
	int r = unshare(CLONE_NEWUSER | flags) < 0 ? negerrno() : 0;
	(void)!write(report_fd, &r, sizeof(r));
	close(report_fd);
	if (r < 0)
		_exit(EXIT_SETUP_FAILED);
	char c;
	if (read(go_fd, &c, 1) != 1) /* the parent could not map us and said why */
		_exit(EXIT_SETUP_FAILED);
	close(go_fd);
	_exit(fn(arg));
}

pid_t userns_spawn(const struct idmap_config *cfg, int extra_flags, int (*fn)(void *), void *arg)
{
	int report[2], go[2];
	if (pipe2(report, O_CLOEXEC) < 0)
		return step_fail(negerrno(), NULL, "pipe");
	if (pipe2(go, O_CLOEXEC) < 0) {
		close(report[0]), close(report[1]);
		return step_fail(negerrno(), NULL, "pipe");
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return step_fail(negerrno(), "too many processes? see ulimit -u", "fork");
	if (pid == 0) {
		close(report[0]), close(go[1]);
		child_main(report[1], go[0], parent, extra_flags, fn, arg);
	}
	close(report[1]), close(go[0]);
	int r = 0;
	if (read(report[0], &r, sizeof(r)) != sizeof(r))
		r = -ECHILD;
	close(report[0]);
	char hint[512];
	if (r < 0)
		step_fail(r, userns_hint(r, hint, sizeof(hint)), "create a user namespace");
	else
		r = map_ids(cfg, pid);
	if (r == 0 && write(go[1], "g", 1) != 1)
		r = negerrno();
	close(go[1]);
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return r;
	}
	return pid;
}
