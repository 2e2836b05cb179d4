/* The small name tables of the policy language: errno names, ioctl requests, clone flags,
 * resource limits and capabilities (through libcap), and how actions are spelled. */
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

#include "policy-internal.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* One table entry per errno, as many to a line as fit. */
/* clang-format off */
#define E(x) { #x, x }
/* Canonical names first: errno_name() returns the first name with a value, so aliases
 * (EWOULDBLOCK, EDEADLOCK, ENOTSUP) only ever parse. */
const struct name_value policy_errno_names[] = {
	E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG), E(ENOEXEC),
	E(EBADF), E(ECHILD), E(EAGAIN), E(ENOMEM), E(EACCES), E(EFAULT), E(ENOTBLK), E(EBUSY),
	E(EEXIST), E(EXDEV), E(ENODEV), E(ENOTDIR), E(EISDIR), E(EINVAL), E(ENFILE), E(EMFILE),
	E(ENOTTY), E(ETXTBSY), E(EFBIG), E(ENOSPC), E(ESPIPE), E(EROFS), E(EMLINK), E(EPIPE),
	E(EDOM), E(ERANGE), E(EDEADLK), E(ENAMETOOLONG), E(ENOLCK), E(ENOSYS), E(ENOTEMPTY),
	E(ELOOP), E(ENOMSG), E(EIDRM), E(ECHRNG), E(EL2NSYNC), E(EL3HLT), E(EL3RST), E(ELNRNG),
	E(EUNATCH), E(ENOCSI), E(EL2HLT), E(EBADE), E(EBADR), E(EXFULL), E(ENOANO), E(EBADRQC),
	E(EBADSLT), E(EBFONT), E(ENOSTR), E(ENODATA), E(ETIME), E(ENOSR), E(ENONET), E(ENOPKG),
	E(EREMOTE), E(ENOLINK), E(EADV), E(ESRMNT), E(ECOMM), E(EPROTO), E(EMULTIHOP),
	E(EDOTDOT), E(EBADMSG), E(EOVERFLOW), E(ENOTUNIQ), E(EBADFD), E(EREMCHG), E(ELIBACC),
	E(ELIBBAD), E(ELIBSCN), E(ELIBMAX), E(ELIBEXEC), E(EILSEQ), E(ERESTART), E(ESTRPIPE),
	E(EUSERS), E(ENOTSOCK), E(EDESTADDRREQ), E(EMSGSIZE), E(EPROTOTYPE), E(ENOPROTOOPT),
	E(EPROTONOSUPPORT), E(ESOCKTNOSUPPORT), E(EOPNOTSUPP), E(EPFNOSUPPORT), E(EAFNOSUPPORT),
	E(EADDRINUSE), E(EADDRNOTAVAIL), E(ENETDOWN), E(ENETUNREACH), E(ENETRESET),
	E(ECONNABORTED), E(ECONNRESET), E(ENOBUFS), E(EISCONN), E(ENOTCONN), E(ESHUTDOWN),
	E(ETOOMANYREFS), E(ETIMEDOUT), E(ECONNREFUSED), E(EHOSTDOWN), E(EHOSTUNREACH),
	E(EALREADY), E(EINPROGRESS), E(ESTALE), E(EUCLEAN), E(ENOTNAM), E(ENAVAIL), E(EISNAM),
	E(EREMOTEIO), E(EDQUOT), E(ENOMEDIUM), E(EMEDIUMTYPE), E(ECANCELED), E(ENOKEY),
	E(EKEYEXPIRED), E(EKEYREVOKED), E(EKEYREJECTED), E(EOWNERDEAD), E(ENOTRECOVERABLE),
	E(ERFKILL), E(EHWPOISON), E(EWOULDBLOCK), E(EDEADLOCK), E(ENOTSUP),
};
const size_t policy_errno_names_count = sizeof(policy_errno_names) / sizeof(policy_errno_names[0]);

/* Terminal requests a sandbox must be able to refuse: TIOCSTI pushes input into the terminal
 * (keystroke injection into the user's shell), TIOCLINUX can copy/paste on a virtual console,
 * TIOCCONS redirects console output, TIOCSCTTY steals a controlling terminal, TIOCSETD
 * changes the line discipline (autoloads modules). */
const struct name_value policy_ioctl_names[] = {
	E(TIOCSTI), E(TIOCLINUX), E(TIOCCONS), E(TIOCSCTTY), E(TIOCSETD),
};
const size_t policy_ioctl_names_count = sizeof(policy_ioctl_names) / sizeof(policy_ioctl_names[0]);

const struct name_value policy_clone_flag_names[] = {
	E(CLONE_NEWUSER), E(CLONE_NEWNS),  E(CLONE_NEWNET),    E(CLONE_NEWPID),
	E(CLONE_NEWIPC),  E(CLONE_NEWUTS), E(CLONE_NEWCGROUP), E(CLONE_NEWTIME),
};
const size_t policy_clone_flag_names_count =
	sizeof(policy_clone_flag_names) / sizeof(policy_clone_flag_names[0]);
#undef E
/* clang-format on */

/* Order matters: entry i is scalar key KEY_LIMITS_FIRST + i. */
const struct name_value policy_rlimit_names[POLICY_N_RLIMITS] = {
	{ "as", RLIMIT_AS },	     { "core", RLIMIT_CORE },	{ "cpu", RLIMIT_CPU },
	{ "data", RLIMIT_DATA },     { "fsize", RLIMIT_FSIZE }, { "memlock", RLIMIT_MEMLOCK },
	{ "nofile", RLIMIT_NOFILE }, { "nproc", RLIMIT_NPROC }, { "stack", RLIMIT_STACK },
};

const struct name_value *name_lookup(const struct name_value *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

const char *name_of_value(const struct name_value *t, size_t n, uint64_t value)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].value == value)
			return t[i].name;
	return NULL;
}

const char *errno_name(int e)
{
	return name_of_value(policy_errno_names, policy_errno_names_count, (uint64_t)e);
}

/* libcap knows the names of the capabilities it was built with; the kernel headers say how
 * many there are. cap_to_name() spells them "cap_chown"; the policy language uses the
 * kernel's upper-case spelling, and accepts either case. */
int cap_name(int cap, char *buf, size_t size)
{
	char *n = cap_to_name((cap_value_t)cap);
	if (!n)
		return -ENOMEM;
	size_t i;
	for (i = 0; n[i] && i + 1 < size; i++)
		buf[i] = (n[i] >= 'a' && n[i] <= 'z') ? n[i] - 'a' + 'A' : n[i];
	buf[i] = '\0';
	cap_free(n);
	/* An unnamed capability comes back as its number: not a name. */
	return strncmp(buf, "CAP_", 4) == 0 ? 0 : -ENOENT;
}

int cap_by_name(const char *name)
{
	char buf[64];
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (cap_name(c, buf, sizeof(buf)) == 0 && strcasecmp(buf, name) == 0)
			return c;
	return -1;
}

int cap_names(char ***ret, size_t *n)
{
	char buf[64];
	*ret = NULL;
	*n = 0;
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (cap_name(c, buf, sizeof(buf)) == 0 && strv_push(ret, n, buf) < 0)
			return -ENOMEM;
	return 0;
}

void action_format(const struct policy_action *a, char *buf, size_t size)
{
	const char *e;
	switch (a->type) {
	case POLICY_ACTION_ALLOW:
		snprintf(buf, size, "allow");
		break;
	case POLICY_ACTION_KILL:
		snprintf(buf, size, "kill");
		break;
	case POLICY_ACTION_ERRNO:
		if ((e = errno_name(a->errno_value)))
			snprintf(buf, size, "errno %s", e);
		else
			snprintf(buf, size, "errno %d", a->errno_value);
		break;
	}
}

bool action_equal(const struct policy_action *a, const struct policy_action *b)
{
	return a->type == b->type &&
	       (a->type != POLICY_ACTION_ERRNO || a->errno_value == b->errno_value);
}
