/* The -o option string: splitting with backslash escapes, our options, fuse-overlayfs
 * compatibility options, and the generic mount options we pass on to libfuse. */
#include "options.h"

#include "../common/fuse_read.h"
#include "../common/oneline.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ovl_options_init(struct ovl_options *o)
{
	memset(o, 0, sizeof(*o));
	/* Every change to the layers passes through this daemon and the kernel sees it, so the
	 * kernel's caches may trust what we told it for long (fuse-overlayfs does the same). */
	o->timeout = 86400.0;
	o->fsync = true;
	/* The kernel's writeback cache: the biggest gain for writes. Data an application wrote
	 * but has not closed or fsynced yet lives in the kernel until then, so a daemon killed
	 * meanwhile loses it, and close() says EIO (doc/daemon.md, "Writeback cache"). */
	o->writeback = true;
	o->max_read = ANTARES_MAX_READ;
	o->blksize = ANTARES_BLKSIZE;
	/* Taken whenever the kernel offers it: root turned it on for the whole machine
	 * (daemon/uring.c). */
	o->io_uring = true;
}

void ovl_options_free(struct ovl_options *o)
{
	for (size_t i = 0; i < o->n_lower; i++)
		free(o->lowerdirs[i]);
	free(o->lowerdirs);
	free(o->upperdir);
	free(o->workdir);
	free(o->fuse_opts);
	ovl_options_init(o);
}

/* Copy [s, s+len) into a new string, turning "\X" into "X" (so "\," and "\:" can appear in
 * paths, as fuse-overlayfs and kernel overlayfs allow). */
static char *unescape(const char *s, size_t len)
{
	char *out = malloc(len + 1), *w = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		*w++ = s[i];
	}
	*w = '\0';
	return out;
}

/* Length of the next item of S up to an unescaped SEP. */
static size_t item_len(const char *s, char sep)
{
	size_t i = 0;
	while (s[i] && s[i] != sep) {
		if (s[i] == '\\' && s[i + 1])
			i++;
		i++;
	}
	return i;
}

static int parse_lowerdir(struct ovl_options *o, const char *v, char *err, size_t errlen)
{
	for (size_t i = 0; i < o->n_lower; i++)
		free(o->lowerdirs[i]);
	free(o->lowerdirs);
	o->lowerdirs = NULL;
	o->n_lower = 0;
	for (;;) {
		size_t n = item_len(v, ':');
		if (n == 0) {
			snprintf(err, errlen,
				 "lowerdir has an empty entry: give directories separated by ':'");
			return -EINVAL;
		}
		char **grown = realloc(o->lowerdirs, (o->n_lower + 1) * sizeof(char *));
		if (!grown)
			return -ENOMEM;
		o->lowerdirs = grown;
		if (!(o->lowerdirs[o->n_lower] = unescape(v, n)))
			return -ENOMEM;
		o->n_lower++;
		if (!v[n])
			return 0;
		v += n + 1;
	}
}

static int set_string(char **dst, const char *v, const char *key, char *err, size_t errlen)
{
	if (!*v) {
		snprintf(err, errlen, "option %s= needs a value", key);
		return -EINVAL;
	}
	free(*dst);
	*dst = unescape(v, strlen(v));
	return *dst ? 0 : -ENOMEM;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* Hand KEY[=V] on to libfuse. libfuse splits its option string at every ',' and decodes '\X'
 * (and octal '\NNN') within an option, so V is unescaped our way first and escaped its way
 * again: passed through raw, a trailing '\' (-o fsname=x\ -o ro) swallowed the next option
 * (the mount came up read-write) and '\054' meant ',' to libfuse alone. Found by
 * tests/fuzz/fuzz-overlayd-options.c. */
static int append_fuse_opt(struct ovl_options *o, const char *key, const char *v)
{
	char *val = v ? unescape(v, strlen(v)) : NULL;
	if (v && !val)
		return -ENOMEM;
	size_t old = o->fuse_opts ? strlen(o->fuse_opts) : 0;
	char *s = realloc(o->fuse_opts, old + strlen(key) + (val ? 2 * strlen(val) + 1 : 0) + 2);
	if (!s) {
		free(val);
		return -ENOMEM;
	}
	o->fuse_opts = s;
	if (old)
		s[old++] = ',';
	s += old + sprintf(s + old, "%s%s", key, val ? "=" : "");
	for (const char *c = val; c && *c; c++) {
		if (*c == ',' || *c == '\\')
			*s++ = '\\';
		*s++ = *c;
	}
	*s = '\0';
	free(val);
	return 0;
}

/* Generic mount options libfuse understands; handed through unchanged. */
static const char *const fuse_flags[] = {
	"ro",	 "rw",	   "dev",     "nodev",	 "suid",  "nosuid",    "exec",
	"noexec", "sync", "async",   "dirsync", "atime", "noatime",   "allow_other",
	"allow_root", "default_permissions", "auto_unmount", NULL,
};
static const char *const fuse_valued[] = { "fsname",	  "subtype",	"context",
					   "fscontext", "defcontext", "rootcontext",
					   NULL };
/* Options mount(8), fstab or podman pass that mean nothing to a FUSE daemon. */
static const char *const ignored_flags[] = { "defaults", "auto",   "noauto", "user",
					     "users",	 "nouser", "_netdev", "nofail",
					     "relatime", "strictatime", "lazytime", NULL };
/* fuse-overlayfs tuning options whose effect we get anyway; accepted for compatibility. */
static const char *const compat_hints[] = { "fast_ino", "threaded", "plugins",
					    "xattr_permissions", NULL };
/* fuse-overlayfs options that would change what the mount shows; refused rather than
 * silently ignored, so nobody trusts a mapping that is not applied. */
static const char *const unsupported[] = { "uidmapping", "gidmapping", "squash_to_root",
					   "squash_to_uid", "squash_to_gid", "static_nlink",
					   NULL };

static bool in_list(const char *const *list, const char *key)
{
	for (; *list; list++)
		if (!strcmp(*list, key))
			return true;
	return false;
}

/* V as a decimal number of at most MAX, digits only: 0, or -1. */
static int parse_count(const char *v, unsigned long long max, unsigned long long *n)
{
	errno = 0;
	*n = strtoull(v, NULL, 10);
	if (!*v || strspn(v, "0123456789") != strlen(v) || errno || *n > max)
		return -1;
	return 0;
}

static int parse_one(struct ovl_options *o, char *item, char *err, size_t errlen)
{
	char *eq = strchr(item, '=');
	const char *v = eq ? eq + 1 : NULL;
	if (eq)
		*eq = '\0';
	const char *key = item;

	if (!strcmp(key, "lowerdir") || !strcmp(key, "upperdir") || !strcmp(key, "workdir")) {
		if (!v) {
			snprintf(err, errlen, "option %s needs a value: %s=DIR", key, key);
			return -EINVAL;
		}
		if (!strcmp(key, "lowerdir"))
			return parse_lowerdir(o, v, err, errlen);
		return set_string(!strcmp(key, "upperdir") ? &o->upperdir : &o->workdir, v, key,
				  err, errlen);
	}
	if (!strcmp(key, "timeout")) {
		char *end;
		double t = v ? strtod(v, &end) : -1;
		if (!v || *end || !(t >= 0 && t <= 86400)) {
			snprintf(err, errlen, "option timeout= needs seconds between 0 and 86400");
			return -EINVAL;
		}
		o->timeout = t;
		return 0;
	}
	if (!strcmp(key, "fsync")) {
		if (!v || parse_bool(v, &o->fsync) < 0) {
			snprintf(err, errlen, "option fsync= takes 0 or 1");
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "writeback")) {
		if (v && parse_bool(v, &o->writeback) < 0) {
			snprintf(err, errlen, "option writeback= takes 0 or 1");
			return -EINVAL;
		}
		if (!v)
			o->writeback = true;
		return 0;
	}
	if (!strcmp(key, "io_uring")) {
		if (v && parse_bool(v, &o->io_uring) < 0) {
			snprintf(err, errlen, "option io_uring= takes 0 or 1");
			return -EINVAL;
		}
		if (!v)
			o->io_uring = true;
		return 0;
	}
	if (!strcmp(key, "squash_unmapped") && !v) {
		o->squash_unmapped = true;
		return 0;
	}
	if (!strcmp(key, "volatile") && !v) {
		o->fsync = false;
		return 0;
	}
	if (!strcmp(key, "noacl") && !v) {
		o->noacl = true;
		return 0;
	}
	if (!strcmp(key, "userxattr") && !v) {
		o->userxattr = true;
		return 0;
	}
	if (!strcmp(key, "metacopy")) {
		if (!v || (strcmp(v, "on") && strcmp(v, "off"))) {
			snprintf(err, errlen, "option metacopy= takes on or off");
			return -EINVAL;
		}
		o->metacopy = !strcmp(v, "on");
		return 0;
	}
	if (!strcmp(key, "noxattrs")) {
		bool b = true;
		if (v && parse_bool(v, &b) < 0) {
			snprintf(err, errlen, "option noxattrs= takes 0 or 1");
			return -EINVAL;
		}
		o->noxattrs = b;
		return 0;
	}
	if (in_list(unsupported, key)) {
		snprintf(err, errlen,
			 "option %s is not supported by antares-overlayd: use a user namespace "
			 "with the id mapping you need instead",
			 key);
		return -EINVAL;
	}
	if (in_list(compat_hints, key) || in_list(ignored_flags, key) || !strncmp(key, "x-", 2) ||
	    !strcmp(key, "comment"))
		return 0;
	char shown[256], shown_v[256];
	if (!strcmp(key, "max_read") && v) {
		/* Kept here rather than handed through: libfuse wants the same number again from
		 * the daemon at INIT (ops.c). */
		unsigned long long n;
		if (parse_count(v, UINT_MAX, &n) < 0) {
			snprintf(err, errlen,
				 "option max_read= needs a number of bytes up to %u, got '%s'",
				 UINT_MAX, text_one_line(v, shown_v, sizeof(shown_v)));
			return -EINVAL;
		}
		o->max_read = (unsigned)n;
		return 0;
	}
	if (!strcmp(key, "blksize") && v) {
		unsigned long long n;
		if (parse_count(v, ANTARES_BLKSIZE_MAX, &n) < 0 ||
		    (n != 0 && (n < 512 || (n & (n - 1))))) {
			snprintf(err, errlen,
				 "option blksize= needs a power of two from 512 to %u bytes, or 0 for "
				 "the layer's own, got '%s'",
				 ANTARES_BLKSIZE_MAX, text_one_line(v, shown_v, sizeof(shown_v)));
			return -EINVAL;
		}
		o->blksize = (unsigned)n;
		return 0;
	}
	if ((!v && in_list(fuse_flags, key)) || (v && in_list(fuse_valued, key)))
		return append_fuse_opt(o, key, v);
	snprintf(err, errlen, "unknown option '%s%s%s': see antares-overlayd --help",
		 text_one_line(key, shown, sizeof(shown)), v ? "=" : "",
		 v ? text_one_line(v, shown_v, sizeof(shown_v)) : "");
	return -EINVAL;
}

int ovl_options_parse(struct ovl_options *o, const char *optstring, char *err, size_t errlen)
{
	const char *s = optstring;
	while (*s) {
		size_t n = item_len(s, ',');
		if (n > 0) {
			/* Keep escapes: values are unescaped by the option that owns them. */
			char *item = strndup(s, n);
			if (!item)
				return -ENOMEM;
			int r = parse_one(o, item, err, errlen);
			free(item);
			if (r < 0)
				return r;
		}
		if (!s[n])
			break;
		s += n + 1;
	}
	return 0;
}

int ovl_options_check(const struct ovl_options *o, char *err, size_t errlen)
{
	if (o->n_lower == 0) {
		snprintf(err, errlen, "missing lowerdir=: give at least one lower directory");
		return -EINVAL;
	}
	if (o->upperdir && !o->workdir) {
		snprintf(err, errlen,
			 "upperdir= needs workdir=: an empty directory on the upper's filesystem");
		return -EINVAL;
	}
	if (o->workdir && !o->upperdir) {
		snprintf(err, errlen, "workdir= given without upperdir=: add upperdir=DIR, or drop "
				      "workdir= for a read-only mount");
		return -EINVAL;
	}
	return 0;
}
