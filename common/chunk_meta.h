/* A media chunk's metadata (schemas/topics.md, "Media chunks"; schemas/json/segment.chunk.json).
 *
 * A chunk travels on room/<room>/media as one MQTT 5 PUBLISH whose payload is the media
 * bytes themselves and whose metadata is a set of MQTT 5 user properties, all strings:
 * v, kind, seq, ts, stream, segment_seq, start_us, end_us, size, sha256, recovered,
 * offset, last. chunk_meta_parse validates them and the payload's length at the edge into
 * a struct chunk_meta as strictly as msg_parse and msg_reader validate JSON: every property
 * present exactly once, none unknown, integers in canonical decimal within range, booleans
 * "true"/"false", the hash 64 lower-case hex digits, and the chunk inside its segment.
 * chunk_meta_props builds the properties for the sender. Pure code: no I/O, no Paho. */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt_session.h"
#include "msg.h"

/* The chunk format's version: 1 was base64 inside a JSON segment.chunk (refused). */
#define CHUNK_VERSION 2
/* Media bytes per chunk at most (the payload). */
#define CHUNK_MAX_BYTES (1024 * 1024)
/* A segment larger than this is refused (an agent's segments are a few MB). */
#define CHUNK_SEGMENT_MAX_BYTES ((int64_t)1 << 30)
/* The properties of a chunk, and the longest value among them (sha256). */
#define CHUNK_PROPS     13
#define CHUNK_VALUE_MAX 64

struct chunk_meta {
	uint64_t seq; /* the sender's sequence number (seq.h) */
	int64_t ts;   /* UTC microseconds of sending */
	char stream[MSG_ID_MAX + 1];
	int64_t segment_seq; /* >= 1 */
	int64_t start_us, end_us;
	int64_t size; /* the whole segment's bytes, 1 .. CHUNK_SEGMENT_MAX_BYTES */
	char sha256[65]; /* the whole segment's SHA-256, lower-case hex */
	bool recovered;
	int64_t offset; /* of this chunk's first byte in the segment */
	bool last;      /* this chunk ends the segment (offset + its length == size) */
};

/* chunk_meta_parse: PROPS[0..N) are the user properties of a message on a media topic whose
 * payload has LEN bytes (PAYLOAD, only looked at when there are no properties, to tell an
 * old agent's JSON chunk). On success fills *out and returns 0. Otherwise returns -EPROTO
 * (MSG_ERROR_VERSION: a version 1 JSON chunk, or another 'v'), -EMSGSIZE (payload over
 * CHUNK_MAX_BYTES) or -EINVAL, with *err naming the property and the fault in valid UTF-8,
 * and *out is unspecified. */
int chunk_meta_parse(const struct mqtt_user_prop *props, size_t n, const void *payload, size_t len,
                     struct chunk_meta *out, GError **err);

/* The user properties of a chunk, ready to publish: p[0..CHUNK_PROPS) point into text. */
struct chunk_props {
	struct mqtt_user_prop p[CHUNK_PROPS];
	char text[CHUNK_PROPS][CHUNK_VALUE_MAX + 1];
};

/* chunk_meta_props: the properties of M into *OUT (M is not checked: a sender fills it from
 * its own spool). */
void chunk_meta_props(const struct chunk_meta *m, struct chunk_props *out);
