/* Escaping of control characters for one-line messages (no other dependency: the option
 * parser's fuzz target builds it alone). */
#include "oneline.h"

#include <stdio.h>

const char *text_one_line(const char *in, char *out, size_t len)
{
	size_t w = 0;
	for (; *in && w + 5 < len; in++) {
		unsigned char c = (unsigned char)*in;
		if (c == '\n')
			w += (size_t)snprintf(out + w, len - w, "\\n");
		else if (c == '\t')
			w += (size_t)snprintf(out + w, len - w, "\\t");
		else if (c < 0x20 || c == 0x7f)
			w += (size_t)snprintf(out + w, len - w, "\\x%02x", c);
		else
			out[w++] = (char)c;
	}
	out[w] = '\0';
	return out;
}
