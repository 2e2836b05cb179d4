/* The printer: the resolved policy written back in the policy format, includes expanded, each
 * setting with the file and line it came from, and every @group used listed with its members,
 * so a reviewer sees exactly what applies and the output loads back as the same policy. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macros.h"
#include "policy-internal.h"
#include "syscall-groups.h"

#define WRAP 96

static void origin(FILE *out, const struct policy_where *w)
{
	if (w->file)
		fprintf(out, "  # %s:%u", w->file, w->line);
	fputc('\n', out);
}

static void scalar_origin(FILE *out, const struct policy *p, enum policy_key_id id)
{
	if (p->set_at[id].file)
		origin(out, &p->set_at[id]);
	else
		fputs("  # default\n", out);
}

/* Writes S as one token: bare when it can be, else quoted with \" and \\ escaped. */
static void token(FILE *out, const char *s)
{
	if (*s && !strpbrk(s, " \t\"#")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void group_list(FILE *out, const struct syscall_group *g, bool *listed)
{
	size_t idx = (size_t)(g - syscall_groups), col;
	if (listed[idx])
		return;
	listed[idx] = true;
	fprintf(out, "#   %s: %s\n", g->name, g->description);
	col = (size_t)fprintf(out, "#    ");
	for (const char *const *m = g->members; *m; m++) {
		if (col + strlen(*m) + 1 > WRAP)
			col = (size_t)fprintf(out, "\n#    ");
		col += (size_t)fprintf(out, " %s", *m);
	}
	fputc('\n', out);
	for (const char *const *m = g->members; *m; m++)
		if ((*m)[0] == '@')
			group_list(out, group_find(*m), listed);
}

static void cond_print(FILE *out, const struct policy_cond *c)
{
	static const char *const ops[] = { "!=", "<", "<=", "==", ">=", ">" };
	fprintf(out, "arg%u ", c->arg);
	if (c->op == POLICY_CMP_MASKED_EQ)
		fprintf(out, "& 0x%llx == ", (unsigned long long)c->mask);
	else
		fprintf(out, "%s ", ops[c->op]);
	fprintf(out, c->value > 255 ? "0x%llx" : "%llu", (unsigned long long)c->value);
}

static void rule_tail(FILE *out, const struct policy_rule *r)
{
	char act[48];
	bool allow = r->action.type == POLICY_ACTION_ALLOW;
	if (!allow || r->n_conds)
		fputs(" :", out);
	if (!allow) {
		action_format(&r->action, act, sizeof(act));
		fprintf(out, " %s", act);
	}
	for (size_t i = 0; i < r->n_conds; i++) {
		fputs(i ? " and " : " when ", out);
		cond_print(out, &r->conds[i]);
	}
}

/* One rule, as several lines of the same action when its names do not fit one line (splitting
 * a rule by names never changes what it means). */
static void rule_print(FILE *out, const struct policy_rule *r, bool *listed)
{
	const char *key = r->action.type == POLICY_ACTION_ALLOW ? "allow" : "deny";
	for (size_t i = 0; i < r->n_names;) {
		size_t col = (size_t)fprintf(out, "%s =", key);
		do
			col += (size_t)fprintf(out, " %s", r->names[i++]);
		while (i < r->n_names && col + strlen(r->names[i]) < WRAP - 24);
		rule_tail(out, r);
		origin(out, &r->where);
	}
	for (size_t i = 0; i < r->n_names; i++)
		if (r->names[i][0] == '@')
			group_list(out, group_find(r->names[i]), listed);
}

static void filters_print(FILE *out, const char *what, const struct policy_value_filter *f,
			  size_t n, const struct name_value *names, size_t n_names,
			  const uint64_t *builtin, size_t n_builtin)
{
	char act[48];
	/* A built-in denial the policy lifted must be lifted again when the output is read. */
	for (size_t b = 0; b < n_builtin; b++) {
		bool present = false;
		for (size_t i = 0; i < n; i++)
			present = present || f[i].value == builtin[b];
		if (!present)
			fprintf(out, "allow-%s = %s\n", what,
				name_of_value(names, n_names, builtin[b]));
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = name_of_value(names, n_names, f[i].value);
		action_format(&f[i].action, act, sizeof(act));
		if (name)
			fprintf(out, "deny-%s = %s : %s", what, name, act);
		else
			fprintf(out, "deny-%s = 0x%llx : %s", what, (unsigned long long)f[i].value,
				act);
		if (f[i].where.file)
			origin(out, &f[i].where);
		else
			fputs("  # built in\n", out);
	}
}

static int syscalls_print(const struct policy *p, FILE *out)
{
	static const uint64_t builtin_ioctl[] = { 0x5412, 0x541C },
			      builtin_clone[] = { 0x10000000 };
	bool listed[64] = { false };
	char act[48];

	action_format(&p->default_action, act, sizeof(act));
	fprintf(out, "[syscalls]\ndefault = %s", act);
	scalar_origin(out, p, KEY_SYSCALLS_DEFAULT);
	for (size_t i = 0; i < p->n_rules; i++)
		rule_print(out, &p->rules[i], listed);
	filters_print(out, "ioctl", p->ioctl_deny, p->n_ioctl_deny, policy_ioctl_names,
		      policy_ioctl_names_count, builtin_ioctl, ARRAY_SIZE(builtin_ioctl));
	filters_print(out, "clone-flags", p->clone_deny, p->n_clone_deny, policy_clone_flag_names,
		      policy_clone_flag_names_count, builtin_clone, ARRAY_SIZE(builtin_clone));
	struct syscall_table t;
	int r = syscall_table_build(p, &t);
	if (r < 0)
		return r;
	struct syscall_state *s = syscall_table_ensure(p, &t, "clone3");
	bool enosys = s && policy_clone3_enosys(p, &s->action);
	syscall_table_free(&t);
	if (enosys)
		fputs("# clone3 fails with ENOSYS while clone flags are filtered: its flags are "
		      "in\n"
		      "# memory seccomp cannot read, and libc then falls back to clone.\n",
		      out);
	return 0;
}

static void caps_print(const struct policy *p, FILE *out)
{
	char name[64];
	fputs("\n[capabilities]\n", out);
	if (!p->caps) {
		fputs("# none kept\n", out);
		return;
	}
	fputs("keep =", out);
	for (int c = 0; c < 64; c++)
		if ((p->caps >> c) & 1 && cap_name(c, name, sizeof(name)) == 0)
			fprintf(out, " %s", name);
	fputc('\n', out);
}

static void namespaces_print(const struct policy *p, FILE *out)
{
	static const char *const share[] = { "private", "host" };
	fprintf(out, "\n[namespaces]\nnet = %s", p->net == POLICY_NET_HOST ? "host" : "none");
	scalar_origin(out, p, KEY_NS_NET);
	fprintf(out, "ipc = %s", share[p->ipc]);
	scalar_origin(out, p, KEY_NS_IPC);
	fprintf(out, "uts = %s", share[p->uts]);
	scalar_origin(out, p, KEY_NS_UTS);
	if (p->hostname) {
		fprintf(out, "hostname = %s", p->hostname);
		scalar_origin(out, p, KEY_NS_HOSTNAME);
	}
	fprintf(out, "user-map = %s", p->user_map == POLICY_USER_MAP_SUBID ? "subid" : "single");
	scalar_origin(out, p, KEY_NS_USER_MAP);
	fprintf(out, "uid = %u", (unsigned)p->uid);
	scalar_origin(out, p, KEY_NS_UID);
	fprintf(out, "gid = %u", (unsigned)p->gid);
	scalar_origin(out, p, KEY_NS_GID);
}

static void filesystem_print(const struct policy *p, FILE *out)
{
	static const char *const home[] = { "hide", "ro", "rw" };
	static const char *const kinds[] = { "ro", "rw", "tmpfs", "hide" };
	fprintf(out, "\n[filesystem]\nhome = %s", home[p->home]);
	scalar_origin(out, p, KEY_FS_HOME);
	for (size_t i = 0; i < p->n_mounts; i++) {
		const struct policy_mount_entry *m = &p->mounts[i];
		char path[4200];
		snprintf(path, sizeof(path), "%s%s", m->optional ? "?" : "", m->path);
		fprintf(out, "%s = ", kinds[m->kind]);
		token(out, path);
		origin(out, &m->where);
	}
}

static void environment_print(const struct policy *p, FILE *out)
{
	fprintf(out, "\n[environment]\nmode = %s", p->env_clear ? "clear" : "keep");
	scalar_origin(out, p, KEY_ENV_MODE);
	for (size_t i = 0; i < p->n_env_allow;) {
		size_t col = (size_t)fprintf(out, "allow =");
		do
			col += (size_t)fprintf(out, " %s", p->env_allow[i++]);
		while (i < p->n_env_allow && col + strlen(p->env_allow[i]) < WRAP);
		fputc('\n', out);
	}
	for (size_t i = 0; i < p->n_env; i++) {
		const struct policy_env_var *e = &p->env[i];
		if (e->value) {
			char kv[4200];
			snprintf(kv, sizeof(kv), "%s=%s", e->name, e->value);
			fputs("set = ", out);
			token(out, kv);
		} else {
			fprintf(out, "unset = %s", e->name);
		}
		origin(out, &e->where);
	}
}

static void limit_value(FILE *out, rlim_t v, bool size)
{
	static const char units[] = "KMGT";
	int u = -1;
	if (v == RLIM_INFINITY) {
		fputs("unlimited", out);
		return;
	}
	while (size && u < 3 && v && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	fprintf(out, "%llu", (unsigned long long)v);
	if (u >= 0)
		fputc(units[u], out);
}

static void limits_print(const struct policy *p, FILE *out)
{
	uint64_t t = p->timeout_sec;
	fputs("\n[limits]\ntimeout = ", out);
	if (!t)
		fputs("none", out);
	if (t / 86400)
		fprintf(out, "%llud", (unsigned long long)(t / 86400));
	if (t % 86400 / 3600)
		fprintf(out, "%lluh", (unsigned long long)(t % 86400 / 3600));
	if (t % 3600 / 60)
		fprintf(out, "%llum", (unsigned long long)(t % 3600 / 60));
	if (t % 60)
		fprintf(out, "%llus", (unsigned long long)(t % 60));
	scalar_origin(out, p, KEY_LIMITS_TIMEOUT);
	for (size_t i = 0; i < POLICY_N_RLIMITS; i++) {
		const struct policy_limit *l = &p->limits[i];
		int res = (int)policy_rlimit_names[i].value;
		bool size = res != RLIMIT_NOFILE && res != RLIMIT_NPROC && res != RLIMIT_CPU;
		if (!l->set)
			continue;
		fprintf(out, "%s = ", policy_rlimit_names[i].name);
		limit_value(out, l->soft, size);
		if (l->hard != l->soft) {
			fputc(':', out);
			limit_value(out, l->hard, size);
		}
		scalar_origin(out, p, (enum policy_key_id)(KEY_LIMITS_FIRST + i));
	}
}

int policy_print(const struct policy *p, FILE *out)
{
	fprintf(out, "# Policy '%s', fully resolved. Files read, in order:\n", p->name);
	for (size_t i = 0; i < p->n_files; i++)
		fprintf(out, "#   %s\n", p->files[i]);
	fputs("# Architectures filtered:", out);
	for (size_t i = 0; i < p->n_arches; i++)
		fprintf(out, " %s", arch_name(p->arches[i]));
	fputs("\n\n", out);
	int r = syscalls_print(p, out);
	if (r < 0)
		return r;
	caps_print(p, out);
	namespaces_print(p, out);
	filesystem_print(p, out);
	environment_print(p, out);
	limits_print(p, out);
	return ferror(out) ? -EIO : 0;
}
