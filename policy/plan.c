/* The helper's plan: namespaces, the mount list ("~" expanded with the home directory the
 * caller passes, parents before children), environment, limits and kept capabilities, as plain
 * data; and applying the environment part to an environment block. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "policy-internal.h"

void policy_plan_free(struct policy_plan *plan)
{
	if (!plan)
		return;
	free(plan->hostname);
	for (size_t i = 0; i < plan->n_mounts; i++)
		free(plan->mounts[i].path);
	free(plan->mounts);
	policy_strv_free(plan->env_allow);
	policy_strv_free(plan->env_set);
	policy_strv_free(plan->env_unset);
	free(plan->rlimits);
	free(plan->caps);
	free(plan);
}

static char *expand_home(const char *path, const char *home)
{
	char *s = NULL;
	if (path[0] != '~')
		return strdup(path);
	if (asprintf(&s, "%s%s", home, path + 1) < 0)
		return NULL;
	return s;
}

static unsigned depth(const char *path)
{
	unsigned d = 0;
	for (; *path; path++)
		d += *path == '/';
	return d;
}

static int push_mount(struct policy_plan *plan, enum policy_mount_kind kind, char *path,
		      bool optional)
{
	/* The same place twice (e.g. home and "rw = ~"): the later, explicit entry wins. */
	for (size_t i = 0; i < plan->n_mounts; i++)
		if (strcmp(plan->mounts[i].path, path) == 0) {
			free(plan->mounts[i].path);
			memmove(&plan->mounts[i], &plan->mounts[i + 1],
				(plan->n_mounts - i - 1) * sizeof(*plan->mounts));
			plan->n_mounts--;
			break;
		}
	struct policy_mount *m = VEC_PUSH(plan->mounts, plan->n_mounts);
	if (!m) {
		free(path);
		return -ENOMEM;
	}
	*m = (struct policy_mount){ kind, path, optional };
	return 0;
}

static int plan_mounts(const struct policy *p, const char *home, struct policy_plan *plan,
		       struct load_ctx *ld)
{
	static const enum policy_mount_kind home_kind[] = {
		[POLICY_HOME_HIDE] = POLICY_MOUNT_HIDE,
		[POLICY_HOME_RO] = POLICY_MOUNT_RO,
		[POLICY_HOME_RW] = POLICY_MOUNT_RW,
	};
	_cleanup_free_ char *h = home ? strdup(home) : NULL;
	int r;

	if (home && !h)
		return -ENOMEM;
	for (size_t len = h ? strlen(h) : 0; len > 1 && h[len - 1] == '/';)
		h[--len] = '\0';
	if (h && h[0] != '/')
		return diag_add(ld, NULL, 0, 0, "the home directory '%s' must be an absolute path", h);
	/* HOME=/ is how accounts without a home (containers run under a bare uid, system
	 * users) say so: no home to show, and the optional "~" entries are skipped as for a
	 * missing path. Binding "/" as the home would undo the whole view. */
	if (h && strcmp(h, "/") == 0) {
		free(h);
		h = NULL;
	}
	if (h) {
		char *copy = strdup(h);
		if (!copy || (r = push_mount(plan, home_kind[p->home], copy, false)) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < p->n_mounts; i++) {
		const struct policy_mount_entry *e = &p->mounts[i];
		if (e->path[0] == '~' && !h) {
			if (e->optional)
				continue;
			r = diag_add(ld, e->where.file, e->where.line, e->where.column,
				     "'%s' needs the home directory, and there is none (HOME is %s): "
				     "mark it optional ('?%s')",
				     e->path, home ? "'/'" : "not set", e->path);
			if (r != -EINVAL)
				return r;
			continue;
		}
		char *path = expand_home(e->path, h);
		if (!path || (r = push_mount(plan, e->kind, path, e->optional)) < 0)
			return -ENOMEM;
	}
	/* Stable sort by depth: a parent is mounted before anything below it, and entries at
	 * one depth keep the policy's order. */
	for (size_t i = 1; i < plan->n_mounts; i++) {
		struct policy_mount m = plan->mounts[i];
		size_t j = i;
		for (; j > 0 && depth(plan->mounts[j - 1].path) > depth(m.path); j--)
			plan->mounts[j] = plan->mounts[j - 1];
		plan->mounts[j] = m;
	}
	return ld->n_errors ? -EINVAL : 0;
}

static int strv_append(char ***v, size_t *n, const char *s)
{
	/* Keep the array NULL-terminated at every step. */
	char **t = reallocarray(*v, *n + 2, sizeof(char *));
	if (!t)
		return -ENOMEM;
	*v = t;
	if (!(t[*n] = strdup(s)))
		return -ENOMEM;
	t[++*n] = NULL;
	return 0;
}

/* A value set in [environment] may start with "~" or "~/", as a shell would expand it
 * (CARGO_HOME=~/.cargo); without a home directory it is left as written. */
static char *env_value(const char *value, const char *home)
{
	if (home && strcmp(home, "/") != 0 && value[0] == '~' && (value[1] == '/' || !value[1]))
		return expand_home(value, home);
	return strdup(value);
}

static int plan_env(const struct policy *p, const char *home, struct policy_plan *plan)
{
	size_t na = 0, ns = 0, nu = 0;
	plan->env_clear = p->env_clear;
	/* Every list is a NULL-terminated array, empty ones included. */
	if (!(plan->env_allow = calloc(1, sizeof(char *))) ||
	    !(plan->env_set = calloc(1, sizeof(char *))) ||
	    !(plan->env_unset = calloc(1, sizeof(char *))))
		return -ENOMEM;
	for (size_t i = 0; i < p->n_env_allow; i++)
		if (strv_append(&plan->env_allow, &na, p->env_allow[i]) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < p->n_env; i++) {
		const struct policy_env_var *e = &p->env[i];
		_cleanup_free_ char *kv = NULL, *value = NULL;
		if (!e->value) {
			if (strv_append(&plan->env_unset, &nu, e->name) < 0)
				return -ENOMEM;
		} else if (!(value = env_value(e->value, home)) ||
			   asprintf(&kv, "%s=%s", e->name, value) < 0 ||
			   strv_append(&plan->env_set, &ns, kv) < 0)
			return -ENOMEM;
	}
	return 0;
}

int policy_plan_build(const struct policy *p, const char *home, struct policy_plan **ret,
		      struct policy_diags *diags)
{
	struct load_ctx ld = { .p = (struct policy *)p, .diags = diags };
	struct policy_plan *plan = calloc(1, sizeof(*plan));
	int r;

	*ret = NULL;
	if (!plan)
		return -ENOMEM;
	plan->net = p->net;
	plan->ipc = p->ipc;
	plan->uts = p->uts;
	plan->user_map = p->user_map;
	plan->uid = p->uid;
	plan->gid = p->gid;
	plan->home = p->home;
	plan->timeout_sec = p->timeout_sec;
	if ((p->hostname && !(plan->hostname = strdup(p->hostname))) ||
	    (r = plan_env(p, home, plan)) < 0) {
		policy_plan_free(plan);
		return -ENOMEM;
	}
	if ((r = plan_mounts(p, home, plan, &ld)) < 0 ||
	    (r = policy_compile_caps(p, &plan->caps, &plan->n_caps)) < 0) {
		policy_plan_free(plan);
		return r;
	}
	for (size_t i = 0; i < POLICY_N_RLIMITS; i++) {
		if (!p->limits[i].set)
			continue;
		struct policy_rlimit *l = VEC_PUSH(plan->rlimits, plan->n_rlimits);
		if (!l) {
			policy_plan_free(plan);
			return -ENOMEM;
		}
		*l = (struct policy_rlimit){ (int)policy_rlimit_names[i].value, p->limits[i].soft,
					     p->limits[i].hard };
	}
	*ret = plan;
	return 0;
}

static bool env_matches(const char *entry, size_t name_len, const char *pattern)
{
	size_t pl = strlen(pattern);
	if (pl && pattern[pl - 1] == '*')
		return name_len >= pl - 1 && strncmp(entry, pattern, pl - 1) == 0;
	return name_len == pl && strncmp(entry, pattern, pl) == 0;
}

static bool env_listed(char **list, const char *entry, size_t name_len, bool values)
{
	for (char **s = list; s && *s; s++) {
		size_t len = values ? strcspn(*s, "=") : strlen(*s);
		if (len == name_len && strncmp(*s, entry, len) == 0)
			return true;
	}
	return false;
}

static void strv_freep(char ***v)
{
	policy_strv_free(*v);
}

int policy_plan_environ(const struct policy_plan *plan, char *const *envp, char ***ret)
{
	__attribute__((cleanup(strv_freep))) char **out = calloc(1, sizeof(char *));
	size_t n = 0;

	if (!out)
		return -ENOMEM;
	for (char *const *e = envp; e && *e; e++) {
		size_t len = strcspn(*e, "=");
		bool keep = !plan->env_clear;
		for (char **a = plan->env_allow; !keep && a && *a; a++)
			keep = env_matches(*e, len, *a);
		/* set and unset are applied after the filter, so drop what they replace. */
		if (!keep || env_listed(plan->env_set, *e, len, true) ||
		    env_listed(plan->env_unset, *e, len, false))
			continue;
		if (strv_append(&out, &n, *e) < 0)
			return -ENOMEM;
	}
	for (char **s = plan->env_set; s && *s; s++)
		if (strv_append(&out, &n, *s) < 0)
			return -ENOMEM;
	*ret = TAKE_PTR(out);
	return 0;
}
