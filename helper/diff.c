/* Reading an upper layer the way overlayfs does: a character device 0/0 or a ".wh.NAME" file
 * deletes NAME, an opaque directory (trusted/user.overlay.opaque = "y", or ".wh..wh..opq")
 * hides everything below it in the lower layers. A file present in both is "modified" only if
 * type, mode, owner, size, mtime, content or link target differ: a copy-up alone is no change. */
#include "diff.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util.h"

struct change {
	char kind; /* 'A', 'M', 'D' */
	char *path;
};

struct diff {
	const int *lower_fds;
	size_t n_lowers;
	struct change *v;
	size_t n, cap;
};

static int add(struct diff *d, char kind, const char *path, bool dir)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct change *v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->v = v, d->cap = cap;
	}
	if (asprintf(&d->v[d->n].path, "%s%s", path, dir ? "/" : "") < 0)
		return -ENOMEM;
	d->v[d->n++].kind = kind;
	return 0;
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(int dfd)
{
	static const char *const names[] = { "trusted.overlay.opaque", "user.overlay.opaque" };
	char p[64], v[8];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", dfd);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		ssize_t n = getxattr(p, names[i], v, sizeof(v));
		if (n == 1 && v[0] == 'y')
			return true;
	}
	return faccessat(dfd, ".wh..wh..opq", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The topmost lower copy of PATH: its layer fd, or -1 when no lower has it. */
static int lower_find(const struct diff *d, const char *path, struct stat *st)
{
	for (size_t i = 0; i < d->n_lowers; i++) {
		if (fstatat(d->lower_fds[i], path, st, AT_SYMLINK_NOFOLLOW) == 0)
			return is_whiteout(st) ? -1 : d->lower_fds[i];
	}
	return -1;
}

static bool same_content(int afd, const char *apath, int bfd, const char *bpath, off_t size)
{
	_cleanup_close_ int a = openat(afd, apath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int b = openat(bfd, bpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (a < 0 || b < 0)
		return false;
	char x[65536], y[65536];
	for (off_t done = 0; done < size;) {
		ssize_t n = read(a, x, sizeof(x)), m = n > 0 ? read(b, y, (size_t)n) : -1;
		if (n <= 0 || m != n || memcmp(x, y, (size_t)n))
			return false;
		done += n;
	}
	return true;
}

static bool same_file(int ufd, const char *path, const struct stat *u, int lfd, const struct stat *l)
{
	if ((u->st_mode & S_IFMT) != (l->st_mode & S_IFMT) || u->st_mode != l->st_mode ||
	    u->st_uid != l->st_uid || u->st_gid != l->st_gid)
		return false;
	if (S_ISDIR(u->st_mode))
		return true; /* a directory copied up for its children did not change itself */
	if (u->st_size != l->st_size || u->st_mtim.tv_sec != l->st_mtim.tv_sec ||
	    u->st_mtim.tv_nsec != l->st_mtim.tv_nsec)
		return false;
	if (S_ISLNK(u->st_mode)) {
		char a[4096], b[4096];
		ssize_t n = readlinkat(ufd, path, a, sizeof(a)), m = readlinkat(lfd, path, b, sizeof(b));
		return n == m && n >= 0 && !memcmp(a, b, (size_t)n);
	}
	return !S_ISREG(u->st_mode) || same_content(ufd, path, lfd, path, u->st_size);
}

static int walk_upper(struct diff *d, int upper, const char *dir);

/* Every lower entry below directory PATH, reported as KIND ('D' under a deletion or an opaque
 * directory), skipping names the upper directory UPDIR (-1: none) still has. */
static int walk_lower(struct diff *d, const char *path, int updir, char kind)
{
	struct stat st;
	int lfd = lower_find(d, path, &st);
	if (lfd < 0 || !S_ISDIR(st.st_mode))
		return 0;
	int dfd = openat(lfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_closedir_ DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!dir)
		return 0;
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (updir >= 0 && fstatat(updir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		char child[4096];
		snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
		struct stat cst;
		bool isdir = fstatat(dirfd(dir), de->d_name, &cst, AT_SYMLINK_NOFOLLOW) == 0 &&
			     S_ISDIR(cst.st_mode);
		r = add(d, kind, child + 2, isdir); /* paths start with "./" */
		if (r == 0 && isdir)
			r = walk_lower(d, child, -1, kind);
	}
	return r;
}

static int deleted(struct diff *d, const char *path)
{
	struct stat st;
	if (lower_find(d, path, &st) < 0)
		return 0; /* a whiteout over nothing: no change visible */
	int r = add(d, 'D', path + 2, S_ISDIR(st.st_mode));
	return r == 0 && S_ISDIR(st.st_mode) ? walk_lower(d, path, -1, 'D') : r;
}

static int entry(struct diff *d, int upper, int dfd, const char *path, const char *name)
{
	struct stat st, lst;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (is_whiteout(&st))
		return deleted(d, path);
	int lfd = lower_find(d, path, &lst);
	bool dir = S_ISDIR(st.st_mode);
	if (lfd < 0 || (dir && !S_ISDIR(lst.st_mode))) {
		if (lfd >= 0)
			deleted(d, path);
		int r = add(d, 'A', path + 2, dir);
		return r == 0 && dir ? walk_upper(d, upper, path) : r;
	}
	if (!same_file(upper, path, &st, lfd, &lst)) {
		int r = add(d, 'M', path + 2, dir);
		if (r < 0)
			return r;
	}
	return dir ? walk_upper(d, upper, path) : 0;
}

static int walk_upper(struct diff *d, int upper, const char *path)
{
	int dfd = openat(upper, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return step_fail(negerrno(), NULL, "--diff: read %s in the upper layer", path);
	bool opaque = is_opaque(dfd);
	_cleanup_closedir_ DIR *dir = fdopendir(dfd);
	if (!dir)
		return close(dfd), negerrno();
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(dir))) {
		const char *n = de->d_name;
		if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, ".wh..wh..opq"))
			continue;
		char child[4096];
		if (!strncmp(n, ".wh.", 4)) {
			snprintf(child, sizeof(child), "%s/%s", path, n + 4);
			r = deleted(d, child);
			continue;
		}
		snprintf(child, sizeof(child), "%s/%s", path, n);
		r = entry(d, upper, dirfd(dir), child, n);
	}
	if (r == 0 && opaque && strcmp(path, "."))
		r = walk_lower(d, path, dirfd(dir), 'D');
	return r;
}

static int cmp_change(const void *a, const void *b)
{
	return strcmp(((const struct change *)a)->path, ((const struct change *)b)->path);
}

int diff_print(const char *upper, const char *const *lowers, size_t n_lowers, FILE *out)
{
	int fds[65];
	struct diff d = { .lower_fds = fds, .n_lowers = 0 };
	int r = 0;
	_cleanup_close_ int ufd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ufd < 0 && errno == ENOENT)
		return 0; /* nothing ran since the last --reset: no change */
	if (ufd < 0)
		return step_fail(negerrno(), NULL, "--diff: open %s", upper);
	for (size_t i = 0; i < n_lowers && i < 64 && r == 0; i++) {
		fds[i] = open(lowers[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		r = fds[i] < 0 ? step_fail(negerrno(), NULL, "--diff: open %s", lowers[i]) : 0;
		d.n_lowers += r == 0;
	}
	if (r == 0)
		r = walk_upper(&d, ufd, ".");
	if (r == 0) {
		qsort(d.v, d.n, sizeof(*d.v), cmp_change);
		for (size_t i = 0; i < d.n; i++)
			fprintf(out, "%c %s\n", d.v[i].kind, d.v[i].path);
	}
	for (size_t i = 0; i < d.n; i++)
		free(d.v[i].path);
	free(d.v);
	for (size_t i = 0; i < d.n_lowers; i++)
		close(fds[i]);
	return r;
}
