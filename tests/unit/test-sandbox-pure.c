/* Unit tests (TAP) for the sandbox's pure logic: bind destination normalization, the
 * uid_map/gid_map lines for one id or a subordinate range, clamping a policy's limits to
 * the hard limits an unprivileged process has, and the layer layout check. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* By path, not -I helper: helper/seccomp.h would shadow libseccomp's <seccomp.h>. */
#include "../../helper/project.h"
#include "../../helper/sandbox-policy.h"
#include "../../helper/userns.h"
#include "../../helper/util.h"

static int n, failed;

static void ok(int cond, const char *what, const char *got)
{
	printf("%s %d - %s%s%s\n", cond ? "ok" : "not ok", ++n, what, cond ? "" : ": got ",
	       cond ? "" : got);
	failed += !cond;
}

static void norm(const char *in, const char *want)
{
	char buf[256], what[300];
	snprintf(buf, sizeof(buf), "%s", in);
	path_normalize(buf);
	snprintf(what, sizeof(what), "path_normalize(%s) = %s", in, want);
	ok(!strcmp(buf, want), what, buf);
}

static void map(unsigned long id, unsigned long out, unsigned long sub, unsigned long count,
		const char *want)
{
	char buf[256], what[300];
	userns_format_map(buf, sizeof(buf), id, out, sub, count);
	snprintf(what, sizeof(what), "map id %lu -> %lu, range %lu+%lu", id, out, sub, count);
	ok(!strcmp(buf, want), what, buf);
}

static void clamp(rlim_t soft, rlim_t hard, rlim_t own_hard, rlim_t want_soft, rlim_t want_hard,
		  bool want_changed)
{
	struct policy_rlimit l = { RLIMIT_NOFILE, soft, hard };
	struct rlimit own = { .rlim_cur = 0, .rlim_max = own_hard };
	char what[200], got[100];
	bool changed = sandbox_rlimit_clamp(&l, &own);
	snprintf(what, sizeof(what), "clamp %llu:%llu under hard %llu", (unsigned long long)soft,
		 (unsigned long long)hard, (unsigned long long)own_hard);
	snprintf(got, sizeof(got), "%llu:%llu%s", (unsigned long long)l.soft,
		 (unsigned long long)l.hard, changed ? " (changed)" : "");
	ok(l.soft == want_soft && l.hard == want_hard && changed == want_changed, what, got);
}

/* layers WANT STATE LOWER... (the project last): WANT is the start of the error, "" = OK. */
static void layers(const char *want, const char *state, const char *const *lowers, size_t n)
{
	char err[512] = "", what[600];
	int r = project_check_layers(lowers, n, state, err, sizeof(err));
	snprintf(what, sizeof(what), "layers state=%s lowers=%s..%s: %s", state ? state : "(none)",
		 lowers[0], lowers[n - 1], *want ? want : "accepted");
	ok(*want ? r == -EINVAL && !strncmp(err, want, strlen(want)) : r == 0 && !*err, what, err);
}

int main(void)
{
	layers("", "/home/u/.local/state/antares/p-1", (const char *[]){ "/l", "/home/u/p" }, 2);
	layers("", NULL, (const char *[]){ "/home/u/p/.git", "/home/u/p" }, 2);
	layers("", "/home/u/pp", (const char *[]){ "/home/u/p" }, 1); /* a prefix, not a parent */
	layers("--lower /l is given twice", "/s", (const char *[]){ "/l", "/l", "/p" }, 3);
	layers("--lower /p is the project directory", NULL, (const char *[]){ "/p", "/p" }, 2);
	layers("the state directory /p/.state lies inside the project /p", "/p/.state",
	       (const char *[]){ "/p" }, 1);
	layers("the state directory /p lies inside the project /p", "/p", (const char *[]){ "/p" }, 1);
	layers("the state directory /l/s lies inside --lower /l", "/l/s",
	       (const char *[]){ "/l", "/p" }, 2);
	layers("the state directory /s lies inside the project /", "/s", (const char *[]){ "/" }, 1);
	layers("--lower /s/upper/x lies inside the upper layer /s/upper", "/s",
	       (const char *[]){ "/s/upper/x", "/p" }, 2);
	layers("the project /s/work/x lies inside the work directory /s/work", "/s", (const char *[]){ "/s/work/x" }, 1);

	norm("/tmp/a/../b", "/tmp/b");
	norm("//tmp///x/./y/", "/tmp/x/y");
	norm("/../../etc", "/etc");
	norm("/a/b/../../..", "/");
	norm("/", "/");
	norm("/home/u/.config", "/home/u/.config");
	norm("/x/..y/...", "/x/..y/...");
	map(0, 1000, 0, 0, "0 1000 1\n");
	map(1000, 1000, 0, 0, "1000 1000 1\n");
	map(0, 1000, 100000, 65536, "0 1000 1\n1 100000 65536\n");
	map(1000, 1000, 100000, 65536, "0 100000 1000\n1000 1000 1\n1001 101000 64536\n");
	map(0, 0, 1, 65535, "0 0 1\n1 1 65535\n");
	clamp(64, 128, 1024, 64, 128, false);
	clamp(1024, 2048, 512, 512, 512, true);
	clamp(64, 2048, 512, 64, 512, true);
	clamp(RLIM_INFINITY, RLIM_INFINITY, 4096, 4096, 4096, true);
	clamp(RLIM_INFINITY, RLIM_INFINITY, RLIM_INFINITY, RLIM_INFINITY, RLIM_INFINITY, false);
	clamp(0, 0, 0, 0, 0, false);
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
