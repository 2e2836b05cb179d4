/* The operation table and the FUSE session settings negotiated at mount time. */
#include "ops.h"

#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/log.h"

/* Whether we may open any file of ours whatever its mode: root, or root of our own user
 * namespace (antares-sandbox starts us there). */
static bool may_override_modes(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	return d[0].effective & (1u << CAP_DAC_OVERRIDE);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct ovl *ovl = userdata;
	/* ACLs: the kernel enforces them and passes the caller's umask on create, which we then
	 * apply (ops_create_mode). Without this, a mount in a user namespace can't show ACLs at
	 * all (the kernel refuses system.posix_acl_* on such FUSE mounts). */
	if (ovl->acl && (conn->capable & FUSE_CAP_POSIX_ACL) && (conn->capable & FUSE_CAP_DONT_MASK))
		conn->want |= FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
	else
		ovl->acl = false;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* Writeback cache: the kernel gathers writes in its page cache and sends them in large
	 * requests; it owns size and mtime meanwhile (we are the only writer). */
	if (ovl->writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	else
		ovl->writeback = false;
	/* Without the writeback cache, regular files are opened by the kernel alone: a compiler
	 * opens every header once per run, and OPEN plus RELEASE were 70 % of a build's requests
	 * (doc/daemon.md, "No OPEN and RELEASE for regular files"). The writeback cache keeps
	 * OPEN, for the handles that let it read pages of write-only opens, and so does an upper
	 * whose close() reports failed writes, for FLUSH. So does a daemon without
	 * CAP_DAC_OVERRIDE: files are opened for each write, and it could not open a file again
	 * that was created read-only, or made so while open, as git does with its objects.
	 * There is no reply to tell the kernel up front: the first OPEN gets ENOSYS. */
	ovl->no_open = !ovl->writeback &&
		       !(ovl_has_upper(ovl) && ovl->layers[UPPER].reports_on_close) &&
		       may_override_modes();
	/* Inodes keep their data fds for a quarter of what we may open: directories hold fds
	 * too, and a request past the limit still gets a fd of its own. */
	struct rlimit rl;
	ovl->data_fds_max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
				    ? (long)(rl.rlim_cur / 4)
				    : 65536;
	/* The kernel passes O_TRUNC to open, so truncating opens need not copy data first. With
	 * no_open there is no OPEN to pass it to: the kernel must truncate with a SETATTR, which
	 * it does only without atomic_o_trunc (libfuse asks for it by default). */
	if ((conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) && !ovl->no_open)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	else
		conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	/* Reads answer with the lower file's descriptor: libfuse splices its page cache into
	 * /dev/fuse instead of reading it into a buffer first (which cost a fresh, page-faulting
	 * 1 MiB allocation and a copy per request: 2.5x the CPU of a read in the profile). */
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	/* But never SPLICE_MOVE: the kernel would move the spliced pages out of the layer file's
	 * page cache into ours, so reading a file through the mount evicted it from the host's
	 * cache (760 MiB of a 1 GiB lower file), and every later reader went to the disk
	 * (lower-cache.sh). libfuse turns it on by default. */
	conn->want &= ~FUSE_CAP_SPLICE_MOVE;
	/* Directories are opened by the kernel alone: listings live with the inode (ops_dir.c). */
	if (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) {
		conn->want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
		ovl->no_opendir = true;
	}
	/* A file's cached pages stay valid when its mtime changes: every change of its data
	 * passes through the kernel's page cache on its way to us, or (truncation) makes the
	 * kernel drop the pages itself. libfuse's default, auto_inval_data, made the kernel drop
	 * all of a file's pages whenever a GETATTR showed a new mtime, and without the writeback
	 * cache that is after every write of ours: a make that wrote an object file, stat()ed it
	 * and linked it read it back through us (over a quarter of the READs of the benchmark's
	 * compile). With timeout=0 the user asked to see changes made behind our back, and
	 * mtime is the only sign of one that keeps the size. */
	if (ovl->timeout > 0)
		conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	conn->max_readahead = 1 << 20;
	/* What the mount asked for (main.c): libfuse 3.14 stops the session when the two differ,
	 * and does not fill it in itself. */
	conn->max_read = ovl->max_read;
	/* POSIX and flock locks are left to the kernel: every user of the mount is on this
	 * host, so the kernel's local lock tables are exact. */
	conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
	log_debug("fuse capabilities: kernel 0x%x, wanted 0x%x", conn->capable, conn->want);
}

const struct fuse_lowlevel_ops ovl_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.create = op_create,
	.read = op_read,
	.write_buf = op_write_buf,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.fsyncdir = op_fsyncdir,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.access = op_access,
	.fallocate = op_fallocate,
	.lseek = op_lseek,
	.copy_file_range = op_copy_file_range,
};
