/* System call names: which architectures a filter covers, whether a name exists on any of them
 * (libseccomp is the authority), the @group table, and expanding groups into calls. */
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "policy-internal.h"
#include "syscall-groups.h"

/* The kernel runs compat binaries through their own syscall tables, and seccomp sees their
 * numbers: a filter that covered only the native table would let an i386 binary (or plain
 * `int $0x80` from x86-64 code) call anything. So every filter covers every ABI the native
 * architecture's kernel can run. */
size_t policy_host_arches(uint32_t *out, size_t max)
{
	uint32_t native = seccomp_arch_native();
	uint32_t list[POLICY_MAX_ARCHES] = { native };
	size_t n = 1;

	switch (native) {
	case SCMP_ARCH_X86_64:
		list[n++] = SCMP_ARCH_X86;
		list[n++] = SCMP_ARCH_X32;
		break;
	case SCMP_ARCH_AARCH64:
		list[n++] = SCMP_ARCH_ARM;
		break;
	case SCMP_ARCH_PPC64:
		list[n++] = SCMP_ARCH_PPC;
		break;
	case SCMP_ARCH_S390X:
		list[n++] = SCMP_ARCH_S390;
		break;
	case SCMP_ARCH_MIPS64:
		list[n++] = SCMP_ARCH_MIPS64N32;
		list[n++] = SCMP_ARCH_MIPS;
		break;
	case SCMP_ARCH_MIPSEL64:
		list[n++] = SCMP_ARCH_MIPSEL64N32;
		list[n++] = SCMP_ARCH_MIPSEL;
		break;
	}
	if (n > max)
		n = max;
	memcpy(out, list, n * sizeof(*out));
	return n;
}

const char *arch_name(uint32_t arch)
{
	static const struct {
		uint32_t arch;
		const char *name;
	} names[] = {
		{ SCMP_ARCH_X86_64, "x86_64" },
		{ SCMP_ARCH_X86, "x86" },
		{ SCMP_ARCH_X32, "x32" },
		{ SCMP_ARCH_AARCH64, "aarch64" },
		{ SCMP_ARCH_ARM, "arm" },
		{ SCMP_ARCH_PPC64, "ppc64" },
		{ SCMP_ARCH_PPC64LE, "ppc64le" },
		{ SCMP_ARCH_PPC, "ppc" },
		{ SCMP_ARCH_S390X, "s390x" },
		{ SCMP_ARCH_S390, "s390" },
		{ SCMP_ARCH_MIPS, "mips" },
		{ SCMP_ARCH_MIPS64, "mips64" },
		{ SCMP_ARCH_MIPS64N32, "mips64n32" },
		{ SCMP_ARCH_MIPSEL, "mipsel" },
		{ SCMP_ARCH_MIPSEL64, "mipsel64" },
		{ SCMP_ARCH_MIPSEL64N32, "mipsel64n32" },
		{ SCMP_ARCH_RISCV64, "riscv64" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].arch == arch)
			return names[i].name;
	return "unknown";
}

int syscall_lookup(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_arches; i++)
		if (seccomp_syscall_resolve_name_arch(p->arches[i], name) >= 0)
			return 0;
	return -ENOENT;
}

/* libseccomp resolves a name to its native number, or to a negative "pseudo" number when the
 * native table lacks it (socketcall on x86-64); either adds the rule on every arch that has
 * the call, so it is the key under which a call's rules are collected. */
int syscall_key(const char *name)
{
	return seccomp_syscall_resolve_name(name);
}

const struct syscall_group *group_find(const char *name)
{
	for (size_t i = 0; i < syscall_groups_count; i++)
		if (strcmp(syscall_groups[i].name, name) == 0)
			return &syscall_groups[i];
	return NULL;
}

static int expand(const struct policy *p, const char *name, int (*fn)(const char *, void *),
		  void *userdata, unsigned depth)
{
	if (name[0] == '@') {
		const struct syscall_group *g = group_find(name);
		/* The generator refuses cyclic tables; the bound only guards a hand edit. */
		if (!g || depth > 16)
			return 0;
		for (const char *const *m = g->members; *m; m++) {
			int r = expand(p, *m, fn, userdata, depth + 1);
			if (r)
				return r;
		}
		return 0;
	}
	if (name[0] == '?')
		name++;
	if (syscall_lookup(p, name) < 0)
		return 0; /* optional, or absent on these architectures */
	return fn(name, userdata);
}

int syscall_expand(const struct policy *p, const char *name,
		   int (*fn)(const char *syscall, void *userdata), void *userdata)
{
	return expand(p, name, fn, userdata, 0);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every name the filtered architectures know, for "did you mean": built only when a name was
 * wrong, so a correct policy never pays for it. */
int syscall_names_for_suggestions(struct load_ctx *ld)
{
	const struct policy *p = ld->p;

	if (ld->syscall_names)
		return 0;
	for (size_t a = 0; a < p->n_arches; a++) {
		int base = p->arches[a] == SCMP_ARCH_X32 ? 0x40000000 : 0;
		for (int nr = 0; nr < 1024; nr++) {
			char *n = seccomp_syscall_resolve_num_arch(p->arches[a], base + nr);
			if (!n)
				continue;
			int r = strv_push(&ld->syscall_names, &ld->n_syscall_names, n);
			free(n);
			if (r < 0)
				return r;
		}
	}
	if (ld->n_syscall_names)
		qsort(ld->syscall_names, ld->n_syscall_names, sizeof(char *), cmp_str);
	return 0;
}
