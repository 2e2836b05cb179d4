/* Copy-up: make the upper layer hold an object before it changes, atomically and with all
 * of its metadata. */
#pragma once

#include "ovl.h"

/* Ensure INO has an upper copy (parents first). Data is copied for regular files.
 * Returns 0 or -errno (EIO, logged with layer/path/syscall, when the lower can't be read). */
int copyup(struct ovl *ovl, struct ovl_inode *ino);

/* Copy a directory and everything under it to the upper layer and make it opaque, so it can
 * move to another name without its lower contents staying behind. */
int copyup_tree(struct ovl *ovl, struct ovl_inode *dir);

/* Remove leftovers of interrupted copy-ups from the work directory (at mount). */
int copyup_clean_workdir(int work_fd);
