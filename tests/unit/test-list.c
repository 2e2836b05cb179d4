/* Unit tests of common/list.h: linking and unlinking at the head, in the middle and at the
 * tail, and unlinking a node that is on no list. */
#include <stdio.h>
#include <string.h>

#include "list.h"

struct item {
	int value;
	struct list_node link;
};

static int n_test, n_fail;

static void ok(int cond, const char *what)
{
	n_test++;
	if (!cond)
		n_fail++;
	printf("%s %d - %s\n", cond ? "ok" : "not ok", n_test, what);
}

/* The values on the list from the head, as digits ("321"), checking every back link. */
static const char *walk(struct list_node **head)
{
	static char out[16];
	int n = 0;
	for (struct list_node **p = head; *p; p = &(*p)->next) {
		if ((*p)->pprev != p)
			return "broken back link";
		out[n++] = (char)('0' + container_of(*p, struct item, link)->value);
	}
	out[n] = '\0';
	return out;
}

int main(void)
{
	struct list_node *head = NULL;
	struct item a = { 1, { 0 } }, b = { 2, { 0 } }, c = { 3, { 0 } };

	ok(!list_linked(&a.link), "a zeroed node is on no list");
	list_unlink(&a.link);
	ok(head == NULL && !list_linked(&a.link), "unlinking a node on no list changes nothing");

	list_push(&head, &a.link);
	list_push(&head, &b.link);
	list_push(&head, &c.link);
	ok(!strcmp(walk(&head), "321"), "push links at the head");
	ok(list_linked(&b.link), "a pushed node is linked");

	list_unlink(&b.link);
	ok(!strcmp(walk(&head), "31") && !list_linked(&b.link), "unlinking the middle node");
	list_unlink(&b.link);
	ok(!strcmp(walk(&head), "31"), "unlinking it again changes nothing");

	list_unlink(&c.link);
	ok(!strcmp(walk(&head), "1") && head == &a.link, "unlinking the head moves the head on");
	list_unlink(&a.link);
	ok(head == NULL, "unlinking the last node empties the list");

	list_push(&head, &b.link);
	ok(!strcmp(walk(&head), "2"), "an unlinked node can be pushed again");

	printf("1..%d\n", n_test);
	return n_fail != 0;
}
