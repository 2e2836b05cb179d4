/* Big copy-ups appear at once and reach the disk in the background, with a record in the
 * work directory that lets the next mount undo a copy a power loss may have torn. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "ovl.h"

/* Copies at least this big are synced in the background; smaller ones cost about as much to
 * record as to fsync, so they are fsynced before they appear, as before. */
#define PENDING_MIN_SIZE (1 << 20)

/* Read this boot's id and resolve the records an earlier daemon left in WORK_FD (before the
 * work directory is emptied). Errors only for what stops the mount (out of memory). */
int pending_init(struct ovl *ovl, int work_fd, char *err, size_t errlen);

/* Should a regular file of SIZE bytes be copied without waiting for its fsync? */
bool pending_wanted(const struct ovl *ovl, off_t size);

/* One copy on its way into the upper layer. */
struct pending_entry;
struct pending_ticket {
	bool active; /* a record is on disk for it */
	char id[64];
	char *path; /* relative to the upper root */
	dev_t dev;
	ino_t ino;
	int fd;             /* on the copy, for its fsync */
	struct pending_entry *slot; /* its place in the queue, allocated up front: publishing cannot fail */
};

/* Write the record for WORK/TMP, about to be renamed to PATH (relative to the upper root),
 * and make it durable. HAS_OLD: UPPER_FD/NAME already holds a copy the new one replaces,
 * which the record keeps so that it can be put back. On failure nothing is left behind and
 * the caller must fsync the copy itself. */
int pending_prepare(struct ovl *ovl, struct pending_ticket *t, const char *tmp, const char *path,
		    int upper_fd, const char *name, bool has_old);
/* The rename failed: remove the record. */
void pending_abort(struct ovl *ovl, struct pending_ticket *t);
/* The copy is in place: queue its fsync. */
void pending_publish(struct ovl *ovl, struct pending_ticket *t);

/* Wait until INO's copy (if pending) is on disk and its record gone. For an fsync of the
 * file, and before a rename or link would move it out of the record's reach. */
int pending_settle(struct ovl *ovl, struct ovl_inode *ino);
/* The same for every pending copy (a directory is about to move). */
int pending_settle_all(struct ovl *ovl);
/* At exit: sync everything still pending and stop the background thread. */
void pending_shutdown(struct ovl *ovl);
