/* Import of OCI runtime-spec seccomp profiles (the JSON podman and docker use): defaultAction,
 * defaultErrnoRet, architectures, syscalls[{names, action, errnoRet, args, includes, excludes}]
 * become the same default and rules a policy file would give, in file order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "macros.h"
#include "policy-internal.h"

/* Stands for a capability libcap does not know: never kept, so a rule requiring it is dropped. */
#define CAP_UNKNOWN_BIT (1ull << 63)

static int jerr(struct load_ctx *ld, const char *file, const struct json_value *v, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));
static int jerr(struct load_ctx *ld, const char *file, const struct json_value *v, const char *fmt,
		...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = diag_addv(ld, file, v->line, v->column, fmt, ap);
	va_end(ap);
	return r;
}

static int want(struct load_ctx *ld, const char *file, const struct json_value *v,
		enum json_type type, const char *what)
{
	if (v->type == type)
		return 0;
	return jerr(ld, file, v, "%s must be %s, not %s", what, json_type_name(type),
		    json_type_name(v->type));
}

static int get_errno(struct load_ctx *ld, const char *file, const struct json_value *v, int *ret)
{
	uint64_t e;
	if (json_u64(v, &e) < 0 || e == 0 || e > 4095)
		return jerr(ld, file, v, "errno must be a number from 1 to 4095");
	*ret = (int)e;
	return 0;
}

/* SCMP_ACT_* -> action. TRACE without a tracer attached makes the kernel fail the call with
 * ENOSYS, so that is what it imports as; LOG is allow (the audit log is not ours to use). */
static int get_action(struct load_ctx *ld, const char *file, const struct json_value *v,
		      int errno_value, struct policy_action *ret)
{
	int r = want(ld, file, v, JSON_STRING, "the action");
	if (r < 0)
		return r;
	const char *s = v->text;
	if (!strcmp(s, "SCMP_ACT_ALLOW") || !strcmp(s, "SCMP_ACT_LOG"))
		*ret = (struct policy_action){ POLICY_ACTION_ALLOW, 0 };
	else if (!strcmp(s, "SCMP_ACT_ERRNO"))
		*ret = (struct policy_action){ POLICY_ACTION_ERRNO, errno_value };
	else if (!strcmp(s, "SCMP_ACT_TRACE"))
		*ret = (struct policy_action){ POLICY_ACTION_ERRNO, ENOSYS };
	else if (!strcmp(s, "SCMP_ACT_KILL") || !strcmp(s, "SCMP_ACT_KILL_THREAD") ||
		 !strcmp(s, "SCMP_ACT_KILL_PROCESS"))
		*ret = (struct policy_action){ POLICY_ACTION_KILL, 0 };
	else if (!strcmp(s, "SCMP_ACT_TRAP") || !strcmp(s, "SCMP_ACT_NOTIFY"))
		return jerr(ld, file, v, "action %s is not supported (it needs a supervisor)", s);
	else
		return jerr(ld, file, v, "unknown action '%s'", s);
	return 0;
}

/* "SCMP_ARCH_X86_64", libseccomp's "x86_64", or docker's "amd64". */
static uint32_t arch_from_name(const char *s)
{
	static const char *const alias[][2] = {
		{ "amd64", "x86_64" }, { "arm64", "aarch64" }, { "386", "x86" }, { "i386", "x86" }
	};
	char low[32];
	size_t i;
	if (strncmp(s, "SCMP_ARCH_", 10) == 0)
		s += 10;
	for (i = 0; s[i] && i + 1 < sizeof(low); i++)
		low[i] = (s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a' : s[i];
	low[i] = '\0';
	for (i = 0; i < ARRAY_SIZE(alias); i++)
		if (strcmp(low, alias[i][0]) == 0)
			return seccomp_arch_resolve_name(alias[i][1]);
	return seccomp_arch_resolve_name(low);
}

static int check_arches(struct load_ctx *ld, const char *file, const struct json_value *v,
			bool *ret_ours, bool native_only)
{
	int r = want(ld, file, v, JSON_ARRAY, "architectures");
	if (r < 0)
		return r;
	*ret_ours = false;
	for (size_t i = 0; i < v->n; i++) {
		uint32_t a;
		if ((r = want(ld, file, &v->items[i], JSON_STRING, "an architecture")) < 0)
			return r;
		if (!(a = arch_from_name(v->items[i].text)))
			return jerr(ld, file, &v->items[i], "unknown architecture '%s'",
				    v->items[i].text);
		for (size_t j = 0; j < (native_only ? 1 : ld->p->n_arches); j++)
			*ret_ours = *ret_ours || a == ld->p->arches[j];
	}
	return 0;
}

static int get_caps(struct load_ctx *ld, const char *file, const struct json_value *v,
		    uint64_t *ret)
{
	int r = want(ld, file, v, JSON_ARRAY, "caps");
	for (size_t i = 0; r == 0 && i < v->n; i++) {
		if ((r = want(ld, file, &v->items[i], JSON_STRING, "a capability")) < 0)
			break;
		int c = cap_by_name(v->items[i].text);
		*ret |= c >= 0 ? 1ull << c : CAP_UNKNOWN_BIT;
	}
	return r;
}

/* includes/excludes: caps are decided when all files are read; arches now (the filter covers
 * all host architectures, so a rule is kept when it is meant for any of them). minKernel is
 * ignored: the host kernel runs the sandbox and the rules libseccomp cannot place are dropped. */
static int get_conditions(struct load_ctx *ld, const char *file, const struct json_value *rule,
			  struct policy_rule *out, bool *ret_keep)
{
	const struct json_value *inc = json_get(rule, "includes"),
				*exc = json_get(rule, "excludes");
	const struct json_value *v;
	bool ours;
	int r;

	*ret_keep = true;
	if (inc) {
		if ((r = want(ld, file, inc, JSON_OBJECT, "includes")) < 0)
			return r;
		if ((v = json_get(inc, "caps")) && (r = get_caps(ld, file, v, &out->caps_all)) < 0)
			return r;
		if ((v = json_get(inc, "arches"))) {
			if ((r = check_arches(ld, file, v, &ours, false)) < 0)
				return r;
			*ret_keep = ours;
		}
	}
	if (exc) {
		if ((r = want(ld, file, exc, JSON_OBJECT, "excludes")) < 0)
			return r;
		if ((v = json_get(exc, "caps")) && (r = get_caps(ld, file, v, &out->caps_none)) < 0)
			return r;
		out->caps_none &= ~CAP_UNKNOWN_BIT; /* excluding an unknown cap excludes nothing */
		if ((v = json_get(exc, "arches"))) {
			if ((r = check_arches(ld, file, v, &ours, true)) < 0)
				return r;
			*ret_keep = *ret_keep && !ours;
		}
	}
	return 0;
}

static int get_cond(struct load_ctx *ld, const char *file, const struct json_value *a,
		    struct policy_cond *c)
{
	static const char *const ops[] = {
		[POLICY_CMP_NE] = "SCMP_CMP_NE",
		[POLICY_CMP_LT] = "SCMP_CMP_LT",
		[POLICY_CMP_LE] = "SCMP_CMP_LE",
		[POLICY_CMP_EQ] = "SCMP_CMP_EQ",
		[POLICY_CMP_GE] = "SCMP_CMP_GE",
		[POLICY_CMP_GT] = "SCMP_CMP_GT",
		[POLICY_CMP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
	};
	const struct json_value *idx = json_get(a, "index"), *val = json_get(a, "value"),
				*two = json_get(a, "valueTwo"), *op = json_get(a, "op");
	uint64_t i, value, value_two = 0;
	int r;

	if ((r = want(ld, file, a, JSON_OBJECT, "an argument condition")) < 0)
		return r;
	if (!idx || json_u64(idx, &i) < 0 || i > 5)
		return jerr(ld, file, idx ? idx : a, "args[].index must be a number from 0 to 5");
	if (!val || json_u64(val, &value) < 0)
		return jerr(ld, file, val ? val : a,
			    "args[].value must be an unsigned 64-bit number");
	if (two && json_u64(two, &value_two) < 0)
		return jerr(ld, file, two, "args[].valueTwo must be an unsigned 64-bit number");
	if (!op || (r = want(ld, file, op, JSON_STRING, "args[].op")) < 0)
		return op ? r : jerr(ld, file, a, "args[].op is missing");
	for (size_t k = 0; k < ARRAY_SIZE(ops); k++)
		if (strcmp(op->text, ops[k]) == 0) {
			c->arg = (unsigned)i;
			c->op = (enum policy_cmp)k;
			/* As in runc: for MASKED_EQ, value is the mask and valueTwo the datum. */
			c->mask = k == POLICY_CMP_MASKED_EQ ? value : 0;
			c->value = k == POLICY_CMP_MASKED_EQ ? value_two : value;
			return 0;
		}
	return jerr(ld, file, op, "unknown comparison '%s'", op->text);
}

/* Names that libseccomp does not know on the host's architectures are kept as optional ("?"),
 * as runc skips them: profiles list calls of every architecture. */
static int get_names(struct load_ctx *ld, const char *file, const struct json_value *rule,
		     char ***ret, size_t *n)
{
	const struct json_value *names = json_get(rule, "names"), *one = json_get(rule, "name");
	const struct json_value *list = names ? names->items : one;
	size_t count = names ? names->n : 1;
	int r;

	if (!names && !one)
		return jerr(ld, file, rule, "syscall rule without \"names\"");
	if (names && (r = want(ld, file, names, JSON_ARRAY, "names")) < 0)
		return r;
	if (count == 0)
		return jerr(ld, file, names, "names is empty");
	for (size_t i = 0; i < count; i++) {
		const char *s;
		if ((r = want(ld, file, &list[i], JSON_STRING, "a syscall name")) < 0)
			return r;
		s = list[i].text;
		bool ok = *s != '\0' && strlen(s) < 64;
		for (const char *c = s; ok && *c; c++)
			ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_';
		if (!ok)
			return jerr(ld, file, &list[i], "invalid syscall name \"%.64s\"", s);
		char buf[80];
		snprintf(buf, sizeof(buf), "%s%s", syscall_lookup(ld->p, s) == 0 ? "" : "?", s);
		if ((r = strv_push(ret, n, buf)) < 0)
			return r;
	}
	return 0;
}

static int push_rule(struct policy *p, const struct policy_rule *tmpl, char **names, size_t n_names,
		     const struct policy_cond *conds, size_t n_conds)
{
	struct policy_rule *r = VEC_PUSH(p->rules, p->n_rules);
	if (!r)
		return -ENOMEM;
	*r = *tmpl;
	r->names = NULL;
	r->n_names = 0;
	r->conds = NULL;
	for (size_t i = 0; i < n_names; i++)
		if (strv_push(&r->names, &r->n_names, names[i]) < 0)
			return -ENOMEM;
	if (n_conds) {
		if (!(r->conds = calloc(n_conds, sizeof(*conds))))
			return -ENOMEM;
		memcpy(r->conds, conds, n_conds * sizeof(*conds));
	}
	r->n_conds = n_conds;
	return 0;
}

static int import_rule(struct load_ctx *ld, const char *file, const struct json_value *v)
{
	struct policy_rule tmpl = { .where = { file, v->line, v->column } };
	struct policy_cond conds[6 * 4];
	const struct json_value *e, *args;
	char **names = NULL;
	size_t n_names = 0, n_conds = 0;
	int errno_value = EPERM, r;
	bool keep, split = false;

	if ((r = want(ld, file, v, JSON_OBJECT, "a syscalls[] entry")) < 0)
		return r;
	if ((e = json_get(v, "errnoRet")) && (r = get_errno(ld, file, e, &errno_value)) < 0)
		return r;
	if (!(e = json_get(v, "action")))
		return jerr(ld, file, v, "syscall rule without \"action\"");
	if ((r = get_action(ld, file, e, errno_value, &tmpl.action)) < 0 ||
	    (r = get_conditions(ld, file, v, &tmpl, &keep)) < 0)
		return r;
	if ((args = json_get(v, "args")) && args->type != JSON_NULL) {
		if ((r = want(ld, file, args, JSON_ARRAY, "args")) < 0)
			return r;
		if (args->n > ARRAY_SIZE(conds))
			return jerr(ld, file, args, "too many argument conditions");
		for (size_t i = 0; i < args->n; i++) {
			if ((r = get_cond(ld, file, &args->items[i], &conds[n_conds])) < 0)
				return r;
			for (size_t j = 0; j < n_conds; j++)
				split = split || conds[j].arg == conds[n_conds].arg;
			n_conds++;
		}
	}
	if ((r = get_names(ld, file, v, &names, &n_names)) == 0 && keep) {
		/* libseccomp cannot compare one argument twice in a rule; like runc, such a
		 * rule becomes one rule per condition (so its conditions are OR-ed). */
		if (split)
			for (size_t i = 0; r == 0 && i < n_conds; i++)
				r = push_rule(ld->p, &tmpl, names, n_names, &conds[i], 1);
		else
			r = push_rule(ld->p, &tmpl, names, n_names, conds, n_conds);
	}
	strv_free_n(names, n_names);
	return r;
}

static int import_top(struct load_ctx *ld, const char *file, const struct json_value *top)
{
	const struct json_value *v, *def;
	int errno_value = EPERM, r;
	bool ours;

	if ((r = want(ld, file, top, JSON_OBJECT, "an OCI seccomp profile")) < 0)
		return r;
	if ((v = json_get(top, "defaultErrnoRet")) &&
	    (r = get_errno(ld, file, v, &errno_value)) < 0)
		return r;
	if (!(def = json_get(top, "defaultAction")))
		return jerr(ld, file, top, "\"defaultAction\" is missing");
	if ((r = get_action(ld, file, def, errno_value, &ld->p->default_action)) < 0)
		return r;
	ld->p->set_at[KEY_SYSCALLS_DEFAULT] = (struct policy_where){ file, def->line, def->column };
	/* The filter always covers every host architecture; the list is only checked. */
	if ((v = json_get(top, "architectures")) && v->type != JSON_NULL &&
	    (r = check_arches(ld, file, v, &ours, false)) < 0)
		return r;
	if ((v = json_get(top, "listenerPath")) && v->type == JSON_STRING && *v->text)
		return jerr(ld, file, v,
			    "listenerPath: seccomp user notification is not supported");
	if (!(v = json_get(top, "syscalls")) || v->type == JSON_NULL)
		return 0;
	if ((r = want(ld, file, v, JSON_ARRAY, "syscalls")) < 0)
		return r;
	for (size_t i = 0; i < v->n; i++)
		if ((r = import_rule(ld, file, &v->items[i])) == -ENOMEM)
			return r;
	return 0;
}

int oci_import(struct load_ctx *ld, const char *file, const char *data, size_t size)
{
	struct file_ctx f = { .ld = ld, .file = file };
	struct json_value top;
	struct json_error err;
	size_t skip;
	int r;

	if (size > POLICY_MAX_FILE_SIZE) {
		r = diag_add(ld, file, 0, 0, "file too large (%zu bytes; the limit is %d)", size,
			     POLICY_MAX_FILE_SIZE);
		return r == -EINVAL ? 0 : r;
	}
	if ((r = lex_check_text(&f, data, size, &skip)) < 0)
		return r == -EINVAL ? 0 : r;
	r = json_parse(data + skip, size - skip, &top, &err);
	if (r == -EINVAL) {
		r = diag_add(ld, file, err.line, err.column, "invalid JSON: %s", err.message);
		return r == -EINVAL ? 0 : r;
	}
	if (r < 0)
		return r;
	r = import_top(ld, file, &top);
	json_free(&top);
	return r == -EINVAL ? 0 : r;
}

/* OCI rules that depend on capabilities apply only if the final policy keeps (or does not
 * keep) them; known only now that every file is read. */
int policy_finish_oci(struct load_ctx *ld)
{
	struct policy *p = ld->p;
	size_t o = 0;
	for (size_t i = 0; i < p->n_rules; i++) {
		struct policy_rule *r = &p->rules[i];
		if ((p->caps & r->caps_all) != r->caps_all || (p->caps & r->caps_none)) {
			rule_free(r);
			continue;
		}
		p->rules[o++] = *r;
	}
	p->n_rules = o;
	return 0;
}
