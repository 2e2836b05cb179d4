/* Mount primitives on the kernel's fd-based mount API: a filesystem or a clone of a tree is
 * created detached, given its attributes, then attached onto a directory fd, so no target is
 * ever resolved twice as a path string. */
#pragma once

#include <stdbool.h>

/* New filesystem FSTYPE from SOURCE with OPTS ("key=value" or "flag" strings, NULL-ended),
 * detached, with mount attributes ATTRS (MOUNT_ATTR_*). Returns the mount fd or -errno; the
 * kernel's own explanation, if it gave one, is logged. */
int mount_fs(const char *fstype, const char *source, const char *const *opts, unsigned attrs);

/* Detached clone of the mount tree at PATH (relative to DIRFD; "" = DIRFD itself), all
 * submounts included when RECURSIVE. Returns the mount fd or -errno. */
int mount_clone(int dirfd, const char *path, bool recursive);

/* Add (SET) or remove (CLR) MOUNT_ATTR_* flags on mount fd FD, its submounts too when
 * RECURSIVE, and make it private so nothing propagates in or out. */
int mount_set_attrs(int fd, unsigned set, unsigned clr, bool recursive);

/* Attach detached mount MNT_FD on the directory or file TARGET_FD refers to. */
int mount_attach(int mnt_fd, int target_fd);

/* Attach MNT_FD on PATH of the current mount namespace (staging only; PATH must be trusted). */
int mount_attach_path(int mnt_fd, const char *path);
