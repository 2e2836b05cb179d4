/* Open files. With the writeback cache each FUSE file handle owns a real fd on one layer's
 * copy: opening for write copies the object up first, and a handle opened on a lower copy
 * moves to the upper copy on its next read once somebody else has copied the file up, so
 * readers never see stale data. Without it (no_open, ops.c) the kernel opens regular files
 * alone, CREATE included, and a request finds its fd through the inode: copy-up then waits
 * for the first change. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/list.h"
#include "../common/log.h"
#include "copyup.h"
#include "devio.h"
#include "layer.h"
#include "ops.h"
#include "pending.h"
#include "uring.h"
#include "writefds.h"

struct ovl_file {
	pthread_mutex_t lock;
	int fd;
	int layer; /* layer the fd is on; lower layers mean "may go stale on copy-up" */
	unsigned data_gen; /* the inode's data_gen when fd was opened */
	int flags;
	int old_fd; /* a lower fd replaced by refresh_handle, closed at release */
	/* On open_handles until RELEASE: a daemon stopped while files are open gets no RELEASE
	 * for them, and frees them at exit (ops_file_shutdown). */
	struct list_node open_link;
};

static pthread_mutex_t open_handles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct list_node *open_handles;

static void handle_free(struct ovl_file *f)
{
	pthread_mutex_lock(&open_handles_lock);
	list_unlink(&f->open_link);
	pthread_mutex_unlock(&open_handles_lock);
	close(f->fd);
	if (f->old_fd >= 0)
		close(f->old_fd);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

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
	pthread_mutex_lock(&open_handles_lock);
	list_push(&open_handles, &f->open_link);
	pthread_mutex_unlock(&open_handles_lock);
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
	/* The kernel takes this as "open files without asking from now on" (ops.c). */
	if (ovl->no_open) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
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
	/* Without handles a CREATE buys nothing but a RELEASE round trip at close: told ENOSYS
	 * once, the kernel makes new files with MKNOD (op_mknod) and opens them itself. */
	if (ovl->no_open) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
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

/* The fd one request reads or writes through: a handle's, one of the inode's (no_open), or
 * one opened for this request alone (when inodes already hold data_fds_max fds). */
struct data_io {
	int fd;
	int layer;
	bool own;		  /* opened for this request: close it after */
	struct ovl_inode *held; /* the inode's write fd (writefds.c): give it back after */
};

static void data_io_done(struct data_io *io)
{
	if (io->own && io->fd >= 0)
		close(io->fd);
	if (io->held)
		writefds_put(io->held);
	io->held = NULL;
	io->fd = -1;
}

static struct ovl_file *handle_of(struct fuse_file_info *fi)
{
	return fi ? (struct ovl_file *)(uintptr_t)fi->fh : NULL;
}

/* INO's cached data fd still reaches its data: not opened before the data moved (a copy-up
 * from lower, or a metacopy's data copied up). Caller holds ino->lock. */
static bool data_fd_fresh(const struct ovl_inode *ino)
{
	return ino->data_fd >= 0 && ino->data_fd_gen == ino->data_gen &&
	       (ino->data_fd_layer == UPPER || ino->metacopy || ino->layer != UPPER);
}

enum data_need { NEED_READ, NEED_WRITE };

static bool acc_allows(int acc, enum data_need need)
{
	return need == NEED_WRITE ? acc != O_RDONLY : acc != O_WRONLY;
}

/* Put FD (access ACC, data_gen GEN on LAYER) into INO's cache, or leave it to the request
 * alone (IO->own). PIN: cache it even past data_fds_max, and even for writing, because it
 * is the only way to the data left (the file's last name is about to go, or went). */
static void data_fd_install(struct ovl *ovl, struct ovl_inode *ino, int fd, int acc, int layer,
			    unsigned gen, bool pin, struct data_io *io)
{
	io->fd = fd;
	io->layer = layer;
	io->own = true;
	io->held = NULL;
	/* Fds for writing are kept only for a while (writefds.h). */
	if (acc != O_RDONLY && !pin)
		return;
	pthread_mutex_lock(&ino->lock);
	if (ino->data_fd < 0) {
		if (pin || __atomic_load_n(&ovl->data_fds, __ATOMIC_RELAXED) < ovl->data_fds_max) {
			__atomic_fetch_add(&ovl->data_fds, 1, __ATOMIC_RELAXED);
			io->own = false;
		}
	} else {
		/* Another thread may be between reading the old fd and using it. */
		struct retired_fd *old = malloc(sizeof(*old));
		if (old) {
			old->fd = ino->data_fd;
			old->next = ino->retired;
			ino->retired = old;
			io->own = false;
		}
	}
	if (!io->own) {
		ino->data_fd = fd;
		ino->data_fd_acc = acc;
		ino->data_fd_layer = layer;
		ino->data_fd_gen = gen;
	}
	pthread_mutex_unlock(&ino->lock);
}

/* Open the file behind FD again, through /proc/self/fd, with access ACC (O_RDONLY or O_RDWR);
 * O_RDWR falls back to O_WRONLY on a file of mode 0200 when we lack DAC override. Returns the
 * new fd or -errno, and the access it got in *GOT. */
static int fd_reopen(int fd, int acc, int *got)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int nfd = open(path, acc | O_CLOEXEC);
	if (nfd < 0 && (errno == EACCES || errno == EPERM) && acc == O_RDWR)
		nfd = open(path, (acc = O_WRONLY) | O_CLOEXEC);
	*got = acc;
	return nfd < 0 ? -errno : nfd;
}

/* An fd on INO's data for a request without a handle: read-only for reads (a read-write
 * open fails on a read-only upper, or on a running program's file), read-write for writes. */
static int data_io_get(struct ovl *ovl, struct ovl_inode *ino, enum data_need need, bool pin,
		       struct data_io *io)
{
	io->fd = -1;
	io->own = false;
	io->held = NULL;
	pthread_mutex_lock(&ino->lock);
	int kept = data_fd_fresh(ino) ? ino->data_fd : -1;
	if (kept >= 0 && acc_allows(ino->data_fd_acc, need)) {
		io->fd = kept;
		io->layer = ino->data_fd_layer;
		pthread_mutex_unlock(&ino->lock);
		return 0;
	}
	int kept_layer = ino->data_fd_layer;
	unsigned kept_gen = ino->data_fd_gen;
	pthread_mutex_unlock(&ino->lock);
	int acc = need == NEED_WRITE ? O_RDWR : O_RDONLY;
	int fd, layer;
	unsigned gen;
	bool unreadable;
	int r = open_data(ovl, ino, acc, &fd, &layer, &gen, &unreadable);
	/* Mode 0200 and no DAC override: writing may still be allowed. */
	if ((r == -EACCES || r == -EPERM) && acc == O_RDWR) {
		acc = O_WRONLY;
		r = open_data(ovl, ino, acc, &fd, &layer, &gen, &unreadable);
	}
	/* No name left (removed while open): the kept fd is opened again with the access
	 * needed. A replaced fd is never closed before the inode, so KEPT is still open. */
	if (r == -ENOENT && kept >= 0) {
		fd = fd_reopen(kept, need == NEED_WRITE ? O_RDWR : O_RDONLY, &acc);
		r = fd < 0 ? fd : 0;
		layer = kept_layer;
		gen = kept_gen;
	}
	if (r == 0 && need == NEED_WRITE && !pin && layer == UPPER && writefds_adopt(ovl, ino, fd)) {
		io->fd = fd;
		io->layer = UPPER;
		io->held = ino;
	} else if (r == 0) {
		data_fd_install(ovl, ino, fd, acc, layer, gen, pin, io);
	}
	return r;
}

/* A metacopy's data is lower and its metadata in its upper file, which goes with the name:
 * an O_PATH fd on that file is kept too. */
static void pin_metadata(struct ovl *ovl, struct ovl_inode *ino)
{
	if (inode_layer(ino) != UPPER || !__atomic_load_n(&ino->metacopy, __ATOMIC_ACQUIRE))
		return;
	struct access a;
	int fd = -1;
	if (access_get(ovl, ino, UPPER, &a) == 0)
		fd = openat(a.loc.fd, a.loc.name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	access_done(ovl, &a);
	if (fd < 0) {
		log_debug("no fd kept on a removed metacopy's upper file: %s", strerror(errno));
		return;
	}
	pthread_mutex_lock(&ino->lock);
	if (ino->meta_fd < 0) {
		ino->meta_fd = fd;
		fd = -1;
	}
	pthread_mutex_unlock(&ino->lock);
	if (fd >= 0)
		close(fd);
}

void ops_file_pin_data(struct ovl *ovl, struct ovl_inode *ino)
{
	if (!S_ISREG(ino->type))
		return;
	struct data_io io;
	int r = data_io_get(ovl, ino, NEED_READ, true, &io);
	if (r < 0)
		log_debug("no fd kept on a removed file: %s", strerror(-r));
	else
		data_io_done(&io);
	pin_metadata(ovl, ino);
}

int ops_file_removed_meta_fd(struct ovl_inode *ino, int *data_fd)
{
	pthread_mutex_lock(&ino->lock);
	bool fresh = data_fd_fresh(ino);
	int fd = fresh ? ino->data_fd : -1;
	*data_fd = -1;
	if (!(fresh && ino->data_fd_layer == UPPER) && ino->meta_fd >= 0) {
		*data_fd = fd;
		fd = ino->meta_fd;
	}
	pthread_mutex_unlock(&ino->lock);
	return fd;
}

int ops_file_cached_fd(struct ovl_inode *ino, bool writable)
{
	pthread_mutex_lock(&ino->lock);
	bool fits = data_fd_fresh(ino) && ino->data_fd_layer == UPPER &&
		    (!writable || ino->data_fd_acc != O_RDONLY);
	int fd = fits ? ino->data_fd : -1;
	pthread_mutex_unlock(&ino->lock);
	return fd;
}

/* The fd to read INO's data through. */
static int read_io(struct ovl *ovl, struct ovl_inode *ino, struct fuse_file_info *fi,
		   struct data_io *io)
{
	struct ovl_file *f = handle_of(fi);
	if (!f)
		return data_io_get(ovl, ino, NEED_READ, false, io);
	int r = refresh_handle(ovl, ino, f);
	io->fd = ops_file_fd(fi);
	io->layer = __atomic_load_n(&f->layer, __ATOMIC_ACQUIRE);
	io->own = false;
	io->held = NULL;
	return r;
}

/* A lower file (or a metacopy's lower data) written or changed after its last name went:
 * without a name there is nothing to copy up to, yet the kernel may have had it open for
 * writing since before (no_open: we could not copy up at open). It gets a nameless copy in
 * the work directory, which the inode keeps as its data fd until it is freed. */
static int copy_orphan(struct ovl *ovl, struct ovl_inode *ino)
{
	struct data_io src;
	int r = data_io_get(ovl, ino, NEED_READ, false, &src);
	if (r < 0)
		return r;
	pthread_mutex_lock(&ino->lock);
	int meta_fd = ino->meta_fd; /* set once, closed only with the inode */
	pthread_mutex_unlock(&ino->lock);
	int fd = copyup_orphan(ovl, ino, src.fd, src.layer, meta_fd);
	data_io_done(&src);
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&ino->lock);
	unsigned gen = ino->data_gen;
	pthread_mutex_unlock(&ino->lock);
	struct data_io io;
	data_fd_install(ovl, ino, fd, O_RDWR, UPPER, gen, true, &io);
	data_io_done(&io);
	return 0;
}

/* The fd to change INO's data through: without a handle, the file is copied up now (unless
 * the inode's fd is on upper data already). */
static int write_io(struct ovl *ovl, struct ovl_inode *ino, struct fuse_file_info *fi,
		    struct data_io *io)
{
	io->fd = -1;
	io->own = false;
	io->held = NULL;
	if (handle_of(fi)) {
		io->fd = ops_file_fd(fi);
		io->layer = UPPER;
		return 0;
	}
	/* The file is being written: its write fd is on upper data, which never moves again,
	 * so there is nothing to copy up and the fd is never stale. One lock, no other check. */
	if ((io->fd = writefds_take(ino)) >= 0) {
		io->layer = UPPER;
		io->held = ino;
		return 0;
	}
	if (ops_file_cached_fd(ino, true) >= 0)
		return data_io_get(ovl, ino, NEED_WRITE, false, io);
	if (ovl->read_only)
		return -EROFS;
	bool upper_data = inode_layer(ino) == UPPER && !__atomic_load_n(&ino->metacopy,
									__ATOMIC_ACQUIRE);
	int r;
	if (upper_data || inode_has_name(ino)) {
		r = copyup(ovl, ino);
	} else {
		pthread_mutex_lock(&ino->copyup_lock);
		r = ops_file_cached_fd(ino, true) >= 0 ? 0 : copy_orphan(ovl, ino);
		pthread_mutex_unlock(&ino->copyup_lock);
	}
	return r < 0 ? r : data_io_get(ovl, ino, NEED_WRITE, false, io);
}

int ops_file_open_upper(struct ovl *ovl, struct ovl_inode *ino)
{
	struct data_io io;
	int r = write_io(ovl, ino, NULL, &io);
	if (r < 0)
		return r;
	if (io.own)
		return io.fd;
	r = fcntl(io.fd, F_DUPFD_CLOEXEC, 0);
	if (r < 0)
		r = -errno;
	data_io_done(&io);
	return r;
}

void op_read(fuse_req_t req, fuse_ino_t n, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct ovl *ovl = req_ovl(req);
	struct data_io io;
	int r = read_io(ovl, node(ovl, n), fi, &io);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	/* Through io_uring the data is copied into the entry's payload whatever we do (there is no
	 * splice into a ring), so it is read straight there: no pipe, no second copy. */
	char *space = uring_reply_space(size);
	if (space) {
		ssize_t got = pread(io.fd, space, size, off);
		if (got < 0)
			fuse_reply_err(req, errno);
		else
			fuse_reply_buf(req, space, (size_t)got);
		data_io_done(&io);
		return;
	}
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = io.fd;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, 0);
	data_io_done(&io);
}

/* Data written earlier failed to reach INO's file on LAYER, as SYSCALL (fsync, fdatasync,
 * close) in OP reports: the errno the application is to see. A full disk or quota is the
 * application's to report, and so is a file system that cannot sync (EINVAL) or went
 * read-only (EROFS): they pass unchanged, as ever. Anything else (EIO of the upper's disk)
 * is named in the log, since the application's own message cannot say which layer failed. */
static int sync_failed(struct ovl *ovl, struct ovl_inode *ino, int layer, const char *op,
		       const char *syscall, int e)
{
	if (e == ENOSPC || e == EDQUOT || e == EINVAL || e == EROFS)
		return e;
	return -ovl_fail(ovl, op, ino, NULL, layer, syscall, e);
}

/* Write-behind: a run of sequential writes to one file is handed to the upper's disk in
 * steps of WRITE_BEHIND_STEP as it goes, so that an fsync at the end (a package manager, a
 * database, `dd conv=fsync`) finds most of it written; files smaller than a step never are.
 * The hand-over (SYNC_FILE_RANGE_WRITE: start writeback, do not wait for it) is made after
 * the reply, so the writer does not wait for it, and one at a time per file, so a slow disk
 * holds up at most one of our threads per file; the kernel's own dirty-page limits still
 * decide how far ahead of the disk a writer may get. Each time a run passes a multiple of
 * WRITE_BEHIND_SYNC, the hand-over also fdatasyncs the file: the disk's own cache is then
 * emptied while the writer goes on, instead of all at the final fsync (1 GiB + fsync: the
 * fsync took 0.46-0.48 s without, 0.06-0.14 s with). Copy-up hands its data over in steps
 * the same way within one copy (copydata.c); this one keeps its state in the inode, since a
 * run spans many requests.
 * doc/daemon.md, "Write-behind". */
#define WRITE_BEHIND_STEP (8 << 20)
#define WRITE_BEHIND_SYNC (64 << 20)

struct write_behind {
	struct ovl_inode *ino; /* referenced until the hand-over is done */
	int fd;		       /* a duplicate: the file may be released meanwhile */
	off_t start, len;
	bool durable; /* fdatasync too: the run passed a multiple of WRITE_BEHIND_SYNC */
};

/* FSYNCs waiting for a hand-over to end. One lock and condition for all inodes, not one per
 * inode: a mutex in each of 84,000 inodes was 3.7 MiB of the daemon's memory after a `stat`
 * of a source tree, and a wait happens only when an fsync meets a hand-over under way. */
static pthread_mutex_t wb_wait_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wb_wait_done = PTHREAD_COND_INITIALIZER;
/* Hand-overs running on threads of their own (write_behind_apart), under wb_wait_lock. */
static unsigned wb_apart;

static void write_behind_end(struct ovl_inode *ino)
{
	pthread_mutex_lock(&wb_wait_lock);
	__atomic_store_n(&ino->wb_busy, false, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&wb_wait_done);
	pthread_mutex_unlock(&wb_wait_lock);
}

/* Wait until no hand-over of INO is under way; what it owes (wb_err) is then stored. */
static void write_behind_wait(struct ovl_inode *ino)
{
	if (!__atomic_load_n(&ino->wb_busy, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&wb_wait_lock);
	while (__atomic_load_n(&ino->wb_busy, __ATOMIC_ACQUIRE))
		pthread_cond_wait(&wb_wait_done, &wb_wait_lock);
	pthread_mutex_unlock(&wb_wait_lock);
}

/* Note a write of N bytes at OFF to INO through FD; true when WB holds a hand-over to make. */
static bool write_behind_due(struct ovl *ovl, struct ovl_inode *ino, int fd, off_t off,
			     size_t n, struct write_behind *wb)
{
	off_t end = off + (off_t)n;
	if (__atomic_exchange_n(&ino->wb_end, end, __ATOMIC_RELAXED) != off) {
		/* not where the last write ended: a new run starts after this write */
		__atomic_store_n(&ino->wb_start, end, __ATOMIC_RELAXED);
		return false;
	}
	off_t start = __atomic_load_n(&ino->wb_start, __ATOMIC_RELAXED);
	if (start > end || end - start < WRITE_BEHIND_STEP ||
	    __atomic_exchange_n(&ino->wb_busy, true, __ATOMIC_ACQUIRE))
		return false;
	wb->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (wb->fd < 0) { /* out of fds: the kernel's flusher writes it later, as without us */
		write_behind_end(ino);
		return false;
	}
	__atomic_store_n(&ino->wb_start, end, __ATOMIC_RELAXED);
	inode_ref(&ovl->table, ino);
	wb->ino = ino;
	wb->start = start;
	wb->len = end - start;
	wb->durable = ovl->fsync && end / WRITE_BEHIND_SYNC != start / WRITE_BEHIND_SYNC;
	return true;
}

static void write_behind_run(struct ovl *ovl, struct write_behind *wb)
{
	/* Errors surface where they always do: at the fsync, or in the flusher's log. */
	sync_file_range(wb->fd, wb->start, wb->len, SYNC_FILE_RANGE_WRITE);
	if (wb->durable) {
		/* On an open file of our own, so that fds opened on the file before keep their
		 * claim on a write error; one the FSYNC opens later has none, because this call
		 * marks the error seen: it is kept in the inode for the next FSYNC. Unable to open
		 * a file (no /proc), the writer's own fsync does all the work, as before. */
		int acc, own = fd_reopen(wb->fd, O_RDWR, &acc);
		if (own >= 0) {
			int e = fdatasync(own) < 0 ? errno : 0;
			if (e)
				__atomic_store_n(&wb->ino->wb_err,
						 sync_failed(ovl, wb->ino, UPPER, "write-behind",
							     "fdatasync", e),
						 __ATOMIC_RELEASE);
			close(own);
		}
	}
	close(wb->fd);
	write_behind_end(wb->ino);
	inode_unref(ovl, wb->ino);
}

struct write_behind_job {
	struct ovl *ovl;
	struct write_behind wb;
};

static void *write_behind_thread(void *arg)
{
	struct write_behind_job *job = arg;
	write_behind_run(job->ovl, &job->wb);
	free(job);
	pthread_mutex_lock(&wb_wait_lock);
	wb_apart--;
	pthread_cond_broadcast(&wb_wait_done);
	pthread_mutex_unlock(&wb_wait_lock);
	return NULL;
}

/* A request that came through io_uring is answered when its handler returns, and the next
 * request may already wait for the same entry (uring.c): its hand-over runs on a thread of
 * its own, so the writer does not wait for the disk. Done here when no thread can start. */
static void write_behind_apart(struct ovl *ovl, struct write_behind *wb)
{
	struct write_behind_job *job = malloc(sizeof(*job));
	pthread_attr_t attr;
	pthread_t th;
	if (job && pthread_attr_init(&attr) == 0) {
		job->ovl = ovl;
		job->wb = *wb;
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		/* Not on the queue's CPU only, where it would compete with the queue. */
		uring_unpinned(&attr);
		pthread_mutex_lock(&wb_wait_lock);
		wb_apart++;
		pthread_mutex_unlock(&wb_wait_lock);
		bool started = pthread_create(&th, &attr, write_behind_thread, job) == 0;
		pthread_attr_destroy(&attr);
		if (started)
			return;
		pthread_mutex_lock(&wb_wait_lock);
		wb_apart--;
		pthread_mutex_unlock(&wb_wait_lock);
	}
	free(job);
	write_behind_run(ovl, wb);
}

void ops_file_shutdown(void)
{
	pthread_mutex_lock(&wb_wait_lock);
	while (wb_apart)
		pthread_cond_wait(&wb_wait_done, &wb_wait_lock);
	pthread_mutex_unlock(&wb_wait_lock);
	while (open_handles)
		handle_free(container_of(open_handles, struct ovl_file, open_link));
}

void op_write_buf(fuse_req_t req, fuse_ino_t n, struct fuse_bufvec *in, off_t off,
		  struct fuse_file_info *fi)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_inode *ino = node(ovl, n);
	struct data_io io;
	int r = write_io(ovl, ino, fi, &io);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = io.fd;
	out.buf[0].pos = off;
	/* A write by a caller without CAP_FSETID (devio.c) to a file with setuid/setgid bits. */
	bool kill = ovl->killpriv_v2 && devio_request_kills_suidgid() &&
		    ops_has_suidgid(ovl, ino, io.fd);
	ssize_t w = fuse_buf_copy(&out, in, 0);
	if (w > 0 && kill) {
		r = ops_kill_suidgid(ovl, ino, io.fd, n);
		if (r < 0)
			w = r;
	}
	struct write_behind wb;
	bool behind = w > 0 && write_behind_due(ovl, ino, io.fd, off, (size_t)w, &wb);
	data_io_done(&io);
	if (w < 0) {
		int e = (int)-w;
		/* A full disk or quota is the application's to report; anything else (EIO of the
		 * upper's disk included) is named here. */
		if (e != ENOSPC && e != EDQUOT && e != EFBIG)
			e = -ovl_fail(ovl, "write", ino, NULL, UPPER, "pwrite", e);
		fuse_reply_err(req, e);
	} else {
		fuse_reply_write(req, (size_t)w);
	}
	if (behind && uring_serving())
		write_behind_apart(ovl, &wb);
	else if (behind)
		write_behind_run(ovl, &wb);
}

void op_flush(fuse_req_t req, fuse_ino_t n, struct fuse_file_info *fi)
{
	/* A file the kernel opened alone (no_open): it has nothing to report at close, and
	 * ENOSYS stops FLUSH for the rest of the mount. */
	if (!handle_of(fi)) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	/* close() of a duplicate reports deferred write errors (NFS-like uppers) to the app.
	 * When we have no fd to spare for the duplicate (EMFILE/ENFILE) there is nothing to
	 * report: the application's close() must not fail for a limit of ours, which it would
	 * read as lost data. */
	int fd = dup(ops_file_fd(fi));
	int r = 0;
	if (fd >= 0 && close(fd) < 0) {
		struct ovl *ovl = req_ovl(req);
		int layer = __atomic_load_n(&handle_of(fi)->layer, __ATOMIC_ACQUIRE);
		r = sync_failed(ovl, node(ovl, n), layer, "flush", "close", errno);
	}
	fuse_reply_err(req, r);
}

void op_release(fuse_req_t req, fuse_ino_t n, struct fuse_file_info *fi)
{
	(void)n;
	struct ovl_file *f = handle_of(fi);
	if (f)
		handle_free(f);
	if (req)
		fuse_reply_err(req, 0);
}

void op_fsync(fuse_req_t req, fuse_ino_t n, int datasync, struct fuse_file_info *fi)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_inode *ino = node(ovl, n);
	struct data_io io = { .fd = -1 };
	int r = 0;
	/* Data never copied up has nothing of ours to sync. */
	if (handle_of(fi) || (inode_layer(ino) == UPPER && !__atomic_load_n(&ino->metacopy,
									     __ATOMIC_ACQUIRE)))
		r = read_io(ovl, ino, fi, &io);
	if (r < 0) { /* no fd (EMFILE, say): nothing synced, and nothing owed is taken */
		fuse_reply_err(req, -r);
		return;
	}
	if (io.fd >= 0 && (datasync ? fdatasync(io.fd) : fsync(io.fd)) < 0)
		r = -sync_failed(ovl, ino, io.layer, "fsync", datasync ? "fdatasync" : "fsync",
				 errno);
	data_io_done(&io);
	/* An error only write-behind's fdatasync was told of is this FSYNC's to report, once
	 * (also when this sync failed itself: it is the same lost data). Wait for one under way:
	 * it may have marked the error seen before our fd was opened and not yet said so. */
	write_behind_wait(ino);
	int owed = __atomic_exchange_n(&ino->wb_err, 0, __ATOMIC_ACQ_REL);
	if (r == 0 && owed)
		r = -owed;
	/* A copy-up still recorded as unsynced would be undone after a crash: the data this
	 * fsync promises must not go with it. */
	if (r == 0)
		r = pending_settle(ovl, ino);
	fuse_reply_err(req, -r);
}

void op_fallocate(fuse_req_t req, fuse_ino_t n, int mode, off_t off, off_t len,
		  struct fuse_file_info *fi)
{
	struct ovl *ovl = req_ovl(req);
	struct data_io io;
	int r = write_io(ovl, node(ovl, n), fi, &io);
	if (r == 0 && fallocate(io.fd, mode, off, len) < 0)
		r = -errno;
	data_io_done(&io);
	fuse_reply_err(req, -r);
}

void op_lseek(fuse_req_t req, fuse_ino_t n, off_t off, int whence, struct fuse_file_info *fi)
{
	struct ovl *ovl = req_ovl(req);
	struct data_io io;
	int r = read_io(ovl, node(ovl, n), fi, &io);
	off_t res = r < 0 ? -1 : lseek(io.fd, off, whence);
	if (r == 0 && res < 0)
		r = -errno;
	data_io_done(&io);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_lseek(req, res);
}

void op_copy_file_range(fuse_req_t req, fuse_ino_t in, off_t off_in, struct fuse_file_info *fi_in,
			fuse_ino_t out, off_t off_out, struct fuse_file_info *fi_out, size_t len,
			int flags)
{
	struct ovl *ovl = req_ovl(req);
	struct data_io src, dst = { .fd = -1 };
	int r = read_io(ovl, node(ovl, in), fi_in, &src);
	if (r == 0)
		r = write_io(ovl, node(ovl, out), fi_out, &dst);
	loff_t a = off_in, b = off_out;
	ssize_t n = r < 0 ? -1 : copy_file_range(src.fd, &a, dst.fd, &b, len, (unsigned)flags);
	if (r == 0 && n < 0)
		r = -errno;
	data_io_done(&src);
	data_io_done(&dst);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, (size_t)n);
}
