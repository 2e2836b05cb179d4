/* antares-sandbox: command line, then wiring of project, state, policy and the run. Where the
 * command line and the policy both speak, the command line wins (resolve_policy). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diff.h"
#include "doctor.h"
#include "overlay.h"
#include "project.h"
#include "sandbox.h"
#include "userns.h"
#include "util.h"

#ifndef ANTARES_VERSION
#define ANTARES_VERSION "0"
#endif

static const char usage[] =
	"Usage: antares-sandbox [OPTIONS] -- COMMAND [ARGS...]\n"
	"       antares-sandbox [OPTIONS] --diff | --reset\n"
	"       antares-sandbox --check-policy NAME|FILE | --print-policy NAME|FILE\n"
	"       antares-sandbox doctor\n"
	"\n"
	"Run COMMAND in a rootless sandbox on an overlay of the project directory: the\n"
	"checkout stays untouched, changes land in a per-project upper layer.\n"
	"\n"
	"Layers:\n"
	"      --project DIR      the project (default: nearest ancestor of the current\n"
	"                         directory with .git, .hg, .buckconfig or .antares, else it)\n"
	"      --lower DIR        add a read-only layer above the project (repeatable)\n"
	"      --upper DIR        keep upper/ and work/ in DIR instead of the state directory\n"
	"      --ephemeral        upper layer on a tmpfs, thrown away at exit\n"
	"      --diff             list what the runs changed (A/M/D PATH) and exit\n"
	"      --reset            forget the upper layer and exit\n"
	"\n"
	"View:\n"
	"      --rootfs DIR[:DIR...]  image layers (topmost first) as / instead of the host's\n"
	"      --bind SRC DST     make host SRC visible at DST, writable\n"
	"      --ro-bind SRC DST  make host SRC visible at DST, read-only\n"
	"      --net MODE         none (loopback only) or host (default: the policy's)\n"
	"      --keep-fd N        pass file descriptor N to the command (repeatable)\n"
	"\n"
	"Identity:\n"
	"      --uid N            your id inside the sandbox (default: the policy's, 0)\n"
	"      --gid N            your group inside the sandbox (default: the policy's, 0)\n"
	"      --map-users        also map your subordinate ids (newuidmap, /etc/subuid)\n"
	"\n"
	"Policy:\n"
	"      --policy NAME|FILE     the policy to apply (default: build); names are looked\n"
	"                             up in $ANTARES_POLICY_PATH, else ~/.config/antares/policy,\n"
	"                             /etc/antares/policy and the shipped profiles\n"
	"      --check-policy NAME|FILE  validate a policy and exit\n"
	"      --print-policy NAME|FILE  print the resolved policy and exit\n"
	"\n"
	"Where an option and the policy both speak (--net, --uid, --gid, --bind), the\n"
	"option wins.\n"
	"\n"
	"  -v, --verbose          log each setup step\n"
	"  -h, --help             show this help and exit\n"
	"  -V, --version          show the version and exit\n"
	"\n"
	"Exit status: COMMAND's status, or 128+N if it was killed by signal N; 124 if the\n"
	"policy's timeout stopped it, 125 if antares-sandbox itself failed, 126 if COMMAND\n"
	"could not be executed, 127 if it was not found. --check-policy and --print-policy:\n"
	"0, or 1 if the policy is invalid. doctor: 0 if every check passed, else 1.\n";

#define MAX_ITEMS 64

struct options {
	struct sandbox_config cfg;
	const char *project, *upper, *policy, *check_policy, *print_policy;
	const char *lowers[MAX_ITEMS + 1], *rootfs[MAX_ITEMS];
	struct bind_mount binds[MAX_ITEMS];
	int keep_fds[MAX_ITEMS];
	bool diff, reset;
	bool net_given, uid_given, gid_given;
	char *rootfs_buf;
};

static int bad(const char *fmt, const char *arg)
{
	char msg[2048];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(msg, sizeof(msg), fmt, arg);
#pragma GCC diagnostic pop
	log_stderr("%s: see antares-sandbox --help", msg);
	return EXIT_SETUP_FAILED;
}

static int parse_id(const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > 65535)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* Append ITEM to a bounded list; returns -E2BIG when full. */
#define PUSH(arr, n, item) ((n) < MAX_ITEMS ? ((arr)[(n)++] = (item), 0) : -E2BIG)

static int parse_bind(struct options *o, int argc, char **argv, bool ro)
{
	if (optind >= argc)
		return bad("--%sbind needs SRC and DST", ro ? "ro-" : "");
	const char *dst = argv[optind++];
	if (dst[0] != '/')
		return bad("bind destination '%s' must be an absolute path", dst);
	char *clean = strdup(dst); /* lives as long as the run */
	if (!clean)
		return bad("%s", "out of memory");
	path_normalize(clean);
	struct bind_mount b = { .src = optarg, .dst = clean, .readonly = ro };
	if (PUSH(o->binds, o->cfg.n_binds, b) < 0)
		return bad("%s", "too many --bind options");
	return -1;
}

static int parse_long(struct options *o, int ch, int argc, char **argv);

/* Returns -1 to go on, else the exit status. */
static int parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "project", required_argument, NULL, 'P' }, { "lower", required_argument, NULL, 'L' },
		{ "upper", required_argument, NULL, 'U' }, { "ephemeral", no_argument, NULL, 'E' },
		{ "diff", no_argument, NULL, 'D' }, { "reset", no_argument, NULL, 'R' },
		{ "rootfs", required_argument, NULL, 'F' }, { "bind", required_argument, NULL, 'b' },
		{ "ro-bind", required_argument, NULL, 'r' }, { "net", required_argument, NULL, 'n' },
		{ "keep-fd", required_argument, NULL, 'k' }, { "uid", required_argument, NULL, 'u' },
		{ "gid", required_argument, NULL, 'g' }, { "map-users", no_argument, NULL, 'm' },
		{ "policy", required_argument, NULL, 'p' },
		{ "check-policy", required_argument, NULL, 'c' },
		{ "print-policy", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { 0 },
	};
	int ch;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:vhV", longopts, NULL)) != -1) {
		int r = parse_long(o, ch, argc, argv);
		if (r >= 0)
			return r;
	}
	o->cfg.argv = argv + optind;
	return -1;
}

static int parse_long(struct options *o, int ch, int argc, char **argv)
{
	unsigned id;
	switch (ch) {
	case 'P': o->project = optarg; break;
	case 'L':
		if (PUSH(o->lowers, o->cfg.n_lowers, optarg) < 0)
			return bad("%s", "too many --lower layers");
		break;
	case 'U': o->upper = optarg; break;
	case 'E': o->cfg.ephemeral = true; break;
	case 'D': o->diff = true; break;
	case 'R': o->reset = true; break;
	case 'F':
		free(o->rootfs_buf);
		o->rootfs_buf = strdup(optarg);
		o->cfg.n_rootfs = 0;
		for (char *s, *t = strtok_r(o->rootfs_buf, ":", &s); t; t = strtok_r(NULL, ":", &s))
			if (PUSH(o->rootfs, o->cfg.n_rootfs, t) < 0)
				return bad("%s", "too many --rootfs layers");
		if (!o->cfg.n_rootfs)
			return bad("--rootfs '%s' names no directory", optarg);
		break;
	case 'b': return parse_bind(o, argc, argv, false);
	case 'r': return parse_bind(o, argc, argv, true);
	case 'n':
		if (strcmp(optarg, "none") && strcmp(optarg, "host"))
			return bad("--net '%s' is unknown: use none or host", optarg);
		o->cfg.net_none = !strcmp(optarg, "none");
		o->net_given = true;
		break;
	case 'k': {
		unsigned fd;
		if (parse_id(optarg, &fd) < 0 || fd < 3 || fcntl(fd, F_GETFD) < 0)
			return bad("--keep-fd '%s' is not an open file descriptor above 2", optarg);
		if (PUSH(o->keep_fds, o->cfg.n_keep_fds, (int)fd) < 0)
			return bad("%s", "too many --keep-fd options");
		break;
	}
	case 'u':
	case 'g':
		if (parse_id(optarg, &id) < 0)
			return bad(ch == 'u' ? "--uid '%s' must be a number 0-65535"
					     : "--gid '%s' must be a number 0-65535", optarg);
		if (ch == 'u')
			o->cfg.uid = id, o->uid_given = true;
		else
			o->cfg.gid = id, o->gid_given = true;
		break;
	case 'm': o->cfg.map_users = true; break;
	case 'p': o->policy = optarg; break;
	case 'c': o->check_policy = optarg; break;
	case 'o': o->print_policy = optarg; break;
	case 'v': o->cfg.verbose = true; break;
	case 'h': fputs(usage, stdout); return 0;
	case 'V': printf("antares-sandbox %s\n", ANTARES_VERSION); return 0;
	case ':': return bad("option %s needs a value", argv[optind - 1]);
	default: return bad("unknown option '%s'", argv[optind - 1]);
	}
	return -1;
}

/* Canonical absolute path of an existing directory, or the failure line. */
static int canonical_dir(const char *path, const char *what, char **out)
{
	char *p = realpath(path, NULL);
	struct stat st;
	if (!p || stat(p, &st) < 0) {
		int r = negerrno();
		free(p);
		return step_fail(r, "check the path", "%s %s", what, path);
	}
	if (!S_ISDIR(st.st_mode)) {
		free(p);
		return step_fail(-ENOTDIR, NULL, "%s %s", what, path);
	}
	*out = p;
	return 0;
}

static int resolve_paths(struct options *o, char *cwd, size_t cwdlen, char *state, size_t slen)
{
	char found[PATH_MAX];
	char *p = NULL;
	if (!getcwd(cwd, cwdlen))
		return step_fail(negerrno(),
				 errno == ERANGE || errno == ENAMETOOLONG
					 ? "its path is longer than PATH_MAX: cd to a shorter path"
					 : "cd to an existing directory",
				 "find the current directory");
	int r = 0;
	if (o->project)
		r = canonical_dir(o->project, "project directory", &p);
	else if ((r = project_find(cwd, found, sizeof(found))) == 0)
		r = canonical_dir(found, "project directory", &p);
	if (r < 0)
		return r;
	o->cfg.project = p;
	for (size_t i = 0; i < o->cfg.n_lowers && r == 0; i++)
		if ((r = canonical_dir(o->lowers[i], "--lower", &p)) == 0)
			o->lowers[i] = p;
	for (size_t i = 0; i < o->cfg.n_rootfs && r == 0; i++)
		if ((r = canonical_dir(o->rootfs[i], "--rootfs", &p)) == 0)
			o->rootfs[i] = p;
	if (r < 0)
		return r;
	if (!o->upper)
		return project_state_dir(o->cfg.project, state, slen);
	/* --upper DIR is created only once the layout is checked (check_layers): inside the
	 * project it would land in the checkout. Until then, its parent must exist. */
	char up[PATH_MAX];
	snprintf(up, sizeof(up), "%s", o->upper);
	for (size_t n = strlen(up); n > 1 && up[n - 1] == '/'; n--)
		up[n - 1] = 0;
	char *slash = strrchr(up, '/'), *dir = realpath(up, NULL);
	if (dir || errno != ENOENT) {
		free(dir);
		if ((r = canonical_dir(up, "--upper", &p)) < 0)
			return r;
		snprintf(state, slen, "%s", p);
	} else {
		const char *base = slash ? slash + 1 : up;
		if (slash)
			*slash = 0;
		char what[PATH_MAX + 32];
		snprintf(what, sizeof(what), "--upper %s: its parent", o->upper);
		if ((r = canonical_dir(!slash ? "." : *up ? up : "/", what, &p)) < 0)
			return r;
		snprintf(state, slen, "%s/%s", strcmp(p, "/") ? p : "", base);
	}
	free(p);
	return 0;
}

/* The layout, checked with the user's paths before anything is created (see project.h). */
static int check_layers(struct options *o, const char *state)
{
	char err[PATH_MAX * 2 + 200];
	o->lowers[o->cfg.n_lowers] = o->cfg.project; /* the list has room: MAX_ITEMS + 1 */
	if (project_check_layers(o->lowers, o->cfg.n_lowers + 1, o->cfg.ephemeral ? NULL : state,
				 err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -EINVAL;
	}
	if (o->upper && mkdir(state, 0700) < 0 && errno != EEXIST)
		return step_fail(negerrno(), NULL, "--upper %s", o->upper);
	return 0;
}

static int reset_in_userns(void *state)
{
	return project_state_reset(state) < 0 ? EXIT_SETUP_FAILED : 0;
}

/* --reset: with --map-users the upper may hold files of subordinate ids, which only a
 * namespace with the same map may delete. */
static int do_reset(struct options *o, const char *state)
{
	_cleanup_close_ int lock = project_state_open(state, o->cfg.project, true, false);
	if (lock < 0)
		return lock == -ENOENT ? 0 : EXIT_SETUP_FAILED;
	if (!o->cfg.map_users)
		return project_state_reset(state) < 0 ? EXIT_SETUP_FAILED : 0;
	struct idmap_config idm = { .uid = 0, .gid = 0, .map_users = true };
	pid_t pid = userns_spawn(&idm, 0, reset_in_userns, (void *)state);
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return EXIT_SETUP_FAILED;
	return status_of(st);
}

static int do_diff(struct options *o, const char *state)
{
	struct stat st;
	if (stat(state, &st) < 0 && errno == ENOENT)
		return 0; /* never ran: nothing changed */
	_cleanup_close_ int lock = project_state_open(state, o->cfg.project, false, false);
	if (lock < 0)
		return EXIT_SETUP_FAILED;
	char upper[PATH_MAX + 8];
	snprintf(upper, sizeof(upper), "%s/upper", state);
	o->lowers[o->cfg.n_lowers] = o->cfg.project; /* the list has room: MAX_ITEMS + 1 */
	return diff_print(upper, o->lowers, o->cfg.n_lowers + 1, stdout) < 0 ? EXIT_SETUP_FAILED : 0;
}

/* --check-policy and --print-policy: 0 or 1, like antares-policy (issue 5), not 125. */
static int do_policy(struct options *o)
{
	if (o->print_policy)
		return sandbox_policy_print(o->print_policy, stdout, stderr);
	return sandbox_policy_check(o->check_policy, stdout, stderr);
}

/* The command line wins where it and the policy both speak; --map-users and a policy's
 * user-map = subid ask for the same thing, so either is enough. */
static void resolve_policy(struct options *o)
{
	const struct policy_plan *plan = o->cfg.policy->plan;
	if (!o->net_given)
		o->cfg.net_none = plan->net == POLICY_NET_NONE;
	if (!o->uid_given)
		o->cfg.uid = plan->uid;
	if (!o->gid_given)
		o->cfg.gid = plan->gid;
	o->cfg.map_users |= plan->user_map == POLICY_USER_MAP_SUBID;
	log_info("policy %s: network %s%s, ids %u:%u%s", o->cfg.policy->name,
		 o->cfg.net_none ? "none" : "host", o->net_given ? " (--net)" : "",
		 (unsigned)o->cfg.uid, (unsigned)o->cfg.gid,
		 o->cfg.map_users ? ", subordinate ids mapped" : "");
}

static int load_policy(struct options *o)
{
	struct sandbox_policy *p;
	if (sandbox_policy_load(o->policy ? o->policy : SANDBOX_POLICY_DEFAULT, &p) < 0)
		return -EINVAL;
	o->cfg.policy = p; /* lives as long as the run */
	resolve_policy(o);
	return 0;
}

/* What the command must not reach around the overlay: the upper layer of this run (--upper),
 * or every project's ($XDG_STATE_HOME/antares); nothing with --ephemeral. */
static char *state_to_hide(const struct options *o, const char *state)
{
	if (o->cfg.ephemeral)
		return NULL;
	char *s = realpath(state, NULL);
	char *slash = s && !o->upper ? strrchr(s, '/') : NULL;
	if (slash && slash != s)
		*slash = 0;
	return s;
}

static int run(struct options *o)
{
	char cwd[PATH_MAX], state[PATH_MAX];
	int r = resolve_paths(o, cwd, sizeof(cwd), state, sizeof(state));
	if (r < 0 || check_layers(o, state) < 0)
		return EXIT_SETUP_FAILED;
	o->cfg.lowers = o->lowers;
	o->cfg.rootfs = o->rootfs;
	o->cfg.binds = o->binds;
	o->cfg.keep_fds = o->keep_fds;
	o->cfg.cwd = cwd;
	log_info("project %s, state %s", o->cfg.project, o->cfg.ephemeral ? "(tmpfs)" : state);
	if (o->diff)
		return do_diff(o, state);
	/* --reset needs the policy only to learn whether the upper layer has subordinate ids. */
	if ((!o->reset || !o->cfg.map_users) && load_policy(o) < 0)
		return EXIT_SETUP_FAILED;
	if (o->reset)
		return do_reset(o, state);
	if (policy_plan_environ(o->cfg.policy->plan, environ, &o->cfg.envp) < 0) {
		log_error("the command's environment: %s", strerror(ENOMEM));
		return EXIT_SETUP_FAILED;
	}
	if (!(o->cfg.overlayd = overlay_find_daemon())) {
		log_error("antares-overlayd not found beside antares-sandbox, in the install directory "
			  "or in PATH: install it, or set ANTARES_OVERLAYD to its path");
		return EXIT_SETUP_FAILED;
	}
	_cleanup_close_ int lock = -1;
	if (!o->cfg.ephemeral &&
	    (lock = project_state_open(state, o->cfg.project, true, true)) < 0)
		return EXIT_SETUP_FAILED;
	o->cfg.state_dir = state;
	o->cfg.state_hide = state_to_hide(o, state);
	return sandbox_run(&o->cfg);
}

int main(int argc, char **argv)
{
	static struct options o; /* large; and the lists outlive parse() */
	log_set_program("antares-sandbox");
	if (argc > 1 && !strcmp(argv[1], "doctor")) {
		bool verbose = argc > 2 && (!strcmp(argv[2], "-v") || !strcmp(argv[2], "--verbose"));
		if (verbose)
			log_set_level(LOG_LEVEL_INFO);
		if (argc > 2 + verbose)
			return bad("doctor takes no argument besides --verbose, got '%s'", argv[2 + verbose]);
		return doctor_run(overlay_find_daemon(), verbose);
	}
	int r = parse(argc, argv, &o);
	if (r >= 0)
		return r;
	if (o.cfg.verbose)
		log_set_level(LOG_LEVEL_INFO);
	if (o.check_policy || o.print_policy)
		return do_policy(&o);
	bool action = o.diff || o.reset;
	if (o.diff && o.reset)
		return bad("%s", "--diff and --reset exclude each other");
	if (action && o.cfg.argv[0])
		return bad("--diff and --reset take no COMMAND, got '%s'", o.cfg.argv[0]);
	if (!action && !o.cfg.argv[0])
		return bad("%s", "missing COMMAND: give -- COMMAND [ARGS...]");
	if (o.cfg.ephemeral && (o.upper || action))
		return bad("%s", "--ephemeral keeps no upper layer: it excludes --upper, --diff and --reset");
	return run(&o);
}
