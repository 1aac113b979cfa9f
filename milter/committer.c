/* committer.c - group commit for the connection threads. A thread that has parsed a message
 * queues it; whichever thread finds no batch running takes everything queued for the same
 * configuration snapshot, runs it through intake in one transaction (one fsync for all) and
 * wakes the others. With many SMTP sessions at once the cost of a durable commit is shared;
 * with one session a batch is one message, as before. */
#include "milter.h"

#define MAX_BATCH 64

typedef struct waiting {
    const tg_config *cfg;
    tg_intake_job *job;
    int done;
} waiting;

static GMutex lock;
static GCond finished;
static GPtrArray *queue; /* of waiting, oldest first */
static int running;

static void run_batch(const tg_config *cfg, waiting **batch, size_t n)
{
    tg_intake_job *jobs[MAX_BATCH];
    tg_err err = {0};
    for (size_t i = 0; i < n; i++)
        jobs[i] = batch[i]->job;
    tg_store *st = pool_take(cfg, &err);
    if (!st) {
        for (size_t i = 0; i < n; i++) {
            jobs[i]->rc = err.code;
            jobs[i]->err = err;
        }
        return;
    }
    size_t ok = tg_intake_process_batch(cfg, st, jobs, n);
    pool_give(cfg, st, ok == n); /* after a failure, open afresh (see callbacks.c) */
}

int committer_process(const tg_config *cfg, tg_intake_job *job)
{
    waiting me = {cfg, job, 0};
    g_mutex_lock(&lock);
    if (!queue)
        queue = g_ptr_array_new();
    g_ptr_array_add(queue, &me);
    while (!me.done) {
        if (running) {
            g_cond_wait(&finished, &lock);
            continue;
        }
        /* Lead a batch: the oldest waiting message's snapshot, and all others of it. */
        running = 1;
        waiting *batch[MAX_BATCH];
        size_t n = 0;
        const tg_config *batch_cfg = ((waiting *)queue->pdata[0])->cfg;
        for (guint i = 0; i < queue->len && n < MAX_BATCH;) {
            waiting *w = queue->pdata[i];
            if (w->cfg == batch_cfg) {
                batch[n++] = w;
                g_ptr_array_remove_index(queue, i);
            } else {
                i++;
            }
        }
        g_mutex_unlock(&lock);
        run_batch(batch_cfg, batch, n);
        g_mutex_lock(&lock);
        for (size_t i = 0; i < n; i++)
            batch[i]->done = 1;
        running = 0;
        g_cond_broadcast(&finished);
    }
    g_mutex_unlock(&lock);
    return job->rc;
}
