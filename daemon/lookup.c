/* Merged lookup: walk the layers top-down, stop at an entry that is not a directory, at a
 * whiteout, or below an opaque directory; directories found in several layers merge. */
#include "lookup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/macros.h"
#include "copyup.h"
#include "layer.h"

const char *ovl_layer_name(const struct ovl *ovl, int l, char *buf, size_t len)
{
	if (l == UPPER)
		snprintf(buf, len, "upper layer %s", ovl->layers[0].path);
	else
		snprintf(buf, len, "lower layer %d %s", l - 1, ovl->layers[l].path);
	return buf;
}

const char *ovl_inode_path(struct ovl *ovl, struct ovl_inode *ino, char *buf, size_t len)
{
	/* Build right to left; names are snapshotted under each inode's lock. */
	size_t pos = len - 1;
	buf[pos] = '\0';
	struct ovl_inode *cur = ino;
	inode_ref(&ovl->table, cur);
	while (cur && cur != ovl->root) {
		char name[NAME_MAX + 1];
		struct ovl_inode *parent = inode_get_location(ovl, cur, name, sizeof(name));
		size_t n = strlen(name);
		if (n + 1 > pos) {
			if (parent)
				inode_unref(ovl, parent);
			break;
		}
		pos -= n;
		memcpy(buf + pos, name, n);
		if (parent && parent != ovl->root)
			buf[--pos] = '/';
		inode_unref(ovl, cur);
		cur = parent;
	}
	if (cur)
		inode_unref(ovl, cur);
	if (buf[pos] == '\0')
		return ".";
	return buf + pos;
}

int ovl_fail(struct ovl *ovl, const char *op, struct ovl_inode *ino, const char *name, int l,
	     const char *syscall, int err)
{
	char path[PATH_MAX], lname[PATH_MAX + 32];
	const char *p = ino ? ovl_inode_path(ovl, ino, path, sizeof(path)) : "";
	int shown = err;
	switch (err) {
	case ENOSYS:
	case EOPNOTSUPP:
	case EBADF:
	case EFAULT:
	case EPROTO:
	case ENOTCONN:
	case EINVAL:
		shown = EIO;
		break;
	}
	log_msg_ratelimited(LOG_LEVEL_WARNING, "%s %s%s%s: %s on %s failed: %s%s", op, p,
			    name ? "/" : "", name ? name : "", syscall,
			    ovl_layer_name(ovl, l, lname, sizeof(lname)), strerror(err),
			    shown != err ? " (reported to the application as EIO)" : "");
	return -shown;
}

int access_get(struct ovl *ovl, struct ovl_inode *ino, int l, struct access *a)
{
	if (l < 0)
		l = inode_layer(ino);
	a->layer = l;
	a->parent = NULL;
	a->name[0] = '\0';
	if (S_ISDIR(ino->type)) {
		a->loc.fd = inode_dir_fd(ino, l);
		a->loc.name = "";
		return a->loc.fd >= 0 ? 0 : -ENOENT;
	}
	a->parent = inode_get_location(ovl, ino, a->name, sizeof(a->name));
	if (!a->parent)
		return -ENOENT; /* every name of it was removed (inode_drop_location) */
	a->loc.fd = inode_dir_fd(a->parent, l);
	a->loc.name = a->name;
	return a->loc.fd >= 0 ? 0 : -ENOENT;
}

void access_done(struct ovl *ovl, struct access *a)
{
	if (a->parent)
		inode_unref(ovl, a->parent);
	a->parent = NULL;
}

void ovl_squash_ids(const struct ovl *ovl, uid_t *uid, gid_t *gid)
{
	if (!ovl->squash_unmapped)
		return;
	if (*uid == ovl->overflow_uid)
		*uid = geteuid();
	if (*gid == ovl->overflow_gid)
		*gid = getegid();
}

void ovl_apply_identity(const struct ovl *ovl, struct ovl_inode *ino, struct stat *st)
{
	st->st_ino = ino->st_ino;
	/* Every write through the mount is a round trip, so ask for big ones: stdio sizes its
	 * buffer by this (doc/daemon.md, "The block size a file reports"). */
	if (ovl->blksize)
		st->st_blksize = ovl->blksize;
	pthread_mutex_lock(&ino->lock);
	if (ino->has_override) {
		st->st_uid = ino->o_uid;
		st->st_gid = ino->o_gid;
		st->st_mode = (st->st_mode & S_IFMT) | ino->o_mode;
	}
	ovl_squash_ids(ovl, &st->st_uid, &st->st_gid);
	/* the index holds one name; lower names not linked up yet count too */
	if (ino->indexed && st->st_nlink > 0)
		st->st_nlink = st->st_nlink - 1 + (nlink_t)ino->nlink_lower_extra;
	pthread_mutex_unlock(&ino->lock);
}

int ovl_getattr(struct ovl *ovl, struct ovl_inode *ino, struct stat *st)
{
	struct access a;
	int r = access_get(ovl, ino, -1, &a);
	if (r == 0 && loc_stat(&a.loc, st) < 0)
		r = ovl_fail(ovl, "getattr", ino, NULL, a.layer, "fstatat", errno);
	access_done(ovl, &a);
	if (r == 0)
		ovl_apply_identity(ovl, ino, st);
	if (r == 0 && S_ISREG(ino->type))
		ovl_metacopy_blocks(ovl, ino, st);
	return r;
}

void ovl_metacopy_blocks(struct ovl *ovl, struct ovl_inode *ino, struct stat *st)
{
	pthread_mutex_lock(&ino->lock);
	bool mc = ino->metacopy;
	int dl = ino->data_layer;
	char *path = mc && ino->data_path ? strdup(ino->data_path) : NULL;
	pthread_mutex_unlock(&ino->lock);
	if (!path)
		return;
	/* Report the blocks of the data's real home, like kernel overlayfs with metacopy. */
	int fd = layer_open_beneath(ovl, dl, path, O_PATH);
	struct stat lst;
	if (fd >= 0 && fstat(fd, &lst) == 0)
		st->st_blocks = lst.st_blocks;
	if (fd >= 0)
		close(fd);
	free(path);
}

void ovl_load_upper_meta(struct ovl *ovl, struct ovl_inode *ino, const struct loc *loc,
			 const struct stat *st, bool set_ino)
{
	int extra = 0;
	uid_t u;
	gid_t g;
	mode_t m;
	struct origin o = { 0 };
	bool have = meta_get_origin(ovl, loc, &o) == 0;
	if (!have && S_ISLNK(st->st_mode) && ovl->index_fd >= 0 &&
	    meta_load_link_origin(ovl, (unsigned long long)st->st_ino, &o.layer, &o.ino) == 0)
		have = true;
	if (set_ino)
		ino->st_ino = have ? inode_compose_ino(o.layer, o.ino)
				   : inode_compose_ino(UPPER, st->st_ino);
	bool ov = ovl->store_owner_in_xattr && meta_get_override(loc, &u, &g, &m) == 0;
	bool mc = have && o.data_path && S_ISREG(st->st_mode);
	bool idx = S_ISREG(st->st_mode) && st->st_nlink > 1 &&
		   meta_get_nlink_extra(ovl, loc, &extra) == 0;
	pthread_mutex_lock(&ino->lock);
	if (ov) {
		ino->has_override = true;
		ino->o_uid = u;
		ino->o_gid = g;
		ino->o_mode = m;
	}
	if (mc) {
		free(ino->data_path);
		ino->metacopy = true;
		ino->data_layer = o.layer;
		ino->data_path = TAKE_PTR(o.data_path);
		ino->data_gen++;
	}
	ino->indexed = idx;
	ino->nlink_lower_extra = extra;
	pthread_mutex_unlock(&ino->lock);
	free(o.data_path);
}

int ovl_lookup(struct ovl *ovl, struct ovl_inode *parent, const char *name,
	       struct ovl_inode **out, struct stat *st_out)
{
	struct ovl_inode *ino = NULL, *known = NULL;
	struct stat st, top = { 0 };
	int first = -1, r = 0;
	int last = parent->last_layer;

	if (strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	/* The OCI opaque marker (fuse-overlayfs writes it in uppers too) is never an entry. */
	if (!strcmp(name, ".wh..wh..opq"))
		return -ENOENT;

	for (int l = 0; l <= last; l++) {
		int pfd = inode_dir_fd(parent, l);
		if (pfd < 0)
			continue;
		bool dot_wh = l != UPPER || ovl->upper_dot_whiteouts;
		/* ".wh.*" names are markers in layers that use them, never entries. */
		if (dot_wh && !strncmp(name, ".wh.", 4)) {
			if (first < 0)
				r = -ENOENT;
			break;
		}
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT && errno != ENOTDIR) {
				r = ovl_fail(ovl, "lookup", parent, name, l, "fstatat", errno);
				break;
			}
			if (dot_wh && meta_has_dot_whiteout(pfd, name))
				break;
			continue;
		}
		if (meta_is_whiteout(&st))
			break;
		if (first >= 0 && !S_ISDIR(st.st_mode))
			break; /* a lower non-directory under a directory is hidden */
		if (first < 0) {
			first = l;
			top = st;
			if (!S_ISDIR(st.st_mode))
				break;
			/* A directory we know already carries its merge state: no need to open
			 * and probe its copies again (readdirplus repeats lookups a lot). */
			known = inode_find(&ovl->table, l, st.st_dev, st.st_ino);
			if (known && S_ISDIR(known->type))
				break;
			if (known) {
				inode_unref(ovl, known);
				known = NULL;
			}
			ino = inode_new(ovl, st.st_mode);
			if (!ino)
				return -ENOMEM;
			ino->last_layer = l;
		}
		int dfd = openat(pfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0) {
			r = ovl_fail(ovl, "lookup", parent, name, l, "openat", errno);
			break;
		}
		ino->dir_fds[l] = dfd;
		ino->last_layer = l;
		if (meta_dir_is_opaque(dfd))
			break;
	}
	if (first < 0 || r < 0) {
		if (ino)
			inode_free(ovl, ino);
		return r < 0 ? r : -ENOENT;
	}

	bool linked_up = false;
	if (first > UPPER && !ovl->read_only && S_ISREG(top.st_mode) && top.st_nlink > 1) {
		/* Another name of this hard-linked lower file was copied up: join it. */
		r = copyup_link_index(ovl, parent, name, first, &top);
		if (r < 0)
			return r;
		if (r > 0) {
			linked_up = true;
			if (fstatat(inode_dir_fd(parent, UPPER), name, &top, AT_SYMLINK_NOFOLLOW) < 0)
				return ovl_fail(ovl, "lookup", parent, name, UPPER, "fstatat", errno);
			first = UPPER;
		}
	}
	struct ovl_inode *found =
		known ? known : inode_find(&ovl->table, first, top.st_dev, top.st_ino);
	if (found && found->type != (top.st_mode & S_IFMT)) {
		/* The number was reused by a new object after the old one went away unseen. */
		inode_unhash(&ovl->table, found);
		inode_unref(ovl, found);
		found = NULL;
	}
	if (found) {
		if (ino)
			inode_free(ovl, ino);
		if (linked_up) { /* the index's count of lower names changed */
			struct loc loc = { inode_dir_fd(parent, UPPER), name };
			ovl_load_upper_meta(ovl, found, &loc, &top, false);
		}
		/* A hard link or a renamed object: remember the name it was last reached by. */
		r = inode_set_location(ovl, found, parent, name);
		if (r < 0) {
			inode_unref(ovl, found);
			return r;
		}
		ino = found;
	} else {
		if (!ino && !(ino = inode_new(ovl, top.st_mode)))
			return -ENOMEM;
		ino->layer = first;
		ino->key_layer = first;
		ino->key_dev = top.st_dev;
		ino->key_ino = top.st_ino;
		if ((r = inode_set_location(ovl, ino, parent, name)) < 0) {
			inode_free(ovl, ino);
			return r;
		}
		if (first == UPPER) {
			struct loc loc = { S_ISDIR(top.st_mode) ? ino->dir_fds[UPPER]
								 : inode_dir_fd(parent, UPPER),
					   S_ISDIR(top.st_mode) ? "" : name };
			ovl_load_upper_meta(ovl, ino, &loc, &top, true);
		} else {
			ino->st_ino = inode_compose_ino(first, top.st_ino);
		}
		struct ovl_inode *winner = inode_insert(&ovl->table, ino);
		if (winner != ino) {
			inode_free(ovl, ino);
			ino = winner;
		}
	}
	*st_out = top;
	ovl_apply_identity(ovl, ino, st_out);
	if (S_ISREG(ino->type))
		ovl_metacopy_blocks(ovl, ino, st_out);
	*out = ino;
	return 0;
}

bool ovl_entry_held(struct ovl *ovl, struct ovl_inode *parent, const char *name, int l,
		    uint64_t d_ino, mode_t type, uint64_t *st_ino)
{
	if (!type)
		return false;
	struct ovl_inode *k = inode_find_held(&ovl->table, l, ovl->layers[l].dev, d_ino);
	if (!k)
		return false;
	bool held = k->type == type && inode_known_as(k, parent, name);
	*st_ino = k->st_ino; /* set at lookup, kept across copy-up */
	inode_unref(ovl, k);
	return held;
}

int ovl_root_init(struct ovl *ovl)
{
	struct ovl_inode *root = inode_new(ovl, S_IFDIR);
	if (!root)
		return -ENOMEM;
	int first = -1;
	struct stat st, top = { 0 };
	root->last_layer = 0;
	for (int l = 0; l < ovl->n_layers; l++) {
		if (ovl->layers[l].fd < 0)
			continue;
		root->dir_fds[l] = openat(ovl->layers[l].fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root->dir_fds[l] < 0 || fstat(root->dir_fds[l], &st) < 0) {
			inode_free(ovl, root);
			return -errno;
		}
		root->last_layer = l;
		if (first < 0) {
			first = l;
			top = st;
		}
		if (l != UPPER && meta_dir_is_opaque(root->dir_fds[l]))
			break;
	}
	root->layer = first;
	root->key_layer = first;
	root->key_dev = top.st_dev;
	root->key_ino = top.st_ino;
	root->st_ino = inode_compose_ino(first, top.st_ino);
	root->name = strdup("");
	root->nlookup = 1;
	inode_insert(&ovl->table, root); /* the table's count keeps it alive for good */
	ovl->root = root;
	return 0;
}
