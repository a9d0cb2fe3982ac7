/* Live viewing from the controller's side (live_view.h). */
#include "live_view.h"

#include <errno.h>
#include <string.h>

#include "agents.h"
#include "calls.h"
#include "clock.h"
#include "controller.h"
#include "log.h"
#include "msg.h"
#include "requests.h"
#include "route.h"

#define OFFER_TIMEOUT_MS 30000 /* about a second; the first viewer of an agent makes its DTLS key */

struct live_stream {
	char *seat;        /* NULL: a room stream */
	const char *state; /* static */
	bool audio;        /* Opus a viewer can hear */
};

/* "room/stream" -> struct live_stream, kept in c->live_streams. */
static GHashTable *streams_of(struct controller *c)
{
	if (!c->live_streams)
		c->live_streams = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return c->live_streams;
}

void live_view_note_stream(struct controller *c, const char *room, const char *stream,
                           const char *seat, const char *state, bool audio)
{
	static const char *const states[] = {"starting", "recording", "lost", "stopped"};
	char *key = g_strdup_printf("%s/%s", room, stream);
	struct live_stream *s = g_hash_table_lookup(streams_of(c), key);
	if (!s) {
		s = g_malloc0(sizeof(*s) + (seat ? strlen(seat) + 1 : 0));
		if (seat)
			s->seat = strcpy((char *)(s + 1), seat);
		g_hash_table_insert(c->live_streams, key, s);
	} else {
		g_free(key);
	}
	s->state = "unknown";
	s->audio = audio;
	for (size_t i = 0; i < G_N_ELEMENTS(states); i++)
		if (strcmp(states[i], state) == 0)
			s->state = states[i];
}

void live_view_free(struct controller *c)
{
	if (c->live_open)
		g_hash_table_destroy(c->live_open);
	c->live_open = NULL;
	if (c->live_streams)
		g_hash_table_destroy(c->live_streams);
	c->live_streams = NULL;
}

/* seat_taken: someone is checked in at SEAT of ROOM now (the seat map is no secret for
 * that seat any more). */
static bool seat_taken(struct controller *c, const char *room, const char *seat)
{
	GPtrArray *tenders = g_ptr_array_new_with_free_func(g_free);
	GError *err = NULL;
	bool taken = false;
	if (route_seat_tenders(c->state, room, seat, clock_now_us(), tenders, &err) == 0)
		taken = tenders->len > 0;
	else
		g_clear_error(&err);
	g_ptr_array_free(tenders, TRUE);
	return taken;
}

/* live.streams {} -> {"streams": [{"room","stream","state"[,"seat"][,"audio"]}]}: what the
 * requester may watch, by room then stream. A seat's camera is listed only while
 * someone is checked in at that seat. */
static int handle_streams(struct controller *c, const struct request *req, json_t **result,
                          GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	GList *keys = g_list_sort(g_hash_table_get_keys(streams_of(c)), (GCompareFunc)strcmp);
	json_t *out = json_array();
	for (GList *k = keys; k; k = k->next) {
		const struct live_stream *s = g_hash_table_lookup(c->live_streams, k->data);
		char **parts = g_strsplit(k->data, "/", 2);
		if (!s->seat || seat_taken(c, parts[0], s->seat)) {
			json_t *o = json_pack("{s:s, s:s, s:s}", "room", parts[0], "stream", parts[1],
			                      "state", s->state);
			if (s->seat)
				json_object_set_new(o, "seat", json_string(s->seat));
			if (s->audio)
				json_object_set_new(o, "audio", json_true());
			json_array_append_new(out, o);
		}
		g_strfreev(parts);
	}
	g_list_free(keys);
	*result = json_pack("{s:o}", "streams", out);
	return 0;
}

/* find: the stream ROOM/STREAM the requester may watch, else NULL with *err (the same
 * "no such stream" for a seat nobody is checked in at as for one that does not exist:
 * the answer tells nothing of the seat map). */
static const struct live_stream *find(struct controller *c, const char *room, const char *stream,
                                      GError **err)
{
	char *key = g_strdup_printf("%s/%s", room, stream);
	const struct live_stream *s = g_hash_table_lookup(streams_of(c), key);
	g_free(key);
	if (!s || (s->seat && !seat_taken(c, room, s->seat))) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND,
		            "room %s has no stream %s to watch", room, stream);
		return NULL;
	}
	return s;
}

/* live.open {room, stream} -> {viewer, room, stream[, seat]}: a new live view's id. */
static int handle_open(struct controller *c, const struct request *req, json_t **result,
                       GError **err)
{
	static uint64_t counter;
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *room = msg_read_id(&r, "room", true);
	const char *stream = msg_read_id(&r, "stream", true);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	const struct live_stream *s = find(c, room, stream, err);
	if (!s)
		return -ENOENT;
	char viewer[64];
	snprintf(viewer, sizeof(viewer), "v%" G_GUINT64_FORMAT "-%08x", ++counter,
	         g_random_int());
	*result = json_pack("{s:s, s:s, s:s}", "viewer", viewer, "room", room, "stream", stream);
	if (s->seat)
		json_object_set_new(*result, "seat", json_string(s->seat));
	return 0;
}

/* live.close {room, stream, viewer[, reason]} -> {}: the view ended (recorded). */
static int handle_close(struct controller *c, const struct request *req, json_t **result,
                        GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	msg_read_id(&r, "room", true);
	msg_read_id(&r, "stream", true);
	const char *viewer = msg_read_string(&r, "viewer", true, 63);
	msg_read_string(&r, "reason", false, 200);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!*viewer) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INVALID, "member 'viewer': empty");
		return -EINVAL;
	}
	*result = json_object();
	return 0;
}

const struct request_handler live_request_handlers[] = {
    {"live.streams", LIVE_ROLES, handle_streams, false},
    {"live.open", LIVE_ROLES, handle_open, true},
    {"live.close", LIVE_ROLES, handle_close, true},
    {NULL, 0, NULL, false},
};

/* ---- the relay ---- */

/* The views open now: viewer id -> struct open_view (whose, of what), so that a view
 * whose browser vanished is recorded as closed by its viewer when the agent says so. */
struct open_view {
	char identity[64];
	char room[40], stream[40];
};

static GHashTable *open_views(struct controller *c)
{
	if (!c->live_open)
		c->live_open = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return c->live_open;
}

struct pending {
	char identity[64];
	char room[40], stream[40], viewer[64];
	live_view_answer_fn done;
	void *user;
};

static void record_close(struct controller *c, const char *identity, const char *room,
                         const char *stream, const char *viewer, const char *reason)
{
	json_t *args = json_pack("{s:s, s:s, s:s}", "room", room, "stream", stream, "viewer", viewer);
	json_t *res = NULL;
	GError *err = NULL;
	if (reason)
		json_object_set_new(args, "reason", json_string(reason));
	if (requests_run_local(c, identity, "live.close", args, &res, &err) != 0) {
		log_warnx("live view %s of %s/%s: close not recorded: %s", viewer, room, stream,
		          err->message);
		g_clear_error(&err);
	}
	json_decref(res);
	json_decref(args);
}

static void on_agent_answer(struct controller *c, const char *room, json_t *result,
                            const GError *err, void *user)
{
	struct pending *p = user;
	const char *answer = err ? NULL : json_string_value(json_object_get(result, "answer"));
	if (!answer) {
		GError *e = NULL;
		if (err) /* the agents' refusal or timeout already names the room */
			g_set_error_literal(&e, REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE, err->message);
		else
			g_set_error(&e, REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE,
			            "room %s: the agent sent no answer", room);
		log_info("live view %s of %s/%s by %s failed: %s", p->viewer, room, p->stream,
		         p->identity, e->message);
		record_close(c, p->identity, room, p->stream, p->viewer, e->message);
		p->done(p->user, p->viewer, NULL, e);
		g_error_free(e);
	} else {
		log_info("live view %s of %s/%s opened by %s", p->viewer, room, p->stream,
		         p->identity);
		struct open_view *o = g_new0(struct open_view, 1);
		g_strlcpy(o->identity, p->identity, sizeof(o->identity));
		g_strlcpy(o->room, room, sizeof(o->room));
		g_strlcpy(o->stream, p->stream, sizeof(o->stream));
		g_hash_table_replace(open_views(c), g_strdup(p->viewer), o);
		p->done(p->user, p->viewer, answer, NULL);
	}
	g_free(p);
}

/* ---- the recorded call on the same path (docs/call.md): /live/ROOM/call-SEAT/whep ---- */

/* call_offer: IDENTITY answers (or places) the call of SEAT in ROOM: the request
 * call.answer (role, seat, audit), then the browser's OFFER to the agent. */
static int call_offer(struct controller *c, const char *identity, const char *room,
                      const char *seat, const char *offer, live_view_answer_fn done,
                      void *user, GError **err)
{
	json_t *args = json_pack("{s:s, s:s}", "room", room, "seat", seat);
	json_t *res = NULL;
	int rc = requests_run_local(c, identity, "call.answer", args, &res, err);
	json_decref(args);
	if (rc == 0)
		rc = calls_relay_offer(c, room, seat, json_string_value(json_object_get(res, "call")),
		                       offer, done, user, err);
	json_decref(res);
	return rc;
}

/* call_close: IDENTITY hangs up CALL of SEAT in ROOM (the request call.hangup, audited);
 * a call that ended already (the seat hung up first) is done. */
static int call_close(struct controller *c, const char *identity, const char *room,
                      const char *seat, const char *call, GError **err)
{
	if (!calls_current(c, room, seat, call))
		return 0;
	json_t *args = json_pack("{s:s, s:s, s:s}", "room", room, "seat", seat, "reason",
	                         "the witness hung up");
	json_t *res = NULL;
	int rc = requests_run_local(c, identity, "call.hangup", args, &res, err);
	json_decref(args);
	json_decref(res);
	return rc;
}

int live_view_offer(struct controller *c, const char *identity, const char *room,
                    const char *stream, const char *offer, live_view_answer_fn done, void *user,
                    GError **err)
{
	if (g_str_has_prefix(stream, CALL_STREAM_PREFIX)) /* a call, addressed as a stream */
		return call_offer(c, identity, room, stream + strlen(CALL_STREAM_PREFIX), offer,
		                  done, user, err);
	json_t *args = json_pack("{s:s, s:s}", "room", room, "stream", stream);
	json_t *res = NULL;
	int rc = requests_run_local(c, identity, "live.open", args, &res, err);
	json_decref(args);
	if (rc)
		return rc;
	struct pending *p = g_new0(struct pending, 1);
	g_strlcpy(p->identity, identity, sizeof(p->identity));
	g_strlcpy(p->room, room, sizeof(p->room));
	g_strlcpy(p->stream, stream, sizeof(p->stream));
	g_strlcpy(p->viewer, json_string_value(json_object_get(res, "viewer")), sizeof(p->viewer));
	p->done = done;
	p->user = user;
	json_decref(res);
	json_t *cmd = json_pack("{s:s, s:s, s:s}", "stream", stream, "viewer", p->viewer, "sdp",
	                        offer);
	rc = agents_command(c, room, "live.offer", cmd, OFFER_TIMEOUT_MS, on_agent_answer, p);
	if (rc) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE,
		            "room %s: the offer was not sent (%s)", room, g_strerror(-rc));
		record_close(c, identity, room, stream, p->viewer, (*err)->message);
		g_free(p);
	}
	return rc;
}

int live_view_close(struct controller *c, const char *identity, const char *room,
                    const char *stream, const char *viewer, GError **err)
{
	if (g_str_has_prefix(stream, CALL_STREAM_PREFIX))
		return call_close(c, identity, room, stream + strlen(CALL_STREAM_PREFIX), viewer,
		                  err);
	struct open_view *o = g_hash_table_lookup(open_views(c), viewer);
	if (o && (strcmp(o->identity, identity) != 0 || strcmp(o->room, room) != 0 ||
	          strcmp(o->stream, stream) != 0)) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_DENIED,
		            "live view %s is not %s's view of %s/%s", viewer, identity, room, stream);
		return -EACCES;
	}
	if (!o) /* closed already (its browser went away first): nothing to record */
		return 0;
	json_t *args = json_pack("{s:s, s:s, s:s}", "room", room, "stream", stream, "viewer", viewer);
	json_t *res = NULL;
	int rc = requests_run_local(c, identity, "live.close", args, &res, err);
	json_decref(args);
	json_decref(res);
	if (rc)
		return rc;
	g_hash_table_remove(c->live_open, viewer);
	agents_command(c, room, "live.close", json_pack("{s:s}", "viewer", viewer),
	               OFFER_TIMEOUT_MS, NULL, NULL);
	log_info("live view %s of %s/%s closed by %s", viewer, room, stream, identity);
	return 0;
}

/* live.ended {stream, viewer, reason} from ROOM's agent: the view is recorded as closed,
 * as its viewer's, with the reason. */
static int event_live_ended(struct controller *c, const char *room, const struct msg_envelope *env,
                            json_t *body, GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	const char *stream = msg_read_id(&r, "stream", true);
	const char *viewer = msg_read_string(&r, "viewer", true, 63);
	const char *reason = msg_read_string(&r, "reason", true, 64);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	struct open_view *o = g_hash_table_lookup(open_views(c), viewer);
	if (!o || strcmp(o->room, room) != 0 || strcmp(o->stream, stream) != 0)
		return 0; /* closed already, or before a restart of the controller */
	char *why = g_strdup_printf("the agent ended it: %s", reason);
	log_info("live view %s of %s/%s (%s) ended: %s", viewer, room, stream, o->identity, reason);
	record_close(c, o->identity, room, stream, viewer, why);
	g_free(why);
	g_hash_table_remove(c->live_open, viewer);
	return 0;
}

const struct event_handler live_event_handlers[] = {
    {"live.ended", event_live_ended},
    {NULL, NULL},
};
