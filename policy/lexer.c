/* Lexical layer of the policy format: rejects what is not text (NUL, control bytes, invalid
 * UTF-8) and splits one line into a section header, an include, or key = values, with the
 * character column of every token for diagnostics. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy-internal.h"

/* Columns count characters, not bytes, so they match what an editor shows. */
unsigned lex_column(const char *line, const char *p)
{
	unsigned col = 1;
	for (const char *q = line; q < p; q++)
		if (((unsigned char)*q & 0xC0) != 0x80)
			col++;
	return col;
}

/* Length of the UTF-8 sequence at S (RFC 3629: no overlongs, no surrogates, <= U+10FFFF), or
 * 0 when it is invalid. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;
		if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

/* One pass over the bytes; the column is computed only for the one byte reported. */
int lex_check_text(struct file_ctx *f, const char *data, size_t size, size_t *ret_skip)
{
	const unsigned char *s = (const unsigned char *)data;
	size_t i = 0, line_start = 0, n;

	f->line = 1;
	if (size >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		i = line_start = 3; /* a byte order mark some editors write */
	*ret_skip = i;
	for (; i < size; i += n) {
		unsigned char c = s[i];
		n = 1;
		if (c == '\n') {
			f->line++;
			line_start = i + 1;
			continue;
		}
		if (c == 0 || (c == '\r' && (i + 1 >= size || s[i + 1] != '\n')) ||
		    (c < 0x20 && c != '\t' && c != '\r') || c == 0x7F ||
		    (c >= 0x80 && !(n = utf8_len(s + i, size - i))))
			break;
	}
	if (i >= size)
		return 0;
	unsigned col = lex_column(data + line_start, data + i);
	if (s[i] == 0)
		return file_error(f, col, "NUL byte: a policy must be a text file");
	if (s[i] == '\r')
		return file_error(f, col, "carriage return not followed by a newline");
	if (s[i] < 0x80)
		return file_error(f, col, "control character 0x%02x", s[i]);
	return file_error(f, col, "invalid UTF-8 (byte 0x%02x)", s[i]);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static const char *skip_blank(const char *p, const char *end)
{
	while (p < end && is_blank(*p))
		p++;
	return p;
}

/* One quoted string starting at *pp (on the '"'); decodes \" and \\ into OUT. */
static int lex_quoted(struct file_ctx *f, const char *line, const char **pp, const char *end,
		      char *out)
{
	const char *p = *pp + 1;
	while (p < end && *p != '"') {
		if (*p == '\\') {
			if (p + 1 >= end || (p[1] != '"' && p[1] != '\\'))
				return file_error(f, lex_column(line, p),
						  "unknown escape in quoted string (only \\\" and "
						  "\\\\ are allowed)");
			p++;
		}
		*out++ = *p++;
	}
	if (p >= end)
		return file_error(f, lex_column(line, *pp), "unterminated quoted string");
	*out = '\0';
	p++;
	if (p < end && !is_blank(*p))
		return file_error(f, lex_column(line, p),
				  "expected white space after a quoted string");
	*pp = p;
	return 0;
}

/* The values after "key =" or "include": words and quoted strings up to a comment. */
static int lex_values(struct file_ctx *f, struct lex_line *out, const char *line, const char *p,
		      const char *end)
{
	/* Columns advance with the tokens: a line of thousands of words stays linear. */
	const char *col_at = line;
	unsigned col = 1;
	for (;;) {
		p = skip_blank(p, end);
		if (p >= end || *p == '#')
			return 0;
		struct token *t = VEC_PUSH(out->values, out->n_values);
		if (!t)
			return -ENOMEM;
		col += lex_column(col_at, p) - 1;
		col_at = p;
		t->column = col;
		t->text = out->buf + (p - line);
		if (*p == '"') {
			t->quoted = true;
			int r = lex_quoted(f, line, &p, end, t->text);
			if (r < 0)
				return r;
			continue;
		}
		const char *w = p;
		while (p < end && !is_blank(*p)) {
			if (*p == '"')
				return file_error(f, lex_column(line, p),
						  "unexpected '\"' inside a word");
			p++;
		}
		memcpy(t->text, w, p - w);
		t->text[p - w] = '\0';
	}
}

static int lex_section(struct file_ctx *f, struct lex_line *out, const char *line, const char *p,
		       const char *end)
{
	const char *close = memchr(p, ']', end - p);
	if (!close)
		return file_error(f, lex_column(line, p), "missing ']' after the section name");
	const char *a = skip_blank(p + 1, close), *b = close;
	while (b > a && is_blank(b[-1]))
		b--;
	out->kind = LINE_SECTION;
	out->name.column = lex_column(line, a);
	out->name.text = out->buf + (a - line);
	memcpy(out->name.text, a, b - a);
	out->name.text[b - a] = '\0';
	p = skip_blank(close + 1, end);
	if (p < end && *p != '#')
		return file_error(f, lex_column(line, p),
				  "unexpected text after the section header");
	return 0;
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

int lex_line(struct file_ctx *f, const char *line, size_t len, struct lex_line *out)
{
	const char *end = line + len, *p;

	memset(out, 0, sizeof(*out));
	if (len && line[len - 1] == '\r')
		end--; /* CRLF files parse like LF files */
	out->buf = malloc(len + 1);
	if (!out->buf)
		return -ENOMEM;
	p = skip_blank(line, end);
	if (p >= end || *p == '#')
		return 0;
	if (*p == '[')
		return lex_section(f, out, line, p, end);

	const char *w = p;
	while (p < end && !is_blank(*p) && *p != '=')
		p++;
	out->name.column = lex_column(line, w);
	out->name.text = out->buf + (w - line);
	memcpy(out->name.text, w, p - w);
	out->name.text[p - w] = '\0';
	const char *after = skip_blank(p, end);

	if (strcmp(out->name.text, "include") == 0 && (after >= end || *after != '=')) {
		out->kind = LINE_INCLUDE;
		return lex_values(f, out, line, after, end);
	}
	for (const char *c = w; c < p; c++)
		if (!is_key_char(*c))
			return file_error(
				f, out->name.column,
				"expected 'key = value', '[section]' or 'include', got '%s'",
				out->name.text);
	if (after >= end || *after != '=')
		return file_error(f, lex_column(line, after), "expected '=' after '%s'",
				  out->name.text);
	out->kind = LINE_KEY;
	return lex_values(f, out, line, after + 1, end);
}

void lex_line_free(struct lex_line *l)
{
	free(l->values);
	free(l->buf);
	l->values = NULL;
	l->buf = NULL;
}
