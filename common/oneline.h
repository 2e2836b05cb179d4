/* Text for one line of a message, whatever it holds. */
#pragma once

#include <stddef.h>

/* IN copied to OUT (LEN bytes) with control characters shown as \n, \t or \xHH: a newline in
 * a path or name would split a message, an escape sequence would drive the terminal.
 * Truncated to fit; returns OUT. */
const char *text_one_line(const char *in, char *out, size_t len);
