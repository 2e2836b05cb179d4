/* Lifetime of a policy object: creation with the built-in defaults, the string and vector
 * helpers the loader fills it with, and freeing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "policy-internal.h"

struct policy *policy_new(void)
{
	struct policy *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->n_arches = policy_host_arches(p->arches, POLICY_MAX_ARCHES);
	policy_set_builtin_defaults(p);
	return p;
}

int strv_push(char ***v, size_t *n, const char *s)
{
	char *copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	char **slot = VEC_PUSH(*v, *n);
	if (!slot) {
		free(copy);
		return -ENOMEM;
	}
	*slot = copy;
	return 0;
}

void strv_free_n(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void policy_strv_free(char **v)
{
	if (!v)
		return;
	for (char **s = v; *s; s++)
		free(*s);
	free(v);
}

/* Every policy_where points at a string owned here, so diagnostics and the printer can name a
 * file long after the loader's buffers are gone. */
const char *policy_intern_file(struct policy *p, const char *file)
{
	for (size_t i = 0; i < p->n_files; i++)
		if (strcmp(p->files[i], file) == 0)
			return p->files[i];
	if (strv_push(&p->files, &p->n_files, file) < 0)
		return NULL;
	return p->files[p->n_files - 1];
}

void rule_free(struct policy_rule *r)
{
	strv_free_n(r->names, r->n_names);
	free(r->conds);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	free(p->name);
	strv_free_n(p->files, p->n_files);
	for (size_t i = 0; i < p->n_rules; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	free(p->ioctl_deny);
	free(p->clone_deny);
	free(p->hostname);
	for (size_t i = 0; i < p->n_mounts; i++)
		free(p->mounts[i].path);
	free(p->mounts);
	strv_free_n(p->env_allow, p->n_env_allow);
	for (size_t i = 0; i < p->n_env; i++) {
		free(p->env[i].name);
		free(p->env[i].value);
	}
	free(p->env);
	free(p);
}
