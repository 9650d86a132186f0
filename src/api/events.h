/* events.h - a stream of JSON events, one per line (application/x-ndjson)
 * or one per SSE frame ("event: TYPE\ndata: {...}\n\n"), each object
 * carrying "type".  Command output goes out as text while it is UTF-8
 * (a character cut between two chunks is held back until it is whole)
 * and as base64 ("data_b64") when it is not. */
#ifndef AJ_API_EVENTS_H
#define AJ_API_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "api/stream.h"

struct api_events {
	struct api_stream *s;
	bool sse;
	char tail[2][4];
	size_t ntail[2];
};

/* Send {"type":type, ...ev}; steals ev (may be NULL).  0 or -1 once the
 * stream is cancelled. */
int api_events_emit(struct api_events *ev, const char *type, json_t *body);
/* Output of stream s (0 stdout, 1 stderr) as "stdout"/"stderr" events;
 * final flushes a held-back partial character. */
int api_events_output(struct api_events *ev, int s, const char *data,
		      size_t len, bool final);

#endif
