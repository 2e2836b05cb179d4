/* The syscall group table, generated at build time from syscall-groups.list by
 * gen-syscall-groups.py (the list is the only place groups are defined). */
#pragma once

#include <stddef.h>

struct syscall_group {
	const char *name;	    /* "@mount" */
	const char *description;    /* one line, for the printer and the man page */
	const char *const *members; /* NULL-terminated: "name", "?name" (optional), "@group" */
};

extern const struct syscall_group syscall_groups[];
extern const size_t syscall_groups_count;
