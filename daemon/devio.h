/* Reads and writes of /dev/fuse through libfuse's custom I/O hook (devio.c). */
#pragma once

#include <stdbool.h>

#include "ops.h"

/* Route the session's device I/O through us; call after mounting, before the loop. */
int devio_attach(struct fuse_session *se);

/* Whether the request this thread is processing (a write, setattr or open) carries the
 * kernel's "clear setuid and setgid" flag. */
bool devio_request_kills_suidgid(void);

/* Note the flags of a request that this thread is about to process (devio.c). */
void devio_note_request(const void *buf, size_t len);
