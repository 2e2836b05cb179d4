/* Fds held open for writing files the kernel opened alone (no_open, ops_file.c). WRITE comes
 * without a handle, so each would open and close the file (SQLite's commits paid 25 % more
 * for that); instead an inode keeps its write fd while it is being written, and a thread
 * closes it after WRITE_FD_IDLE_SECONDS without use. Not for ever: a daemon holding files
 * open for writing keeps the upper file system from being remounted read-only, and programs
 * there from being run on the host (ETXTBSY). */
#pragma once

#include <stdbool.h>

#include "ovl.h"

#define WRITE_FD_IDLE_SECONDS 2

/* INO's write fd, marked as in use (give it back with writefds_put), or -1. */
int writefds_take(struct ovl_inode *ino);
/* Make FD, open for writing INO's upper data, the inode's write fd, in use by the caller:
 * true, or false when INO has one already or inodes hold data_fds_max fds (FD stays the
 * caller's). */
bool writefds_adopt(struct ovl *ovl, struct ovl_inode *ino, int fd);
void writefds_put(struct ovl_inode *ino);
/* INO is being freed: close its write fd. */
void writefds_drop(struct ovl *ovl, struct ovl_inode *ino);
/* Stop the thread (at exit, before the inodes are freed). */
void writefds_shutdown(void);
