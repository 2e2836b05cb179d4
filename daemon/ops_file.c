/* Open files: each FUSE file handle owns a real fd on one layer's copy. Opening for write copies
 * the object up first; a handle opened on a lower copy moves to the upper copy on its next read
 * once somebody else has copied the file up, so readers never see stale data. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copyup.h"
#include "devio.h"
#include "layer.h"
#include "ops.h"
#include "pending.h"

struct ovl_file {
	pthread_mutex_t lock;
	int fd;
	int layer; /* layer the fd is on; lower layers mean "may go stale on copy-up" */
	unsigned data_gen; /* the inode's data_gen when fd was opened */
	int flags;
	int old_fd; /* a lower fd replaced by refresh_handle, closed at release */
};

int ops_file_fd(struct fuse_file_info *fi)
{
	struct ovl_file *f = (struct ovl_file *)(uintptr_t)fi->fh;
	return __atomic_load_n(&f->fd, __ATOMIC_ACQUIRE);
}

static bool wants_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

static int open_copy(struct ovl *ovl, struct ovl_inode *ino, int l, int flags, int *fd_out,
		     bool *unreadable);

/* With the writeback cache the kernel decides where data goes: it reads pages of files
 * opened write-only (to fill partial pages) and positions appends itself. So a write-only
 * open becomes read-write and O_APPEND is dropped on our side. */
static int backing_flags(const struct ovl *ovl, int flags)
{
	if (!ovl->writeback)
		return flags;
	flags &= ~O_APPEND;
	if ((flags & O_ACCMODE) == O_WRONLY)
		flags = (flags & ~O_ACCMODE) | O_RDWR;
	return flags;
}

/* *UNREADABLE is set when the fd can't read although the kernel may need it to (the upper
 * copy refuses us read access: mode 0200 and no DAC override): such a handle must bypass
 * the page cache (direct_io), or a write of part of a page would fail with EBADF. */
static int open_backing(const struct ovl *ovl, int dirfd, const char *name, int flags, mode_t mode,
			bool *unreadable)
{
	*unreadable = false;
	int fd = openat(dirfd, name, backing_flags(ovl, flags), mode);
	if (fd < 0 && errno == EACCES && backing_flags(ovl, flags) != flags) {
		fd = openat(dirfd, name, flags & ~(ovl->writeback ? O_APPEND : 0), mode);
		*unreadable = fd >= 0 && (flags & O_ACCMODE) == O_WRONLY;
	}
	return fd;
}

bool ops_file_on_lower_data(struct fuse_file_info *fi)
{
	struct ovl_file *f = (struct ovl_file *)(uintptr_t)fi->fh;
	return __atomic_load_n(&f->layer, __ATOMIC_ACQUIRE) != UPPER;
}

/* Open where INO's data is now: the topmost copy, or for a metadata-only copy the lower
 * file holding the data. Sets *LAYER and *GEN to what was opened, *UNREADABLE as
 * open_backing does. */
static int open_data(struct ovl *ovl, struct ovl_inode *ino, int flags, int *fd_out, int *layer,
		     unsigned *gen, bool *unreadable)
{
	int oflags = (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC)) | O_NOFOLLOW | O_CLOEXEC;
	if (flags & O_TRUNC)
		oflags |= O_TRUNC;
	pthread_mutex_lock(&ino->lock);
	*gen = ino->data_gen;
	bool mc = ino->metacopy;
	int dl = ino->data_layer;
	char *path = mc ? strdup(ino->data_path) : NULL;
	pthread_mutex_unlock(&ino->lock);
	*unreadable = false;
	if (mc) {
		if (!path)
			return -ENOMEM;
		int fd = layer_open_beneath(ovl, dl, path, oflags & ~O_APPEND);
		free(path);
		if (fd < 0)
			return ovl_fail(ovl, "open", ino, NULL, dl, "openat2", -fd);
		*fd_out = fd;
		*layer = dl;
		return 0;
	}
	*layer = inode_layer(ino);
	return open_copy(ovl, ino, *layer, oflags, fd_out, unreadable);
}

static int open_copy(struct ovl *ovl, struct ovl_inode *ino, int l, int flags, int *fd_out,
		     bool *unreadable)
{
	struct access a;
	int r = access_get(ovl, ino, l, &a);
	if (r == 0) {
		int fd = open_backing(ovl, a.loc.fd, a.loc.name, flags, 0, unreadable);
		if (fd < 0)
			r = errno == ENOENT || errno == EACCES || errno == EPERM || errno == ETXTBSY ||
					    errno == EISDIR || errno == ELOOP
				    ? -errno
				    : ovl_fail(ovl, "open", ino, NULL, a.layer, "openat", errno);
		else
			*fd_out = fd;
	}
	access_done(ovl, &a);
	return r;
}

static int attach_file(struct ovl *ovl, struct fuse_file_info *fi, int fd, int layer,
		       unsigned gen, int flags, bool unreadable)
{
	struct ovl_file *f = malloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	f->fd = fd;
	f->layer = layer;
	f->data_gen = gen;
	f->flags = flags;
	f->old_fd = -1;
	fi->fh = (uint64_t)(uintptr_t)f;
	/* We are the only writer of the layers and every write passes through the kernel, so
	 * cached pages stay valid across opens. */
	fi->keep_cache = 1;
	/* No FUSE_FLUSH round trip on every close() (one per header a compiler reads): close of
	 * a local file system's fd reports nothing, and of a read-only fd nothing anywhere. */
	fi->noflush = layer != UPPER || (flags & O_ACCMODE) == O_RDONLY ||
		      !ovl->layers[UPPER].reports_on_close;
	/* Writes through this handle go straight to us; mmap needs a readable fd anyway. */
	if (unreadable)
		fi->direct_io = 1;
	return 0;
}

void op_open(fuse_req_t req, fuse_ino_t n, struct fuse_file_info *fi)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_inode *ino = node(ovl, n);
	int fd = -1, r = 0;
	/* A truncating open by a caller without CAP_FSETID (devio.c) of a setuid/setgid file. */
	bool kill = (fi->flags & O_TRUNC) && ovl->killpriv_v2 && devio_request_kills_suidgid() &&
		    ops_has_suidgid(ovl, ino, -1);
	if (wants_write(fi->flags)) {
		if (ovl->read_only) {
			fuse_reply_err(req, EROFS);
			return;
		}
		r = (fi->flags & O_TRUNC) ? copyup_truncated(ovl, ino) : copyup(ovl, ino);
	}
	int layer;
	unsigned gen;
	bool unreadable;
	if (r == 0)
		r = open_data(ovl, ino, fi->flags, &fd, &layer, &gen, &unreadable);
	if (r == 0 && kill && (r = ops_kill_suidgid(ovl, ino, layer == UPPER ? fd : -1, n)) < 0)
		close(fd);
	if (r == 0 && (r = attach_file(ovl, fi, fd, layer, gen, fi->flags, unreadable)) < 0)
		close(fd);
	if (r < 0)
		fuse_reply_err(req, -r);
	else if (fuse_reply_open(req, fi) < 0)
		op_release(NULL, n, fi);
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_inode *p = node(ovl, parent);
	bool replaced;
	if (ovl->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	int upfd = ops_prepare_new_entry(ovl, p, name, &replaced);
	if (upfd < 0) {
		fuse_reply_err(req, -upfd);
		return;
	}
	bool unreadable;
	int fd = open_backing(ovl, upfd, name, (fi->flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC) & ~O_NOCTTY,
			      ops_create_mode(ovl, req, upfd, mode) & 07777, &unreadable);
	if (fd < 0) {
		fuse_reply_err(req, -ovl_fail(ovl, "create", p, name, UPPER, "openat", errno));
		return;
	}
	ops_set_new_owner(ovl, req, upfd, name, false);
	struct ovl_inode *ino;
	struct stat st;
	int r = ovl_lookup(ovl, p, name, &ino, &st);
	if (r == 0 && (r = attach_file(ovl, fi, fd, UPPER, 0, fi->flags, unreadable)) < 0)
		inode_unref(ovl, ino);
	if (r < 0) {
		close(fd);
		fuse_reply_err(req, -r);
		return;
	}
	struct fuse_entry_param e;
	ops_make_entry(ovl, ino, &st, &e);
	if (fuse_reply_create(req, &e, fi) < 0) {
		inode_forget(ovl, ino, 1);
		op_release(NULL, 0, fi);
	}
}

/* A read-only handle on lower data: follow the data once it was copied up. */
static bool handle_stale(struct ovl_inode *ino, struct ovl_file *f)
{
	if (__atomic_load_n(&f->layer, __ATOMIC_ACQUIRE) == UPPER)
		return false;
	pthread_mutex_lock(&ino->lock);
	bool stale = ino->data_gen != f->data_gen || (!ino->metacopy && ino->layer == UPPER);
	pthread_mutex_unlock(&ino->lock);
	return stale;
}

static int refresh_handle(struct ovl *ovl, struct ovl_inode *ino, struct ovl_file *f)
{
	if (!handle_stale(ino, f))
		return 0;
	pthread_mutex_lock(&f->lock);
	int r = 0;
	if (handle_stale(ino, f)) {
		int fd, layer;
		unsigned gen;
		bool unreadable; /* a handle that refreshes reads: never write-only */
		r = open_data(ovl, ino, f->flags & ~O_TRUNC, &fd, &layer, &gen, &unreadable);
		if (r == 0) {
			/* The old fd stays open until release: another thread may be using it. */
			int old = f->fd;
			if (f->old_fd >= 0)
				close(f->old_fd);
			__atomic_store_n(&f->fd, fd, __ATOMIC_RELEASE);
			f->data_gen = gen;
			__atomic_store_n(&f->layer, layer, __ATOMIC_RELEASE);
			f->old_fd = old;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return r;
}

void op_read(fuse_req_t req, fuse_ino_t n, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_file *f = (struct ovl_file *)(uintptr_t)fi->fh;
	int r = refresh_handle(ovl, node(ovl, n), f);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = ops_file_fd(fi);
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, 0);
}

void op_write_buf(fuse_req_t req, fuse_ino_t n, struct fuse_bufvec *in, off_t off,
		  struct fuse_file_info *fi)
{
	struct ovl *ovl = req_ovl(req);
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = ops_file_fd(fi);
	out.buf[0].pos = off;
	/* A write by a caller without CAP_FSETID (devio.c) to a file with setuid/setgid bits. */
	bool kill = ovl->killpriv_v2 && devio_request_kills_suidgid() &&
		    ops_has_suidgid(ovl, node(ovl, n), out.buf[0].fd);
	ssize_t w = fuse_buf_copy(&out, in, 0);
	if (w > 0 && kill) {
		int r = ops_kill_suidgid(ovl, node(ovl, n), out.buf[0].fd, n);
		if (r < 0)
			w = r;
	}
	if (w < 0) {
		int e = (int)-w;
		/* A full disk or quota is the application's to report; anything else (EIO of the
		 * upper's disk included) is named here. */
		if (e != ENOSPC && e != EDQUOT && e != EFBIG)
			e = -ovl_fail(ovl, "write", node(ovl, n), NULL, UPPER, "pwrite", e);
		fuse_reply_err(req, e);
	} else {
		fuse_reply_write(req, (size_t)w);
	}
}

void op_flush(fuse_req_t req, fuse_ino_t n, struct fuse_file_info *fi)
{
	(void)n;
	/* close() of a duplicate reports deferred write errors (NFS-like uppers) to the app.
	 * When we have no fd to spare for the duplicate (EMFILE/ENFILE) there is nothing to
	 * report: the application's close() must not fail for a limit of ours, which it would
	 * read as lost data. */
	int fd = dup(ops_file_fd(fi));
	int r = fd < 0 ? 0 : close(fd) < 0 ? errno : 0;
	fuse_reply_err(req, r);
}

void op_release(fuse_req_t req, fuse_ino_t n, struct fuse_file_info *fi)
{
	(void)n;
	struct ovl_file *f = (struct ovl_file *)(uintptr_t)fi->fh;
	if (f) {
		close(f->fd);
		if (f->old_fd >= 0)
			close(f->old_fd);
		pthread_mutex_destroy(&f->lock);
		free(f);
	}
	if (req)
		fuse_reply_err(req, 0);
}

void op_fsync(fuse_req_t req, fuse_ino_t n, int datasync, struct fuse_file_info *fi)
{
	struct ovl *ovl = req_ovl(req);
	int fd = ops_file_fd(fi);
	int r = (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? errno : 0;
	/* A copy-up still recorded as unsynced would be undone after a crash: the data this
	 * fsync promises must not go with it. */
	if (r == 0)
		r = -pending_settle(ovl, node(ovl, n));
	fuse_reply_err(req, r);
}

void op_fallocate(fuse_req_t req, fuse_ino_t n, int mode, off_t off, off_t len,
		  struct fuse_file_info *fi)
{
	(void)n;
	int r = fallocate(ops_file_fd(fi), mode, off, len) < 0 ? errno : 0;
	fuse_reply_err(req, r);
}

void op_lseek(fuse_req_t req, fuse_ino_t n, off_t off, int whence, struct fuse_file_info *fi)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_file *f = (struct ovl_file *)(uintptr_t)fi->fh;
	int r = refresh_handle(ovl, node(ovl, n), f);
	off_t res = r < 0 ? -1 : lseek(ops_file_fd(fi), off, whence);
	if (r < 0)
		fuse_reply_err(req, -r);
	else if (res < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, res);
}

void op_copy_file_range(fuse_req_t req, fuse_ino_t in, off_t off_in, struct fuse_file_info *fi_in,
			fuse_ino_t out, off_t off_out, struct fuse_file_info *fi_out, size_t len,
			int flags)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_file *f = (struct ovl_file *)(uintptr_t)fi_in->fh;
	(void)out;
	int r = refresh_handle(ovl, node(ovl, in), f);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	loff_t a = off_in, b = off_out;
	ssize_t n = copy_file_range(ops_file_fd(fi_in), &a, ops_file_fd(fi_out), &b, len,
				    (unsigned)flags);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)n);
}
