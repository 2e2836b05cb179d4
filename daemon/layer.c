/* Layer setup: open each directory once (O_PATH) before the mount can cover it, refuse
 * combinations the overlay can't serve safely, and choose the xattr namespace. */
#include "layer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../common/macros.h"
#include "copyup.h"
#include "pending.h"
#include "meta.h"

static int open_dir(const char *what, const char *path, struct layer *layer, char *err,
		    size_t errlen)
{
	layer->fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (layer->fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s %s: %s%s", what, path, strerror(e),
			 e == ENOENT    ? ": create the directory or fix the path"
			 : e == ENOTDIR ? ": give a directory"
					: "");
		return -e;
	}
	struct stat st;
	struct statfs sf;
	if (fstat(layer->fd, &st) < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -errno;
	}
	layer->dev = st.st_dev;
	bool known = fstatfs(layer->fd, &sf) == 0;
	layer->is_fuse = known && sf.f_type == FUSE_SUPER_MAGIC;
	switch (known ? (unsigned long)sf.f_type : 0) {
	case 0x6969UL:     /* NFS */
	case 0xff534d42UL: /* CIFS */
	case 0xfe534d42UL: /* SMB2 */
	case 0x00c36400UL: /* Ceph */
	case 0x01021997UL: /* 9p */
	case 0x65735546UL: /* FUSE */
		layer->reports_on_close = true;
		break;
	default:
		layer->reports_on_close = !known;
	}
	layer->path = strdup(path);
	return layer->path ? 0 : -ENOMEM;
}

/* Is directory A equal to or below directory B? Walks ".." from A up to the root. */
static bool dir_within(int a_fd, int b_fd)
{
	struct stat b, cur, up;
	if (fstat(b_fd, &b) < 0)
		return false;
	int fd = openat(a_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (int depth = 0; fd >= 0 && depth < 4096; depth++) {
		if (fstat(fd, &cur) < 0)
			break;
		if (cur.st_dev == b.st_dev && cur.st_ino == b.st_ino) {
			close(fd);
			return true;
		}
		int pfd = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = pfd;
		if (fd < 0 || fstat(fd, &up) < 0)
			break;
		if (up.st_dev == cur.st_dev && up.st_ino == cur.st_ino)
			break; /* reached the root */
	}
	if (fd >= 0)
		close(fd);
	return false;
}

static unsigned long read_proc_id(const char *path, unsigned long fallback)
{
	FILE *f = fopen(path, "re");
	unsigned long v = fallback;
	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = fallback;
		fclose(f);
	}
	return v;
}

int layers_open(struct ovl *ovl, const struct ovl_options *o, char *err, size_t errlen)
{
	int r;
	ovl->n_layers = 1 + (int)o->n_lower;
	ovl->layers = calloc((size_t)ovl->n_layers, sizeof(struct layer));
	if (!ovl->layers)
		return -ENOMEM;
	for (int l = 0; l < ovl->n_layers; l++)
		ovl->layers[l].fd = -1;
	ovl->work_fd = -1;
	ovl->index_fd = -1;
	ovl->read_only = !o->upperdir;
	ovl->metacopy = o->metacopy;
	ovl->writeback = o->writeback;
	ovl->squash_unmapped = o->squash_unmapped;
	ovl->overflow_uid = (uid_t)read_proc_id("/proc/sys/kernel/overflowuid", 65534);
	ovl->overflow_gid = (gid_t)read_proc_id("/proc/sys/kernel/overflowgid", 65534);
	ovl->fsync = o->fsync;
	ovl->noxattrs = o->noxattrs;
	ovl->acl = !o->noacl && !o->noxattrs;
	ovl->timeout = o->timeout;
	ovl->max_read = o->max_read;
	ovl->blksize = o->blksize;
	ovl->io_uring = o->io_uring;

	for (size_t i = 0; i < o->n_lower; i++)
		if ((r = open_dir("lowerdir", o->lowerdirs[i], &ovl->layers[1 + i], err, errlen)) < 0)
			return r;
	if (o->upperdir) {
		struct layer work = { .fd = -1 };
		if ((r = open_dir("upperdir", o->upperdir, &ovl->layers[UPPER], err, errlen)) < 0)
			return r;
		if ((r = open_dir("workdir", o->workdir, &work, err, errlen)) < 0)
			return r;
		int wfd = work.fd;
		free(work.path);
		if (work.dev != ovl->layers[UPPER].dev) {
			close(wfd);
			snprintf(err, errlen,
				 "workdir %s and upperdir %s are on different filesystems: put "
				 "the workdir beside the upper directory",
				 o->workdir, o->upperdir);
			return -EXDEV;
		}
		if (dir_within(wfd, ovl->layers[UPPER].fd) || dir_within(ovl->layers[UPPER].fd, wfd)) {
			close(wfd);
			snprintf(err, errlen,
				 "workdir %s and upperdir %s overlap: use two separate sibling "
				 "directories",
				 o->workdir, o->upperdir);
			return -EINVAL;
		}
		ovl->work_fd = wfd; /* the parent; layers_prepare_work opens WORKDIR/work */
	}
	for (int a = 0; a < ovl->n_layers; a++)
		for (int b = 0; b < ovl->n_layers; b++) {
			if (a == b || ovl->layers[a].fd < 0 || ovl->layers[b].fd < 0)
				continue;
			/* Lower layers may nest (read-only views of each other are harmless), but
			 * the same directory twice, or an upper inside/above a lower, is refused. */
			bool same = dir_within(ovl->layers[a].fd, ovl->layers[b].fd) &&
				    dir_within(ovl->layers[b].fd, ovl->layers[a].fd);
			bool upper_clash = (a == UPPER || b == UPPER) &&
					   dir_within(ovl->layers[a].fd, ovl->layers[b].fd);
			if (same || upper_clash) {
				snprintf(err, errlen,
					 "%s %s %s %s %s: every layer must be a separate directory",
					 a == UPPER ? "upperdir" : "lowerdir", ovl->layers[a].path,
					 same ? "is the same directory as" : "lies inside",
					 b == UPPER ? "upperdir" : "lowerdir", ovl->layers[b].path);
				return -EINVAL;
			}
		}
	/* The work directory gets emptied at every mount: no layer may live in or around it. */
	for (int l = 1; ovl->work_fd >= 0 && l < ovl->n_layers; l++)
		if (dir_within(ovl->layers[l].fd, ovl->work_fd) ||
		    dir_within(ovl->work_fd, ovl->layers[l].fd)) {
			snprintf(err, errlen,
				 "workdir %s and lowerdir %s overlap: put the workdir beside the upper "
				 "directory, outside every lower layer",
				 o->workdir, ovl->layers[l].path);
			return -EINVAL;
		}
	return 0;
}

/* May we write trusted.* xattrs (real root)? Kernel overlayfs uses them then. */
static bool can_use_trusted(int dirfd)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", dirfd);
	if (setxattr(p, "trusted.antares.probe", "1", 1, 0) < 0)
		return false;
	removexattr(p, "trusted.antares.probe");
	return true;
}

/* Can we give files away to other ids? If not, ownership goes into the override xattr. */
static bool can_chown_anyone(int dirfd)
{
	const char *probe = "#owner-probe";
	int fd = openat(dirfd, probe, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	bool ok = fchown(fd, 4242, 4242) == 0;
	close(fd);
	unlinkat(dirfd, probe, 0);
	return ok;
}

static bool can_mknod_whiteout(int dirfd)
{
	const char *probe = "#whiteout-probe";
	if (mknodat(dirfd, probe, S_IFCHR | 0000, makedev(0, 0)) < 0)
		return false;
	unlinkat(dirfd, probe, 0);
	return true;
}

int layers_prepare_work(struct ovl *ovl, const struct ovl_options *o, char *err, size_t errlen)
{
	if (ovl->read_only) {
		ovl->xattr_prefix = "user.overlay.";
		ovl->antares_prefix = "user.antares.";
		return 0;
	}
	int parent = ovl->work_fd;
	if (mkdirat(parent, "work", 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "workdir %s: cannot create work/: %s", o->workdir,
			 strerror(errno));
		return -errno;
	}
	/* The hard-link index lives beside work/ (same filesystem as the upper: links work). */
	if (mkdirat(parent, "antares-index", 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "workdir %s: cannot create antares-index/: %s", o->workdir,
			 strerror(errno));
		return -errno;
	}
	ovl->index_fd = openat(parent, "antares-index", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int wfd = openat(parent, "work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(parent);
	ovl->work_fd = wfd;
	if (wfd < 0 || ovl->index_fd < 0) {
		snprintf(err, errlen, "workdir %s: cannot open work/: %s", o->workdir,
			 strerror(errno));
		return -errno;
	}
	/* Two daemons sharing a work directory would empty it under each other's copy-ups. */
	if (flock(wfd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen,
			 "workdir %s is in use by another mount: give each mount its own workdir",
			 o->workdir);
		return -EBUSY;
	}
	/* Records of copies still unsynced when the last daemon stopped: resolve them before
	 * the work directory's leftovers go. */
	int r = pending_init(ovl, wfd, err, errlen);
	if (r < 0)
		return r;
	r = copyup_clean_workdir(wfd);
	if (r < 0) {
		snprintf(err, errlen, "workdir %s: cannot clean leftovers in work/: %s", o->workdir,
			 strerror(-r));
		return r;
	}
	bool trusted = !o->userxattr && can_use_trusted(wfd);
	ovl->xattr_prefix = trusted ? "trusted.overlay." : "user.overlay.";
	ovl->antares_prefix = trusted ? "trusted.antares." : "user.antares.";
	ovl->store_owner_in_xattr = !can_chown_anyone(wfd);
	/* Decide the whiteout form once per mount, the same way every time on this system, so
	 * an upper written with ".wh." markers is read with them again after a remount. */
	ovl->upper_dot_whiteouts = !can_mknod_whiteout(wfd);
	return 0;
}

void layers_close(struct ovl *ovl)
{
	if (!ovl->layers)
		return; /* layers_open never got as far as the array */
	for (int l = 0; l < ovl->n_layers; l++) {
		if (ovl->layers[l].fd >= 0)
			close(ovl->layers[l].fd);
		free(ovl->layers[l].path);
	}
	free(ovl->layers);
	if (ovl->work_fd >= 0)
		close(ovl->work_fd);
	if (ovl->index_fd >= 0)
		close(ovl->index_fd);
}

int layer_open_beneath(struct ovl *ovl, int layer, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS };
	long fd = syscall(SYS_openat2, ovl->layers[layer].fd, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) /* before Linux 5.6 */
		fd = openat(ovl->layers[layer].fd, path, flags | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : (int)fd;
}
