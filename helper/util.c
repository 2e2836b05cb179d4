/* Implementation of the shared helpers: failure lines, root-confined path walks, small files,
 * tree removal. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int step_fail(int r, const char *fix, const char *step_fmt, ...)
{
	char step[1024];
	va_list ap;
	va_start(ap, step_fmt);
	vsnprintf(step, sizeof(step), step_fmt, ap);
	va_end(ap);
	if (fix)
		log_error("%s: %s: %s", step, strerror(r < 0 ? -r : r), fix);
	else
		log_error("%s: %s", step, strerror(r < 0 ? -r : r));
	return r < 0 ? r : -r;
}

int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	/* EAGAIN: a ".." was walked while a rename or mount happened anywhere in the system,
	 * so the kernel cannot vouch it stayed inside; openat2(2) says to retry. The first
	 * lookups through the FUSE overlay (a project symlink with "..") do that themselves. */
	int fd = -1;
	for (int i = 0; i < 32; i++) {
		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return fd < 0 ? negerrno() : fd;
}

/* Split PATH into its parent (".": none) and last component. */
static void split_last(const char *path, char *dir, char *name, size_t len)
{
	while (*path == '/')
		path++;
	snprintf(dir, len, "%s", path);
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = 0;
	char *slash = strrchr(dir, '/');
	if (!slash) {
		snprintf(name, len, "%s", dir);
		snprintf(dir, len, ".");
		return;
	}
	*slash = 0;
	snprintf(name, len, "%s", slash + 1);
}

int mkdir_p_in_root(int rootfd, const char *path, mode_t mode)
{
	_cleanup_close_ int fd = open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
	if (fd >= 0)
		return 0;
	if (fd != -ENOENT)
		return fd;
	char parent[4096], name[4096];
	split_last(path, parent, name, sizeof(parent));
	if (!strcmp(parent, ".") && !strcmp(name, "."))
		return -ENOENT;
	int r = strcmp(parent, ".") ? mkdir_p_in_root(rootfd, parent, mode) : 0;
	if (r < 0)
		return r;
	_cleanup_close_ int pfd = open_in_root(rootfd, parent, O_PATH | O_DIRECTORY);
	if (pfd < 0)
		return pfd;
	if (mkdirat(pfd, name, mode) < 0 && errno != EEXIST)
		return negerrno();
	return 0;
}

int touch_in_root(int rootfd, const char *path)
{
	_cleanup_close_ int fd = open_in_root(rootfd, path, O_PATH);
	if (fd >= 0)
		return 0;
	if (fd != -ENOENT)
		return fd;
	char parent[4096], name[4096];
	split_last(path, parent, name, sizeof(parent));
	int r = mkdir_p_in_root(rootfd, parent, 0755);
	if (r < 0)
		return r;
	_cleanup_close_ int pfd = open_in_root(rootfd, parent, O_PATH | O_DIRECTORY);
	if (pfd < 0)
		return pfd;
	/* O_NOFOLLOW|O_EXCL: a dangling symlink planted here must not create a file elsewhere. */
	_cleanup_close_ int nfd =
		openat(pfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (nfd < 0 && errno != EEXIST)
		return negerrno();
	return 0;
}

void path_normalize(char *path)
{
	char *out = path, *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		char *end = p + strcspn(p, "/");
		size_t n = (size_t)(end - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (out > path && *--out != '/')
				;
		} else if (n && !(n == 1 && *p == '.')) {
			*out++ = '/';
			memmove(out, p, n);
			out += n;
		}
		p = end;
	}
	if (out == path)
		*out++ = '/';
	*out = 0;
}

int read_small_file(const char *path, char *buf, size_t len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negerrno();
	ssize_t n = read(fd, buf, len - 1);
	if (n < 0)
		return negerrno();
	buf[n] = 0;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	return 0;
}

int write_small_file(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return negerrno();
	size_t n = strlen(text);
	if (write(fd, text, n) != (ssize_t)n)
		return negerrno();
	return 0;
}

static int rm_children(int dfd)
{
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return negerrno();
	}
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int q = rm_rf_at(dirfd(d), de->d_name);
		if (q < 0 && r == 0)
			r = q;
	}
	return r;
}

int rm_rf_at(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : negerrno();
	if (S_ISDIR(st.st_mode)) {
		if ((st.st_mode & 0700) != 0700)
			(void)fchmodat(dirfd, name, st.st_mode | 0700, 0);
		int dfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			return negerrno();
		int r = rm_children(dfd);
		if (r < 0)
			return r;
		if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return negerrno();
		return 0;
	}
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return negerrno();
	return 0;
}

int self_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	if (n < 0)
		return negerrno();
	buf[n] = 0;
	char *slash = strrchr(buf, '/');
	if (slash)
		*slash = 0;
	return 0;
}
