/* Inode table: a hash of live inodes keyed by their topmost copy, with lookup counts from the
 * kernel and internal references. The table lock is a leaf lock: no syscall runs under it. */
#include "inode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirlist.h"
#include "ovl.h"
#include "writefds.h"

int inode_table_init(struct inode_table *t)
{
	pthread_mutex_init(&t->lock, NULL);
	t->n_buckets = 1 << 14;
	t->count = 0;
	t->all = NULL;
	t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
	return t->buckets ? 0 : -ENOMEM;
}

static size_t bucket_of(const struct inode_table *t, int layer, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull;
	h ^= ((uint64_t)dev << 7) ^ (uint64_t)layer;
	h ^= h >> 29;
	return (size_t)(h & (t->n_buckets - 1));
}

/* Double the bucket array when chains get long; called with the lock held. */
static void maybe_grow(struct inode_table *t)
{
	if (t->count < t->n_buckets * 2)
		return;
	size_t n = t->n_buckets * 2;
	struct ovl_inode **b = calloc(n, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	struct ovl_inode **old = t->buckets;
	size_t old_n = t->n_buckets;
	t->buckets = b;
	t->n_buckets = n;
	for (size_t i = 0; i < old_n; i++)
		for (struct ovl_inode *e = old[i], *next; e; e = next) {
			next = e->hash_next;
			size_t k = bucket_of(t, e->key_layer, e->key_dev, e->key_ino);
			e->hash_next = b[k];
			b[k] = e;
		}
	free(old);
}

static struct ovl_inode *find_locked(struct inode_table *t, int layer, dev_t dev, ino_t ino)
{
	for (struct ovl_inode *e = t->buckets[bucket_of(t, layer, dev, ino)]; e; e = e->hash_next)
		if (e->key_layer == layer && e->key_dev == dev && e->key_ino == ino)
			return e;
	return NULL;
}

static void unlink_locked(struct inode_table *t, struct ovl_inode *ino)
{
	struct ovl_inode **p = &t->buckets[bucket_of(t, ino->key_layer, ino->key_dev, ino->key_ino)];
	for (; *p; p = &(*p)->hash_next)
		if (*p == ino) {
			*p = ino->hash_next;
			t->count--;
			return;
		}
}

struct ovl_inode *inode_find(struct inode_table *t, int layer, dev_t dev, ino_t ino)
{
	pthread_mutex_lock(&t->lock);
	struct ovl_inode *e = find_locked(t, layer, dev, ino);
	if (e)
		e->refs++;
	pthread_mutex_unlock(&t->lock);
	return e;
}

struct ovl_inode *inode_find_held(struct inode_table *t, int layer, dev_t dev, ino_t ino)
{
	pthread_mutex_lock(&t->lock);
	struct ovl_inode *e = find_locked(t, layer, dev, ino);
	if (e && e->nlookup > 0)
		e->refs++;
	else
		e = NULL;
	pthread_mutex_unlock(&t->lock);
	return e;
}

struct ovl_inode *inode_insert(struct inode_table *t, struct ovl_inode *ino)
{
	pthread_mutex_lock(&t->lock);
	struct ovl_inode *e = find_locked(t, ino->key_layer, ino->key_dev, ino->key_ino);
	if (e) {
		e->refs++;
	} else {
		size_t k = bucket_of(t, ino->key_layer, ino->key_dev, ino->key_ino);
		ino->hash_next = t->buckets[k];
		t->buckets[k] = ino;
		t->count++;
		list_push(&t->all, &ino->all);
		maybe_grow(t);
		e = ino;
	}
	pthread_mutex_unlock(&t->lock);
	return e;
}

void inode_unhash(struct inode_table *t, struct ovl_inode *ino)
{
	pthread_mutex_lock(&t->lock);
	unlink_locked(t, ino);
	pthread_mutex_unlock(&t->lock);
}

void inode_rehash(struct inode_table *t, struct ovl_inode *ino)
{
	pthread_mutex_lock(&t->lock);
	if (!find_locked(t, ino->key_layer, ino->key_dev, ino->key_ino)) {
		size_t k = bucket_of(t, ino->key_layer, ino->key_dev, ino->key_ino);
		ino->hash_next = t->buckets[k];
		t->buckets[k] = ino;
		t->count++;
	}
	pthread_mutex_unlock(&t->lock);
}

void inode_rekey(struct inode_table *t, struct ovl_inode *ino, int layer, dev_t dev, ino_t i)
{
	pthread_mutex_lock(&t->lock);
	unlink_locked(t, ino);
	ino->key_layer = layer;
	ino->key_dev = dev;
	ino->key_ino = i;
	size_t k = bucket_of(t, layer, dev, i);
	ino->hash_next = t->buckets[k];
	t->buckets[k] = ino;
	t->count++;
	pthread_mutex_unlock(&t->lock);
}

struct ovl_inode *inode_new(struct ovl *ovl, mode_t type)
{
	struct ovl_inode *ino = calloc(1, sizeof(*ino));
	if (!ino)
		return NULL;
	ino->type = type & S_IFMT;
	ino->refs = 1;
	ino->last_layer = ovl->n_layers - 1;
	ino->data_fd = -1;
	ino->meta_fd = -1;
	ino->write_fd = -1;
	pthread_mutex_init(&ino->lock, NULL);
	pthread_mutex_init(&ino->copyup_lock, NULL);
	if (S_ISDIR(type)) {
		ino->dir_fds = malloc(sizeof(int) * (size_t)ovl->n_layers);
		if (!ino->dir_fds) {
			free(ino);
			return NULL;
		}
		for (int l = 0; l < ovl->n_layers; l++)
			ino->dir_fds[l] = -1;
	}
	return ino;
}

static void release(struct ovl *ovl, struct ovl_inode *ino, uint64_t n, uint64_t r);

static void free_aliases(struct ovl *ovl, struct ovl_alias *a)
{
	while (a) {
		struct ovl_alias *next = a->next;
		release(ovl, a->parent, 0, 1);
		free(a->name);
		free(a);
		a = next;
	}
}

static void destroy(struct ovl *ovl, struct ovl_inode *ino)
{
	free_aliases(ovl, ino->aliases);
	if (ino->dir_fds) {
		for (int l = 0; l < ovl->n_layers; l++)
			if (ino->dir_fds[l] >= 0)
				close(ino->dir_fds[l]);
		free(ino->dir_fds);
	}
	dir_snapshots_free(ino->listings);
	writefds_drop(ovl, ino);
	if (ino->data_fd >= 0) {
		close(ino->data_fd);
		__atomic_fetch_sub(&ovl->data_fds, 1, __ATOMIC_RELAXED);
	}
	if (ino->meta_fd >= 0)
		close(ino->meta_fd);
	while (ino->retired) {
		struct retired_fd *next = ino->retired->next;
		close(ino->retired->fd);
		free(ino->retired);
		ino->retired = next;
	}
	free(ino->name);
	free(ino->data_path);
	pthread_mutex_destroy(&ino->lock);
	pthread_mutex_destroy(&ino->copyup_lock);
	free(ino);
}

void inode_free(struct ovl *ovl, struct ovl_inode *ino)
{
	struct ovl_inode *parent = ino->parent;
	destroy(ovl, ino);
	if (parent)
		inode_unref(ovl, parent);
}

void inode_table_destroy(struct ovl *ovl)
{
	struct inode_table *t = &ovl->table;
	if (!t->buckets)
		return;
	/* No other thread is left: free each inode on its own, not through release(), whose
	 * reference walk would visit parents that are freed here too. */
	for (struct list_node *node = t->all, *next; node; node = next) {
		next = node->next;
		struct ovl_inode *ino = container_of(node, struct ovl_inode, all);
		for (struct ovl_alias *a = ino->aliases, *an; a; a = an) {
			an = a->next;
			free(a->name);
			free(a);
		}
		ino->aliases = NULL;
		destroy(ovl, ino);
	}
	t->all = NULL;
	free(t->buckets);
	t->buckets = NULL;
	pthread_mutex_destroy(&t->lock);
}

void inode_ref(struct inode_table *t, struct ovl_inode *ino)
{
	pthread_mutex_lock(&t->lock);
	ino->refs++;
	pthread_mutex_unlock(&t->lock);
}

void inode_add_lookup(struct inode_table *t, struct ovl_inode *ino)
{
	pthread_mutex_lock(&t->lock);
	ino->nlookup++;
	pthread_mutex_unlock(&t->lock);
}

/* Drop N lookups and R references; free the inode (and walk up to its parent, iteratively so
 * deep trees cannot overflow the stack) when nothing holds it any more. */
static void release(struct ovl *ovl, struct ovl_inode *ino, uint64_t n, uint64_t r)
{
	struct inode_table *t = &ovl->table;
	while (ino) {
		pthread_mutex_lock(&t->lock);
		ino->nlookup = ino->nlookup > n ? ino->nlookup - n : 0;
		ino->refs -= r;
		bool dead = ino->nlookup == 0 && ino->refs == 0;
		if (dead) {
			unlink_locked(t, ino);
			list_unlink(&ino->all);
		}
		pthread_mutex_unlock(&t->lock);
		if (!dead)
			return;
		struct ovl_inode *parent = ino->parent;
		destroy(ovl, ino);
		ino = parent;
		n = 0;
		r = 1;
	}
}

void inode_unref(struct ovl *ovl, struct ovl_inode *ino)
{
	release(ovl, ino, 0, 1);
}

void inode_forget(struct ovl *ovl, struct ovl_inode *ino, uint64_t n)
{
	release(ovl, ino, n, 0);
}

static bool same_name(struct ovl_inode *p1, const char *n1, struct ovl_inode *p2, const char *n2)
{
	return p1 == p2 && n1 && n2 && !strcmp(n1, n2);
}

int inode_set_location(struct ovl *ovl, struct ovl_inode *ino, struct ovl_inode *parent,
		       const char *name)
{
	struct ovl_alias *stale = NULL;
	pthread_mutex_lock(&ino->lock);
	if (same_name(ino->parent, ino->name, parent, name)) {
		pthread_mutex_unlock(&ino->lock);
		return 0;
	}
	/* Already known as an alias: swap it to the front. */
	for (struct ovl_alias *a = ino->aliases; a; a = a->next)
		if (same_name(a->parent, a->name, parent, name)) {
			struct ovl_inode *tp = ino->parent;
			char *tn = ino->name;
			ino->parent = a->parent;
			ino->name = a->name;
			a->parent = tp;
			a->name = tn;
			pthread_mutex_unlock(&ino->lock);
			return 0;
		}
	pthread_mutex_unlock(&ino->lock);

	char *copy = strdup(name);
	struct ovl_alias *old = malloc(sizeof(*old));
	if (!copy || !old) {
		free(copy);
		free(old);
		return -ENOMEM;
	}
	if (parent)
		inode_ref(&ovl->table, parent);
	pthread_mutex_lock(&ino->lock);
	old->parent = ino->parent;
	old->name = ino->name;
	ino->parent = parent;
	ino->name = copy;
	if (old->parent && !S_ISDIR(ino->type)) {
		old->next = ino->aliases;
		ino->aliases = old;
		old = NULL;
	}
	pthread_mutex_unlock(&ino->lock);
	if (old) {
		stale = old;
		stale->next = NULL;
		if (stale->parent)
			free_aliases(ovl, stale);
		else {
			free(stale->name);
			free(stale);
		}
	}
	return 0;
}

bool inode_known_as(struct ovl_inode *ino, struct ovl_inode *parent, const char *name)
{
	pthread_mutex_lock(&ino->lock);
	bool known = same_name(ino->parent, ino->name, parent, name);
	for (struct ovl_alias *a = ino->aliases; a && !known; a = a->next)
		known = same_name(a->parent, a->name, parent, name);
	pthread_mutex_unlock(&ino->lock);
	return known;
}

bool inode_has_name(struct ovl_inode *ino)
{
	pthread_mutex_lock(&ino->lock);
	bool named = ino->parent != NULL;
	pthread_mutex_unlock(&ino->lock);
	return named;
}

void inode_drop_location(struct ovl *ovl, struct ovl_inode *ino, struct ovl_inode *parent,
			 const char *name)
{
	struct ovl_alias *gone = NULL;
	struct ovl_inode *old_parent = NULL;
	char *old_name = NULL;
	pthread_mutex_lock(&ino->lock);
	if (same_name(ino->parent, ino->name, parent, name) && !ino->aliases) {
		/* Its last known name is gone. The kernel may still send operations on this inode
		 * (a path resolved just before the unlink or rename-over); through the old name they
		 * would reach whatever takes it next: another file, or a whiteout (a type change
		 * the kernel answers with EIO). Without a name they fail with ENOENT. */
		old_parent = ino->parent;
		old_name = ino->name;
		ino->parent = NULL;
		ino->name = NULL;
	} else if (same_name(ino->parent, ino->name, parent, name) && ino->aliases) {
		/* Promote another name; the dropped primary becomes the node to free. */
		gone = ino->aliases;
		ino->aliases = gone->next;
		struct ovl_inode *tp = ino->parent;
		char *tn = ino->name;
		ino->parent = gone->parent;
		ino->name = gone->name;
		gone->parent = tp;
		gone->name = tn;
	} else {
		for (struct ovl_alias **a = &ino->aliases; *a; a = &(*a)->next)
			if (same_name((*a)->parent, (*a)->name, parent, name)) {
				gone = *a;
				*a = gone->next;
				break;
			}
	}
	pthread_mutex_unlock(&ino->lock);
	if (gone) {
		gone->next = NULL;
		free_aliases(ovl, gone);
	}
	free(old_name);
	if (old_parent)
		release(ovl, old_parent, 0, 1);
}

int inode_move_location(struct ovl *ovl, struct ovl_inode *ino, struct ovl_inode *oldp,
			const char *oldname, struct ovl_inode *newp, const char *newname)
{
	int r = inode_set_location(ovl, ino, newp, newname);
	if (r == 0)
		inode_drop_location(ovl, ino, oldp, oldname);
	return r;
}

struct ovl_inode *inode_get_location(struct ovl *ovl, struct ovl_inode *ino, char *buf,
				     size_t len)
{
	pthread_mutex_lock(&ino->lock);
	struct ovl_inode *parent = ino->parent;
	if (parent)
		inode_ref(&ovl->table, parent);
	snprintf(buf, len, "%s", ino->name ? ino->name : "");
	pthread_mutex_unlock(&ino->lock);
	return parent;
}
