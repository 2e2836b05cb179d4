/* A minimal JSON reader for OCI seccomp profiles: a strict RFC 8259 parser into a small tree,
 * with line/column on every value, bounded depth, and numbers kept as text so 64-bit integers
 * stay exact. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_member;

struct json_value {
	enum json_type type;
	unsigned line, column;
	bool boolean;
	char *text; /* JSON_STRING: decoded UTF-8 (no NUL inside); JSON_NUMBER: as written */
	struct json_value *items;    /* JSON_ARRAY */
	struct json_member *members; /* JSON_OBJECT */
	size_t n;
};

struct json_member {
	char *key;
	struct json_value value;
};

struct json_error {
	unsigned line, column;
	char message[128];
};

#define JSON_MAX_DEPTH 64

/* Parses exactly one value (surrounded by white space only). Returns 0, -EINVAL with ERR
 * filled in, or -ENOMEM. */
int json_parse(const char *data, size_t size, struct json_value *ret, struct json_error *err);
void json_free(struct json_value *v);
/* The member KEY of an object, or NULL. */
const struct json_value *json_get(const struct json_value *obj, const char *key);
/* A non-negative integer without fraction or exponent that fits 64 bits. */
int json_u64(const struct json_value *v, uint64_t *ret);
const char *json_type_name(enum json_type t);
