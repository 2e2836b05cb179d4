/* Capabilities: empty every set (effective, permitted, inheritable, ambient, bounding) except
 * the capabilities a policy keeps. */
#pragma once

#include <stddef.h>
#include <sys/capability.h>

/* Returns 0 or -errno (logged). Must run before PR_SET_NO_NEW_PRIVS and seccomp, while
 * CAP_SETPCAP is still there to shrink the bounding set. */
int caps_drop_except(const cap_value_t *keep, size_t n_keep);
