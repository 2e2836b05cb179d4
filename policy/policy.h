/* Public API of the Antares policy library: load a sandbox policy (by name or file, includes
 * resolved), print it, and compile it into a seccomp filter, a capability set and the helper's
 * namespace/mount/environment/limits plan. No global state, no exit(), no output except into a
 * FILE* the caller hands in; every error comes back as a file:line:column diagnostic. */
#pragma once

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <sys/types.h>

/* ---- diagnostics ---------------------------------------------------------------------- */

struct policy_diag {
	char *file;    /* the file as the user named it (an include: joined to its parent's dir) */
	unsigned line; /* 1-based; 0 when the message is about the whole file */
	unsigned column; /* 1-based, in characters; 0 when not about one place in the line */
	char *message;
};

struct policy_diags {
	struct policy_diag *items;
	size_t n;
};

/* Prints each diagnostic as "file:line:column: message\n" (parts that are 0 are left out). */
void policy_diags_print(const struct policy_diags *diags, FILE *out);
/* Formats one diagnostic like policy_diags_print (no newline); returns a malloc'ed string. */
char *policy_diag_format(const struct policy_diag *diag);
void policy_diags_clear(struct policy_diags *diags);

/* ---- loading ---------------------------------------------------------------------------- */

struct policy;

struct policy_loader {
	/* NULL-terminated list of directories searched for policies given by NAME ("build"
	 * finds DIR/build.policy), both at top level and in `include NAME`. May be NULL. */
	const char *const *search_dirs;
	/* Reads a whole file into a malloc'ed buffer; returns 0 or -errno (-ENOENT when absent).
	 * NULL reads the real file system. Tests and the fuzzer serve files from memory. */
	int (*read_file)(void *userdata, const char *path, char **ret_data, size_t *ret_size);
	void *userdata;
};

/* Loads NAME_OR_PATH: a path if it contains '/' or ends in ".policy" or ".json" (an OCI seccomp
 * profile), else a name searched in loader->search_dirs. Returns 0 and a policy, or -EINVAL with
 * at least one diagnostic appended to DIAGS, or another -errno (e.g. -ENOMEM). */
int policy_load(const char *name_or_path, const struct policy_loader *loader, struct policy **ret,
		struct policy_diags *diags);
/* Parses DATA as if it were the file FILE_NAME (includes resolve relative to its directory). */
int policy_load_buffer(const char *file_name, const char *data, size_t size,
		       const struct policy_loader *loader, struct policy **ret,
		       struct policy_diags *diags);
void policy_free(struct policy *p);

/* Writes the fully resolved policy (includes expanded, each rule with its origin, every group
 * with its members) in the policy format itself, so the output loads back as the same policy. */
int policy_print(const struct policy *p, FILE *out);

/* ---- syscall actions -------------------------------------------------------------------- */

enum policy_action_type {
	POLICY_ACTION_ALLOW,
	POLICY_ACTION_ERRNO,
	POLICY_ACTION_KILL, /* kill the whole process (SECCOMP_RET_KILL_PROCESS) */
};

struct policy_action {
	enum policy_action_type type;
	int errno_value; /* POLICY_ACTION_ERRNO only */
};

/* The action SYSCALL gets when no argument condition applies: the last rule naming it, else the
 * default. Returns 0, or -ENOENT when the name is unknown on every architecture filtered. */
int policy_syscall_action(const struct policy *p, const char *syscall, struct policy_action *ret);

/* ---- compilers -------------------------------------------------------------------------- */

/* Builds the seccomp filter: the native architecture and every compat one the kernel can run
 * (x86-64: x86_64, x86 and x32), bad-architecture action kill. The caller loads it after
 * PR_SET_NO_NEW_PRIVS and releases it with seccomp_release(). */
int policy_compile_seccomp(const struct policy *p, scmp_filter_ctx *ret,
			   struct policy_diags *diags);

/* The capabilities the policy keeps, ascending. *ret is malloc'ed (NULL when none). */
int policy_compile_caps(const struct policy *p, cap_value_t **ret, size_t *ret_n);
/* The same as a libcap state: kept capabilities permitted, effective and inheritable. */
int policy_compile_cap_state(const struct policy *p, cap_t *ret);

enum policy_net { POLICY_NET_NONE, POLICY_NET_HOST };
enum policy_share { POLICY_SHARE_PRIVATE, POLICY_SHARE_HOST };
enum policy_user_map { POLICY_USER_MAP_SINGLE, POLICY_USER_MAP_SUBID };
enum policy_home { POLICY_HOME_HIDE, POLICY_HOME_RO, POLICY_HOME_RW };
enum policy_mount_kind {
	POLICY_MOUNT_RO,    /* bind the host path read-only at the same place */
	POLICY_MOUNT_RW,    /* bind the host path read-write */
	POLICY_MOUNT_TMPFS, /* an empty, writable tmpfs */
	POLICY_MOUNT_HIDE,  /* directories: an empty read-only tmpfs; files: an empty file */
};

struct policy_mount {
	enum policy_mount_kind kind;
	char *path;    /* absolute, "~" expanded */
	bool optional; /* skip when the host path does not exist */
};

struct policy_rlimit {
	int resource; /* RLIMIT_* */
	rlim_t soft, hard;
};

/* What the sandbox helper sets up around the command. Plain data; free with policy_plan_free. */
struct policy_plan {
	enum policy_net net;
	enum policy_share ipc, uts;
	char *hostname; /* NULL: keep the host's name (in the private UTS namespace) */
	enum policy_user_map user_map;
	uid_t uid; /* the caller's ids inside the user namespace */
	gid_t gid;
	enum policy_home home;
	/* In mount order: parents before children, later entries over earlier ones. $HOME's own
	 * entry (hide/ro/rw) is included. */
	struct policy_mount *mounts;
	size_t n_mounts;
	bool env_clear;	  /* start from an empty environment, then env_allow */
	char **env_allow; /* NULL-terminated patterns ("LC_*") passed through when clearing */
	char **env_set;	  /* NULL-terminated "NAME=VALUE", applied after allow */
	char **env_unset; /* NULL-terminated names removed last */
	struct policy_rlimit *rlimits;
	size_t n_rlimits;
	uint64_t timeout_sec; /* wall clock; 0: none */
	cap_value_t *caps;    /* kept capabilities; everything else leaves every set */
	size_t n_caps;
};

/* HOME is the invoking user's home directory, used for "~" and `home =`; the policy library
 * never looks it up itself. */
int policy_plan_build(const struct policy *p, const char *home, struct policy_plan **ret,
		      struct policy_diags *diags);
void policy_plan_free(struct policy_plan *plan);
/* The command's environment: ENVP filtered and amended as the plan says. *ret is a malloc'ed
 * NULL-terminated array of malloc'ed strings (free with policy_strv_free). */
int policy_plan_environ(const struct policy_plan *plan, char *const *envp, char ***ret);
void policy_strv_free(char **v);
