/* Parsing of antares-overlayd's -o option string (fuse-overlayfs compatible names).
 * Pure string handling: nothing here touches the filesystem, so it is unit-tested directly. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The preferred I/O size the mount reports (st_blksize): why it is not the layer's own, in
 * doc/daemon.md, "The block size a file reports". */
#define ANTARES_BLKSIZE (128u << 10)
#define ANTARES_BLKSIZE_MAX (1u << 20)

struct ovl_options {
	char **lowerdirs; /* topmost first, as in fuse-overlayfs and kernel overlayfs */
	size_t n_lower;
	char *upperdir; /* NULL: read-only mount */
	char *workdir;
	double timeout; /* entry/attr cache timeout, seconds */
	bool fsync;     /* fsync copied-up data before it becomes visible */
	bool userxattr; /* force user.overlay.* even when trusted.* would work */
	bool noxattrs;  /* refuse xattr operations on the mount */
	bool metacopy;  /* metadata-only copy-up (kernel overlayfs metacopy=on) */
	bool noacl;     /* don't offer POSIX ACLs to the kernel */
	bool writeback; /* kernel writeback cache: writes gathered in the page cache */
	bool squash_unmapped; /* report unmapped (overflow) owners as the daemon's own ids */
	unsigned max_read;    /* largest READ the kernel sends, bytes (max_read=) */
	unsigned blksize;     /* st_blksize shown for every file, bytes; 0: the layer's own */
	bool io_uring; /* take requests through io_uring when the kernel offers it (uring.c) */
	char *fuse_opts; /* comma-separated generic mount options handed to libfuse */
};

void ovl_options_init(struct ovl_options *o);
void ovl_options_free(struct ovl_options *o);

/* Parse one comma-separated -o string into O (may be called for several -o).
 * Returns 0, or -EINVAL with a one-line message in ERR naming the bad option. */
int ovl_options_parse(struct ovl_options *o, const char *optstring, char *err, size_t errlen);

/* Check the combination once all -o strings are in: lowerdir present, upperdir and workdir
 * together. Returns 0 or -EINVAL with a message in ERR. */
int ovl_options_check(const struct ovl_options *o, char *err, size_t errlen);
