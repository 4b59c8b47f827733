#include "workq.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>

#include "loopq.h"

struct workq_job {
	struct workq_job *next;
	workq_fn work;
	workq_fn done;
	void *arg;
};

struct workq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct workq_job *head, *tail;
	unsigned queued;
	unsigned queue_max;
	bool stopping;
	unsigned nthreads;
	pthread_t *threads;
	struct loopq *loopq;
};

/* Loop thread: the job's continuation, then its node. */
static void workq_finish(void *arg)
{
	struct workq_job *job = arg;
	job->done(job->arg);
	free(job);
}

static void *workq_thread(void *arg)
{
	struct workq *q = arg;
	for (;;) {
		struct workq_job *job;
		pthread_mutex_lock(&q->lock);
		while (!q->head && !q->stopping)
			pthread_cond_wait(&q->cond, &q->lock);
		job = q->head;
		if (!job) {
			pthread_mutex_unlock(&q->lock);
			return NULL;
		}
		q->head = job->next;
		if (!q->head)
			q->tail = NULL;
		q->queued--;
		pthread_mutex_unlock(&q->lock);
		job->work(job->arg);
		/* The node was allocated with the post in mind: a loopq post that fails
		 * for memory would lose the done call, so retry until it goes. */
		while (loopq_post(q->loopq, workq_finish, job) != 0)
			sched_yield();
	}
}

int workq_new(struct event_base *base, unsigned threads, unsigned queue_max, struct workq **out)
{
	struct workq *q = calloc(1, sizeof(*q));
	if (!q)
		return WORKQ_ENOMEM;
	q->queue_max = queue_max;
	q->threads = calloc(threads, sizeof(*q->threads));
	if (!q->threads || loopq_new(base, &q->loopq) != 0)
		goto free_q;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	for (; q->nthreads < threads; q->nthreads++)
		if (pthread_create(&q->threads[q->nthreads], NULL, workq_thread, q) != 0)
			goto stop_threads;
	*out = q;
	return WORKQ_OK;
stop_threads:
	workq_free(q);
	return WORKQ_ENOMEM;
free_q:
	free(q->threads);
	free(q);
	return WORKQ_ENOMEM;
}

int workq_submit(struct workq *q, workq_fn work, workq_fn done, void *arg)
{
	struct workq_job *job;
	int rc = WORKQ_OK;
	job = malloc(sizeof(*job));
	if (!job)
		return WORKQ_ENOMEM;
	job->next = NULL;
	job->work = work;
	job->done = done;
	job->arg = arg;
	pthread_mutex_lock(&q->lock);
	if (q->stopping)
		rc = WORKQ_ESTOPPED;
	else if (q->queued >= q->queue_max)
		rc = WORKQ_EBUSY;
	if (rc == WORKQ_OK) {
		if (q->tail)
			q->tail->next = job;
		else
			q->head = job;
		q->tail = job;
		q->queued++;
		pthread_cond_signal(&q->cond);
	}
	pthread_mutex_unlock(&q->lock);
	if (rc != WORKQ_OK)
		free(job);
	return rc;
}

void workq_free(struct workq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	loopq_free(q->loopq);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q->threads);
	free(q);
}
