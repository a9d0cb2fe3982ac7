/* The agent's command topic (room/<id>/cmd): commands from the controller and the
 * controller's segment acknowledgements. */
#include "agent_cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent_door.h"
#include "agent_media.h"
#include "agent_seats.h"
#include "clock.h"
#include "log.h"
#include "msg.h"
#include "outbox.h"

/* A command that ran is remembered in the node's replay cache until it expires: a
 * duplicate delivery (QoS 1 after a lost PUBACK) or a replay gets the first reply again
 * and never runs twice. */

/* reply: publish the reply to command ID; with REMEMBER_UNTIL > 0 keep it for replays. */
static void reply(struct agent *a, const char *id, int64_t remember_until, json_t *result,
                  const GError *err)
{
	json_t *m = node_msg_new(a->node, "reply");
	json_object_set_new(m, "id", json_string(id));
	json_object_set_new(m, "ok", json_boolean(err == NULL));
	if (err)
		json_object_set_new(m, "error", json_string(err->message));
	else
		json_object_set_new(m, "result", result ? json_incref(result) : json_object());
	node_publish(a->node, a->topic_reply, m, false);
	if (remember_until > 0) {
		char *text = msg_dump(m, NULL);
		node_replay_keep(a->node, id, text, remember_until);
		g_free(text);
	}
	json_decref(m);
}

void agent_cmd_handle(struct agent *a, const void *payload, size_t len)
{
	struct msg_envelope env;
	json_t *body = NULL;
	GError *err = NULL;
	if (msg_parse(payload, len, MSG_MAX_SIZE, &env, &body, &err) != 0)
		goto refuse;
	if (strcmp(env.kind, "segment.ack") == 0) {
		agent_media_handle_ack(a->media, payload, len);
		goto out;
	}
	if (strcmp(env.kind, "cmd") != 0) {
		g_set_error(&err, MSG_ERROR, MSG_ERROR_INVALID,
		            "kind \"%s\" is not allowed on a command topic", env.kind);
		goto refuse;
	}
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	const char *id = msg_read_string(&r, "id", true, 63);
	const char *command = msg_read_string(&r, "command", true, 47);
	int64_t expires = msg_read_int(&r, "expires", true, 0, INT64_MAX, 0);
	json_t *args = msg_read_object(&r, "args", false);
	if (msg_reader_finish(&r, &err) != 0)
		goto refuse;
	if (expires < clock_source_now_us(a->clock)) {
		g_set_error(&err, MSG_ERROR, MSG_ERROR_EXPIRED, "command %s (%s) expired", id,
		            command);
		reply(a, id, 0, NULL, err);
		goto out;
	}
	const char *done = node_replay_find(a->node, id, clock_source_now_us(a->clock));
	if (done) {
		log_info("command %s (%s) was already executed: not run again", id, command);
		node_publish_raw(a->node, a->topic_reply, done, strlen(done), 1, false);
		goto out;
	}
	if (!args) {
		args = json_object();
		json_object_set_new(body, "args", args); /* owned by body from here */
	}
	json_t *res = NULL;
	int rc;
	if (strcmp(command, "events.ack") == 0) {
		/* The controller holds our events up to `upto`: no reply, it would only echo. */
		struct msg_reader ar;
		msg_reader_init(&ar, args, "args");
		int64_t upto = msg_read_int(&ar, "upto", true, 1, INT64_MAX, 0);
		if (msg_reader_finish(&ar, &err) != 0)
			goto refuse;
		outbox_ack(a->outbox, (uint64_t)upto);
		goto out;
	} else if (strcmp(command, "status") == 0) {
		res = json_pack("{s:s, s:I, s:b, s:I}", "room", a->room, "started",
		                (json_int_t)a->started_us, "connected", a->connected,
		                "events_pending", (json_int_t)outbox_pending(a->outbox));
		rc = 0;
	} else if ((rc = agent_seats_command(a->seats, command, args, &res, &err)) != -ENOENT) {
		/* a seat command, answered below */
	} else if ((rc = agent_media_command(a->media, command, args, &res, &err)) != -ENOENT) {
		/* handled */
	} else if ((rc = agent_door_command(a->door, command, id, args, &res, &err)) == -ENOENT) {
		g_set_error(&err, MSG_ERROR, MSG_ERROR_INVALID, "unknown command \"%s\"", command);
	}
	reply(a, id, expires, rc == 0 ? res : NULL, rc == 0 ? NULL : err);
	json_decref(res);
	goto out;
refuse:
	node_report_error(a->node, a->topic_cmd, "controller", err);
out:
	g_clear_error(&err);
	json_decref(body);
}
