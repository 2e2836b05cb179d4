/* Small helpers shared by the sandbox's modules: the one-line failure report every setup step
 * owes the user, exit statuses, and path walks that stay inside a directory fd. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../common/log.h"
#include "../common/macros.h"

/* Exit statuses of antares-sandbox itself (documented in antares-sandbox(1)); like podman
 * and env(1), so a caller can tell a setup failure from the command's own status. */
#define EXIT_TIMEOUT 124 /* the policy's timeout stopped the command, as timeout(1) */
#define EXIT_SETUP_FAILED 125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127

/* Log "STEP: ERRNO-TEXT[: FIX]" as one error line and return R (negative errno), so a caller
 * can write `return step_fail(r, "modprobe fuse", "open /dev/fuse")`. */
int step_fail(int r, const char *fix, const char *step_fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* openat2(RESOLVE_IN_ROOT): resolve PATH as if ROOTFD were "/", so neither ".." nor a
 * symlink can lead outside it. FLAGS are open flags (O_PATH, O_DIRECTORY...). */
int open_in_root(int rootfd, const char *path, int flags);

/* Create the missing directories of PATH below ROOTFD (mode MODE), resolving inside it. */
int mkdir_p_in_root(int rootfd, const char *path, mode_t mode);

/* Create an empty file at PATH below ROOTFD if nothing is there (parents as needed). */
int touch_in_root(int rootfd, const char *path);

/* Lexically clean absolute PATH in place ("//", ".", ".." clamped at "/"), so a bind
 * destination like /tmp/a/../b creates nothing at /tmp/a; symlinks are resolved later,
 * inside the view (open_in_root). */
void path_normalize(char *path);

/* Read a small file (a sysctl, a /proc entry) into BUF, trailing newline removed. */
int read_small_file(const char *path, char *buf, size_t len);
int write_small_file(const char *path, const char *text);

/* Remove the tree at NAME in DIRFD (not following symlinks), making directories writable on
 * the way down so read-only trees (Go's module cache) go too. ENOENT is success. */
int rm_rf_at(int dirfd, const char *name);

/* Path of this program's directory (for finding antares-overlayd beside it). */
int self_dir(char *buf, size_t len);
