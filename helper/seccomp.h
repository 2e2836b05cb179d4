/* The seccomp filter: compiled from the policy by policy_compile_seccomp(), loaded as the
 * last step before exec. */
#pragma once

#include <seccomp.h>

/* Load FILTER (needs no_new_privs first). Returns 0 or -errno (logged). */
int seccomp_apply(scmp_filter_ctx filter);
