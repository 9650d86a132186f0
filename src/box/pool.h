/* pool.h - warm sandboxes of the default shape, so that create is a
 * hand-over instead of building a jail. */
#ifndef AJ_BOX_POOL_H
#define AJ_BOX_POOL_H

#include "box/sandbox.h"

int pool_start(struct box_mgr *m, struct pool **out, struct aj_err *e);
/* Discards every pooled sandbox. */
void pool_stop(struct pool *p);
/* A started sandbox of this shape (with a reference), or NULL if none is
 * ready.  Nothing has run in it but, when configured, the python driver of
 * its default context; with_env asks for that to be dropped, since the
 * sandbox env must reach the interpreter. */
struct sandbox *pool_take(struct pool *p, const struct box_shape *shape,
			  bool with_env);

#endif
