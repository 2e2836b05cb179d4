/* Moving file data into a new copy: reflink when the filesystem can, else copy_file_range,
 * else read/write; only the data extents are copied, so holes stay holes on every path. */
#include "copydata.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../common/macros.h"

/* One buffer per worker thread, freed when the thread ends (libfuse ends idle workers and
 * cancels them all at unmount; a plain __thread pointer leaked 1 MiB per thread). */
static pthread_key_t buf_key;
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;

static void buf_key_init(void)
{
	pthread_key_create(&buf_key, free);
}

static int copy_range_rw(int in, int out, off_t off, off_t end)
{
	const size_t bufsz = 1 << 20;
	pthread_once(&buf_once, buf_key_init);
	char *buf = pthread_getspecific(buf_key);
	if (!buf) {
		if (!(buf = malloc(bufsz)))
			return -ENOMEM;
		pthread_setspecific(buf_key, buf);
	}
	while (off < end) {
		size_t want = (size_t)(end - off) < bufsz ? (size_t)(end - off) : bufsz;
		ssize_t n = RETRY_EINTR(pread(in, buf, want, off));
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* file shrank: nothing more to copy */
		for (ssize_t done = 0; done < n;) {
			ssize_t w = RETRY_EINTR(pwrite(out, buf + done, (size_t)(n - done), off + done));
			if (w < 0)
				return -errno;
			done += w;
		}
		off += n;
	}
	return 0;
}

/* Data that will be fsync'ed is handed to the disk in steps of this size as the copy goes,
 * so that writing it overlaps with copying the rest instead of all waiting for the fsync.
 * Writes through the mount get the same across requests (write-behind, ops_file.c). */
#define WRITEBACK_STEP (32 << 20)

/* Copy [off, end) trying copy_file_range (in-kernel, may share extents) first. */
static int copy_range(int in, int out, off_t off, off_t end, bool *use_cfr, bool durable)
{
	while (*use_cfr && off < end) {
		loff_t a = off, b = off;
		size_t len = (size_t)(end - off);
		if (durable && len > WRITEBACK_STEP)
			len = WRITEBACK_STEP;
		ssize_t n = copy_file_range(in, &a, out, &b, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
			    errno == EOPNOTSUPP) {
				*use_cfr = false;
				break;
			}
			return -errno;
		}
		if (n == 0)
			return 0;
		if (durable) /* start writing it out; errors surface at the fsync */
			sync_file_range(out, off, n, SYNC_FILE_RANGE_WRITE);
		off += n;
	}
	return copy_range_rw(in, out, off, end);
}

/* Data of a regular file, holes preserved: reflink when the filesystem can, else copy only
 * the data extents SEEK_DATA/SEEK_HOLE report and leave the rest as holes. */
int copy_data(int in, int out, off_t size, bool durable, const char **syscall)
{
	*syscall = "ioctl(FICLONE)";
	if (ioctl(out, FICLONE, in) == 0)
		return 0;
	bool use_cfr = true;
	off_t off = 0;
	while (off < size) {
		*syscall = "lseek(SEEK_DATA)";
		off_t data = lseek(in, off, SEEK_DATA);
		if (data < 0) {
			if (errno == ENXIO)
				break; /* only a hole remains */
			if (errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS)
				return -errno;
			data = off; /* no hole support: copy everything */
			*syscall = "read/write";
			int r = copy_range(in, out, data, size, &use_cfr, durable);
			if (r < 0)
				return r;
			break;
		}
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0 || hole > size)
			hole = size;
		*syscall = "copy_file_range";
		int r = copy_range(in, out, data, hole, &use_cfr, durable);
		if (r < 0)
			return r;
		off = hole;
	}
	*syscall = "ftruncate";
	return ftruncate(out, size) < 0 ? -errno : 0;
}

