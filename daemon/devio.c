/* Our own reads and writes of /dev/fuse (libfuse's custom I/O hook), for two things libfuse
 * 3.14 does not pass on to the kernel: FUSE_HANDLE_KILLPRIV_V2 and FUSE_PARALLEL_DIROPS.
 *
 * KILLPRIV_V2. Without it the kernel asks us for security.capability before every write to a
 * file (a GETXATTR round trip per write: two of the five requests of an SQLite commit). With
 * it the kernel remembers that a file has nothing to kill, and instead tells us, in a flag of
 * the request, when a write, truncation or change of owner by a caller without CAP_FSETID
 * must clear the setuid and setgid bits; the capability attribute of an upper file the host
 * kernel clears itself when we write, truncate or chown it. libfuse drops those flags, so they
 * are read here from the raw request and kept for the thread that processes it: libfuse reads
 * a request and processes it on the same thread.
 *
 * PARALLEL_DIROPS. libfuse 3.14 asks for it by default (FUSE_CAP_PARALLEL_DIROPS is in
 * conn->want) but never puts the flag into its INIT reply, so the kernel took a lock on the
 * directory around every LOOKUP and READDIR in it: one lookup in a directory at a time, and
 * one that waited for a slow lower layer held up every other lookup in that directory
 * (stuck-lower.sh). Lookups and listings of one directory may run in parallel here: a lookup
 * changes nothing of its directory (the inode table settles two lookups of one object,
 * inode_insert), listings keep their own lock (ops_dir.c), and the kernel still excludes
 * them while the directory changes (create, unlink, rename take its lock exclusively). */
#include <errno.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devio.h"
#include "uring.h"

static __thread bool request_kills_suidgid;
/* The INIT request's id and what the kernel offered; the reply is patched. */
static uint64_t init_unique;
static bool init_offers_killpriv_v2, init_offers_parallel_dirops, init_offers_uring;

bool devio_request_kills_suidgid(void)
{
	return request_kills_suidgid;
}

/* The 32-bit field at OFF of the request's argument, if the request is that long. */
static bool arg_u32(const void *buf, size_t len, size_t off, uint32_t *v)
{
	if (len < sizeof(struct fuse_in_header) + off + sizeof(*v))
		return false;
	memcpy(v, (const char *)buf + sizeof(struct fuse_in_header) + off, sizeof(*v));
	return true;
}

/* Where each request that can carry it keeps the kernel's "clear setuid and setgid" flag. */
static const struct {
	uint32_t opcode;
	size_t offset; /* of the 32-bit field in the request's argument */
	uint32_t flag;
} kill_flags[] = {
	{ FUSE_WRITE, offsetof(struct fuse_write_in, write_flags), FUSE_WRITE_KILL_SUIDGID },
	{ FUSE_SETATTR, offsetof(struct fuse_setattr_in, valid), FATTR_KILL_SUIDGID },
	{ FUSE_OPEN, offsetof(struct fuse_open_in, open_flags), FUSE_OPEN_KILL_SUIDGID },
};

void devio_note_request(const void *buf, size_t len)
{
	struct fuse_in_header h;
	uint32_t v = 0;
	request_kills_suidgid = false;
	if (len < sizeof(h))
		return;
	memcpy(&h, buf, sizeof(h));
	if (h.opcode == FUSE_INIT && arg_u32(buf, len, offsetof(struct fuse_init_in, flags), &v)) {
		init_unique = h.unique;
		init_offers_killpriv_v2 = v & FUSE_HANDLE_KILLPRIV_V2;
		init_offers_parallel_dirops = v & FUSE_PARALLEL_DIROPS;
		uint32_t v2 = 0;
		init_offers_uring = (v & FUSE_INIT_EXT) &&
				    arg_u32(buf, len, offsetof(struct fuse_init_in, flags2), &v2) &&
				    (v2 & URING_INIT_FLAG2);
		return;
	}
	for (size_t i = 0; i < sizeof(kill_flags) / sizeof(kill_flags[0]); i++)
		if (h.opcode == kill_flags[i].opcode) {
			request_kills_suidgid = arg_u32(buf, len, kill_flags[i].offset, &v) &&
						(v & kill_flags[i].flag);
			return;
		}
}

static ssize_t dev_read(int fd, void *buf, size_t len, void *userdata)
{
	(void)userdata;
	ssize_t n = read(fd, buf, len);
	if (n > 0)
		devio_note_request(buf, (size_t)n);
	return n;
}

static ssize_t iov_total(const struct iovec *iov, int count)
{
	ssize_t n = 0;
	for (int i = 0; i < count; i++)
		n += (ssize_t)iov[i].iov_len;
	return n;
}

static ssize_t dev_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct ovl *ovl = userdata;
	size_t uring_payload = 0;
	if (uring_take_reply(iov, count))
		return iov_total(iov, count);
	if (init_unique && count >= 2 && iov[0].iov_len >= sizeof(struct fuse_out_header) &&
	    iov[1].iov_len >= offsetof(struct fuse_init_out, flags) + sizeof(uint32_t)) {
		struct fuse_out_header *o = iov[0].iov_base;
		if (o->unique == init_unique) {
			init_unique = 0;
			struct fuse_init_out *out = iov[1].iov_base;
			if (o->error == 0 && init_offers_killpriv_v2) {
				out->flags |= FUSE_HANDLE_KILLPRIV_V2;
				ovl->killpriv_v2 = true;
			}
			if (o->error == 0 && init_offers_parallel_dirops)
				out->flags |= FUSE_PARALLEL_DIROPS;
			if (o->error == 0 && ovl->io_uring && init_offers_uring &&
			    iov[1].iov_len >= offsetof(struct fuse_init_out, flags2) + sizeof(uint32_t) &&
			    uring_prepare(fd)) {
				out->flags |= FUSE_INIT_EXT;
				out->flags2 |= URING_INIT_FLAG2;
				/* The kernel wants an entry to hold its largest request. */
				size_t page = (size_t)sysconf(_SC_PAGESIZE);
				uring_payload = out->max_write;
				if (out->max_pages * page > uring_payload)
					uring_payload = out->max_pages * page;
				if (uring_payload < FUSE_MIN_READ_BUFFER)
					uring_payload = FUSE_MIN_READ_BUFFER;
			}
		}
	}
	ssize_t n = writev(fd, iov, count);
	if (n >= 0 && uring_payload)
		uring_start(ovl, uring_payload);
	return n;
}

/* Replies with file data (reads) are spliced from the backing file, as without the hook. */
static ssize_t dev_splice_send(int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
			       unsigned int flags, void *userdata)
{
	(void)userdata;
	ssize_t n = uring_take_spliced_reply(fdin, len);
	if (n != 0)
		return n;
	return splice(fdin, offin, fdout, offout, len, flags);
}

int devio_attach(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.read = dev_read,
		.writev = dev_writev,
		.splice_send = dev_splice_send,
	};
	int r = fuse_session_custom_io(se, &io, fuse_session_fd(se));
	return r < 0 ? r : 0;
}
