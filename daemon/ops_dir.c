/* Directory handles: the merged listing is built when a handle starts reading (and again on
 * rewind), so offsets stay stable while the directory changes underneath. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dirlist.h"
#include "ops.h"

struct ovl_dir {
	pthread_mutex_t lock;
	struct dirlist list;
	bool loaded;
};

void op_opendir(fuse_req_t req, fuse_ino_t n, struct fuse_file_info *fi)
{
	(void)n;
	struct ovl_dir *d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_init(&d->lock, NULL);
	fi->fh = (uint64_t)(uintptr_t)d;
	if (fuse_reply_open(req, fi) < 0)
		op_releasedir(NULL, n, fi);
}

/* Offsets: 1 and 2 follow "." and "..", entry i of the list is followed by offset i + 3. */
static void do_readdir(fuse_req_t req, fuse_ino_t n, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct ovl *ovl = req_ovl(req);
	struct ovl_inode *dir = node(ovl, n);
	struct ovl_dir *d = (struct ovl_dir *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&d->lock);
	int r = 0;
	if (off == 0 || !d->loaded) {
		if (d->loaded)
			dirlist_free(&d->list);
		d->loaded = false;
		if ((r = dirlist_read(ovl, dir, &d->list)) == 0)
			d->loaded = true;
	}
	size_t used = 0;
	for (off_t i = off; r == 0 && (size_t)i < d->list.n + 2; i++) {
		struct stat st = { 0 };
		const char *name;
		struct ovl_inode *child = NULL;
		if (i < 2) {
			name = i == 0 ? "." : "..";
			st.st_ino = i == 0 ? dir->st_ino : 1;
			st.st_mode = S_IFDIR;
		} else {
			struct dirlist_entry *e = &d->list.entries[i - 2];
			name = e->name;
			st.st_ino = e->ino;
			st.st_mode = (mode_t)DTTOIF(e->type);
			if (plus) {
				int q = ovl_lookup(ovl, dir, name, &child, &st);
				if (q == -ENOENT)
					continue; /* removed since the listing was made */
				if (q < 0) {
					/* Logged by the lookup. List the name without attributes
					 * (node id 0): one unreadable entry must not make the
					 * whole directory unlistable. */
					child = NULL;
					st = (struct stat){ .st_ino = e->ino,
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
			need = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, i + 1);
			if (need > size - used) {
				if (child)
					inode_forget(ovl, child, 1);
				break;
			}
		} else {
			need = fuse_add_direntry(req, buf + used, size - used, name, &st, i + 1);
			if (need > size - used)
				break;
		}
		used += need;
	}
	pthread_mutex_unlock(&d->lock);
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
	struct ovl_dir *d = (struct ovl_dir *)(uintptr_t)fi->fh;
	if (d->loaded)
		dirlist_free(&d->list);
	pthread_mutex_destroy(&d->lock);
	free(d);
	if (req)
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
