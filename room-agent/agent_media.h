/* The agent's recording: the [recorder] and [stream NAME] groups of agent.conf, the media
 * spool, and shipping of segments and gaps to the controller (see docs/recording.md). */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>

struct agent;
struct agent_media;

/* agent_media_new: NULL with *err unset when the config has no streams; NULL with *err
 * set on a bad config. Recording starts at once (it does not wait for the broker). */
struct agent_media *agent_media_new(struct agent *a, GError **err);
/* agent_media_stop: finish every stream's current segment (spooled before it returns). */
void agent_media_stop(struct agent_media *m);
void agent_media_free(struct agent_media *m);
/* agent_media_connected: (re)connected or lost: resend unacknowledged segments. */
void agent_media_connected(struct agent_media *m, bool connected);
/* agent_media_handle_ack: a segment.ack from the controller whose envelope msg_parse has
 * validated (BODY borrowed): reads {stream, segment_seq | gap_id} and deletes what it
 * acknowledges. -EINVAL with *err (nothing changes) for a malformed ack or a gap of another
 * stream; 0 otherwise, an ack for something no longer spooled included. */
int agent_media_handle_ack(struct agent_media *m, json_t *body, GError **err);
/* agent_media_command: "media.status" (spool and shipping figures) and "media.flush"
 * {before_us} -> {pending, segments, gaps}: what was recorded before BEFORE_US and is not
 * yet acknowledged (the controller polls it to 0 before sealing). -ENOENT for other
 * commands. */
int agent_media_command(struct agent_media *m, const char *command, json_t *args, json_t **result,
                        GError **err);

/* agent_media_recorder: the recorder (its live viewers, live.h); NULL without media. */
struct recorder *agent_media_recorder(struct agent_media *m);

/* agent_media_spool: the media spool (segments of the recorded calls go there too,
 * agent_call.h), NULL without media; agent_media_dir its directory. */
struct spool *agent_media_spool(struct agent_media *m);
const char *agent_media_dir(struct agent_media *m);
/* agent_media_segment_spooled: a segment was added to the spool from outside the
 * recorder (a call's): ship it. NULL-safe. */
void agent_media_segment_spooled(struct agent_media *m);

/* agent_media_backlog: segments and their bytes in the spool, not yet acknowledged
 * (0 and 0 without media). */
void agent_media_backlog(struct agent_media *m, int64_t *segments, int64_t *bytes);
