/* weakfs: a fault-injecting test filesystem. It serves a backing directory as a plain FUSE
 * passthrough (read-write, or read-only with -o ro) but behaves like the weak FUSE lower
 * layers of the original bug:
 *   - every xattr call (getxattr, listxattr, setxattr, removexattr) fails with xattr_errno
 *     (ENOSYS by default, or EOPNOTSUPP, EIO, or a number);
 *   - getattr (and so lookup) of an entry whose name contains fail_getattr=TEXT fails with
 *     EIO, and of one whose name contains nosys_getattr=TEXT with ENOSYS: the filesystem
 *     "cannot report the file's attributes".
 *   - write of a file whose name contains fail_write=TEXT fails with EIO, and so does any
 *     write reaching past byte fail_write_from=N of a file: a disk that fails. With
 *     -o writeback_cache the kernel takes the data into its page cache first and the failure
 *     comes when it writes it back: the application learns of it only at fsync, as from a
 *     real disk behind a page cache.
 * The faults can be switched at run time: -o disarmed starts without them, SIGUSR1 arms
 * them and SIGUSR2 disarms them, so a test can first let a name be looked up and then make
 * it fail. Caching is off (entry/attr timeouts 0), so every stat reaches this process.
 * The kernel turns an ENOSYS xattr answer into EOPNOTSUPP for its callers (and stops asking).
 * libfuse 3.14 prints a harmless "Ignoring invalid max threads value" when it starts.
 *
 * usage: weakfs BACKING MNT -f [-o ro,xattr_errno=ENOSYS,fail_getattr=broken,nosys_getattr=nosys,
 *                               fail_write=doomed,fail_write_from=N,writeback_cache]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* renameat2 */
#endif
#define FUSE_USE_VERSION 31
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static struct {
	char *backing, *xattr_errno, *fail_getattr, *nosys_getattr, *fail_write;
	long long fail_write_from; /* 0: off */
	int disarmed, writeback_cache;
} opt;
static int bfd = -1;		/* the backing directory */
static int xattr_err = ENOSYS;
static volatile sig_atomic_t armed = 1;

static const struct fuse_opt opt_spec[] = {
	{ "xattr_errno=%s", offsetof(__typeof__(opt), xattr_errno), 0 },
	{ "fail_getattr=%s", offsetof(__typeof__(opt), fail_getattr), 0 },
	{ "nosys_getattr=%s", offsetof(__typeof__(opt), nosys_getattr), 0 },
	{ "fail_write=%s", offsetof(__typeof__(opt), fail_write), 0 },
	{ "fail_write_from=%lld", offsetof(__typeof__(opt), fail_write_from), 0 },
	{ "disarmed", offsetof(__typeof__(opt), disarmed), 1 },
	{ "writeback_cache", offsetof(__typeof__(opt), writeback_cache), 1 },
	FUSE_OPT_END
};

/* FUSE paths start with "/"; the *at() calls want them relative to the backing directory. */
static const char *rel(const char *path)
{
	return path[1] ? path + 1 : ".";
}

static bool name_has(const char *path, const char *text)
{
	const char *base = strrchr(path, '/');
	return text && *text && strstr(base ? base + 1 : path, text);
}

#define RET(expr) return (expr) < 0 ? -errno : 0

static int w_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	if (armed && name_has(path, opt.fail_getattr))
		return -EIO;
	if (armed && name_has(path, opt.nosys_getattr))
		return -ENOSYS;
	if (fi)
		RET(fstat((int)fi->fh, st));
	RET(fstatat(bfd, rel(path), st, AT_SYMLINK_NOFOLLOW));
}

static int w_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n = readlinkat(bfd, rel(path), buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int w_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		     struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off, (void)fi, (void)flags;
	int fd = openat(bfd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return -e;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st = { .st_ino = de->d_ino, .st_mode = (mode_t)DTTOIF(de->d_type) };
		if (fill(buf, de->d_name, &st, 0, 0))
			break;
	}
	closedir(d);
	return 0;
}

static int w_mkdir(const char *path, mode_t mode) { RET(mkdirat(bfd, rel(path), mode)); }
static int w_unlink(const char *path) { RET(unlinkat(bfd, rel(path), 0)); }
static int w_rmdir(const char *path) { RET(unlinkat(bfd, rel(path), AT_REMOVEDIR)); }
static int w_symlink(const char *target, const char *path)
{
	RET(symlinkat(target, bfd, rel(path)));
}
static int w_link(const char *from, const char *to)
{
	RET(linkat(bfd, rel(from), bfd, rel(to), 0));
}
static int w_rename(const char *from, const char *to, unsigned int flags)
{
	RET(renameat2(bfd, rel(from), bfd, rel(to), flags));
}
static int w_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	if (fi)
		RET(fchmod((int)fi->fh, mode));
	RET(fchmodat(bfd, rel(path), mode, 0));
}
static int w_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	if (fi)
		RET(fchown((int)fi->fh, uid, gid));
	RET(fchownat(bfd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW));
}
static int w_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	if (fi)
		RET(ftruncate((int)fi->fh, size));
	int fd = openat(bfd, rel(path), O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = ftruncate(fd, size) < 0 ? -errno : 0;
	close(fd);
	return r;
}
static int w_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	if (fi)
		RET(futimens((int)fi->fh, tv));
	RET(utimensat(bfd, rel(path), tv, AT_SYMLINK_NOFOLLOW));
}

/* With the writeback cache the kernel reads pages of files opened write-only (to fill
 * partial pages) and positions appends itself: our fd must read, and must not append. */
static int backing_flags(int flags)
{
	if (!opt.writeback_cache)
		return flags;
	flags &= ~O_APPEND;
	return (flags & O_ACCMODE) == O_WRONLY ? (flags & ~O_ACCMODE) | O_RDWR : flags;
}

static int w_open(const char *path, struct fuse_file_info *fi)
{
	int fd = openat(bfd, rel(path), backing_flags(fi->flags) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}
static int w_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int fd = openat(bfd, rel(path), backing_flags(fi->flags) | O_CREAT | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}
static int w_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)path;
	ssize_t n = pread((int)fi->fh, buf, size, off);
	return n < 0 ? -errno : (int)n;
}
static int w_write(const char *path, const char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	if (armed && (name_has(path, opt.fail_write) ||
		      (opt.fail_write_from > 0 && off + (off_t)size > opt.fail_write_from)))
		return -EIO;
	ssize_t n = pwrite((int)fi->fh, buf, size, off);
	return n < 0 ? -errno : (int)n;
}
static off_t w_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi)
{
	(void)path;
	off_t r = lseek((int)fi->fh, off, whence);
	return r < 0 ? -errno : r;
}
static int w_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	RET(datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh));
}
static int w_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close((int)fi->fh);
	return 0;
}
static int w_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	RET(fstatvfs(bfd, sv));
}
static int w_access(const char *path, int mask) { RET(faccessat(bfd, rel(path), mask, 0)); }

/* The weakness: no extended attributes at all. */
static int w_setxattr(const char *p, const char *n, const char *v, size_t s, int f)
{
	(void)p, (void)n, (void)v, (void)s, (void)f;
	return -xattr_err;
}
static int w_getxattr(const char *p, const char *n, char *v, size_t s)
{
	(void)p, (void)n, (void)v, (void)s;
	return -xattr_err;
}
static int w_listxattr(const char *p, char *l, size_t s)
{
	(void)p, (void)l, (void)s;
	return -xattr_err;
}
static int w_removexattr(const char *p, const char *n)
{
	(void)p, (void)n;
	return -xattr_err;
}

static void *w_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	if (opt.writeback_cache)
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	cfg->use_ino = 1;
	cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 0;
	return NULL;
}

static const struct fuse_operations ops = {
	.init = w_init, .getattr = w_getattr, .readlink = w_readlink, .readdir = w_readdir,
	.mkdir = w_mkdir, .unlink = w_unlink, .rmdir = w_rmdir, .symlink = w_symlink,
	.link = w_link, .rename = w_rename, .chmod = w_chmod, .chown = w_chown,
	.truncate = w_truncate, .utimens = w_utimens, .open = w_open, .create = w_create,
	.read = w_read, .write = w_write, .lseek = w_lseek, .fsync = w_fsync,
	.release = w_release, .statfs = w_statfs, .access = w_access,
	.setxattr = w_setxattr, .getxattr = w_getxattr, .listxattr = w_listxattr,
	.removexattr = w_removexattr,
};

/* The first non-option argument is the backing directory; the rest go to libfuse. */
static int opt_proc(void *data, const char *arg, int key, struct fuse_args *args)
{
	(void)data, (void)args;
	if (key == FUSE_OPT_KEY_NONOPT && !opt.backing) {
		opt.backing = strdup(arg);
		return 0;
	}
	return 1;
}

static void on_signal(int sig)
{
	armed = sig == SIGUSR1;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	if (fuse_opt_parse(&args, &opt, opt_spec, opt_proc) < 0)
		return 2;
	if (!opt.backing) {
		fprintf(stderr, "usage: %s BACKING MNT -f [-o xattr_errno=ENOSYS|EOPNOTSUPP|EIO|N,"
				"fail_getattr=TEXT,nosys_getattr=TEXT,fail_write=TEXT,fail_write_from=N,"
				"disarmed,ro,writeback_cache]\n", argv[0]);
		return 2;
	}
	if (opt.xattr_errno) {
		const char *e = opt.xattr_errno;
		if (!strcmp(e, "ENOSYS"))
			xattr_err = ENOSYS;
		else if (!strcmp(e, "EOPNOTSUPP") || !strcmp(e, "ENOTSUP"))
			xattr_err = EOPNOTSUPP;
		else if (!strcmp(e, "EIO"))
			xattr_err = EIO;
		else if ((xattr_err = atoi(e)) <= 0) {
			fprintf(stderr, "weakfs: bad xattr_errno=%s\n", e);
			return 2;
		}
	}
	bfd = open(opt.backing, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0) {
		perror(opt.backing);
		return 1;
	}
	armed = !opt.disarmed;
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	umask(0);
	int r = fuse_main(args.argc, args.argv, &ops, NULL);
	fuse_opt_free_args(&args);
	return r;
}
