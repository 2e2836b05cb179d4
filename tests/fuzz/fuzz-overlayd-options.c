/* libFuzzer target for antares-overlayd's -o parser (daemon/options.c). Each input is split
 * at NUL bytes (which no argv string can hold) and used twice:
 *  1. As command-line -o strings, one per piece: parsed and checked like main.c does. Beyond crashes, leaks, UB and hangs, a finding is a
 *     broken invariant: an error without a message, or a message of more than one line; an
 *     accepted configuration without a lower layer, with an empty layer path, with upperdir
 *     and workdir not both set, or a timeout outside [0, 86400]; generic mount options that
 *     libfuse would read differently from what was accepted (another number of options, or
 *     an option that is not one of the generic ones, as its fuse_opt_parse splits them).
 *  2. As layer paths, one per piece: escaped as the man page says (a backslash before ',', ':'
 *     and '\'), joined into lowerdir=, upperdir= and workdir=, parsed: every path must come
 *     back byte for byte. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

#define MAX_LINES 8

/* The generic options options.c hands to libfuse (its fuse_flags and fuse_valued lists). */
static const char *const generic_flags[] = {
	"ro",	   "rw",      "dev",	 "nodev",	 "suid",	"nosuid",
	"exec",	   "noexec",  "sync",	 "async",	 "dirsync",	"atime",
	"noatime", "allow_other", "allow_root", "default_permissions", "auto_unmount", NULL,
};
/* max_read= is a generic option too, but kept in the options (o.max_read), not handed on. */
static const char *const generic_valued[] = { "fsname",	   "subtype",	 "context",
					      "fscontext", "defcontext", "rootcontext",
					      NULL };

static bool in_list(const char *const *l, const char *s, size_t n)
{
	for (; *l; l++)
		if (strlen(*l) == n && !memcmp(*l, s, n))
			return true;
	return false;
}

/* Split the next piece off [*p, end), up to a NUL byte, as a string. */
static char *next_line(const char **p, const char *end)
{
	const char *nl = memchr(*p, '\0', (size_t)(end - *p));
	size_t n = (size_t)((nl ? nl : end) - *p);
	char *s = strndup(*p, n);
	*p = nl ? nl + 1 : end;
	if (!s)
		abort();
	return s;
}

/* How many items of one -o string name a generic option, split as the man page says
 * (commas not preceded by a backslash; a backslash escapes the next character). */
static size_t count_generic(const char *s)
{
	size_t count = 0;
	while (*s) {
		size_t i = 0;
		while (s[i] && s[i] != ',') {
			if (s[i] == '\\' && s[i + 1])
				i++;
			i++;
		}
		const char *eq = memchr(s, '=', i);
		size_t klen = eq ? (size_t)(eq - s) : i;
		if (i && (eq ? in_list(generic_valued, s, klen) : in_list(generic_flags, s, klen)))
			count++;
		if (!s[i])
			break;
		s += i + 1;
	}
	return count;
}

/* Split the generic option string the way libfuse's fuse_opt_parse does
 * (process_real_option_group): at every ',', with "\X" and octal "\NNN" decoded inside an
 * option. Each option must be a generic flag or "key=" of a generic valued option. Returns
 * the number of options, or -1 when one is not a generic option. */
static long libfuse_split(const char *opts)
{
	char *copy = strdup(opts), *s = copy, *d = copy, *start = copy;
	long n = 0;
	bool end = false, bad = false;
	if (!copy)
		abort();
	while (!end) {
		if (*s == '\0')
			end = true;
		if (*s == ',' || end) {
			*d = '\0';
			const char *eq = strchr(start, '=');
			size_t klen = eq ? (size_t)(eq - start) : strlen(start);
			if (eq ? !in_list(generic_valued, start, klen) : !in_list(generic_flags, start, klen))
				bad = true;
			n++;
			d = start = s + 1;
		} else if (s[0] == '\\' && s[1] != '\0') {
			s++;
			if (s[0] >= '0' && s[0] <= '3' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' &&
			    s[2] <= '7') {
				*d++ = (char)((s[0] - '0') * 0100 + (s[1] - '0') * 010 + (s[2] - '0'));
				s += 2;
			} else {
				*d++ = *s;
			}
		} else {
			*d++ = *s;
		}
		s++;
	}
	free(copy);
	return bad ? -1 : n;
}

static void check_message(int r, const char *err)
{
	if (r != -EINVAL && r != -ENOMEM)
		abort(); /* only these are documented */
	if (r == -EINVAL && (!err[0] || strchr(err, '\n')))
		abort(); /* the user gets exactly one line naming the problem */
}

static void fuzz_command_line(const char *data, size_t size)
{
	struct ovl_options o;
	char err[512];
	const char *p = data, *end = data + size;
	size_t generic = 0;
	int r = 0;
	ovl_options_init(&o);
	for (int i = 0; i < MAX_LINES && p < end && r == 0; i++) {
		char *line = next_line(&p, end);
		err[0] = '\0';
		if ((r = ovl_options_parse(&o, line, err, sizeof(err))) < 0)
			check_message(r, err);
		else
			generic += count_generic(line);
		free(line);
	}
	if (r == 0 && (r = ovl_options_check(&o, err, sizeof(err))) < 0)
		check_message(r, err);
	if (r == 0) {
		if (o.n_lower < 1 || !o.lowerdirs)
			abort();
		for (size_t i = 0; i < o.n_lower; i++)
			if (!o.lowerdirs[i] || !o.lowerdirs[i][0])
				abort();
		if (!o.upperdir != !o.workdir || (o.upperdir && (!o.upperdir[0] || !o.workdir[0])))
			abort();
		if (!(o.timeout >= 0 && o.timeout <= 86400))
			abort();
		long n = o.fuse_opts ? libfuse_split(o.fuse_opts) : 0;
		if (n < 0 || (size_t)n != generic)
			abort(); /* libfuse would not see the options that were accepted */
	}
	ovl_options_free(&o);
}

/* Append S to the buffer at *W with ',', ':' and '\' escaped. */
static void put_escaped(char **w, const char *s)
{
	for (; *s; s++) {
		if (*s == ',' || *s == ':' || *s == '\\')
			*(*w)++ = '\\';
		*(*w)++ = *s;
	}
}

static void fuzz_round_trip(const char *data, size_t size)
{
	char *paths[MAX_LINES];
	size_t n = 0, total = 0;
	const char *p = data, *end = data + size;
	while (n < MAX_LINES && p < end) {
		char *line = next_line(&p, end);
		if (!line[0]) {
			free(line); /* an empty layer path is refused, rightly */
			continue;
		}
		total += strlen(line);
		paths[n++] = line;
	}
	if (n >= 3) {
		/* paths[0] upper, paths[1] work, the rest lower, topmost first. */
		char *s = malloc(2 * total + 64 + n), *w = s;
		if (!s)
			abort();
		w += sprintf(w, "lowerdir=");
		for (size_t i = 2; i < n; i++) {
			if (i > 2)
				*w++ = ':';
			put_escaped(&w, paths[i]);
		}
		w += sprintf(w, ",upperdir=");
		put_escaped(&w, paths[0]);
		w += sprintf(w, ",workdir=");
		put_escaped(&w, paths[1]);
		*w = '\0';
		struct ovl_options o;
		char err[512];
		ovl_options_init(&o);
		if (ovl_options_parse(&o, s, err, sizeof(err)) < 0 ||
		    ovl_options_check(&o, err, sizeof(err)) < 0 || o.n_lower != n - 2 ||
		    strcmp(o.upperdir, paths[0]) || strcmp(o.workdir, paths[1]))
			abort();
		for (size_t i = 2; i < n; i++)
			if (strcmp(o.lowerdirs[i - 2], paths[i]))
				abort();
		ovl_options_free(&o);
		free(s);
	}
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_command_line((const char *)data, size);
	fuzz_round_trip((const char *)data, size);
	return 0;
}
