/* Small resource-management helpers shared by every Antares program.
 * The cleanup attribute lets a function return from anywhere without leaking fds or memory;
 * TAKE_FD/TAKE_PTR hand ownership to the caller explicitly. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define _cleanup_close_ __attribute__((cleanup(closep)))
#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_closedir_ __attribute__((cleanup(closedirp)))

#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd_ = (fd);                                                                   \
		(fd) = -1;                                                                         \
		_fd_;                                                                              \
	})

#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p_ = (p);                                                           \
		(p) = NULL;                                                                        \
		_p_;                                                                               \
	})

/* Retry a syscall expression interrupted by a signal. */
#define RETRY_EINTR(expr)                                                                          \
	({                                                                                         \
		long _r_;                                                                          \
		do                                                                                 \
			_r_ = (long)(expr);                                                        \
		while (_r_ < 0 && errno == EINTR);                                                 \
		_r_;                                                                               \
	})

/* Negative errno of the last failed call, never 0 (so a caller can't mistake it for success). */
static inline int negerrno(void)
{
	return errno > 0 ? -errno : -EIO;
}
