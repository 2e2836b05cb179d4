/* The root view inside the sandbox: host / read-only (or --rootfs layers), fresh /proc,
 * minimal /dev, tmpfs /tmp, hidden paths, --bind/--ro-bind, the overlay at the project's path;
 * then pivot_root into it. Runs in pid 1, in a mount namespace of its own. */
#pragma once

#include "sandbox.h"

/* Build the view and make it the root. OVERLAY_FD is the detached FUSE mount. Returns 0 or
 * -errno (logged with the step and the fix). */
int view_build_and_enter(const struct sandbox_config *cfg, int overlay_fd);
