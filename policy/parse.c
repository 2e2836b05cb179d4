/* The line grammar of one policy file: [section] headers, include lines and key = value lines,
 * dispatched to the key handlers; unknown sections and keys get a suggestion, and a scalar key
 * set twice in one file is an error (a later file overriding it is the point of include). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy-internal.h"

struct policy_where file_where(struct file_ctx *f, const struct token *t)
{
	return (struct policy_where){ .file = f->file, .line = f->line, .column = t->column };
}

static int enter_section(struct file_ctx *f, const struct token *name)
{
	const char *names[16];
	char buf[128];

	for (size_t i = 0; i < policy_sections_count; i++) {
		names[i] = policy_sections[i].name;
		if (strcmp(name->text, policy_sections[i].name) == 0) {
			f->section = (int)i;
			return 0;
		}
	}
	/* Keys below a bad header are skipped rather than reported one by one. */
	f->section = -2;
	const char *s = suggest_nearest(name->text, names, policy_sections_count, false);
	if (s)
		snprintf(buf, sizeof(buf), "; did you mean '[%s]'?", s);
	return file_error(f, name->column, "unknown section '[%s]'%s", name->text, s ? buf : "");
}

static const struct policy_key *find_key(const struct policy_section *s, const char *name)
{
	for (size_t i = 0; i < s->n_keys; i++)
		if (strcmp(s->keys[i].name, name) == 0)
			return &s->keys[i];
	return NULL;
}

/* For a key in the wrong place, name the section it belongs to: the likeliest mistake. */
static const char *section_of_key(const char *name)
{
	for (size_t i = 0; i < policy_sections_count; i++)
		if (find_key(&policy_sections[i], name))
			return policy_sections[i].name;
	return NULL;
}

static int unknown_key(struct file_ctx *f, const struct policy_section *s, const struct token *t)
{
	const char *home = section_of_key(t->text), *names[32];
	char buf[128];

	if (home)
		return file_error(f, t->column, "key '%s' belongs in [%s], not [%s]", t->text, home,
				  s->name);
	for (size_t i = 0; i < s->n_keys && i < 32; i++)
		names[i] = s->keys[i].name;
	const char *sug = suggest_nearest(t->text, names, s->n_keys < 32 ? s->n_keys : 32, false);
	return file_error(f, t->column, "unknown key '%s' in [%s]%s", t->text, s->name,
			  suggest_fmt(sug, buf, sizeof(buf)));
}

static int parse_key(struct file_ctx *f, struct lex_line *l)
{
	const struct policy_key *k;

	if (f->section == -2)
		return 0;
	if (f->section == -1) {
		const char *home = section_of_key(l->name.text);
		if (home)
			return file_error(f, l->name.column,
					  "key '%s' is outside of any section; put it under [%s]",
					  l->name.text, home);
		return file_error(f, l->name.column,
				  "key '%s' is outside of any section (and no section has it)",
				  l->name.text);
	}
	const struct policy_section *s = &policy_sections[f->section];
	if (!(k = find_key(s, l->name.text)))
		return unknown_key(f, s, &l->name);
	if (k->id != KEY_LIST) {
		if (f->seen_line[k->id])
			return file_error(f, l->name.column,
					  "duplicate key '%s' in [%s] (first set on line %u)",
					  k->name, s->name, f->seen_line[k->id]);
		f->seen_line[k->id] = f->line;
	}
	if (l->n_values == 0)
		return file_error(f, l->name.column, "'%s' needs a value", k->name);
	int r = k->parse(f, k, l->values, l->n_values);
	if (r == 0 && k->id != KEY_LIST)
		f->ld->p->set_at[k->id] = file_where(f, &l->name);
	return r;
}

static int parse_line(struct file_ctx *f, const char *s, size_t len)
{
	struct lex_line l;
	int r;

	if (len > POLICY_MAX_LINE)
		return file_error(f, 0, "line too long (%zu bytes; the limit is %d)", len,
				  POLICY_MAX_LINE);
	r = lex_line(f, s, len, &l);
	if (r == 0) {
		switch (l.kind) {
		case LINE_EMPTY:
			break;
		case LINE_SECTION:
			r = enter_section(f, &l.name);
			break;
		case LINE_INCLUDE:
			if (l.n_values != 1)
				r = file_error(f, l.name.column,
					       "'include' takes one file or profile name");
			else
				r = load_include(f, &l.values[0]);
			break;
		case LINE_KEY:
			r = parse_key(f, &l);
			break;
		}
	}
	lex_line_free(&l);
	return r;
}

/* Returns 0 when the file was read (its errors, if any, are counted in ld), or a fatal -errno.
 */
int parse_file(struct load_ctx *ld, const char *file, const char *data, size_t size)
{
	struct file_ctx f = { .ld = ld, .file = file, .section = -1 };
	size_t skip;
	int r;

	if (size > POLICY_MAX_FILE_SIZE) {
		r = diag_add(ld, file, 0, 0, "file too large (%zu bytes; the limit is %d)", size,
			     POLICY_MAX_FILE_SIZE);
		return r == -EINVAL ? 0 : r;
	}
	r = lex_check_text(&f, data, size, &skip);
	if (r < 0)
		return r == -EINVAL ? 0 : r;

	const char *p = data + skip, *end = data + size;
	for (f.line = 1; p < end && !ld->gave_up; f.line++) {
		const char *nl = memchr(p, '\n', end - p);
		r = parse_line(&f, p, (nl ? nl : end) - p);
		if (r < 0 && r != -EINVAL)
			return r;
		p = nl ? nl + 1 : end;
	}
	return 0;
}
