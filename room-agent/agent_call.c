/* The recorded call on the room agent (agent_call.h). */
#include "agent_call.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_media.h"
#include "call.h"
#include "cmd_reply.h"
#include "log.h"
#include "msg.h"
#include "outbox.h"
#include "recorder_config.h"

struct seat_call {
	struct agent_call *ac;
	char seat[MSG_ID_MAX + 1];
	char pending[64]; /* the call.offer command waiting for the answer, "" once answered */
	struct call *call;
};

#define FINISH_WAIT_US (4 * G_USEC_PER_SEC) /* the calls' last segments at a stop */

struct agent_call {
	struct agent *a;
	unsigned finishing; /* calls hung up whose recordings are not finished yet */
	GKeyFile *kf;      /* the agent's configuration (borrowed) */
	bool configured;   /* a [call] group */
	GHashTable *calls; /* seat -> struct seat_call */
};

static const struct call_events late_events;

/* seat_call_free: hang up SC's call (its last segments still reach the spool and the
 * shipper) and free SC. */
static void seat_call_free(gpointer p)
{
	struct seat_call *sc = p;
	call_rebind(sc->call, &late_events, sc->ac);
	sc->ac->finishing++;
	call_hangup(sc->call);
	g_free(sc);
}

/* setting: KEY of [call SEAT], else of [call]; NULL if neither (a new string). */
static char *setting(struct agent_call *ac, const char *seat, const char *key)
{
	char *group = g_strdup_printf("call %s", seat);
	char *v = g_key_file_get_string(ac->kf, group, key, NULL);
	g_free(group);
	return v ? v : g_key_file_get_string(ac->kf, "call", key, NULL);
}

/* check_fragment: the launch fragment KEY of GROUP parses. */
static int check_fragment(GKeyFile *kf, const char *group, const char *key, GError **err)
{
	char *frag = g_key_file_get_string(kf, group, key, NULL);
	if (!frag)
		return 0;
	GError *why = NULL;
	GstElement *bin = gst_parse_bin_from_description(frag, TRUE, &why);
	g_free(frag);
	if (!bin) {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "[%s] %s: GStreamer cannot parse it: %s", group, key,
		            why ? why->message : "?");
		g_clear_error(&why);
		return -EINVAL;
	}
	gst_object_unref(gst_object_ref_sink(bin));
	return 0;
}

/* recovered: a call's segment left open by a crash is spooled now: ship it. */
static void recovered(void *user, const struct spool_segment *seg)
{
	agent_media_segment_spooled(user);
}

struct agent_call *agent_call_new(struct agent *a, GError **err)
{
	GKeyFile *kf = config_keyfile(a->config);
	gchar **groups = g_key_file_get_groups(kf, NULL);
	int rc = 0;
	bool configured = false;
	for (gchar **g = groups; *g && !rc; g++) {
		if (strcmp(*g, "call") != 0 && !g_str_has_prefix(*g, "call "))
			continue;
		configured = true;
		if (g_str_has_prefix(*g, "call ") && !id_valid(*g + strlen("call "))) {
			g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
			            "[%s]: a seat id must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$", *g);
			rc = -EINVAL;
			break;
		}
		gst_init(NULL, NULL);
		gchar **keys = g_key_file_get_keys(kf, *g, NULL, NULL);
		for (gchar **k = keys; keys && *k && !rc; k++)
			if (strcmp(*k, "microphone") != 0 && strcmp(*k, "speaker") != 0 &&
			    strcmp(*k, "segment_seconds") != 0) {
				g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
				            "[%s] %s: unknown key (microphone, speaker, segment_seconds)",
				            *g, *k);
				rc = -EINVAL;
			}
		g_strfreev(keys);
		if (!rc)
			rc = check_fragment(kf, *g, "microphone", err);
		if (!rc)
			rc = check_fragment(kf, *g, "speaker", err);
		if (!rc && g_key_file_has_key(kf, *g, "segment_seconds", NULL)) {
			GError *why = NULL;
			gint v = g_key_file_get_integer(kf, *g, "segment_seconds", &why);
			if (why || v < 1 || v > 600) {
				g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
				            "[%s] segment_seconds: a whole number of seconds, 1..600", *g);
				rc = -EINVAL;
			}
			g_clear_error(&why);
		}
	}
	g_strfreev(groups);
	if (rc) {
		g_prefix_error(err, "%s: ", config_path(a->config));
		return NULL;
	}
	struct agent_call *ac = g_new0(struct agent_call, 1);
	ac->a = a;
	ac->kf = kf;
	ac->configured = configured;
	ac->calls = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, seat_call_free);
	struct spool *sp = agent_media_spool(a->media);
	if (sp)
		call_recover(sp, recovered, a->media);
	return ac;
}

void agent_call_free(struct agent_call *ac)
{
	if (!ac)
		return;
	g_hash_table_destroy(ac->calls); /* hangs up every call */
	/* their last segments are closed and spooled on the main loop: run it meanwhile */
	gint64 end = g_get_monotonic_time() + FINISH_WAIT_US;
	while (ac->finishing && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, TRUE);
	if (ac->finishing) {
		log_warnx("call: %u call(s) not finished at the stop: their last segments are "
		          "recovered at the next start",
		          ac->finishing);
		return; /* their callbacks may still come: ac stays */
	}
	g_free(ac);
}

/* call_ended: tell the controller the call at SEAT ended (REASON). */
static void call_ended(struct agent_call *ac, const char *seat, const char *reason)
{
	json_t *m = node_msg_new(ac->a->node, "call.ended");
	json_object_set_new(m, "seat", json_string(seat));
	json_object_set_new(m, "reason", json_string(reason));
	outbox_push(ac->a->outbox, ac->a->topic_event, m);
	json_decref(m);
}

static void on_answered(void *user, const char *answer, const GError *err)
{
	struct seat_call *sc = user;
	struct agent_call *ac = sc->ac;
	char id[64];
	g_strlcpy(id, sc->pending, sizeof(id));
	sc->pending[0] = '\0';
	if (err) {
		log_info("call: seat %s refused: %s", sc->seat, err->message);
		agent_cmd_reply(ac->a, id, NULL, err);
		g_hash_table_remove(ac->calls, sc->seat); /* hangs up, frees sc */
		return;
	}
	log_info("call: seat %s answered", sc->seat);
	json_t *res = json_pack("{s:s}", "answer", answer);
	agent_cmd_reply(ac->a, id, res, NULL);
	json_decref(res);
}

static void on_segment(void *user, const struct spool_segment *seg)
{
	struct seat_call *sc = user;
	log_debug("call: %s segment %" G_GINT64_FORMAT " spooled", seg->stream, seg->seq);
	agent_media_segment_spooled(sc->ac->a->media);
}

static void on_ended(void *user, const char *reason)
{
	struct seat_call *sc = user;
	struct agent_call *ac = sc->ac;
	char seat[MSG_ID_MAX + 1];
	g_strlcpy(seat, sc->seat, sizeof(seat));
	log_info("call: seat %s ended: %s", seat, reason);
	call_ended(ac, seat, reason); /* REASON belongs to the call, freed by the removal */
	g_hash_table_remove(ac->calls, seat);
}

/* Segments of a call that is hung up keep coming (its last ones): they need no seat. */
static void on_late_segment(void *user, const struct spool_segment *seg)
{
	struct agent_call *ac = user;
	agent_media_segment_spooled(ac->a->media);
}

static void on_finished(void *user)
{
	struct agent_call *ac = user;
	ac->finishing--;
}

static const struct call_events events = {on_answered, on_segment, on_ended, NULL};
static const struct call_events late_events = {NULL, on_late_segment, NULL, on_finished};


static int offer(struct agent_call *ac, const char *id, const char *seat, const char *sdp,
                 GError **err)
{
	if (!ac->configured) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "room %s has no call audio ([call] microphone=, speaker= in agent.conf)",
		            ac->a->room);
		return -ENODEV;
	}
	struct spool *sp = agent_media_spool(ac->a->media);
	if (!sp) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "room %s records nothing: a call is recorded, so it needs the media "
		            "spool ([stream NAME] groups)",
		            ac->a->room);
		return -ENODEV;
	}
	if (g_hash_table_contains(ac->calls, seat)) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID, "seat %s is in a call already", seat);
		return -EBUSY;
	}
	if (strlen(seat) > CALL_NAME_MAX - strlen("call-")) {
		/* the streams call-SEAT-witness must stay stream names (32 characters) */
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "seat %s: a seat id of more than %zu characters cannot be called", seat,
		            CALL_NAME_MAX - strlen("call-"));
		return -EINVAL;
	}
	char *mic = setting(ac, seat, "microphone"), *speaker = setting(ac, seat, "speaker");
	char *secs = setting(ac, seat, "segment_seconds");
	if (!mic || !speaker) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "seat %s has no call %s ([call] or [call %s] in agent.conf)", seat,
		            mic ? "speaker" : "microphone", seat);
		g_free(mic);
		g_free(speaker);
		g_free(secs);
		return -ENODEV;
	}
	struct seat_call *sc = g_new0(struct seat_call, 1);
	sc->ac = ac;
	g_strlcpy(sc->seat, seat, sizeof(sc->seat));
	g_strlcpy(sc->pending, id, sizeof(sc->pending));
	char name[CALL_NAME_MAX + 1];
	snprintf(name, sizeof(name), "call-%s", seat);
	struct call_params p = {.name = name,
	                        .microphone = mic,
	                        .speaker = speaker,
	                        .spool_dir = agent_media_dir(ac->a->media),
	                        .spool = sp,
	                        .segment_ms = secs ? (unsigned)atoi(secs) * 1000 : 4000};
	GError *why = NULL;
	int rc = call_start(&p, sdp, &events, sc, &sc->call, &why);
	g_free(mic);
	g_free(speaker);
	g_free(secs);
	if (rc) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID, "seat %s: %s", seat, why->message);
		g_error_free(why);
		g_free(sc);
		return rc;
	}
	g_hash_table_insert(ac->calls, sc->seat, sc);
	log_info("call: seat %s: answering the witness", seat);
	return -EINPROGRESS;
}

/* hangup: end the call at SEAT; its last segments still reach the spool. */
static bool hangup(struct agent_call *ac, const char *seat)
{
	struct seat_call *sc = g_hash_table_lookup(ac->calls, seat);
	if (!sc)
		return false;
	if (sc->pending[0]) { /* the controller waits for the answer: it will get none */
		GError *e = g_error_new(MSG_ERROR, MSG_ERROR_INVALID, "seat %s hung up", seat);
		agent_cmd_reply(ac->a, sc->pending, NULL, e);
		g_error_free(e);
	}
	g_hash_table_remove(ac->calls, seat);
	return true;
}

int agent_call_command(struct agent_call *ac, const char *command, const char *id, json_t *args,
                       json_t **result, GError **err)
{
	bool is_offer = strcmp(command, "call.offer") == 0;
	if (!ac || (!is_offer && strcmp(command, "call.hangup") != 0))
		return -ENOENT;
	struct msg_reader r;
	msg_reader_init(&r, args, "args");
	const char *seat = msg_read_id(&r, "seat", true);
	const char *sdp = is_offer ? msg_read_string(&r, "sdp", true, AGENT_CALL_SDP_MAX) : NULL;
	const char *reason = is_offer ? NULL : msg_read_string(&r, "reason", false, 200);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (is_offer)
		return offer(ac, id, seat, sdp, err);
	if (hangup(ac, seat))
		log_info("call: seat %s hung up by the controller%s%s", seat, reason ? ": " : "",
		         reason ? reason : "");
	*result = json_object(); /* hanging up what is gone already is done too */
	return 0;
}

bool agent_call_seat_hangup(struct agent_call *ac, const char *seat)
{
	if (!ac || !hangup(ac, seat))
		return false;
	log_info("call: seat %s hung up", seat);
	call_ended(ac, seat, "the seat hung up");
	return true;
}
