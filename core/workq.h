/*
 * workq: a small pool of threads for CPU-heavy work (password hashing), so
 * the loop thread never blocks on it. work(arg) runs on a pool thread;
 * done(arg) then runs on the loop thread. The queue is bounded: a full queue
 * is WORKQ_EBUSY, answered as 503 by HTTP handlers.
 */
#ifndef BANGSOLEH_WORKQ_H
#define BANGSOLEH_WORKQ_H

struct event_base;
struct workq;

#define WORKQ_OK 0
#define WORKQ_EBUSY (-1)     /* queue full */
#define WORKQ_ENOMEM (-2)
#define WORKQ_ESTOPPED (-3)

typedef void (*workq_fn)(void *arg);

/*
 * Starts `threads` threads; done callbacks run on `base`. OUT: *out, freed
 * with workq_free. Returns 0 or WORKQ_ENOMEM.
 */
int workq_new(struct event_base *base, unsigned threads, unsigned queue_max, struct workq **out);

/*
 * Queues work then done (loop thread). `arg` is lent until done runs; done
 * runs exactly once when this returns 0, never inside workq_submit.
 */
int workq_submit(struct workq *q, workq_fn work, workq_fn done, void *arg);

/* Finishes every queued job, joins the threads, runs the remaining done callbacks, frees. */
void workq_free(struct workq *q);

#endif
