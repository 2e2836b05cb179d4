/* The operation table and the FUSE session settings negotiated at mount time. */
#include "ops.h"

#include <fcntl.h>
#include <linux/fuse.h>
#include <string.h>

#include "../common/log.h"

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
	/* The kernel passes O_TRUNC to open, so truncating opens need not copy data first. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* Writeback cache: the kernel gathers writes in its page cache and sends them in large
	 * requests; it owns size and mtime meanwhile (we are the only writer). */
	if (ovl->writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	else
		ovl->writeback = false;
	/* Reads answer with the lower file's descriptor: libfuse splices its page cache into
	 * /dev/fuse instead of reading it into a buffer first (which cost a fresh, page-faulting
	 * 1 MiB allocation and a copy per request: 2.5x the CPU of a read in the profile). */
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (conn->capable & FUSE_CAP_SPLICE_MOVE)
		conn->want |= FUSE_CAP_SPLICE_MOVE;
	/* Directories are opened by the kernel alone: listings live with the inode (ops_dir.c). */
	if (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) {
		conn->want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
		ovl->no_opendir = true;
	}
	conn->max_readahead = 1 << 20;
	/* POSIX and flock locks are left to the kernel: every user of the mount is on this
	 * host, so the kernel's local lock tables are exact. */
	conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
	log_debug("fuse capabilities: kernel 0x%x, wanted 0x%x", conn->capable, conn->want);
}

/* Nothing to copy up before a change: the object's data and metadata are on the upper. */
static bool all_on_upper(struct ovl *ovl, uint64_t nodeid)
{
	struct ovl_inode *ino = node(ovl, nodeid);
	return inode_layer(ino) == UPPER && !__atomic_load_n(&ino->metacopy, __ATOMIC_RELAXED);
}

bool ops_request_is_quick(struct ovl *ovl, uint32_t opcode, uint64_t nodeid, const void *arg,
			  size_t len)
{
	/* Reads and writes this small stay in the page cache, or cost one short disk read. */
	const uint32_t small_io = 128 * 1024;
	switch (opcode) {
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
	case FUSE_LOOKUP:
	case FUSE_GETATTR:
	case FUSE_READLINK:
	case FUSE_ACCESS:
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
	case FUSE_STATFS:
	case FUSE_FLUSH:
	case FUSE_RELEASE:
		return true;
	case FUSE_OPEN: { /* a read-only open copies nothing up */
		struct fuse_open_in in;
		if (len < sizeof(in))
			return false;
		memcpy(&in, arg, sizeof(in));
		return ((in.flags & O_ACCMODE) == O_RDONLY && !(in.flags & O_TRUNC)) ||
		       all_on_upper(ovl, nodeid);
	}
	case FUSE_READ: {
		struct fuse_read_in in;
		if (len < sizeof(in))
			return false;
		memcpy(&in, arg, sizeof(in));
		return in.size <= small_io;
	}
	case FUSE_WRITE: {
		struct fuse_write_in in;
		if (len < sizeof(in))
			return false;
		memcpy(&in, arg, sizeof(in));
		return in.size <= small_io;
	}
	case FUSE_SETATTR:
		return all_on_upper(ovl, nodeid);
	default: /* creates, removals, renames, listings, fsync: disk work or copy-ups */
		return false;
	}
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
