/* Replies to the controller's commands (cmd_reply.h). */
#include "cmd_reply.h"

#include "node.h"

json_t *cmd_reply_msg(struct agent *a, const char *id, json_t *result, const GError *err)
{
	json_t *m = node_msg_new(a->node, "reply");
	json_object_set_new(m, "id", json_string(id));
	json_object_set_new(m, "ok", json_boolean(err == NULL));
	if (err)
		json_object_set_new(m, "error", json_string(err->message));
	else
		json_object_set_new(m, "result", result ? json_incref(result) : json_object());
	return m;
}

void agent_cmd_reply(struct agent *a, const char *id, json_t *result, const GError *err)
{
	json_t *m = cmd_reply_msg(a, id, result, err);
	node_publish(a->node, a->topic_reply, m, false);
	json_decref(m);
}
