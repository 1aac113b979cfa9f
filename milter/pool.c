/* pool.c - store connections shared by the milter's connection threads. Opening one costs a
 * file open and a schema check, so they are kept and reused; each is used by one thread at a
 * time. A connection to a store the configuration no longer names is closed, not reused. */
#include <string.h>

#include "milter.h"

typedef struct pooled {
    char *path;
    tg_store *st;
} pooled;

static GMutex lock;
static GSList *idle; /* of pooled */

static void pooled_free(pooled *p)
{
    tg_store_close(p->st);
    g_free(p->path);
    g_free(p);
}

tg_store *pool_take(const tg_config *cfg, tg_err *err)
{
    tg_store *st = NULL;
    GSList *stale = NULL;

    g_mutex_lock(&lock);
    while (idle && !st) {
        pooled *p = idle->data;
        idle = g_slist_delete_link(idle, idle);
        if (strcmp(p->path, cfg->store_path) == 0) {
            st = p->st;
            p->st = NULL;
        }
        stale = g_slist_prepend(stale, p);
    }
    g_mutex_unlock(&lock);
    g_slist_free_full(stale, (GDestroyNotify)pooled_free);
    if (st)
        return st;
    return tg_config_open_store(cfg, err);
}

void pool_give(const tg_config *cfg, tg_store *st, int ok)
{
    if (!st)
        return;
    if (!ok) {
        tg_store_close(st);
        return;
    }
    pooled *p = g_new(pooled, 1);
    p->path = g_strdup(cfg->store_path);
    p->st = st;
    g_mutex_lock(&lock);
    idle = g_slist_prepend(idle, p);
    g_mutex_unlock(&lock);
}

void pool_close_all(void)
{
    g_mutex_lock(&lock);
    GSList *all = idle;
    idle = NULL;
    g_mutex_unlock(&lock);
    g_slist_free_full(all, (GDestroyNotify)pooled_free);
}
