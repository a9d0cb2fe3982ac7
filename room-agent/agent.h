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
	bool controller_online;      /* reachable: what the door was last told */
	bool controller_said_online; /* the controller's last status said online */
	/* At a secondary venue ([agent] venue): the bridge's word on the link to the main
	 * venue (venue/<venue>/link). While it is down nothing is published towards the
	 * controller: events stay in the outbox, segments in the spool, and both are sent
	 * again in order when it returns. Always true without a venue. */
	char *venue;
	bool link_up;
	int64_t controller_heard_us; /* monotonic time of the controller's last status */
	int64_t link_timeout_s;      /* [agent] link_timeout_s, default 20 */
	char topic_link[128];
	bool log_debug;            /* [log] debug, the one setting a reload (SIGHUP) changes */
	struct outbox *outbox;     /* every event goes through it */
	struct agent_door *door;   /* NULL: the room has no controlled door */
	struct agent_media *media; /* NULL: the room records nothing */
	struct agent_seats *seats; /* the login terminals (agent_seats.c) */
	struct agent_call *call;   /* the recorded calls (agent_call.c) */
	int64_t started_us;
	/* Answered command ids, durable in the spool (cmd_done.c), opened lazily; the node's
	 * replay cache is the fast path. */
	struct cmd_done *cmd_done;
	char topic_status[128], topic_event[128], topic_reply[128], topic_cmd[128],
	    topic_media[128];
};
