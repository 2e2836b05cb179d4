/* Deferred durability of big copy-ups.
 *
 * A copy-up must never leave a torn copy in the upper layer: an empty or partial upper file
 * would hide the intact lower one for good. Fsyncing the copy before renaming it into place
 * guarantees that, and for a big file that fsync is most of the copy-up's time (a 1 GiB
 * append waited for the disk to write 1 GiB). Here the copy appears at once, its fsync runs
 * in a background thread, and the guarantee comes from a record written first:
 *
 *   WORK/#pending-ID       "boot BOOT-ID\npath UPPER-PATH\n[old\n]", fsynced together with
 *                          the work directory before the copy is renamed into place
 *   WORK/#pending-ID.copy  a hard link to the copy: keeps its inode number from being reused
 *                          and gives the background thread and the recovery a handle on it
 *   WORK/#pending-ID.old   the upper file the copy replaced (a metadata-only copy), if any
 *
 * Once the copy is synced the record goes, then its links. A record found at mount is
 * resolved before the work directory is emptied:
 *   - written in this boot: the daemon died, the kernel's page cache still holds the data
 *     and the copy is whole: sync it and drop the record;
 *   - written in another boot: the system stopped, the copy may be torn: if UPPER-PATH still
 *     names it, remove it (or put .old back) so the lower file shows again, as if the
 *     copy-up had never happened, and say so in the log.
 *
 * Operations that would carry a possibly torn copy out of that rule's reach wait for its
 * sync first: fsync of the file (the caller is promised its data; dropping the copy after a
 * crash would break that), rename and link of the file (UPPER-PATH would no longer find it),
 * rename of a directory (pending copies inside it move too: all of them are waited for). */
#include "pending.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/macros.h"
#include "layer.h"

enum entry_state { QUEUED, SYNCING, FAILED };

struct pending_entry {
	struct pending_entry *next;
	enum entry_state state;
	char id[64];
	char *path;
	dev_t dev;
	ino_t ino;
	int fd; /* read-only, on the copy: what fsync needs */
	/* The errno of a failed fsync nobody was told of yet: the background thread's. Its fsync
	 * marked the error seen, so a retry through the same fd, or an fsync through a fd opened
	 * since, returns 0 for data that never reached the disk: the file's next settle owes the
	 * caller this error. */
	int err;
};

struct pending_set {
	pthread_mutex_t lock;
	pthread_cond_t work;    /* the thread: something was queued, or stop */
	pthread_cond_t settled; /* waiters: an entry left the list or failed */
	struct pending_entry *head;
	unsigned long count; /* entries in the list; read without the lock as a fast check */
	unsigned long next_id;
	bool started, stop;
	/* ANTARES_OVERLAYD_TEST_HOLD_SYNC: the thread syncs nothing, so tests can see a copy
	 * while it is pending; fsync, rename, link and exit still settle it. */
	bool hold;
	pthread_t thread;
	char boot[40]; /* empty: unknown, and then nothing is deferred */
	int work_fd;
};

static void read_boot_id(char *out, size_t len)
{
	out[0] = '\0';
	_cleanup_close_ int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, len - 1);
	if (n <= 0) {
		out[0] = '\0';
		return;
	}
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

static void unlink_suffix(int work_fd, const char *id, const char *suffix)
{
	char name[96];
	snprintf(name, sizeof(name), "%s%s", id, suffix);
	unlinkat(work_fd, name, 0);
}

/* The copy is on disk: remove the record (durably: a record that came back after a crash
 * would remove a copy whose fsync the caller was promised), then its links. */
static int sync_entry(struct pending_set *s, struct pending_entry *e)
{
	if (fsync(e->fd) < 0) {
		int err = errno;
		log_msg_ratelimited(LOG_LEVEL_WARNING,
				    "copy-up %s: fsync of the copy on upper failed: %s (the copy "
				    "stays recorded as unsynced; after a crash the lower file shows "
				    "again)", e->path, strerror(err));
		return -err;
	}
	if (unlinkat(s->work_fd, e->id, 0) < 0 && errno != ENOENT)
		return -errno;
	if (fsync(s->work_fd) < 0)
		return -errno;
	unlink_suffix(s->work_fd, e->id, ".copy");
	unlink_suffix(s->work_fd, e->id, ".old");
	return 0;
}

static void entry_free(struct pending_entry *e)
{
	close(e->fd);
	free(e->path);
	free(e);
}

/* Under the lock: the entry's sync ended with R; REPORTED when a caller is told R. */
static void finish_locked(struct pending_set *s, struct pending_entry *e, int r, bool reported)
{
	if (r < 0) {
		e->state = FAILED; /* kept: the next settle tries again, the record stays */
		if (!reported)
			e->err = -r;
	} else {
		for (struct pending_entry **p = &s->head; *p; p = &(*p)->next)
			if (*p == e) {
				*p = e->next;
				break;
			}
		__atomic_sub_fetch(&s->count, 1, __ATOMIC_RELEASE);
		entry_free(e);
	}
	pthread_cond_broadcast(&s->settled);
}

static void *sync_thread(void *arg)
{
	struct pending_set *s = arg;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct pending_entry *e = NULL;
		if (!s->hold)
			for (e = s->head; e && e->state != QUEUED; e = e->next)
				;
		if (!e) {
			if (s->stop)
				break;
			pthread_cond_wait(&s->work, &s->lock);
			continue;
		}
		e->state = SYNCING;
		pthread_mutex_unlock(&s->lock);
		int r = sync_entry(s, e);
		pthread_mutex_lock(&s->lock);
		finish_locked(s, e, r, false);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Settle the entries MATCH accepts (NULL: all). Syncs queued ones in the calling thread
 * rather than waiting for the background thread to reach them. An error the background
 * thread met is returned too: settling one file (its fsync) takes it, so it is told once;
 * settling all (a rename, the exit) leaves it for the file's own fsync while the entry
 * stays, and takes it with the entry when a retry succeeds. */
static int settle(struct pending_set *s, const dev_t *dev, const ino_t *ino)
{
	int result = 0;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct pending_entry *e = s->head, *busy = NULL;
		for (; e; e = e->next) {
			if (dev && (e->dev != *dev || e->ino != *ino))
				continue;
			if (e->state == SYNCING) {
				busy = e;
				continue;
			}
			if (e->state == FAILED && result < 0)
				continue; /* tried once by this call already */
			break;
		}
		if (e) {
			int owed = e->err;
			e->err = 0;
			e->state = SYNCING;
			pthread_mutex_unlock(&s->lock);
			int r = sync_entry(s, e);
			pthread_mutex_lock(&s->lock);
			/* Settling all, a failure is also kept for the file's own fsync. */
			finish_locked(s, e, r, dev != NULL);
			/* A retry that succeeds after an unreported failure: the data of that
			 * failure is lost all the same. */
			if (r == 0 && owed)
				r = -owed;
			if (r < 0 && result == 0)
				result = r;
			continue;
		}
		if (!busy)
			break;
		pthread_cond_wait(&s->settled, &s->lock);
		/* The background thread's failure counts too. */
		for (e = s->head; e; e = e->next)
			if (e == busy && e->state == FAILED && result == 0) {
				result = e->err ? -e->err : -EIO;
				if (dev)
					e->err = 0;
			}
	}
	pthread_mutex_unlock(&s->lock);
	return result;
}

int pending_settle(struct ovl *ovl, struct ovl_inode *ino)
{
	struct pending_set *s = ovl->pending;
	if (!s || !__atomic_load_n(&s->count, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&ovl->table.lock);
	int layer = ino->key_layer;
	dev_t dev = ino->key_dev;
	ino_t i = ino->key_ino;
	pthread_mutex_unlock(&ovl->table.lock);
	if (layer != UPPER)
		return 0;
	return settle(s, &dev, &i);
}

int pending_settle_all(struct ovl *ovl)
{
	struct pending_set *s = ovl->pending;
	if (!s || !__atomic_load_n(&s->count, __ATOMIC_ACQUIRE))
		return 0;
	return settle(s, NULL, NULL);
}

bool pending_wanted(const struct ovl *ovl, off_t size)
{
	return ovl->fsync && ovl->pending && ovl->pending->boot[0] && size >= PENDING_MIN_SIZE;
}

int pending_prepare(struct ovl *ovl, struct pending_ticket *t, const char *tmp, const char *path,
		    int upper_fd, const char *name, bool has_old)
{
	struct pending_set *s = ovl->pending;
	int wfd = s->work_fd;
	char copy[96], old[96], rec[PATH_MAX + 128];
	struct stat st;
	t->active = false;
	t->path = NULL;
	t->fd = -1;
	t->slot = NULL;
	unsigned long n = __atomic_add_fetch(&s->next_id, 1, __ATOMIC_RELAXED);
	snprintf(t->id, sizeof(t->id), "#pending-%d-%lu", (int)getpid(), n);
	snprintf(copy, sizeof(copy), "%s.copy", t->id);
	snprintf(old, sizeof(old), "%s.old", t->id);
	int len = snprintf(rec, sizeof(rec), "boot %s\npath %s\n%s", s->boot, path,
			   has_old ? "old\n" : "");
	if (len >= (int)sizeof(rec))
		return -ENAMETOOLONG;
	if (fstatat(wfd, tmp, &st, AT_SYMLINK_NOFOLLOW) < 0 || linkat(wfd, tmp, wfd, copy, 0) < 0)
		return -errno;
	int r = 0;
	if (has_old && linkat(upper_fd, name, wfd, old, 0) < 0)
		r = -errno;
	int fd = r < 0 ? -1 : openat(wfd, t->id, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (r == 0 && fd < 0)
		r = -errno;
	errno = 0;
	if (r == 0 && (write(fd, rec, (size_t)len) != len || fsync(fd) < 0 || fsync(wfd) < 0))
		r = errno ? -errno : -EIO; /* a short write sets none */
	if (fd >= 0)
		close(fd);
	if (r == 0 && (!(t->path = strdup(path)) || !(t->slot = calloc(1, sizeof(*t->slot)))))
		r = -ENOMEM;
	if (r == 0 && (t->fd = openat(wfd, copy, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(wfd, t->id, 0);
		unlinkat(wfd, copy, 0);
		unlinkat(wfd, old, 0);
		free(t->path);
		free(t->slot);
		t->path = NULL;
		t->slot = NULL;
		return r;
	}
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->active = true;
	return 0;
}

void pending_abort(struct ovl *ovl, struct pending_ticket *t)
{
	if (!t->active)
		return;
	int wfd = ovl->pending->work_fd;
	unlinkat(wfd, t->id, 0);
	unlink_suffix(wfd, t->id, ".copy");
	unlink_suffix(wfd, t->id, ".old");
	close(t->fd);
	free(t->path);
	free(t->slot);
	t->path = NULL;
	t->slot = NULL;
	t->active = false;
}

static void start_thread_locked(struct pending_set *s)
{
	if (s->started)
		return;
	/* Signals are for libfuse's loop (SIGTERM and friends end the mount). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	s->started = pthread_create(&s->thread, NULL, sync_thread, s) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void pending_publish(struct ovl *ovl, struct pending_ticket *t)
{
	struct pending_set *s = ovl->pending;
	if (!t->active)
		return;
	t->active = false;
	struct pending_entry *e = t->slot;
	snprintf(e->id, sizeof(e->id), "%s", t->id);
	e->path = t->path;
	e->dev = t->dev;
	e->ino = t->ino;
	e->fd = t->fd;
	e->state = QUEUED;
	t->path = NULL;
	t->slot = NULL;
	pthread_mutex_lock(&s->lock);
	struct pending_entry **tail = &s->head; /* synced in the order they were made */
	while (*tail)
		tail = &(*tail)->next;
	*tail = e;
	__atomic_add_fetch(&s->count, 1, __ATOMIC_RELEASE);
	start_thread_locked(s);
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
}

void pending_shutdown(struct ovl *ovl)
{
	struct pending_set *s = ovl->pending;
	if (!s)
		return;
	if (settle(s, NULL, NULL) < 0)
		log_warning("some copy-ups could not be synced before exit: their records stay in "
			    "the work directory and the next mount resolves them");
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
	if (s->started)
		pthread_join(s->thread, NULL);
	while (s->head) {
		struct pending_entry *e = s->head;
		s->head = e->next;
		entry_free(e);
	}
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->settled);
	free(s);
	ovl->pending = NULL;
}

/* Recovery. */

struct record {
	char boot[40];
	char path[PATH_MAX];
	bool old;
};

static int read_record(int work_fd, const char *id, struct record *rec)
{
	char buf[PATH_MAX + 128];
	_cleanup_close_ int fd = openat(work_fd, id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	memset(rec, 0, sizeof(*rec));
	bool have_path = false;
	for (char *line = buf, *nl; *line; line = nl + 1) {
		if (!(nl = strchr(line, '\n')))
			return -EINVAL; /* cut short: the record never became durable whole */
		*nl = '\0';
		if (!strncmp(line, "boot ", 5))
			snprintf(rec->boot, sizeof(rec->boot), "%s", line + 5);
		else if (!strncmp(line, "path ", 5) && line[5])
			have_path = snprintf(rec->path, sizeof(rec->path), "%s", line + 5) <
				    (int)sizeof(rec->path);
		else if (!strcmp(line, "old"))
			rec->old = true;
	}
	return rec->boot[0] && have_path ? 0 : -EINVAL;
}

/* The directory holding upper PATH, opened without following symbolic links or leaving the
 * layer; *BASE points at the last component. */
static int open_upper_parent(struct ovl *ovl, char *path, const char **base)
{
	char *slash = strrchr(path, '/');
	const char *dir = ".";
	*base = path;
	if (slash) {
		*slash = '\0';
		dir = path;
		*base = slash + 1;
	}
	return layer_open_beneath(ovl, UPPER, dir, O_RDONLY | O_DIRECTORY);
}

/* A copy recorded in another boot: if the upper path still names it, undo it. */
static void undo_copy(struct ovl *ovl, int work_fd, const char *id, struct record *rec,
		      const struct stat *copy_st)
{
	char shown[PATH_MAX], old[96];
	const char *base;
	snprintf(shown, sizeof(shown), "%s", rec->path);
	_cleanup_close_ int dfd = open_upper_parent(ovl, rec->path, &base);
	struct stat st;
	if (dfd < 0 || fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    st.st_dev != copy_st->st_dev || st.st_ino != copy_st->st_ino)
		return; /* replaced or removed since: the record has nothing left to undo */
	snprintf(old, sizeof(old), "%s.old", id);
	bool restored = rec->old && renameat(work_fd, old, dfd, base) == 0;
	if (!restored && unlinkat(dfd, base, 0) < 0) {
		log_warning("upper %s: copy-up recorded in boot %s was perhaps not on disk when the "
			    "system stopped, and it cannot be removed: unlinkat: %s; remove it by "
			    "hand if its content is wrong", shown, rec->boot, strerror(errno));
		return;
	}
	fsync(dfd);
	log_warning("upper %s: its copy-up had not been confirmed on disk when the system "
		    "stopped (record of boot %s): the copy was %s", shown, rec->boot,
		    restored ? "replaced by the metadata-only copy it had replaced"
			     : "removed and the lower file shows again");
}

static void resolve_record(struct ovl *ovl, struct pending_set *s, int work_fd, const char *id)
{
	struct record rec;
	char copy[96];
	snprintf(copy, sizeof(copy), "%s.copy", id);
	_cleanup_close_ int cfd = openat(work_fd, copy, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat cst;
	int r = read_record(work_fd, id, &rec);
	if (r < 0 || cfd < 0 || fstat(cfd, &cst) < 0) {
		/* A record cut short never completed its fsync, so the copy was never renamed into
		 * place (that comes after); the same holds without the copy's link. */
		log_debug("work/%s: incomplete copy-up record dropped", id);
	} else if (s->boot[0] && !strcmp(rec.boot, s->boot)) {
		if (fsync(cfd) < 0) {
			log_warning("upper %s: fsync of a copy-up left by the previous daemon failed: "
				    "%s; its record stays in the work directory", rec.path,
				    strerror(errno));
			return;
		}
	} else {
		undo_copy(ovl, work_fd, id, &rec, &cst);
	}
	if (unlinkat(work_fd, id, 0) == 0)
		fsync(work_fd);
}

int pending_init(struct ovl *ovl, int work_fd, char *err, size_t errlen)
{
	struct pending_set *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->settled, NULL);
	s->work_fd = work_fd;
	const char *hold = getenv("ANTARES_OVERLAYD_TEST_HOLD_SYNC");
	s->hold = hold && *hold && strcmp(hold, "0");
	read_boot_id(s->boot, sizeof(s->boot));
	if (!s->boot[0])
		log_info("no boot id (/proc/sys/kernel/random/boot_id): copy-ups are fsynced before "
			 "they appear");
	ovl->pending = s;

	int fd = openat(work_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* the workdir clean that follows reports it */
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "#pending-", 9) && !strchr(de->d_name, '.'))
			resolve_record(ovl, s, work_fd, de->d_name);
	return 0;
}
