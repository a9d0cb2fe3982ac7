/* Live viewing on the room agent (agent_live.h). */
#include "agent_live.h"

#include <errno.h>
#include <string.h>

#include "agent.h"
#include "agent_cmd.h"
#include "log.h"
#include "msg.h"
#include "recorder.h"

struct pending_offer {
	struct agent *a;
	char id[64];
};

static void on_answer(void *user, const char *viewer, const char *answer, const GError *err)
{
	struct pending_offer *p = user;

	if (err) {
		log_info("live: viewer %s refused: %s", viewer, err->message);
		agent_cmd_reply(p->a, p->id, NULL, err);
	} else {
		log_info("live: viewer %s answered", viewer);
		json_t *res = json_pack("{s:s}", "answer", answer);
		agent_cmd_reply(p->a, p->id, res, NULL);
		json_decref(res);
	}
	g_free(p);
}

int agent_live_command(struct agent *a, struct recorder *rec, const char *command,
                       const char *id, json_t *args, json_t **result, GError **err)
{
	bool offer = strcmp(command, "live.offer") == 0;
	if (!offer && strcmp(command, "live.close") != 0)
		return -ENOENT;
	struct msg_reader r;
	msg_reader_init(&r, args, "args");
	const char *stream = offer ? msg_read_string(&r, "stream", true, 32) : NULL;
	const char *viewer = msg_read_string(&r, "viewer", true, 63);
	const char *sdp = offer ? msg_read_string(&r, "sdp", true, AGENT_LIVE_SDP_MAX) : NULL;
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!rec) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID, "room %s records no video", a->room);
		return -ENODEV;
	}
	if (!offer) {
		if (recorder_live_close(rec, viewer) == 0)
			log_info("live: viewer %s closed", viewer);
		*result = json_object(); /* closing what is gone already is done too */
		return 0;
	}
	struct pending_offer *p = g_new0(struct pending_offer, 1);
	p->a = a;
	g_strlcpy(p->id, id, sizeof(p->id));
	GError *why = NULL;
	int rc = recorder_live_offer(rec, stream, viewer, sdp, on_answer, p, &why);
	if (rc) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID, "%s", why->message);
		g_error_free(why);
		g_free(p);
		return rc;
	}
	log_info("live: viewer %s of %s: answering", viewer, stream);
	return -EINPROGRESS;
}
