/* Write fds kept while a file is being written (writefds.h). Inodes holding one are on a list
 * the closing thread walks; lock order: the list's lock, then the inode's. */
#include "writefds.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct write_fds {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct ovl_inode *head;
	pthread_t thread;
	bool started, stop;
};

static struct write_fds wfds = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

static long now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long)ts.tv_sec;
}

int writefds_take(struct ovl_inode *ino)
{
	pthread_mutex_lock(&ino->lock);
	int fd = ino->write_fd;
	if (fd >= 0)
		ino->write_users++;
	pthread_mutex_unlock(&ino->lock);
	return fd;
}

void writefds_put(struct ovl_inode *ino)
{
	pthread_mutex_lock(&ino->lock);
	ino->write_users--;
	ino->write_used = now_seconds();
	pthread_mutex_unlock(&ino->lock);
}

static void unlink_locked(struct ovl_inode *ino)
{
	*ino->write_pprev = ino->write_next;
	if (ino->write_next)
		ino->write_next->write_pprev = ino->write_pprev;
	ino->write_next = NULL;
	ino->write_pprev = NULL;
}

/* Close the fds that were not used for WRITE_FD_IDLE_SECONDS, every second. */
static void *closer(void *arg)
{
	struct ovl *ovl = arg;
	pthread_mutex_lock(&wfds.lock);
	while (!wfds.stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&wfds.wake, &wfds.lock, &until);
		long now = now_seconds();
		for (struct ovl_inode *ino = wfds.head, *next; ino; ino = next) {
			next = ino->write_next;
			pthread_mutex_lock(&ino->lock);
			if (ino->write_users == 0 && now - ino->write_used >= WRITE_FD_IDLE_SECONDS) {
				close(ino->write_fd);
				ino->write_fd = -1;
				unlink_locked(ino);
				__atomic_fetch_sub(&ovl->data_fds, 1, __ATOMIC_RELAXED);
			}
			pthread_mutex_unlock(&ino->lock);
		}
	}
	pthread_mutex_unlock(&wfds.lock);
	return NULL;
}

bool writefds_adopt(struct ovl *ovl, struct ovl_inode *ino, int fd)
{
	if (__atomic_load_n(&ovl->data_fds, __ATOMIC_RELAXED) >= ovl->data_fds_max)
		return false;
	pthread_mutex_lock(&wfds.lock);
	if (!wfds.started && !wfds.stop) {
		/* Signals are for libfuse's loop (SIGTERM and friends end the mount). */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		wfds.started = pthread_create(&wfds.thread, NULL, closer, ovl) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	bool adopted = false;
	pthread_mutex_lock(&ino->lock);
	if (wfds.started && ino->write_fd < 0) {
		ino->write_fd = fd;
		ino->write_users = 1;
		ino->write_used = now_seconds();
		ino->write_next = wfds.head;
		if (wfds.head)
			wfds.head->write_pprev = &ino->write_next;
		ino->write_pprev = &wfds.head;
		wfds.head = ino;
		__atomic_fetch_add(&ovl->data_fds, 1, __ATOMIC_RELAXED);
		adopted = true;
	}
	pthread_mutex_unlock(&ino->lock);
	pthread_mutex_unlock(&wfds.lock);
	return adopted;
}

void writefds_drop(struct ovl *ovl, struct ovl_inode *ino)
{
	/* Nothing adopts an fd for an inode being freed, and the closer only clears it: -1 here
	 * stays -1. */
	if (__atomic_load_n(&ino->write_fd, __ATOMIC_RELAXED) < 0)
		return;
	pthread_mutex_lock(&wfds.lock);
	int fd = ino->write_fd;
	if (fd >= 0) {
		unlink_locked(ino);
		ino->write_fd = -1;
	}
	pthread_mutex_unlock(&wfds.lock);
	if (fd >= 0) {
		close(fd);
		__atomic_fetch_sub(&ovl->data_fds, 1, __ATOMIC_RELAXED);
	}
}

void writefds_shutdown(void)
{
	pthread_mutex_lock(&wfds.lock);
	wfds.stop = true;
	pthread_cond_signal(&wfds.wake);
	bool started = wfds.started;
	pthread_mutex_unlock(&wfds.lock);
	if (started)
		pthread_join(wfds.thread, NULL);
}
