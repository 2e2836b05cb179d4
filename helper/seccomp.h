/* The seccomp filter: built from a policy's rules for the native architecture and every
 * compat one the kernel runs (x86-64: i386 and x32), loaded as the last step before exec. */
#pragma once

#include "sandbox-policy.h"

/* Build and load the filter. Returns 0 or -errno (logged). */
int seccomp_apply(const struct sandbox_policy *policy);
