/* sandbox-probe: tries one system call the sandbox must refuse and prints the errno name it
 * got ("OK" if the call succeeded), so shell tests can assert EPERM without needing keyctl,
 * bpftool or a terminal. Always exits 0 unless the usage is wrong. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long try(const char *what, char **argv)
{
	if (!strcmp(what, "mount"))
		return mount("none", "/tmp", "tmpfs", 0, NULL);
	if (!strcmp(what, "unshare-user"))
		return unshare(CLONE_NEWUSER);
	if (!strcmp(what, "clone-user"))
		return syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (!strcmp(what, "clone3"))
		return syscall(SYS_clone3, NULL, 0);
	if (!strcmp(what, "keyctl"))
		return syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -1 /* thread */, 0);
	if (!strcmp(what, "bpf")) {
		union bpf_attr attr = { .map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4,
					.value_size = 4, .max_entries = 1 };
		return syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	}
	if (!strcmp(what, "ptrace") && argv[0])
		return ptrace(PTRACE_ATTACH, (pid_t)atoi(argv[0]), 0, 0);
	if (!strcmp(what, "tiocsti")) {
		char c = 'x';
		return ioctl(0, TIOCSTI, &c);
	}
	if (!strcmp(what, "tiocsti-highbits")) /* the flatpak bypass: garbage in the upper bits */
		return syscall(SYS_ioctl, 0, 0x100000000ul | TIOCSTI, "x");
	if (!strcmp(what, "fork")) { /* a plain fork (clone without CLONE_NEWUSER) must work */
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		return p < 0 ? -1 : waitpid(p, NULL, 0) < 0 ? -1 : 0;
	}
	fprintf(stderr, "sandbox-probe: unknown probe %s\n", what);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: sandbox-probe mount|unshare-user|clone-user|clone3|keyctl|bpf|"
				"ptrace PID|tiocsti|tiocsti-highbits|fork\n");
		return 2;
	}
	long r = try(argv[1], argv + 2);
	if (r == 0 && !strcmp(argv[1], "clone-user"))
		_exit(0); /* the child of a successful clone */
	printf("%s\n", r < 0 ? strerrorname_np(errno) : "OK");
	return 0;
}
