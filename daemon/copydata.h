/* File data copy for copy-up (reflink, copy_file_range or read/write; holes preserved). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Copy SIZE bytes of data from IN to OUT (OUT empty). DURABLE: the caller will fsync OUT, so
 * the data is sent to the disk as the copy goes. On failure returns -errno and points
 * *SYSCALL at the call that failed, for the log line. */
int copy_data(int in, int out, off_t size, bool durable, const char **syscall);
