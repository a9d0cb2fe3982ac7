/* The agent's command topic (room/<id>/cmd): commands from the controller and the
 * controller's segment acknowledgements. */
#include "agent_cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent_door.h"
#include "agent_call.h"
#include "agent_live.h"
#include "agent_media.h"
#include "agent_seats.h"
#include "clock.h"
#include "cmd_done.h"
#include "log.h"
#include "msg.h"
#include "outbox.h"

/* A command that ran is remembered until it expires, in the node's replay cache and in
 * the spool (cmd_done.c, which survives a restart): a duplicate delivery (QoS 1 after a
 * lost PUBACK) or a replay gets the first reply again and never runs twice. */

/* A command may not claim to live longer than this (the controller gives seconds). */
#define CMD_MAX_LIFETIME_US (10 * 60 * G_USEC_PER_SEC)

/* The durable store of commands run (cmd_done.c), opened on first use in the spool. */
static struct cmd_done *store(struct agent *a)
{
	if (!a->cmd_done) {
		GError *err = NULL;
		char *path = g_build_filename(a->spool_dir, "outbox.db", NULL);
		a->cmd_done = cmd_done_open(path, &err);
		if (!a->cmd_done) {
			log_warnx("%s: commands run are remembered in memory only", err->message);
			g_error_free(err);
		}
		g_free(path);
	}
	return a->cmd_done;
}

/* reply: publish the reply to command ID; with REMEMBER_UNTIL > 0 keep it for replays,
 * in memory and in the spool (committed before the reply leaves: a restart between two
 * deliveries of the command cannot run it twice). */
static void reply(struct agent *a, const char *id, int64_t remember_until, json_t *result,
                  const GError *err)
{
	json_t *m = cmd_reply_msg(a, id, result, err);
	char *text = remember_until > 0 ? msg_dump(m, NULL) : NULL;
	if (text && store(a))
		cmd_done_put(a->cmd_done, id, remember_until, text, clock_source_now_us(a->clock));
	node_publish(a->node, a->topic_reply, m, false);
	if (text) {
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
		if (agent_media_handle_ack(a->media, body, &err) != 0)
			goto refuse;
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
	int64_t now = clock_source_now_us(a->clock);
	if (!*id) {
		g_set_error(&err, MSG_ERROR, MSG_ERROR_INVALID, "member 'id': empty");
		goto refuse;
	}
	if (expires > now + CMD_MAX_LIFETIME_US) {
		/* A command that claims to live for ever could be replayed for ever. */
		g_set_error(&err, MSG_ERROR, MSG_ERROR_INVALID,
		            "command %s (%s): member 'expires': more than 10 minutes ahead", id,
		            command);
		reply(a, id, 0, NULL, err);
		goto out;
	}
	if (expires < now) {
		g_set_error(&err, MSG_ERROR, MSG_ERROR_EXPIRED, "command %s (%s) expired", id,
		            command);
		reply(a, id, 0, NULL, err);
		goto out;
	}
	/* The node's replay cache is the fast path; the spool's store answers for commands
	 * run before a restart. */
	const char *done = node_replay_find(a->node, id, now);
	char *stored = done || !store(a) ? NULL : cmd_done_get(a->cmd_done, id, now);
	if (done || stored) {
		const char *text = done ? done : stored;
		log_info("command %s (%s) was already executed: not run again", id, command);
		node_publish_raw(a->node, a->topic_reply, text, strlen(text), 1, false);
		g_free(stored);
		goto out;
	}
	if (!args) {
		args = json_object();
		json_object_set_new(body, "args", args); /* owned by body from here */
	}
	json_t *res = NULL;
	int rc;
	if (strcmp(command, "events.ack") == 0) {
		/* The controller holds exactly our events `seqs`, or (an older controller)
		 * every event up to `upto`: no reply, it would only echo. */
		struct msg_reader ar;
		msg_reader_init(&ar, args, "args");
		int64_t upto = msg_read_int(&ar, "upto", false, 1, INT64_MAX, 0);
		json_t *seqs = msg_read_array(&ar, "seqs", false, EVENTS_ACK_MAX_SEQS);
		if (msg_reader_finish(&ar, &err) != 0)
			goto refuse;
		if ((!seqs && !upto) || (seqs && json_array_size(seqs) == 0)) {
			g_set_error(&err, MSG_ERROR, MSG_ERROR_INVALID,
			            "args: \"seqs\" (not empty) or \"upto\" is required");
			goto refuse;
		}
		if (seqs) {
			size_t n = json_array_size(seqs);
			uint64_t *v = g_new(uint64_t, n ? n : 1);
			for (size_t i = 0; i < n; i++) {
				json_t *e = json_array_get(seqs, i);
				if (!json_is_integer(e) || json_integer_value(e) < 1) {
					g_set_error(&err, MSG_ERROR, MSG_ERROR_INVALID,
					            "args.seqs[%zu]: expected an integer >= 1", i);
					g_free(v);
					goto refuse;
				}
				v[i] = (uint64_t)json_integer_value(e);
			}
			outbox_ack_seqs(a->outbox, v, n);
			g_free(v);
		}
		if (upto)
			outbox_ack(a->outbox, (uint64_t)upto);
		goto out;
	} else if (strcmp(command, "status") == 0) {
		res = json_pack("{s:s, s:I, s:b, s:I, s:I}", "room", a->room, "started",
		                (json_int_t)a->started_us, "connected", a->connected,
		                "events_pending", (json_int_t)outbox_pending(a->outbox),
		                "events_resent", (json_int_t)outbox_resent(a->outbox));
		rc = 0;
	} else if ((rc = agent_seats_command(a->seats, command, args, &res, &err)) != -ENOENT) {
		/* a seat command, answered below */
	} else if ((rc = agent_media_command(a->media, command, args, &res, &err)) != -ENOENT) {
		/* handled */
	} else if ((rc = agent_live_command(a, agent_media_recorder(a->media), command, id, args,
	                                    &res, &err)) != -ENOENT) {
		if (rc == -EINPROGRESS)
			goto out; /* answered when the viewer's answer is ready */
	} else if ((rc = agent_call_command(a->call, command, id, args, &res, &err)) != -ENOENT) {
		if (rc == -EINPROGRESS)
			goto out; /* answered when the call's answer is ready */
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
