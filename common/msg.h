/* The JSON message codec. Every payload is validated completely at the edge:
 * the envelope (v, kind, seq, ts; see schemas/topics.md) by msg_parse, then the
 * kind's own members through a msg_reader, which also refuses unknown members.
 * Inner code only ever sees typed structs built from a successful read. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "seq.h"

#define MSG_VERSION        1
#define MSG_MAX_SIZE       (64 * 1024)
/* events.ack {seqs}: at most this many sequence numbers per message (20 bytes each at
 * most: 10 KiB, well inside MSG_MAX_SIZE). */
#define EVENTS_ACK_MAX_SEQS 512
/* Requests and responses may carry a whole site or a draw record (about 80 bytes a
 * person): large enough for thousands of seats, bounded all the same. */
#define MSG_MAX_REQUEST_SIZE (4 * 1024 * 1024)
#define MSG_KIND_MAX         48
#define MSG_ID_MAX           32 /* identifiers: rooms, seats, persons, tenders, names */

GQuark msg_error_quark(void);
#define MSG_ERROR msg_error_quark()
enum msg_error_code {
	MSG_ERROR_INVALID = 1, /* malformed, wrong type, out of range, unknown member */
	MSG_ERROR_TOO_LARGE,
	MSG_ERROR_VERSION,
	MSG_ERROR_EXPIRED,
};

struct msg_envelope {
	char kind[MSG_KIND_MAX];
	uint64_t seq;
	int64_t ts;
};

/* msg_parse: PAYLOAD of LEN bytes (need not be NUL-terminated) must be at most MAX_LEN
 * bytes, one JSON object, UTF-8, with v == MSG_VERSION, a kind, seq >= 1 and ts.
 * On success fills *env, stores a new reference to the object in *body (caller
 * json_decref's it) and returns 0. Otherwise returns -EINVAL, -EMSGSIZE or -EPROTO
 * with *err naming the fault. */
int msg_parse(const void *payload, size_t len, size_t max_len, struct msg_envelope *env,
              json_t **body, GError **err);

/* msg_parse_kind: msg_parse, and then the message must be of kind KIND, the only one
 * allowed on its topic (TOPIC_NAME, e.g. "status", names it in the error). Same returns;
 * on a wrong kind -EINVAL with *body NULL. */
int msg_parse_kind(const void *payload, size_t len, size_t max_len, const char *kind,
                   const char *topic_name, struct msg_envelope *env, json_t **body, GError **err);

/* A reader collects the first error and the members it was asked for; finish fails on
 * any error or any member it was not asked for (envelope members are always allowed). */
struct msg_reader {
	json_t *obj;
	GError *error;
	const char *seen[48];
	unsigned nseen;
	const char *path; /* prefix for error messages, e.g. "args" */
};

void msg_reader_init(struct msg_reader *r, json_t *obj, const char *path);
/* Strings point into the object: valid while it lives. NULL when absent/invalid. */
const char *msg_read_string(struct msg_reader *r, const char *key, bool required, size_t max_len);
/* An identifier matching ^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$. */
const char *msg_read_id(struct msg_reader *r, const char *key, bool required);
/* One of VALUES (NULL-terminated); returns its index or -1. */
int msg_read_enum(struct msg_reader *r, const char *key, bool required, const char *const *values);
int64_t msg_read_int(struct msg_reader *r, const char *key, bool required, int64_t min, int64_t max,
                     int64_t def);
bool msg_read_bool(struct msg_reader *r, const char *key, bool required, bool def);
/* Borrowed references; NULL when absent (and not required) or invalid. */
json_t *msg_read_object(struct msg_reader *r, const char *key, bool required);
json_t *msg_read_array(struct msg_reader *r, const char *key, bool required, size_t max_items);
/* msg_reader_finish: 0 when everything read was valid and no unknown member is present;
 * else -EINVAL with *err set (the reader's error moved to the caller). */
int msg_reader_finish(struct msg_reader *r, GError **err);

/* id_valid: S is an identifier (see msg_read_id). */
bool id_valid(const char *s);

/* msg_new: a new object {v, kind, seq, ts} to add members to (caller json_decref's). */
json_t *msg_new(const char *kind, struct seq_counter *seq);
/* msg_dump: compact UTF-8 text of OBJ (g_free); *len without the NUL. */
char *msg_dump(const json_t *obj, size_t *len);
