/* Helpers shared by the policy unit tests: TAP output, and an in-memory file system handed to
 * the loader so every case (includes and cycles too) is hermetic and its diagnostics exact. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static int n_test, n_fail;

static bool ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool ok(bool cond, const char *fmt, ...)
{
	va_list ap;
	n_test++;
	if (!cond)
		n_fail++;
	printf("%s %d - ", cond ? "ok" : "not ok", n_test);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return cond;
}

static int done(void)
{
	printf("1..%d\n", n_test);
	return n_fail ? 1 : 0;
}

/* Compares strings; on a mismatch prints both as TAP comments. */
static bool is_str(const char *got, const char *want, const char *what)
{
	bool same = got && strcmp(got, want) == 0;
	if (!ok(same, "%s", what)) {
		printf("# want: %s\n# got:  %s\n", want, got ? got : "(null)");
	}
	return same;
}

struct memfile {
	const char *path;
	const char *data;
	size_t size; /* 0: strlen(data) */
};

static int mem_read(void *userdata, const char *path, char **ret_data, size_t *ret_size)
{
	for (const struct memfile *f = userdata; f->path; f++) {
		if (strcmp(f->path, path) != 0)
			continue;
		size_t n = f->size ? f->size : strlen(f->data);
		char *d = malloc(n + 1);
		if (!d)
			return -ENOMEM;
		memcpy(d, f->data, n);
		*ret_data = d;
		*ret_size = n;
		return 0;
	}
	return -ENOENT;
}

static const char *const test_search_dirs[] = { "/profiles", NULL };

/* Loads FILES[0] (by its path) with FILES as the whole file system; returns every diagnostic,
 * one per line (malloc'ed; "" when there were none), and the policy in *ret when not NULL. */
static char *load_files(const struct memfile *files, struct policy **ret)
{
	struct policy_loader loader = { test_search_dirs, mem_read, (void *)files };
	struct policy_diags diags = { 0 };
	struct policy *p = NULL;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	int r = policy_load(files[0].path, &loader, &p, &diags);
	for (size_t i = 0; i < diags.n; i++) {
		char *s = policy_diag_format(&diags.items[i]);
		fprintf(f, "%s%s", i ? "\n" : "", s);
		free(s);
	}
	if (r < 0 && r != -EINVAL)
		fprintf(f, "%serror %d", diags.n ? "\n" : "", r);
	fclose(f);
	policy_diags_clear(&diags);
	if (ret)
		*ret = p;
	else
		policy_free(p);
	return out;
}

/* One file called main.policy. */
__attribute__((unused)) static char *load_text(const char *text, struct policy **ret)
{
	struct memfile files[] = { { "main.policy", text, 0 }, { 0 } };
	return load_files(files, ret);
}

__attribute__((unused)) static void expect_diag(const char *text, const char *want,
						const char *what)
{
	char *got = load_text(text, NULL);
	is_str(got, want, what);
	free(got);
}
