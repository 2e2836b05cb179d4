#include "greet.h"

const char *greet_target(void)
{
	return "overlay built world";
}
