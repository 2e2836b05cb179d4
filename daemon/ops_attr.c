/* Attribute operations: stat, chmod/chown/truncate/utimens, readlink, statfs and xattrs.
 * Changes copy the object up first; private overlay xattrs are neither shown nor writable. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/macros.h"
#include "copyup.h"
#include "devio.h"
#include "meta.h"
#include "ops.h"

static void reply_attr(fuse_req_t req, struct ovl *ovl, struct ovl_inode *ino,
		       struct fuse_file_info *fi)
{
	struct stat st;
	int r;
	if (fi && fi->fh && !S_ISDIR(ino->type)) {
		r = fstat(ops_file_fd(fi), &st) < 0 ? -errno : 0;
		if (r == 0) {
			/* A handle on a metacopy's lower data: the upper copy has the metadata. */
			if (ops_file_on_lower_data(fi) && inode_layer(ino) == UPPER)
				r = ovl_getattr(ovl, ino, &st);
			else
				ovl_apply_identity(ovl, ino, &st);
		}
	} else {
		r = ovl_getattr(ovl, ino, &st);
		/* fstat() of a file whose last name went while it was open: the fds kept on its
		 * data and metadata (ops_file_pin_data) still know it. */
		int dfd = -1;
		int fd = r == -ENOENT && S_ISREG(ino->type) ? ops_file_removed_meta_fd(ino, &dfd) : -1;
		struct stat dst;
		if (fd >= 0 && fstat(fd, &st) == 0) {
			if (dfd >= 0 && fstat(dfd, &dst) == 0)
				st.st_blocks = dst.st_blocks; /* a metacopy's blocks are its data's */
			ovl_apply_identity(ovl, ino, &st);
			r = 0;
		}
	}
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, ovl->timeout);
}

void op_getattr(fuse_req_t req, fuse_ino_t n, struct fuse_file_info *fi)
{
	struct ovl *ovl = req_ovl(req);
	reply_attr(req, ovl, node(ovl, n), fi);
}

static int set_mode(struct ovl *ovl, struct ovl_inode *ino, const struct loc *loc, int hfd,
		    mode_t mode)
{
	pthread_mutex_lock(&ino->lock);
	bool ov = ino->has_override;
	uid_t u = ino->o_uid;
	gid_t g = ino->o_gid;
	pthread_mutex_unlock(&ino->lock);
	if (ov) {
		int r = meta_set_override(loc, u, g, mode);
		if (r < 0)
			return r;
		pthread_mutex_lock(&ino->lock);
		ino->o_mode = mode & 07777;
		pthread_mutex_unlock(&ino->lock);
	}
	if (S_ISLNK(ino->type))
		return 0;
	if (hfd >= 0)
		return fchmod(hfd, mode & 07777) < 0 && !ov ? -errno : 0;
	char p[PATH_MAX_PROC];
	loc_proc_path(loc, p, sizeof(p));
	/* Through /proc: fchmodat has no AT_EMPTY_PATH here, and the name is not a symlink. */
	if (chmod(p, mode & 07777) < 0)
		return ov ? 0 : -errno;
	(void)ovl;
	return 0;
}

/* MODE without the bits a write by a caller without CAP_FSETID clears. */
static mode_t killed_mode(mode_t mode)
{
	mode_t k = mode & ~(mode_t)S_ISUID;
	return k & S_IXGRP ? k & ~(mode_t)S_ISGID : k;
}

/* INO's upper copy, by name; a file without one left (removed while open) by HFD. */
static int access_upper(struct ovl *ovl, struct ovl_inode *ino, int hfd, struct access *a)
{
	int r = access_get(ovl, ino, UPPER, a);
	if (r < 0 && hfd >= 0) {
		a->loc.fd = hfd;
		a->loc.name = "";
		r = 0;
	}
	return r;
}

/* Like access_get() on the topmost copy; a regular file without a name left is reached
 * through the fd its inode keeps on its data or metadata (ops_file_pin_data). */
static int access_named_or_kept(struct ovl *ovl, struct ovl_inode *ino, struct access *a)
{
	int r = access_get(ovl, ino, -1, a);
	int fd, data_fd;
	if (r == -ENOENT && S_ISREG(ino->type) && (fd = ops_file_removed_meta_fd(ino, &data_fd)) >= 0) {
		a->loc.fd = fd;
		a->loc.name = "";
		r = 0;
	}
	return r;
}

/* A file without a name left, about to change: the fd its inode keeps on upper data, or
 * else a private copy of its lower data made now (as a write makes one), whose fd goes to
 * *OWN for the caller to close. Returns the fd or -errno. */
static int removed_upper_fd(struct ovl *ovl, struct ovl_inode *ino, int *own)
{
	int fd = ops_file_cached_fd(ino, false);
	return fd >= 0 ? fd : (*own = ops_file_open_upper(ovl, ino));
}

bool ops_has_suidgid(struct ovl *ovl, struct ovl_inode *ino, int hfd)
{
	struct stat st;
	if (hfd >= 0 ? fstat(hfd, &st) < 0 : ovl_getattr(ovl, ino, &st) < 0)
		return true; /* can't tell: look again afterwards */
	if (hfd >= 0)
		ovl_apply_identity(ovl, ino, &st);
	return killed_mode(st.st_mode) != st.st_mode;
}

int ops_kill_suidgid(struct ovl *ovl, struct ovl_inode *ino, int hfd, fuse_ino_t notify)
{
	struct stat st;
	/* By HFD when there is one: the file may have no name left (open and unlinked). */
	int r = hfd < 0 ? ovl_getattr(ovl, ino, &st) : fstat(hfd, &st) < 0 ? -errno : 0;
	if (r < 0)
		return r;
	if (hfd >= 0)
		ovl_apply_identity(ovl, ino, &st);
	mode_t m = st.st_mode & 07777;
	if (killed_mode(m) != m) {
		struct access a;
		if ((r = access_upper(ovl, ino, hfd, &a)) == 0)
			r = set_mode(ovl, ino, &a.loc, hfd, killed_mode(m));
		access_done(ovl, &a);
	}
	/* Also when the host kernel had cleared the bits already: the kernel's copy of the mode
	 * still has them. Attributes only (offset -1): no page or inode lock is taken, so this is
	 * safe while the kernel waits for our reply to the very request. */
	int n = r == 0 && notify ? fuse_lowlevel_notify_inval_inode(ovl->se, notify, -1, 0) : 0;
	if (n < 0)
		log_debug("the kernel refused to forget the attributes of inode %llu: %s",
			  (unsigned long long)notify, strerror(-n));
	return r;
}

static int set_owner(struct ovl *ovl, struct ovl_inode *ino, const struct loc *loc, int hfd,
		     uid_t uid, gid_t gid)
{
	int flags = AT_SYMLINK_NOFOLLOW | (loc->name[0] ? 0 : AT_EMPTY_PATH);
	pthread_mutex_lock(&ino->lock);
	bool ov = ino->has_override;
	pthread_mutex_unlock(&ino->lock);
	if (!ov && (hfd >= 0 ? fchown(hfd, uid, gid) : fchownat(loc->fd, loc->name, uid, gid, flags)) == 0)
		return 0;
	if (!ov && (!ovl->store_owner_in_xattr || (errno != EPERM && errno != EINVAL)))
		return -errno;
	/* Rootless: the id can't be given on disk, so it is recorded beside the object. */
	struct stat st;
	if (loc_stat(loc, &st) < 0)
		return -errno;
	pthread_mutex_lock(&ino->lock);
	uid_t u = uid != (uid_t)-1 ? uid : ov ? ino->o_uid : st.st_uid;
	gid_t g = gid != (gid_t)-1 ? gid : ov ? ino->o_gid : st.st_gid;
	mode_t m = ov ? ino->o_mode : st.st_mode & 07777;
	pthread_mutex_unlock(&ino->lock);
	int r = meta_set_override(loc, u, g, m);
	if (r < 0)
		return r;
	pthread_mutex_lock(&ino->lock);
	ino->has_override = true;
	ino->o_uid = u;
	ino->o_gid = g;
	ino->o_mode = m;
	pthread_mutex_unlock(&ino->lock);
	return 0;
}

static int set_times(const struct loc *loc, int hfd, const struct stat *attr, int to_set)
{
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		ts[0] = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		ts[1] = attr->st_mtim;
	if (hfd >= 0)
		return futimens(hfd, ts) < 0 ? -errno : 0;
	if (loc->name[0])
		return utimensat(loc->fd, loc->name, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	char p[PATH_MAX_PROC];
	loc_proc_path(loc, p, sizeof(p));
	return utimensat(AT_FDCWD, p, ts, 0) < 0 ? -errno : 0;
}

static int set_size(const struct loc *loc, int hfd, off_t size)
{
	if (hfd >= 0)
		return ftruncate(hfd, size) < 0 ? -errno : 0;
	_cleanup_close_ int fd = openat(loc->fd, loc->name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return ftruncate(fd, size) < 0 ? -errno : 0;
}

void op_setattr(fuse_req_t req, fuse_ino_t n, struct stat *attr, int to_set,
		struct fuse_file_info *fi)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_inode *ino = node(ovl, n);
	struct access a;
	/* An open handle on the upper copy reaches the file even after its name was removed
	 * (the writeback cache sends times and sizes when an unlinked file is closed). A file
	 * the kernel opened alone (no_open) has none: an fd is opened for ftruncate(). After
	 * its last name went, the inode's kept fd is all that reaches it: fchmod(), fchown()
	 * and futimens() come without a handle in either mode. */
	int hfd = -1, r = 0;
	if (fi && fi->fh && !S_ISDIR(ino->type) && !ops_file_on_lower_data(fi))
		hfd = ops_file_fd(fi);
	bool no_handle = fi && !fi->fh && S_ISREG(ino->type);
	bool sized = to_set & FUSE_SET_ATTR_SIZE;
	bool removed = hfd < 0 && S_ISREG(ino->type) && !inode_has_name(ino);
	_cleanup_close_ int own_fd = -1;
	if (hfd >= 0) {
		/* upper data already: nothing to copy up */
	} else if (removed && !sized) {
		r = hfd = removed_upper_fd(ovl, ino, &own_fd);
	} else if ((no_handle && sized) || removed) {
		/* ftruncate(): copied up as for a write (a removed file: a private copy) */
		r = hfd = own_fd = ops_file_open_upper(ovl, ino);
	} else if (!sized) {
		r = copyup_meta(ovl, ino); /* metadata only (metacopy=on) */
	} else {
		/* A truncation to 0 (open with O_TRUNC, when the kernel opens files alone) needs
		 * none of the data. */
		r = attr->st_size == 0 ? copyup_truncated(ovl, ino) : copyup(ovl, ino);
	}
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if ((r = access_upper(ovl, ino, hfd, &a)) == 0) {
		const char *what = NULL;
		if (!what && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
		    (r = set_owner(ovl, ino, &a.loc, hfd,
				   (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1,
				   (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1)) < 0)
			what = "fchownat";
		if (!what && (to_set & FUSE_SET_ATTR_MODE) &&
		    (r = set_mode(ovl, ino, &a.loc, hfd, attr->st_mode)) < 0)
			what = "chmod";
		if (!what && (to_set & FUSE_SET_ATTR_SIZE) &&
		    (r = set_size(&a.loc, hfd, attr->st_size)) < 0)
			what = "ftruncate";
		if (!what &&
		    (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
			       FUSE_SET_ATTR_MTIME_NOW)) &&
		    (r = set_times(&a.loc, hfd, attr, to_set)) < 0)
			what = "utimensat";
		if (!what && ovl->killpriv_v2 && devio_request_kills_suidgid() &&
		    !S_ISDIR(ino->type) && (r = ops_kill_suidgid(ovl, ino, hfd, 0)) < 0)
			what = "chmod";
		/* ENOENT is not logged: the kernel writes back the times of a file it still
		 * caches after its last name went (writeback cache, no handle left). */
		if (what && r != -EPERM && r != -EACCES && r != -EFBIG && r != -EINVAL &&
		    r != -ENOSPC && r != -EDQUOT && r != -ENOENT)
			r = ovl_fail(ovl, "setattr", ino, NULL, UPPER, what, -r);
	}
	access_done(ovl, &a);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_attr(req, ovl, ino, fi);
}

void op_readlink(fuse_req_t req, fuse_ino_t n)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_inode *ino = node(ovl, n);
	struct access a;
	char buf[PATH_MAX + 1];
	int r = access_get(ovl, ino, -1, &a);
	ssize_t len = -1;
	if (r == 0 && (len = readlinkat(a.loc.fd, a.loc.name, buf, sizeof(buf) - 1)) < 0)
		r = ovl_fail(ovl, "readlink", ino, NULL, a.layer, "readlinkat", errno);
	access_done(ovl, &a);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	buf[len] = '\0';
	fuse_reply_readlink(req, buf);
}

void op_access(fuse_req_t req, fuse_ino_t n, int mask)
{
	/* Permissions are checked by the kernel (default_permissions); writes to a read-only
	 * mount are refused here so access(W_OK) tells the truth. */
	struct ovl *ovl = req_ovl(req);
	(void)n;
	fuse_reply_err(req, (mask & W_OK) && ovl->read_only ? EROFS : 0);
}

void op_statfs(fuse_req_t req, fuse_ino_t n)
{
	struct ovl *ovl = req_ovl(req);
	struct statvfs sv;
	int fd = ovl->read_only ? ovl->layers[1].fd : ovl->layers[UPPER].fd;
	(void)n;
	if (fstatvfs(fd, &sv) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

/* An xattr the lower filesystem can't handle at all reads as "no such attribute". */
static int xattr_read_errno(int err)
{
	return err == ENOTSUP || err == ENOSYS ? ENODATA : err;
}

void op_getxattr(fuse_req_t req, fuse_ino_t n, const char *name, size_t size)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_inode *ino = node(ovl, n);
	if (ovl->noxattrs) {
		fuse_reply_err(req, ENOTSUP);
		return;
	}
	if (meta_xattr_is_private(name)) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	_cleanup_free_ char *buf = size ? malloc(size) : NULL;
	if (size && !buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	struct access a;
	ssize_t len = -1;
	int r = access_named_or_kept(ovl, ino, &a);
	if (r == 0 && (len = loc_getxattr(&a.loc, name, buf, size)) < 0)
		r = -xattr_read_errno(errno);
	access_done(ovl, &a);
	if (r < 0)
		fuse_reply_err(req, -r);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)len);
	else
		fuse_reply_buf(req, buf, (size_t)len);
}

void op_listxattr(fuse_req_t req, fuse_ino_t n, size_t size)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_inode *ino = node(ovl, n);
	if (ovl->noxattrs) {
		fuse_reply_err(req, ENOTSUP);
		return;
	}
	struct access a;
	int r = access_named_or_kept(ovl, ino, &a);
	_cleanup_free_ char *all = NULL;
	ssize_t len = 0;
	while (r == 0) {
		len = loc_listxattr(&a.loc, NULL, 0);
		if (len < 0) {
			r = errno == ENOTSUP || errno == ENOSYS ? 0 : -errno;
			len = 0;
			break;
		}
		free(all);
		if (!(all = malloc((size_t)len + 1))) {
			r = -ENOMEM;
			break;
		}
		len = loc_listxattr(&a.loc, all, (size_t)len);
		if (len >= 0)
			break;
		if (errno != ERANGE) /* grew meanwhile: ask again */
			r = -errno;
	}
	access_done(ovl, &a);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	/* Drop the overlay's own names, compacting in place. */
	size_t out = 0;
	for (ssize_t i = 0; i < len;) {
		size_t l = strlen(all + i) + 1;
		if (!meta_xattr_is_private(all + i)) {
			memmove(all + out, all + i, l);
			out += l;
		}
		i += (ssize_t)l;
	}
	if (size == 0)
		fuse_reply_xattr(req, out);
	else if (size < out)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, all, out);
}

static void change_xattr(fuse_req_t req, fuse_ino_t n, const char *name, const char *value,
			 size_t size, int flags, bool remove)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_inode *ino = node(ovl, n);
	if (ovl->noxattrs) {
		fuse_reply_err(req, ENOTSUP);
		return;
	}
	if (meta_xattr_is_private(name)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	int r = 0, hfd = -1;
	_cleanup_close_ int own_fd = -1;
	if (S_ISREG(ino->type) && !inode_has_name(ino))
		r = hfd = removed_upper_fd(ovl, ino, &own_fd);
	else
		r = copyup_meta(ovl, ino);
	struct access a = { 0 };
	if (r >= 0 && (r = access_upper(ovl, ino, hfd, &a)) == 0) {
		int q = remove ? loc_removexattr(&a.loc, name)
			       : loc_setxattr(&a.loc, name, value, size, flags);
		if (q < 0)
			r = -errno;
	}
	access_done(ovl, &a);
	fuse_reply_err(req, -r);
}

void op_setxattr(fuse_req_t req, fuse_ino_t n, const char *name, const char *value, size_t size,
		 int flags)
{
	change_xattr(req, n, name, value, size, flags, false);
}

void op_removexattr(fuse_req_t req, fuse_ino_t n, const char *name)
{
	change_xattr(req, n, name, NULL, 0, 0, true);
}
