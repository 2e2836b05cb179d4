/* --diff: what runs changed, read from the upper layer against the lower layers: added,
 * modified and deleted paths, one per line ("A path", "M path", "D path"; directories end
 * in "/"), sorted. */
#pragma once

#include <stddef.h>
#include <stdio.h>

/* LOWERS: topmost first (--lower layers, then the project). Returns 0 or -errno (logged). */
int diff_print(const char *upper, const char *const *lowers, size_t n_lowers, FILE *out);
