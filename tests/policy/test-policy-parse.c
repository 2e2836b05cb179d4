/* Unit tests of the policy parser and loader: every case asserts the exact diagnostic
 * (file:line:column: message) or the exact resolved value. Files come from memory. */
#include <sched.h>
#include <seccomp.h>

#include "policy-internal.h"
#include "tap.h"

static void test_text(void)
{
	static const char nul[] = "[syscalls]\nde\0fault = allow\n";
	struct memfile f[] = { { "main.policy", nul, sizeof(nul) - 1 }, { 0 } };
	char *got = load_files(f, NULL);
	is_str(got, "main.policy:2:3: NUL byte: a policy must be a text file", "NUL byte");
	free(got);

	expect_diag("[syscalls]\n# caf\xe9\n", "main.policy:2:6: invalid UTF-8 (byte 0xe9)",
		    "non-UTF-8 byte (Latin-1 e-acute)");
	expect_diag("# \xc0\xaf\n", "main.policy:1:3: invalid UTF-8 (byte 0xc0)",
		    "overlong UTF-8 encoding of '/'");
	expect_diag("# \xed\xa0\x80\n", "main.policy:1:3: invalid UTF-8 (byte 0xed)",
		    "UTF-8 encoded surrogate");
	expect_diag("# caf\xc3\xa9 \x1b[0m\n", "main.policy:1:8: control character 0x1b",
		    "escape character; the column counts characters, not bytes");
	expect_diag("[syscalls]\rdefault = allow\n",
		    "main.policy:1:11: carriage return not followed by a newline", "lone CR");
	expect_diag("\xEF\xBB\xBF[syscalls]\r\ndefault = allow\r\n", "",
		    "byte order mark and CRLF line ends are accepted");

	char *line = malloc(5100);
	snprintf(line, 5100, "[syscalls]\n# %04990d\ndefault = alow\n", 0);
	expect_diag(line,
		    "main.policy:2: line too long (4992 bytes; the limit is 4096)\n"
		    "main.policy:3:11: expected an action (allow, kill or errno NAME), got 'alow'",
		    "overlong line is reported and parsing goes on");
	free(line);

	size_t big = POLICY_MAX_FILE_SIZE + 1;
	char *huge = malloc(big);
	memset(huge, '#', big);
	struct memfile h[] = { { "main.policy", huge, big }, { 0 } };
	got = load_files(h, NULL);
	is_str(got, "main.policy: file too large (1048577 bytes; the limit is 1048576)",
	       "file over 1 MiB");
	free(got);
	free(huge);
}

static void test_grammar(void)
{
	expect_diag("[syscall]\ndefault = allow\n",
		    "main.policy:1:2: unknown section '[syscall]'; did you mean '[syscalls]'?",
		    "misspelled section, keys below it are skipped");
	expect_diag("[xyzzy]\n", "main.policy:1:2: unknown section '[xyzzy]'",
		    "unknown section without a near name");
	expect_diag("[syscalls\n", "main.policy:1:1: missing ']' after the section name",
		    "unclosed section header");
	expect_diag("[syscalls] x\n", "main.policy:1:12: unexpected text after the section header",
		    "text after a section header");
	expect_diag(
		"net = none\n",
		"main.policy:1:1: key 'net' is outside of any section; put it under [namespaces]",
		"key before any section");
	expect_diag("[syscalls]\nnet = none\n",
		    "main.policy:2:1: key 'net' belongs in [namespaces], not [syscalls]",
		    "key in the wrong section");
	expect_diag("[syscalls]\ndefualt = allow\n",
		    "main.policy:2:1: unknown key 'defualt' in [syscalls]; did you mean 'default'?",
		    "misspelled key");
	expect_diag("[namespaces]\nnet = none\nnet = host\n",
		    "main.policy:3:1: duplicate key 'net' in [namespaces] (first set on line 2)",
		    "duplicate scalar key in one file");
	expect_diag("[syscalls]\nallow @mount\n", "main.policy:2:7: expected '=' after 'allow'",
		    "missing '='");
	expect_diag("[syscalls]\nallow =\n", "main.policy:2:1: 'allow' needs a value",
		    "missing value");
	expect_diag(
		"[syscalls]\nAllow = read\n",
		"main.policy:2:1: expected 'key = value', '[section]' or 'include', got 'Allow'",
		"key names are lower case");
	expect_diag("[filesystem]\nro = \"/a b\n", "main.policy:2:6: unterminated quoted string",
		    "unterminated quoted string");
	expect_diag(
		"[filesystem]\nro = \"/a\\tb\"\n",
		"main.policy:2:9: unknown escape in quoted string (only \\\" and \\\\ are allowed)",
		"unknown escape");
	expect_diag("[filesystem]\nro = /a\"b\n", "main.policy:2:8: unexpected '\"' inside a word",
		    "quote inside a word");
	expect_diag("include\n", "main.policy:1:1: 'include' takes one file or profile name",
		    "include without a name");
}

static void test_syscalls(void)
{
	struct policy *p;
	struct policy_action a;
	char *got, arches[64] = "", want[256];

	expect_diag("[syscalls]\ndeny = opnat\n",
		    "main.policy:2:8: unknown syscall 'opnat'; did you mean 'openat'?",
		    "misspelled syscall gets the nearest name");
	for (size_t i = 0; i < (size_t)policy_host_arches((uint32_t[4]){ 0 }, 4); i++) {
		uint32_t list[4];
		policy_host_arches(list, 4);
		snprintf(arches + strlen(arches), sizeof(arches) - strlen(arches), "%s%s",
			 i ? ", " : "", arch_name(list[i]));
	}
	snprintf(want, sizeof(want),
		 "main.policy:2:9: unknown syscall 'qqqqqqqqqq' on %s (write '?qqqqqqqqqq' if it "
		 "may be absent)",
		 arches);
	expect_diag("[syscalls]\nallow = qqqqqqqqqq\n", want, "unknown syscall, no near name");
	got = load_text("[syscalls]\nallow = ?qqqqqqqqqq read\n", &p);
	ok(p && !*got && policy_syscall_action(p, "qqqqqqqqqq", &a) == -ENOENT,
	   "'?' makes an unknown syscall optional");
	free(got);
	policy_free(p);
}

static void test_actions_and_conditions(void)
{
	expect_diag("[syscalls]\ndeny = @mont\n",
		    "main.policy:2:8: unknown syscall group '@mont'; did you mean '@mount'?",
		    "misspelled group");
	expect_diag("[syscalls]\ndeny = ?@mount\n",
		    "main.policy:2:8: '?' marks an optional syscall; groups are always known",
		    "groups cannot be optional");
	expect_diag("[syscalls]\ndeny = Read\n", "main.policy:2:8: invalid syscall name 'Read'",
		    "syscall names are lower case");
	expect_diag("[syscalls]\ndeny = ptrace : errno EPRM\n",
		    "main.policy:2:23: unknown errno name 'EPRM'; did you mean 'EPERM'?",
		    "misspelled errno name");
	expect_diag("[syscalls]\ndeny = ptrace : errno 0\n",
		    "main.policy:2:23: errno 0 is out of range (1 to 4095; 0 would fake success)",
		    "errno 0 refused");
	expect_diag("[syscalls]\ndefault = errno\n",
		    "main.policy:2:11: 'errno' needs a name, e.g. 'errno EPERM'",
		    "errno without a name");
	expect_diag("[syscalls]\ndefault = deny\n",
		    "main.policy:2:11: expected an action (allow, kill or errno NAME), got 'deny'",
		    "bad default action");
	expect_diag("[syscalls]\ndefault = kill now\n",
		    "main.policy:2:16: unexpected 'now' after the action", "text after the action");
	expect_diag("[syscalls]\nallow = read : errno EPERM\n",
		    "main.policy:2:16: 'allow' takes no action; use 'deny = ... : errno NAME'",
		    "allow with an action");
	expect_diag("[syscalls]\ndeny = read :\n",
		    "main.policy:2:13: expected an action or 'when' after ':'", "dangling ':'");
	expect_diag("[syscalls]\ndeny = socket : when arg0 == 1 and arg0 == 2\n",
		    "main.policy:2:36: arg0 is compared twice in one rule, which seccomp cannot "
		    "express; write two rules",
		    "one argument compared twice");
	expect_diag("[syscalls]\ndeny = socket : when arg6 == 1\n",
		    "main.policy:2:22: expected arg0 to arg5, got 'arg6'",
		    "argument index out of range");
	expect_diag("[syscalls]\ndeny = socket : when arg0 =~ 1\n",
		    "main.policy:2:27: expected a comparison (== != < <= > >= or & MASK ==)",
		    "unknown comparison");
}

static void test_rule_order(void)
{
	struct policy *p;
	struct policy_action a;
	char *got;

	got = load_text("[syscalls]\ndefault = errno ENOSYS\nallow = @mount\ndeny = mount\n"
			"deny = umount2 : kill\nallow = umount2\n",
			&p);
	ok(p && !*got, "ordered rules load");
	ok(p && policy_syscall_action(p, "mount", &a) == 0 && a.type == POLICY_ACTION_ERRNO &&
		   a.errno_value == EPERM,
	   "the last rule naming a call wins (deny after allow @mount: EPERM)");
	ok(p && policy_syscall_action(p, "umount2", &a) == 0 && a.type == POLICY_ACTION_ALLOW,
	   "allow after kill: allowed");
	ok(p && policy_syscall_action(p, "fsopen", &a) == 0 && a.type == POLICY_ACTION_ALLOW,
	   "other members of the group keep the group's action");
	ok(p && policy_syscall_action(p, "read", &a) == 0 && a.type == POLICY_ACTION_ERRNO &&
		   a.errno_value == ENOSYS,
	   "unnamed calls get the default");
	ok(p && policy_syscall_action(p, "clone3", &a) == 0 && a.type == POLICY_ACTION_ERRNO &&
		   a.errno_value == ENOSYS,
	   "clone3 not allowed stays at the default");
	free(got);
	policy_free(p);

	got = load_text("[syscalls]\ndefault = allow\n", &p);
	ok(p && policy_syscall_action(p, "clone3", &a) == 0 && a.type == POLICY_ACTION_ERRNO &&
		   a.errno_value == ENOSYS,
	   "allowed clone3 fails with ENOSYS while CLONE_NEWUSER is filtered (built in)");
	free(got);
	policy_free(p);
	got = load_text("[syscalls]\nallow-clone-flags = CLONE_NEWUSER\n", &p);
	ok(p && p->n_clone_deny == 0 && policy_syscall_action(p, "clone3", &a) == 0 &&
		   a.type == POLICY_ACTION_ALLOW,
	   "allow-clone-flags lifts the built-in denial, and clone3 is allowed again");
	free(got);
	policy_free(p);
}

static void test_argument_filters(void)
{
	struct policy *p;
	char *got;

	expect_diag("[syscalls]\ndeny-ioctl = TIOCST\n",
		    "main.policy:2:14: unknown ioctl request 'TIOCST'; did you mean 'TIOCSTI'?",
		    "misspelled ioctl request");
	expect_diag("[syscalls]\ndeny-clone-flags = 3\n",
		    "main.policy:2:20: clone flag 3 is not a single CLONE_NEW* bit",
		    "clone flag must be one namespace bit");
	expect_diag("[syscalls]\ndeny-ioctl = 0x100000000\n",
		    "main.policy:2:14: ioctl request 0x100000000 does not fit in 32 bits",
		    "ioctl request wider than the kernel reads");
	got = load_text("[syscalls]\ndeny-ioctl = TIOCSTI 0x5413 : errno EIO\n"
			"allow-ioctl = TIOCLINUX\n",
			&p);
	ok(p && p->n_ioctl_deny == 2 && p->ioctl_deny[0].value == 0x5412 &&
		   p->ioctl_deny[0].action.errno_value == EIO && p->ioctl_deny[1].value == 0x5413,
	   "deny-ioctl replaces the built-in entry, allow-ioctl removes one");
	free(got);
	policy_free(p);
}

static void test_other_sections(void)
{
	struct policy *p;
	char *got;

	expect_diag("[capabilities]\nkeep = CAP_CHWON\n",
		    "main.policy:2:8: unknown capability 'CAP_CHWON'; did you mean 'CAP_CHOWN'?",
		    "misspelled capability");
	got = load_text("[capabilities]\nkeep = cap_chown CAP_SETUID CAP_KILL\ndrop = CAP_SETUID\n",
			&p);
	ok(p && !*got && p->caps == ((1ull << 0) | (1ull << 5)),
	   "keep (any case) then drop: CAP_CHOWN and CAP_KILL remain");
	free(got);
	policy_free(p);

	expect_diag("[namespaces]\nnet = hots\n",
		    "main.policy:2:7: invalid value 'hots' for 'net' (expected none or host); did "
		    "you mean 'host'?",
		    "misspelled choice");
	expect_diag("[namespaces]\nnet = none host\n", "main.policy:2:12: 'net' takes one value",
		    "scalar with two values");
	expect_diag("[namespaces]\nhostname = -bad\n",
		    "main.policy:2:12: invalid hostname '-bad' (letters, digits, '-' and '.', at "
		    "most 64)",
		    "bad hostname");
	expect_diag("[namespaces]\nuid = 4294967295\n",
		    "main.policy:2:7: invalid uid '4294967295' (0 to 4294967294)",
		    "uid -1 refused");
}

static void test_filesystem_environment_limits(void)
{
	struct policy *p;
	char *got;

	expect_diag("[filesystem]\nro = usr/lib\n",
		    "main.policy:2:6: path 'usr/lib' must be absolute or start with '~/'",
		    "relative bind path");
	expect_diag("[filesystem]\nhide = /a/../etc\n",
		    "main.policy:2:8: path '/a/../etc' has an empty, '.' or '..' component",
		    "'..' in a path");
	expect_diag(
		"[filesystem]\ntmpfs = /\n",
		"main.policy:2:9: '/' itself cannot be mounted over: the sandbox chooses the root",
		"'/' refused");
	got = load_text("[filesystem]\nro = /opt/x/ ?~/.cache\nrw = /opt/x\n", &p);
	ok(p && !*got && p->n_mounts == 2 && strcmp(p->mounts[0].path, "~/.cache") == 0 &&
		   p->mounts[0].optional && strcmp(p->mounts[1].path, "/opt/x") == 0 &&
		   p->mounts[1].kind == POLICY_MOUNT_RW,
	   "trailing '/' dropped; a later line about a path replaces the earlier");
	free(got);
	policy_free(p);

	expect_diag("[environment]\nset = FOO\n", "main.policy:2:7: expected NAME=VALUE, got 'FOO'",
		    "set without '='");
	expect_diag("[environment]\nallow = 1ABC\n",
		    "main.policy:2:9: invalid variable name or pattern '1ABC' (NAME or PREFIX*)",
		    "bad variable name");

	expect_diag("[limits]\nnofile = 4K\n",
		    "main.policy:2:10: invalid limit '4K' (expected N, SOFT:HARD or unlimited)",
		    "size suffix on a count");
	expect_diag("[limits]\nnofile = 8:4\n",
		    "main.policy:2:10: soft limit above the hard limit in '8:4'",
		    "soft above hard");
	expect_diag("[limits]\ntimeout = 1h30\n",
		    "main.policy:2:11: invalid timeout '1h30' (e.g. 90s, 30m, 2h, 1h30m or none)",
		    "ambiguous duration");
	got = load_text("[limits]\nas = 8G\nnofile = 1024:unlimited\ntimeout = 1h30m\n", &p);
	ok(p && !*got && p->limits[0].soft == 8ull << 30 && p->limits[6].soft == 1024 &&
		   p->limits[6].hard == RLIM_INFINITY && p->timeout_sec == 5400,
	   "limits: 8G, 1024:unlimited, 1h30m");
	free(got);
	policy_free(p);
}

static void test_includes(void)
{
	struct policy *p;
	char *got;

	struct memfile rel[] = {
		{ "dir/top.policy", "include base.policy\n[namespaces]\nnet = host\n", 0 },
		{ "dir/base.policy", "[namespaces]\nnet = none\nipc = host\n", 0 },
		{ 0 },
	};
	got = load_files(rel, &p);
	ok(p && !*got && p->net == POLICY_NET_HOST && p->ipc == POLICY_SHARE_HOST &&
		   p->n_files == 2 && strcmp(p->files[1], "dir/base.policy") == 0,
	   "include is relative to the including file; a later file overrides a key");
	free(got);
	policy_free(p);

	struct memfile cycle[] = {
		{ "dir/a.policy", "include b.policy\n", 0 },
		{ "dir/b.policy", "# b\ninclude \"../dir/./a.policy\"\n", 0 },
		{ 0 },
	};
	got = load_files(cycle, NULL);
	is_str(got, "dir/b.policy:2:9: include cycle: dir/a.policy -> dir/b.policy -> dir/a.policy",
	       "include cycle through a differently spelled path");
	free(got);

	expect_diag("include main.policy\n",
		    "main.policy:1:9: include cycle: main.policy -> main.policy", "self include");
	expect_diag(
		"include sub/missing.policy\n",
		"main.policy:1:9: cannot include 'sub/missing.policy': No such file or directory",
		"missing include file");

	struct memfile named[] = {
		{ "proj/sandbox.policy", "include build\n", 0 },
		{ "/profiles/build.policy", "[namespaces]\nnet = host\n", 0 },
		{ 0 },
	};
	got = load_files(named, &p);
	ok(p && !*got && p->net == POLICY_NET_HOST &&
		   strcmp(p->files[1], "/profiles/build.policy") == 0,
	   "include NAME finds NAME.policy in the search directories");
	free(got);
	policy_free(p);
	expect_diag("include nope\n",
		    "main.policy:1:9: no policy named 'nope' (searched: /profiles)",
		    "include of an unknown profile name");
	expect_diag(
		"include ./sub/../sub//missing.policy\n",
		"main.policy:1:9: cannot include 'sub/missing.policy': No such file or directory",
		"include path normalised");

	/* 17 files each including the next. */
	struct memfile deep[19] = { { 0 } };
	char names[18][32], texts[18][48];
	for (int i = 0; i < 18; i++) {
		snprintf(names[i], sizeof(names[i]), "d%d.policy", i);
		snprintf(texts[i], sizeof(texts[i]), "include d%d.policy\n", i + 1);
		deep[i] = (struct memfile){ names[i], texts[i], 0 };
	}
	got = load_files(deep, NULL);
	is_str(got, "d15.policy:1:9: includes nested too deeply (the limit is 16)",
	       "include depth is bounded");
	free(got);

	struct memfile twice[] = {
		{ "t.policy", "include u.policy\ninclude u.policy\n", 0 },
		{ "u.policy", "[namespaces]\nnet = host\n", 0 },
		{ 0 },
	};
	got = load_files(twice, NULL);
	is_str(got, "", "the same file twice (not a cycle) is fine; keys override, not duplicate");
	free(got);
}

static void test_error_cap(void)
{
	char many[4096] = "[syscalls]\n", *got;
	for (int i = 0; i < 40; i++)
		strcat(many, "allow = @nope\n");
	got = load_text(many, NULL);
	size_t lines = 1;
	for (char *c = got; *c; c++)
		lines += *c == '\n';
	ok(lines == POLICY_MAX_ERRORS + 1 &&
		   strstr(got, "main.policy:32: too many errors; stopping"),
	   "errors stop after %d, with a last line saying so", POLICY_MAX_ERRORS);
	free(got);
}

int main(void)
{
	test_text();
	test_grammar();
	test_syscalls();
	test_actions_and_conditions();
	test_rule_order();
	test_argument_filters();
	test_other_sections();
	test_filesystem_environment_limits();
	test_includes();
	test_error_cap();
	return done();
}
