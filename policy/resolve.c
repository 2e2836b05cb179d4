/* Resolution of the ordered rules into one decision per syscall: the last unconditional rule
 * naming a call wins, conditional rules after it refine it. The printer, the compiler and
 * policy_syscall_action() all read the policy through this one table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy-internal.h"

struct build_ctx {
	struct syscall_table *t;
	const struct policy_rule *rule;
};

/* Hash slot of KEY: a policy names each call many times over (groups in groups, rules
 * repeated), so lookups must not be linear in the table. */
static size_t slot_of(const struct syscall_table *t, int key)
{
	size_t mask = t->n_index - 1, i = ((unsigned)key * 2654435761u) & mask;
	while (t->index[i] && t->v[t->index[i] - 1].key != key)
		i = (i + 1) & mask;
	return i;
}

static int table_grow(struct syscall_table *t)
{
	size_t n = t->n_index ? t->n_index * 2 : 256;
	int32_t *idx = calloc(n, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	free(t->index);
	t->index = idx;
	t->n_index = n;
	for (size_t i = 0; i < t->n; i++)
		t->index[slot_of(t, t->v[i].key)] = (int32_t)i + 1;
	return 0;
}

static struct syscall_state *table_lookup(struct syscall_table *t, int key)
{
	if (!t->n_index)
		return NULL;
	size_t s = slot_of(t, key);
	return t->index[s] ? &t->v[t->index[s] - 1] : NULL;
}

static struct syscall_state *table_get(struct syscall_table *t, const char *name, int key)
{
	struct syscall_state *s = table_lookup(t, key);
	if (s)
		return s;
	if ((t->n + 1) * 2 > t->n_index && table_grow(t) < 0)
		return NULL;
	if (!(s = VEC_PUSH(t->v, t->n)))
		return NULL;
	s->key = key;
	s->name = name;
	t->index[slot_of(t, key)] = (int32_t)t->n;
	return s;
}

static int apply_rule(const char *syscall, void *userdata)
{
	struct build_ctx *c = userdata;
	int key = syscall_key(syscall);
	/* Known on a compat arch only but unknown to libseccomp's resolver: nothing can be
	 * filtered by this name. */
	if (key == __NR_SCMP_ERROR)
		return 0;
	/* syscall points into a group table or a rule; both outlive the table. */
	struct syscall_state *s = table_get(c->t, syscall, key);
	if (!s)
		return -ENOMEM;
	if (c->rule->n_conds == 0) {
		s->action = c->rule->action;
		s->explicit = true;
		s->rule = c->rule;
		s->n_conds = 0; /* an unconditional rule overrides the conditions before it */
		return 0;
	}
	const struct policy_rule **slot = VEC_PUSH(s->conds, s->n_conds);
	if (!slot)
		return -ENOMEM;
	*slot = c->rule;
	return 0;
}

int syscall_table_build(const struct policy *p, struct syscall_table *t)
{
	struct build_ctx c = { .t = t };
	*t = (struct syscall_table){ 0 };
	for (size_t i = 0; i < p->n_rules; i++) {
		c.rule = &p->rules[i];
		for (size_t j = 0; j < c.rule->n_names; j++) {
			int r = syscall_expand(p, c.rule->names[j], apply_rule, &c);
			if (r < 0) {
				syscall_table_free(t);
				return r;
			}
		}
	}
	for (size_t i = 0; i < t->n; i++)
		if (!t->v[i].explicit)
			t->v[i].action = p->default_action;
	return 0;
}

void syscall_table_free(struct syscall_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].conds);
	free(t->v);
	free(t->index);
	*t = (struct syscall_table){ 0 };
}

/* The state of NAME, created with the default action when no rule names it (the compiler
 * needs one for every call it filters by argument, named or not). NULL: unknown, or ENOMEM. */
struct syscall_state *syscall_table_ensure(const struct policy *p, struct syscall_table *t,
					   const char *name)
{
	int key = syscall_key(name);
	if (key == __NR_SCMP_ERROR || syscall_lookup(p, name) < 0)
		return NULL;
	size_t before = t->n;
	struct syscall_state *s = table_get(t, name, key);
	if (s && t->n != before)
		s->action = p->default_action;
	return s;
}

struct syscall_state *syscall_table_find(struct syscall_table *t, const char *name)
{
	return table_lookup(t, syscall_key(name));
}

/* clone3 passes its flags in a struct in memory, which seccomp cannot read, so while any
 * clone flag is filtered clone3 cannot be allowed. Failing it with ENOSYS (rather than EPERM)
 * makes glibc and other runtimes fall back to clone(), whose flags the filter can see. */
bool policy_clone3_enosys(const struct policy *p, const struct policy_action *clone3_action)
{
	if (clone3_action->type != POLICY_ACTION_ALLOW)
		return false;
	for (size_t i = 0; i < p->n_clone_deny; i++)
		if (p->clone_deny[i].action.type != POLICY_ACTION_ALLOW)
			return true;
	return false;
}

int policy_syscall_action(const struct policy *p, const char *syscall, struct policy_action *ret)
{
	struct syscall_table t;
	int r;

	if (syscall_lookup(p, syscall) < 0)
		return -ENOENT;
	if ((r = syscall_table_build(p, &t)) < 0)
		return r;
	struct syscall_state *s = syscall_table_find(&t, syscall);
	*ret = s ? s->action : p->default_action;
	syscall_table_free(&t);
	if (strcmp(syscall, "clone3") == 0 && policy_clone3_enosys(p, ret))
		*ret = (struct policy_action){ POLICY_ACTION_ERRNO, ENOSYS };
	return 0;
}
