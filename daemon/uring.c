/* FUSE requests over io_uring.
 *
 * Through /dev/fuse a request wakes whichever of our threads waits in read(), on whichever
 * CPU, and the reply wakes the caller back: two wake-ups across CPUs per request, which on a
 * virtual machine cost an interrupt through the hypervisor each (untar's 20,000 files took
 * 8.8 s with the daemon and tar free to run anywhere, and 7.0-7.5 s with both held on one
 * CPU). With io_uring the kernel keeps a queue per CPU and hands a request to the queue of
 * the CPU its caller runs on. Our threads of that queue stay on that CPU, so both wake-ups
 * are local, and the reply and the wait for the next request are one system call.
 *
 * The kernel offers it only when the fuse module's enable_uring is set (root's choice), and
 * we take it unless the mount says io_uring=0. Forgets, interrupts and our
 * notifications still go through /dev/fuse, so libfuse's loop keeps running beside us.
 *
 * Each thread owns one ring and one entry of its queue: a header buffer and a payload
 * buffer the kernel fills with a request and reads our reply from. A thread blocked in a
 * slow request holds only its own entry; the queue's other threads go on. Requests reach
 * libfuse as if read from /dev/fuse: the kernel splits a request into its header, the
 * operation's fixed arguments and the rest, and we lay them out again in front of the
 * payload, which is not copied. The reply is taken from libfuse's write to the device
 * (devio.c) by the thread that processes the request: every reply of ours is made before
 * the handler returns.
 *
 * Once the INIT reply says we take requests this way, the kernel holds every request until
 * each CPU's queue has an entry registered. So the INIT reply says so only once a spare ring
 * and a descriptor of our own are made (uring_prepare), and if a queue gets no entry after
 * all, an entry registered on the spare ring for a queue that does not exist makes the
 * kernel give up io_uring for the mount. doc/daemon.md, "Requests over io_uring". */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "devio.h"
#include "ops.h"
#include "uring.h"

/* The ABI of fuse-over-io-uring (FUSE 7.42); the system's linux/fuse.h may predate it. */
enum { CMD_REGISTER = 1, CMD_COMMIT_AND_FETCH = 2 };
struct ent_in_out {
	uint64_t flags;
	uint64_t commit_id; /* the request's unique, given back with the reply */
	uint32_t payload_sz; /* bytes of the payload buffer in use, either way */
	uint32_t padding;
	uint64_t reserved;
};
struct req_header {
	char in_out[128]; /* fuse_in_header of the request, fuse_out_header of the reply */
	char op_in[128];  /* the operation's fixed arguments (fuse_write_in, ...) */
	struct ent_in_out ent;
};
struct cmd_req { /* in the SQE's command area */
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid;
	uint8_t padding[6];
};

#define SQE_SIZE 128 /* IORING_SETUP_SQE128: the command area needs the big entries */
/* Threads per queue at most. A queue keeps a thread waiting besides the one that takes the
 * next request, up to this; libfuse's loop (main.c) goes up to 64 for the whole mount. */
#define THREADS_PER_QUEUE_MAX 16
/* How long the queues' first threads may take to register, in all. */
#define REGISTER_WAIT_S 10
/* How long uring_stop waits for requests being served. */
#define STOP_WAIT_S 5

struct ring {
	int fd;
	void *maps[3]; /* the rings and the SQE array, with their lengths */
	size_t map_len[3];
	unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
	char *sqes;
};

struct queue {
	unsigned qid;
	int cpu;	  /* the CPU its threads stay on, or -1 */
	unsigned threads; /* running (grow_lock) */
	unsigned idle;	  /* threads waiting for a request, or about to (atomic) */
	bool reported;	  /* has told uring_start whether it got an entry (grow_lock) */
	time_t grow_failed; /* when a thread for it last failed to start: growth waits 1 s */
};

struct queue_thread {
	struct queue *q;
	struct ring ring;
	struct req_header *hdr;
	char *payload; /* with room in front for the request's headers */
	char *buf;     /* what payload points into */
	struct iovec iov[2];
	bool floating; /* may run on any of daemon_cpus for now (after a big READ) */
	pthread_t thread;
	struct queue_thread *next; /* all_threads or ended_threads (grow_lock) */
};

static struct ovl *uring_ovl;
static int uring_devfd = -1;
static size_t payload_size;
static struct queue *queues;
static unsigned nqueues;
static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;
static struct queue_thread *all_threads;
/* Threads that have ended but are not yet joined. They are joined, not detached, because
 * libfuse frees a thread's splice pipe in a thread-specific-data destructor: it runs after
 * the thread's function returns, and not at all once fuse_session_destroy has deleted the
 * key. uring_stop joins them before that; spawn reaps them meanwhile. */
static struct queue_thread *ended_threads;
static unsigned live; /* queue threads not yet ended; threads_done is signalled as they end */
static pthread_cond_t threads_done = PTHREAD_COND_INITIALIZER;
/* Made before the INIT reply offers io_uring (uring_prepare): the ring give_up() uses, and
 * the CPUs the daemon may run on. */
static bool prepared;
static struct ring spare_ring;
static cpu_set_t daemon_cpus;
static bool may_float; /* daemon_cpus has two CPUs or more: see pin_for_next */
/* Queues that have not yet told whether they got an entry, and whether one did not; under
 * grow_lock, signalled by registered. */
static unsigned unregistered;
static bool register_failed;
static pthread_cond_t registered = PTHREAD_COND_INITIALIZER;

/* The request this thread is processing, and whether its reply is stored. */
static __thread struct queue_thread *serving;
static __thread uint64_t serving_unique;
static __thread bool replied;

static void ring_close(struct ring *r)
{
	for (int i = 0; i < 3; i++)
		if (r->maps[i] && r->maps[i] != MAP_FAILED)
			munmap(r->maps[i], r->map_len[i]);
	close(r->fd);
}

/* A ring of ENTRIES; SHARED: any thread may submit to it, else only the thread making it. */
static int ring_init(struct ring *r, unsigned entries, bool shared)
{
	struct io_uring_params p = { 0 };
	/* Task work (the kernel filling our entry) runs when we wait for it, not by interrupt. */
	p.flags = IORING_SETUP_SQE128 |
		  (shared ? 0 : IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
	int fd = (int)syscall(__NR_io_uring_setup, entries, &p);
	if (fd < 0 && errno == EINVAL && !shared) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_SQE128;
		fd = (int)syscall(__NR_io_uring_setup, entries, &p);
	}
	if (fd < 0)
		return -errno;
	size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	bool single = p.features & IORING_FEAT_SINGLE_MMAP;
	if (single && cq_len > sq_len)
		sq_len = cq_len;
	char *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
			IORING_OFF_SQ_RING);
	char *cq = single || sq == MAP_FAILED
			   ? sq
			   : mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
				  IORING_OFF_CQ_RING);
	size_t sqes_len = p.sq_entries * SQE_SIZE;
	char *sqes = cq == MAP_FAILED ? MAP_FAILED
				      : mmap(NULL, sqes_len, PROT_READ | PROT_WRITE,
					     MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	*r = (struct ring){ .fd = fd,
			    .maps = { sq, single ? MAP_FAILED : cq, sqes },
			    .map_len = { sq_len, cq_len, sqes_len } };
	if (sqes == MAP_FAILED) {
		int e = errno;
		ring_close(r);
		return -e;
	}
	r->sq_head = (unsigned *)(sq + p.sq_off.head);
	r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(sq + p.sq_off.array);
	r->cq_head = (unsigned *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	r->sqes = sqes;
	return 0;
}

/* Queue a FUSE command for our entry: register it, or commit a reply and fetch the next. */
static void queue_cmd(struct queue_thread *t, uint32_t op, uint64_t commit_id, uint16_t qid)
{
	struct ring *r = &t->ring;
	unsigned tail = *r->sq_tail;
	unsigned idx = tail & *r->sq_mask;
	struct io_uring_sqe *sqe = (struct io_uring_sqe *)(r->sqes + (size_t)idx * SQE_SIZE);
	memset(sqe, 0, SQE_SIZE);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = uring_devfd;
	sqe->cmd_op = op;
	if (op == CMD_REGISTER) {
		sqe->addr = (uintptr_t)t->iov;
		sqe->len = 2;
	}
	struct cmd_req c = { .commit_id = commit_id, .qid = qid };
	memcpy(sqe->cmd, &c, sizeof(c));
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
}

static bool stopping; /* uring_stop: threads end instead of waiting again (atomic) */

/* The signal that wakes a queue thread waiting for a request, when the daemon stops
 * (uring_stop). It is blocked in our threads except during that wait (the wait's signal
 * mask), so it never interrupts a request being served. */
#define WAKE_SIG SIGRTMIN

/* What submit_and_wait returns when WAKE_SIG woke it (a command's result is 0 or -errno). */
#define WOKEN 1

/* The oldest completion's result (0 or -errno for our commands), or 1 when there is none. */
static int cq_pop(struct ring *r)
{
	unsigned head = *r->cq_head;
	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return 1;
	int res = r->cqes[head & *r->cq_mask].res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

/* Submit what is queued and wait for a completion; returns its result, WOKEN, or a negative
 * errno of the wait itself. WAIT_MASK: the thread's signal mask without WAKE_SIG. Transient
 * refusals (no memory for the submission, a full completion queue) are retried. */
static int submit_and_wait(struct ring *r, const sigset_t *wait_mask)
{
	for (;;) {
		int res = cq_pop(r);
		if (res <= 0)
			return res;
		unsigned pending = *r->sq_tail - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
		/* Woken while it also submitted, the call succeeds: the flag says it all the
		 * same. */
		if (!pending && __atomic_load_n(&stopping, __ATOMIC_ACQUIRE))
			return WOKEN;
		/* The kernel's sigset is 64 bits: the first 8 bytes of ours. */
		if (syscall(__NR_io_uring_enter, r->fd, pending, 1, IORING_ENTER_GETEVENTS, wait_mask,
			    (size_t)8) < 0) {
			if (errno == EINTR)
				return WOKEN;
			if (errno != EAGAIN && errno != EBUSY && errno != ENOMEM)
				return -errno;
			usleep(1000);
		}
	}
}

/* Submit what is queued without waiting; returns the result of a command that completed at
 * once (a refusal), or 0. */
static int submit_only(struct ring *r)
{
	unsigned pending = *r->sq_tail - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
	while (syscall(__NR_io_uring_enter, r->fd, pending, 0, 0, NULL, 0) < 0)
		if (errno != EINTR)
			return -errno;
	int res = cq_pop(r);
	return res > 0 ? 0 : res;
}

static void store_error(struct queue_thread *t, int err)
{
	struct fuse_out_header o = { .len = sizeof(o), .error = -err, .unique = serving_unique };
	memcpy(t->hdr->in_out, &o, sizeof(o));
	t->hdr->ent.payload_sz = 0;
	replied = true;
}

/* A READ at least this big is part of a stream (readahead sends 128 KiB): see
 * pin_for_next. */
#define BIG_READ (64 * 1024)

/* Hand the request in our entry to libfuse, laid out as /dev/fuse would give it. Returns
 * whether it was a READ of BIG_READ or more. */
static bool serve(struct queue_thread *t)
{
	struct fuse_in_header in;
	memcpy(&in, t->hdr->in_out, sizeof(in));
	size_t psz = t->hdr->ent.payload_sz;
	serving = t;
	serving_unique = in.unique;
	replied = false;
	bool big_read = false;
	if (in.len < sizeof(in) + psz || in.len - sizeof(in) - psz > sizeof(t->hdr->op_in) ||
	    psz > payload_size) {
		log_error("io_uring: a request (opcode %u) of %u bytes does not fit its entry "
			  "(payload %zu bytes)",
			  in.opcode, in.len, psz);
		store_error(t, EIO);
	} else {
		size_t oplen = in.len - sizeof(in) - psz;
		char *start = t->payload - oplen - sizeof(in);
		memcpy(start, &in, sizeof(in));
		memcpy(start + sizeof(in), t->hdr->op_in, oplen);
		devio_note_request(start, in.len);
		if (in.opcode == FUSE_READ && oplen >= sizeof(struct fuse_read_in)) {
			struct fuse_read_in r;
			memcpy(&r, t->hdr->op_in, sizeof(r));
			big_read = r.size >= BIG_READ;
		}
		struct fuse_buf fb = { .mem = start, .size = in.len };
		fuse_session_process_buf(uring_ovl->se, &fb);
		if (!replied) {
			log_error("io_uring: request %u (opcode %u) ended without a reply",
				  (unsigned)in.unique, in.opcode);
			store_error(t, EIO);
		}
	}
	serving = NULL;
	return big_read;
}

bool uring_serving(void)
{
	return serving != NULL;
}

void *uring_reply_space(size_t len)
{
	return serving && len <= payload_size ? serving->payload : NULL;
}

bool uring_take_reply(const struct iovec *iov, int count)
{
	struct queue_thread *t = serving;
	if (!t || count < 1 || iov[0].iov_len != sizeof(struct fuse_out_header))
		return false;
	struct fuse_out_header o;
	memcpy(&o, iov[0].iov_base, sizeof(o));
	if (o.unique != serving_unique)
		return false; /* a notification, which goes through /dev/fuse */
	size_t n = 0;
	for (int i = 1; i < count; i++)
		n += iov[i].iov_len;
	if (n > payload_size) {
		log_error("io_uring: a reply of %zu bytes is bigger than the entry", n);
		store_error(t, EIO);
		return true;
	}
	char *p = t->payload;
	for (int i = 1; i < count; i++) {
		/* Data read straight into the payload (uring_reply_space) is already there. */
		if (iov[i].iov_base != p)
			memmove(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	o.len = (uint32_t)(sizeof(o) + n);
	memcpy(t->hdr->in_out, &o, sizeof(o));
	t->hdr->ent.payload_sz = o.error ? 0 : (uint32_t)n;
	replied = true;
	return true;
}

static int read_full(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += (size_t)n;
	}
	return 0;
}

ssize_t uring_take_spliced_reply(int pipefd, size_t len)
{
	struct queue_thread *t = serving;
	struct fuse_out_header o;
	if (!t)
		return 0;
	if (len < sizeof(o) || len - sizeof(o) > payload_size) {
		errno = EIO;
		return -1;
	}
	int r = read_full(pipefd, &o, sizeof(o));
	if (r == 0 && o.unique != serving_unique) {
		/* Not our reply (a spliced notification): it goes to /dev/fuse as it is. */
		char *rest = malloc(len - sizeof(o));
		r = rest ? read_full(pipefd, rest, len - sizeof(o)) : -ENOMEM;
		struct iovec iov[2] = { { &o, sizeof(o) }, { rest, len - sizeof(o) } };
		if (r == 0 && writev(uring_devfd, iov, 2) < 0)
			r = -errno;
		free(rest);
		if (r < 0) {
			errno = -r;
			return -1;
		}
		return (ssize_t)len;
	}
	if (r == 0)
		r = read_full(pipefd, t->payload, len - sizeof(o));
	if (r < 0) {
		errno = -r;
		return -1;
	}
	o.len = (uint32_t)len;
	memcpy(t->hdr->in_out, &o, sizeof(o));
	t->hdr->ent.payload_sz = (uint32_t)(len - sizeof(o));
	replied = true;
	return (ssize_t)len;
}

/* Make the kernel give up io_uring for this mount: an entry for a queue that does not exist
 * is refused, and the refusal turns it off and releases the held requests. The ring for it
 * is made before the INIT reply offers io_uring (uring_prepare), so that giving up cannot
 * fail for want of memory or descriptors, the very things that make the queues fail. */
static void give_up(void)
{
	static struct req_header hdr;
	static char payload[1];
	struct queue_thread t = { .hdr = &hdr, .ring = spare_ring };
	t.iov[0] = (struct iovec){ &hdr, sizeof(hdr) };
	t.iov[1] = (struct iovec){ payload, sizeof(payload) };
	queue_cmd(&t, CMD_REGISTER, 0, (uint16_t)nqueues);
	int res = submit_only(&t.ring);
	if (res != -EINVAL)
		log_error("io_uring: the kernel did not take back io_uring for the mount (%s); "
			  "requests may wait",
			  res < 0 ? strerror(-res) : "no answer");
}

static void spawn(struct queue *q);

static time_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Another thread for Q while at most one of its threads waits: a request that finds no entry
 * free waits in the kernel until one of the busy ones replies, however long that takes (a
 * stuck lower layer), and an entry registered after it came does not take it. After a thread
 * failed to start (out of descriptors, say), the next try waits a second. */
static void grow(struct queue *q)
{
	pthread_mutex_lock(&grow_lock);
	if (!__atomic_load_n(&stopping, __ATOMIC_ACQUIRE) && q->threads < THREADS_PER_QUEUE_MAX &&
	    __atomic_load_n(&q->idle, __ATOMIC_ACQUIRE) <= 1 &&
	    (!q->grow_failed || now_s() - q->grow_failed >= 1))
		spawn(q);
	pthread_mutex_unlock(&grow_lock);
}

/* Q has an entry: the kernel may count it as ready. */
static void report_entry(struct queue *q)
{
	pthread_mutex_lock(&grow_lock);
	if (!q->reported) {
		q->reported = true;
		unregistered--;
		pthread_cond_broadcast(&registered);
	}
	pthread_mutex_unlock(&grow_lock);
}

/* Register our entry; true when the kernel took it. After an entry of ours was ended, a
 * refusal is tried again for a while (RETRY): the queue may have no other thread. */
static bool register_entry(struct queue_thread *t, bool retry)
{
	for (int tries = 0;; tries++) {
		queue_cmd(t, CMD_REGISTER, 0, (uint16_t)t->q->qid);
		/* Submitted alone: a refused entry completes at once, an accepted one only when a
		 * request comes. */
		int res = submit_only(&t->ring);
		if (res >= 0) {
			report_entry(t->q);
			return true;
		}
		bool gone = res == -ENOTCONN || res == -ECONNABORTED ||
			    __atomic_load_n(&stopping, __ATOMIC_ACQUIRE);
		if (gone || !retry || tries == 50) {
			if (!gone)
				log_error("io_uring: the kernel refused an entry of queue %u: %s",
					  t->q->qid, strerror(-res));
			return false;
		}
		usleep(100 * 1000);
	}
}

/* Hold T on its queue's CPU, or (FREE) let it run on any of the daemon's CPUs. */
static void allow_cpus(struct queue_thread *t, bool free)
{
	cpu_set_t set;
	if (free) {
		set = daemon_cpus;
	} else {
		CPU_ZERO(&set);
		CPU_SET(t->q->cpu, &set);
	}
	if (sched_setaffinity(0, sizeof(set), &set) == 0)
		t->floating = free;
}

/* Keep T on its queue's CPU for the next request, or let it run on any of the daemon's
 * CPUs after a big READ. The queue of a READ is the CPU of its reader, and a reader of a
 * big file goes on reading while the READ is served: pinned, our thread and the reader
 * take turns on that one CPU (copying the data twice on our side: into the payload, and
 * the kernel from there into the page cache), and the first read of a 1 GiB file took
 * twice as long as through /dev/fuse. Free, the next READ wakes the thread on the idle
 * CPU. Every other request keeps the thread where its caller runs, which is what the ring
 * is for (doc/daemon.md, "Requests over io_uring"). A change costs one system call. */
static void pin_for_next(struct queue_thread *t, bool big_read)
{
	if (t->floating == big_read || t->q->cpu < 0 || !may_float)
		return;
	allow_cpus(t, big_read);
}

static void *queue_main(void *arg)
{
	struct queue_thread *t = arg;
	struct queue *q = t->q;
	sigset_t all, wait_mask;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/* Worked out once: the wait lets WAKE_SIG in, and nothing else it did not before. */
	pthread_sigmask(SIG_BLOCK, NULL, &wait_mask);
	sigdelset(&wait_mask, WAKE_SIG);
	/* Named for top -H, perf and tests/integration/ring-pinning.sh. */
	char name[16];
	snprintf(name, sizeof(name), "ring-q%u", q->qid);
	pthread_setname_np(pthread_self(), name);
	if (q->cpu >= 0)
		allow_cpus(t, false);
	/* Made here: a ring of one issuer takes submissions only from the thread that made it. */
	int err = ring_init(&t->ring, 2, false);
	bool ring = err == 0;
	if (!ring)
		log_error("io_uring: cannot make a ring for queue %u (%s)", q->qid, strerror(-err));
	bool entry = ring && register_entry(t, false);
	while (entry) {
		int res = submit_and_wait(&t->ring, &wait_mask);
		if (res == WOKEN && !__atomic_load_n(&stopping, __ATOMIC_ACQUIRE))
			continue;
		unsigned idle = __atomic_sub_fetch(&q->idle, 1, __ATOMIC_ACQ_REL);
		if (res == WOKEN)
			break;
		if (res < 0) {
			/* ENOTCONN, ECONNABORTED: unmounted or aborted. Anything else ended
			 * this entry alone: a new one takes its place. */
			if (res == -ENOTCONN || res == -ECONNABORTED ||
			    __atomic_load_n(&stopping, __ATOMIC_ACQUIRE))
				break;
			log_error("io_uring: the kernel ended an entry of queue %u (%s); "
				  "registering another",
				  q->qid, strerror(-res));
			__atomic_add_fetch(&q->idle, 1, __ATOMIC_RELEASE);
			entry = register_entry(t, true);
			continue;
		}
		if (idle <= 1)
			grow(q);
		uint64_t commit = t->hdr->ent.commit_id;
		pin_for_next(t, serve(t));
		__atomic_add_fetch(&q->idle, 1, __ATOMIC_RELEASE);
		queue_cmd(t, CMD_COMMIT_AND_FETCH, commit, (uint16_t)q->qid);
	}
	if (!entry) /* counted as waiting until now */
		__atomic_sub_fetch(&q->idle, 1, __ATOMIC_RELEASE);
	/* Its pending commands go with the ring: the kernel cancels them. */
	if (ring)
		ring_close(&t->ring);
	pthread_mutex_lock(&grow_lock);
	for (struct queue_thread **p = &all_threads; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	t->next = ended_threads;
	ended_threads = t;
	q->threads--;
	if (!ring)
		q->grow_failed = now_s();
	/* The queue's last thread, and it never had an entry: uring_start gives up. */
	if (!q->reported && q->threads == 0) {
		q->reported = true;
		unregistered--;
		register_failed = true;
		pthread_cond_broadcast(&registered);
	}
	live--;
	pthread_cond_broadcast(&threads_done);
	/* t itself is freed by whoever joins this thread, which waits for the return. */
	free(t->hdr);
	free(t->buf);
	t->hdr = NULL;
	t->buf = NULL;
	pthread_mutex_unlock(&grow_lock);
	return NULL;
}

/* Join the threads that have ended; grow_lock held. They no longer take it, so this waits
 * only for their thread-specific data destructors. */
static void reap_ended(void)
{
	while (ended_threads) {
		struct queue_thread *t = ended_threads;
		ended_threads = t->next;
		pthread_join(t->thread, NULL);
		free(t);
	}
}

/* Start a thread for Q; grow_lock held. It counts as waiting from now on, so that a burst of
 * requests starts no more threads than it needs. */
static void spawn(struct queue *q)
{
	reap_ended();
	struct queue_thread *t = calloc(1, sizeof(*t));
	struct req_header *hdr = calloc(1, sizeof(*hdr));
	/* Room in front of the payload for the request's in header and fixed arguments, a page
	 * of it: the payload is page-aligned, so that a READ of an O_DIRECT backing file can be
	 * read straight into it (uring_reply_space). */
	size_t page = 4096, room = page;
	_Static_assert(sizeof(struct fuse_in_header) + sizeof(((struct req_header *)0)->op_in) <=
			       4096,
		       "the request's headers fit in front of the payload");
	char *buf = aligned_alloc(page, room + (payload_size + page - 1) / page * page);
	pthread_attr_t attr;
	int err = t && hdr && buf ? pthread_attr_init(&attr) : ENOMEM;
	if (!err) {
		t->q = q;
		t->hdr = hdr;
		t->buf = buf;
		t->payload = buf + room;
		t->iov[0] = (struct iovec){ hdr, sizeof(*hdr) };
		t->iov[1] = (struct iovec){ t->payload, payload_size };
		t->next = all_threads;
		all_threads = t;
		q->threads++;
		__atomic_add_fetch(&q->idle, 1, __ATOMIC_RELEASE);
		live++;
		err = pthread_create(&t->thread, &attr, queue_main, t);
		pthread_attr_destroy(&attr);
		if (err) {
			all_threads = t->next;
			q->threads--;
			__atomic_sub_fetch(&q->idle, 1, __ATOMIC_RELEASE);
			live--;
		}
	}
	if (err) {
		log_error("io_uring: cannot start a thread for queue %u: %s", q->qid, strerror(err));
		q->grow_failed = now_s();
		free(t);
		free(hdr);
		free(buf);
	}
}

/* The kernel's count of queues: one per possible CPU ("0-3", "0,2-5"); 0 when unknown. */
static unsigned possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
	char s[1024];
	unsigned n = 0;
	if (f && fgets(s, sizeof(s), f)) {
		for (char *p = s; *p >= '0' && *p <= '9';) {
			char *end;
			unsigned long a = strtoul(p, &end, 10), b = a;
			if (*end == '-')
				b = strtoul(end + 1, &end, 10);
			if (b < a) {
				n = 0;
				break;
			}
			n += (unsigned)(b - a + 1);
			p = *end == ',' ? end + 1 : end;
		}
	}
	if (f)
		fclose(f);
	return n;
}

static void wake(int sig)
{
	(void)sig;
}

void uring_setup_signal(void)
{
	/* SA_RESTART: should the signal reach another thread (sent from outside), its calls go
	 * on. It is blocked here, and so in every thread started from now on but in the queues'
	 * waits. */
	struct sigaction sa = { .sa_handler = wake, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(WAKE_SIG, &sa, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, WAKE_SIG);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

bool uring_prepare(int devfd)
{
	if (prepared)
		return true;
	nqueues = possible_cpus();
	if (nqueues == 0 || nqueues > 65535)
		return false;
	/* Our own descriptor: libfuse may close the one its thread used. Made now, with the
	 * spare ring, so that giving up needs nothing new. */
	uring_devfd = fcntl(devfd, F_DUPFD_CLOEXEC, 0);
	if (uring_devfd < 0)
		return false;
	if (ring_init(&spare_ring, 2, true) < 0) {
		close(uring_devfd);
		uring_devfd = -1;
		return false;
	}
	if (sched_getaffinity(0, sizeof(daemon_cpus), &daemon_cpus) < 0)
		CPU_ZERO(&daemon_cpus);
	may_float = CPU_COUNT(&daemon_cpus) >= 2;
	prepared = true;
	return true;
}

int uring_start(struct ovl *ovl, size_t payload)
{
	uring_ovl = ovl;
	payload_size = payload;
	queues = calloc(nqueues, sizeof(*queues));
	int err = queues ? 0 : -ENOMEM;
	pthread_mutex_lock(&grow_lock);
	unregistered = err ? 0 : nqueues;
	for (unsigned q = 0; q < nqueues && !err; q++) {
		queues[q].qid = q;
		/* Kept on their CPU when the daemon may run there; callers on other CPUs are
		 * served by threads that run where they may. */
		queues[q].cpu = q < CPU_SETSIZE && CPU_ISSET(q, &daemon_cpus) ? (int)q : -1;
		/* Two: one to take a request, one waiting. */
		spawn(&queues[q]);
		spawn(&queues[q]);
		if (!queues[q].threads) {
			queues[q].reported = true;
			unregistered--;
			register_failed = true;
		}
	}
	/* The kernel holds every request until each queue has an entry: wait for them (a
	 * thread takes well under a millisecond to start), and give up on io_uring rather than
	 * leave the mount hanging. */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += REGISTER_WAIT_S;
	int w = 0;
	while (!err && unregistered && !register_failed && w != ETIMEDOUT)
		w = pthread_cond_timedwait(&registered, &grow_lock, &until);
	bool failed = !err && register_failed, late = !err && !failed && unregistered;
	pthread_mutex_unlock(&grow_lock);
	if (err || failed || late) {
		if (err)
			log_error("io_uring: cannot set up the queues (%s); requests go through "
				  "/dev/fuse",
				  strerror(-err));
		else if (failed)
			log_error("io_uring: a queue has no entry (above); requests go through "
				  "/dev/fuse");
		else
			log_error("io_uring: the queues' threads did not register within %d s; "
				  "requests go through /dev/fuse",
				  REGISTER_WAIT_S);
		give_up();
		return err ? err : failed ? -EPROTO : -ETIMEDOUT;
	}
	log_info("requests come through io_uring: %u queues, one per possible CPU", nqueues);
	return 0;
}

bool uring_stop(void)
{
	if (!queues)
		return true;
	__atomic_store_n(&stopping, true, __ATOMIC_RELEASE);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_WAIT_S;
	pthread_mutex_lock(&grow_lock);
	/* Waiting threads wake and end; a thread serving a request ends after its reply. */
	for (struct queue_thread *t = all_threads; t; t = t->next)
		pthread_kill(t->thread, WAKE_SIG);
	int w = 0;
	while (live && w != ETIMEDOUT)
		w = pthread_cond_timedwait(&threads_done, &grow_lock, &until);
	unsigned busy = live;
	if (!busy)
		reap_ended();
	pthread_mutex_unlock(&grow_lock);
	if (busy) {
		log_warning("io_uring: %u requests still being served after %d s", busy,
			    STOP_WAIT_S);
		return false;
	}
	free(queues);
	queues = NULL;
	close(uring_devfd);
	ring_close(&spare_ring);
	return true;
}

void uring_unpinned(pthread_attr_t *attr)
{
	if (prepared && CPU_COUNT(&daemon_cpus) > 0)
		pthread_attr_setaffinity_np(attr, sizeof(daemon_cpus), &daemon_cpus);
}
