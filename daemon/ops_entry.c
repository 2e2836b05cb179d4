/* Operations on names: lookup/forget, creating entries, unlink, rmdir, rename and link, with
 * the whiteouts and opaque markers that keep lower entries hidden where they must be. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copyup.h"
#include "dirlist.h"
#include "meta.h"
#include "ops.h"
#include "pending.h"

void ops_make_entry(struct ovl *ovl, struct ovl_inode *ino, const struct stat *st,
		    struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = nodeid(ovl, ino);
	e->attr = *st;
	e->attr_timeout = ovl->timeout;
	e->entry_timeout = ovl->timeout;
	inode_add_lookup(&ovl->table, ino);
	inode_unref(ovl, ino);
}

static void reply_lookup(fuse_req_t req, struct ovl_inode *parent, const char *name,
			 bool negative_ok)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_inode *ino;
	struct stat st;
	int r = ovl_lookup(ovl, parent, name, &ino, &st);
	if (r == -ENOENT && negative_ok) {
		/* A negative entry the kernel may cache: build tools probe many missing paths,
		 * and any later creation goes through the kernel, which drops it. */
		struct fuse_entry_param neg = { .ino = 0, .entry_timeout = ovl->timeout };
		fuse_reply_entry(req, &neg);
		return;
	}
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	struct fuse_entry_param e;
	ops_make_entry(ovl, ino, &st, &e);
	if (fuse_reply_entry(req, &e) < 0)
		inode_forget(ovl, ino, 1);
}

void ops_reply_lookup(fuse_req_t req, struct ovl_inode *parent, const char *name)
{
	reply_lookup(req, parent, name, false);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ovl *ovl = req_ovl(req);
	reply_lookup(req, node(ovl, parent), name, true);
}

void op_forget(fuse_req_t req, fuse_ino_t n, uint64_t nlookup)
{
	struct ovl *ovl = req_ovl(req);
	if (n != FUSE_ROOT_ID)
		inode_forget(ovl, node(ovl, n), nlookup);
	fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *list)
{
	struct ovl *ovl = req_ovl(req);
	for (size_t i = 0; i < count; i++)
		if (list[i].ino != FUSE_ROOT_ID)
			inode_forget(ovl, node(ovl, list[i].ino), list[i].nlookup);
	fuse_reply_none(req);
}

bool ops_lower_has_name(struct ovl_inode *parent, const char *name)
{
	int last = __atomic_load_n(&parent->last_layer, __ATOMIC_ACQUIRE);
	struct stat st;
	for (int l = UPPER + 1; l <= last; l++) {
		int fd = inode_dir_fd(parent, l);
		if (fd < 0)
			continue;
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return !meta_is_whiteout(&st);
		if (meta_has_dot_whiteout(fd, name))
			return false;
	}
	return false;
}

/* Is NAME in upper directory UPFD a whiteout (either form)? Removes it when REMOVE. */
static int upper_whiteout_at(struct ovl *ovl, int upfd, const char *name, bool remove)
{
	struct stat st;
	if (fstatat(upfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!meta_is_whiteout(&st))
			return -EEXIST;
		if (remove && unlinkat(upfd, name, 0) < 0)
			return -errno;
		return 1;
	}
	if (errno != ENOENT)
		return -errno;
	if (ovl->upper_dot_whiteouts && meta_has_dot_whiteout(upfd, name)) {
		char wh[NAME_MAX + 8];
		snprintf(wh, sizeof(wh), ".wh.%s", name);
		if (remove && unlinkat(upfd, wh, 0) < 0)
			return -errno;
		return 1;
	}
	return 0;
}

int ops_prepare_new_entry(struct ovl *ovl, struct ovl_inode *parent, const char *name,
			  bool *replaced_whiteout)
{
	if (strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	if ((ovl->upper_dot_whiteouts || ovl->n_layers > 1) && !strncmp(name, ".wh.", 4))
		return -EINVAL; /* would be read as a whiteout marker by OCI-style layers */
	int r = copyup(ovl, parent);
	if (r < 0)
		return r;
	int upfd = inode_dir_fd(parent, UPPER);
	/* The kernel holds the parent's lock, so nothing else changes NAME meanwhile; the
	 * whiteout is removed just before the new entry takes its place. */
	r = upper_whiteout_at(ovl, upfd, name, true);
	if (r < 0)
		return r;
	*replaced_whiteout = r == 1;
	return upfd;
}

mode_t ops_create_mode(struct ovl *ovl, fuse_req_t req, int upfd, mode_t mode)
{
	if (!ovl->acl)
		return mode;
	struct loc dir = { upfd, "" };
	if (loc_getxattr(&dir, "system.posix_acl_default", NULL, 0) > 0)
		return mode; /* the upper filesystem applies the default ACL instead */
	return mode & ~fuse_req_ctx(req)->umask;
}

void ops_set_new_owner(struct ovl *ovl, fuse_req_t req, int upfd, const char *name, bool is_dir)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct stat pst;
	gid_t gid = ctx->gid;
	/* A setgid directory gives its group to new entries; the upper fs did that already. */
	if (fstatat(upfd, "", &pst, AT_EMPTY_PATH) == 0 && (pst.st_mode & S_ISGID))
		gid = (gid_t)-1;
	if (fchownat(upfd, name, ctx->uid, gid, AT_SYMLINK_NOFOLLOW) == 0)
		return;
	if (ovl->store_owner_in_xattr) {
		struct stat st;
		if (fstatat(upfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (st.st_uid != ctx->uid || (gid != (gid_t)-1 && st.st_gid != gid))) {
			struct loc loc = { upfd, name };
			meta_set_override(&loc, ctx->uid, gid == (gid_t)-1 ? st.st_gid : gid,
					  st.st_mode & 07777);
		}
	}
	(void)is_dir;
}

static void make_entry(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		       dev_t rdev, const char *link)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_inode *p = node(ovl, parent);
	bool replaced;
	int upfd = ops_prepare_new_entry(ovl, p, name, &replaced);
	if (upfd < 0) {
		fuse_reply_err(req, -upfd);
		return;
	}
	int r;
	const char *sys;
	if (link) {
		sys = "symlinkat";
		r = symlinkat(link, upfd, name);
	} else if (S_ISDIR(mode)) {
		sys = "mkdirat";
		r = mkdirat(upfd, name, ops_create_mode(ovl, req, upfd, mode) & 07777);
	} else {
		sys = "mknodat";
		r = mknodat(upfd, name, ops_create_mode(ovl, req, upfd, mode), rdev);
	}
	if (r < 0) {
		fuse_reply_err(req, -ovl_fail(ovl, "create", p, name, UPPER, sys, errno));
		return;
	}
	ops_set_new_owner(ovl, req, upfd, name, S_ISDIR(mode));
	if (S_ISDIR(mode) && replaced) {
		/* The name was whited out: whatever a lower layer has there stays hidden. */
		int dfd = openat(upfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd >= 0) {
			struct loc loc = { dfd, "" };
			r = meta_set_opaque(ovl, &loc);
			close(dfd);
		}
		if (dfd < 0 || r < 0) {
			unlinkat(upfd, name, AT_REMOVEDIR);
			fuse_reply_err(req, EIO);
			return;
		}
	}
	ops_reply_lookup(req, p, name);
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	make_entry(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL);
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	make_entry(req, parent, name, mode, rdev, NULL);
}

void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	make_entry(req, parent, name, S_IFLNK | 0777, 0, link);
}

void op_link(fuse_req_t req, fuse_ino_t n, fuse_ino_t newparent, const char *newname)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_inode *ino = node(ovl, n), *np = node(ovl, newparent);
	int r = copyup(ovl, ino);
	bool replaced;
	int upfd = r < 0 ? r : ops_prepare_new_entry(ovl, np, newname, &replaced);
	if (upfd < 0) {
		fuse_reply_err(req, -upfd);
		return;
	}
	struct access a;
	/* An unsynced copy-up's record finds it by one path only (pending.c). */
	r = pending_settle(ovl, ino);
	if (r == 0)
		r = access_get(ovl, ino, UPPER, &a);
	else
		a.parent = NULL;
	if (r == 0 && linkat(a.loc.fd, a.loc.name, upfd, newname, 0) < 0)
		r = ovl_fail(ovl, "link", np, newname, UPPER, "linkat", errno);
	access_done(ovl, &a);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	ops_reply_lookup(req, np, newname);
}

/* Replace upper entry NAME by a whiteout in one step (built in the work directory, renamed over
 * it), so a crash never exposes the lower entry again. Directories are swapped out with
 * RENAME_EXCHANGE and removed from the work directory afterwards. */
static int replace_with_whiteout(struct ovl *ovl, int upfd, const char *name, bool is_dir)
{
	if (ovl->upper_dot_whiteouts) {
		if (unlinkat(upfd, name, is_dir ? AT_REMOVEDIR : 0) < 0)
			return -errno;
		return meta_create_whiteout(ovl, upfd, name);
	}
	char tmp[64];
	static unsigned long counter;
	snprintf(tmp, sizeof(tmp), "#wh-%d-%lu", (int)getpid(),
		 __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
	int r = meta_create_whiteout(ovl, ovl->work_fd, tmp);
	if (r < 0)
		return r;
	if (ovl->upper_dot_whiteouts) { /* fell back just now: the marker is not a device */
		unlinkat(ovl->work_fd, tmp, 0);
		return replace_with_whiteout(ovl, upfd, name, is_dir);
	}
	if (renameat2(ovl->work_fd, tmp, upfd, name, is_dir ? RENAME_EXCHANGE : 0) < 0) {
		r = -errno;
		unlinkat(ovl->work_fd, tmp, 0);
		return r;
	}
	if (is_dir && unlinkat(ovl->work_fd, tmp, AT_REMOVEDIR) < 0)
		return -errno;
	return 0;
}

static void remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name, bool is_dir)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_inode *p = node(ovl, parent), *child;
	struct stat st;
	const char *op = is_dir ? "rmdir" : "unlink";
	if (ovl->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	int r = ovl_lookup(ovl, p, name, &child, &st);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (is_dir != S_ISDIR(child->type)) {
		inode_unref(ovl, child);
		fuse_reply_err(req, is_dir ? ENOTDIR : EISDIR);
		return;
	}
	if (is_dir) {
		struct dirlist list;
		r = dirlist_read(ovl, child, &list);
		if (r == 0) {
			r = list.n > 0 ? -ENOTEMPTY : 0;
			dirlist_free(&list);
		}
	}
	/* A name of a hard-linked lower file: bring the file into the index first, so the
	 * names left behind still count each other (kernel overlayfs does the same). */
	if (r == 0 && !is_dir && S_ISREG(child->type) && inode_layer(child) != UPPER &&
	    st.st_nlink > 1 && ovl->index_fd >= 0)
		r = copyup(ovl, child);
	if (r == 0)
		r = copyup(ovl, p);
	/* The kernel may have the file open without our knowing (no_open): keep its data. */
	if (r == 0 && !is_dir)
		ops_file_pin_data(ovl, child);
	int upfd = inode_dir_fd(p, UPPER);
	bool in_upper = r == 0 && inode_layer(child) == UPPER;
	if (r == 0 && is_dir && in_upper) {
		r = dirlist_clear_whiteouts(ovl, inode_dir_fd(child, UPPER));
		if (r < 0)
			r = ovl_fail(ovl, op, child, NULL, UPPER, "clear whiteouts", -r);
	}
	/* The last name of an upper object: the upper filesystem may give its inode number to a
	 * new file the moment it is gone, and a create racing with us (in any directory) would
	 * then find this dying inode in the table and be reached under our name. So it leaves
	 * the table before the number is freed, and comes back if the removal fails. */
	bool last = r == 0 && in_upper && (is_dir || st.st_nlink <= 1);
	if (last)
		inode_unhash(&ovl->table, child);
	if (r == 0) {
		bool need_wh = ops_lower_has_name(p, name);
		if (in_upper && need_wh)
			r = replace_with_whiteout(ovl, upfd, name, is_dir);
		else if (in_upper)
			r = unlinkat(upfd, name, is_dir ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
		else
			r = meta_create_whiteout(ovl, upfd, name);
		if (r < 0)
			r = ovl_fail(ovl, op, p, name, UPPER, need_wh ? "whiteout" : "unlinkat", -r);
	}
	if (r == 0) {
		inode_drop_location(ovl, child, p, name);
		if (last && S_ISLNK(child->type))
			meta_drop_link_origin(ovl, (unsigned long long)child->key_ino);
	} else if (last) {
		inode_rehash(&ovl->table, child);
	}
	inode_unref(ovl, child);
	fuse_reply_err(req, -r);
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, false);
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, true);
}

/* Make object INO (about to be renamed) fully upper. A directory that merges lower content is
 * copied up as a tree: moving only its upper part would leave the lower part behind. */
static int copyup_for_rename(struct ovl *ovl, struct ovl_inode *ino)
{
	if (S_ISDIR(ino->type) && __atomic_load_n(&ino->last_layer, __ATOMIC_ACQUIRE) > UPPER)
		return copyup_tree(ovl, ino);
	/* A metacopy records its data's path within the lower layer, so it can move freely. */
	return copyup_meta(ovl, ino);
}

static int mark_opaque(struct ovl *ovl, struct ovl_inode *dir)
{
	struct loc loc = { inode_dir_fd(dir, UPPER), "" };
	int r = meta_set_opaque(ovl, &loc);
	if (r == 0)
		__atomic_store_n(&dir->last_layer, UPPER, __ATOMIC_RELEASE);
	return r;
}

static int do_rename(struct ovl *ovl, struct ovl_inode *p, const char *name, struct ovl_inode *np,
		     const char *newname, unsigned flags)
{
	struct ovl_inode *src = NULL, *dst = NULL;
	struct stat st;
	int r = ovl_lookup(ovl, p, name, &src, &st);
	if (r < 0)
		return r;
	r = ovl_lookup(ovl, np, newname, &dst, &st);
	nlink_t dst_nlink = r == 0 ? st.st_nlink : 0;
	if (r == -ENOENT)
		r = 0, dst = NULL;
	if (r < 0)
		goto out;
	if (src == dst) { /* two names of one inode: rename(2) does nothing */
		r = 0;
		goto out;
	}
	bool exchange = flags & RENAME_EXCHANGE;
	if (dst && (flags & RENAME_NOREPLACE)) {
		r = -EEXIST;
		goto out;
	}
	if (!dst && exchange) {
		r = -ENOENT;
		goto out;
	}
	if (dst && !exchange) {
		if (S_ISDIR(src->type) && !S_ISDIR(dst->type)) {
			r = -ENOTDIR;
			goto out;
		}
		if (!S_ISDIR(src->type) && S_ISDIR(dst->type)) {
			r = -EISDIR;
			goto out;
		}
		if (S_ISDIR(dst->type)) {
			struct dirlist list;
			if ((r = dirlist_read(ovl, dst, &list)) < 0)
				goto out;
			r = list.n ? -ENOTEMPTY : 0;
			dirlist_free(&list);
			if (r < 0)
				goto out;
		}
	}
	if ((r = copyup(ovl, p)) < 0 || (r = copyup(ovl, np)) < 0 ||
	    (r = copyup_for_rename(ovl, src)) < 0)
		goto out;
	if (exchange && (r = copyup_for_rename(ovl, dst)) < 0)
		goto out;
	/* An unsynced copy-up's record finds it by its path (pending.c): let it reach the disk
	 * before that path changes, for every copy below a directory that moves. */
	if (S_ISDIR(src->type) || (exchange && S_ISDIR(dst->type)))
		r = pending_settle_all(ovl);
	else if ((r = pending_settle(ovl, src)) == 0 && exchange)
		r = pending_settle(ovl, dst);
	if (r < 0)
		goto out;
	int upfd = inode_dir_fd(p, UPPER), nupfd = inode_dir_fd(np, UPPER);

	/* A directory arriving where a lower layer has the name must not merge with it. */
	if (S_ISDIR(src->type) && ops_lower_has_name(np, newname) &&
	    (r = mark_opaque(ovl, src)) < 0)
		goto out;
	if (exchange && S_ISDIR(dst->type) && ops_lower_has_name(p, name) &&
	    (r = mark_opaque(ovl, dst)) < 0)
		goto out;

	if (exchange) {
		if (renameat2(upfd, name, nupfd, newname, RENAME_EXCHANGE) < 0) {
			r = -errno;
			goto out;
		}
		inode_move_location(ovl, dst, np, newname, p, name);
		inode_move_location(ovl, src, p, name, np, newname);
		goto out;
	}
	if (dst && S_ISDIR(dst->type) && inode_layer(dst) == UPPER &&
	    (r = dirlist_clear_whiteouts(ovl, inode_dir_fd(dst, UPPER))) < 0)
		goto out;
	/* A whiteout at the target: a directory can't be renamed over a device node. */
	if ((r = upper_whiteout_at(ovl, nupfd, newname, S_ISDIR(src->type))) < 0 && r != -EEXIST)
		goto out;
	bool need_wh = ops_lower_has_name(p, name);
	if (dst)
		ops_file_pin_data(ovl, dst); /* as in remove_entry */
	/* As in remove_entry: a replaced upper object leaves the table before the rename frees
	 * its inode number for reuse, and comes back if the rename fails. */
	bool dst_last = dst && inode_layer(dst) == UPPER && (S_ISDIR(dst->type) || dst_nlink <= 1);
	if (dst_last)
		inode_unhash(&ovl->table, dst);
	r = 0;
	if (need_wh && !ovl->upper_dot_whiteouts &&
	    renameat2(upfd, name, nupfd, newname, RENAME_WHITEOUT) == 0) {
		need_wh = false;
	} else if (renameat2(upfd, name, nupfd, newname, 0) < 0) {
		r = -errno;
		if (dst_last)
			inode_rehash(&ovl->table, dst);
		goto out;
	} else if (need_wh) {
		r = meta_create_whiteout(ovl, upfd, name);
	}
	if (ovl->upper_dot_whiteouts) {
		char wh[NAME_MAX + 8];
		snprintf(wh, sizeof(wh), ".wh.%s", newname);
		unlinkat(nupfd, wh, 0);
	}
	if (dst) {
		inode_drop_location(ovl, dst, np, newname);
		if (dst_last && S_ISLNK(dst->type))
			meta_drop_link_origin(ovl, (unsigned long long)dst->key_ino);
	}
	inode_move_location(ovl, src, p, name, np, newname);
out:
	if (src)
		inode_unref(ovl, src);
	if (dst)
		inode_unref(ovl, dst);
	return r;
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	       const char *newname, unsigned flags)
{
	struct ovl *ovl = req_ovl(req);
	if (ovl->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	int r = do_rename(ovl, node(ovl, parent), name, node(ovl, newparent), newname, flags);
	if (r < 0 && r != -EEXIST && r != -ENOENT && r != -ENOTEMPTY && r != -ENOTDIR &&
	    r != -EISDIR)
		r = ovl_fail(ovl, "rename", node(ovl, parent), name, UPPER, "renameat2", -r);
	fuse_reply_err(req, -r);
}
