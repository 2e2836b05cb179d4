/* Argument filters of [syscalls]: the ioctl requests (arg 1 of ioctl) and namespace clone flags
 * (of clone and unshare) a sandboxed program may not use. deny-* adds to the set, allow-*
 * removes, so a profile can lift a built-in or inherited denial. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macros.h"
#include "policy-internal.h"

#define CLONE_NS_MASK 0x7E020080ull /* every CLONE_NEW* bit, incl. CLONE_NEWTIME */

static int unknown_value(struct file_ctx *f, const struct token *t, bool ioctl)
{
	const struct name_value *tab = ioctl ? policy_ioctl_names : policy_clone_flag_names;
	size_t n = ioctl ? policy_ioctl_names_count : policy_clone_flag_names_count;
	const char *names[16];
	char buf[128];

	for (size_t i = 0; i < n && i < 16; i++)
		names[i] = tab[i].name;
	const char *s = suggest_nearest(t->text, names, n < 16 ? n : 16, false);
	return file_error(f, t->column, "unknown %s '%s'%s", ioctl ? "ioctl request" : "clone flag",
			  t->text, suggest_fmt(s, buf, sizeof(buf)));
}

static int filter_value(struct file_ctx *f, const struct token *t, bool ioctl, uint64_t *ret)
{
	const struct name_value *nv =
		ioctl ? name_lookup(policy_ioctl_names, policy_ioctl_names_count, t->text)
		      : name_lookup(policy_clone_flag_names, policy_clone_flag_names_count,
				    t->text);
	if (nv) {
		*ret = nv->value;
		return 0;
	}
	if (parse_u64(t->text, ret) < 0)
		return unknown_value(f, t, ioctl);
	/* The kernel reads an ioctl request as a 32-bit int; a larger number could never
	 * match what the kernel sees. */
	if (ioctl && *ret > 0xFFFFFFFFu)
		return file_error(f, t->column, "ioctl request %s does not fit in 32 bits",
				  t->text);
	if (!ioctl && (*ret == 0 || (*ret & (*ret - 1)) || !(*ret & CLONE_NS_MASK)))
		return file_error(f, t->column, "clone flag %s is not a single CLONE_NEW* bit",
				  t->text);
	return 0;
}

static void filter_remove(struct policy_value_filter *set, size_t *n, uint64_t value)
{
	for (size_t i = 0; i < *n; i++)
		if (set[i].value == value) {
			memmove(&set[i], &set[i + 1], (*n - i - 1) * sizeof(*set));
			(*n)--;
			return;
		}
}

int parse_value_filter(struct file_ctx *f, const struct policy_key *k, struct token *v, size_t n)
{
	struct policy *p = f->ld->p;
	bool ioctl = strstr(k->name, "ioctl") != NULL, deny = k->name[0] == 'd';
	struct policy_value_filter **set = ioctl ? &p->ioctl_deny : &p->clone_deny;
	size_t *count = ioctl ? &p->n_ioctl_deny : &p->n_clone_deny;
	struct policy_action action = { POLICY_ACTION_ERRNO, EPERM };
	uint64_t values[64];
	size_t n_values = 0, i;
	int r;

	for (i = 0; i < n && strcmp(v[i].text, ":") != 0; i++) {
		if (n_values == ARRAY_SIZE(values))
			return file_error(f, v[i].column, "too many values on one line");
		if ((r = filter_value(f, &v[i], ioctl, &values[n_values++])) < 0)
			return r;
	}
	if (n_values == 0)
		return file_error(f, v[0].column, "'%s' needs at least one value", k->name);
	if (i < n) {
		if (!deny)
			return file_error(f, v[i].column, "'%s' takes no action", k->name);
		if (++i >= n)
			return file_error(f, v[i - 1].column, "expected an action after ':'");
		if ((r = parse_action(f, v, n, &i, &action)) < 0)
			return r;
		if (action.type == POLICY_ACTION_ALLOW)
			return file_error(f, v[i - 1].column, "'%s' cannot allow; use 'allow-%s'",
					  k->name, k->name + 5);
		if (i < n)
			return file_error(f, v[i].column, "unexpected '%s' after the action",
					  v[i].text);
	}
	for (size_t j = 0; j < n_values; j++) {
		filter_remove(*set, count, values[j]);
		if (!deny)
			continue;
		struct policy_value_filter *e = VEC_PUSH(*set, *count);
		if (!e)
			return -ENOMEM;
		*e = (struct policy_value_filter){ values[j], action, file_where(f, &v[j]) };
	}
	return 0;
}
