/* An intrusive doubly linked list whose head is a single pointer.
 *
 * The node lives inside the object it links (container_of gives the object back), so linking
 * allocates nothing. pprev points at whatever points at the node, the head or the previous
 * node's next, which lets a node unlink itself without knowing the head. A node that is on no
 * list has pprev NULL (a zeroed object is unlinked). Callers bring their own locking. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

struct list_node {
	struct list_node *next, **pprev;
};

static inline bool list_linked(const struct list_node *n)
{
	return n->pprev != NULL;
}

static inline void list_push(struct list_node **head, struct list_node *n)
{
	n->next = *head;
	if (n->next)
		n->next->pprev = &n->next;
	*head = n;
	n->pprev = head;
}

/* Unlinks n if it is on a list; a node on none is left as it is. */
static inline void list_unlink(struct list_node *n)
{
	if (!n->pprev)
		return;
	*n->pprev = n->next;
	if (n->next)
		n->next->pprev = n->pprev;
	n->next = NULL;
	n->pprev = NULL;
}
