/* attack-probe: the escape and leak attempts of the sandbox attack battery
 * (tests/integration/sandbox-attacks*.sh), one per subcommand, plus the helpers they need
 * outside the sandbox (a pty to run under, socket listeners, file handles, id reports).
 *
 * An attempt prints one line: "OK" (or "OK:detail") when the call succeeded, else the errno's
 * name, and exits 0; the tests decide what is expected. Nothing here writes to a kernel
 * interface: files are only opened for writing, never written, so a sandbox that fails to
 * stop an attempt is reported without the attempt doing anything. Exit 2 = bad usage. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int result(long r)
{
	printf("%s\n", r < 0 ? strerrorname_np(errno) : "OK");
	return 0;
}

static _Noreturn void usage(const char *msg)
{
	fprintf(stderr, "attack-probe: %s (see the comment in tests/tools/attack-probe.c)\n", msg);
	exit(2);
}

/* --- The terminal. ------------------------------------------------------------------------ */

/* Push TEXT into the input queue of the terminal on FD, one character at a time. */
static int sti(int fd, const char *text)
{
	for (const char *c = text; *c; c++)
		if (ioctl(fd, TIOCSTI, c) < 0)
			return result(-1);
	return result(0);
}

static int tiocsti_devtty(const char *text)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return printf("open-/dev/tty:%s\n", strerrorname_np(errno)), 0;
	return sti(fd, text);
}

/* Become a session leader and take the terminal on fd 0 as controlling terminal (stealing
 * it from its session if need be), then push TEXT: a way around the sandbox's setsid(). */
static int steal_tty(const char *text)
{
	pid_t p = fork();
	if (p == 0) {
		setsid();
		if (ioctl(0, TIOCSCTTY, 1) < 0 && ioctl(0, TIOCSCTTY, 0) < 0) {
			printf("%s\n", strerrorname_np(errno));
		} else {
			printf("sctty-ok-then-");
			sti(0, text);
		}
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	return 0;
}

static int tioclinux(void)
{
	char sub = 12; /* TIOCL_GETFGCONSOLE: read-only, the harmless way to reach TIOCLINUX */
	return result(ioctl(0, TIOCLINUX, &sub));
}

/* pty-run CMD...: run CMD with a new pseudo-terminal as its controlling terminal and copy
 * what the terminal shows (output, and the echo of any input) to stdout. Exits with CMD's
 * status. Outside the sandbox only. */
static int pty_run(char **argv)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		return perror("attack-probe: pty"), 1;
	const char *slave = ptsname(m);
	pid_t pid = fork();
	if (pid == 0) {
		int s;
		if (setsid() < 0 || (s = open(slave, O_RDWR)) < 0 || ioctl(s, TIOCSCTTY, 0) < 0)
			_exit(121);
		dup2(s, 0), dup2(s, 1), dup2(s, 2);
		if (s > 2)
			close(s);
		execvp(argv[0], argv);
		_exit(127);
	}
	int st = 0;
	bool done = false;
	char buf[4096];
	for (;;) {
		struct pollfd p = { .fd = m, .events = POLLIN };
		int n = poll(&p, 1, done ? 0 : 100);
		if (n > 0) {
			ssize_t k = read(m, buf, sizeof(buf));
			if (k <= 0)
				break; /* EIO: every holder of the slave is gone */
			fwrite(buf, 1, (size_t)k, stdout);
			continue;
		}
		if (done)
			break; /* drained after the command ended */
		done = waitpid(pid, &st, WNOHANG) == pid;
	}
	if (!done)
		waitpid(pid, &st, 0);
	fflush(stdout);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* --- Other processes. --------------------------------------------------------------------- */

static int proc_mem(pid_t pid, int flags)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int fd = open(path, flags | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return result(fd);
}

/* The descriptors of another process, as "OK:0 1 2" or the errno of listing them. */
static int proc_fds(const char *pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	DIR *d = opendir(path);
	if (!d)
		return result(-1);
	char out[4096] = "";
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.' && (strcmp(pid, "self") || atoi(e->d_name) != dirfd(d)))
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", n ? " " : "", e->d_name);
	closedir(d);
	printf("%s%s\n", strcmp(pid, "self") ? "OK:" : "", out);
	return 0;
}

static int read_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return result(-1);
	char buf[64];
	ssize_t k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (k < 0)
		return printf("read:%s\n", strerrorname_np(errno)), 0;
	buf[k] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return printf("OK:%s\n", buf), 0;
}

/* --- File handles. ------------------------------------------------------------------------ */

/* A struct file_handle with room for any handle; BYTES are its f_handle. */
struct handle {
	_Alignas(struct file_handle) unsigned char raw[sizeof(struct file_handle) + MAX_HANDLE_SZ];
};
#define HANDLE(x) ((struct file_handle *)(x)->raw)
#define BYTES(x) ((x)->raw + offsetof(struct file_handle, f_handle))

static int handle_name(const char *path)
{
	struct handle fh = { 0 };
	HANDLE(&fh)->handle_bytes = MAX_HANDLE_SZ;
	int mnt;
	if (name_to_handle_at(AT_FDCWD, path, HANDLE(&fh), &mnt, 0) < 0)
		return perror("attack-probe: name_to_handle_at"), 1;
	printf("%d:", HANDLE(&fh)->handle_type);
	for (unsigned i = 0; i < HANDLE(&fh)->handle_bytes; i++)
		printf("%02x", BYTES(&fh)[i]);
	printf("\n");
	return 0;
}

/* Open the handle TYPE:HEX relative to the file system of MOUNTPATH and show what it reads. */
static int handle_open(const char *mountpath, const char *spec)
{
	struct handle fh = { 0 };
	struct file_handle *h = HANDLE(&fh);
	char *hex;
	h->handle_type = (int)strtol(spec, &hex, 10);
	if (*hex++ != ':')
		usage("handle-open MOUNTPATH TYPE:HEX");
	for (; hex[0] && hex[1] && h->handle_bytes < MAX_HANDLE_SZ; hex += 2)
		sscanf(hex, "%2hhx", &BYTES(&fh)[h->handle_bytes++]);
	int mfd = open(mountpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return printf("open-mount:%s\n", strerrorname_np(errno)), 0;
	int fd = open_by_handle_at(mfd, h, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return result(-1);
	char buf[64];
	ssize_t k = read(fd, buf, sizeof(buf) - 1);
	buf[k > 0 ? k : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return printf("OK:%s\n", buf), 0;
}

/* --- Namespaces and mounts. --------------------------------------------------------------- */

static int do_unshare(const char *what)
{
	static const struct { const char *name; int flag; } ns[] = {
		{ "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS }, { "net", CLONE_NEWNET },
		{ "pid", CLONE_NEWPID },   { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS },
		{ "cgroup", CLONE_NEWCGROUP },
	};
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		if (!strcmp(what, ns[i].name))
			return result(unshare(ns[i].flag));
	usage("unshare user|mnt|net|pid|ipc|uts|cgroup");
}

/* A new user namespace through clone or clone3 (whose flags seccomp cannot see). */
static int clone_user(bool v3)
{
	long r;
	if (v3) {
		struct clone_args a = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };
		r = syscall(SYS_clone3, &a, sizeof(a));
	} else {
		r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	}
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return result(r);
}

static int mount_call(const char *what, const char *arg)
{
	if (!strcmp(what, "mount"))
		return result(mount("none", arg ? arg : "/tmp", "tmpfs", 0, NULL));
	if (!strcmp(what, "remount-rw")) /* make a read-only mount writable */
		return result(mount(NULL, arg ? arg : "/", NULL, MS_REMOUNT | MS_BIND, NULL));
	if (!strcmp(what, "umount"))
		return result(umount2(arg ? arg : "/tmp", MNT_DETACH));
	if (!strcmp(what, "pivot-root")) {
		if (chdir(arg ? arg : "/") < 0)
			return result(-1);
		return result(syscall(SYS_pivot_root, ".", "."));
	}
	if (!strcmp(what, "fsopen"))
		return result(syscall(SYS_fsopen, "tmpfs", 0));
	if (!strcmp(what, "open-tree"))
		return result(syscall(SYS_open_tree, AT_FDCWD, arg ? arg : "/",
				      1 /* OPEN_TREE_CLONE */ | AT_RECURSIVE));
	usage("unknown mount call");
}

/* --- Kernel facilities. ------------------------------------------------------------------- */

static int kernel_call(const char *what)
{
	if (!strcmp(what, "keyctl"))
		return result(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
	if (!strcmp(what, "add-key"))
		return result(syscall(SYS_add_key, "user", "antares-probe", "x", 1,
				      KEY_SPEC_PROCESS_KEYRING));
	if (!strcmp(what, "request-key")) /* ENOKEY when allowed: there is no such key */
		return result(syscall(SYS_request_key, "user", "antares-probe-none", NULL,
				      KEY_SPEC_PROCESS_KEYRING));
	if (!strcmp(what, "bpf")) {
		union bpf_attr a = { .map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4,
				     .max_entries = 1 };
		return result(syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a)));
	}
	if (!strcmp(what, "perf")) { /* our own task clock: what an unprivileged user may do */
		struct perf_event_attr a = { .type = PERF_TYPE_SOFTWARE, .size = sizeof(a),
					     .config = PERF_COUNT_SW_TASK_CLOCK, .disabled = 1,
					     .exclude_kernel = 1, .exclude_hv = 1 };
		return result(syscall(SYS_perf_event_open, &a, 0, -1, -1, 0));
	}
	if (!strcmp(what, "userfaultfd")) /* user-mode-only faults need no privilege */
		return result(syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));
	usage("unknown kernel call");
}

/* --- Files. ------------------------------------------------------------------------------- */

/* Open for writing and close again: whether the kernel would accept a write, without one. */
static int open_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return result(fd);
}

static int scan_found;

static int scan_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	const char *base = path + ftw->base;
	if (type == FTW_D && ftw->level == 1 &&
	    (strspn(base, "0123456789") == strlen(base) || !strcmp(base, "self") ||
	     !strcmp(base, "thread-self")))
		return FTW_SKIP_SUBTREE; /* per-process files: our own */
	if (type != FTW_F || !S_ISREG(st->st_mode) || !(st->st_mode & 0222))
		return FTW_CONTINUE;
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		printf("writable %s\n", path);
		scan_found++;
	}
	return FTW_CONTINUE;
}

/* Every file under DIR (per-process directories left out) that opens for writing. */
static int writable_scan(const char *dir)
{
	nftw(dir, scan_one, 32, FTW_PHYS | FTW_ACTIONRETVAL);
	printf("%d writable\n", scan_found);
	return 0;
}

/* Real, effective and saved ids and the effective and permitted capabilities. */
static int ids(void)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	char line[256], eff[32] = "?", prm[32] = "?";
	FILE *f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "CapEff: %31s", eff);
		sscanf(line, "CapPrm: %31s", prm);
	}
	if (f)
		fclose(f);
	printf("uid=%u,%u,%u gid=%u,%u,%u capeff=%s capprm=%s\n", ru, eu, su, rg, eg, sg, eff, prm);
	return 0;
}

/* --- Sockets. ----------------------------------------------------------------------------- */

static socklen_t unix_addr(struct sockaddr_un *a, const char *name, bool abstract)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	size_t n = strlen(name);
	if (n + 1 >= sizeof(a->sun_path))
		usage("socket name too long");
	memcpy(a->sun_path + abstract, name, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + abstract + n);
}

static int sock_connect(const char *name, bool abstract)
{
	struct sockaddr_un a;
	socklen_t len = unix_addr(&a, name, abstract);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, len) < 0)
		return result(-1);
	char buf[128];
	ssize_t k = read(s, buf, sizeof(buf) - 1);
	buf[k > 0 ? k : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return printf("OK:%s\n", buf), 0;
}

/* Accept forever, telling each client who it is as the kernel sees it (SO_PEERCRED: the
 * ids of the host, whatever namespace the client is in). READY is created once listening. */
static int sock_listen(const char *name, bool abstract, const char *ready)
{
	struct sockaddr_un a;
	socklen_t len = unix_addr(&a, name, abstract);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, len) < 0 || listen(s, 8) < 0)
		return perror("attack-probe: listen"), 1;
	if (!abstract)
		chmod(name, 0777);
	close(open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	for (;;) {
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		struct ucred cr;
		socklen_t cl = sizeof(cr);
		char msg[64];
		getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &cl);
		int n = snprintf(msg, sizeof(msg), "reached-host-listener peer-uid=%u\n", cr.uid);
		if (write(c, msg, (size_t)n) < 0)
			perror("attack-probe: reply");
		close(c);
	}
}

/* TCP on the loopback address: listen on a free port (written to READY) / connect to it. */
static int tcp_listen(const char *ready)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, len) < 0 || listen(s, 8) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) < 0)
		return perror("attack-probe: tcp listen"), 1;
	FILE *f = fopen(ready, "we");
	if (!f)
		return perror("attack-probe: ready file"), 1;
	fprintf(f, "%u\n", ntohs(a.sin_port));
	fclose(f);
	for (;;) {
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		if (write(c, "reached-host-listener\n", 22) < 0)
			perror("attack-probe: reply");
		close(c);
	}
}

static int tcp_connect(const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return result(-1);
	char buf[128];
	ssize_t k = read(s, buf, sizeof(buf) - 1);
	buf[k > 0 ? k : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return printf("OK:%s\n", buf), 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage("missing subcommand");
	const char *cmd = argv[1], *a1 = argc > 2 ? argv[2] : NULL, *a2 = argc > 3 ? argv[3] : NULL;
#define NEED(n) if (argc < 2 + (n)) usage("missing argument")
	if (!strcmp(cmd, "tiocsti")) { NEED(1); return sti(0, a1); }
	if (!strcmp(cmd, "tiocsti-devtty")) { NEED(1); return tiocsti_devtty(a1); }
	if (!strcmp(cmd, "tioclinux")) return tioclinux();
	if (!strcmp(cmd, "steal-tty")) { NEED(1); return steal_tty(a1); }
	if (!strcmp(cmd, "pty-run")) { NEED(1); return pty_run(argv + 2); }
	if (!strcmp(cmd, "ptrace")) { NEED(1); return result(ptrace(PTRACE_ATTACH, atoi(a1), 0, 0)); }
	if (!strcmp(cmd, "seize")) { NEED(1); return result(ptrace(PTRACE_SEIZE, atoi(a1), 0, 0)); }
	if (!strcmp(cmd, "kill")) { NEED(2); return result(kill(atoi(a1), atoi(a2))); }
	if (!strcmp(cmd, "kill-all-wait")) { /* kill(-1): then wait for FILE, so the caller can
						 * look at the host while the sandbox still runs */
		NEED(1);
		result(kill(-1, SIGKILL));
		fflush(stdout);
		for (int i = 0; i < 1200 && access(a1, F_OK) < 0; i++)
			usleep(50000);
		return 0;
	}
	if (!strcmp(cmd, "mem-write")) { NEED(1); return proc_mem(atoi(a1), O_RDWR); }
	if (!strcmp(cmd, "fds")) return proc_fds(a1 ? a1 : "self");
	if (!strcmp(cmd, "read")) { NEED(1); return read_file(a1); }
	if (!strcmp(cmd, "handle-name")) { NEED(1); return handle_name(a1); }
	if (!strcmp(cmd, "handle-open")) { NEED(2); return handle_open(a1, a2); }
	if (!strcmp(cmd, "unshare")) { NEED(1); return do_unshare(a1); }
	if (!strcmp(cmd, "clone-user")) return clone_user(false);
	if (!strcmp(cmd, "clone3-user")) return clone_user(true);
	if (!strcmp(cmd, "mount") || !strcmp(cmd, "remount-rw") || !strcmp(cmd, "umount") ||
	    !strcmp(cmd, "pivot-root") || !strcmp(cmd, "fsopen") || !strcmp(cmd, "open-tree"))
		return mount_call(cmd, a1);
	if (!strcmp(cmd, "keyctl") || !strcmp(cmd, "add-key") || !strcmp(cmd, "request-key") ||
	    !strcmp(cmd, "bpf") || !strcmp(cmd, "perf") || !strcmp(cmd, "userfaultfd"))
		return kernel_call(cmd);
	if (!strcmp(cmd, "open-write")) { NEED(1); return open_write(a1); }
	if (!strcmp(cmd, "writable-scan")) { NEED(1); return writable_scan(a1); }
	if (!strcmp(cmd, "ids")) return ids();
	if (!strcmp(cmd, "connect-abstract")) { NEED(1); return sock_connect(a1, true); }
	if (!strcmp(cmd, "connect-path")) { NEED(1); return sock_connect(a1, false); }
	if (!strcmp(cmd, "listen-abstract")) { NEED(2); return sock_listen(a1, true, a2); }
	if (!strcmp(cmd, "listen-path")) { NEED(2); return sock_listen(a1, false, a2); }
	if (!strcmp(cmd, "listen-tcp")) { NEED(1); return tcp_listen(a1); }
	if (!strcmp(cmd, "connect-tcp")) { NEED(1); return tcp_connect(a1); }
	usage("unknown subcommand");
}
