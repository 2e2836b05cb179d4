/* --net none: the sandbox's network namespace, with only the loopback interface, up. */
#pragma once

/* Bring "lo" up in the current network namespace. Returns 0 or -errno (logged). */
int net_loopback_up(void);
