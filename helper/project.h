/* The project and its state: which directory is the project (the nearest ancestor with a
 * .git, .hg, .buckconfig or .antares marker), and the state directory that keeps its upper
 * layer between runs: $XDG_STATE_HOME/antares/<name>-<hash>/{project,lock,upper/,work/}. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The project for working directory CWD (absolute, canonical) into OUT. */
int project_find(const char *cwd, char *out, size_t len);

/* The default state directory of PROJECT into OUT (not created). */
int project_state_dir(const char *project, char *out, size_t len);

/* Create STATE (upper/, work/, the "project" note) if needed and lock it: EXCLUSIVE for a run,
 * shared for --diff. Returns the lock fd (keep it open while using the state) or -errno,
 * logged; -EBUSY when another run holds it. */
int project_state_open(const char *state, const char *project, bool exclusive, bool create);

/* Forget the upper layer: remove STATE's upper/ and work/. Returns 0 or -errno (logged). */
int project_state_reset(const char *state);

/* Refuse, before anything is created, a layout antares-overlayd would refuse later: a layer
 * given twice (LOWERS: the --lower layers, then the project; canonical paths), the state
 * directory STATE (canonical, may not exist yet; NULL for --ephemeral) at or inside a lower
 * layer, or a lower layer inside STATE's upper/ or work/. The daemon only sees the layers as
 * /proc/self/fd/N, and by then upper/, work/ and the lock would already sit in the checkout.
 * Returns 0, or -EINVAL with the one-line reason (naming the paths) in ERR. */
int project_check_layers(const char *const *lowers, size_t n, const char *state, char *err,
			 size_t errlen);
