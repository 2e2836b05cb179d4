/* A strict, small JSON parser (RFC 8259) for importing OCI seccomp profiles. Hostile input is
 * the design case: depth is bounded, every error is a position and a message, and nothing is
 * read past the buffer. The caller has already checked the text is valid UTF-8 without NULs. */
#include "json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *p, *end, *line_start;
	unsigned line;
	struct json_error *err;
	const char *col_p; /* a position on the current line whose column is col_n */
	unsigned col_n;
};

/* Counted on from the last position asked for, so a minified profile on one long line is
 * still read in linear time. */
static unsigned column_at(struct parser *ps, const char *at)
{
	const char *q = ps->line_start;
	unsigned col = 1;
	if (ps->col_p && ps->col_p >= ps->line_start && ps->col_p <= at) {
		q = ps->col_p;
		col = ps->col_n;
	}
	for (; q < at; q++)
		if (((unsigned char)*q & 0xC0) != 0x80)
			col++;
	ps->col_p = at;
	ps->col_n = col;
	return col;
}

static int fail(struct parser *ps, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct parser *ps, const char *at, const char *fmt, ...)
{
	va_list ap;
	ps->err->line = ps->line;
	ps->err->column = column_at(ps, at);
	va_start(ap, fmt);
	vsnprintf(ps->err->message, sizeof(ps->err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end) {
		char c = *ps->p;
		if (c == '\n') {
			ps->line++;
			ps->line_start = ps->p + 1;
		} else if (c != ' ' && c != '\t' && c != '\r')
			return;
		ps->p++;
	}
}

static int hex4(const char *s, unsigned *ret)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*ret = v;
	return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xC0 | (cp >> 6));
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xE0 | (cp >> 12));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*o++ = (char)(0xF0 | (cp >> 18));
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	}
	return o;
}

/* A \uXXXX escape at p (on the backslash), surrogate pairs joined; advances p. */
static int parse_u_escape(struct parser *ps, const char **pp, unsigned *ret)
{
	const char *p = *pp;
	unsigned cp, lo;
	if (ps->end - p < 6 || hex4(p + 2, &cp) < 0)
		return fail(ps, p, "bad \\u escape");
	p += 6;
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return fail(ps, *pp, "lone low surrogate in \\u escape");
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (ps->end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) < 0 ||
		    lo < 0xDC00 || lo > 0xDFFF)
			return fail(ps, *pp, "high surrogate without a low one in \\u escape");
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		p += 6;
	}
	if (cp == 0)
		return fail(ps, *pp, "\\u0000 is not supported");
	*pp = p;
	*ret = cp;
	return 0;
}

static int parse_string(struct parser *ps, char **ret)
{
	const char *p = ps->p + 1, *start = ps->p;
	/* Decoded text is never longer than the escaped text. */
	const char *close = p;
	while (close < ps->end && *close != '"')
		close += *close == '\\' ? 2 : 1;
	if (close >= ps->end)
		return fail(ps, start, "unterminated string");
	char *out = malloc((size_t)(close - p) + 1), *o = out;
	if (!out)
		return -ENOMEM;
	while (*p != '"') {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20) {
			free(out);
			return fail(ps, p, "control character in string");
		}
		if (c != '\\') {
			*o++ = *p++;
			continue;
		}
		static const char esc[] = "\"\\/bfnrt", val[] = "\"\\/\b\f\n\r\t";
		const char *e = strchr(esc, p[1]);
		if (p[1] == 'u') {
			unsigned cp = 0;
			int r = parse_u_escape(ps, &p, &cp);
			if (r < 0) {
				free(out);
				return r;
			}
			o = put_utf8(o, cp);
		} else if (e && p[1]) {
			*o++ = val[e - esc];
			p += 2;
		} else {
			free(out);
			return fail(ps, p, "bad escape in string");
		}
	}
	*o = '\0';
	ps->p = p + 1;
	*ret = out;
	return 0;
}

static const char *digits(const char *p, const char *end)
{
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p;
}

static int parse_number(struct parser *ps, struct json_value *v)
{
	const char *s = ps->p, *p = s, *end = ps->end;
	if (p < end && *p == '-')
		p++;
	if (p >= end || *p < '0' || *p > '9')
		return fail(ps, s, "bad number");
	p = *p == '0' ? p + 1 : digits(p, end);
	if (p < end && *p == '.') {
		const char *q = digits(p + 1, end);
		if (q == p + 1)
			return fail(ps, s, "bad number");
		p = q;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		const char *q = digits(p, end);
		if (q == p)
			return fail(ps, s, "bad number");
		p = q;
	}
	if (!(v->text = strndup(s, (size_t)(p - s))))
		return -ENOMEM;
	v->type = JSON_NUMBER;
	ps->p = p;
	return 0;
}

/* Capacity doubling keeps a hostile 100000-element array linear, not quadratic. */
static void *grow(void *arr, size_t n, size_t size)
{
	if (n && (n & (n - 1)))
		return arr;
	return reallocarray(arr, n ? n * 2 : 4, size);
}

static int parse_value(struct parser *ps, struct json_value *v, unsigned depth);

static int parse_array(struct parser *ps, struct json_value *v, unsigned depth)
{
	v->type = JSON_ARRAY;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == ']') {
		ps->p++;
		return 0;
	}
	for (;;) {
		struct json_value *items = grow(v->items, v->n, sizeof(*items));
		if (!items)
			return -ENOMEM;
		v->items = items;
		memset(&items[v->n], 0, sizeof(*items));
		int r = parse_value(ps, &items[v->n++], depth + 1);
		if (r < 0)
			return r;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == ']') {
			ps->p++;
			return 0;
		}
		return fail(ps, ps->p, "expected ',' or ']' in array");
	}
}

static int parse_object(struct parser *ps, struct json_value *v, unsigned depth)
{
	v->type = JSON_OBJECT;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		return 0;
	}
	for (;;) {
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != '"')
			return fail(ps, ps->p, "expected a string key in object");
		const char *key_at = ps->p;
		struct json_member *m = grow(v->members, v->n, sizeof(*m));
		if (!m)
			return -ENOMEM;
		v->members = m;
		m = memset(&m[v->n++], 0, sizeof(*m));
		int r = parse_string(ps, &m->key);
		if (r < 0)
			return r;
		for (size_t i = 0; i + 1 < v->n; i++)
			if (strcmp(v->members[i].key, m->key) == 0)
				return fail(ps, key_at, "duplicate key \"%.40s\"", m->key);
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != ':')
			return fail(ps, ps->p, "expected ':' after object key");
		ps->p++;
		if ((r = parse_value(ps, &m->value, depth + 1)) < 0)
			return r;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			return 0;
		}
		return fail(ps, ps->p, "expected ',' or '}' in object");
	}
}

static int parse_literal(struct parser *ps, struct json_value *v)
{
	static const struct {
		const char *word;
		enum json_type type;
		bool value;
	} lits[] = { { "true", JSON_BOOL, true },
		     { "false", JSON_BOOL, false },
		     { "null", JSON_NULL, false } };
	for (size_t i = 0; i < 3; i++) {
		size_t len = strlen(lits[i].word);
		if ((size_t)(ps->end - ps->p) >= len && memcmp(ps->p, lits[i].word, len) == 0) {
			v->type = lits[i].type;
			v->boolean = lits[i].value;
			ps->p += len;
			return 0;
		}
	}
	unsigned char c = (unsigned char)*ps->p;
	if (c > 0x20 && c < 0x7F)
		return fail(ps, ps->p, "unexpected character '%c'", c);
	return fail(ps, ps->p, "unexpected byte 0x%02x", c);
}

static int parse_value(struct parser *ps, struct json_value *v, unsigned depth)
{
	skip_ws(ps);
	v->line = ps->line;
	v->column = column_at(ps, ps->p);
	if (ps->p >= ps->end)
		return fail(ps, ps->p, "unexpected end of input");
	if (depth >= JSON_MAX_DEPTH)
		return fail(ps, ps->p, "nested too deeply (the limit is %d)", JSON_MAX_DEPTH);
	switch (*ps->p) {
	case '{':
		return parse_object(ps, v, depth);
	case '[':
		return parse_array(ps, v, depth);
	case '"':
		v->type = JSON_STRING;
		return parse_string(ps, &v->text);
	case '-':
	case '0' ... '9':
		return parse_number(ps, v);
	default:
		return parse_literal(ps, v);
	}
}

int json_parse(const char *data, size_t size, struct json_value *ret, struct json_error *err)
{
	struct parser ps = { data, data + size, data, 1, err, NULL, 0 };
	memset(ret, 0, sizeof(*ret));
	int r = parse_value(&ps, ret, 0);
	if (r == 0) {
		skip_ws(&ps);
		if (ps.p < ps.end)
			r = fail(&ps, ps.p, "unexpected text after the JSON value");
	}
	if (r < 0) {
		json_free(ret);
		memset(ret, 0, sizeof(*ret));
	}
	return r;
}

void json_free(struct json_value *v)
{
	free(v->text);
	for (size_t i = 0; v->type == JSON_ARRAY && i < v->n; i++)
		json_free(&v->items[i]);
	for (size_t i = 0; v->type == JSON_OBJECT && i < v->n; i++) {
		free(v->members[i].key);
		json_free(&v->members[i].value);
	}
	free(v->items);
	free(v->members);
}

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
	for (size_t i = 0; obj->type == JSON_OBJECT && i < obj->n; i++)
		if (strcmp(obj->members[i].key, key) == 0)
			return &obj->members[i].value;
	return NULL;
}

int json_u64(const struct json_value *v, uint64_t *ret)
{
	if (v->type != JSON_NUMBER || !v->text || v->text[0] == '-' || strpbrk(v->text, ".eE"))
		return -EINVAL;
	errno = 0;
	char *end;
	unsigned long long n = strtoull(v->text, &end, 10);
	if (errno || *end)
		return -ERANGE;
	*ret = n;
	return 0;
}

const char *json_type_name(enum json_type t)
{
	static const char *const names[] = { "null",	 "a boolean", "a number",
					     "a string", "an array",  "an object" };
	return names[t];
}
