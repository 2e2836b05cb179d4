/* Project discovery and the per-project state directory. The directory name carries the
 * project's basename for humans and a hash of its absolute path for uniqueness; the "project"
 * file inside says which checkout it belongs to. */
#include "project.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static const char *const markers[] = { ".git", ".hg", ".buckconfig", ".antares" };

int project_find(const char *cwd, char *out, size_t len)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", cwd);
	for (;;) {
		for (size_t i = 0; i < ARRAY_SIZE(markers); i++) {
			char p[4200];
			snprintf(p, sizeof(p), "%s/%s", strcmp(dir, "/") ? dir : "", markers[i]);
			if (access(p, F_OK) == 0) {
				snprintf(out, len, "%s", dir);
				return 0;
			}
		}
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = 0;
	}
	snprintf(out, len, "%s", cwd);
	return 0;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

int project_state_dir(const char *project, char *out, size_t len)
{
	char base[4096];
	const char *xdg = getenv("XDG_STATE_HOME");
	if (xdg && xdg[0] == '/') {
		snprintf(base, sizeof(base), "%s", xdg);
	} else {
		const char *home = getenv("HOME");
		struct passwd *pw = getpwuid(getuid());
		if (!home || !*home)
			home = pw ? pw->pw_dir : NULL;
		if (!home)
			return step_fail(-ENOENT, "set XDG_STATE_HOME or HOME, or use --upper DIR",
					 "find the state directory");
		snprintf(base, sizeof(base), "%s/.local/state", home);
	}
	const char *name = strrchr(project, '/');
	name = name && name[1] ? name + 1 : "root";
	/* NAME-HASH must fit NAME_MAX (255) however long the project's name: the hash keeps it
	 * unique, so the name is cut, at a character boundary when it is UTF-8. */
	size_t n = strlen(name);
	if (n > 200)
		for (n = 200; n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80; n--)
			;
	snprintf(out, len, "%s/antares/%.*s-%016llx", base, (int)n, name,
		 (unsigned long long)fnv1a(project));
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char p[8400];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return negerrno();
		*s = '/';
	}
	return mkdir(p, mode) < 0 && errno != EEXIST ? negerrno() : 0;
}

static int write_note(const char *state, const char *project)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/project", state);
	FILE *f = fopen(p, "we");
	if (!f)
		return negerrno();
	fprintf(f, "%s\n", project);
	return fclose(f) < 0 ? negerrno() : 0;
}

int project_state_open(const char *state, const char *project, bool exclusive, bool create)
{
	char p[4200];
	int r = 0;
	if (create) {
		const char *sub[] = { "", "/upper", "/work" };
		for (size_t i = 0; i < ARRAY_SIZE(sub) && r == 0; i++) {
			snprintf(p, sizeof(p), "%s%s", state, sub[i]);
			r = mkdir_p(p, 0700);
		}
		if (r == 0)
			r = write_note(state, project);
		if (r < 0)
			return step_fail(r, "choose another place with --upper DIR",
					 "create the state directory %s", p);
	}
	snprintf(p, sizeof(p), "%s/lock", state);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return step_fail(negerrno(), create ? NULL : "run the command once first",
				 "open %s", p);
	if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
		r = negerrno();
		close(fd);
		if (r == -EWOULDBLOCK)
			return step_fail(-EBUSY,
					 "another antares-sandbox is using this project's upper layer: "
					 "wait for it, or use --ephemeral or --upper DIR",
					 "lock %s", p);
		return step_fail(r, NULL, "lock %s", p);
	}
	return fd;
}

int project_state_reset(const char *state)
{
	_cleanup_close_ int dfd = open(state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : step_fail(negerrno(), NULL, "open %s", state);
	int r = rm_rf_at(dfd, "upper");
	if (r == 0)
		r = rm_rf_at(dfd, "work");
	if (r < 0)
		return step_fail(r,
				 "files owned by other ids (from --map-users) must be removed "
				 "inside a namespace: antares-sandbox --map-users --reset",
				 "remove the upper layer in %s", state);
	return 0;
}

/* PATH is DIR or lies below it (both canonical). */
static bool path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (!strcmp(dir, "/"))
		return true;
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

int project_check_layers(const char *const *lowers, size_t n, const char *state, char *err,
			 size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const char *what = i + 1 == n ? "the project" : "--lower";
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(lowers[i], lowers[j])) {
				snprintf(err, errlen, "--lower %s is %s: give every layer once", lowers[i],
					 j + 1 == n ? "the project directory" : "given twice");
				return -EINVAL;
			}
		if (!state)
			continue;
		if (path_within(state, lowers[i])) {
			snprintf(err, errlen,
				 "the state directory %s lies inside %s %s, which must stay untouched: "
				 "use --upper DIR outside it, or --ephemeral",
				 state, what, lowers[i]);
			return -EINVAL;
		}
		char up[4200], wk[4200];
		snprintf(up, sizeof(up), "%s/upper", state);
		snprintf(wk, sizeof(wk), "%s/work", state);
		bool in_up = path_within(lowers[i], up);
		if (in_up || path_within(lowers[i], wk)) {
			snprintf(err, errlen, "%s %s lies inside the %s %s: use --upper DIR elsewhere",
				 what, lowers[i], in_up ? "upper layer" : "work directory", in_up ? up : wk);
			return -EINVAL;
		}
	}
	return 0;
}
