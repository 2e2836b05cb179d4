/* FUSE low-level operations of the overlay, grouped by concern in ops_*.c; this header wires
 * them into one fuse_lowlevel_ops table and holds the helpers they share. */
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "lookup.h"
#include "ovl.h"

extern const struct fuse_lowlevel_ops ovl_ops;

static inline struct ovl *req_ovl(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static inline struct ovl_inode *node(struct ovl *ovl, fuse_ino_t n)
{
	return n == FUSE_ROOT_ID ? ovl->root : (struct ovl_inode *)(uintptr_t)n;
}

static inline fuse_ino_t nodeid(struct ovl *ovl, struct ovl_inode *ino)
{
	return ino == ovl->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)ino;
}

/* Fill E for INO (referenced by the caller) with ST; the reference becomes a kernel lookup. */
void ops_make_entry(struct ovl *ovl, struct ovl_inode *ino, const struct stat *st,
		    struct fuse_entry_param *e);
/* Look NAME up in PARENT and reply with the entry (or the error). */
void ops_reply_lookup(fuse_req_t req, struct ovl_inode *parent, const char *name);

/* Does NAME exist (not whited out) in a lower layer merged into PARENT? Then removing or moving
 * it away in the upper needs a whiteout. */
bool ops_lower_has_name(struct ovl_inode *parent, const char *name);

/* Prepare PARENT's upper copy for a new entry NAME: copy-up, and remove a whiteout that sits at
 * NAME (*replaced_whiteout tells). Returns the upper fd of PARENT or -errno. */
int ops_prepare_new_entry(struct ovl *ovl, struct ovl_inode *parent, const char *name,
			  bool *replaced_whiteout);
/* The mode to create an entry with in upper directory UPFD: with POSIX ACLs the kernel leaves
 * the caller's umask to us, and a default ACL on the directory replaces the umask. */
mode_t ops_create_mode(struct ovl *ovl, fuse_req_t req, int upfd, mode_t mode);
/* Give a new upper entry NAME in UPFD the caller's ownership (fuse_req_ctx). */
void ops_set_new_owner(struct ovl *ovl, fuse_req_t req, int upfd, const char *name, bool is_dir);

/* ops_entry.c */
void op_lookup(fuse_req_t, fuse_ino_t, const char *);
void op_forget(fuse_req_t, fuse_ino_t, uint64_t);
void op_forget_multi(fuse_req_t, size_t, struct fuse_forget_data *);
void op_mkdir(fuse_req_t, fuse_ino_t, const char *, mode_t);
void op_mknod(fuse_req_t, fuse_ino_t, const char *, mode_t, dev_t);
void op_symlink(fuse_req_t, const char *, fuse_ino_t, const char *);
void op_link(fuse_req_t, fuse_ino_t, fuse_ino_t, const char *);
void op_unlink(fuse_req_t, fuse_ino_t, const char *);
void op_rmdir(fuse_req_t, fuse_ino_t, const char *);
void op_rename(fuse_req_t, fuse_ino_t, const char *, fuse_ino_t, const char *, unsigned);

/* ops_attr.c */
/* What the VFS does to a file written or truncated by a caller without CAP_FSETID, or given
 * a new owner, and the kernel leaves to us under FUSE_HANDLE_KILLPRIV_V2 (devio.c): clear
 * setuid, and setgid if the group may execute. HFD: an fd on the upper copy, or -1. NOTIFY:
 * the node whose cached mode the kernel must forget after a change (outside a setattr, whose
 * reply carries the new mode), or 0. Our own write or truncation may already have cleared the
 * bits on the upper copy (the host kernel does when the daemon lacks CAP_FSETID over it), so
 * a write or open asks ops_has_suidgid before it, and kills afterwards only if it said yes. */
int ops_kill_suidgid(struct ovl *ovl, struct ovl_inode *ino, int hfd, fuse_ino_t notify);
bool ops_has_suidgid(struct ovl *ovl, struct ovl_inode *ino, int hfd);
void op_getattr(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
void op_setattr(fuse_req_t, fuse_ino_t, struct stat *, int, struct fuse_file_info *);
void op_readlink(fuse_req_t, fuse_ino_t);
void op_access(fuse_req_t, fuse_ino_t, int);
void op_statfs(fuse_req_t, fuse_ino_t);
void op_setxattr(fuse_req_t, fuse_ino_t, const char *, const char *, size_t, int);
void op_getxattr(fuse_req_t, fuse_ino_t, const char *, size_t);
void op_listxattr(fuse_req_t, fuse_ino_t, size_t);
void op_removexattr(fuse_req_t, fuse_ino_t, const char *);

/* ops_file.c */
/* The fd of an open file's handle, and whether it is on lower data (a metacopy's, or a file
 * not copied up). Only for FI with a handle (fi->fh != 0): no_open files have none. */
int ops_file_fd(struct fuse_file_info *fi);
/* At exit, with no request left running: wait for write-behind hand-overs still running on
 * threads of their own, and free the handles of files the kernel never released. */
void ops_file_shutdown(void);
bool ops_file_on_lower_data(struct fuse_file_info *fi);
/* INO's last name is about to go while the kernel may still have it open (with no_open we
 * cannot know), so an fd on its data is kept until the kernel forgets it: for reads and
 * writes without a handle, and for fstat(). */
void ops_file_pin_data(struct ovl *ovl, struct ovl_inode *ino);
/* The fd INO keeps on its upper data (WRITABLE: one opened for writing), or -1. It stays
 * open until the inode is freed. */
int ops_file_cached_fd(struct ovl_inode *ino, bool writable);
/* For INO without a name left: the fd that carries its metadata, or -1. That is the fd on
 * its data, but for a metacopy whose data is still lower, its kept upper file: then
 * *DATA_FD is the fd on the data (for st_blocks), else -1. */
int ops_file_removed_meta_fd(struct ovl_inode *ino, int *data_fd);
/* Before a change through a file the kernel opened alone (ftruncate): copy INO up as a
 * write would, and return a new fd on the upper data, for the caller to close (or -errno). */
int ops_file_open_upper(struct ovl *ovl, struct ovl_inode *ino);
void op_open(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
void op_create(fuse_req_t, fuse_ino_t, const char *, mode_t, struct fuse_file_info *);
void op_read(fuse_req_t, fuse_ino_t, size_t, off_t, struct fuse_file_info *);
void op_write_buf(fuse_req_t, fuse_ino_t, struct fuse_bufvec *, off_t, struct fuse_file_info *);
void op_flush(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
void op_release(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
void op_fsync(fuse_req_t, fuse_ino_t, int, struct fuse_file_info *);
void op_fallocate(fuse_req_t, fuse_ino_t, int, off_t, off_t, struct fuse_file_info *);
void op_lseek(fuse_req_t, fuse_ino_t, off_t, int, struct fuse_file_info *);
void op_copy_file_range(fuse_req_t, fuse_ino_t, off_t, struct fuse_file_info *, fuse_ino_t, off_t,
			struct fuse_file_info *, size_t, int);

/* ops_dir.c */
void op_opendir(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
void op_readdir(fuse_req_t, fuse_ino_t, size_t, off_t, struct fuse_file_info *);
void op_readdirplus(fuse_req_t, fuse_ino_t, size_t, off_t, struct fuse_file_info *);
void op_releasedir(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
void op_fsyncdir(fuse_req_t, fuse_ino_t, int, struct fuse_file_info *);
