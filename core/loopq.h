/*
 * loopq: callbacks posted from any thread, run on the loop thread.
 *
 * The event loop is not thread-safe (evhttp, timers, libcurl), so a worker
 * thread that finished something (the store writer, the work pool) hands the
 * continuation back through a loopq: it appends to a mutex-protected list and
 * writes to an eventfd; the loop thread wakes, takes the whole list and runs
 * each callback in the order posted.
 */
#ifndef BANGSOLEH_LOOPQ_H
#define BANGSOLEH_LOOPQ_H

#include <stddef.h>

struct event_base;
struct loopq;

typedef void (*loopq_fn)(void *arg);

/*
 * Creates a queue whose callbacks run on `base`. OUT: *out, freed with
 * loopq_free. Returns 0, or -1 (errno set) when the eventfd or the event
 * cannot be made.
 */
int loopq_new(struct event_base *base, struct loopq **out);

/*
 * Runs every callback still queued, then frees the queue. Call on the loop
 * thread, after every producer has stopped posting.
 */
void loopq_free(struct loopq *q);

/*
 * Queues fn(arg) to run on the loop thread. Safe from any thread. Returns 0,
 * or -1 when out of memory (fn is then not called; the caller still owns arg).
 */
int loopq_post(struct loopq *q, loopq_fn fn, void *arg);

/* Runs every queued callback now; for the loop thread only. */
void loopq_drain(struct loopq *q);

#endif
