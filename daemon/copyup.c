/* Copy-up builds the new upper copy under a temporary name in the work directory, gives it
 * type, data (holes kept), xattrs, owner, mode and times, then renames it into place: a reader
 * sees the old copy or the complete new one, and a crash leaves only work-directory debris. */
#include "copyup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/macros.h"
#include "dirlist.h"
#include "lookup.h"
#include "meta.h"

static unsigned long tmp_counter;

static void tmp_name(char *buf, size_t len)
{
	unsigned long n = __atomic_add_fetch(&tmp_counter, 1, __ATOMIC_RELAXED);
	snprintf(buf, len, "#cu-%d-%lu", (int)getpid(), n);
}

static int copy_range_rw(int in, int out, off_t off, off_t end)
{
	static __thread char *buf;
	const size_t bufsz = 1 << 20;
	if (!buf && !(buf = malloc(bufsz)))
		return -ENOMEM;
	while (off < end) {
		size_t want = (size_t)(end - off) < bufsz ? (size_t)(end - off) : bufsz;
		ssize_t n = RETRY_EINTR(pread(in, buf, want, off));
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* file shrank: nothing more to copy */
		for (ssize_t done = 0; done < n;) {
			ssize_t w = RETRY_EINTR(pwrite(out, buf + done, (size_t)(n - done), off + done));
			if (w < 0)
				return -errno;
			done += w;
		}
		off += n;
	}
	return 0;
}

/* Copy [off, end) trying copy_file_range (in-kernel, may share extents) first. */
static int copy_range(int in, int out, off_t off, off_t end, bool *use_cfr)
{
	while (*use_cfr && off < end) {
		loff_t a = off, b = off;
		ssize_t n = copy_file_range(in, &a, out, &b, (size_t)(end - off), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
			    errno == EOPNOTSUPP) {
				*use_cfr = false;
				break;
			}
			return -errno;
		}
		if (n == 0)
			return 0;
		off += n;
	}
	return copy_range_rw(in, out, off, end);
}

/* Data of a regular file, holes preserved: reflink when the filesystem can, else copy only
 * the data extents SEEK_DATA/SEEK_HOLE report and leave the rest as holes. */
static int copy_data(int in, int out, off_t size, const char **syscall)
{
	*syscall = "ioctl(FICLONE)";
	if (ioctl(out, FICLONE, in) == 0)
		return 0;
	bool use_cfr = true;
	off_t off = 0;
	while (off < size) {
		*syscall = "lseek(SEEK_DATA)";
		off_t data = lseek(in, off, SEEK_DATA);
		if (data < 0) {
			if (errno == ENXIO)
				break; /* only a hole remains */
			if (errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS)
				return -errno;
			data = off; /* no hole support: copy everything */
			*syscall = "read/write";
			int r = copy_range(in, out, data, size, &use_cfr);
			if (r < 0)
				return r;
			break;
		}
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0 || hole > size)
			hole = size;
		*syscall = "copy_file_range";
		int r = copy_range(in, out, data, hole, &use_cfr);
		if (r < 0)
			return r;
		off = hole;
	}
	*syscall = "ftruncate";
	return ftruncate(out, size) < 0 ? -errno : 0;
}

/* Copy every readable xattr that is not the overlay's own. Missing xattr support in the lower
 * (a weak FUSE filesystem) or names the upper refuses are skipped with one log line each:
 * they are optional metadata, and losing the whole copy-up over them is what this avoids. */
static void copy_xattrs(struct ovl *ovl, struct ovl_inode *ino, int l, const struct loc *src,
			const struct loc *dst)
{
	char path[PATH_MAX];
	ssize_t n = loc_listxattr(src, NULL, 0);
	if (n <= 0) {
		if (n < 0)
			log_msg_ratelimited(LOG_LEVEL_INFO,
					    "copy-up %s: xattrs not copied: listxattr on %s: %s",
					    ovl_inode_path(ovl, ino, path, sizeof(path)),
					    ovl->layers[l].path, strerror(errno));
		return;
	}
	_cleanup_free_ char *names = malloc((size_t)n);
	_cleanup_free_ char *val = malloc(XATTR_SIZE_MAX);
	if (!names || !val)
		return;
	n = loc_listxattr(src, names, (size_t)n);
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
		const char *name = names + i;
		if (meta_xattr_is_private(name))
			continue;
		ssize_t vn = loc_getxattr(src, name, val, XATTR_SIZE_MAX);
		const char *what = "getxattr";
		if (vn >= 0) {
			what = "setxattr";
			if (loc_setxattr(dst, name, val, (size_t)vn, 0) == 0)
				continue;
		}
		log_msg_ratelimited(LOG_LEVEL_INFO, "copy-up %s: xattr %s skipped: %s: %s",
				    ovl_inode_path(ovl, ino, path, sizeof(path)), name, what,
				    strerror(errno));
	}
}

/* Owner, mode and times of the new copy, in that order: chown clears setuid bits, and every
 * earlier step would move mtime. */
static int copy_attrs(struct ovl_inode *ino, const struct stat *st,
		      const struct loc *dst, bool *override)
{
	uid_t uid = st->st_uid;
	gid_t gid = st->st_gid;
	mode_t mode = st->st_mode & 07777;
	*override = false;
	pthread_mutex_lock(&ino->lock);
	if (ino->has_override) {
		uid = ino->o_uid;
		gid = ino->o_gid;
		mode = ino->o_mode;
	}
	pthread_mutex_unlock(&ino->lock);

	if (fchownat(dst->fd, dst->name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != EPERM && errno != EINVAL)
			return -errno;
		/* Rootless and the id is not ours to give: keep it beside the file instead. */
		if (meta_set_override(dst, uid, gid, mode) == 0)
			*override = true;
		else if (!S_ISLNK(st->st_mode))
			log_msg_ratelimited(LOG_LEVEL_INFO, "copy-up: owner %u:%u not kept: %s",
					    uid, gid, strerror(errno));
	}
	if (!S_ISLNK(st->st_mode) && fchmodat(dst->fd, dst->name, mode, 0) < 0)
		return -errno;
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	if (utimensat(dst->fd, dst->name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (*override) {
		pthread_mutex_lock(&ino->lock);
		ino->has_override = true;
		ino->o_uid = uid;
		ino->o_gid = gid;
		ino->o_mode = mode;
		pthread_mutex_unlock(&ino->lock);
	}
	return 0;
}

/* Build the copy of the lower object SRC (stat ST) as WORK/TMP. */
static int build_copy(struct ovl *ovl, struct ovl_inode *ino, int l, const struct loc *src,
		      const struct stat *st, const char *tmp)
{
	int work = ovl->work_fd;
	const char *sys = "mknodat";
	int r = 0;

	switch (st->st_mode & S_IFMT) {
	case S_IFREG: {
		sys = "openat";
		_cleanup_close_ int in = openat(src->fd, src->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (in < 0)
			return ovl_fail(ovl, "copy-up", ino, NULL, l, "openat", errno);
		_cleanup_close_ int out =
			openat(work, tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		if (out < 0)
			return ovl_fail(ovl, "copy-up", ino, NULL, UPPER, "openat(workdir)", errno);
		r = copy_data(in, out, st->st_size, &sys);
		if (r < 0)
			return ovl_fail(ovl, "copy-up", ino, NULL, l, sys, -r);
		if (ovl->fsync && fsync(out) < 0)
			return ovl_fail(ovl, "copy-up", ino, NULL, UPPER, "fsync", errno);
		return 0;
	}
	case S_IFDIR:
		sys = "mkdirat";
		r = mkdirat(work, tmp, 0700);
		break;
	case S_IFLNK: {
		char target[PATH_MAX + 1];
		ssize_t n = readlinkat(src->fd, src->name, target, sizeof(target) - 1);
		if (n < 0)
			return ovl_fail(ovl, "copy-up", ino, NULL, l, "readlinkat", errno);
		target[n] = '\0';
		sys = "symlinkat";
		r = symlinkat(target, work, tmp);
		break;
	}
	default:
		r = mknodat(work, tmp, (st->st_mode & S_IFMT) | 0600, st->st_rdev);
		break;
	}
	return r < 0 ? ovl_fail(ovl, "copy-up", ino, NULL, UPPER, sys, errno) : 0;
}

/* The upper already holds this name (a directory tree copied up under a cached inode): use it. */
static int adopt_upper(struct ovl *ovl, struct ovl_inode *ino, int upfd, const char *name,
		       const struct stat *ust)
{
	if (S_ISDIR(ino->type)) {
		int fd = openat(upfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		__atomic_store_n(&ino->dir_fds[UPPER], fd, __ATOMIC_RELEASE);
	}
	inode_rekey(&ovl->table, ino, UPPER, ust->st_dev, ust->st_ino);
	__atomic_store_n(&ino->layer, UPPER, __ATOMIC_RELEASE);
	return 0;
}

static int copyup_locked(struct ovl *ovl, struct ovl_inode *ino)
{
	char name[NAME_MAX + 1], tmp[64];
	int l = inode_layer(ino);
	struct ovl_inode *parent = inode_get_location(ovl, ino, name, sizeof(name));
	if (!parent)
		return -ESTALE;
	int r = copyup(ovl, parent);
	if (r < 0) {
		inode_unref(ovl, parent);
		return r;
	}
	int upfd = inode_dir_fd(parent, UPPER);
	struct loc src = S_ISDIR(ino->type) ? (struct loc){ ino->dir_fds[l], "" }
					     : (struct loc){ inode_dir_fd(parent, l), name };
	struct loc dst = { ovl->work_fd, tmp };
	struct stat st, ust, pst;

	if (fstatat(upfd, name, &ust, AT_SYMLINK_NOFOLLOW) == 0 && !meta_is_whiteout(&ust)) {
		r = adopt_upper(ovl, ino, upfd, name, &ust);
		goto out;
	}
	if (src.fd < 0 || loc_stat(&src, &st) < 0) {
		/* Mandatory metadata: without the lower's stat there is no faithful copy. */
		r = ovl_fail(ovl, "copy-up", ino, NULL, l, "fstatat", src.fd < 0 ? ESTALE : errno);
		if (r == -ENOSYS || r == -EOPNOTSUPP)
			r = -EIO;
		goto out;
	}
	tmp_name(tmp, sizeof(tmp));
	if ((r = build_copy(ovl, ino, l, &src, &st, tmp)) < 0)
		goto cleanup;
	copy_xattrs(ovl, ino, l, &src, &dst);
	if (meta_set_origin(ovl, &dst, l, (unsigned long long)st.st_ino) < 0 && !S_ISLNK(st.st_mode))
		log_debug("copy-up: origin not recorded: %s", strerror(errno));
	bool override;
	if ((r = copy_attrs(ino, &st, &dst, &override)) < 0) {
		r = ovl_fail(ovl, "copy-up", ino, NULL, UPPER, "set attributes", -r);
		goto cleanup;
	}
	/* Moving the copy in changes the parent's mtime; the merged view must not see that
	 * (kernel overlayfs restores it too). */
	bool have_pst = fstatat(upfd, "", &pst, AT_EMPTY_PATH) == 0;
	if (renameat2(ovl->work_fd, tmp, upfd, name, RENAME_NOREPLACE) < 0) {
		r = ovl_fail(ovl, "copy-up", ino, NULL, UPPER, "renameat2", errno);
		goto cleanup;
	}
	if (have_pst) {
		char p[PATH_MAX_PROC];
		struct timespec ts[2] = { pst.st_atim, pst.st_mtim };
		snprintf(p, sizeof(p), "/proc/self/fd/%d", upfd);
		utimensat(AT_FDCWD, p, ts, 0);
	}
	if (fstatat(upfd, name, &ust, AT_SYMLINK_NOFOLLOW) < 0) {
		r = ovl_fail(ovl, "copy-up", ino, NULL, UPPER, "fstatat", errno);
		goto out;
	}
	r = adopt_upper(ovl, ino, upfd, name, &ust);
	goto out;
cleanup:
	unlinkat(ovl->work_fd, tmp, S_ISDIR(ino->type) ? AT_REMOVEDIR : 0);
out:
	inode_unref(ovl, parent);
	return r;
}

int copyup(struct ovl *ovl, struct ovl_inode *ino)
{
	if (ovl->read_only)
		return -EROFS;
	if (inode_layer(ino) == UPPER)
		return 0;
	pthread_mutex_lock(&ino->copyup_lock);
	int r = inode_layer(ino) == UPPER ? 0 : copyup_locked(ovl, ino);
	pthread_mutex_unlock(&ino->copyup_lock);
	return r;
}

int copyup_tree(struct ovl *ovl, struct ovl_inode *dir)
{
	int r = copyup(ovl, dir);
	if (r < 0)
		return r;
	if (dir->last_layer == UPPER)
		return 0; /* nothing below to bring up */
	struct dirlist list;
	if ((r = dirlist_read(ovl, dir, &list)) < 0)
		return r;
	for (size_t i = 0; i < list.n && r == 0; i++) {
		struct ovl_inode *child;
		struct stat st;
		r = ovl_lookup(ovl, dir, list.entries[i].name, &child, &st);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		r = S_ISDIR(child->type) ? copyup_tree(ovl, child) : copyup(ovl, child);
		inode_unref(ovl, child);
	}
	dirlist_free(&list);
	if (r < 0)
		return r;
	struct loc loc = { inode_dir_fd(dir, UPPER), "" };
	if ((r = meta_set_opaque(ovl, &loc)) < 0)
		return ovl_fail(ovl, "copy-up", dir, NULL, UPPER, "setxattr(opaque)", -r);
	__atomic_store_n(&dir->last_layer, UPPER, __ATOMIC_RELEASE);
	return 0;
}

static int remove_tree_at(int dirfd, const char *name)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			remove_tree_at(fd, de->d_name);
	return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

int copyup_clean_workdir(int work_fd)
{
	int fd = openat(work_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	struct dirent *de;
	int r = 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			int q = remove_tree_at(work_fd, de->d_name);
			if (q < 0 && r == 0)
				r = q;
		}
	return r;
}
