/* The sections other than [syscalls]: capabilities, namespaces, filesystem, environment and
 * limits. Each key handler validates its values (with a suggestion for near misses) and stores
 * them in the policy; the section table at the end is the grammar's list of keys. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "policy-internal.h"

static int one_value(struct file_ctx *f, const struct policy_key *k, const struct token *v,
		     size_t n)
{
	if (n > 1)
		return file_error(f, v[1].column, "'%s' takes one value", k->name);
	return 0;
}

/* A value out of a fixed set ("none" or "host"). */
static int parse_choice(struct file_ctx *f, const struct policy_key *k, const struct token *v,
			size_t n, const char *const *choices, size_t n_choices, int *ret)
{
	char buf[128], list[128] = "";
	int r = one_value(f, k, v, n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_choices; i++)
		if (strcmp(v[0].text, choices[i]) == 0) {
			*ret = (int)i;
			return 0;
		}
	for (size_t i = 0; i < n_choices; i++) {
		const char *sep = i == 0 ? "" : ", ";
		if (i > 0 && i + 1 == n_choices)
			sep = " or ";
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", sep, choices[i]);
	}
	const char *s = suggest_nearest(v[0].text, choices, n_choices, false);
	return file_error(f, v[0].column, "invalid value '%s' for '%s' (expected %s)%s", v[0].text,
			  k->name, list, suggest_fmt(s, buf, sizeof(buf)));
}

/* ---- [capabilities] ---- */

static int parse_caps(struct file_ctx *f, const struct policy_key *k, struct token *v, size_t n)
{
	struct policy *p = f->ld->p;
	bool keep = strcmp(k->name, "keep") == 0;
	uint64_t set = 0;
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		int c = cap_by_name(v[i].text);
		if (c >= 0) {
			set |= 1ull << c;
			continue;
		}
		char **names = NULL, buf[128];
		size_t nn = 0;
		if (cap_names(&names, &nn) < 0) {
			strv_free_n(names, nn);
			return -ENOMEM;
		}
		const char *s = suggest_nearest(v[i].text, (const char *const *)names, nn, true);
		bad = file_error(f, v[i].column, "unknown capability '%s'%s", v[i].text,
				 suggest_fmt(s, buf, sizeof(buf)));
		strv_free_n(names, nn);
		if (bad != -EINVAL)
			return bad;
	}
	if (bad)
		return bad;
	p->caps = keep ? p->caps | set : p->caps & ~set;
	return 0;
}

/* ---- [namespaces] ---- */

static int parse_ns(struct file_ctx *f, const struct policy_key *k, struct token *v, size_t n)
{
	static const char *const net[] = { "none", "host" }, *const share[] = { "private", "host" },
				 *const map[] = { "single", "subid" };
	struct policy *p = f->ld->p;
	int r, c;

	switch (k->id) {
	case KEY_NS_NET:
		if ((r = parse_choice(f, k, v, n, net, 2, &c)) == 0)
			p->net = (enum policy_net)c;
		return r;
	case KEY_NS_IPC:
	case KEY_NS_UTS:
		if ((r = parse_choice(f, k, v, n, share, 2, &c)) == 0)
			*(k->id == KEY_NS_IPC ? &p->ipc : &p->uts) = (enum policy_share)c;
		return r;
	case KEY_NS_USER_MAP:
		if ((r = parse_choice(f, k, v, n, map, 2, &c)) == 0)
			p->user_map = (enum policy_user_map)c;
		return r;
	}
	return -EINVAL;
}

static int parse_hostname(struct file_ctx *f, const struct policy_key *k, struct token *v, size_t n)
{
	const char *s = v[0].text;
	size_t len = strlen(s);
	int r = one_value(f, k, v, n);
	if (r < 0)
		return r;
	/* RFC 1123 labels; the kernel itself takes any 64 bytes, but tools choke on less. */
	bool ok = len > 0 && len <= 64 && s[0] != '-' && s[0] != '.' && s[len - 1] != '.';
	for (const char *c = s; ok && *c; c++)
		ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		     (*c >= '0' && *c <= '9') || *c == '-' || *c == '.';
	if (!ok)
		return file_error(
			f, v[0].column,
			"invalid hostname '%s' (letters, digits, '-' and '.', at most 64)", s);
	char *copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	free(f->ld->p->hostname);
	f->ld->p->hostname = copy;
	return 0;
}

static int parse_id(struct file_ctx *f, const struct policy_key *k, struct token *v, size_t n)
{
	uint64_t id;
	int r = one_value(f, k, v, n);
	if (r < 0)
		return r;
	/* (uid_t)-1 means "no change" to the kernel; it can never be a mapped id. */
	if (parse_u64(v[0].text, &id) < 0 || id >= 0xFFFFFFFFu)
		return file_error(f, v[0].column, "invalid %s '%s' (0 to 4294967294)", k->name,
				  v[0].text);
	if (k->id == KEY_NS_UID)
		f->ld->p->uid = (uid_t)id;
	else
		f->ld->p->gid = (gid_t)id;
	return 0;
}

/* ---- [filesystem] ---- */

static int parse_home(struct file_ctx *f, const struct policy_key *k, struct token *v, size_t n)
{
	static const char *const modes[] = { "hide", "ro", "rw" };
	int c, r = parse_choice(f, k, v, n, modes, 3, &c);
	if (r == 0)
		f->ld->p->home = (enum policy_home)c;
	return r;
}

/* Absolute or under ~, without "." or ".." (a bind target must not depend on how the path
 * resolves), trailing slashes removed. Writes the clean path into the token. */
static int check_path(struct file_ctx *f, struct token *t, char *s)
{
	size_t len = strlen(s);
	if (!(s[0] == '/' || (s[0] == '~' && (s[1] == '\0' || s[1] == '/'))))
		return file_error(f, t->column, "path '%s' must be absolute or start with '~/'", s);
	while (len > 1 && s[len - 1] == '/')
		s[--len] = '\0';
	if (strcmp(s, "/") == 0)
		return file_error(f, t->column,
				  "'/' itself cannot be mounted over: the sandbox "
				  "chooses the root");
	for (const char *c = s; *c; c++) {
		if (*c != '/')
			continue;
		const char *e = c + 1;
		size_t seg = strcspn(e, "/");
		if (seg == 0 || (seg == 1 && e[0] == '.') ||
		    (seg == 2 && e[0] == '.' && e[1] == '.'))
			return file_error(f, t->column,
					  "path '%s' has an empty, '.' or '..' component", s);
	}
	return 0;
}

static int parse_mounts(struct file_ctx *f, const struct policy_key *k, struct token *v, size_t n)
{
	static const char *const kinds[] = { "ro", "rw", "tmpfs", "hide" };
	struct policy *p = f->ld->p;
	enum policy_mount_kind kind = POLICY_MOUNT_RO;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (strcmp(k->name, kinds[i]) == 0)
			kind = (enum policy_mount_kind)i;
	for (size_t i = 0; i < n; i++)
		if ((r = check_path(f, &v[i], v[i].text + (v[i].text[0] == '?'))) < 0)
			return r;
	for (size_t i = 0; i < n; i++) {
		bool optional = v[i].text[0] == '?';
		const char *path = v[i].text + optional;
		/* One place, one mount: a later line about a path replaces the earlier one. */
		for (size_t j = 0; j < p->n_mounts; j++)
			if (strcmp(p->mounts[j].path, path) == 0) {
				free(p->mounts[j].path);
				memmove(&p->mounts[j], &p->mounts[j + 1],
					(p->n_mounts - j - 1) * sizeof(*p->mounts));
				p->n_mounts--;
				break;
			}
		char *copy = strdup(path);
		struct policy_mount_entry *m = copy ? VEC_PUSH(p->mounts, p->n_mounts) : NULL;
		if (!m) {
			free(copy);
			return -ENOMEM;
		}
		*m = (struct policy_mount_entry){ kind, copy, optional, file_where(f, &v[i]) };
	}
	return 0;
}

/* ---- [environment] ---- */

static bool env_name_ok(const char *s, bool pattern)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (s++; *s; s++) {
		if (pattern && s[0] == '*' && s[1] == '\0')
			return true;
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	}
	return true;
}

static int parse_env_mode(struct file_ctx *f, const struct policy_key *k, struct token *v, size_t n)
{
	static const char *const modes[] = { "keep", "clear" };
	int c, r = parse_choice(f, k, v, n, modes, 2, &c);
	if (r == 0)
		f->ld->p->env_clear = c == 1;
	return r;
}

static int parse_env_allow(struct file_ctx *f, const struct policy_key *k, struct token *v,
			   size_t n)
{
	struct policy *p = f->ld->p;
	(void)k;
	for (size_t i = 0; i < n; i++)
		if (!env_name_ok(v[i].text, true))
			return file_error(f, v[i].column,
					  "invalid variable name or pattern '%s' (NAME or PREFIX*)",
					  v[i].text);
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		for (size_t j = 0; j < p->n_env_allow; j++)
			dup = dup || strcmp(p->env_allow[j], v[i].text) == 0;
		if (!dup && strv_push(&p->env_allow, &p->n_env_allow, v[i].text) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int env_store(struct policy *p, const char *name, size_t len, const char *value,
		     struct policy_where where)
{
	struct policy_env_var *e = NULL;
	for (size_t i = 0; i < p->n_env && !e; i++)
		if (strlen(p->env[i].name) == len && strncmp(p->env[i].name, name, len) == 0)
			e = &p->env[i];
	if (!e) {
		if (!(e = VEC_PUSH(p->env, p->n_env)) || !(e->name = strndup(name, len)))
			return -ENOMEM;
	}
	free(e->value);
	e->value = NULL;
	if (value && !(e->value = strdup(value)))
		return -ENOMEM;
	e->where = where;
	return 0;
}

static int parse_env_set(struct file_ctx *f, const struct policy_key *k, struct token *v, size_t n)
{
	bool set = strcmp(k->name, "set") == 0;
	int r;
	for (size_t i = 0; i < n; i++) {
		char *eq = set ? strchr(v[i].text, '=') : NULL;
		size_t len = eq ? (size_t)(eq - v[i].text) : strlen(v[i].text);
		char name[256];
		if (set && !eq)
			return file_error(f, v[i].column, "expected NAME=VALUE, got '%s'",
					  v[i].text);
		snprintf(name, sizeof(name), "%.*s", (int)len, v[i].text);
		if (len >= sizeof(name) || !env_name_ok(name, false))
			return file_error(f, v[i].column, "invalid variable name '%s'", name);
	}
	for (size_t i = 0; i < n; i++) {
		char *eq = set ? strchr(v[i].text, '=') : NULL;
		size_t len = eq ? (size_t)(eq - v[i].text) : strlen(v[i].text);
		if ((r = env_store(f->ld->p, v[i].text, len, eq ? eq + 1 : NULL,
				   file_where(f, &v[i]))) < 0)
			return r;
	}
	return 0;
}

/* ---- [limits] ---- */

static bool is_size_limit(int resource)
{
	return resource != RLIMIT_NOFILE && resource != RLIMIT_NPROC && resource != RLIMIT_CPU;
}

/* "unlimited", or a number with an optional binary suffix (K, M, G, T) for byte limits. */
static int parse_limit_value(const char *s, bool size, rlim_t *ret)
{
	char digits[32];
	uint64_t v, mult = 1;
	size_t len = strlen(s);

	if (strcmp(s, "unlimited") == 0 || strcmp(s, "infinity") == 0) {
		*ret = RLIM_INFINITY;
		return 0;
	}
	if (len == 0 || len >= sizeof(digits))
		return -EINVAL;
	memcpy(digits, s, len + 1);
	const char *units = "KMGT";
	const char *u = size && len > 1 ? strchr(units, digits[len - 1]) : NULL;
	if (u && *u) {
		for (const char *x = units; x <= u; x++)
			mult *= 1024;
		digits[len - 1] = '\0';
	}
	if (digits[0] < '0' || digits[0] > '9' || parse_u64(digits, &v) < 0)
		return -EINVAL;
	if (v > (RLIM_INFINITY - 1) / mult)
		return -ERANGE;
	*ret = v * mult;
	return 0;
}

static int parse_rlimit(struct file_ctx *f, const struct policy_key *k, struct token *v, size_t n)
{
	size_t idx = (size_t)(k->id - KEY_LIMITS_FIRST);
	bool size = is_size_limit((int)policy_rlimit_names[idx].value);
	struct policy_limit *l = &f->ld->p->limits[idx];
	char soft[64];
	rlim_t s, h;
	int r = one_value(f, k, v, n);
	if (r < 0)
		return r;
	const char *colon = strchr(v[0].text, ':');
	snprintf(soft, sizeof(soft), "%.*s",
		 (int)(colon ? (size_t)(colon - v[0].text) : strlen(v[0].text)), v[0].text);
	if (parse_limit_value(soft, size, &s) < 0 ||
	    parse_limit_value(colon ? colon + 1 : soft, size, &h) < 0)
		return file_error(f, v[0].column,
				  "invalid limit '%s' (expected N, SOFT:HARD or "
				  "unlimited%s)",
				  v[0].text, size ? "; sizes take K, M, G or T" : "");
	if (s > h)
		return file_error(f, v[0].column, "soft limit above the hard limit in '%s'",
				  v[0].text);
	*l = (struct policy_limit){ true, s, h };
	return 0;
}

/* "none", plain seconds, or a sum of numbers with units: "90s", "1h30m", "2d". */
static int parse_duration(const char *s, uint64_t *ret)
{
	static const uint64_t mult[] = { 1, 60, 3600, 86400 };
	uint64_t total = 0;
	bool units = false;

	if (strcmp(s, "none") == 0) {
		*ret = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		uint64_t num = 0, unit = 1;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		for (; *s >= '0' && *s <= '9'; s++)
			if ((num = num * 10 + (uint64_t)(*s - '0')) >= (1ull << 32))
				return -ERANGE;
		if (*s) {
			const char *u = strchr("smhd", *s++);
			if (!u)
				return -EINVAL;
			unit = mult[u - "smhd"];
			units = true;
		} else if (units) {
			return -EINVAL; /* "1h30": thirty what? */
		}
		total += num * unit;
	}
	if (total == 0)
		return -EINVAL;
	*ret = total;
	return 0;
}

static int parse_timeout(struct file_ctx *f, const struct policy_key *k, struct token *v, size_t n)
{
	int r = one_value(f, k, v, n);
	if (r < 0)
		return r;
	if (parse_duration(v[0].text, &f->ld->p->timeout_sec) < 0)
		return file_error(f, v[0].column,
				  "invalid timeout '%s' (e.g. 90s, 30m, 2h, 1h30m or none)",
				  v[0].text);
	return 0;
}

/* ---- the grammar's table of sections and keys ---- */

static const struct policy_key capability_keys[] = {
	{ "keep", KEY_LIST, parse_caps },
	{ "drop", KEY_LIST, parse_caps },
};

static const struct policy_key namespace_keys[] = {
	{ "net", KEY_NS_NET, parse_ns },	   { "ipc", KEY_NS_IPC, parse_ns },
	{ "uts", KEY_NS_UTS, parse_ns },	   { "hostname", KEY_NS_HOSTNAME, parse_hostname },
	{ "user-map", KEY_NS_USER_MAP, parse_ns }, { "uid", KEY_NS_UID, parse_id },
	{ "gid", KEY_NS_GID, parse_id },
};

static const struct policy_key filesystem_keys[] = {
	{ "home", KEY_FS_HOME, parse_home }, { "ro", KEY_LIST, parse_mounts },
	{ "rw", KEY_LIST, parse_mounts },    { "tmpfs", KEY_LIST, parse_mounts },
	{ "hide", KEY_LIST, parse_mounts },
};

static const struct policy_key environment_keys[] = {
	{ "mode", KEY_ENV_MODE, parse_env_mode },
	{ "allow", KEY_LIST, parse_env_allow },
	{ "set", KEY_LIST, parse_env_set },
	{ "unset", KEY_LIST, parse_env_set },
};

static const struct policy_key limit_keys[] = {
	{ "timeout", KEY_LIMITS_TIMEOUT, parse_timeout },
	{ "as", KEY_LIMITS_FIRST + 0, parse_rlimit },
	{ "core", KEY_LIMITS_FIRST + 1, parse_rlimit },
	{ "cpu", KEY_LIMITS_FIRST + 2, parse_rlimit },
	{ "data", KEY_LIMITS_FIRST + 3, parse_rlimit },
	{ "fsize", KEY_LIMITS_FIRST + 4, parse_rlimit },
	{ "memlock", KEY_LIMITS_FIRST + 5, parse_rlimit },
	{ "nofile", KEY_LIMITS_FIRST + 6, parse_rlimit },
	{ "nproc", KEY_LIMITS_FIRST + 7, parse_rlimit },
	{ "stack", KEY_LIMITS_FIRST + 8, parse_rlimit },
};

const struct policy_section policy_sections[] = {
	{ "syscalls", policy_syscall_keys, 7 },
	{ "capabilities", capability_keys, ARRAY_SIZE(capability_keys) },
	{ "namespaces", namespace_keys, ARRAY_SIZE(namespace_keys) },
	{ "filesystem", filesystem_keys, ARRAY_SIZE(filesystem_keys) },
	{ "environment", environment_keys, ARRAY_SIZE(environment_keys) },
	{ "limits", limit_keys, ARRAY_SIZE(limit_keys) },
};
const size_t policy_sections_count = ARRAY_SIZE(policy_sections);
