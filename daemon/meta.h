/* How a copy of an object is addressed in one layer, and the overlay's own metadata on it:
 * whiteouts, opaque markers, origin (stable inode numbers) and ownership overrides. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "ovl.h"

/* Room for "/proc/self/fd/N/" plus a NAME_MAX name. */
#define PATH_MAX_PROC 320

/* One copy of an object in one layer: a directory by its own fd, anything else by its
 * parent's fd and its name. Every access is relative to a directory fd, nothing walks from /. */
struct loc {
	int fd;
	const char *name; /* "": the object of FD itself (a directory's O_PATH fd, or a file
			   * opened for I/O that has no name) */
};

int loc_stat(const struct loc *loc, struct stat *st);
/* "/proc/self/fd/N[/NAME]": for chmod, which has no follow-free *at form before Linux 6.6,
 * and for the xattr calls where the *xattrat calls are missing (before Linux 6.13). */
void loc_proc_path(const struct loc *loc, char *buf, size_t len);
/* Follow-free xattr access on a loc (returns like the syscalls: size or -1 with errno):
 * getxattrat and friends by fd and name, else through the /proc path. */
ssize_t loc_getxattr(const struct loc *loc, const char *name, void *val, size_t size);
int loc_setxattr(const struct loc *loc, const char *name, const void *val, size_t size, int flags);
ssize_t loc_listxattr(const struct loc *loc, char *list, size_t size);
int loc_removexattr(const struct loc *loc, const char *name);

/* Names the overlay keeps for itself and never shows or copies: *.overlay.*, *.antares.*,
 * user.fuseoverlayfs.* and the ownership override. */
bool meta_xattr_is_private(const char *name);

bool meta_is_whiteout(const struct stat *st);
/* Is there a ".wh.NAME" marker next to NAME in directory DIRFD (OCI/AUFS whiteout)? */
bool meta_has_dot_whiteout(int dirfd, const char *name);
/* Is the directory copy DIR_FD opaque (xattr, or a ".wh..wh..opq" marker inside)? */
bool meta_dir_is_opaque(int dir_fd);
int meta_set_opaque(const struct ovl *ovl, const struct loc *loc);
/* Create a whiteout called NAME in DIRFD (char device 0/0, else ".wh.NAME"). */
int meta_create_whiteout(struct ovl *ovl, int dirfd, const char *name);

/* Origin of an upper copy: "LAYER:INO" — the layer and inode number it was copied up from —
 * or "LAYER:INO:PATH" for a metadata-only copy whose data is still the file PATH (relative to
 * that layer's root). One xattr for both, so one read per lookup tells everything. */
struct origin {
	int layer;
	unsigned long long ino;
	char *data_path; /* malloc'd, NULL for a complete copy */
};
int meta_set_origin(const struct ovl *ovl, const struct loc *loc, int layer, unsigned long long ino,
		    const char *data_path);
int meta_get_origin(const struct ovl *ovl, const struct loc *loc, struct origin *o);

/* Symbolic links can't carry user.* xattrs, so rootless their origin is kept in a file
 * WORKDIR/antares-index/lnk-UPPERINO instead. */
void meta_save_link_origin(const struct ovl *ovl, unsigned long long upper_ino, int layer,
			   unsigned long long ino);
int meta_load_link_origin(const struct ovl *ovl, unsigned long long upper_ino, int *layer,
			  unsigned long long *ino);
void meta_drop_link_origin(const struct ovl *ovl, unsigned long long upper_ino);

/* Ownership override, format "UID:GID:MODE" (octal mode), compatible with
 * user.containers.override_stat as fuse-overlayfs and containers/storage write it. */
#define OVERRIDE_XATTR "user.containers.override_stat"
int meta_set_override(const struct loc *loc, uid_t uid, gid_t gid, mode_t mode);
int meta_get_override(const struct loc *loc, uid_t *uid, gid_t *gid, mode_t *mode);

/* Hard-link index: how many names of the lower inode are not yet linked up ("N"). */
int meta_set_nlink_extra(const struct ovl *ovl, const struct loc *loc, int extra);
int meta_get_nlink_extra(const struct ovl *ovl, const struct loc *loc, int *extra);
