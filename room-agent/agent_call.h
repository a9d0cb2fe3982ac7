/* The recorded call on the room agent (docs/call.md): the controller relays a witness's
 * SDP offer for a seat as the command call.offer, and the agent answers with a call of
 * its own (media/recorder/call.h) between that seat's microphone and speaker and the
 * witness's browser, both directions recorded as streams call-SEAT-seat and
 * call-SEAT-witness. The seat hangs up with its help key; the agent says call.ended. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>

struct agent;
struct agent_call;

/* The most a witness browser's SDP offer may weigh (as a live viewer's, agent_live.h). */
#define AGENT_CALL_SDP_MAX 32768

/* agent_call_new: the [call] settings of the agent's configuration ([call SEAT] groups
 * override [call] for a seat): microphone= (launch fragment ending in raw audio),
 * speaker= (taking raw audio), segment_seconds= (1..600, default 4). NULL with *err
 * for a bad setting; a room without [call] gets a handle that refuses every call. */
struct agent_call *agent_call_new(struct agent *a, GError **err);
/* agent_call_free: hang up every call (their recordings finished) and free (NULL-safe). */
void agent_call_free(struct agent_call *ac);
/* agent_call_command: "call.offer" {seat, sdp} -> {answer} (-EINPROGRESS: answered later
 * through agent_cmd_reply with ID) and "call.hangup" {seat[, reason]} -> {}. -ENOENT for
 * other commands; -errno with *err when refused (no call audio configured here, no media
 * spool, a call at that seat already, a bad offer). */
int agent_call_command(struct agent_call *ac, const char *command, const char *id, json_t *args,
                       json_t **result, GError **err);
/* agent_call_seat_hangup: the person at SEAT hung up (its help key during a call): the
 * call ends and call.ended is sent. false when no call is up at SEAT. */
bool agent_call_seat_hangup(struct agent_call *ac, const char *seat);
