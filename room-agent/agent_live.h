/* Live viewing on the room agent (docs/live.md): the controller relays a viewer's SDP
 * offer as the command live.offer and the agent answers from the recorder's live tap
 * (media/recorder/live.h). */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdint.h>

struct agent;
struct recorder;

/* The most an SDP offer may weigh (a browser's is 3 to 8 KiB). */
#define AGENT_LIVE_SDP_MAX 32768

/* agent_live_command: "live.offer" {stream, viewer, sdp} -> {answer} and "live.close"
 * {viewer} -> {}. -ENOENT for other commands. live.offer returns -EINPROGRESS when the
 * answer will be sent later (agent_cmd_reply with ID, on the main loop); -errno with
 * *err when refused at once (no such stream, no picture yet, a bad offer, too many
 * viewers; without media: "this room records no video"). RECORDER may be NULL. */
int agent_live_command(struct agent *a, struct recorder *rec, const char *command,
                       const char *id, json_t *args, json_t **result, GError **err);
