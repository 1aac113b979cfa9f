/* tg_assign.h - pick an agent for a ticket: active agents of the group with spare capacity,
 * fewest open tickets first, ties to the one assigned longest ago (round robin). Pure: the
 * caller gathers loads from the store. */
#ifndef TG_ASSIGN_H
#define TG_ASSIGN_H

#include <stddef.h>
#include <stdint.h>

typedef struct tg_assign_candidate {
    const char *agent;
    int active;
    int64_t open_tickets, max_open;
    int64_t last_assigned; /* Unix time; 0 never */
} tg_assign_candidate;

/* tg_assign_pick - index of the chosen candidate, or -1 with the reason written to reason. */
int tg_assign_pick(const tg_assign_candidate *c, size_t n, char *reason, size_t reason_size);

#endif
