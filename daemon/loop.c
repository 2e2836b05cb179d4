/* The request loop. libfuse's multi-threaded loop keeps one spare thread blocked on /dev/fuse
 * at all times, and the kernel hands each request to the thread that has waited longest, so a
 * chain of requests from one process (the five of an SQLite commit, the open-read-close of a
 * header) hops from thread to thread and CPU to CPU: in a VM, a wake-up of an idle CPU each
 * time. Here one thread at a time holds the turn to read; after reading a request it keeps the
 * turn, answers the request and reads the next one itself, like a single-threaded loop,
 * unless the request may take long (a copy-up, an fsync; see ops_request_is_quick) or others
 * are already waiting in the kernel: then it passes the turn to an idle thread (or starts
 * one) before it works, so that slow requests never hold up the rest. */
#include <errno.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "loop.h"

struct worker {
	pthread_t thread;
	struct worker *next;
};

struct loop {
	struct fuse_session *se;
	struct ovl *ovl;
	pthread_mutex_t lock;
	pthread_cond_t turn; /* idle threads wait here for the turn to read */
	bool reading;        /* a thread holds the turn */
	bool done;
	int threads, idle, max_threads;
	int error; /* a failed read of /dev/fuse that ended the loop, -errno */
	struct worker *workers;
	sem_t finished; /* posted by a thread that saw the session end */
};

static int start_worker(struct loop *lp);

/* Others' requests already queued in the kernel? Then this one is not processed inline. */
static bool more_pending(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

static bool keep_turn(struct loop *lp, const struct fuse_buf *buf)
{
	if ((buf->flags & FUSE_BUF_IS_FD) || buf->size < sizeof(struct fuse_in_header))
		return false;
	const struct fuse_in_header *h = buf->mem;
	return ops_request_is_quick(lp->ovl, h->opcode, h->nodeid, h + 1,
				    buf->size - sizeof(*h)) &&
	       !more_pending(fuse_session_fd(lp->se));
}

static void free_buf(void *buf)
{
	free(((struct fuse_buf *)buf)->mem);
}

static void *work(void *arg)
{
	struct loop *lp = arg;
	struct fuse_buf buf = { .mem = NULL };
	bool mine = false; /* this thread holds the turn */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_mutex_lock(&lp->lock);
	for (;;) {
		while (!mine && lp->reading && !lp->done) {
			lp->idle++;
			pthread_cond_wait(&lp->turn, &lp->lock);
			lp->idle--;
		}
		if (lp->done)
			break;
		lp->reading = mine = true;
		pthread_mutex_unlock(&lp->lock);
		/* Only the read may be cancelled (at the end, the turn holder waits in it). */
		int r;
		pthread_cleanup_push(free_buf, &buf);
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		r = fuse_session_receive_buf(lp->se, &buf);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		pthread_cleanup_pop(0);
		pthread_mutex_lock(&lp->lock);
		if (r == -EINTR && !fuse_session_exited(lp->se))
			continue;
		if (r <= 0 || fuse_session_exited(lp->se)) {
			/* 0: unmounted (libfuse marks the session exited); a signal's handler did too */
			if (r < 0 && r != -EINTR && !lp->error)
				lp->error = r;
			fuse_session_exit(lp->se);
			lp->done = true;
			pthread_cond_broadcast(&lp->turn);
			sem_post(&lp->finished);
			break;
		}
		if (!keep_turn(lp, &buf)) {
			lp->reading = mine = false;
			if (lp->idle > 0)
				pthread_cond_signal(&lp->turn);
			else if (lp->threads < lp->max_threads && start_worker(lp) < 0 && lp->threads == 1)
				lp->reading = mine = true; /* no second thread: carry on alone */
		}
		pthread_mutex_unlock(&lp->lock);
		fuse_session_process_buf(lp->se, &buf);
		pthread_mutex_lock(&lp->lock);
	}
	pthread_mutex_unlock(&lp->lock);
	free(buf.mem);
	return NULL;
}

/* With lp->lock held. */
static int start_worker(struct loop *lp)
{
	struct worker *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	/* Workers need no signals: the handlers' work (ending the session) is the main thread's. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = pthread_create(&w->thread, NULL, work, lp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		free(w);
		log_warning("cannot start another request thread (%d running): %s", lp->threads,
			    strerror(r));
		return -r;
	}
	w->next = lp->workers;
	lp->workers = w;
	lp->threads++;
	return 0;
}

int loop_run(struct fuse_session *se, struct ovl *ovl, int max_threads)
{
	struct loop lp = { .se = se, .ovl = ovl, .max_threads = max_threads };
	pthread_mutex_init(&lp.lock, NULL);
	pthread_cond_init(&lp.turn, NULL);
	sem_init(&lp.finished, 0, 0);
	pthread_mutex_lock(&lp.lock);
	int r = start_worker(&lp);
	pthread_mutex_unlock(&lp.lock);
	if (r < 0)
		return r;
	/* Signals (SIGTERM, SIGINT, SIGHUP) arrive here: libfuse's handlers mark the session
	 * exited, and the wait returns with EINTR. */
	while (!fuse_session_exited(se))
		sem_wait(&lp.finished);
	pthread_mutex_lock(&lp.lock);
	lp.done = true;
	pthread_cond_broadcast(&lp.turn);
	/* The turn holder may be blocked reading /dev/fuse; nothing else is cancellable. */
	for (struct worker *w = lp.workers; w; w = w->next)
		pthread_cancel(w->thread);
	pthread_mutex_unlock(&lp.lock);
	while (lp.workers) {
		struct worker *w = lp.workers;
		pthread_join(w->thread, NULL);
		lp.workers = w->next;
		free(w);
	}
	pthread_cond_destroy(&lp.turn);
	pthread_mutex_destroy(&lp.lock);
	sem_destroy(&lp.finished);
	return lp.error;
}
