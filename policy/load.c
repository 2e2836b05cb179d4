/* Finding and reading policy files: a top-level NAME or path, `include` relative to the
 * including file (or a NAME in the search directories), include cycles and depth, OCI .json
 * files, and the final check that turns a read with errors into -EINVAL. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macros.h"
#include "policy-internal.h"

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bool is_path(const char *s)
{
	return strchr(s, '/') || has_suffix(s, ".policy") || has_suffix(s, ".json");
}

/* Policies are small text files: refuse anything else before reading it, so a path like
 * /dev/zero or a FIFO can never hang or exhaust the loader. */
static int read_real_file(void *userdata, const char *path, char **ret_data, size_t *ret_size)
{
	struct stat st;
	(void)userdata;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return negerrno();
	if (fstat(fd, &st) < 0)
		return negerrno();
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size > POLICY_MAX_FILE_SIZE)
		return -EFBIG;
	_cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = RETRY_EINTR(read(fd, buf + got, (size_t)st.st_size - got));
		if (n < 0)
			return negerrno();
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*ret_size = got;
	*ret_data = TAKE_PTR(buf);
	return 0;
}

static int read_file(struct load_ctx *ld, const char *path, char **data, size_t *size)
{
	if (ld->loader && ld->loader->read_file)
		return ld->loader->read_file(ld->loader->userdata, path, data, size);
	return read_real_file(NULL, path, data, size);
}

/* "a/./b/../c" -> "a/c". Purely lexical: cycle detection compares these strings, and a cycle
 * through symlinks still ends at the depth limit. */
static char *normalize_path(const char *path)
{
	bool abs = path[0] == '/';
	char *out = malloc(strlen(path) + 2);
	size_t o = 0, base, fixed;

	if (!out)
		return NULL;
	if (abs)
		out[o++] = '/';
	base = fixed = o; /* fixed: end of leading ".." components, which cannot be popped */
	for (const char *p = path;;) {
		while (*p == '/')
			p++;
		size_t seg = strcspn(p, "/");
		if (seg == 0)
			break;
		if (seg == 2 && p[0] == '.' && p[1] == '.') {
			if (o > fixed) {
				size_t q = o;
				while (q > base && out[q - 1] != '/')
					q--;
				o = q > base ? q - 1 : base;
			} else if (!abs) {
				if (o > base)
					out[o++] = '/';
				memcpy(out + o, "..", 2);
				fixed = o += 2;
			}
		} else if (!(seg == 1 && p[0] == '.')) {
			if (o > base)
				out[o++] = '/';
			memcpy(out + o, p, seg);
			o += seg;
		}
		p += seg;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return out;
}

static char *join_dir(const char *file, const char *rel)
{
	const char *slash = strrchr(file, '/');
	char *s = NULL;
	if (rel[0] == '/' || !slash)
		return strdup(rel);
	if (asprintf(&s, "%.*s/%s", (int)(slash - file), file, rel) < 0)
		return NULL;
	return s;
}

static int read_and_parse(struct load_ctx *ld, const char *file, const char *data, size_t size)
{
	const char *interned = policy_intern_file(ld->p, file);
	if (!interned)
		return -ENOMEM;
	if (has_suffix(file, ".json"))
		return oci_import(ld, interned, data, size);
	return parse_file(ld, interned, data, size);
}

/* Reads PATH (display name FILE) with PATH pushed on the include stack. */
static int load_path(struct load_ctx *ld, const char *path, char *data, size_t size)
{
	int r;
	ld->stack[ld->depth++] = path;
	r = read_and_parse(ld, path, data, size);
	ld->depth--;
	return r;
}

static int search_name(struct load_ctx *ld, const char *first_dir_of, const char *name,
		       char **ret_path, char **ret_data, size_t *ret_size)
{
	_cleanup_free_ char *file = NULL;
	if (asprintf(&file, "%s.policy", name) < 0)
		return -ENOMEM;
	const char *const *dirs = ld->loader ? ld->loader->search_dirs : NULL;
	for (ssize_t i = first_dir_of ? -1 : 0; i < 0 || (dirs && dirs[i]); i++) {
		_cleanup_free_ char *dir_file = NULL, *path = NULL;
		if (i < 0)
			dir_file = join_dir(first_dir_of, file);
		else if (asprintf(&dir_file, "%s/%s", dirs[i], file) < 0)
			dir_file = NULL;
		if (dir_file)
			path = normalize_path(dir_file);
		if (!path)
			return -ENOMEM;
		int r = read_file(ld, path, ret_data, ret_size);
		if (r == -ENOENT)
			continue;
		*ret_path = TAKE_PTR(path);
		return r;
	}
	return -ENOENT;
}

static bool valid_name(const char *s)
{
	if (!*s || *s == '.' || *s == '-')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

/* "no policy named 'buil' (searched: DIRS); did you mean 'build'?" */
static int no_such_name(struct load_ctx *ld, const char *file, unsigned line, unsigned col,
			const char *name)
{
	char searched[512] = "", buf[128];
	char **names = NULL;
	size_t n = 0;
	const char *const *dirs = ld->loader ? ld->loader->search_dirs : NULL;

	for (size_t i = 0; dirs && dirs[i]; i++) {
		snprintf(searched + strlen(searched), sizeof(searched) - strlen(searched), "%s%s",
			 i ? ", " : "", dirs[i]);
		/* Listing directories only makes sense on the real file system. */
		_cleanup_closedir_ DIR *d = ld->loader->read_file ? NULL : opendir(dirs[i]);
		for (struct dirent *de; d && (de = readdir(d));)
			if (has_suffix(de->d_name, ".policy")) {
				de->d_name[strlen(de->d_name) - 7] = '\0';
				if (strv_push(&names, &n, de->d_name) < 0)
					break;
			}
	}
	const char *s = suggest_nearest(name, (const char *const *)names, n, false);
	int r = diag_add(ld, file, line, col, "no policy named '%s' (searched: %s)%s", name,
			 *searched ? searched : "no directories", suggest_fmt(s, buf, sizeof(buf)));
	strv_free_n(names, n);
	return r;
}

int load_include(struct file_ctx *f, const struct token *t)
{
	struct load_ctx *ld = f->ld;
	_cleanup_free_ char *path = NULL, *data = NULL;
	size_t size = 0;
	int r;

	if (!*t->text)
		return file_error(f, t->column, "empty include");
	if (ld->depth >= POLICY_MAX_INCLUDE_DEPTH)
		return file_error(f, t->column, "includes nested too deeply (the limit is %d)",
				  POLICY_MAX_INCLUDE_DEPTH);
	if (is_path(t->text)) {
		_cleanup_free_ char *joined = join_dir(f->file, t->text);
		if (!joined || !(path = normalize_path(joined)))
			return -ENOMEM;
		r = read_file(ld, path, &data, &size);
	} else {
		if (!valid_name(t->text))
			return file_error(f, t->column, "invalid policy name '%s'", t->text);
		r = search_name(ld, f->file, t->text, &path, &data, &size);
		if (r == -ENOENT)
			return no_such_name(ld, f->file, f->line, t->column, t->text);
	}
	if (r == -ENOMEM)
		return r;
	for (size_t i = 0; r >= 0 && i < ld->depth; i++)
		if (strcmp(ld->stack[i], path) == 0) {
			char chain[1024] = "";
			for (size_t j = i; j < ld->depth; j++)
				snprintf(chain + strlen(chain), sizeof(chain) - strlen(chain),
					 "%s -> ", ld->stack[j]);
			return file_error(f, t->column, "include cycle: %s%s", chain, path);
		}
	if (r < 0)
		return file_error(f, t->column, "cannot include '%s': %s", path ? path : t->text,
				  strerror(-r));
	return load_path(ld, path, data, size);
}

static int load_top(struct load_ctx *ld, const char *name_or_path, const char *data, size_t size)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	int r;

	if (data) {
		if (!(path = normalize_path(name_or_path)))
			return -ENOMEM;
		ld->stack[ld->depth++] = path;
		r = read_and_parse(ld, path, data, size);
		ld->depth--;
		return r;
	}
	if (is_path(name_or_path)) {
		if (!(path = normalize_path(name_or_path)))
			return -ENOMEM;
		r = read_file(ld, path, &buf, &size);
	} else {
		if (!valid_name(name_or_path))
			return diag_add(ld, NULL, 0, 0, "invalid policy name '%s'", name_or_path);
		r = search_name(ld, NULL, name_or_path, &path, &buf, &size);
		if (r == -ENOENT)
			return no_such_name(ld, NULL, 0, 0, name_or_path);
	}
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return diag_add(ld, path, 0, 0, "cannot read policy: %s", strerror(-r));
	return load_path(ld, path, buf, size);
}

static int load(const char *name_or_path, const char *data, size_t size,
		const struct policy_loader *loader, struct policy **ret, struct policy_diags *diags)
{
	struct load_ctx ld = { .diags = diags, .loader = loader };
	int r;

	*ret = NULL;
	if (!(ld.p = policy_new()) || !(ld.p->name = strdup(name_or_path))) {
		policy_free(ld.p);
		return -ENOMEM;
	}
	r = load_top(&ld, name_or_path, data, size);
	if (r >= 0 || r == -EINVAL)
		r = policy_finish_oci(&ld);
	strv_free_n(ld.syscall_names, ld.n_syscall_names);
	if (r >= 0 && ld.n_errors)
		r = -EINVAL;
	if (r < 0) {
		policy_free(ld.p);
		return r;
	}
	*ret = ld.p;
	return 0;
}

int policy_load(const char *name_or_path, const struct policy_loader *loader, struct policy **ret,
		struct policy_diags *diags)
{
	return load(name_or_path, NULL, 0, loader, ret, diags);
}

int policy_load_buffer(const char *file_name, const char *data, size_t size,
		       const struct policy_loader *loader, struct policy **ret,
		       struct policy_diags *diags)
{
	return load(file_name, data ? data : "", size, loader, ret, diags);
}
