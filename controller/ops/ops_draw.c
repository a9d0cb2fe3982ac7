/* draw.commit, draw.show, draw.abandon, draw.run, draw.replace, draw.export: the seat
 * draw of a session, kept in state.db (the secret only in memory, ops_draw_vault.c)
 * and computed by the draw library (common/draw, docs/draw.md). */
#include "ops.h"
#include "ops_internal.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "hex.h"
#include "msg.h"
#include "site.h"

/* draw.run's confirmation: at least this many leading hex digits of the commitment. */
#define DRAW_CONFIRM_MIN 16

int ops_draw_run_args(const json_t *args, const char *entropy, const char *confirm, GError **err)
{
	if (!*entropy || strlen(entropy) != json_string_length(json_object_get(args, "entropy")))
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "args.entropy: 1 to %d bytes of text without NUL",
		                DRAW_MAX_ENTROPY);
	if (strlen(confirm) < DRAW_CONFIRM_MIN ||
	    strspn(confirm, "0123456789abcdef") != strlen(confirm))
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "args.confirm: the commitment as published, at least its first %d "
		                "lower-case hex digits",
		                DRAW_CONFIRM_MIN);
	return 0;
}

int ops_draw_secret_for_run(const char *commitment, const char *confirm, const char *draw,
                            const char *again, uint8_t secret[32], GError **err)
{
	if (!g_str_has_prefix(commitment, confirm))
		return ops_fail(
		    err, REQUEST_ERROR_CONFLICT, EINVAL,
		    "the commitment you confirmed (%s) is not the commitment of %s (%s)", confirm,
		    draw, commitment);
	if (!ops_draw_vault_get(commitment, secret))
		return ops_fail(
		    err, REQUEST_ERROR_CONFLICT, ESTALE,
		    "%s can no longer run: the controller restarted after its commitment "
		    "and the secret is gone; %s",
		    draw, again);
	return 0;
}

/* ops_draw_error: a draw library failure RC (reason in WHY) as a request error. */
static int ops_draw_error(GError **err, int rc, const char *what, const GString *why)
{
	switch (rc) {
	case -ENOSPC:
		return ops_fail(err, REQUEST_ERROR_CONFLICT, ENOSPC, "%s: infeasible: %s", what,
		                why->str);
	case -EINVAL:
	case -ENOENT:
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "%s: %s", what, why->str);
	default:
		return ops_fail(err, REQUEST_ERROR_INTERNAL, -rc, "%s: %s", what,
		                why->len ? why->str : g_strerror(-rc));
	}
}

/* ops_draw_venues: the venues chosen for the tenders of SESSION (TENDERS, ids) into *OUT
 * (a new array of venue ids, sorted), or NULL when no tender has chosen venues (the draw
 * covers every room). The seat draw seats a session over one set of rooms, so tenders
 * that chose different venues (or some none) are refused (docs/venues.md). */
static int ops_draw_venues(struct state *st, const char *session, const json_t *tenders,
                           json_t **out, GError **err)
{
	GString *each = g_string_new(NULL);
	json_t *first = NULL, *v;
	bool differ = false;
	size_t i;
	int rc = 0;

	*out = NULL;
	json_array_foreach(tenders, i, v)
	{
		json_t *rows = NULL, *ids = json_array(), *w;
		size_t j;
		json_t *pending = NULL;
		if (state_venue_selection_latest(st, json_string_value(v), "committed", &pending,
		                                 NULL) == 0) {
			rc = ops_fail(
			    err, REQUEST_ERROR_CONFLICT, EBUSY,
			    "a venue draw of tender %s is waiting for its run (commitment "
			    "%.16s): a supervisor runs it (venue run) before the seat draw",
			    json_string_value(v),
			    json_string_value(json_object_get(pending, "commitment")));
			json_decref(pending);
			json_decref(ids);
			break;
		}
		rc = state_tender_venues(st, json_string_value(v), &rows, err);
		if (rc) {
			json_decref(ids);
			break;
		}
		json_array_foreach(rows, j, w) json_array_append(ids, json_object_get(w, "venue"));
		char *text = json_dumps(ids, JSON_COMPACT);
		g_string_append_printf(each, "%s%s: %s", i ? "; " : "", json_string_value(v),
		                       json_array_size(ids) ? text : "none");
		free(text);
		if (!first)
			first = json_incref(ids);
		else if (!json_equal(first, ids))
			differ = true;
		json_decref(ids);
		json_decref(rows);
	}
	if (!rc && differ)
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EINVAL,
		              "the tenders of session \"%s\" chose different venues (%s): one "
		              "seat draw seats a session over one set of rooms; choose the same "
		              "venues for each tender of the session, or hold them in separate "
		              "sessions",
		              session, each->str);
	if (!rc && first && json_array_size(first))
		*out = json_incref(first);
	json_decref(first);
	g_string_free(each, TRUE);
	return rc;
}

/* ops_draw_room_at: whether ROOM (id) of SITE is at one of VENUES (ids). */
static bool ops_draw_room_at(const struct site *site, const char *room, const json_t *venues)
{
	const struct site_room *r = site_room_find(site, room);
	json_t *v;
	size_t i;
	json_array_foreach(venues, i, v)
	{
		const struct site_venue *venue = site_venue_find(site, json_string_value(v));
		if (r && venue && site_room_in_venue(site, r, venue))
			return true;
	}
	return false;
}

/* ops_draw_inputs: the draw inputs of SESSION from state: its site rooms that have
 * seats (the expert rooms only of the venues its tenders chose, when they chose some),
 * its tenders and their committee members. */
static int ops_draw_inputs(struct state *st, const char *session, struct draw_inputs **out,
                           GError **err)
{
	json_t *rooms = NULL, *tenders = NULL, *members = NULL, *venues = NULL, *in, *v;
	struct site *site = NULL;
	GString *why = g_string_new(NULL);
	size_t i;
	int rc;

	rc = state_site_rooms(st, &rooms, err);
	if (!rc)
		rc = state_tender_list(st, session, &tenders, err);
	if (!rc)
		rc = state_committee_list(st, session, NULL, &members, err);
	if (!rc)
		rc = ops_draw_venues(st, session, tenders, &venues, err);
	if (!rc && venues)
		rc = state_site_load(st, &site, err);
	if (rc)
		goto out;
	if (json_array_size(members) == 0) {
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, ENODATA,
		              "session \"%s\" has no committee members to seat", session);
		goto out;
	}
	in = json_pack("{s:i, s:[], s:[], s:[]}", "algorithm", DRAW_ALGORITHM_VERSION, "rooms",
	               "tenders", "persons");
	json_array_foreach(rooms, i, v)
	{
		/* only expert and tenderer rooms are seated by the draw; the watchers' rooms
		 * (witness, supervision, draw) are entered by their own staff */
		const char *kind = json_string_value(json_object_get(v, "kind"));
		bool drawn = g_strcmp0(kind, "expert") == 0 || g_strcmp0(kind, "tenderer") == 0;
		/* chosen venues: their expert rooms only (representatives sit where they did) */
		if (drawn && venues && g_strcmp0(kind, "expert") == 0)
			drawn = ops_draw_room_at(site, json_string_value(json_object_get(v, "id")),
			                         venues);
		if (drawn && json_array_size(json_object_get(v, "seats")))
			json_array_append(json_object_get(in, "rooms"), v);
	}
	json_array_foreach(tenders, i, v)
	    json_array_append_new(json_object_get(in, "tenders"), json_pack("{s:O}", "id", v));
	json_array_foreach(members, i, v) json_array_append_new(
	    json_object_get(in, "persons"),
	    json_pack("{s:O, s:O, s:O}", "id", json_object_get(v, "person"), "tender",
	              json_object_get(v, "tender"), "role", json_object_get(v, "role")));
	rc = draw_inputs_parse(in, out, why);
	json_decref(in);
	if (rc)
		rc = ops_draw_error(err, rc, "draw inputs", why);
out:
	json_decref(rooms);
	json_decref(tenders);
	json_decref(members);
	json_decref(venues);
	site_free(site);
	g_string_free(why, TRUE);
	return rc;
}

static int ops_session_open(struct state *st, const char *sid, GError **err)
{
	struct state_session session;
	int rc = state_session_get(st, sid, &session, err);

	if (!rc && strcmp(session.state, "open"))
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EPERM, "session \"%s\" is %s", sid,
		              session.state);
	return rc;
}

/* ops_draw_secret_known: whether the secret of SD's commitment is available: in the
 * memory of this controller, or (a database from before secrets left it) in state. */
static bool ops_draw_secret_known(const struct state_draw *sd)
{
	uint8_t secret[DRAW_SECRET_LEN];
	bool known = ops_draw_vault_get(sd->commitment, secret) || sd->secret[0];

	OPENSSL_cleanse(secret, sizeof(secret));
	return known;
}

/* ops_draw_ended: what the archives keep of a commitment that ended without a run. */
static json_t *ops_draw_ended(const struct state_draw *sd, const char *by, const char *reason,
                              int64_t now)
{
	return json_pack("{s:s, s:i, s:s, s:s, s:s, s:I, s:s, s:s, s:I}", "session", sd->session,
	                 "algorithm", sd->algorithm, "commitment", sd->commitment, "input_hash",
	                 sd->input_hash, "committed_by", sd->committed_by, "committed_at",
	                 (json_int_t)sd->committed_at, "ended_by", by, "reason", reason, "ended_at",
	                 (json_int_t)now);
}

/* ops_draw_abandon_lost: drop SD, a commitment whose secret this controller no longer
 * holds (it restarted since the commit), into *ENDED for the archives. */
static int ops_draw_abandon_lost(struct state *st, const struct state_draw *sd, json_t **ended,
                                 GError **err)
{
	int rc = state_draw_delete_committed(st, sd->session, err);

	if (!rc)
		*ended =
		    ops_draw_ended(sd, "controller",
		                   "the controller restarted after this commitment; its secret "
		                   "was held only in memory and is gone, so it can never run",
		                   g_get_real_time());
	return rc;
}

int ops_draw_commit(struct state *st, const struct request *req, json_t **result, GError **err)
{
	json_t *abandoned = NULL;
	struct msg_reader r;
	struct state_draw sd = {0};
	struct draw_inputs *in = NULL;
	struct draw *d = NULL;
	GString *why = g_string_new(NULL);
	uint8_t hash[DRAW_HASH_LEN], secret[DRAW_SECRET_LEN];
	const char *sid;
	int rc;

	msg_reader_init(&r, req->args, "args");
	sid = msg_read_id(&r, "session", true);
	rc = msg_reader_finish(&r, err);
	if (rc)
		goto out;
	rc = state_begin(st, err);
	if (rc)
		goto out;
	rc = ops_session_open(st, sid, err);
	if (!rc && state_draw_get(st, sid, &sd, NULL) == 0) {
		if (sd.run || ops_draw_secret_known(&sd))
			rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EEXIST,
			              "session \"%s\" already has a draw (%s)", sid,
			              sd.run ? "it has run"
			                     : "committed, waiting for its run; to start over, "
			                       "draw abandon it with a reason");
		else
			/* the controller restarted since that commit: its secret is gone */
			rc = ops_draw_abandon_lost(st, &sd, &abandoned, err);
	}
	if (!rc)
		rc = ops_draw_inputs(st, sid, &in, err);
	if (!rc) {
		rc = draw_commit(in, NULL, &d, why);
		if (rc)
			rc = ops_draw_error(err, rc, "draw commit", why);
	}
	if (rc)
		goto out_end;

	state_draw_clear(&sd);
	g_strlcpy(sd.session, sid, sizeof(sd.session));
	sd.algorithm = in->algorithm;
	sd.input = draw_inputs_canonical(in);
	draw_get_input_hash(d, hash);
	hex_encode(hash, DRAW_HASH_LEN, sd.input_hash);
	draw_get_secret(d, secret);
	sd.secret[0] = '\0'; /* never at rest: the secret stays in memory */
	draw_get_commitment(d, hash);
	hex_encode(hash, DRAW_HASH_LEN, sd.commitment);
	sd.committed_at = g_get_real_time();
	g_strlcpy(sd.committed_by, req->requester, sizeof(sd.committed_by));
	rc = state_draw_add(st, &sd, err);
	if (!rc) {
		*result = json_pack("{s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "session", sid,
		                    "algorithm", sd.algorithm, "input_hash", sd.input_hash,
		                    "commitment", sd.commitment, "committed_by", sd.committed_by,
		                    "committed_at", (json_int_t)sd.committed_at, "persons",
		                    (json_int_t)in->n_persons, "tenders", (json_int_t)in->n_tenders,
		                    "rooms", (json_int_t)in->n_rooms);
		if (abandoned)
			json_object_set_new(*result, "abandoned", g_steal_pointer(&abandoned));
	}

out_end:
	rc = ops_end(st, rc, err);
	if (rc && *result)
		g_clear_pointer(result, json_decref);
	if (!rc)
		ops_draw_vault_put(sd.commitment, secret);
	OPENSSL_cleanse(secret, sizeof(secret));
out:
	json_decref(abandoned);
	state_draw_clear(&sd);
	draw_free(d);
	draw_inputs_free(in);
	g_string_free(why, TRUE);
	return rc;
}

/* ops_draw_load: rebuild SESSION's committed draw from state.db and check the stored
 * commitment still matches what the stored secret and inputs give. */
static int ops_draw_load(struct state *st, const struct state_draw *sd, struct draw **out,
                         GError **err)
{
	struct draw_inputs *in = NULL;
	GString *why = g_string_new(NULL);
	uint8_t secret[DRAW_SECRET_LEN], commitment[DRAW_HASH_LEN];
	char hex[2 * DRAW_HASH_LEN + 1];
	json_t *j;
	int rc;

	if (sd->run) {
		j = json_loads(sd->record ? sd->record : "", 0, NULL);
		rc = j ? draw_record_load(j, out, why) : -EBADMSG;
		json_decref(j);
		if (rc)
			rc = ops_fail(err, REQUEST_ERROR_INTERNAL, EBADMSG,
			              "state database: the draw record of session %s is damaged: "
			              "%s",
			              sd->session, why->str);
		goto out;
	}
	j = json_loads(sd->input, 0, NULL);
	rc = j ? draw_inputs_parse(j, &in, why) : -EBADMSG;
	json_decref(j);
	if (!rc && !ops_draw_vault_get(sd->commitment, secret))
		rc = hex_decode_lower(sd->secret, secret, DRAW_SECRET_LEN);
	if (!rc)
		rc = draw_commit(in, secret, out, why);
	if (!rc) {
		draw_get_commitment(*out, commitment);
		hex_encode(commitment, DRAW_HASH_LEN, hex);
		if (strcmp(hex, sd->commitment)) {
			draw_free(*out);
			*out = NULL;
			rc = -EBADMSG;
			g_string_assign(why, "the commitment does not match");
		}
	}
	if (rc)
		rc = ops_fail(err, REQUEST_ERROR_INTERNAL, EBADMSG,
		              "state database: the draw of session %s is damaged: %s", sd->session,
		              why->str);
	OPENSSL_cleanse(secret, sizeof(secret));
out:
	draw_inputs_free(in);
	g_string_free(why, TRUE);
	return rc;
}

static json_t *ops_draw_room_counts(const struct draw *d)
{
	const struct draw_inputs *in = draw_get_inputs(d);
	size_t *counts = g_new0(size_t, in->n_rooms ? in->n_rooms : 1);
	json_t *rooms = json_array();

	draw_room_counts(d, counts);
	for (size_t i = 0; i < in->n_rooms; i++)
		json_array_append_new(
		    rooms, json_pack("{s:s, s:s, s:I, s:I}", "room", in->rooms[i].id, "kind",
		                     in->rooms[i].kind == DRAW_ROOM_EXPERT ? "expert" : "tenderer",
		                     "seats", (json_int_t)in->rooms[i].n_seats, "occupied",
		                     (json_int_t)counts[i]));
	g_free(counts);
	return rooms;
}

static int ops_draw_seat_all(struct state *st, const struct draw *d, const char *sid, int64_t now,
                             GError **err)
{
	const struct draw_inputs *in = draw_get_inputs(d);
	int rc = 0;

	for (size_t i = 0; i < in->n_persons && !rc; i++) {
		struct state_assignment a = {0};
		const char *room, *seat;

		rc = draw_seat_of(d, in->persons[i].id, &room, &seat);
		if (rc)
			return ops_fail(err, REQUEST_ERROR_INTERNAL, -rc,
			                "the draw left person %s without a seat",
			                in->persons[i].id);
		g_strlcpy(a.session, sid, sizeof(a.session));
		g_strlcpy(a.person, in->persons[i].id, sizeof(a.person));
		g_strlcpy(a.tender, in->persons[i].tender, sizeof(a.tender));
		g_strlcpy(a.room, room, sizeof(a.room));
		g_strlcpy(a.seat, seat, sizeof(a.seat));
		rc = state_assignment_add(st, &a, now, err);
	}
	return rc;
}

static char *ops_draw_record_text(const struct draw *d)
{
	json_t *rec = draw_record_export(d);
	char *text = json_dumps(rec, JSON_COMPACT);

	json_decref(rec);
	return text;
}

int ops_draw_run(struct state *st, const struct request *req, json_t **result, GError **err)
{
	struct msg_reader r;
	struct state_draw sd = {0};
	struct draw *d = NULL;
	GString *why = g_string_new(NULL);
	uint8_t seed[DRAW_HASH_LEN];
	char seed_hex[2 * DRAW_HASH_LEN + 1], *record = NULL;
	const char *sid, *entropy, *confirm;
	int64_t now = g_get_real_time();
	int rc;

	msg_reader_init(&r, req->args, "args");
	sid = msg_read_id(&r, "session", true);
	entropy = msg_read_string(&r, "entropy", true, DRAW_MAX_ENTROPY);
	confirm = msg_read_string(&r, "confirm", true, 2 * DRAW_HASH_LEN);
	rc = msg_reader_finish(&r, err);
	if (rc)
		goto out;
	if (!*entropy || !g_utf8_validate(entropy, -1, NULL)) {
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		              "args.entropy: must be non-empty UTF-8 text");
		goto out;
	}
	if (strlen(confirm) < DRAW_CONFIRM_MIN ||
	    strspn(confirm, "0123456789abcdef") != strlen(confirm)) {
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		              "args.confirm: the commitment as published, at least its first %d "
		              "lower-case hex digits",
		              DRAW_CONFIRM_MIN);
		goto out;
	}
	rc = state_begin(st, err);
	if (rc)
		goto out;
	rc = ops_session_open(st, sid, err);
	if (!rc) {
		rc = state_draw_get(st, sid, &sd, NULL);
		if (rc == -ENOENT)
			rc = ops_fail(err, REQUEST_ERROR_CONFLICT, ENOENT,
			              "session \"%s\" has no committed draw: run draw commit "
			              "first",
			              sid);
		else if (rc)
			rc = ops_fail(err, REQUEST_ERROR_INTERNAL, EIO, "cannot read the draw");
		else if (sd.run)
			rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EALREADY,
			              "the draw of session \"%s\" has already run", sid);
		else if (!g_str_has_prefix(sd.commitment, confirm))
			rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EPERM,
			              "the commitment you confirmed (%s) is not the commitment of "
			              "session \"%s\" (%s): do not enter entropy; report it",
			              confirm, sid, sd.commitment);
		else if (!ops_draw_secret_known(&sd))
			rc = ops_fail(err, REQUEST_ERROR_CONFLICT, ENOKEY,
			              "the commitment %s of session \"%s\" can no longer run: the "
			              "controller restarted since it was made and its secret, held "
			              "only in memory, is gone. An operator runs draw commit again "
			              "(the archives record this one as abandoned)",
			              sd.commitment, sid);
	}
	if (!rc)
		rc = ops_draw_load(st, &sd, &d, err);
	if (!rc) {
		rc = draw_run(d, entropy, why);
		if (rc)
			rc = ops_draw_error(err, rc, "draw run", why);
	}
	if (!rc)
		rc = ops_draw_seat_all(st, d, sid, now, err);
	if (!rc) {
		draw_get_seed(d, seed);
		hex_encode(seed, DRAW_HASH_LEN, seed_hex);
		record = ops_draw_record_text(d);
		rc = state_draw_mark_run(st, sid, entropy, seed_hex, record, req->requester, now,
		                         err);
	}
	rc = ops_end(st, rc, err);
	if (!rc) {
		uint8_t eh[DRAW_HASH_LEN];
		char eh_hex[2 * DRAW_HASH_LEN + 1];

		SHA256((const unsigned char *)entropy, strlen(entropy), eh);
		hex_encode(eh, DRAW_HASH_LEN, eh_hex);
		ops_draw_vault_forget(sd.commitment); /* revealed in the record from now on */
		*result = json_pack(
		    "{s:s, s:i, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:o}", "session",
		    sid, "algorithm", sd.algorithm, "commitment", sd.commitment, "input_hash",
		    sd.input_hash, "committed_by", sd.committed_by, "committed_at",
		    (json_int_t)sd.committed_at, "witness", req->requester, "confirmed", confirm,
		    "entropy", entropy, "entropy_hash", eh_hex, "run_at", (json_int_t)now, "seated",
		    (json_int_t)draw_get_inputs(d)->n_persons, "rooms", ops_draw_room_counts(d));
	}
out:
	free(record);
	state_draw_clear(&sd);
	draw_free(d);
	g_string_free(why, TRUE);
	return rc;
}

/* ops_draw_member: PERSON's role in TENDER's committee into *ROLE. */
static int ops_draw_member(struct state *st, const struct state_tender *t, const char *person,
                           enum draw_role *role, GError **err)
{
	json_t *members = NULL, *v;
	size_t i;
	int rc = state_committee_list(st, t->session, t->id, &members, err);

	if (rc)
		return rc;
	rc = ops_fail(err, REQUEST_ERROR_NOT_FOUND, ENOENT,
	              "person \"%s\" is not in the committee of tender %s (import them with "
	              "committee import first)",
	              person, t->id);
	json_array_foreach(members, i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "person")), person) == 0) {
			g_clear_error(err);
			*role = strcmp(json_string_value(json_object_get(v, "role")), "expert")
			            ? DRAW_ROLE_TENDERER
			            : DRAW_ROLE_EXPERT;
			rc = 0;
		}
	}
	json_decref(members);
	return rc;
}

int ops_draw_replace(struct state *st, const struct request *req, json_t **result, GError **err)
{
	struct msg_reader r;
	struct state_tender t;
	struct state_draw sd = {0};
	struct draw_person p = {0};
	struct draw *d = NULL;
	GString *why = g_string_new(NULL);
	const char *tid, *pid, *replaces, *room, *seat;
	char *record = NULL;
	int64_t now = g_get_real_time();
	size_t counter = 0;
	int rc;

	msg_reader_init(&r, req->args, "args");
	tid = msg_read_id(&r, "tender", true);
	pid = msg_read_id(&r, "person", true);
	replaces = msg_read_id(&r, "replaces", false);
	rc = msg_reader_finish(&r, err);
	if (rc)
		goto out;
	rc = state_begin(st, err);
	if (rc)
		goto out;
	rc = state_tender_get(st, tid, &t, err);
	if (!rc)
		rc = ops_session_open(st, t.session, err);
	if (!rc) {
		rc = state_draw_get(st, t.session, &sd, NULL);
		if (rc || !sd.run)
			rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EPERM,
			              "the draw of session \"%s\" has not run: a replacement "
			              "needs a run draw",
			              t.session);
	}
	if (!rc)
		rc = ops_draw_member(st, &t, pid, &p.role, err);
	if (!rc)
		rc = ops_draw_load(st, &sd, &d, err);
	if (!rc && draw_seat_of(d, pid, &room, &seat) != -ENOENT)
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EEXIST,
		              "person \"%s\" already took part in the draw of session %s", pid,
		              t.session);
	if (!rc) {
		g_strlcpy(p.id, pid, sizeof(p.id));
		g_strlcpy(p.tender, tid, sizeof(p.tender));
		rc = draw_replace(d, &p, replaces, why);
		if (rc)
			rc = ops_draw_error(err, rc, "draw replace", why);
	}
	if (!rc && replaces)
		rc = state_assignment_withdraw(st, t.session, replaces, err);
	if (!rc) {
		struct state_assignment a = {0};

		counter = draw_n_replacements(d);
		rc = draw_seat_of(d, pid, &room, &seat);
		if (rc)
			rc = ops_fail(err, REQUEST_ERROR_INTERNAL, -rc,
			              "the replacement left person %s without a seat", pid);
		g_strlcpy(a.session, t.session, sizeof(a.session));
		g_strlcpy(a.person, pid, sizeof(a.person));
		g_strlcpy(a.tender, tid, sizeof(a.tender));
		g_strlcpy(a.room, rc ? "" : room, sizeof(a.room));
		g_strlcpy(a.seat, rc ? "" : seat, sizeof(a.seat));
		a.replacement = (int)counter;
		if (!rc)
			rc = state_assignment_add(st, &a, now, err);
	}
	if (!rc) {
		record = ops_draw_record_text(d);
		rc = state_draw_set_record(st, t.session, record, err);
	}
	rc = ops_end(st, rc, err);
	if (!rc) {
		*result = json_pack("{s:s, s:s, s:s, s:I}", "session", t.session, "tender", tid,
		                    "person", pid, "replacement", (json_int_t)counter);
		if (replaces)
			json_object_set_new(*result, "replaces", json_string(replaces));
	}
out:
	free(record);
	state_draw_clear(&sd);
	draw_free(d);
	g_string_free(why, TRUE);
	return rc;
}

int ops_draw_export(struct state *st, const struct request *req, json_t **result, GError **err)
{
	struct msg_reader r;
	struct state_draw sd = {0};
	const char *sid;
	int rc, pending = 0, open = 0;

	msg_reader_init(&r, req->args, "args");
	sid = msg_read_id(&r, "session", true);
	rc = msg_reader_finish(&r, err);
	if (rc)
		return rc;
	rc = state_draw_get(st, sid, &sd, err);
	if (rc)
		return rc;
	if (!sd.run || !sd.record) {
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EPERM,
		              "the draw of session \"%s\" has not run yet", sid);
	} else if ((rc = state_draw_seal(st, sid, &pending, &open, err)) != 0) {
		/* err set */
	} else if (pending > 0 && open > 0) {
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EPERM,
		              "the seat map of session \"%s\" is sealed until check-in: %d "
		              "seated people have not checked in yet (the record is released "
		              "when everyone has, or when the session's last open tender closes; "
		              "draw show gives the commitment now)",
		              sid, pending);
	} else {
		*result = json_loads(sd.record, 0, NULL);
		if (!*result)
			rc = ops_fail(err, REQUEST_ERROR_INTERNAL, EBADMSG,
			              "state database: the draw record of session %s is damaged",
			              sid);
	}
	state_draw_clear(&sd);
	return rc;
}

/* ops_draw_current: SESSION's draw into *SD, with the request errors of draw.show and
 * draw.abandon. */
static int ops_draw_current(struct state *st, const char *sid, struct state_draw *sd, GError **err)
{
	int rc = state_draw_get(st, sid, sd, NULL);

	if (rc == -ENOENT)
		return ops_fail(err, REQUEST_ERROR_NOT_FOUND, ENOENT,
		                "session \"%s\" has no committed draw", sid);
	if (rc)
		return ops_fail(err, REQUEST_ERROR_INTERNAL, EIO, "cannot read the draw");
	return 0;
}

int ops_draw_show(struct state *st, const struct request *req, json_t **result, GError **err)
{
	struct msg_reader r;
	struct state_draw sd = {0};
	const char *sid;
	int rc;

	msg_reader_init(&r, req->args, "args");
	sid = msg_read_id(&r, "session", true);
	rc = msg_reader_finish(&r, err);
	if (rc)
		return rc;
	rc = ops_draw_current(st, sid, &sd, err);
	if (rc)
		return rc;
	*result = json_pack("{s:s, s:i, s:s, s:s, s:s, s:I, s:s, s:b}", "session", sid, "algorithm",
	                    sd.algorithm, "commitment", sd.commitment, "input_hash", sd.input_hash,
	                    "committed_by", sd.committed_by, "committed_at",
	                    (json_int_t)sd.committed_at, "state", sd.run ? "run" : "committed",
	                    "runnable", !sd.run && ops_draw_secret_known(&sd));
	if (sd.run) {
		json_object_set_new(*result, "witness", json_string(sd.run_by));
		json_object_set_new(*result, "run_at", json_integer(sd.run_at));
	}
	state_draw_clear(&sd);
	return 0;
}

int ops_draw_abandon(struct state *st, const struct request *req, json_t **result, GError **err)
{
	struct msg_reader r;
	struct state_draw sd = {0};
	const char *sid, *reason;
	int rc;

	msg_reader_init(&r, req->args, "args");
	sid = msg_read_id(&r, "session", true);
	reason = msg_read_string(&r, "reason", true, 500);
	rc = msg_reader_finish(&r, err);
	if (rc)
		return rc;
	if (!*reason || !g_utf8_validate(reason, -1, NULL))
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "args.reason: say why the commitment is abandoned (UTF-8 text)");
	rc = state_begin(st, err);
	if (rc)
		return rc;
	rc = ops_draw_current(st, sid, &sd, err);
	if (!rc && sd.run)
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EALREADY,
		              "the draw of session \"%s\" has run: a run draw cannot be abandoned",
		              sid);
	if (!rc)
		rc = state_draw_delete_committed(st, sid, err);
	rc = ops_end(st, rc, err);
	if (!rc) {
		ops_draw_vault_forget(sd.commitment);
		*result = ops_draw_ended(&sd, req->requester, reason, g_get_real_time());
	}
	state_draw_clear(&sd);
	return rc;
}
