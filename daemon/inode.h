/* The daemon's inodes: one per object the kernel knows, found again by the identity of its
 * topmost copy, reference-counted by kernel lookups and by internal users. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "../common/list.h"

struct ovl;

struct ovl_inode {
	struct ovl_inode *hash_next;
	/* Every inode that entered the table, hashed or not (an unhashed inode may still be
	 * looked up by the kernel): the daemon frees them all when it exits. Table lock. */
	struct list_node all;
	/* identity of the topmost copy: (layer, st_dev, st_ino); changes on copy-up */
	int key_layer;
	dev_t key_dev;
	ino_t key_ino;

	uint64_t st_ino; /* what stat reports: stable across copy-up (origin) */
	mode_t type;     /* S_IFMT bits */
	int layer;       /* topmost layer holding the object, UPPER once copied up */

	/* Where the object lives: a name in its parent directory (guarded by lock). Non-directories
	 * are always reached as (parent's fd in layer, name): no fd per file, so a tree of any
	 * size fits in RLIMIT_NOFILE. */
	struct ovl_inode *parent;
	char *name;
	/* Other names of a hard-linked file the kernel has looked up; when the primary name goes
	 * away, one of these takes over (else the file would be unreachable through its other
	 * cached names). */
	struct ovl_alias *aliases;

	/* Directories only: O_PATH fd per layer where this directory is merged, -1 elsewhere;
	 * layers after `last_layer` are hidden by an opaque directory. */
	int *dir_fds;
	int last_layer;
	struct dir_snapshots *listings; /* set once, on the first readdir (ops_dir.c) */

	/* Ownership stored in an override xattr (rootless copy-up); applied by getattr. */
	bool has_override;
	uid_t o_uid;
	gid_t o_gid;
	mode_t o_mode; /* permission bits incl. setuid/setgid/sticky */

	/* Metadata-only copy-up: the upper copy holds the metadata, the data is still the lower
	 * file at data_path (relative to layer data_layer's root). data_gen changes whenever the
	 * data moves, so open handles know to follow. Guarded by lock. */
	bool metacopy;
	int data_layer;
	char *data_path;
	unsigned data_gen;

	/* A hard-linked lower file copied up through the index: names still only in the lower
	 * layer count towards st_nlink (nlink_lower_extra of them). Guarded by lock. */
	bool indexed;
	int nlink_lower_extra;

	/* Regular files, when the kernel opens them without asking us (no_open, ops_file.c):
	 * an fd on where the data is now, for READ, WRITE and FSYNC, which then arrive without
	 * a file handle. Opened on first use with the access in data_fd_acc, for data_gen
	 * data_fd_gen on layer data_fd_layer. An fd that had to be replaced waits in `retired`
	 * until the inode is freed: another thread may still be reading through it. Guarded by
	 * lock. */
	int data_fd;
	int data_fd_layer;
	unsigned data_fd_gen;
	int data_fd_acc;
	struct retired_fd *retired;
	/* A metacopy removed while it may be open: its upper file (O_PATH), which holds its
	 * metadata and would go with the name. Set once, under lock. */
	int meta_fd;
	/* ...and while it is being written, an fd for writing (writefds.c), in use by
	 * write_users requests, last given back at write_used (monotonic seconds). Guarded by
	 * lock; the links by the list's lock. */
	int write_fd;
	unsigned write_users;
	long write_used;
	struct ovl_inode *write_next, **write_pprev;
	/* Write-behind (ops_file.c): where the last write ended, where the part of the current
	 * sequential run not yet handed to the disk starts, and whether a hand-over is under way.
	 * Hints, read and written without a lock: a race costs one early or late hand-over. */
	off_t wb_end, wb_start;
	bool wb_busy; /* atomic; an FSYNC waits for it to clear (ops_file.c, write_behind_wait) */
	/* The errno write-behind's own fdatasync got, owed to the next FSYNC: that fdatasync
	 * marked the upper file's write error as seen, so an fd the FSYNC opens afterwards would
	 * no longer be told of it. Atomic, stored before wb_busy clears. */
	int wb_err;

	uint64_t nlookup; /* kernel references (lookup counts) */
	uint64_t refs;    /* internal references: children, operations in flight */
	pthread_mutex_t lock;        /* parent/name and override fields; never held across I/O */
	pthread_mutex_t copyup_lock; /* serialises copy-up of this object (slow path) */
};

struct retired_fd {
	struct retired_fd *next;
	int fd;
};

struct ovl_alias {
	struct ovl_alias *next;
	struct ovl_inode *parent;
	char *name;
};

struct inode_table {
	pthread_mutex_t lock;
	struct ovl_inode **buckets;
	size_t n_buckets;
	size_t count;
	struct list_node *all; /* see ovl_inode.all */
};

int inode_table_init(struct inode_table *t);
/* Free every inode and the table, whatever their counts: the session has ended, the kernel
 * holds no more references (it sends no forgets at unmount). */
void inode_table_destroy(struct ovl *ovl);

/* Find the inode whose topmost copy is (layer, dev, ino), taking an internal reference. */
struct ovl_inode *inode_find(struct inode_table *t, int layer, dev_t dev, ino_t ino);
/* The same, but only while the kernel holds the inode (a lookup count above zero). */
struct ovl_inode *inode_find_held(struct inode_table *t, int layer, dev_t dev, ino_t ino);
/* Insert a new inode (refs already 1), unless one with the same key appeared meanwhile: then
 * that one is referenced and returned and the caller frees its candidate. */
struct ovl_inode *inode_insert(struct inode_table *t, struct ovl_inode *ino);
/* The object is gone (its last name removed): take it out of the table so a new object that
 * reuses its inode number is not mistaken for it. The inode lives on for open handles. */
void inode_unhash(struct inode_table *t, struct ovl_inode *ino);
/* Put an inode taken out by inode_unhash back (the removal it was taken out for failed). */
void inode_rehash(struct inode_table *t, struct ovl_inode *ino);
/* Move an inode to a new key after copy-up. */
void inode_rekey(struct inode_table *t, struct ovl_inode *ino, int layer, dev_t dev, ino_t i);

void inode_ref(struct inode_table *t, struct ovl_inode *ino);
void inode_unref(struct ovl *ovl, struct ovl_inode *ino);
void inode_add_lookup(struct inode_table *t, struct ovl_inode *ino);
void inode_forget(struct ovl *ovl, struct ovl_inode *ino, uint64_t n);

struct ovl_inode *inode_new(struct ovl *ovl, mode_t type);
/* Free an inode that never entered the table. */
void inode_free(struct ovl *ovl, struct ovl_inode *ino);

/* Make (PARENT, NAME) the name INO is reached by. A file's previous name is kept as an alias
 * (it may be another hard link); a directory has exactly one name. */
int inode_set_location(struct ovl *ovl, struct ovl_inode *ino, struct ovl_inode *parent,
		       const char *name);
/* The name (PARENT, NAME) of INO is gone (unlinked, renamed away or replaced). */
void inode_drop_location(struct ovl *ovl, struct ovl_inode *ino, struct ovl_inode *parent,
			 const char *name);
/* INO moved from (OLDP, OLDNAME) to (NEWP, NEWNAME). */
int inode_move_location(struct ovl *ovl, struct ovl_inode *ino, struct ovl_inode *oldp,
			const char *oldname, struct ovl_inode *newp, const char *newname);
/* Snapshot the location: returns the referenced parent and copies the name to BUF. */
struct ovl_inode *inode_get_location(struct ovl *ovl, struct ovl_inode *ino, char *buf,
				     size_t len);

/* Whether INO still has a name in the overlay: false once its last one was removed or
 * renamed over, while the kernel may still have it open. */
bool inode_has_name(struct ovl_inode *ino);
/* Whether NAME in PARENT is one of the names INO was looked up by (a hard link has several). */
bool inode_known_as(struct ovl_inode *ino, struct ovl_inode *parent, const char *name);

/* The fd of directory DIR in layer L (or -1). */
static inline int inode_dir_fd(const struct ovl_inode *dir, int l)
{
	return dir->dir_fds ? __atomic_load_n(&dir->dir_fds[l], __ATOMIC_ACQUIRE) : -1;
}

static inline int inode_layer(const struct ovl_inode *ino)
{
	return __atomic_load_n(&ino->layer, __ATOMIC_ACQUIRE);
}

/* Compose the reported inode number from the layer an object originates in and its inode
 * number there, so numbers never collide between layers (the idea of kernel xino). The layer
 * goes in bits 47-52: results stay below 2^53, which JavaScript tools (node's fs.Stats.ino is
 * a double) can still tell apart. Inode numbers of 2^47 and more are hashed into the range
 * above 2^63, where a collision is merely improbable. */
static inline uint64_t inode_compose_ino(int layer, uint64_t real_ino)
{
	if (real_ino < (UINT64_C(1) << 47) && layer < 64)
		return ((uint64_t)layer << 47) | real_ino;
	uint64_t h = (real_ino ^ ((uint64_t)layer << 56)) * UINT64_C(0x9E3779B97F4A7C15);
	return (UINT64_C(1) << 63) | (h >> 1);
}
