/* Long reads on the work pool: a read transaction on a pool thread (the env is MDB_NOTLS). */
#include "store.h"

#include <stdlib.h>

#include "workq.h"

struct store_read_op {
	struct store *s;
	store_apply_fn read;
	store_done_fn done;
	void *arg;
	int status;
};

static void store_read_work(void *p)
{
	struct store_read_op *op = p;
	MDB_txn *txn;
	op->status = store_read_begin(op->s, &txn);
	if (op->status != STORE_OK)
		return;
	op->status = op->read(txn, op->arg);
	store_read_end(op->s, txn);
}

static void store_read_finish(void *p)
{
	struct store_read_op *op = p;
	op->done(op->status, op->arg);
	free(op);
}

int store_read_async(struct store *s, struct workq *q, store_apply_fn read, store_done_fn done, void *arg)
{
	struct store_read_op *op;
	int rc;
	if (!s || !q || !read || !done)
		return STORE_EINVAL;
	if (!(op = malloc(sizeof(*op))))
		return STORE_ENOMEM;
	*op = (struct store_read_op){ .s = s, .read = read, .done = done, .arg = arg };
	rc = workq_submit(q, store_read_work, store_read_finish, op);
	if (rc == WORKQ_OK)
		return STORE_OK;
	free(op);
	return rc == WORKQ_EBUSY ? STORE_EBUSY : rc == WORKQ_ESTOPPED ? STORE_ESTOPPED : STORE_ENOMEM;
}
