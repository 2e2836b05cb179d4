/* Diagnostics: the file:line:column messages every policy error becomes, the cap on how many one
 * load reports, and "did you mean" suggestions by edit distance. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "policy-internal.h"

char *policy_diag_format(const struct policy_diag *d)
{
	char *s = NULL;
	int r;

	if (!d->file)
		r = asprintf(&s, "%s", d->message);
	else if (d->line == 0)
		r = asprintf(&s, "%s: %s", d->file, d->message);
	else if (d->column == 0)
		r = asprintf(&s, "%s:%u: %s", d->file, d->line, d->message);
	else
		r = asprintf(&s, "%s:%u:%u: %s", d->file, d->line, d->column, d->message);
	return r < 0 ? NULL : s;
}

void policy_diags_print(const struct policy_diags *diags, FILE *out)
{
	for (size_t i = 0; i < diags->n; i++) {
		_cleanup_free_ char *s = policy_diag_format(&diags->items[i]);
		fprintf(out, "%s\n", s ? s : diags->items[i].message);
	}
}

void policy_diags_clear(struct policy_diags *diags)
{
	for (size_t i = 0; i < diags->n; i++) {
		free(diags->items[i].file);
		free(diags->items[i].message);
	}
	free(diags->items);
	diags->items = NULL;
	diags->n = 0;
}

static int diag_push(struct policy_diags *diags, const char *file, unsigned line, unsigned column,
		     char *message)
{
	struct policy_diag *d = VEC_PUSH(diags->items, diags->n);
	if (!d) {
		free(message);
		return -ENOMEM;
	}
	d->message = message;
	d->line = line;
	d->column = column;
	if (file && !(d->file = strdup(file)))
		return -ENOMEM;
	return 0;
}

int diag_addv(struct load_ctx *ld, const char *file, unsigned line, unsigned column,
	      const char *fmt, va_list ap)
{
	char *msg;
	int r;

	/* A binary or badly broken file would otherwise produce thousands of lines; stop at a
	 * number a person reads, and say that we stopped. */
	if (ld->gave_up)
		return -EINVAL;
	if (++ld->n_errors > POLICY_MAX_ERRORS) {
		ld->gave_up = true;
		msg = strdup("too many errors; stopping");
		if (!msg)
			return -ENOMEM;
		r = diag_push(ld->diags, file, line, 0, msg);
		return r < 0 ? r : -EINVAL;
	}
	if (vasprintf(&msg, fmt, ap) < 0)
		return -ENOMEM;
	r = diag_push(ld->diags, file, line, column, msg);
	return r < 0 ? r : -EINVAL;
}

int diag_add(struct load_ctx *ld, const char *file, unsigned line, unsigned column, const char *fmt,
	     ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = diag_addv(ld, file, line, column, fmt, ap);
	va_end(ap);
	return r;
}

int file_error(struct file_ctx *f, unsigned column, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = diag_addv(f->ld, f->file, f->line, column, fmt, ap);
	va_end(ap);
	return r;
}

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions, which is how
 * most typos look: "opneat"). Inputs are short names, so two rows of ints on the stack do;
 * longer words are not worth a suggestion. */
#define SUGGEST_MAX_LEN 64

static unsigned edit_distance(const char *a, const char *b, bool icase)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned d[3][SUGGEST_MAX_LEN + 1];

	if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN)
		return ~0u;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		unsigned *cur = d[i % 3], *prev = d[(i - 1) % 3], *prev2 = d[(i + 1) % 3];
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			char ca = icase ? tolower((unsigned char)a[i - 1]) : a[i - 1];
			char cb = icase ? tolower((unsigned char)b[j - 1]) : b[j - 1];
			unsigned cost = ca != cb;
			unsigned v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (prev[j - 1] + cost < v)
				v = prev[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
	}
	return d[la % 3][lb];
}

const char *suggest_nearest(const char *word, const char *const *cands, size_t n, bool icase)
{
	/* Close enough to be a typo: one edit for short words, up to a third of the word. */
	size_t len = strlen(word);
	unsigned limit = len < 4 ? 1 : len / 3 < 3 ? len / 3 : 3;
	const char *best = NULL;
	unsigned best_d = ~0u;

	if (limit == 0)
		limit = 1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = edit_distance(word, cands[i], icase);
		/* Ties go to the alphabetically first name so output never depends on table
		 * order. */
		if (d < best_d || (d == best_d && best && strcmp(cands[i], best) < 0)) {
			best_d = d;
			best = cands[i];
		}
	}
	return best && best_d <= limit && best_d > 0 ? best : NULL;
}

const char *suggest_fmt(const char *s, char *buf, size_t size)
{
	if (!s)
		return "";
	snprintf(buf, size, "; did you mean '%s'?", s);
	return buf;
}
