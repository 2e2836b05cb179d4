/* The request loop (loop.c): threads take turns reading /dev/fuse. */
#pragma once

#include "ops.h"

/* Serve SE until it is unmounted or a signal ends it (0), or reading /dev/fuse fails (-errno).
 * MAX_THREADS bounds how many requests are worked on at once. */
int loop_run(struct fuse_session *se, struct ovl *ovl, int max_threads);
