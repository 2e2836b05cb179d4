/* The fd-based mount primitives (fsopen/fsconfig/fsmount, open_tree, mount_setattr,
 * move_mount), with the kernel's fs_context messages carried into our log. */
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "util.h"

/* The kernel queues human-readable reasons ("e fuse: ...") on the fs_context fd. */
static void log_fs_messages(int fsfd, const char *fstype)
{
	char buf[512];
	ssize_t n;
	while ((n = read(fsfd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = 0;
		log_info("%s: kernel says: %s", fstype, buf);
	}
}

static int fs_set(int fsfd, const char *opt)
{
	char key[128];
	const char *eq = strchr(opt, '=');
	if (!eq)
		return fsconfig(fsfd, FSCONFIG_SET_FLAG, opt, NULL, 0) < 0 ? negerrno() : 0;
	size_t n = (size_t)(eq - opt);
	if (n >= sizeof(key))
		return -EINVAL;
	memcpy(key, opt, n);
	key[n] = 0;
	return fsconfig(fsfd, FSCONFIG_SET_STRING, key, eq + 1, 0) < 0 ? negerrno() : 0;
}

int mount_fs(const char *fstype, const char *source, const char *const *opts, unsigned attrs)
{
	_cleanup_close_ int fsfd = fsopen(fstype, FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return negerrno();
	int r = 0;
	if (source && fsconfig(fsfd, FSCONFIG_SET_STRING, "source", source, 0) < 0)
		r = negerrno();
	for (size_t i = 0; r == 0 && opts && opts[i]; i++)
		r = fs_set(fsfd, opts[i]);
	if (r == 0 && fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		r = negerrno();
	if (r < 0) {
		log_fs_messages(fsfd, fstype);
		return r;
	}
	int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, attrs);
	if (mfd < 0) {
		r = negerrno();
		log_fs_messages(fsfd, fstype);
		return r;
	}
	return mfd;
}

int mount_clone(int dirfd, const char *path, bool recursive)
{
	unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
	if (!*path)
		flags |= AT_EMPTY_PATH;
	int fd = open_tree(dirfd, path, flags);
	return fd < 0 ? negerrno() : fd;
}

int mount_set_attrs(int fd, unsigned set, unsigned clr, bool recursive)
{
	struct mount_attr attr = { .attr_set = set, .attr_clr = clr, .propagation = MS_PRIVATE };
	unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
	return mount_setattr(fd, "", flags, &attr, sizeof(attr)) < 0 ? negerrno() : 0;
}

int mount_attach(int mnt_fd, int target_fd)
{
	if (move_mount(mnt_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
	    0)
		return negerrno();
	return 0;
}

int mount_attach_path(int mnt_fd, const char *path)
{
	if (move_mount(mnt_fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return negerrno();
	return 0;
}
