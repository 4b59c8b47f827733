#include "loopq.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

struct loopq_item {
	struct loopq_item *next;
	loopq_fn fn;
	void *arg;
};

struct loopq {
	pthread_mutex_t lock;
	struct loopq_item *head;
	struct loopq_item *tail;
	int fd;
	struct event *ev;
};

static void loopq_on_wake(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;
	(void)what;
	/* Reset the counter first so a post that lands after it wakes us again. */
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	loopq_drain(arg);
}

int loopq_new(struct event_base *base, struct loopq **out)
{
	struct loopq *q = calloc(1, sizeof(*q));
	if (!q)
		return -1;
	if (pthread_mutex_init(&q->lock, NULL) != 0)
		goto free_q;
	q->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->fd < 0)
		goto destroy_lock;
	q->ev = event_new(base, q->fd, EV_READ | EV_PERSIST, loopq_on_wake, q);
	if (!q->ev || event_add(q->ev, NULL) != 0)
		goto close_fd;
	*out = q;
	return 0;
close_fd:
	if (q->ev)
		event_free(q->ev);
	close(q->fd);
destroy_lock:
	pthread_mutex_destroy(&q->lock);
free_q:
	free(q);
	return -1;
}

void loopq_free(struct loopq *q)
{
	if (!q)
		return;
	loopq_drain(q);
	event_free(q->ev);
	close(q->fd);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

int loopq_post(struct loopq *q, loopq_fn fn, void *arg)
{
	struct loopq_item *it = malloc(sizeof(*it));
	uint64_t one = 1;
	if (!it)
		return -1;
	it->next = NULL;
	it->fn = fn;
	it->arg = arg;
	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	pthread_mutex_unlock(&q->lock);
	/* A full counter (EAGAIN) still means "readable": the wake is pending. */
	(void)!write(q->fd, &one, sizeof(one));
	return 0;
}

void loopq_drain(struct loopq *q)
{
	struct loopq_item *it;
	pthread_mutex_lock(&q->lock);
	it = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->lock);
	while (it) {
		struct loopq_item *next = it->next;
		it->fn(it->arg);
		free(it);
		it = next;
	}
}
