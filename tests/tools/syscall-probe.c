/* syscall-probe: tries named system calls with harmless arguments and prints one line per call,
 * "NAME OK" or "NAME EPERM" (or KILLED/SIGNAL when the process died), so tests see what a
 * seccomp filter lets through. Each call runs in a forked child: a call that changes the
 * process (unshare) or a filter that kills cannot disturb the next probe. The i386: and x32:
 * probes enter the kernel through the compat ABIs (int $0x80, the x32 syscall bit). */
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOWHERE "/nonexistent-antares-probe"

static int devnull(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Raw clone/clone3 that create a child which exits at once; the result is the caller's. */
static long fork_like(long r)
{
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return r < 0 ? -1 : 0;
}

static long p_getpid(void)
{
	return syscall(SYS_getpid);
}
static long p_openat(void)
{
	int fd = devnull();
	return fd < 0 ? -1 : close(fd);
}
static long p_mount(void)
{
	return syscall(SYS_mount, "none", NOWHERE, "tmpfs", 0, NULL);
}
static long p_umount2(void)
{
	return syscall(SYS_umount2, NOWHERE, 0);
}
static long p_unshare_user(void)
{
	return syscall(SYS_unshare, CLONE_NEWUSER);
}
static long p_unshare_net(void)
{
	return syscall(SYS_unshare, CLONE_NEWNET);
}
static long p_unshare_files(void)
{
	return syscall(SYS_unshare, CLONE_FILES);
}
static long p_clone_user(void)
{
	return fork_like(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0));
}
static long p_fork(void)
{
	return fork_like(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
}
static long p_clone3(void)
{
	struct clone_args args = { .exit_signal = SIGCHLD };
	return fork_like(syscall(SYS_clone3, &args, sizeof(args)));
}
static long p_keyctl(void)
{
	return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
}
static long p_add_key(void)
{
	return syscall(SYS_add_key, "user", "antares-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING);
}
static long p_bpf(void)
{
	return syscall(SYS_bpf, -1, NULL, 0);
}
static long p_ptrace(void)
{
	return syscall(SYS_ptrace, 3 /* PTRACE_PEEKUSER */, getppid(), 0, 0);
}
static long p_perf(void)
{
	return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
}
static long p_ioctl(unsigned long req)
{
	char c = 'x';
	int fd = devnull();
	return syscall(SYS_ioctl, fd, req, &c);
}
static long p_tiocsti(void)
{
	return p_ioctl(TIOCSTI);
}
/* The kernel truncates the request to 32 bits; a filter comparing 64 would miss this. */
static long p_tiocsti_hi(void)
{
	return p_ioctl(TIOCSTI | (1UL << 32));
}
static long p_tiocsti_sx(void)
{
	return p_ioctl(TIOCSTI | 0xFFFFFFFF00000000UL);
}
static long p_tioclinux(void)
{
	return p_ioctl(TIOCLINUX);
}
static long p_fionread(void)
{
	return p_ioctl(FIONREAD);
}
static long p_socket(int domain)
{
	int fd = socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return fd < 0 ? -1 : close(fd);
}
static long p_socket_inet(void)
{
	return p_socket(AF_INET);
}
static long p_socket_unix(void)
{
	return p_socket(AF_UNIX);
}
static long p_chown(void)
{
	return syscall(SYS_fchownat, AT_FDCWD, NOWHERE, -1, -1, 0);
}
static long p_setuid(void)
{
	return syscall(SYS_setuid, getuid());
}
static long p_io_uring(void)
{
	return syscall(SYS_io_uring_setup, 0, NULL);
}
static long p_init_module(void)
{
	return syscall(SYS_init_module, NULL, 0, "");
}
static long p_reboot(void)
{
	return syscall(SYS_reboot, 0, 0, 0, NULL); /* bad magic: EINVAL */
}
static long p_swapon(void)
{
	return syscall(SYS_swapon, NOWHERE, 0);
}
static long p_clock_settime(void)
{
	struct timespec ts = { 0 };
	return syscall(SYS_clock_settime, CLOCK_MONOTONIC, &ts); /* never settable: EINVAL */
}
static long p_setns(void)
{
	return syscall(SYS_setns, -1, 0);
}
static long p_chroot(void)
{
	return syscall(SYS_chroot, NOWHERE);
}
static long p_userfaultfd(void)
{
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC);
	return fd < 0 ? -1 : close((int)fd);
}
static long p_personality(void)
{
	return syscall(SYS_personality, 0xffffffff);
}
static long p_syslog(void)
{
	return syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0);
}
static long p_memfd(void)
{
	long fd = syscall(SYS_memfd_create, "probe", 0);
	return fd < 0 ? -1 : close((int)fd);
}
static long p_pipe2(void)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	close(fds[0]);
	return close(fds[1]);
}
static long p_mknod_fifo(void)
{
	return syscall(SYS_mknodat, AT_FDCWD, NOWHERE "/fifo", 0010600, 0);
}
static long p_sethostname(void)
{
	return syscall(SYS_sethostname, NULL, 100000);
}

#ifdef __x86_64__
/* i386 ABI from 64-bit code: only 32-bit arguments, so no pointers into our (high) memory. */
static long int80(long nr, long a, long b, long c)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}
static long p_i386_getpid(void)
{
	return int80(20, 0, 0, 0);
}
static long p_i386_mount(void)
{
	return int80(21, 0, 0, 0);
}
static long p_i386_keyctl(void)
{
	return int80(288, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
}
static long p_i386_unshare_user(void)
{
	return int80(310, CLONE_NEWUSER, 0, 0);
}
static long p_i386_tiocsti(void)
{
	return int80(54, devnull(), TIOCSTI, 0);
}
static long p_i386_bpf(void)
{
	return int80(357, -1, 0, 0);
}
static long p_i386_ptrace(void)
{
	return int80(26, 3, getppid(), 0);
}
static long p_i386_socketcall(void)
{
	return int80(102, 1 /* SYS_SOCKET */, 0, 0);
}

/* x32 numbers carry bit 30 and come in through the 64-bit entry. */
static long x32(long nr, long a, long b, long c)
{
	long r;
	register long r10 __asm__("r10") = 0;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(nr | 0x40000000L), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}
static long p_x32_getpid(void)
{
	return x32(39, 0, 0, 0);
}
static long p_x32_keyctl(void)
{
	return x32(250, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
}
static long p_x32_mount(void)
{
	return x32(165, 0, 0, 0);
}
#endif

static const struct {
	const char *name;
	long (*fn)(void);
} probes[] = {
	{ "getpid", p_getpid },
	{ "openat", p_openat },
	{ "mount", p_mount },
	{ "umount2", p_umount2 },
	{ "unshare-user", p_unshare_user },
	{ "unshare-net", p_unshare_net },
	{ "unshare-files", p_unshare_files },
	{ "clone-user", p_clone_user },
	{ "fork", p_fork },
	{ "clone3", p_clone3 },
	{ "keyctl", p_keyctl },
	{ "add_key", p_add_key },
	{ "bpf", p_bpf },
	{ "ptrace", p_ptrace },
	{ "perf_event_open", p_perf },
	{ "ioctl-tiocsti", p_tiocsti },
	{ "ioctl-tiocsti-hi", p_tiocsti_hi },
	{ "ioctl-tiocsti-sx", p_tiocsti_sx },
	{ "ioctl-tioclinux", p_tioclinux },
	{ "ioctl-fionread", p_fionread },
	{ "socket-inet", p_socket_inet },
	{ "socket-unix", p_socket_unix },
	{ "chown", p_chown },
	{ "setuid", p_setuid },
	{ "io_uring_setup", p_io_uring },
	{ "init_module", p_init_module },
	{ "reboot", p_reboot },
	{ "swapon", p_swapon },
	{ "clock_settime", p_clock_settime },
	{ "setns", p_setns },
	{ "chroot", p_chroot },
	{ "userfaultfd", p_userfaultfd },
	{ "personality", p_personality },
	{ "syslog", p_syslog },
	{ "memfd_create", p_memfd },
	{ "pipe2", p_pipe2 },
	{ "mknod-fifo", p_mknod_fifo },
	{ "sethostname", p_sethostname },
#ifdef __x86_64__
	{ "i386:getpid", p_i386_getpid },
	{ "i386:mount", p_i386_mount },
	{ "i386:keyctl", p_i386_keyctl },
	{ "i386:unshare-user", p_i386_unshare_user },
	{ "i386:ioctl-tiocsti", p_i386_tiocsti },
	{ "i386:bpf", p_i386_bpf },
	{ "i386:ptrace", p_i386_ptrace },
	{ "i386:socketcall", p_i386_socketcall },
	{ "x32:getpid", p_x32_getpid },
	{ "x32:keyctl", p_x32_keyctl },
	{ "x32:mount", p_x32_mount },
#endif
};

/* Runs one probe in a child; the child reports errno as its exit status (0 for success). */
static void run(const char *name, long (*fn)(void))
{
	int status;
	pid_t pid = fork();
	if (pid == 0) {
		errno = 0;
		_exit(fn() < 0 ? (errno ? errno & 0xff : 255) : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		printf("%s FORK-%s\n", name, strerrorname_np(errno));
		return;
	}
	if (WIFSIGNALED(status))
		printf("%s %s\n", name, WTERMSIG(status) == SIGSYS ? "KILLED" : "SIGNAL");
	else if (WEXITSTATUS(status) == 0)
		printf("%s OK\n", name);
	else
		printf("%s %s\n", name, strerrorname_np(WEXITSTATUS(status)) ?: "E?");
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
			printf("%s\n", probes[i].name);
		return argc < 2 ? 2 : 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int a = 1; a < argc; a++) {
		size_t i;
		for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
			if (strcmp(probes[i].name, argv[a]) == 0)
				break;
		if (i == sizeof(probes) / sizeof(probes[0])) {
			printf("%s UNKNOWN-PROBE\n", argv[a]);
			continue;
		}
		run(probes[i].name, probes[i].fn);
	}
	return 0;
}
