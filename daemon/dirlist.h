/* The merged listing of a directory: every visible name once, whiteouts and markers hidden. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "ovl.h"

struct dirlist_entry {
	char *name;
	uint64_t ino; /* composed from the layer and d_ino; readdirplus looks up the real one */
	unsigned char type; /* DT_* */
};

struct dirlist {
	struct dirlist_entry *entries;
	size_t n, cap;
};

/* Read the merged listing of DIR (without "." and ".."). */
int dirlist_read(struct ovl *ovl, struct ovl_inode *dir, struct dirlist *list);
void dirlist_free(struct dirlist *list);

/* Remove the whiteouts and markers an upper directory holds (before it is removed or
 * replaced). Returns 0 or -errno. */
int dirlist_clear_whiteouts(struct ovl *ovl, int upper_dir_fd);
