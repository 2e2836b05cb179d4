/* Unit tests of what a loaded policy becomes: OCI JSON import (and its malformed inputs), the
 * printer (exact text, and print -> load -> print round trips of the shipped profiles), the
 * seccomp compiler's refusals, the helper plan and environment, and that the man page and the
 * group table agree with the code. Usage: test-policy-model PROFILES_DIR MAN5_PAGE */
#include <seccomp.h>

#include "policy-internal.h"
#include "syscall-groups.h"
#include "tap.h"

static const char *profiles_dir, *man5;

static char *print_to_string(const struct policy *p)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	policy_print(p, f);
	fclose(f);
	return out;
}

/* The lines of S that are not comments, with trailing origin comments cut. */
static char *strip_comments(const char *s)
{
	char *out = calloc(1, strlen(s) + 1), *o = out;
	for (const char *line = s; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		const char *hash = memmem(line, len, "  #", 3);
		if (line[0] != '#') {
			size_t keep = hash ? (size_t)(hash - line) : len;
			memcpy(o, line, keep);
			o += keep;
			*o++ = '\n';
		}
		line += len + (nl != NULL);
	}
	return out;
}

static char *rules_text(const struct policy *p)
{
	char *all = print_to_string(p), *start = strstr(all, "[syscalls]"),
	     *end = strstr(all, "\n[capabilities]");
	if (!start || !end) {
		free(all);
		return strdup("");
	}
	*end = '\0';
	char *s = strip_comments(start);
	free(all);
	return s;
}

static void test_oci(void)
{
	static const char json[] =
		"{\n"
		"  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n"
		"  \"defaultErrnoRet\": 38,\n"
		"  \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", "
		"\"SCMP_ARCH_X32\"],\n"
		"  \"syscalls\": [\n"
		"    {\"names\": [\"read\", \"write\", \"not_a_syscall_q\"], \"action\": "
		"\"SCMP_ACT_ALLOW\"},\n"
		"    {\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13},\n"
		"    {\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"},\n"
		"    {\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
		"     \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]},\n"
		"    {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
		"     \"args\": [{\"index\": 0, \"value\": 0, \"op\": \"SCMP_CMP_EQ\"},\n"
		"              {\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]},\n"
		"    {\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
		"     \"args\": [{\"index\": 0, \"value\": 2114060288, \"valueTwo\": 0,\n"
		"               \"op\": \"SCMP_CMP_MASKED_EQ\"}]},\n"
		"    {\"names\": [\"bpf\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": "
		"{\"caps\": "
		"[\"CAP_SYS_ADMIN\"]}},\n"
		"    {\"names\": [\"syslog\"], \"action\": \"SCMP_ACT_ALLOW\", \"excludes\": "
		"{\"caps\": "
		"[\"CAP_SYS_ADMIN\"]}},\n"
		"    {\"names\": [\"s390_pci_mmio_read\"], \"action\": \"SCMP_ACT_ALLOW\", "
		"\"includes\": {\"arches\": [\"s390x\"]}},\n"
		"    {\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_LOG\", \"comment\": "
		"\"ignored\"}\n"
		"  ]\n"
		"}\n";
	struct memfile files[] = { { "docker.json", json, 0 }, { 0 } };
	struct policy *p;
	struct policy_action a;
	char *got = load_files(files, &p);

	if (!is_str(got, "", "OCI profile imports")) {
		free(got);
		return;
	}
	char *rules = rules_text(p);
	is_str(rules,
	       "[syscalls]\n"
	       "default = errno ENOSYS\n"
	       "allow = read write ?not_a_syscall_q\n"
	       "deny = mount : errno EACCES\n"
	       "deny = ptrace : kill\n"
	       "allow = socket : when arg0 == 1\n"
	       "allow = personality : when arg0 == 0\n"
	       "allow = personality : when arg0 == 8\n"
	       "allow = clone : when arg0 & 0x7e020000 == 0\n"
	       "allow = syslog\n"
	       "allow = getpid\n"
	       "deny-ioctl = TIOCSTI : errno EPERM\n"
	       "deny-ioctl = TIOCLINUX : errno EPERM\n"
	       "deny-clone-flags = CLONE_NEWUSER : errno EPERM\n",
	       "OCI rules in order: errnoRet, kill, args, same-index args split as runc does, "
	       "caps and arches conditions decided, LOG as allow, unknown names optional");
	free(rules);
	ok(policy_syscall_action(p, "mount", &a) == 0 && a.type == POLICY_ACTION_ERRNO &&
		   a.errno_value == EACCES,
	   "OCI errnoRet is the rule's errno");
	scmp_filter_ctx ctx = NULL;
	struct policy_diags d = { 0 };
	ok(policy_compile_seccomp(p, &ctx, &d) == 0 && d.n == 0,
	   "the docker-style conditional clone rule compiles together with the CLONE_NEWUSER "
	   "filter");
	if (ctx)
		seccomp_release(ctx);
	policy_diags_clear(&d);
	free(got);
	policy_free(p);

	struct memfile inc[] = {
		{ "p/main.policy", "include \"oci/x.json\"\n[syscalls]\ndefault = kill\n", 0 },
		{ "p/oci/x.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}", 0 },
		{ 0 },
	};
	got = load_files(inc, &p);
	ok(p && !*got && p->default_action.type == POLICY_ACTION_KILL && p->n_files == 2,
	   "a policy includes a .json file, and overrides its default afterwards");
	free(got);
	policy_free(p);
}

static void expect_json(const char *json, const char *want, const char *what)
{
	struct memfile files[] = { { "x.json", json, 0 }, { 0 } };
	char *got = load_files(files, NULL);
	is_str(got, want, what);
	free(got);
}

static void test_oci_errors(void)
{
	expect_json(
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": [ {\"names\": [\"read\"]\n"
		"   \"action\": 1} ]}",
		"x.json:3:4: invalid JSON: expected ',' or '}' in object", "JSON syntax error");
	expect_json("{\"defaultAction\": \"SCMP_ACT_FOO\"}",
		    "x.json:1:19: unknown action 'SCMP_ACT_FOO'", "unknown action");
	expect_json("{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}",
		    "x.json:1:19: action SCMP_ACT_NOTIFY is not supported (it needs a supervisor)",
		    "notify action refused");
	expect_json("{\"syscalls\": []}", "x.json:1:1: \"defaultAction\" is missing",
		    "defaultAction required");
	expect_json("[1, 2]", "x.json:1:1: an OCI seccomp profile must be an object, not an array",
		    "top level must be an object");
	expect_json("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultAction\": \"SCMP_ACT_KILL\"}",
		    "x.json:1:37: invalid JSON: duplicate key \"defaultAction\"",
		    "duplicate JSON key");
	expect_json("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": -1}",
		    "x.json:1:56: errno must be a number from 1 to 4095", "negative errno");
	expect_json(
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"Read!\"], "
		"\"action\": \"SCMP_ACT_ALLOW\"}]}",
		"x.json:1:61: invalid syscall name \"Read!\"", "bad syscall name in JSON");
	expect_json(
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
		"\"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 6, \"value\": 1, \"op\": "
		"\"SCMP_CMP_EQ\"}]}]}",
		"x.json:1:117: args[].index must be a number from 0 to 5", "argument index 6");
	expect_json(
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_Z80\"]}",
		"x.json:1:55: unknown architecture 'SCMP_ARCH_Z80'", "unknown architecture");
	expect_json("{\"defaultAction\": \"SCMP_ACT_ALLOW\" \"x\"}",
		    "x.json:1:36: invalid JSON: expected ',' or '}' in object", "missing comma");
	expect_json("{\"a\": \"\\ud800\"}",
		    "x.json:1:8: invalid JSON: high surrogate without a low one in \\u escape",
		    "lone surrogate escape");
	expect_json("{\"a\": \"\\u0000\"}", "x.json:1:8: invalid JSON: \\u0000 is not supported",
		    "NUL escape");
	expect_json("{\"a\": 01}", "x.json:1:8: invalid JSON: expected ',' or '}' in object",
		    "leading zero");
	expect_json("", "x.json:1:1: invalid JSON: unexpected end of input", "empty file");
	expect_json("\"\xff\"", "x.json:1:2: invalid UTF-8 (byte 0xff)", "non-UTF-8 JSON");

	char deep[200] = "";
	for (int i = 0; i < 70; i++)
		strcat(deep, "[");
	expect_json(deep, "x.json:1:65: invalid JSON: nested too deeply (the limit is 64)",
		    "nesting depth bounded");
}

static void test_print(void)
{
	static const char text[] = "[syscalls]\n"
				   "default = errno ENOSYS\n"
				   "allow = @swap read\n"
				   "deny = socket : errno EAFNOSUPPORT when arg0 == 40\n"
				   "allow-ioctl = TIOCLINUX\n"
				   "[capabilities]\nkeep = CAP_CHOWN\n"
				   "[namespaces]\nhostname = box\n"
				   "[filesystem]\nhome = ro\nrw = \"?~/my dir\"\n"
				   "[environment]\nmode = clear\nallow = PATH LC_*\n"
				   "set = \"A=x y\" B=2\nunset = C\n"
				   "[limits]\nnofile = 1024:4096\nas = 8G\ntimeout = 90m\n";
	struct policy *p;
	char *got = load_text(text, &p), *out = p ? print_to_string(p) : NULL;

	is_str(out,
	       "# Policy 'main.policy', fully resolved. Files read, in order:\n"
	       "#   main.policy\n"
	       "# Architectures filtered: x86_64 x86 x32\n"
	       "\n"
	       "[syscalls]\n"
	       "default = errno ENOSYS  # main.policy:2\n"
	       "allow = @swap read  # main.policy:3\n"
	       "#   @swap: Enabling and disabling swap devices\n"
	       "#     swapoff swapon\n"
	       "deny = socket : errno EAFNOSUPPORT when arg0 == 40  # main.policy:4\n"
	       "allow-ioctl = TIOCLINUX\n"
	       "deny-ioctl = TIOCSTI : errno EPERM  # built in\n"
	       "deny-clone-flags = CLONE_NEWUSER : errno EPERM  # built in\n"
	       "\n"
	       "[capabilities]\nkeep = CAP_CHOWN\n"
	       "\n"
	       "[namespaces]\n"
	       "net = none  # default\nipc = private  # default\nuts = private  # default\n"
	       "hostname = box  # main.policy:9\nuser-map = single  # default\n"
	       "uid = 0  # default\ngid = 0  # default\n"
	       "\n"
	       "[filesystem]\nhome = ro  # main.policy:11\nrw = \"?~/my dir\"  # main.policy:12\n"
	       "\n"
	       "[environment]\nmode = clear  # main.policy:14\nallow = PATH LC_*\n"
	       "set = \"A=x y\"  # main.policy:16\nset = B=2  # main.policy:16\n"
	       "unset = C  # main.policy:17\n"
	       "\n"
	       "[limits]\ntimeout = 1h30m  # main.policy:21\nas = 8G  # main.policy:20\n"
	       "nofile = 1024:4096  # main.policy:19\n",
	       "print: exact resolved text (origins, groups listed, lifted built-ins, quoting)");
	free(got);
	free(out);
	policy_free(p);
}

static void test_round_trip(void)
{
	static const char *const profiles[] = { "build", "ci", "strict", "container" };
	const char *const dirs[] = { profiles_dir, NULL };
	for (size_t i = 0; i < 4; i++) {
		struct policy_loader loader = { .search_dirs = dirs };
		struct policy_diags d = { 0 };
		struct policy *p = NULL, *q = NULL;
		char *once = NULL, *twice = NULL;
		if (policy_load(profiles[i], &loader, &p, &d) == 0) {
			once = print_to_string(p);
			if (policy_load_buffer("printed.policy", once, strlen(once), &loader, &q,
					       &d) == 0)
				twice = print_to_string(q);
		}
		char *a = once ? strip_comments(once) : NULL,
		     *b = twice ? strip_comments(twice) : NULL;
		ok(a && b && strcmp(a, b) == 0 && d.n == 0,
		   "profile %s: print, load the output, print again: same policy", profiles[i]);
		free(a);
		free(b);
		free(once);
		free(twice);
		policy_free(p);
		policy_free(q);
		policy_diags_clear(&d);
	}
}

static void expect_compile(const char *text, const char *want, const char *what)
{
	struct policy *p;
	struct policy_diags d = { 0 };
	scmp_filter_ctx ctx = NULL;
	char *got = load_text(text, &p);
	if (p && policy_compile_seccomp(p, &ctx, &d) == 0)
		seccomp_release(ctx);
	char *msg = d.n ? policy_diag_format(&d.items[0]) : strdup(*got ? got : "");
	is_str(msg, want, what);
	free(msg);
	free(got);
	policy_diags_clear(&d);
	policy_free(p);
}

static void test_compile(void)
{
	expect_compile("[syscalls]\ndefault = errno ENOSYS\nallow = personality\n"
		       "deny = personality : errno EINVAL when arg0 == 1 and arg1 == 2\n",
		       "main.policy:4:8: the conditional rule for 'personality' cannot be combined "
		       "with its unconditional 'allow' (main.policy:3:9): seccomp has no "
		       "'otherwise' for a call; make the default action match, or write the "
		       "conditions as one rule",
		       "conditions that seccomp cannot express are refused with their location");
	expect_compile("[syscalls]\ndefault = errno ENOSYS\nallow = personality\n"
		       "deny = personality : errno EINVAL when arg0 & 0xff == 3\n",
		       "", "one single-condition refinement compiles (as its complement)");
	expect_compile("[syscalls]\ndefault = errno ENOSYS\nallow = ioctl\n"
		       "deny-ioctl = 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n",
		       "main.policy:4:53: at most 16 ioctl requests can be denied while ioctl is "
		       "allowed and the default action is not allow",
		       "the ioctl complement is bounded");
	expect_compile("[syscalls]\ndefault = kill\nallow = @default\n", "",
		       "kill default compiles");

	/* libseccomp needs cubic time for many multi-argument rules: bounded. */
	char *text = malloc(64 * 1024), *o = text;
	o += sprintf(o, "[syscalls]\n");
	for (int i = 0; i < 33; i++)
		o += sprintf(o, "deny = read : errno EIO when arg0 == %d and arg1 == 1\n", i);
	expect_compile(text,
		       "too many rules comparing several arguments ('read' has 33; at most 32 per "
		       "call and 128 in all)",
		       "rules comparing several arguments are bounded per call");

	/* A filter longer than the kernel's BPF_MAXINSNS is reported at compile time. */
	static const char *const calls[] = { "read",   "write",	 "openat",  "close",
					     "fstat",  "lseek",	 "mmap",    "mprotect",
					     "munmap", "brk",	 "pread64", "pwrite64",
					     "readv",  "writev", "access",  "pipe" };
	o = text + sprintf(text, "[syscalls]\n");
	for (int i = 0; i < 128; i++)
		o += sprintf(o,
			     "deny = %s : errno EIO when arg0 == %d and arg1 == %d and arg2 == 3 "
			     "and arg3 == 4 and arg4 == 5 and arg5 == 6\n",
			     calls[i % 16], i, i);
	struct policy *p;
	struct policy_diags d = { 0 };
	scmp_filter_ctx ctx = NULL;
	char *got = load_text(text, &p);
	ok(p && policy_compile_seccomp(p, &ctx, &d) == -EINVAL && d.n == 1 &&
		   strncmp(d.items[0].message, "the seccomp filter has ", 23) == 0 &&
		   strstr(d.items[0].message, " instructions; the kernel accepts at most 4096 ("),
	   "a filter over BPF_MAXINSNS is an error before it is loaded");
	policy_diags_clear(&d);
	policy_free(p);
	free(got);
	free(text);
}

static void test_profiles_compile(void)
{
	static const char *const profiles[] = { "build", "ci", "strict", "container" };
	const char *const dirs[] = { profiles_dir, NULL };
	for (size_t i = 0; i < 4; i++) {
		struct policy_loader loader = { .search_dirs = dirs };
		struct policy_diags d = { 0 };
		struct policy *p = NULL;
		struct policy_plan *plan = NULL;
		scmp_filter_ctx ctx = NULL;
		int r = policy_load(profiles[i], &loader, &p, &d);
		if (r == 0)
			r = policy_compile_seccomp(p, &ctx, &d);
		if (r == 0)
			r = policy_plan_build(p, "/home/u", &plan, &d);
		ok(r == 0 && d.n == 0, "profile %s compiles (filter and plan)", profiles[i]);
		if (ctx)
			seccomp_release(ctx);
		policy_plan_free(plan);
		policy_free(p);
		policy_diags_clear(&d);
	}
}

static void test_plan(void)
{
	struct policy *p;
	struct policy_plan *plan = NULL;
	struct policy_diags d = { 0 };
	char *got = load_text("[capabilities]\nkeep = CAP_SETUID CAP_CHOWN\n"
			      "[namespaces]\nnet = host\nuser-map = subid\n"
			      "[filesystem]\nhome = hide\nrw = ~/.cache/x ?~/.cache\n"
			      "tmpfs = /tmp\nro = ~\n"
			      "[environment]\nmode = clear\nallow = PATH LC_*\n"
			      "set = PATH=/bin LANG=C\nunset = LC_ALL\n"
			      "[limits]\nnofile = 64\ntimeout = 2m\n",
			      &p);
	ok(p && policy_plan_build(p, "/home/u/", &plan, &d) == 0, "plan builds");
	if (!plan) {
		free(got);
		policy_free(p);
		return;
	}
	char buf[512] = "";
	for (size_t i = 0; i < plan->n_mounts; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%d:%s%s ",
			 plan->mounts[i].kind, plan->mounts[i].optional ? "?" : "",
			 plan->mounts[i].path);
	is_str(buf, "2:/tmp 0:/home/u 1:?/home/u/.cache 1:/home/u/.cache/x ",
	       "mounts: ~ expanded, parents first, 'ro = ~' replaces the home entry");
	ok(plan->net == POLICY_NET_HOST && plan->user_map == POLICY_USER_MAP_SUBID &&
		   plan->n_caps == 2 && plan->caps[0] == CAP_CHOWN && plan->caps[1] == CAP_SETUID &&
		   plan->n_rlimits == 1 && plan->rlimits[0].resource == RLIMIT_NOFILE &&
		   plan->rlimits[0].soft == 64 && plan->timeout_sec == 120,
	   "namespaces, capabilities (ascending), limits and timeout");

	char *env_in[] = { "PATH=/usr/bin", "HOME=/home/u", "LC_ALL=C",
			   "LC_TIME=de_DE", "SECRET=1",	    NULL };
	char **env = NULL;
	ok(policy_plan_environ(plan, env_in, &env) == 0, "environment builds");
	buf[0] = '\0';
	for (char **e = env; e && *e; e++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s ", *e);
	is_str(buf, "LC_TIME=de_DE PATH=/bin LANG=C ",
	       "environment: cleared, LC_* passed, set replaces PATH, LC_ALL unset");
	policy_strv_free(env);
	policy_plan_free(plan);
	policy_free(p);
	free(got);

	got = load_text("[filesystem]\nrw = ~/.cache\n", &p);
	ok(p && policy_plan_build(p, NULL, &plan, &d) == -EINVAL && d.n == 1, "no home given");
	char *msg = d.n ? policy_diag_format(&d.items[0]) : NULL;
	is_str(msg, "main.policy:2:6: '~/.cache' needs the home directory, and there is none "
		    "(HOME is not set): mark it optional ('?~/.cache')",
	       "'~' without a home directory is an error at its line");
	free(msg);
	policy_diags_clear(&d);
	policy_free(p);
	free(got);

	/* HOME=/ (an account without a home): no home mount, optional "~" entries skipped. */
	got = load_text("[filesystem]\nhome = ro\nrw = ?~/.cache /var/tmp\nhide = ?~/.ssh\n"
			"[environment]\nset = CARGO_HOME=~/.cargo TILDE=~x\n", &p);
	ok(p && policy_plan_build(p, "/", &plan, &d) == 0 && d.n == 0, "HOME=/ with optional ~ paths");
	ok(plan && plan->n_mounts == 1 && strcmp(plan->mounts[0].path, "/var/tmp") == 0,
	   "HOME=/: neither / as the home nor the ~ paths are mounted");
	policy_plan_free(plan);
	plan = NULL;
	ok(p && policy_plan_build(p, "/home/u", &plan, &d) == 0, "the same policy with a home");
	char *env_none[] = { NULL };
	env = NULL;
	ok(plan && policy_plan_environ(plan, env_none, &env) == 0, "environment with ~ builds");
	buf[0] = '\0';
	for (char **e = env; e && *e; e++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s ", *e);
	ok(strstr(buf, "CARGO_HOME=/home/u/.cargo ") && strstr(buf, "TILDE=~x "),
	   "'~/' at the start of a set value is the home directory, '~x' stays");
	if (!strstr(buf, "CARGO_HOME=/home/u/.cargo "))
		fprintf(stderr, "# environment: %s\n", buf);
	policy_strv_free(env);
	policy_plan_free(plan);
	policy_free(p);
	free(got);

	got = load_text("[filesystem]\nrw = ~/.cache\n", &p);
	ok(p && policy_plan_build(p, "/", &plan, &d) == -EINVAL && d.n == 1,
	   "HOME=/ and a ~ path that is not optional");
	policy_diags_clear(&d);
	policy_free(p);
	free(got);
}

/* Acceptance: the man page documents every key and the group list matches the table. */
static void test_docs(void)
{
	FILE *f = fopen(man5, "r");
	char *man = NULL;
	size_t len = 0;
	if (f) {
		fseek(f, 0, SEEK_END);
		len = (size_t)ftell(f);
		rewind(f);
		man = calloc(1, len + 1);
		if (fread(man, 1, len, f) != len)
			len = 0;
		fclose(f);
	}
	ok(man && len, "man page %s is readable", man5);
	ok(policy_sections[0].n_keys == policy_syscall_keys_count,
	   "the [syscalls] table lists every syscall key");
	size_t missing = 0;
	for (size_t s = 0; man && s < policy_sections_count; s++) {
		char want[96];
		snprintf(want, sizeof(want), ": [%s]\n", policy_sections[s].name);
		if (!strstr(man, want)) {
			printf("# man page lacks section heading %s\n", want);
			missing++;
		}
		for (size_t k = 0; k < policy_sections[s].n_keys; k++) {
			snprintf(want, sizeof(want), "\n.BI \"%s = \"",
				 policy_sections[s].keys[k].name);
			char alt[96];
			snprintf(alt, sizeof(alt), "\n.B \"%s = ", policy_sections[s].keys[k].name);
			if (!strstr(man, want) && !strstr(man, alt)) {
				printf("# man page lacks [%s] %s\n", policy_sections[s].name,
				       policy_sections[s].keys[k].name);
				missing++;
			}
		}
	}
	ok(man && missing == 0, "man page documents every section and key");
	free(man);

	struct policy *p = policy_new();
	size_t unknown = 0;
	for (size_t g = 0; p && g < syscall_groups_count; g++)
		for (const char *const *m = syscall_groups[g].members; *m; m++)
			if ((*m)[0] != '?' && (*m)[0] != '@' && syscall_lookup(p, *m) < 0) {
				printf("# %s: '%s' is unknown here; mark it '?'\n",
				       syscall_groups[g].name, *m);
				unknown++;
			}
	ok(p && unknown == 0, "every group member not marked '?' is known on this host's ABIs");
	policy_free(p);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s PROFILES_DIR MAN5_PAGE\n", argv[0]);
		return 2;
	}
	profiles_dir = argv[1];
	man5 = argv[2];
	test_oci();
	test_oci_errors();
	test_print();
	test_round_trip();
	test_compile();
	test_profiles_compile();
	test_plan();
	test_docs();
	return done();
}
