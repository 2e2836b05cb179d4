/* FUSE requests over io_uring (Linux 6.14 and later, when the fuse module's enable_uring is
 * set): a queue per CPU, served by threads that stay on that CPU (uring.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "ovl.h"

/* FUSE_OVER_IO_URING of the INIT flags, in the flags2 word (bit 41 of the 64-bit flags). */
#define URING_INIT_FLAG2 (1u << 9)

/* Install the signal that wakes the queues' threads when the daemon stops, and block it in
 * the calling thread and every thread it starts; call before libfuse's loop starts. */
void uring_setup_signal(void);

/* Get ready before the INIT reply offers io_uring on the session's device DEVFD: false when
 * this process cannot use it (io_uring turned off or forbidden, the CPUs unknown, no
 * descriptor left), and the reply must not offer it. */
bool uring_prepare(int devfd);

/* Start the queues' threads; called once the kernel has taken our INIT reply with the flag.
 * PAYLOAD: the size of the largest request. Returns 0, or a negative errno (the mount then
 * goes on through /dev/fuse alone). */
int uring_start(struct ovl *ovl, size_t payload);

/* When the daemon stops: wake the queues' threads and wait for them to end (a few seconds at
 * most). False when some are still serving a request: what they use must then be left. */
bool uring_stop(void);

/* Let a thread to be started with ATTR run on every CPU the daemon may use, not only the
 * queue's CPU of the thread that starts it. */
void uring_unpinned(pthread_attr_t *attr);

/* When this thread is processing a request that came through a queue, take its reply:
 * returns true when the reply (out header in iov[0]) was for that request and is stored. */
bool uring_take_reply(const struct iovec *iov, int count);

/* The same for a reply that libfuse spliced into a pipe: LEN bytes from PIPEFD. Returns the
 * bytes taken, 0 when the thread is not processing such a request, or -1 with errno. */
ssize_t uring_take_spliced_reply(int pipefd, size_t len);

/* Whether this thread is processing a request that came through io_uring. */
bool uring_serving(void);

/* Where a reply of LEN bytes of data to the request this thread is processing lands, when it
 * came through io_uring: data read straight there and passed back to fuse_reply_buf is not
 * copied again. Page-aligned, so O_DIRECT reads may use it. NULL otherwise, or when LEN does
 * not fit. */
void *uring_reply_space(size_t len);
