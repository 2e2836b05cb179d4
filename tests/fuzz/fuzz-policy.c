/* libFuzzer target for the policy library. One input is a small file system: main.policy (or
 * main.json when the input starts with '{'), then more files each introduced by a line
 * "%%% PATH", which includes reach through the in-memory reader. Each input is loaded, printed,
 * queried, compiled to a seccomp filter and a capability state, and planned; a crash, leak, UB or
 * hang is a finding. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define MAX_FILES 16

struct vfile {
	char path[256];
	const char *data;
	size_t size;
};

struct vfs {
	struct vfile files[MAX_FILES];
	size_t n;
};

static int vfs_read(void *userdata, const char *path, char **ret, size_t *ret_size)
{
	const struct vfs *fs = userdata;
	for (size_t i = 0; i < fs->n; i++) {
		if (strcmp(fs->files[i].path, path) != 0)
			continue;
		char *d = malloc(fs->files[i].size + 1);
		if (!d)
			return -ENOMEM;
		memcpy(d, fs->files[i].data, fs->files[i].size);
		*ret = d;
		*ret_size = fs->files[i].size;
		return 0;
	}
	return -ENOENT;
}

static void split(const char *data, size_t size, struct vfs *fs)
{
	static const char sep[] = "\n%%% ";
	const char *p = data, *end = data + size;
	fs->n = 0;
	snprintf(fs->files[0].path, sizeof(fs->files[0].path), "%s",
		 size && data[0] == '{' ? "main.json" : "main.policy");
	for (;;) {
		struct vfile *f = &fs->files[fs->n++];
		const char *next = memmem(p, (size_t)(end - p), sep, sizeof(sep) - 1);
		f->data = p;
		f->size = (size_t)((next ? next : end) - p);
		if (!next || fs->n == MAX_FILES)
			return;
		const char *name = next + sizeof(sep) - 1;
		const char *nl = memchr(name, '\n', (size_t)(end - name));
		size_t len = (size_t)((nl ? nl : end) - name);
		if (len >= sizeof(f->path))
			len = sizeof(f->path) - 1;
		memcpy(fs->files[fs->n].path, name, len);
		fs->files[fs->n].path[len] = '\0';
		p = nl ? nl + 1 : end;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	static const char *const dirs[] = { "/p", NULL };
	static struct vfs fs;
	struct policy_diags diags = { 0 };
	struct policy *p = NULL;

	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		abort();
	split((const char *)data, size, &fs);
	struct policy_loader loader = { dirs, vfs_read, &fs };
	if (policy_load(fs.files[0].path, &loader, &p, &diags) == 0) {
		scmp_filter_ctx ctx = NULL;
		struct policy_plan *plan = NULL;
		char **env = NULL;
		char *envp[] = { "PATH=/bin", "LC_ALL=C", "HOME=/h", NULL };
		struct policy_action a;
		cap_t caps;
		policy_print(p, devnull);
		policy_syscall_action(p, "clone3", &a);
		policy_syscall_action(p, "ioctl", &a);
		if (policy_compile_cap_state(p, &caps) == 0)
			cap_free(caps);
		if (policy_compile_seccomp(p, &ctx, &diags) == 0)
			seccomp_release(ctx);
		if (policy_plan_build(p, "/home/fuzz", &plan, &diags) == 0 &&
		    policy_plan_environ(plan, envp, &env) == 0)
			policy_strv_free(env);
		policy_plan_free(plan);
		policy_free(p);
	}
	policy_diags_print(&diags, devnull);
	policy_diags_clear(&diags);
	return 0;
}
