/* Directory listing: opendir is left to the kernel, and the merged listing is built when a
 * reader starts at offset 0, as a snapshot of the directory's own (struct dir_snapshots). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "dirlist.h"
#include "ops.h"

/* An offset names a snapshot and a position in it: (id << POS_BITS) | position, with
 * positions 1 and 2 after "." and "..", and entry i followed by i + 3. Ids stay below 2^6
 * so offsets fit in 31 bits (32-bit programs' getdents refuses larger ones). */
#define POS_BITS 24
#define POS_MASK ((1UL << POS_BITS) - 1)
#define MAX_ID 63

void op_opendir(fuse_req_t req, fuse_ino_t n, struct fuse_file_info *fi)
{
	(void)n;
	struct ovl *ovl = req_ovl(req);
	if (ovl->no_opendir) {
		/* The kernel then stops sending opendir and releasedir for the whole mount and
		 * caches listings as the flags below would ask. */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->fh = 0;
	/* The kernel may keep listings: every change to a directory goes through it, and it
	 * drops its cached listing when it makes one. */
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static struct dir_snapshots *listings_of(struct ovl_inode *dir)
{
	struct dir_snapshots *s = __atomic_load_n(&dir->listings, __ATOMIC_ACQUIRE);
	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	struct dir_snapshots *none = NULL;
	if (!__atomic_compare_exchange_n(&dir->listings, &none, s, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		dir_snapshots_free(s); /* another reader was first */
		return none;
	}
	return s;
}

/* The snapshot OFF continues, or a new one (OFF 0, or its snapshot was evicted: then the
 * position is kept in a fresh listing, as well as can be). Called with s->lock held. */
static int snapshot_for(struct ovl *ovl, struct ovl_inode *dir, struct dir_snapshots *s,
			off_t off, struct dir_snapshot **out)
{
	static unsigned long clock;
	unsigned id = (unsigned)((unsigned long)off >> POS_BITS);
	struct dir_snapshot *victim = &s->slot[0];
	for (int i = 0; i < DIR_SNAPSHOTS; i++) {
		struct dir_snapshot *sn = &s->slot[i];
		if (off != 0 && id != 0 && sn->id == id) {
			sn->used = __atomic_add_fetch(&clock, 1, __ATOMIC_RELAXED);
			*out = sn;
			return 0;
		}
		if (sn->id == 0 || (victim->id != 0 && sn->used < victim->used))
			victim = sn;
	}
	dirlist_free(&victim->list);
	victim->id = 0;
	int r = dirlist_read(ovl, dir, &victim->list);
	if (r < 0)
		return r;
	if (victim->list.n + 3 > POS_MASK) {
		char path[PATH_MAX];
		log_msg_ratelimited(LOG_LEVEL_WARNING, "readdir %s: %zu entries, more than the %lu "
				    "one listing can hold",
				    ovl_inode_path(ovl, dir, path, sizeof(path)), victim->list.n,
				    POS_MASK - 3);
		dirlist_free(&victim->list);
		return -EOVERFLOW;
	}
	s->next_id = s->next_id % MAX_ID + 1;
	victim->id = s->next_id;
	victim->used = __atomic_add_fetch(&clock, 1, __ATOMIC_RELAXED);
	*out = victim;
	return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t n, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	(void)fi;
	struct ovl *ovl = req_ovl(req);
	struct ovl_inode *dir = node(ovl, n);
	struct dir_snapshots *s = listings_of(dir);
	char *buf = malloc(size);
	if (!buf || !s) {
		free(buf);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&s->lock);
	struct dir_snapshot *sn = NULL;
	int r = snapshot_for(ovl, dir, s, off, &sn);
	size_t used = 0;
	off_t i = (off_t)((unsigned long)off & POS_MASK);
	for (; r == 0 && (size_t)i < sn->list.n + 2; i++) {
		struct stat st = { 0 };
		const char *name;
		struct ovl_inode *child = NULL;
		off_t next = (off_t)(((unsigned long)sn->id << POS_BITS) | (unsigned long)(i + 1));
		if (i < 2) {
			name = i == 0 ? "." : "..";
			st.st_ino = i == 0 ? dir->st_ino : 1;
			st.st_mode = S_IFDIR;
		} else {
			struct dirlist_entry *e = &sn->list.entries[i - 2];
			name = e->name;
			uint64_t listed = inode_compose_ino(e->layer, e->d_ino);
			st.st_ino = listed;
			st.st_mode = (mode_t)DTTOIF(e->type);
			uint64_t held_ino;
			if (plus && ovl_entry_held(ovl, dir, name, e->layer, e->d_ino,
						   st.st_mode & S_IFMT, &held_ino)) {
				/* Listed without attributes (node id 0): the kernel keeps the
				 * entry and attributes it has, and we stat nothing. A first
				 * `git status` lists every directory after looking up every
				 * file in it. */
				st.st_ino = held_ino;
			} else if (plus) {
				int q = ovl_lookup(ovl, dir, name, &child, &st);
				if (q == -ENOENT)
					continue; /* removed since the listing was made */
				if (q < 0) {
					/* Logged by the lookup. List the name without attributes
					 * (node id 0): one unreadable entry must not make the
					 * whole directory unlistable. */
					child = NULL;
					st = (struct stat){ .st_ino = listed,
							    .st_mode = (mode_t)DTTOIF(e->type) };
				}
			}
		}
		size_t need;
		if (plus) {
			struct fuse_entry_param e = { .attr = st };
			if (child) {
				ops_make_entry(ovl, child, &st, &e);
			}
			need = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, next);
			if (need > size - used) {
				if (child)
					inode_forget(ovl, child, 1);
				break;
			}
		} else {
			need = fuse_add_direntry(req, buf + used, size - used, name, &st, next);
			if (need > size - used)
				break;
		}
		used += need;
	}
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

void op_readdir(fuse_req_t req, fuse_ino_t n, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, n, size, off, fi, false);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t n, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	do_readdir(req, n, size, off, fi, true);
}

void op_releasedir(fuse_req_t req, fuse_ino_t n, struct fuse_file_info *fi)
{
	(void)n;
	(void)fi;
	fuse_reply_err(req, 0);
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t n, int datasync, struct fuse_file_info *fi)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_inode *dir = node(ovl, n);
	(void)fi;
	int ufd = inode_dir_fd(dir, UPPER);
	if (ufd < 0) { /* nothing of it is written anywhere */
		fuse_reply_err(req, 0);
		return;
	}
	int fd = openat(ufd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd < 0 ? errno : (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	fuse_reply_err(req, r);
}
