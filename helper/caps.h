/* Capabilities: empty every set (effective, permitted, inheritable, ambient, bounding) except
 * the capabilities a policy keeps by name. */
#pragma once

#include <stddef.h>

/* Returns 0 or -errno (logged). Must run before PR_SET_NO_NEW_PRIVS and seccomp, while
 * CAP_SETPCAP is still there to shrink the bounding set. */
int caps_drop_except(const char *const *keep, size_t n_keep);
