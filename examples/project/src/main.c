#include <stdio.h>

#include "greet.h"

int main(void)
{
	const char *t = greet_target();
	printf("hello, %s (%d words)\n", t, count_words(t));
	return 0;
}
