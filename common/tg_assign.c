/* tg_assign.c - the assignment strategy. */
#include <stdio.h>
#include <string.h>

#include "tg_assign.h"

int tg_assign_pick(const tg_assign_candidate *c, size_t n, char *reason, size_t reason_size)
{
    int best = -1;
    size_t inactive = 0, full = 0;

    for (size_t i = 0; i < n; i++) {
        if (!c[i].active) {
            inactive++;
            continue;
        }
        if (c[i].open_tickets >= c[i].max_open) {
            full++;
            continue;
        }
        if (best < 0 || c[i].open_tickets < c[best].open_tickets ||
            (c[i].open_tickets == c[best].open_tickets &&
             (c[i].last_assigned < c[best].last_assigned ||
              (c[i].last_assigned == c[best].last_assigned &&
               strcmp(c[i].agent, c[best].agent) < 0))))
            best = (int)i;
    }
    if (best < 0 && n == 0)
        snprintf(reason, reason_size, "no agent in the group");
    else if (best < 0)
        snprintf(reason, reason_size,
                 "no eligible agent: %zu inactive, %zu at their limit of open tickets", inactive,
                 full);
    return best;
}
