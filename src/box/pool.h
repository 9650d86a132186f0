/* pool.h - warm sandboxes of the default shape, so that create is a
 * hand-over instead of building a jail. */
#ifndef AJ_BOX_POOL_H
#define AJ_BOX_POOL_H

#include "box/sandbox.h"

int pool_start(struct box_mgr *m, struct pool **out, struct aj_err *e);
void pool_stop(struct pool *p);
/* Hand a ready jail of sb->shape over to sb (its id becomes the pooled
 * one's).  0 on a hit, -1 if none is ready. */
int pool_take(struct pool *p, struct sandbox *sb);

#endif
