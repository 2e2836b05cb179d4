/* The mounted overlay as a whole: its layers, work directory and settings. One instance per
 * daemon; every FUSE operation reaches it through fuse_req_userdata(). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "inode.h"

struct fuse_session;

/* Layer index 0 is the upper layer (its fd is -1 on a read-only mount); lower layers follow,
 * topmost first, so "smaller index wins" everywhere. */
#define UPPER 0

struct layer {
	char *path;   /* as given, for messages */
	int fd;       /* O_PATH | O_DIRECTORY on the layer root */
	dev_t dev;
	bool is_fuse; /* a FUSE lower: expect weak xattr/statx support */
	/* A network (or FUSE) file system, whose close() may report a write that failed on the
	 * server: only then is the application's close() passed down (FUSE_FLUSH). */
	bool reports_on_close;
	bool warned_no_xattrs; /* said once that copy-ups from here lose xattrs */
};

struct ovl {
	struct layer *layers;
	int n_layers; /* 1 + number of lower layers */
	int work_fd;  /* WORKDIR/work: private scratch space for atomic copy-up */
	bool read_only;
	bool fsync;
	bool noxattrs;
	bool acl; /* POSIX ACLs offered to the kernel: it enforces them, we apply umask */
	bool writeback; /* writeback cache negotiated: see ops_file.c for what it requires */
	bool no_opendir; /* the kernel opens directories itself (ops_dir.c) */
	/* ...and regular files too: no OPEN, RELEASE or FLUSH, and requests on a file carry no
	 * handle but find an fd through the inode (ops_file.c). data_fds counts the fds inodes
	 * hold for that; past data_fds_max a request opens its own and closes it. */
	bool no_open;
	long data_fds;
	long data_fds_max;
	/* squash_unmapped: the kernel denies every write to a FUSE inode whose owner it cannot
	 * map, so in a user namespace a checkout owned by an unmapped group would be read-only.
	 * Owners that read as the overflow ids are reported (and copied up) as ours. */
	bool squash_unmapped;
	uid_t overflow_uid;
	gid_t overflow_gid;
	/* "trusted.overlay." when we may write trusted xattrs, else "user.overlay." (kernel
	 * overlayfs' userxattr rule); the antares.* names follow the same namespace. */
	const char *xattr_prefix;
	const char *antares_prefix;
	/* true when chown to arbitrary ids fails: ownership then lives in an override xattr */
	bool store_owner_in_xattr;
	/* whiteouts in the upper are ".wh.NAME" files because mknod(0/0) is refused */
	bool upper_dot_whiteouts;
	/* metacopy=on: chmod/chown/utimens/setxattr of a lower file copy metadata only */
	bool metacopy;
	/* the kernel leaves clearing setuid/setgid on write, truncate and chown to us and tells
	 * us when (FUSE_HANDLE_KILLPRIV_V2, devio.c) */
	bool killpriv_v2;
	struct fuse_session *se; /* for notifications to the kernel */
	/* WORKDIR/antares-index: one hard link per copied-up lower inode that had several
	 * names, so its other names join the same upper inode (like kernel index=on) */
	int index_fd;
	/* big copy-ups waiting for their fsync in the background (pending.c); NULL when
	 * read-only */
	struct pending_set *pending;
	double timeout;
	unsigned max_read; /* the mount's max_read=, told to libfuse again at INIT */
	unsigned blksize;  /* st_blksize of every reply (blksize=); 0: the layer's */
	bool io_uring;     /* io_uring=1: offer to take requests through io_uring (uring.c) */
	struct inode_table table;
	struct ovl_inode *root;
};

static inline bool ovl_has_upper(const struct ovl *ovl)
{
	return !ovl->read_only;
}

/* Name of layer L for log lines: "upper" or "lower[N] (PATH)". */
const char *ovl_layer_name(const struct ovl *ovl, int l, char *buf, size_t len);
