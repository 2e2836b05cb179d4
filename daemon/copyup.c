/* Copy-up builds the new upper copy under a temporary name in the work directory, gives it
 * type, data (holes kept), xattrs, owner, mode and times, then renames it into place: a reader
 * sees the old copy or the complete new one, and a crash leaves only work-directory debris. */
#include "copyup.h"
#include "layer.h"

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
#include "copydata.h"
#include "dirlist.h"
#include "lookup.h"
#include "meta.h"
#include "pending.h"

/* vfs_cap_data v3 is 24 bytes; leave room. */
#define XATTR_SIZE_MAX_CAPS 64

static unsigned long tmp_counter;

static void tmp_name(char *buf, size_t len)
{
	unsigned long n = __atomic_add_fetch(&tmp_counter, 1, __ATOMIC_RELAXED);
	snprintf(buf, len, "#cu-%d-%lu", (int)getpid(), n);
}

/* Copy every readable xattr that is not the overlay's own. Missing xattr support in the lower
 * (a weak FUSE filesystem) or names the upper refuses are skipped with one log line each:
 * they are optional metadata, and losing the whole copy-up over them is what this avoids.
 * Xattrs that exist but cannot be listed are another matter: listxattr(2) returns at most
 * 64 KiB of names (E2BIG beyond), so a copy would silently lose them all. That copy-up is
 * refused (-EIO) with a line naming the file, the layer and the cause. */
static int copy_xattrs(struct ovl *ovl, struct ovl_inode *ino, int l, const struct loc *src,
		       const struct loc *dst)
{
	char path[PATH_MAX];
	_cleanup_free_ char *names = NULL;
	ssize_t n;
	/* The list can grow between the sizing call and the reading one (ERANGE): size again. */
	for (int attempt = 0;; attempt++) {
		n = loc_listxattr(src, NULL, 0);
		if (n > 0) {
			free(names);
			names = malloc((size_t)n);
			if (!names)
				return -ENOMEM;
			n = loc_listxattr(src, names, (size_t)n);
		}
		if (n >= 0 || errno != ERANGE || attempt == 3)
			break;
	}
	if (n < 0 && errno == E2BIG) {
		char lname[PATH_MAX + 32];
		log_msg_ratelimited(LOG_LEVEL_WARNING,
				    "copy-up %s refused: listxattr on %s failed: %s: its xattr names "
				    "list to more than the 64 KiB the kernel can return, so a copy would "
				    "lose them; remove some of them from the lower file (reported to the "
				    "application as EIO)",
				    ovl_inode_path(ovl, ino, path, sizeof(path)),
				    ovl_layer_name(ovl, l, lname, sizeof(lname)), strerror(E2BIG));
		return -EIO;
	}
	if (n <= 0) {
		if (n < 0) {
			int e = errno;
			/* Once per layer where everyone sees it, then per file in the info log. */
			if (!__atomic_exchange_n(&ovl->layers[l].warned_no_xattrs, true,
						 __ATOMIC_RELAXED))
				log_warning("%s cannot list xattrs (listxattr: %s): copy-ups from it "
					    "keep everything but xattrs",
					    ovl_layer_name(ovl, l, path, sizeof(path)), strerror(e));
			log_msg_ratelimited(LOG_LEVEL_INFO,
					    "copy-up %s: xattrs not copied: listxattr on %s: %s",
					    ovl_inode_path(ovl, ino, path, sizeof(path)),
					    ovl->layers[l].path, strerror(e));
		}
		return 0;
	}
	_cleanup_free_ char *val = malloc(XATTR_SIZE_MAX);
	if (!val)
		return -ENOMEM;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
		const char *name = names + i;
		if (meta_xattr_is_private(name) || !strcmp(name, "security.capability"))
			continue; /* capabilities are set after the owner, in finish_copy */
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
	return 0;
}

/* Owner, mode and times of the new copy, in that order: chown clears setuid bits, and every
 * earlier step would move mtime. DST may be a nameless file's fd (name ""). */
static int copy_attrs(struct ovl *ovl, struct ovl_inode *ino, const struct stat *st,
		      const struct loc *dst, bool *override)
{
	uid_t uid = st->st_uid;
	gid_t gid = st->st_gid;
	mode_t mode = st->st_mode & 07777;
	*override = false;
	ovl_squash_ids(ovl, &uid, &gid);
	pthread_mutex_lock(&ino->lock);
	if (ino->has_override) {
		uid = ino->o_uid;
		gid = ino->o_gid;
		mode = ino->o_mode;
	}
	pthread_mutex_unlock(&ino->lock);

	bool by_fd = !dst->name[0];
	if (fchownat(dst->fd, dst->name, uid, gid, AT_SYMLINK_NOFOLLOW | (by_fd ? AT_EMPTY_PATH : 0)) <
	    0) {
		if (errno != EPERM && errno != EINVAL)
			return -errno;
		/* Rootless and the id is not ours to give: keep it beside the file instead. */
		if (meta_set_override(dst, uid, gid, mode) == 0)
			*override = true;
		else if (!S_ISLNK(st->st_mode))
			log_msg_ratelimited(LOG_LEVEL_INFO, "copy-up: owner %u:%u not kept: %s",
					    uid, gid, strerror(errno));
	}
	if (!S_ISLNK(st->st_mode) &&
	    (by_fd ? fchmod(dst->fd, mode) : fchmodat(dst->fd, dst->name, mode, 0)) < 0)
		return -errno;
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	if ((by_fd ? futimens(dst->fd, ts) : utimensat(dst->fd, dst->name, ts, AT_SYMLINK_NOFOLLOW)) <
	    0)
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

/* File capabilities go last, after the owner: the kernel drops security.capability on chown. */
static void copy_caps(const struct loc *src, const struct loc *dst)
{
	char caps[XATTR_SIZE_MAX_CAPS];
	ssize_t n = loc_getxattr(src, "security.capability", caps, sizeof(caps));
	if (n > 0 && loc_setxattr(dst, "security.capability", caps, (size_t)n, 0) < 0)
		log_msg_ratelimited(LOG_LEVEL_INFO, "copy-up: security.capability skipped: %s",
				    strerror(errno));
}

/* Close the copy's fd *OUT (set to -1): 0, or the errno of a write the upper reported lost
 * there. An upper whose close() writes the file out (FUSE with a writeback cache, NFS) tells
 * a deferred copy only here that its data did not reach the disk. Not checked, such a copy
 * was published, its background fsync found nothing wrong afterwards (fault-upper-eio.sh),
 * and a torn copy hid the lower file. */
static int close_copy(int *out)
{
	int fd = *out;
	*out = -1;
	return close(fd) < 0 && errno != EINTR ? errno : 0;
}

/* Build the copy of the lower object SRC (stat ST) as WORK/TMP. *DEFERRED: a big regular
 * file (MAY_DEFER) was not fsynced: its record must be written before it is published. */
static int build_copy(struct ovl *ovl, struct ovl_inode *ino, int l, const struct loc *src,
		      const struct stat *st, const char *tmp, bool may_defer, bool *deferred)
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
		*deferred = may_defer && pending_wanted(ovl, st->st_size);
		bool sync_now = ovl->fsync && !*deferred;
		r = copy_data(in, out, st->st_size, sync_now, &sys);
		if (r < 0)
			return ovl_fail(ovl, "copy-up", ino, NULL, l, sys, -r);
		if (sync_now && fsync(out) < 0)
			return ovl_fail(ovl, "copy-up", ino, NULL, UPPER, "fsync", errno);
		if ((r = close_copy(&out)))
			return ovl_fail(ovl, "copy-up", ino, NULL, UPPER, "close", r);
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

/* The upper already holds this name (a directory tree copied up beneath a cached inode, or a
 * hard link just made from the index): make the inode point at it. */
static int adopt_upper(struct ovl *ovl, struct ovl_inode *ino, int upfd, const char *name)
{
	struct stat ust;
	if (fstatat(upfd, name, &ust, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (S_ISDIR(ino->type)) {
		int fd = openat(upfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		__atomic_store_n(&ino->dir_fds[UPPER], fd, __ATOMIC_RELEASE);
	}
	struct loc loc = { S_ISDIR(ino->type) ? inode_dir_fd(ino, UPPER) : upfd,
			   S_ISDIR(ino->type) ? "" : name };
	ovl_load_upper_meta(ovl, ino, &loc, &ust, false);
	inode_rekey(&ovl->table, ino, UPPER, ust.st_dev, ust.st_ino);
	__atomic_store_n(&ino->layer, UPPER, __ATOMIC_RELEASE);
	return 0;
}

/* Moving an entry into the upper parent changes the parent's times; the merged view must not
 * see that (kernel overlayfs restores them too). */
struct parent_times {
	int fd;
	bool valid;
	struct timespec ts[2];
};

static void parent_times_save(struct parent_times *pt, int upfd)
{
	struct stat st;
	pt->fd = upfd;
	pt->valid = fstatat(upfd, "", &st, AT_EMPTY_PATH) == 0;
	pt->ts[0] = st.st_atim;
	pt->ts[1] = st.st_mtim;
}

static void parent_times_restore(const struct parent_times *pt)
{
	char p[PATH_MAX_PROC];
	if (!pt->valid)
		return;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", pt->fd);
	utimensat(AT_FDCWD, p, pt->ts, 0);
}

static void index_key(char *buf, size_t len, int l, const struct stat *st)
{
	snprintf(buf, len, "%d-%llu", l, (unsigned long long)st->st_ino);
}

/* Path of NAME in directory DIRFD relative to the root of layer L (for metacopy). */
static int layer_relpath(struct ovl *ovl, int l, int dirfd, const char *name, char *out, size_t len)
{
	char p[PATH_MAX_PROC], dir[PATH_MAX], root[PATH_MAX];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", dirfd);
	ssize_t n = readlink(p, dir, sizeof(dir) - 1);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", ovl->layers[l].fd);
	ssize_t m = readlink(p, root, sizeof(root) - 1);
	if (n < 0 || m < 0)
		return -errno;
	dir[n] = root[m] = '\0';
	size_t rl = strlen(root);
	if (strncmp(dir, root, rl) || (dir[rl] != '/' && dir[rl] != '\0'))
		return -EXDEV; /* not below the layer root (deleted, or another mount) */
	const char *rel = dir[rl] == '/' ? dir + rl + 1 : "";
	if (snprintf(out, len, "%s%s%s", rel, rel[0] ? "/" : "", name) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int copyup_link_index(struct ovl *ovl, struct ovl_inode *parent, const char *name, int l,
		      const struct stat *lower_st)
{
	char key[64];
	struct stat st;
	if (ovl->index_fd < 0 || !S_ISREG(lower_st->st_mode) || lower_st->st_nlink < 2)
		return 0;
	index_key(key, sizeof(key), l, lower_st);
	if (fstatat(ovl->index_fd, key, &st, 0) < 0)
		return 0;
	int r = copyup(ovl, parent);
	if (r < 0)
		return r;
	int upfd = inode_dir_fd(parent, UPPER);
	struct parent_times pt;
	parent_times_save(&pt, upfd);
	if (linkat(ovl->index_fd, key, upfd, name, 0) < 0) {
		if (errno == EEXIST) /* another lookup linked it meanwhile */
			return 1;
		return ovl_fail(ovl, "copy-up (hard link)", parent, name, UPPER, "linkat", errno);
	}
	parent_times_restore(&pt);
	/* One lower name fewer stands outside the upper inode. */
	struct loc loc = { upfd, name };
	int extra;
	if (meta_get_nlink_extra(ovl, &loc, &extra) == 0 && extra > 0)
		meta_set_nlink_extra(ovl, &loc, extra - 1);
	return 1;
}

/* Give WORK/TMP (a copy of the object ST describes) the overlay's records and the object's
 * xattrs, owner, mode and times. */
/* *LINK_ORIGIN is set when the origin could not go into an xattr (a symbolic link, rootless):
 * the caller then records it in the index once the copy has its upper inode number. */
static int finish_copy(struct ovl *ovl, struct ovl_inode *ino, int l, const struct loc *src,
		       const struct stat *st, const char *tmp, bool origin_done, bool *link_origin)
{
	struct loc dst = { ovl->work_fd, tmp };
	*link_origin = false;
	int r = copy_xattrs(ovl, ino, l, src, &dst);
	if (r < 0)
		return r;
	if (!origin_done && meta_set_origin(ovl, &dst, l, (unsigned long long)st->st_ino, NULL) < 0) {
		if (S_ISLNK(st->st_mode))
			*link_origin = true;
		else
			log_debug("copy-up: origin not recorded: %s", strerror(errno));
	}
	bool override;
	r = copy_attrs(ovl, ino, st, &dst, &override);
	if (r < 0)
		return ovl_fail(ovl, "copy-up", ino, NULL, UPPER, "set attributes", -r);
	if (S_ISREG(st->st_mode))
		copy_caps(src, &dst);
	return 0;
}

/* A metadata-only copy: an empty file of the right size (no blocks) that records where the
 * data still is. Returns 1 when made, 0 when metacopy can't be used here, -errno. */
static int build_metacopy(struct ovl *ovl, struct ovl_inode *ino, int l, const struct loc *src,
			  const struct stat *st, const char *tmp)
{
	char rel[PATH_MAX];
	if (layer_relpath(ovl, l, src->fd, src->name, rel, sizeof(rel)) < 0)
		return 0;
	_cleanup_close_ int fd = openat(ovl->work_fd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return ovl_fail(ovl, "copy-up", ino, NULL, UPPER, "openat(workdir)", errno);
	struct loc dst = { ovl->work_fd, tmp };
	if (ftruncate(fd, st->st_size) < 0 ||
	    meta_set_origin(ovl, &dst, l, (unsigned long long)st->st_ino, rel) < 0) {
		unlinkat(ovl->work_fd, tmp, 0);
		return 0; /* e.g. no user xattrs on the upper: fall back to a full copy */
	}
	return 1;
}

static int copyup_data_locked(struct ovl *ovl, struct ovl_inode *ino);

/* Record WORK/TMP, an unsynced copy about to become UPFD/NAME, so that its fsync can wait
 * (pending.c). Where no record can be written, fsync it now instead. */
static int prepare_unsynced(struct ovl *ovl, struct ovl_inode *ino, struct pending_ticket *t,
			    const char *tmp, int upfd, const char *name, bool has_old)
{
	char rel[PATH_MAX];
	int r = layer_relpath(ovl, UPPER, upfd, name, rel, sizeof(rel));
	if (r == 0 && (r = pending_prepare(ovl, t, tmp, rel, upfd, name, has_old)) == 0)
		return 0;
	log_msg_ratelimited(LOG_LEVEL_INFO, "copy-up: no record for a background fsync (%s): "
			    "syncing the copy now", strerror(-r));
	_cleanup_close_ int fd = openat(ovl->work_fd, tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return ovl_fail(ovl, "copy-up", ino, NULL, UPPER, "fsync", errno);
	return 0;
}

enum copyup_kind {
	COPYUP_DATA,  /* a complete copy */
	COPYUP_META,  /* metadata only where metacopy=on allows it */
	COPYUP_EMPTY, /* the data is about to be truncated away: copy none */
};

static int copyup_locked(struct ovl *ovl, struct ovl_inode *ino, enum copyup_kind kind)
{
	char name[NAME_MAX + 1], tmp[64], key[64];
	int l = inode_layer(ino);
	if (l == UPPER) {
		pthread_mutex_lock(&ino->lock);
		bool metacopy = ino->metacopy;
		pthread_mutex_unlock(&ino->lock);
		return metacopy && kind != COPYUP_META ? copyup_data_locked(ovl, ino) : 0;
	}
	struct ovl_inode *parent = inode_get_location(ovl, ino, name, sizeof(name));
	if (!parent)
		return -ENOENT; /* every name of it was removed (inode_drop_location) */
	int r = copyup(ovl, parent);
	if (r < 0) {
		inode_unref(ovl, parent);
		return r;
	}
	int upfd = inode_dir_fd(parent, UPPER);
	struct loc src = S_ISDIR(ino->type) ? (struct loc){ ino->dir_fds[l], "" }
					     : (struct loc){ inode_dir_fd(parent, l), name };
	struct stat st, ust;
	struct parent_times pt;

	if (fstatat(upfd, name, &ust, AT_SYMLINK_NOFOLLOW) == 0 && !meta_is_whiteout(&ust)) {
		r = adopt_upper(ovl, ino, upfd, name);
		goto out;
	}
	if (src.fd < 0 || loc_stat(&src, &st) < 0) {
		/* Mandatory metadata: without the lower's stat there is no faithful copy. */
		r = ovl_fail(ovl, "copy-up", ino, NULL, l, "fstatat", src.fd < 0 ? ESTALE : errno);
		goto out;
	}
	if ((r = copyup_link_index(ovl, parent, name, l, &st)) != 0) {
		if (r > 0)
			r = adopt_upper(ovl, ino, upfd, name);
		goto out;
	}
	bool indexed = ovl->index_fd >= 0 && S_ISREG(st.st_mode) && st.st_nlink > 1;
	tmp_name(tmp, sizeof(tmp));
	r = 0;
	if (kind == COPYUP_META && ovl->metacopy && S_ISREG(st.st_mode) && !indexed &&
	    st.st_size > 0)
		r = build_metacopy(ovl, ino, l, &src, &st, tmp);
	if (kind == COPYUP_EMPTY && S_ISREG(st.st_mode) && !indexed) {
		int fd = openat(ovl->work_fd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0)
			r = ovl_fail(ovl, "copy-up", ino, NULL, UPPER, "openat(workdir)", errno);
		else
			r = 1, close(fd);
	}
	if (r < 0)
		goto out;
	bool is_metacopy = r == 1 && kind == COPYUP_META, link_origin, deferred = false;
	struct pending_ticket ticket = { 0 };
	if (r == 0 && (r = build_copy(ovl, ino, l, &src, &st, tmp, !indexed, &deferred)) < 0)
		goto cleanup;
	if ((r = finish_copy(ovl, ino, l, &src, &st, tmp, is_metacopy, &link_origin)) < 0)
		goto cleanup;
	if (indexed) {
		/* Keep a name in the index so the file's other lower names can join this inode. */
		struct loc dst = { ovl->work_fd, tmp };
		index_key(key, sizeof(key), l, &st);
		meta_set_nlink_extra(ovl, &dst, (int)st.st_nlink - 1);
		if (linkat(ovl->work_fd, tmp, ovl->index_fd, key, 0) < 0 && errno != EEXIST)
			log_msg_ratelimited(LOG_LEVEL_WARNING, "copy-up: hard link index entry %s: %s",
					    key, strerror(errno));
		/* the index name must not disturb the copy's times */
		struct timespec ts[2] = { st.st_atim, st.st_mtim };
		utimensat(ovl->work_fd, tmp, ts, AT_SYMLINK_NOFOLLOW);
	}
	if (deferred && (r = prepare_unsynced(ovl, ino, &ticket, tmp, upfd, name, false)) < 0)
		goto cleanup;
	parent_times_save(&pt, upfd);
	if (renameat2(ovl->work_fd, tmp, upfd, name, RENAME_NOREPLACE) < 0) {
		r = ovl_fail(ovl, "copy-up", ino, NULL, UPPER, "renameat2", errno);
		pending_abort(ovl, &ticket);
		goto cleanup;
	}
	pending_publish(ovl, &ticket);
	parent_times_restore(&pt);
	if (link_origin && fstatat(upfd, name, &ust, AT_SYMLINK_NOFOLLOW) == 0)
		meta_save_link_origin(ovl, (unsigned long long)ust.st_ino, l,
				      (unsigned long long)st.st_ino);
	r = adopt_upper(ovl, ino, upfd, name);
	goto out;
cleanup:
	unlinkat(ovl->work_fd, tmp, S_ISDIR(ino->type) ? AT_REMOVEDIR : 0);
out:
	inode_unref(ovl, parent);
	return r;
}

/* Second half of a metadata-only copy-up: build a complete copy (data from the lower file,
 * everything else from the upper copy) and rename it over the upper copy. Until that rename
 * the upper copy still says where the data is, so a crash loses nothing. */
static int copyup_data_locked(struct ovl *ovl, struct ovl_inode *ino)
{
	char tmp[64], *path;
	pthread_mutex_lock(&ino->lock);
	int dl = ino->data_layer;
	path = ino->data_path ? strdup(ino->data_path) : NULL;
	pthread_mutex_unlock(&ino->lock);
	if (!path)
		return -ENOMEM;
	struct access a;
	struct stat ust;
	int r = access_get(ovl, ino, UPPER, &a);
	_cleanup_close_ int in = -1, out = -1;
	const char *sys = "openat2";
	tmp[0] = '\0';
	if (r < 0)
		goto done;
	if ((in = layer_open_beneath(ovl, dl, path, O_RDONLY)) < 0) {
		r = ovl_fail(ovl, "copy-up (data)", ino, NULL, dl, "openat2", -in);
		goto done;
	}
	if (loc_stat(&a.loc, &ust) < 0) {
		r = ovl_fail(ovl, "copy-up (data)", ino, NULL, UPPER, "fstatat", errno);
		goto done;
	}
	tmp_name(tmp, sizeof(tmp));
	bool deferred = pending_wanted(ovl, ust.st_size), sync_now = ovl->fsync && !deferred;
	struct pending_ticket ticket = { 0 };
	out = openat(ovl->work_fd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (out < 0 || (r = copy_data(in, out, ust.st_size, sync_now, &sys)) < 0 ||
	    (sync_now && fsync(out) < 0)) {
		r = ovl_fail(ovl, "copy-up (data)", ino, NULL, out < 0 ? UPPER : dl,
			     out < 0 ? "openat(workdir)" : sys, r < 0 ? -r : errno);
		goto cleanup;
	}
	struct loc dst = { ovl->work_fd, tmp };
	if ((r = copy_xattrs(ovl, ino, UPPER, &a.loc, &dst)) < 0)
		goto cleanup;
	struct origin o;
	if (meta_get_origin(ovl, &a.loc, &o) == 0) { /* the same origin, now complete */
		meta_set_origin(ovl, &dst, o.layer, o.ino, NULL);
		free(o.data_path);
	}
	bool override;
	if ((r = copy_attrs(ovl, ino, &ust, &dst, &override)) < 0) {
		r = ovl_fail(ovl, "copy-up (data)", ino, NULL, UPPER, "set attributes", -r);
		goto cleanup;
	}
	copy_caps(&a.loc, &dst);
	if ((r = close_copy(&out))) {
		r = ovl_fail(ovl, "copy-up (data)", ino, NULL, UPPER, "close", r);
		goto cleanup;
	}
	/* The record keeps the metadata-only copy: after a crash it comes back, not the lower. */
	if (deferred && (r = prepare_unsynced(ovl, ino, &ticket, tmp, a.loc.fd, a.loc.name, true)) < 0)
		goto cleanup;
	struct parent_times pt;
	parent_times_save(&pt, a.loc.fd);
	if (renameat2(ovl->work_fd, tmp, a.loc.fd, a.loc.name, 0) < 0) {
		r = ovl_fail(ovl, "copy-up (data)", ino, NULL, UPPER, "renameat2", errno);
		pending_abort(ovl, &ticket);
		goto cleanup;
	}
	pending_publish(ovl, &ticket);
	parent_times_restore(&pt);
	struct stat nst;
	if (loc_stat(&a.loc, &nst) == 0)
		inode_rekey(&ovl->table, ino, UPPER, nst.st_dev, nst.st_ino);
	pthread_mutex_lock(&ino->lock);
	ino->metacopy = false;
	free(ino->data_path);
	ino->data_path = NULL;
	ino->data_gen++;
	pthread_mutex_unlock(&ino->lock);
	r = 0;
	goto done;
cleanup:
	unlinkat(ovl->work_fd, tmp, 0);
done:
	access_done(ovl, &a);
	free(path);
	return r;
}

static int copyup_mode(struct ovl *ovl, struct ovl_inode *ino, enum copyup_kind kind)
{
	if (ovl->read_only)
		return -EROFS;
	if (inode_layer(ino) == UPPER) {
		pthread_mutex_lock(&ino->lock);
		bool done = !ino->metacopy || kind == COPYUP_META;
		pthread_mutex_unlock(&ino->lock);
		if (done)
			return 0;
	}
	pthread_mutex_lock(&ino->copyup_lock);
	int r = copyup_locked(ovl, ino, kind);
	pthread_mutex_unlock(&ino->copyup_lock);
	return r;
}

int copyup(struct ovl *ovl, struct ovl_inode *ino)
{
	return copyup_mode(ovl, ino, COPYUP_DATA);
}

int copyup_truncated(struct ovl *ovl, struct ovl_inode *ino)
{
	return copyup_mode(ovl, ino, COPYUP_EMPTY);
}

int copyup_meta(struct ovl *ovl, struct ovl_inode *ino)
{
	return copyup_mode(ovl, ino, COPYUP_META);
}

int copyup_orphan(struct ovl *ovl, struct ovl_inode *ino, int src_fd, int l, int meta_fd)
{
	const char *op = "copy-up (removed file)";
	struct stat data_st, st;
	if (fstat(src_fd, &data_st) < 0)
		return ovl_fail(ovl, op, ino, NULL, l, "fstat", errno);
	int meta_l = meta_fd >= 0 ? UPPER : l;
	if (fstat(meta_fd >= 0 ? meta_fd : src_fd, &st) < 0)
		return ovl_fail(ovl, op, ino, NULL, meta_l, "fstat", errno);
	_cleanup_close_ int fd = openat(ovl->work_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return ovl_fail(ovl, op, ino, NULL, UPPER, "open O_TMPFILE", errno);
	const char *sys;
	int r = copy_data(src_fd, fd, data_st.st_size, false, &sys);
	if (r < 0)
		return ovl_fail(ovl, op, ino, NULL, l, sys, -r);
	struct loc src = { meta_fd >= 0 ? meta_fd : src_fd, "" }, dst = { fd, "" };
	bool override;
	if ((r = copy_xattrs(ovl, ino, meta_l, &src, &dst)) < 0)
		return r;
	if ((r = copy_attrs(ovl, ino, &st, &dst, &override)) < 0)
		return ovl_fail(ovl, op, ino, NULL, UPPER, "set attributes", -r);
	copy_caps(&src, &dst);
	return TAKE_FD(fd);
}

int copyup_tree(struct ovl *ovl, struct ovl_inode *dir)
{
	int r = copyup(ovl, dir);
	if (r < 0)
		return r;
	if (__atomic_load_n(&dir->last_layer, __ATOMIC_ACQUIRE) == UPPER)
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
		/* Files keep their data in the lower layer when metacopy is on: the rename then
		 * costs metadata only, and the recorded lower path survives the move. */
		r = S_ISDIR(child->type) ? copyup_tree(ovl, child) : copyup_meta(ovl, child);
		inode_unref(ovl, child);
	}
	dirlist_free(&list);
	if (r < 0)
		return r;
	/* Whiteouts in an opaque directory hide nothing; other overlay implementations reading
	 * this upper would list them as broken entries. */
	struct loc loc = { inode_dir_fd(dir, UPPER), "" };
	if ((r = dirlist_clear_whiteouts(ovl, loc.fd)) < 0)
		return ovl_fail(ovl, "copy-up", dir, NULL, UPPER, "clear whiteouts", -r);
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
