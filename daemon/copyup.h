/* Copy-up: make the upper layer hold an object before it changes, atomically and with all
 * of its metadata. */
#pragma once

#include <sys/stat.h>

#include "ovl.h"

/* Ensure INO has an upper copy (parents first). Data is copied for regular files.
 * Returns 0 or -errno (EIO, logged with layer/path/syscall, when the lower can't be read). */
int copyup(struct ovl *ovl, struct ovl_inode *ino);

/* Like copyup(), for an open with O_TRUNC: a regular file's data is not copied. */
int copyup_truncated(struct ovl *ovl, struct ovl_inode *ino);

/* Like copyup(), but with metacopy=on a regular file gets a metadata-only copy: for
 * chmod, chown, utimens and xattr changes, which never need the data. */
int copyup_meta(struct ovl *ovl, struct ovl_inode *ino);

/* If a hard link of the lower file (NAME in PARENT, layer L) was copied up already, link
 * NAME to it in the upper layer. Returns 1 when linked, 0 when there is nothing to join. */
int copyup_link_index(struct ovl *ovl, struct ovl_inode *parent, const char *name, int l,
		      const struct stat *lower_st);

/* The data of INO, whose last name is gone (removed while open), read through SRC_FD (on
 * layer L), copied with its owner, mode, times, xattrs and file capabilities into a nameless
 * file in the work directory, for writes and attribute changes that must not reach the lower
 * layer. The metadata comes from META_FD when it is not -1 (a metacopy's upper file).
 * Returns the new file's fd (O_RDWR), or -errno (logged). */
int copyup_orphan(struct ovl *ovl, struct ovl_inode *ino, int src_fd, int l, int meta_fd);

/* Copy a directory and everything under it to the upper layer and make it opaque, so it can
 * move to another name without its lower contents staying behind. */
int copyup_tree(struct ovl *ovl, struct ovl_inode *dir);

/* Remove leftovers of interrupted copy-ups from the work directory (at mount). */
int copyup_clean_workdir(int work_fd);
