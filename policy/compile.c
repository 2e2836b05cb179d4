/* The seccomp compiler: one libseccomp filter over every host architecture from the resolved
 * per-syscall decisions, the ioctl/clone argument filters, clone3's ENOSYS, and conditional
 * rules. libseccomp has no "otherwise" for a call (an unconditional rule swallows conditional
 * ones), so "deny these values, allow the rest" is built from complementary masked rules. */
#include <errno.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "macros.h"
#include "policy-internal.h"

#define MAX_COMPLEMENT_VALUES 16 /* each costs up to 32 rules; BPF programs are bounded */
/* libseccomp's code generation grows with the cube of the rules that compare several
 * arguments of one call (measured with 2.5.4: 200 take 1 s, 400 take 20 s, in seccomp_load as
 * well). Far beyond what a loadable filter holds, refuse instead of hanging. */
#define MAX_MULTI_PER_SYSCALL 32
#define MAX_MULTI_TOTAL	      128

struct compiler {
	const struct policy *p;
	scmp_filter_ctx ctx;
	struct load_ctx ld; /* only for diagnostics */
	int multi_key;	    /* the call multi_here counts for */
	unsigned multi_here, multi_total;
};

static uint32_t scmp_action(const struct policy_action *a)
{
	switch (a->type) {
	case POLICY_ACTION_ALLOW:
		return SCMP_ACT_ALLOW;
	case POLICY_ACTION_ERRNO:
		return SCMP_ACT_ERRNO((uint16_t)a->errno_value);
	case POLICY_ACTION_KILL:
		break;
	}
	return SCMP_ACT_KILL_PROCESS;
}

static struct scmp_arg_cmp to_scmp(const struct policy_cond *c)
{
	static const enum scmp_compare ops[] = {
		[POLICY_CMP_NE] = SCMP_CMP_NE,
		[POLICY_CMP_LT] = SCMP_CMP_LT,
		[POLICY_CMP_LE] = SCMP_CMP_LE,
		[POLICY_CMP_EQ] = SCMP_CMP_EQ,
		[POLICY_CMP_GE] = SCMP_CMP_GE,
		[POLICY_CMP_GT] = SCMP_CMP_GT,
		[POLICY_CMP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
	};
	struct scmp_arg_cmp a = { .arg = c->arg, .op = ops[c->op] };
	if (c->op == POLICY_CMP_MASKED_EQ) {
		a.datum_a = c->mask;
		a.datum_b = c->value;
	} else {
		a.datum_a = c->value;
	}
	return a;
}

static int add(struct compiler *c, const struct syscall_state *s, const struct policy_action *a,
	       size_t n, const struct policy_cond *conds)
{
	struct scmp_arg_cmp args[6];
	/* libseccomp refuses rules whose action is the default (it would change nothing). */
	if (action_equal(a, &c->p->default_action))
		return 0;
	if (n >= 2) {
		if (c->multi_key != s->key || c->multi_here == 0) {
			c->multi_key = s->key;
			c->multi_here = 0;
		}
		if (++c->multi_here > MAX_MULTI_PER_SYSCALL || ++c->multi_total > MAX_MULTI_TOTAL)
			return diag_add(
				&c->ld, NULL, 0, 0,
				"too many rules comparing several arguments ('%s' has %u; at "
				"most %d per call and %d in all)",
				s->name, c->multi_here, MAX_MULTI_PER_SYSCALL, MAX_MULTI_TOTAL);
	}
	for (size_t i = 0; i < n; i++)
		args[i] = to_scmp(&conds[i]);
	int r = seccomp_rule_add_array(c->ctx, scmp_action(a), s->key, (unsigned)n, args);
	if (r < 0)
		return diag_add(&c->ld, NULL, 0, 0, "libseccomp refused a rule for '%s': %s",
				s->name, strerror(-r));
	return 0;
}

static int add_masked(struct compiler *c, const struct syscall_state *s,
		      const struct policy_action *a, unsigned arg, uint64_t mask, uint64_t value)
{
	struct policy_cond cond = { arg, POLICY_CMP_MASKED_EQ, mask, value };
	return add(c, s, a, 1, &cond);
}

/* Emits A for every argument whose bits under MASK are none of VALS, as MASKED_EQ rules on
 * ever longer prefixes of the mask's bits: walking the bits from the top, each subtree that
 * holds no excluded value is one rule. Up to (bits in mask) rules per excluded value; because
 * bits outside the mask never take part, a request sign-extended to 64 bits still matches. */
static int emit_complement(struct compiler *c, const struct syscall_state *s,
			   const struct policy_action *a, unsigned arg, uint64_t mask,
			   uint64_t fixed, uint64_t prefix, const uint64_t *vals, size_t n)
{
	if (n == 0)
		return add_masked(c, s, a, arg, fixed, prefix);
	uint64_t rest = mask & ~fixed;
	if (rest == 0)
		return 0; /* exactly an excluded value */
	uint64_t bit = 1ull << (63 - __builtin_clzll(rest));
	uint64_t ones[MAX_COMPLEMENT_VALUES], zeros[MAX_COMPLEMENT_VALUES];
	size_t n1 = 0, n0 = 0;
	for (size_t i = 0; i < n; i++) {
		if (vals[i] & bit)
			ones[n1++] = vals[i];
		else
			zeros[n0++] = vals[i];
	}
	int r = emit_complement(c, s, a, arg, mask, fixed | bit, prefix, zeros, n0);
	if (r < 0)
		return r;
	return emit_complement(c, s, a, arg, mask, fixed | bit, prefix | bit, ones, n1);
}

static void where_str(const struct policy_where *w, char *buf, size_t size)
{
	if (!w->file)
		snprintf(buf, size, "built in");
	else
		snprintf(buf, size, "%s:%u:%u", w->file, w->line, w->column);
}

static int conds_conflict(struct compiler *c, const struct syscall_state *s, const char *why)
{
	const struct policy_where *w = &s->conds[0]->where;
	return diag_add(&c->ld, w->file, w->line, w->column,
			"the conditional rule for '%s' cannot be combined with %s: seccomp has no "
			"'otherwise' for a call; make the default action match, or write the "
			"conditions as one rule",
			s->name, why);
}

static int emit_state(struct compiler *c, const struct syscall_state *s);

/* Each denied ioctl request or clone flag gets its own action. The kernel truncates ioctl's
 * request to 32 bits: compare only those, or TIOCSTI | 1 << 32 would slip through. */
static int emit_denials(struct compiler *c, const struct syscall_state *s, unsigned arg, bool flags,
			const struct policy_value_filter *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = add_masked(c, s, &f[i].action, arg, flags ? f[i].value : 0xFFFFFFFFu,
				   f[i].value);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The call is allowed: deny the filtered values and, when allow is not the default, allow
 * every other value explicitly (one rule for flags, a complement for requests). */
static int emit_allowed_set(struct compiler *c, const struct syscall_state *s, unsigned arg,
			    bool flags, const struct policy_value_filter *f, size_t n)
{
	uint64_t vals[MAX_COMPLEMENT_VALUES], all = 0;
	int r = emit_denials(c, s, arg, flags, f, n);
	if (r < 0 || action_equal(&s->action, &c->p->default_action))
		return r;
	if (!flags && n > MAX_COMPLEMENT_VALUES) {
		const struct policy_where *w = &f[n - 1].where; /* the last is the policy's */
		return diag_add(&c->ld, w->file, w->line, w->column,
				"at most %d ioctl requests can be denied while ioctl is allowed "
				"and the default action is not allow",
				MAX_COMPLEMENT_VALUES);
	}
	for (size_t i = 0; i < n; i++) {
		if (i < MAX_COMPLEMENT_VALUES)
			vals[i] = f[i].value;
		all |= f[i].value;
	}
	if (flags)
		return add_masked(c, s, &s->action, arg, all, 0);
	return emit_complement(c, s, &s->action, arg, 0xFFFFFFFFu, 0, 0, vals, n);
}

/* A conditional allow of a filtered call (docker's "clone when no namespace flag") must not
 * let a denied value through: narrow its condition on the filtered argument, or refuse. */
static bool narrow_allow(unsigned arg, bool flags, const struct policy_value_filter *f, size_t n,
			 struct policy_cond *conds, size_t *n_conds)
{
	uint64_t all = 0;
	for (size_t i = 0; i < n; i++)
		all |= f[i].value;
	for (size_t i = 0; i < *n_conds; i++) {
		struct policy_cond *cd = &conds[i];
		if (cd->arg != arg)
			continue;
		if (flags) {
			if (cd->op != POLICY_CMP_MASKED_EQ || cd->value != 0)
				return false;
			cd->mask |= all; /* (a & m) == 0 and (a & all) == 0 */
			return true;
		}
		uint64_t v = cd->value & 0xFFFFFFFFu;
		if (!(cd->op == POLICY_CMP_EQ && cd->value <= 0xFFFFFFFFu) &&
		    !(cd->op == POLICY_CMP_MASKED_EQ && (cd->mask & 0xFFFFFFFFu) == 0xFFFFFFFFu))
			return false;
		for (size_t j = 0; j < n; j++)
			if (f[j].value == v)
				return false;
		return true;
	}
	if (!flags)
		return false;
	conds[(*n_conds)++] = (struct policy_cond){ arg, POLICY_CMP_MASKED_EQ, all, 0 };
	return true;
}

static int emit_filtered(struct compiler *c, const struct syscall_state *s, unsigned arg,
			 bool flags, const struct policy_value_filter *f, size_t n)
{
	const struct policy_action *a = &s->action;
	const char *what = flags ? "the clone flag filter" : "the ioctl filter";
	int r;

	if (n == 0)
		return emit_state(c, s);
	if (s->n_conds == 0)
		return a->type == POLICY_ACTION_ALLOW ? emit_allowed_set(c, s, arg, flags, f, n)
						      : add(c, s, a, 0, NULL);
	if (!action_equal(a, &c->p->default_action))
		return conds_conflict(c, s, what);
	for (size_t i = 0; i < s->n_conds; i++) {
		const struct policy_rule *rule = s->conds[i];
		struct policy_cond conds[7];
		size_t nc = rule->n_conds;
		memcpy(conds, rule->conds, nc * sizeof(*conds));
		if (rule->action.type == POLICY_ACTION_ALLOW && a->type != POLICY_ACTION_ALLOW &&
		    !narrow_allow(arg, flags, f, n, conds, &nc))
			return conds_conflict(c, s, what);
		if ((r = add(c, s, &rule->action, nc, conds)) < 0)
			return r;
	}
	return emit_denials(c, s, arg, flags, f, n);
}

static int emit_negated(struct compiler *c, const struct syscall_state *s,
			const struct policy_action *a, const struct policy_cond *cond)
{
	static const enum policy_cmp neg[] = {
		[POLICY_CMP_NE] = POLICY_CMP_EQ, [POLICY_CMP_EQ] = POLICY_CMP_NE,
		[POLICY_CMP_LT] = POLICY_CMP_GE, [POLICY_CMP_GE] = POLICY_CMP_LT,
		[POLICY_CMP_LE] = POLICY_CMP_GT, [POLICY_CMP_GT] = POLICY_CMP_LE,
	};
	if (cond->op != POLICY_CMP_MASKED_EQ) {
		struct policy_cond n = *cond;
		n.op = neg[cond->op];
		return add(c, s, a, 1, &n);
	}
	if (cond->value & ~cond->mask) /* can never hold: everything is "otherwise" */
		return add(c, s, a, 0, NULL);
	return emit_complement(c, s, a, cond->arg, cond->mask, 0, 0, &cond->value, 1);
}

/* A call's own rules. Conditional rules refine the unconditional action A; when A is not the
 * default, "conditions -> B, otherwise A" is expressible only for one single-condition rule
 * (by adding A under the negated condition). */
static int emit_state(struct compiler *c, const struct syscall_state *s)
{
	const struct policy_action *a = &s->action;
	const struct policy_rule *other = NULL;
	size_t n_other = 0;
	int r;

	if (s->n_conds == 0)
		return add(c, s, a, 0, NULL);
	if (action_equal(a, &c->p->default_action)) {
		for (size_t i = 0; i < s->n_conds; i++)
			if ((r = add(c, s, &s->conds[i]->action, s->conds[i]->n_conds,
				     s->conds[i]->conds)) < 0)
				return r;
		return 0;
	}
	for (size_t i = 0; i < s->n_conds; i++)
		if (!action_equal(&s->conds[i]->action, a)) {
			other = s->conds[i];
			n_other++;
		}
	if (n_other == 0)
		return add(c, s, a, 0, NULL);
	if (n_other > 1 || other->n_conds != 1) {
		char why[320], act[48], w[128];
		action_format(a, act, sizeof(act));
		if (s->rule)
			where_str(&s->rule->where, w, sizeof(w));
		snprintf(why, sizeof(why), "its unconditional '%s' (%s)", act,
			 s->rule ? w : "the default");
		return conds_conflict(c, s, why);
	}
	if ((r = add(c, s, &other->action, 1, other->conds)) < 0)
		return r;
	return emit_negated(c, s, a, &other->conds[0]);
}

/* clone's flags are its first argument everywhere but on s390, where the stack comes first. */
static unsigned clone_flags_arg(void)
{
	uint32_t native = seccomp_arch_native();
	return native == SCMP_ARCH_S390X || native == SCMP_ARCH_S390;
}

static int emit_all(struct compiler *c, struct syscall_table *t)
{
	const struct policy *p = c->p;
	int k_ioctl = syscall_key("ioctl"), k_clone = syscall_key("clone"),
	    k_unshare = syscall_key("unshare");
	static const char *const special[] = { "ioctl", "clone", "unshare", "clone3" };

	for (size_t i = 0; i < ARRAY_SIZE(special); i++)
		if (!syscall_table_ensure(p, t, special[i]) && syscall_lookup(p, special[i]) == 0)
			return -ENOMEM;
	struct syscall_state *clone3 = syscall_table_find(t, "clone3");
	if (clone3 && policy_clone3_enosys(p, &clone3->action)) {
		clone3->action = (struct policy_action){ POLICY_ACTION_ERRNO, ENOSYS };
		clone3->n_conds = 0;
	}
	for (size_t i = 0; i < t->n && !c->ld.gave_up; i++) {
		const struct syscall_state *s = &t->v[i];
		int r;
		if (s->key == k_ioctl)
			r = emit_filtered(c, s, 1, false, p->ioctl_deny, p->n_ioctl_deny);
		else if (s->key == k_clone || s->key == k_unshare)
			r = emit_filtered(c, s, s->key == k_clone ? clone_flags_arg() : 0, true,
					  p->clone_deny, p->n_clone_deny);
		else
			r = emit_state(c, s);
		if (r < 0 && r != -EINVAL)
			return r;
	}
	return 0;
}

/* The kernel refuses a filter longer than BPF_MAXINSNS with a bare EINVAL when it is loaded;
 * generating the program now turns that into a diagnostic at check time. */
static int check_size(struct compiler *c)
{
	_cleanup_close_ int fd = memfd_create("antares-seccomp", MFD_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return 0; /* no memfd: the kernel will say it when loading */
	int r = seccomp_export_bpf(c->ctx, fd);
	if (r < 0)
		return diag_add(&c->ld, NULL, 0, 0, "libseccomp cannot generate the filter: %s",
				strerror(-r));
	if (fstat(fd, &st) < 0)
		return 0;
	size_t insns = (size_t)st.st_size / sizeof(struct sock_filter);
	if (insns > BPF_MAXINSNS)
		return diag_add(&c->ld, NULL, 0, 0,
				"the seccomp filter has %zu instructions; the kernel accepts at "
				"most %d (fewer rules with conditions, or fewer ioctl requests)",
				insns, BPF_MAXINSNS);
	return 0;
}

int policy_compile_seccomp(const struct policy *p, scmp_filter_ctx *ret, struct policy_diags *diags)
{
	struct compiler c = { .p = p, .ld = { .p = (struct policy *)p, .diags = diags } };
	struct syscall_table t;
	int r;

	*ret = NULL;
	if (!(c.ctx = seccomp_init(scmp_action(&p->default_action))))
		return -ENOMEM;
	for (size_t i = 1; i < p->n_arches; i++)
		if ((r = seccomp_arch_add(c.ctx, p->arches[i])) < 0 && r != -EEXIST) {
			seccomp_release(c.ctx);
			return diag_add(&c.ld, NULL, 0, 0, "cannot add architecture %s: %s",
					arch_name(p->arches[i]), strerror(-r));
		}
	/* A syscall from an architecture the filter does not know is never allowed. */
	if ((r = seccomp_attr_set(c.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0 ||
	    (r = syscall_table_build(p, &t)) < 0) {
		seccomp_release(c.ctx);
		return r;
	}
	r = emit_all(&c, &t);
	syscall_table_free(&t);
	if (r == 0 && !c.ld.n_errors)
		r = check_size(&c);
	if (r == 0 && c.ld.n_errors)
		r = -EINVAL;
	if (r < 0) {
		seccomp_release(c.ctx);
		return r;
	}
	*ret = c.ctx;
	return 0;
}
