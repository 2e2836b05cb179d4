/* The [syscalls] section: the default action, ordered allow/deny rules over syscall names and
 * @groups (with an action and optional argument conditions), and the ioctl request and clone
 * flag deny sets, including their built-in defaults. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "policy-internal.h"
#include "syscall-groups.h"

static const struct policy_action EPERM_ACTION = { POLICY_ACTION_ERRNO, EPERM };

void policy_set_builtin_defaults(struct policy *p)
{
	static const uint64_t ioctls[] = { 0x5412 /* TIOCSTI */, 0x541C /* TIOCLINUX */ };

	p->default_action = (struct policy_action){ POLICY_ACTION_ALLOW, 0 };
	/* Whatever a profile says, these are denied until it explicitly allows them: terminal
	 * input injection and new user namespaces (the door to most kernel attack surface). */
	for (size_t i = 0; i < ARRAY_SIZE(ioctls); i++) {
		struct policy_value_filter *v = VEC_PUSH(p->ioctl_deny, p->n_ioctl_deny);
		if (v)
			*v = (struct policy_value_filter){ ioctls[i], EPERM_ACTION, { 0 } };
	}
	struct policy_value_filter *v = VEC_PUSH(p->clone_deny, p->n_clone_deny);
	if (v)
		*v = (struct policy_value_filter){ CLONE_NEWUSER, EPERM_ACTION, { 0 } };
	p->net = POLICY_NET_NONE;
	p->ipc = p->uts = POLICY_SHARE_PRIVATE;
	p->user_map = POLICY_USER_MAP_SINGLE;
	p->home = POLICY_HOME_HIDE;
}

int parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_errno(struct file_ctx *f, const struct token *t, int *ret)
{
	const char *names[256];
	char buf[128];
	uint64_t v;

	const struct name_value *nv =
		name_lookup(policy_errno_names, policy_errno_names_count, t->text);
	if (nv) {
		*ret = (int)nv->value;
		return 0;
	}
	if (parse_u64(t->text, &v) == 0) {
		if (v == 0 || v > 4095)
			return file_error(
				f, t->column,
				"errno %s is out of range (1 to 4095; 0 would fake success)",
				t->text);
		*ret = (int)v;
		return 0;
	}
	for (size_t i = 0; i < policy_errno_names_count && i < 256; i++)
		names[i] = policy_errno_names[i].name;
	const char *s = suggest_nearest(t->text, names, policy_errno_names_count, true);
	return file_error(f, t->column, "unknown errno name '%s'%s", t->text,
			  suggest_fmt(s, buf, sizeof(buf)));
}

int parse_action(struct file_ctx *f, const struct token *v, size_t n, size_t *i,
		 struct policy_action *ret)
{
	const struct token *t = &v[*i];

	if (strcmp(t->text, "allow") == 0 || strcmp(t->text, "kill") == 0) {
		*ret = (struct policy_action){ t->text[0] == 'a' ? POLICY_ACTION_ALLOW
								 : POLICY_ACTION_KILL,
					       0 };
		(*i)++;
		return 0;
	}
	if (strcmp(t->text, "errno") != 0)
		return file_error(f, t->column,
				  "expected an action (allow, kill or errno NAME), got '%s'",
				  t->text);
	if (*i + 1 >= n)
		return file_error(f, t->column, "'errno' needs a name, e.g. 'errno EPERM'");
	ret->type = POLICY_ACTION_ERRNO;
	int r = parse_errno(f, &v[*i + 1], &ret->errno_value);
	if (r < 0)
		return r;
	*i += 2;
	return 0;
}

static int parse_default(struct file_ctx *f, const struct policy_key *k, struct token *v, size_t n)
{
	struct policy_action a;
	size_t i = 0;
	(void)k;
	int r = parse_action(f, v, n, &i, &a);
	if (r < 0)
		return r;
	if (i < n)
		return file_error(f, v[i].column, "unexpected '%s' after the action", v[i].text);
	f->ld->p->default_action = a;
	return 0;
}

static bool valid_syscall_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int unknown_group(struct file_ctx *f, const struct token *t)
{
	const char *names[64];
	char buf[128];
	size_t n = syscall_groups_count < 64 ? syscall_groups_count : 64;
	for (size_t i = 0; i < n; i++)
		names[i] = syscall_groups[i].name;
	const char *s = suggest_nearest(t->text, names, n, false);
	return file_error(f, t->column, "unknown syscall group '%s'%s", t->text,
			  suggest_fmt(s, buf, sizeof(buf)));
}

static int unknown_syscall(struct file_ctx *f, const struct token *t)
{
	const struct policy *p = f->ld->p;
	char buf[160], arches[64] = "";
	int r = syscall_names_for_suggestions(f->ld);
	if (r < 0)
		return r;
	const char *s = suggest_nearest(t->text, (const char *const *)f->ld->syscall_names,
					f->ld->n_syscall_names, false);
	if (s)
		return file_error(f, t->column, "unknown syscall '%s'%s", t->text,
				  suggest_fmt(s, buf, sizeof(buf)));
	for (size_t i = 0; i < p->n_arches; i++) {
		strncat(arches, i ? ", " : "", sizeof(arches) - strlen(arches) - 1);
		strncat(arches, arch_name(p->arches[i]), sizeof(arches) - strlen(arches) - 1);
	}
	return file_error(f, t->column,
			  "unknown syscall '%s' on %s (write '?%s' if it may be absent)", t->text,
			  arches, t->text);
}

int check_syscall_name(struct file_ctx *f, const struct token *t)
{
	const char *s = t->text;

	if (s[0] == '@')
		return group_find(s) ? 0 : unknown_group(f, t);
	if (s[0] == '?' && s[1] == '@')
		return file_error(f, t->column,
				  "'?' marks an optional syscall; groups are always known");
	if (!valid_syscall_word(s[0] == '?' ? s + 1 : s))
		return file_error(f, t->column, "invalid syscall name '%s'", s);
	if (s[0] == '?' || syscall_lookup(f->ld->p, s) == 0)
		return 0;
	return unknown_syscall(f, t);
}

/* Names run up to a ':' token (or a name written "clone3:"); what follows is the action. */
static size_t split_names(struct token *v, size_t n, bool *has_colon)
{
	*has_colon = false;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i].text);
		if (v[i].quoted)
			continue;
		if (strcmp(v[i].text, ":") == 0) {
			*has_colon = true;
			return i;
		}
		if (len > 1 && v[i].text[len - 1] == ':') {
			v[i].text[len - 1] = '\0';
			*has_colon = true;
			return i + 1;
		}
	}
	return n;
}

static int parse_value(struct file_ctx *f, const struct token *t, uint64_t *ret)
{
	const struct name_value *nv;
	if (parse_u64(t->text, ret) == 0)
		return 0;
	if ((nv = name_lookup(policy_clone_flag_names, policy_clone_flag_names_count, t->text)) ||
	    (nv = name_lookup(policy_ioctl_names, policy_ioctl_names_count, t->text))) {
		*ret = nv->value;
		return 0;
	}
	return file_error(f, t->column, "expected a number or a CLONE_*/TIOC* name, got '%s'",
			  t->text);
}

static const char *const cmp_ops[] = {
	[POLICY_CMP_NE] = "!=", [POLICY_CMP_LT] = "<",	[POLICY_CMP_LE] = "<=",
	[POLICY_CMP_EQ] = "==", [POLICY_CMP_GE] = ">=", [POLICY_CMP_GT] = ">",
};

/* "argN OP VALUE" or "argN & MASK == VALUE" starting at v[*i]. */
static int parse_cond(struct file_ctx *f, const struct token *v, size_t n, size_t *i,
		      struct policy_cond *c)
{
	const struct token *t = &v[*i];
	if (strncmp(t->text, "arg", 3) != 0 || t->text[3] < '0' || t->text[3] > '5' || t->text[4])
		return file_error(f, t->column, "expected arg0 to arg5, got '%s'", t->text);
	c->arg = t->text[3] - '0';
	size_t at = *i + 1;
	if (at < n && strcmp(v[at].text, "&") == 0) {
		if (at + 1 >= n || parse_value(f, &v[at + 1], &c->mask) < 0)
			return at + 1 >= n ? file_error(f, v[at].column, "'&' needs a mask")
					   : -EINVAL;
		at += 2;
		if (at >= n || strcmp(v[at].text, "==") != 0)
			return file_error(f, at < n ? v[at].column : v[at - 1].column,
					  "a masked comparison is 'argN & MASK == VALUE'");
		c->op = POLICY_CMP_MASKED_EQ;
	} else {
		size_t op;
		for (op = 0; op < ARRAY_SIZE(cmp_ops); op++)
			if (at < n && cmp_ops[op] && strcmp(v[at].text, cmp_ops[op]) == 0)
				break;
		if (op == ARRAY_SIZE(cmp_ops))
			return file_error(f, at < n ? v[at].column : t->column,
					  "expected a comparison (== != < <= > >= or & MASK ==)");
		c->op = (enum policy_cmp)op;
	}
	if (at + 1 >= n)
		return file_error(f, v[at].column, "the comparison needs a value");
	int r = parse_value(f, &v[at + 1], &c->value);
	if (r < 0)
		return r;
	*i = at + 2;
	return 0;
}

/* After ':': [errno NAME | kill] [when COND {and COND}]. */
static int parse_rule_tail(struct file_ctx *f, bool deny, const struct token *v, size_t n,
			   struct policy_rule *rule)
{
	size_t i = 0;
	int r;

	if (i < n && strcmp(v[i].text, "when") != 0) {
		if (!deny)
			return file_error(f, v[i].column,
					  "'allow' takes no action; use 'deny = ... : errno NAME'");
		if ((r = parse_action(f, v, n, &i, &rule->action)) < 0)
			return r;
		if (rule->action.type == POLICY_ACTION_ALLOW)
			return file_error(f, v[i - 1].column, "'deny' cannot allow; use 'allow ='");
	}
	if (i >= n)
		return 0;
	if (strcmp(v[i].text, "when") != 0)
		return file_error(f, v[i].column,
				  "expected 'when' or the end of the line, got '%s'", v[i].text);
	for (i++;;) {
		if (i >= n)
			return file_error(f, v[i - 1].column, "expected a condition after '%s'",
					  v[i - 1].text);
		struct policy_cond *c = VEC_PUSH(rule->conds, rule->n_conds);
		if (!c)
			return -ENOMEM;
		size_t start = i;
		if ((r = parse_cond(f, v, n, &i, c)) < 0)
			return r;
		/* libseccomp refuses two comparisons of one argument in a rule (EINVAL). */
		for (size_t j = 0; j + 1 < rule->n_conds; j++)
			if (rule->conds[j].arg == c->arg)
				return file_error(
					f, v[start].column,
					"arg%u is compared twice in one rule, which seccomp "
					"cannot express; write two rules",
					c->arg);
		if (i >= n)
			return 0;
		if (strcmp(v[i].text, "and") != 0)
			return file_error(f, v[i].column, "expected 'and' or the end of the line");
		i++;
	}
}

static int parse_rule(struct file_ctx *f, const struct policy_key *k, struct token *v, size_t n)
{
	struct policy *p = f->ld->p;
	bool deny = strcmp(k->name, "deny") == 0, colon;
	size_t n_names = split_names(v, n, &colon);
	int r, bad = 0;

	if (n_names == 0)
		return file_error(f, v[0].column, "'%s' needs at least one syscall or @group",
				  k->name);
	for (size_t i = 0; i < n_names; i++)
		if ((r = check_syscall_name(f, &v[i])) < 0) {
			if (r != -EINVAL)
				return r;
			bad = r;
		}
	if (bad)
		return bad;

	struct policy_rule rule = {
		.action = deny ? EPERM_ACTION : (struct policy_action){ POLICY_ACTION_ALLOW, 0 },
		.where = file_where(f, &v[0]),
	};
	size_t tail = n_names < n && strcmp(v[n_names].text, ":") == 0 ? n_names + 1 : n_names;
	if (colon && tail >= n)
		r = file_error(f, v[n - 1].column, "expected an action or 'when' after ':'");
	else
		r = parse_rule_tail(f, deny, v + tail, n - tail, &rule);
	for (size_t i = 0; r == 0 && i < n_names; i++)
		r = strv_push(&rule.names, &rule.n_names, v[i].text);
	struct policy_rule *slot = r == 0 ? VEC_PUSH(p->rules, p->n_rules) : NULL;
	if (!slot) {
		rule_free(&rule);
		return r < 0 ? r : -ENOMEM;
	}
	*slot = rule;
	return 0;
}

const struct policy_key policy_syscall_keys[] = {
	{ "default", KEY_SYSCALLS_DEFAULT, parse_default },
	{ "allow", KEY_LIST, parse_rule },
	{ "deny", KEY_LIST, parse_rule },
	{ "deny-ioctl", KEY_LIST, parse_value_filter },
	{ "allow-ioctl", KEY_LIST, parse_value_filter },
	{ "deny-clone-flags", KEY_LIST, parse_value_filter },
	{ "allow-clone-flags", KEY_LIST, parse_value_filter },
};
const size_t policy_syscall_keys_count = ARRAY_SIZE(policy_syscall_keys);
