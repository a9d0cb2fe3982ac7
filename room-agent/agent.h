/* evalroom-agent internals shared by its modules (not a public API). */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "mqtt_session.h"
#include "seq.h"

#define TOPIC_PREFIX "evalroom/v1/"

struct agent {
	struct config *config;
	char *room;
	char *identity; /* "agent-<room>" */
	char *mqtt_uri, *ca, *cert, *key;
	char *spool_dir;
	GMainLoop *loop;
	struct mqtt_session *mqtt;
	const struct mqtt_ops *ops;
	void *ops_ctx;
	struct seq_counter seq;
	bool connected;
	bool controller_online;
	struct outbox *outbox;     /* every event goes through it */
	struct agent_door *door;   /* NULL: the room has no controlled door */
	struct agent_media *media; /* NULL: the room records nothing */
	struct agent_seats *seats; /* the login terminals (agent_seats.c) */
	int64_t started_us;
	GHashTable *commands_done; /* command id -> struct agent_cmd_done, until it expires */
	struct cmd_done *cmd_done; /* the same, durable in the spool (cmd_done.c); lazily */
	char topic_status[128], topic_event[128], topic_reply[128], topic_cmd[128],
	    topic_media[128];
};

/* agent_publish: serialise MSG (caller keeps its reference), publish at QoS 1. */
int agent_publish(struct agent *a, const char *topic, const json_t *msg, bool retain);
/* agent_report_error: publish an `error` event naming TOPIC, SENDER and the fault. */
void agent_report_error(struct agent *a, const char *topic, const char *sender,
                        const GError *fault);
