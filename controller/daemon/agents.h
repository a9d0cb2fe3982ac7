/* Commands to room agents and their replies: room/<room>/cmd out, room/<room>/reply in. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdint.h>

struct controller;

/* Called once per command: with the agent's RESULT (borrowed) when ERR is NULL, or with
 * ERR (the agent's refusal, or "no answer within N s"). */
typedef void (*agent_reply_fn)(struct controller *c, const char *room, json_t *result,
                               const GError *err, void *user);

void agents_init(struct controller *c);
void agents_free(struct controller *c);
/* agents_command: send COMMAND with ARGS (stolen; NULL = {}) to ROOM's agent, expiring
 * after TIMEOUT_MS; ON_REPLY (may be NULL) gets the answer or the timeout. Returns 0 or
 * -errno (then ON_REPLY is not called). */
int agents_command(struct controller *c, const char *room, const char *command, json_t *args,
                   unsigned timeout_ms, agent_reply_fn on_reply, void *user);
/* agents_handle_reply: a message on room/<room>/reply. */
void agents_handle_reply(struct controller *c, const char *room, const void *payload, size_t len);
/* agents_ack_event: remember that ROOM's event SEQ is recorded (or refused for good);
 * acknowledged to the agent shortly after, exactly: `events.ack {seqs}`, one message per
 * burst of up to EVENTS_ACK_MAX_SEQS. Never a bound: a broker that dropped an older event
 * on its way here must not have it deleted from the agent's outbox. */
void agents_ack_event(struct controller *c, const char *room, uint64_t seq);
