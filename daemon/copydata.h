/* File data copy for copy-up (reflink, copy_file_range or read/write; holes preserved). */
#pragma once

#include <sys/types.h>

/* Copy SIZE bytes of data from IN to OUT (OUT empty). On failure returns -errno and points
 * *SYSCALL at the call that failed, for the log line. */
int copy_data(int in, int out, off_t size, const char **syscall);
