/* antares-sandbox doctor: checks each thing the sandbox relies on and prints PASS or FAIL with
 * the cause and the fix, ending with an end-to-end run on a scratch overlay. */
#pragma once

#include <stdbool.h>

/* Returns 0 when every check passed, 1 otherwise. */
int doctor_run(const char *overlayd, bool verbose);
