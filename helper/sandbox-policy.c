/* The sandbox's side of the policy library: where profile names are found, loading a policy
 * into the filter and plan a run needs (with the invoking user's home directory for "~"),
 * clamping its limits to what this process may set, and --check-policy / --print-policy. */
#include "sandbox-policy.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#ifndef ANTARES_POLICY_DATADIR
#define ANTARES_POLICY_DATADIR "/usr/local/share/antares/policy"
#endif

/* A name of RLIMIT_* as the policy format spells it. */
static const struct {
	int resource;
	const char *name;
} rlimit_names[] = {
	{ RLIMIT_AS, "as" },	     { RLIMIT_CORE, "core" },	    { RLIMIT_CPU, "cpu" },
	{ RLIMIT_DATA, "data" },     { RLIMIT_FSIZE, "fsize" },	    { RLIMIT_MEMLOCK, "memlock" },
	{ RLIMIT_NOFILE, "nofile" }, { RLIMIT_NPROC, "nproc" },	    { RLIMIT_STACK, "stack" },
};

const char *sandbox_rlimit_name(int resource)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
		if (rlimit_names[i].resource == resource)
			return rlimit_names[i].name;
	return "?";
}

bool sandbox_rlimit_clamp(struct policy_rlimit *l, const struct rlimit *own)
{
	/* RLIM_INFINITY is the largest rlim_t, so plain comparisons order it right. */
	bool changed = false;
	if (l->hard > own->rlim_max) {
		l->hard = own->rlim_max;
		changed = true;
	}
	if (l->soft > l->hard) {
		l->soft = l->hard;
		changed = true;
	}
	return changed;
}

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **t = reallocarray(*v, *n + 2, sizeof(char *));
	if (!t)
		return -ENOMEM;
	*v = t;
	if (!(t[*n] = strdup(s)))
		return -ENOMEM;
	t[++*n] = NULL;
	return 0;
}

/* The build tree's antares-sandbox uses the profiles of its source tree, never an older
 * installed set; a copy elsewhere (installed, or staged by the tests) uses the datadir. */
static bool running_from_build_tree(void)
{
#ifdef ANTARES_HELPER_BUILDDIR
	char self[4096];
	_cleanup_free_ char *build = realpath(ANTARES_HELPER_BUILDDIR, NULL);
	return build && self_dir(self, sizeof(self)) == 0 && strcmp(self, build) == 0;
#else
	return false;
#endif
}

static int default_search_path(char ***v, size_t *n)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char config[4096] = "";
	if (xdg && *xdg == '/')
		snprintf(config, sizeof(config), "%s/antares/policy", xdg);
	else if (home && *home)
		snprintf(config, sizeof(config), "%s/.config/antares/policy", home);
	const char *shipped = ANTARES_POLICY_DATADIR;
#ifdef ANTARES_POLICY_SOURCEDIR
	if (running_from_build_tree())
		shipped = ANTARES_POLICY_SOURCEDIR;
#endif
	if ((*config && strv_push(v, n, config) < 0) || strv_push(v, n, "/etc/antares/policy") < 0 ||
	    strv_push(v, n, shipped) < 0)
		return -ENOMEM;
	return 0;
}

int sandbox_policy_search_path(char ***ret)
{
	char **v = calloc(1, sizeof(char *));
	size_t n = 0;
	const char *env = getenv("ANTARES_POLICY_PATH");
	int r = 0;
	if (!v)
		return -ENOMEM;
	if (env && *env) {
		for (const char *p = env; *p && r == 0;) {
			size_t len = strcspn(p, ":");
			_cleanup_free_ char *dir = strndup(p, len);
			r = !dir ? -ENOMEM : len ? strv_push(&v, &n, dir) : 0;
			p += len + (p[len] == ':');
		}
	} else
		r = default_search_path(&v, &n);
	if (r < 0) {
		policy_strv_free(v);
		return r;
	}
	*ret = v;
	return 0;
}

/* $HOME (else the password database), canonical when it exists: "~" in the policy and the
 * project path then compare as the view will see them. */
static char *home_dir(void)
{
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home)
		return NULL;
	char *real = realpath(home, NULL);
	if (!real && (real = strdup(home)) && real[0] == '/')
		path_normalize(real);
	return real;
}

struct loaded {
	struct policy *policy;
	scmp_filter_ctx filter;
	struct policy_plan *plan;
};

static void loaded_clear(struct loaded *l)
{
	if (l->filter)
		seccomp_release(l->filter);
	policy_plan_free(l->plan);
	policy_free(l->policy);
	*l = (struct loaded){ 0 };
}

/* Load NAME and, when COMPILE, build its filter and its plan for HOME. */
static int load(const char *name, bool compile, const char *home, struct loaded *l,
		struct policy_diags *diags)
{
	char **dirs = NULL;
	int r = sandbox_policy_search_path(&dirs);
	if (r == 0) {
		struct policy_loader loader = { .search_dirs = (const char *const *)dirs };
		r = policy_load(name, &loader, &l->policy, diags);
		policy_strv_free(dirs);
	}
	if (r == 0 && compile)
		r = policy_compile_seccomp(l->policy, &l->filter, diags);
	if (r == 0 && compile)
		r = policy_plan_build(l->policy, home, &l->plan, diags);
	if (r < 0)
		loaded_clear(l);
	return r;
}

/* Every diagnostic on its own line, to ERR or (NULL) the log; a failure without one (out of
 * memory) still gets a line. */
static void report(const struct policy_diags *diags, int r, const char *name, FILE *err)
{
	for (size_t i = 0; i < diags->n; i++) {
		_cleanup_free_ char *line = policy_diag_format(&diags->items[i]);
		const char *s = line ? line : diags->items[i].message;
		if (err)
			fprintf(err, "%s\n", s);
		else
			log_error("%s", s);
	}
	if (r < 0 && diags->n == 0) {
		if (err)
			fprintf(err, "%s: %s\n", name, strerror(-r));
		else
			log_error("policy %s: %s", name, strerror(-r));
	}
}

/* Make the plan what this process can carry out, and say where it differs. */
static void plan_adjust(struct policy_plan *plan, const char *name, const char *home)
{
	for (size_t i = 0; i < plan->n_mounts; i++) {
		struct policy_mount *m = &plan->mounts[i];
		path_normalize(m->path);
		/* Accounts without a home directory (/nonexistent) can still use any policy. */
		if (home && !strcmp(m->path, home))
			m->optional = true;
	}
	for (size_t i = 0; i < plan->n_rlimits; i++) {
		struct policy_rlimit *l = &plan->rlimits[i];
		struct rlimit own;
		if (getrlimit(l->resource, &own) < 0)
			continue;
		struct policy_rlimit want = *l;
		if (sandbox_rlimit_clamp(l, &own))
			log_info("policy %s: %s %llu:%llu is above this process's hard limit %llu: "
				 "clamped to %llu:%llu",
				 name, sandbox_rlimit_name(l->resource), (unsigned long long)want.soft,
				 (unsigned long long)want.hard, (unsigned long long)own.rlim_max,
				 (unsigned long long)l->soft, (unsigned long long)l->hard);
	}
	if (plan->hostname && plan->uts == POLICY_SHARE_HOST)
		log_warning("policy %s: hostname %s is ignored: the policy shares the host's uts "
			    "namespace (uts = host)",
			    name, plan->hostname);
}

int sandbox_policy_load(const char *name_or_file, struct sandbox_policy **ret)
{
	struct policy_diags diags = { 0 };
	struct loaded l = { 0 };
	_cleanup_free_ char *home = home_dir();
	int r = load(name_or_file, true, home, &l, &diags);
	report(&diags, r, name_or_file, NULL);
	policy_diags_clear(&diags);
	if (r < 0)
		return r;
	struct sandbox_policy *p = calloc(1, sizeof(*p));
	if (!p || !(p->name = strdup(name_or_file))) {
		free(p);
		loaded_clear(&l);
		return step_fail(-ENOMEM, NULL, "policy %s", name_or_file);
	}
	p->filter = TAKE_PTR(l.filter);
	p->plan = TAKE_PTR(l.plan);
	loaded_clear(&l);
	plan_adjust(p->plan, name_or_file, home);
	*ret = p;
	return 0;
}

void sandbox_policy_free(struct sandbox_policy *p)
{
	if (!p)
		return;
	if (p->filter)
		seccomp_release(p->filter);
	policy_plan_free(p->plan);
	free(p->name);
	free(p);
}

int sandbox_policy_check(const char *name_or_file, FILE *out, FILE *err)
{
	struct policy_diags diags = { 0 };
	struct loaded l = { 0 };
	_cleanup_free_ char *home = home_dir();
	int r = load(name_or_file, true, home, &l, &diags);
	report(&diags, r, name_or_file, err);
	policy_diags_clear(&diags);
	loaded_clear(&l);
	if (r < 0)
		return 1;
	fprintf(out, "%s: ok\n", name_or_file);
	return 0;
}

int sandbox_policy_print(const char *name_or_file, FILE *out, FILE *err)
{
	struct policy_diags diags = { 0 };
	struct loaded l = { 0 };
	int r = load(name_or_file, false, NULL, &l, &diags);
	report(&diags, r, name_or_file, err);
	policy_diags_clear(&diags);
	if (r == 0)
		r = policy_print(l.policy, out);
	loaded_clear(&l);
	return r < 0 || fflush(out) != 0 ? 1 : 0;
}
