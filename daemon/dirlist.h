/* The merged listing of a directory: every visible name once, whiteouts and markers hidden. */
#pragma once

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include "ovl.h"

struct dirlist_entry {
	char *name;
	/* Where the name was found: the listing reports inode_compose_ino(layer, d_ino),
	 * readdirplus the number stat reports. */
	uint64_t d_ino;
	int layer;
	unsigned char type; /* DT_* */
};

struct dirlist {
	struct dirlist_entry *entries;
	size_t n, cap;
};

/* The listings of one directory being read through the mount. The kernel opens directories
 * without asking us (FUSE_NO_OPENDIR_SUPPORT: two round trips less per opendir, a third of
 * a warm tree walk), so a listing belongs to the directory's inode, not to an open handle.
 * Each reading from offset 0 takes a snapshot of its own, numbered in the offsets it is given
 * back, so a reader that continues finds its snapshot even when another reader started over
 * meanwhile: offsets stay stable while the directory changes underneath. A snapshot is kept
 * after its reader reached the end: the kernel hands the listing it cached from it to other
 * readers, who may continue from its offsets after the kernel dropped that cache. The least
 * recently used of DIR_SNAPSHOTS goes; all go with the inode. */
#define DIR_SNAPSHOTS 4
struct dir_snapshots {
	pthread_mutex_t lock;
	unsigned next_id;
	struct dir_snapshot {
		unsigned id; /* 0: slot free */
		unsigned long used; /* for eviction: the least recently used goes */
		struct dirlist list;
	} slot[DIR_SNAPSHOTS];
};
void dir_snapshots_free(struct dir_snapshots *s);

/* Read the merged listing of DIR (without "." and ".."). */
int dirlist_read(struct ovl *ovl, struct ovl_inode *dir, struct dirlist *list);
void dirlist_free(struct dirlist *list);

/* Remove the whiteouts and markers an upper directory holds (before it is removed or
 * replaced). Returns 0 or -errno. */
int dirlist_clear_whiteouts(struct ovl *ovl, int upper_dir_fd);
