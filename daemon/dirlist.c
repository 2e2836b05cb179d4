/* Merging directory listings: read each layer top-down, remember every name seen (including
 * whiteouts) in a hash set, and keep a name only the first time it appears. */
#include "dirlist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/macros.h"
#include "lookup.h"
#include "meta.h"

struct name_set {
	char **slots;
	size_t cap, n;
};

static uint64_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Insert NAME; returns 1 if it was new, 0 if present, -ENOMEM. */
static int set_add(struct name_set *set, const char *name)
{
	if ((set->n + 1) * 2 > set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 64;
		char **slots = calloc(cap, sizeof(char *));
		if (!slots)
			return -ENOMEM;
		for (size_t i = 0; i < set->cap; i++)
			if (set->slots[i]) {
				size_t k = hash_name(set->slots[i]) & (cap - 1);
				while (slots[k])
					k = (k + 1) & (cap - 1);
				slots[k] = set->slots[i];
			}
		free(set->slots);
		set->slots = slots;
		set->cap = cap;
	}
	size_t k = hash_name(name) & (set->cap - 1);
	for (; set->slots[k]; k = (k + 1) & (set->cap - 1))
		if (!strcmp(set->slots[k], name))
			return 0;
	if (!(set->slots[k] = strdup(name)))
		return -ENOMEM;
	set->n++;
	return 1;
}

static void set_free(struct name_set *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slots[i]);
	free(set->slots);
}

static int list_add(struct dirlist *list, const char *name, int layer, uint64_t d_ino,
		    unsigned char type)
{
	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 32;
		struct dirlist_entry *e = realloc(list->entries, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		list->entries = e;
		list->cap = cap;
	}
	if (!(list->entries[list->n].name = strdup(name)))
		return -ENOMEM;
	list->entries[list->n].d_ino = d_ino;
	list->entries[list->n].layer = layer;
	list->entries[list->n].type = type;
	list->n++;
	return 0;
}

void dirlist_free(struct dirlist *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->entries[i].name);
	free(list->entries);
	memset(list, 0, sizeof(*list));
}

void dir_snapshots_free(struct dir_snapshots *s)
{
	if (!s)
		return;
	for (int i = 0; i < DIR_SNAPSHOTS; i++)
		dirlist_free(&s->slot[i].list);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static bool entry_is_whiteout(int fd, const struct dirent *de)
{
	if (de->d_type != DT_CHR && de->d_type != DT_UNKNOWN)
		return false;
	struct stat st;
	return fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && meta_is_whiteout(&st);
}

static int read_layer(struct ovl *ovl, struct ovl_inode *dir, int l, struct name_set *seen,
		      struct dirlist *list)
{
	int fd = openat(inode_dir_fd(dir, l), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ovl_fail(ovl, "readdir", dir, NULL, l, "openat", errno);
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	bool dot_wh = l != UPPER || ovl->upper_dot_whiteouts;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				return ovl_fail(ovl, "readdir", dir, NULL, l, "getdents64", errno);
			return 0;
		}
		const char *name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, ".wh..wh..opq"))
			continue;
		int r;
		if (dot_wh && !strncmp(name, ".wh.", 4)) {
			/* ".wh..wh..opq" is handled at lookup; ".wh.X" hides X below. */
			if (strcmp(name, ".wh..wh..opq") && (r = set_add(seen, name + 4)) < 0)
				return r;
			continue;
		}
		if ((r = set_add(seen, name)) < 0)
			return r;
		if (r == 0 || entry_is_whiteout(fd, de))
			continue;
		if ((r = list_add(list, name, l, de->d_ino, de->d_type)) < 0)
			return r;
	}
}

int dirlist_read(struct ovl *ovl, struct ovl_inode *dir, struct dirlist *list)
{
	struct name_set seen = { 0 };
	int r = 0;
	memset(list, 0, sizeof(*list));
	int last = __atomic_load_n(&dir->last_layer, __ATOMIC_ACQUIRE);
	for (int l = 0; l <= last && r == 0; l++)
		if (inode_dir_fd(dir, l) >= 0)
			r = read_layer(ovl, dir, l, &seen, list);
	set_free(&seen);
	if (r < 0)
		dirlist_free(list);
	return r;
}

int dirlist_clear_whiteouts(struct ovl *ovl, int upper_dir_fd)
{
	int fd = openat(upper_dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		bool marker = ovl->upper_dot_whiteouts && !strncmp(de->d_name, ".wh.", 4);
		if ((marker || entry_is_whiteout(fd, de)) && unlinkat(fd, de->d_name, 0) < 0)
			return -errno;
	}
	return 0;
}
