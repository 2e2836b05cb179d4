/* User namespaces: a child unshares, the parent (still in the host namespace) writes its id
 * maps: one id directly, or a subordinate range through newuidmap/newgidmap. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct idmap_config {
	uid_t uid;      /* the caller's id inside (0 by default) */
	gid_t gid;
	bool map_users; /* also map a subordinate range (/etc/subuid and /etc/subgid) */
};

/* Fork a child that unshares CLONE_NEWUSER | EXTRA_FLAGS, waits until the parent has mapped
 * it, then returns FN(ARG) as its exit status. The child is in a process group of its own
 * (terminal signals reach only the parent, which forwards them once) and dies with the
 * parent. Returns the child's pid, or -errno after logging the failing step and its fix. */
pid_t userns_spawn(const struct idmap_config *cfg, int extra_flags, int (*fn)(void *), void *arg);

/* The one-line explanation and fix for unshare(CLONE_NEWUSER) failing with -R. */
const char *userns_hint(int r, char *buf, size_t len);

/* Subordinate range of the calling user in FILE (/etc/subuid or /etc/subgid).
 * Returns 0 with START and COUNT set, -ENOENT when the user has none. */
int userns_subid_range(const char *file, unsigned long *start, unsigned long *count);

/* The uid_map/gid_map lines: inside ID mapped to OUTSIDE, plus, with a range (COUNT > 0),
 * every other id of 0..COUNT taken in order from the subordinate range starting at SUB. */
void userns_format_map(char *buf, size_t len, unsigned long id, unsigned long outside,
		       unsigned long sub, unsigned long count);

/* Path of newuidmap/newgidmap (NAME) if installed, else NULL. */
const char *userns_find_helper(const char *name);
