/* Finding objects in the merged tree: the top-down lookup through the layers, the access
 * path to an inode's copy in a layer, and the attributes the mount reports. */
#pragma once

#include <limits.h>
#include <sys/stat.h>

#include "meta.h"
#include "ovl.h"

/* Look NAME up in directory PARENT. On success *OUT holds a referenced inode and ST its
 * attributes as the mount reports them. Returns -ENOENT when hidden or absent. */
int ovl_lookup(struct ovl *ovl, struct ovl_inode *parent, const char *name,
	       struct ovl_inode **out, struct stat *st);

/* Whether the kernel already holds NAME in directory PARENT as the object a listing found in
 * layer L with inode number D_INO and type TYPE (S_IFMT bits; 0 when unknown): the kernel
 * looked it up by that name and has not forgotten it. Then a listing need not look it up
 * again; *ST_INO is set to the number stat reports for it. A hint: a kernel that dropped the
 * entry meanwhile only asks again. */
bool ovl_entry_held(struct ovl *ovl, struct ovl_inode *parent, const char *name, int l,
		    uint64_t d_ino, mode_t type, uint64_t *st_ino);

/* Access to one copy of an inode: fills LOC for layer L (the topmost when L < 0).
 * Holds a reference on the parent until access_done(). */
struct access {
	struct loc loc;
	struct ovl_inode *parent;
	int layer;
	char name[NAME_MAX + 1];
};
int access_get(struct ovl *ovl, struct ovl_inode *ino, int l, struct access *a);
void access_done(struct ovl *ovl, struct access *a);

/* Attributes of INO as reported: the topmost copy's stat with the stable inode number and any
 * ownership override applied. */
int ovl_getattr(struct ovl *ovl, struct ovl_inode *ino, struct stat *st);
/* squash_unmapped: overflow ids become the daemon's own. */
void ovl_squash_ids(const struct ovl *ovl, uid_t *uid, gid_t *gid);
void ovl_apply_identity(const struct ovl *ovl, struct ovl_inode *ino, struct stat *st);
/* A metadata-only copy reports the block count of the lower file holding its data. */
void ovl_metacopy_blocks(struct ovl *ovl, struct ovl_inode *ino, struct stat *st);

/* Read the overlay's records on an upper copy (origin when SET_INO, ownership override,
 * metacopy, hard-link index count) into INO. */
void ovl_load_upper_meta(struct ovl *ovl, struct ovl_inode *ino, const struct loc *loc,
			 const struct stat *st, bool set_ino);

/* "dir/sub/name" relative to the mount root, for log lines. */
/* Build the root directory inode: the layer roots merged. */
int ovl_root_init(struct ovl *ovl);

const char *ovl_inode_path(struct ovl *ovl, struct ovl_inode *ino, char *buf, size_t len);

/* Log a failed operation on a layer and return the errno the application should see:
 * ENOSYS and other internal oddities become EIO; ordinary errnos pass through. */
int ovl_fail(struct ovl *ovl, const char *op, struct ovl_inode *ino, const char *name, int l,
	     const char *syscall, int err);
