/* evalroom-agent internals shared by its modules (not a public API). Modules publish,
 * report refused messages and read the sequence numbers through a->node (node.h). */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "config.h"
#include "mqtt_session.h"
#include "node.h"

struct agent {
	struct config *config;
	char *room;
	char *identity; /* "agent-<room>" */
	char *mqtt_uri, *ca, *cert, *key;
	char *spool_dir;
	GMainLoop *loop;
	/* Time for command expiry and the door's timers: NULL is the system clock; tests
	 * hand a clock_fake (clock.h). */
	const struct clock_source *clock;
	struct mqtt_session *mqtt;
	struct node *node; /* publish, error events, status, replay cache, topic routes */
	bool connected;
	bool controller_online;
	bool log_debug;            /* [log] debug, the one setting a reload (SIGHUP) changes */
	struct outbox *outbox;     /* every event goes through it */
	struct agent_door *door;   /* NULL: the room has no controlled door */
	struct agent_media *media; /* NULL: the room records nothing */
	struct agent_seats *seats; /* the login terminals (agent_seats.c) */
	int64_t started_us;
	/* Answered command ids, durable in the spool (cmd_done.c), opened lazily; the node's
	 * replay cache is the fast path. */
	struct cmd_done *cmd_done;
	char topic_status[128], topic_event[128], topic_reply[128], topic_cmd[128],
	    topic_media[128];
};
