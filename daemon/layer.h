/* Opening and checking the layers before anything is mounted or written, and preparing the
 * work directory. Every refusal is one line naming the layer and what to do. */
#pragma once

#include <stddef.h>

#include "options.h"
#include "ovl.h"

/* Open and validate every layer of O into OVL and build the root inode. Nothing is written
 * when this fails. Returns 0 or -errno with a message in ERR. */
int layers_open(struct ovl *ovl, const struct ovl_options *o, char *err, size_t errlen);

/* Create and clean WORKDIR/work, and probe what the upper filesystem lets us do (trusted
 * xattrs, chown). Called after layers_open, just before mounting. */
int layers_prepare_work(struct ovl *ovl, const struct ovl_options *o, char *err, size_t errlen);

void layers_close(struct ovl *ovl);

/* Open PATH relative to the root of layer LAYER without following symbolic links or leaving
 * the layer (a metacopy's recorded data path, an unsynced copy's recorded upper path).
 * Returns the fd or -errno. */
int layer_open_beneath(struct ovl *ovl, int layer, const char *path, int flags);
