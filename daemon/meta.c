/* Overlay metadata on disk: whiteouts, opaque directories, origin and ownership xattrs, in
 * the formats kernel overlayfs, fuse-overlayfs and OCI layers use. */
#include "meta.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

int loc_stat(const struct loc *loc, struct stat *st)
{
	if (!loc->name[0])
		return fstatat(loc->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	return fstatat(loc->fd, loc->name, st, AT_SYMLINK_NOFOLLOW);
}

void loc_proc_path(const struct loc *loc, char *buf, size_t len)
{
	if (loc->name[0])
		snprintf(buf, len, "/proc/self/fd/%d/%s", loc->fd, loc->name);
	else
		snprintf(buf, len, "/proc/self/fd/%d", loc->fd);
}

/* The *xattrat system calls (Linux 6.13) reach an object by directory fd and name, so an
 * xattr access costs one name lookup instead of a walk through /proc/self/fd (most of the
 * cost of the three opaque-marker checks a first lookup of a directory makes). Their numbers
 * are the same on every architecture with the common system call table. Before 6.13, and on
 * the other architectures, the /proc path is used. A directory is named "." under its own
 * fd: AT_EMPTY_PATH would need a file opened for I/O, and ours are O_PATH. */
#if defined(__x86_64__) || defined(__aarch64__) || defined(__riscv)
#define HAVE_XATTRAT 1
enum { SETXATTRAT = 463, GETXATTRAT = 464, LISTXATTRAT = 465, REMOVEXATTRAT = 466 };

struct xattrat_args {
	uint64_t value;
	uint32_t size;
	uint32_t flags;
};

static bool xattrat_missing; /* the kernel has no *xattrat calls (before Linux 6.13) */

/* Is R (with errno) the answer? If not, the /proc path is tried: the kernel lacks the calls
 * (ENOSYS; a seccomp filter of a container that does not know them may say EPERM instead), or
 * the name lookup needs search permission in a directory, which the /proc path to the
 * directory itself does not (EACCES). An EPERM or EACCES that is the real answer comes back
 * from the /proc path again, at the cost of one more system call. */
static bool xattrat_answered(long r)
{
	if (r >= 0 || (errno != ENOSYS && errno != EPERM && errno != EACCES))
		return true;
	if (errno == ENOSYS)
		__atomic_store_n(&xattrat_missing, true, __ATOMIC_RELAXED);
	return false;
}

/* A loc with an empty name on a file opened for I/O (a removed file's copy, which has no
 * name): "." is only a directory's, so the answer is ENOTDIR and the /proc path is used. */
static bool xattrat_answered_at(const struct loc *loc, long r)
{
	if (r < 0 && errno == ENOTDIR && !loc->name[0])
		return false;
	return xattrat_answered(r);
}

static bool xattrat_usable(void)
{
	return !__atomic_load_n(&xattrat_missing, __ATOMIC_RELAXED);
}

static const char *loc_at_name(const struct loc *loc)
{
	return loc->name[0] ? loc->name : ".";
}
#endif

ssize_t loc_getxattr(const struct loc *loc, const char *name, void *val, size_t size)
{
#ifdef HAVE_XATTRAT
	if (xattrat_usable()) {
		struct xattrat_args a = { .value = (uint64_t)(uintptr_t)val, .size = (uint32_t)size };
		long r = syscall(GETXATTRAT, loc->fd, loc_at_name(loc), AT_SYMLINK_NOFOLLOW, name,
				 &a, sizeof(a));
		if (xattrat_answered_at(loc, r))
			return r;
	}
#endif
	char p[PATH_MAX_PROC];
	loc_proc_path(loc, p, sizeof(p));
	return loc->name[0] ? lgetxattr(p, name, val, size) : getxattr(p, name, val, size);
}

int loc_setxattr(const struct loc *loc, const char *name, const void *val, size_t size, int flags)
{
#ifdef HAVE_XATTRAT
	if (xattrat_usable()) {
		struct xattrat_args a = { .value = (uint64_t)(uintptr_t)val, .size = (uint32_t)size,
					  .flags = (uint32_t)flags };
		long r = syscall(SETXATTRAT, loc->fd, loc_at_name(loc), AT_SYMLINK_NOFOLLOW, name,
				 &a, sizeof(a));
		if (xattrat_answered_at(loc, r))
			return (int)r;
	}
#endif
	char p[PATH_MAX_PROC];
	loc_proc_path(loc, p, sizeof(p));
	return loc->name[0] ? lsetxattr(p, name, val, size, flags)
			    : setxattr(p, name, val, size, flags);
}

ssize_t loc_listxattr(const struct loc *loc, char *list, size_t size)
{
#ifdef HAVE_XATTRAT
	if (xattrat_usable()) {
		long r = syscall(LISTXATTRAT, loc->fd, loc_at_name(loc), AT_SYMLINK_NOFOLLOW, list,
				 size);
		if (xattrat_answered_at(loc, r))
			return r;
	}
#endif
	char p[PATH_MAX_PROC];
	loc_proc_path(loc, p, sizeof(p));
	return loc->name[0] ? llistxattr(p, list, size) : listxattr(p, list, size);
}

int loc_removexattr(const struct loc *loc, const char *name)
{
#ifdef HAVE_XATTRAT
	if (xattrat_usable()) {
		long r = syscall(REMOVEXATTRAT, loc->fd, loc_at_name(loc), AT_SYMLINK_NOFOLLOW,
				 name);
		if (xattrat_answered_at(loc, r))
			return (int)r;
	}
#endif
	char p[PATH_MAX_PROC];
	loc_proc_path(loc, p, sizeof(p));
	return loc->name[0] ? lremovexattr(p, name) : removexattr(p, name);
}

bool meta_xattr_is_private(const char *name)
{
	static const char *const prefixes[] = { "trusted.overlay.", "user.overlay.",
						"trusted.antares.", "user.antares.",
						"user.fuseoverlayfs.", OVERRIDE_XATTR };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

bool meta_is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

bool meta_has_dot_whiteout(int dirfd, const char *name)
{
	char wh[NAME_MAX + 8];
	if (snprintf(wh, sizeof(wh), ".wh.%s", name) >= (int)sizeof(wh))
		return false;
	struct stat st;
	return fstatat(dirfd, wh, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool xattr_is_y(const struct loc *loc, const char *name)
{
	char v[4];
	ssize_t n = loc_getxattr(loc, name, v, sizeof(v));
	return n == 1 && v[0] == 'y';
}

bool meta_dir_is_opaque(int dir_fd)
{
	struct loc loc = { dir_fd, "" };
	if (xattr_is_y(&loc, "user.overlay.opaque"))
		return true;
	/* Unprivileged, trusted.* reads as absent: no need to know whether we are root. */
	if (xattr_is_y(&loc, "trusted.overlay.opaque"))
		return true;
	if (xattr_is_y(&loc, "user.fuseoverlayfs.opaque"))
		return true;
	struct stat st;
	return fstatat(dir_fd, ".wh..wh..opq", &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int meta_set_opaque(const struct ovl *ovl, const struct loc *loc)
{
	char name[64];
	snprintf(name, sizeof(name), "%sopaque", ovl->xattr_prefix);
	return loc_setxattr(loc, name, "y", 1, 0) < 0 ? -errno : 0;
}

int meta_create_whiteout(struct ovl *ovl, int dirfd, const char *name)
{
	if (!ovl->upper_dot_whiteouts) {
		if (mknodat(dirfd, name, S_IFCHR | 0000, makedev(0, 0)) == 0)
			return 0;
		if (errno != EPERM)
			return -errno;
		/* Not allowed to make device nodes: fall back to OCI-style markers for good. */
		ovl->upper_dot_whiteouts = true;
	}
	char wh[NAME_MAX + 8];
	if (snprintf(wh, sizeof(wh), ".wh.%s", name) >= (int)sizeof(wh))
		return -ENAMETOOLONG;
	int fd = openat(dirfd, wh, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0000);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int meta_set_origin(const struct ovl *ovl, const struct loc *loc, int layer, unsigned long long ino,
		    const char *data_path)
{
	char name[64], v[PATH_MAX + 48];
	snprintf(name, sizeof(name), "%sorigin", ovl->antares_prefix);
	int n = snprintf(v, sizeof(v), "%d:%llu%s%s", layer, ino, data_path ? ":" : "",
			 data_path ? data_path : "");
	if (n >= (int)sizeof(v))
		return -ENAMETOOLONG;
	return loc_setxattr(loc, name, v, (size_t)n, 0) < 0 ? -errno : 0;
}

int meta_get_origin(const struct ovl *ovl, const struct loc *loc, struct origin *o)
{
	char name[64], v[PATH_MAX + 48];
	snprintf(name, sizeof(name), "%sorigin", ovl->antares_prefix);
	ssize_t n = loc_getxattr(loc, name, v, sizeof(v) - 1);
	if (n < 0)
		return -errno;
	v[n] = '\0';
	int used = 0;
	o->data_path = NULL;
	if (sscanf(v, "%d:%llu%n", &o->layer, &o->ino, &used) != 2 || o->layer < 0 ||
	    o->layer >= ovl->n_layers)
		return -EINVAL;
	if (v[used] == ':' && v[used + 1] && o->layer > 0 && !(o->data_path = strdup(v + used + 1)))
		return -ENOMEM;
	return 0;
}

static void link_origin_name(char *buf, size_t len, unsigned long long upper_ino)
{
	snprintf(buf, len, "lnk-%llu", upper_ino);
}

void meta_save_link_origin(const struct ovl *ovl, unsigned long long upper_ino, int layer,
			   unsigned long long ino)
{
	char name[48], v[48];
	link_origin_name(name, sizeof(name), upper_ino);
	int n = snprintf(v, sizeof(v), "%d:%llu\n", layer, ino);
	int fd = openat(ovl->index_fd, name, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	(void)!write(fd, v, (size_t)n);
	close(fd);
}

int meta_load_link_origin(const struct ovl *ovl, unsigned long long upper_ino, int *layer,
			  unsigned long long *ino)
{
	char name[48], v[48];
	if (ovl->index_fd < 0)
		return -ENOENT;
	link_origin_name(name, sizeof(name), upper_ino);
	int fd = openat(ovl->index_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, v, sizeof(v) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	v[n] = '\0';
	if (sscanf(v, "%d:%llu", layer, ino) != 2 || *layer < 1 || *layer >= ovl->n_layers)
		return -EINVAL;
	return 0;
}

void meta_drop_link_origin(const struct ovl *ovl, unsigned long long upper_ino)
{
	char name[48];
	if (ovl->index_fd < 0)
		return;
	link_origin_name(name, sizeof(name), upper_ino);
	unlinkat(ovl->index_fd, name, 0);
}

int meta_set_override(const struct loc *loc, uid_t uid, gid_t gid, mode_t mode)
{
	char v[64];
	int n = snprintf(v, sizeof(v), "%u:%u:0%o", uid, gid, mode & 07777);
	return loc_setxattr(loc, OVERRIDE_XATTR, v, (size_t)n, 0) < 0 ? -errno : 0;
}

int meta_get_override(const struct loc *loc, uid_t *uid, gid_t *gid, mode_t *mode)
{
	char v[64];
	ssize_t n = loc_getxattr(loc, OVERRIDE_XATTR, v, sizeof(v) - 1);
	if (n < 0)
		return -errno;
	v[n] = '\0';
	unsigned u, g, m;
	if (sscanf(v, "%u:%u:%o", &u, &g, &m) != 3)
		return -EINVAL;
	*uid = u;
	*gid = g;
	*mode = m & 07777;
	return 0;
}

static void antares_name(const struct ovl *ovl, const char *what, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", ovl->antares_prefix, what);
}

int meta_set_nlink_extra(const struct ovl *ovl, const struct loc *loc, int extra)
{
	char name[64], v[32];
	antares_name(ovl, "nlink", name, sizeof(name));
	int n = snprintf(v, sizeof(v), "%d", extra);
	return loc_setxattr(loc, name, v, (size_t)n, 0) < 0 ? -errno : 0;
}

int meta_get_nlink_extra(const struct ovl *ovl, const struct loc *loc, int *extra)
{
	char name[64], v[32];
	antares_name(ovl, "nlink", name, sizeof(name));
	ssize_t n = loc_getxattr(loc, name, v, sizeof(v) - 1);
	if (n < 0)
		return -errno;
	v[n] = '\0';
	if (sscanf(v, "%d", extra) != 1 || *extra < 0)
		return -EINVAL;
	return 0;
}
