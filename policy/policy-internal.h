/* Internal model of a resolved policy and the declarations shared by the library's files
 * (loader, lexer, key handlers, OCI import, printer, compilers). Nothing here is public API;
 * the unit tests include it to assert exact resolved results. */
#pragma once

#include <stdarg.h>

#include "policy.h"

#define POLICY_MAX_FILE_SIZE	 (1024 * 1024)
#define POLICY_MAX_LINE		 4096
#define POLICY_MAX_INCLUDE_DEPTH 16
#define POLICY_MAX_ERRORS	 30
#define POLICY_MAX_ARCHES	 4

/* Where a setting came from; file points into policy->files (or is NULL for built-ins). */
struct policy_where {
	const char *file;
	unsigned line, column;
};

enum policy_cmp {
	POLICY_CMP_NE,
	POLICY_CMP_LT,
	POLICY_CMP_LE,
	POLICY_CMP_EQ,
	POLICY_CMP_GE,
	POLICY_CMP_GT,
	POLICY_CMP_MASKED_EQ, /* (arg & mask) == value */
};

struct policy_cond {
	unsigned arg; /* 0..5 */
	enum policy_cmp op;
	uint64_t mask; /* POLICY_CMP_MASKED_EQ only */
	uint64_t value;
};

/* One `allow =`/`deny =` line (or one OCI syscalls[] entry): names as written ("@mount",
 * "openat", "?landlock_create_ruleset"), an action, and conditions that must all hold. */
struct policy_rule {
	struct policy_action action;
	char **names;
	size_t n_names;
	struct policy_cond *conds;
	size_t n_conds;
	struct policy_where where;
	/* OCI includes/excludes.caps: decided once all files are read (kept caps known). */
	uint64_t caps_all, caps_none;
};

/* An entry of the ioctl request or clone flag deny sets. */
struct policy_value_filter {
	uint64_t value;
	struct policy_action action;
	struct policy_where where;
};

struct policy_mount_entry {
	enum policy_mount_kind kind;
	char *path; /* as written, may start with "~" */
	bool optional;
	struct policy_where where;
};

struct policy_env_var {
	char *name;
	char *value; /* NULL: unset */
	struct policy_where where;
};

struct policy_limit {
	bool set;
	rlim_t soft, hard;
};

/* Scalar keys: a second assignment in the same file is an error, a later file overrides. */
enum policy_key_id {
	KEY_SYSCALLS_DEFAULT,
	KEY_NS_NET,
	KEY_NS_IPC,
	KEY_NS_UTS,
	KEY_NS_HOSTNAME,
	KEY_NS_USER_MAP,
	KEY_NS_UID,
	KEY_NS_GID,
	KEY_FS_HOME,
	KEY_ENV_MODE,
	KEY_LIMITS_TIMEOUT,
	KEY_LIMITS_FIRST, /* one per entry of policy_rlimit_names, in that order */
	KEY_MAX = KEY_LIMITS_FIRST + 9,
	KEY_LIST = -1, /* list keys may repeat */
};

#define POLICY_N_RLIMITS 9

struct policy {
	char *name;   /* as given to policy_load */
	char **files; /* every file read, in order; owns the strings policy_where points to */
	size_t n_files;
	struct policy_where set_at[KEY_MAX];
	uint32_t arches[POLICY_MAX_ARCHES];
	size_t n_arches;

	struct policy_action default_action;
	struct policy_rule *rules;
	size_t n_rules;
	struct policy_value_filter *ioctl_deny;
	size_t n_ioctl_deny;
	struct policy_value_filter *clone_deny;
	size_t n_clone_deny;

	uint64_t caps; /* bit n: capability n kept */

	enum policy_net net;
	enum policy_share ipc, uts;
	char *hostname;
	enum policy_user_map user_map;
	uid_t uid;
	gid_t gid;

	enum policy_home home;
	struct policy_mount_entry *mounts;
	size_t n_mounts;

	bool env_clear;
	char **env_allow;
	size_t n_env_allow;
	struct policy_env_var *env;
	size_t n_env;

	struct policy_limit limits[POLICY_N_RLIMITS];
	uint64_t timeout_sec;
};

/* ---- loading state ---- */

struct load_ctx {
	struct policy *p;
	struct policy_diags *diags;
	const struct policy_loader *loader;
	const char *stack[POLICY_MAX_INCLUDE_DEPTH + 1]; /* normalized paths being read */
	size_t depth;
	unsigned n_errors;
	bool gave_up;
	char **syscall_names; /* every name on the filtered arches, built on first suggestion */
	size_t n_syscall_names;
};

struct file_ctx {
	struct load_ctx *ld;
	const char *file; /* interned in policy->files */
	unsigned line;
	int section; /* index into policy_sections, -1 before the first, -2 after a bad one */
	unsigned seen_line[KEY_MAX];
};

struct token {
	char *text;
	unsigned column;
	bool quoted;
};

/* ---- diag.c ---- */
/* Appends a diagnostic; returns -EINVAL (the caller's error is reported) or -ENOMEM. */
int diag_add(struct load_ctx *ld, const char *file, unsigned line, unsigned column, const char *fmt,
	     ...) __attribute__((format(printf, 5, 6)));
int diag_addv(struct load_ctx *ld, const char *file, unsigned line, unsigned column,
	      const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
int file_error(struct file_ctx *f, unsigned column, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The closest of N candidates to WORD by edit distance, or NULL when none is close. */
const char *suggest_nearest(const char *word, const char *const *cands, size_t n, bool icase);
/* "; did you mean 'x'?" or "" (a static string or one inside cands). */
const char *suggest_fmt(const char *s, char *buf, size_t size);

/* ---- policy.c: memory helpers ---- */
struct policy *policy_new(void);
const char *policy_intern_file(struct policy *p, const char *file);
int strv_push(char ***v, size_t *n, const char *s);
void strv_free_n(char **v, size_t n);
void rule_free(struct policy_rule *r);
/* Grows ARR (of N elements) by one zeroed element; returns it or NULL. */
#define VEC_PUSH(arr, n)                                                                           \
	({                                                                                         \
		__typeof__(arr) _t = reallocarray((arr), (n) + 1, sizeof(*(arr)));                 \
		__typeof__(arr) _e = NULL;                                                         \
		if (_t) {                                                                          \
			(arr) = _t;                                                                \
			_e = memset(&(arr)[(n)++], 0, sizeof(*(arr)));                             \
		}                                                                                  \
		_e;                                                                                \
	})

/* ---- names.c: the small name tables ---- */
struct name_value {
	const char *name;
	uint64_t value;
};
extern const struct name_value policy_errno_names[];
extern const size_t policy_errno_names_count;
extern const struct name_value policy_ioctl_names[];
extern const size_t policy_ioctl_names_count;
extern const struct name_value policy_clone_flag_names[];
extern const size_t policy_clone_flag_names_count;
extern const struct name_value policy_rlimit_names[POLICY_N_RLIMITS];
const struct name_value *name_lookup(const struct name_value *t, size_t n, const char *name);
const char *name_of_value(const struct name_value *t, size_t n, uint64_t value);
const char *errno_name(int e); /* NULL when it has none */
/* Capabilities by libcap's names, upper-cased: "CAP_CHOWN". Returns -1 when unknown. */
int cap_by_name(const char *name);
int cap_name(int cap, char *buf, size_t size);
/* All capability names (for suggestions); *ret is a strv of N. */
int cap_names(char ***ret, size_t *n);
void action_format(const struct policy_action *a, char *buf, size_t size);
bool action_equal(const struct policy_action *a, const struct policy_action *b);

/* ---- lexer.c ---- */
/* Rejects binary files: NUL bytes, control characters, invalid UTF-8. 0 or -EINVAL. */
int lex_check_text(struct file_ctx *f, const char *data, size_t size, size_t *ret_skip);
enum line_kind { LINE_EMPTY, LINE_SECTION, LINE_INCLUDE, LINE_KEY };
struct lex_line {
	enum line_kind kind;
	struct token name; /* section name, "include" or the key */
	struct token *values;
	size_t n_values;
	char *buf;
};
int lex_line(struct file_ctx *f, const char *s, size_t len, struct lex_line *out);
void lex_line_free(struct lex_line *l);
unsigned lex_column(const char *line, const char *p);

/* ---- parse.c / keys.c / rules.c ---- */
struct policy_key {
	const char *name;
	int id; /* enum policy_key_id, or KEY_LIST */
	int (*parse)(struct file_ctx *f, const struct policy_key *k, struct token *v, size_t n);
};
struct policy_section {
	const char *name;
	const struct policy_key *keys;
	size_t n_keys;
};
extern const struct policy_section policy_sections[];
extern const size_t policy_sections_count;
extern const struct policy_key policy_syscall_keys[];
extern const size_t policy_syscall_keys_count;
int parse_file(struct load_ctx *ld, const char *file, const char *data, size_t size);
struct policy_where file_where(struct file_ctx *f, const struct token *t);
/* "errno NAME" / "kill" / "allow" in tokens [*i, n): advances *i. */
int parse_action(struct file_ctx *f, const struct token *v, size_t n, size_t *i,
		 struct policy_action *ret);
int parse_errno(struct file_ctx *f, const struct token *t, int *ret);
int parse_u64(const char *s, uint64_t *ret);
int check_syscall_name(struct file_ctx *f, const struct token *t);
/* filters.c: deny-ioctl, allow-ioctl, deny-clone-flags, allow-clone-flags */
int parse_value_filter(struct file_ctx *f, const struct policy_key *k, struct token *v, size_t n);
void policy_set_builtin_defaults(struct policy *p);

/* ---- load.c ---- */
int load_include(struct file_ctx *f, const struct token *t);

/* ---- syscalls.c ---- */
size_t policy_host_arches(uint32_t *out, size_t max);
const char *arch_name(uint32_t arch);
/* 0 known, -ENOENT unknown on every arch of P. */
int syscall_lookup(const struct policy *p, const char *name);
/* Native number (or libseccomp's negative pseudo number) of a known name. */
int syscall_key(const char *name);
const struct syscall_group *group_find(const char *name);
/* Calls FN for every syscall of NAME ("@group" expanded recursively, "?" stripped) that is
 * known on P's arches; returns FN's first non-zero result. */
int syscall_expand(const struct policy *p, const char *name,
		   int (*fn)(const char *syscall, void *userdata), void *userdata);
int syscall_names_for_suggestions(struct load_ctx *ld);

/* ---- resolve.c: the per-syscall view shared by printer and compiler ---- */
struct syscall_state {
	int key; /* syscall_key() */
	const char *name;
	struct policy_action action;
	bool explicit;
	const struct policy_rule *rule;	  /* the last unconditional rule, NULL for the default */
	const struct policy_rule **conds; /* conditional rules after it, in order */
	size_t n_conds;
};
struct syscall_table {
	struct syscall_state *v;
	size_t n;
	int32_t *index; /* open addressing by key: v[] position + 1, 0 = empty */
	size_t n_index;
};
int syscall_table_build(const struct policy *p, struct syscall_table *t);
void syscall_table_free(struct syscall_table *t);
struct syscall_state *syscall_table_find(struct syscall_table *t, const char *name);
struct syscall_state *syscall_table_ensure(const struct policy *p, struct syscall_table *t,
					   const char *name);
/* True when clone3 must fail with ENOSYS because clone flags are filtered. */
bool policy_clone3_enosys(const struct policy *p, const struct policy_action *clone3_action);

/* ---- json.c / oci.c ---- */
int oci_import(struct load_ctx *ld, const char *file, const char *data, size_t size);
int policy_finish_oci(struct load_ctx *ld);
