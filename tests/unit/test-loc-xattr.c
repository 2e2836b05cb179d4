/* Unit tests of the daemon's xattr access by directory fd and name (daemon/meta.c): the same
 * answers through getxattrat and friends and through the /proc fallback, never following a
 * symlink, and a directory we may not search still readable. The fallback is reached the way
 * an old kernel reaches it: a seccomp filter makes the *xattrat calls fail with ENOSYS. */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "meta.h"

static int n_test, n_fail;

static void ok(int cond, const char *what, const char *mode)
{
	n_test++;
	if (!cond)
		n_fail++;
	printf("%s %d - %s (%s)\n", cond ? "ok" : "not ok", n_test, what, mode);
}

static char dir[] = "test-loc-xattr.XXXXXX";
static int dfd = -1; /* O_PATH, as the daemon holds its directories */

static bool has_value(const char *path, const char *name, const char *want)
{
	char v[64];
	ssize_t n = lgetxattr(path, name, v, sizeof(v));
	return n == (ssize_t)strlen(want) && !memcmp(v, want, (size_t)n);
}

/* One round over a file, a symlink and the directory itself; MODE names the path taken. */
static void round_trip(const char *mode)
{
	char path[512], v[64], list[256];
	struct loc file = { dfd, "file" }, link = { dfd, "link" }, self = { dfd, "" };

	ok(loc_setxattr(&file, "user.t", "one", 3, 0) == 0, "set on a file by name", mode);
	snprintf(path, sizeof(path), "%s/file", dir);
	ok(has_value(path, "user.t", "one"), "the value is on the file", mode);
	ok(loc_setxattr(&file, "user.t", "two", 3, XATTR_CREATE) < 0 && errno == EEXIST,
	   "XATTR_CREATE of an existing name fails with EEXIST", mode);
	ssize_t n = loc_getxattr(&file, "user.t", v, sizeof(v));
	ok(n == 3 && !memcmp(v, "one", 3), "get by name", mode);
	ok(loc_getxattr(&file, "user.t", NULL, 0) == 3, "size query", mode);
	ok(loc_getxattr(&file, "user.missing", v, sizeof(v)) < 0 && errno == ENODATA,
	   "a missing name is ENODATA", mode);
	n = loc_listxattr(&file, list, sizeof(list));
	ok(n == 7 && !memcmp(list, "user.t", 7), "list by name", mode);

	/* user.* xattrs are refused on symlinks: a call that followed the link would reach the
	 * file instead and succeed. */
	ok(loc_setxattr(&link, "user.l", "x", 1, 0) < 0 && errno == EPERM,
	   "set on a symlink does not follow it", mode);
	ok(loc_getxattr(&link, "user.t", v, sizeof(v)) < 0 && errno == ENODATA,
	   "get on a symlink does not follow it", mode);

	ok(loc_setxattr(&self, "user.d", "dir", 3, 0) == 0, "set on the directory by its fd", mode);
	ok(has_value(dir, "user.d", "dir"), "the value is on the directory", mode);
	n = loc_getxattr(&self, "user.d", v, sizeof(v));
	ok(n == 3 && !memcmp(v, "dir", 3), "get on the directory by its fd", mode);

	ok(loc_removexattr(&file, "user.t") == 0, "remove by name", mode);
	ok(lgetxattr(path, "user.t", v, sizeof(v)) < 0 && errno == ENODATA, "the value is gone",
	   mode);
	ok(loc_removexattr(&self, "user.d") == 0, "remove on the directory", mode);
	ok(loc_listxattr(&self, list, sizeof(list)) == 0, "the directory lists nothing", mode);
}

/* A directory the caller may read but not search (mode 0600): a lookup of "." in it is
 * refused, the /proc path to the directory itself is not. Run as an unprivileged user, since
 * root searches any directory. */
static void unsearchable(const char *mode)
{
	char sub[512];
	snprintf(sub, sizeof(sub), "%s/closed", dir);
	if (mkdir(sub, 0700) < 0 || setxattr(sub, "user.c", "c", 1, 0) < 0) {
		ok(0, "set up a directory without search permission", mode);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* The fd is opened before dropping root: the directories above need no search
		 * permission for the unprivileged user then. */
		if (geteuid() == 0 && chown(sub, 65534, 65534) < 0)
			_exit(2);
		int fd = chmod(sub, 0600) < 0 ? -1 : open(sub, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			_exit(3);
		if (geteuid() == 0 && (setresgid(65534, 65534, 65534) < 0 ||
				       setresuid(65534, 65534, 65534) < 0))
			_exit(4);
		struct loc self = { fd, "" };
		char v[8];
		_exit(loc_getxattr(&self, "user.c", v, sizeof(v)) == 1 && v[0] == 'c' ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "get on a directory without search permission", mode);
	chmod(sub, 0700);
	removexattr(sub, "user.c");
	rmdir(sub);
}

static int block_xattrat(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -1;
	int r = 0;
	/* The numbers meta.c uses: the same on every architecture it uses them on. */
	for (int nr = 463; nr <= 466 && r == 0; nr++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	chmod(dir, 0755);
	char path[512];
	snprintf(path, sizeof(path), "%s/file", dir);
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/link", dir);
	if (symlink("file", path) < 0)
		perror("symlink");
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	snprintf(path, sizeof(path), "%s/file", dir);
	if (setxattr(path, "user.probe", "1", 1, 0) < 0) {
		printf("1..0 # SKIP the file system of %s has no user xattrs (%s)\n", dir,
		       strerror(errno));
		return 0;
	}
	removexattr(path, "user.probe");

	round_trip("*xattrat or /proc, as the kernel offers");
	unsearchable("*xattrat or /proc, as the kernel offers");
	if (block_xattrat() == 0) {
		round_trip("/proc fallback, *xattrat refused with ENOSYS");
		unsearchable("/proc fallback, *xattrat refused with ENOSYS");
	} else {
		n_test++;
		printf("ok %d # SKIP the fallback: seccomp could not be loaded\n", n_test);
	}

	snprintf(path, sizeof(path), "%s/link", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/file", dir);
	unlink(path);
	rmdir(dir);
	printf("1..%d\n", n_test);
	return n_fail ? 1 : 0;
}
