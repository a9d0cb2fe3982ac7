/* Venue selection: booking, the on-site draw and the second draw (venue_select.h). */
#include "venue_select.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "archives.h"
#include "clock.h"
#include "controller.h"
#include "hex.h"
#include "log.h"
#include "msg.h"
#include "ops.h"
#include "site.h"
#include "state.h"
#include "venue_draw.h"

#define TEXT_MAX 2000

static int cmp_json_string(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
	              json_string_value(*(json_t *const *)b));
}

/* Sorts ARR, an array of strings, in byte order. */
static void sort_strings(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = g_new0(json_t *, n ? n : 1);
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), cmp_json_string);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	g_free(v);
}

/* What every selection needs: TENDER open, its session's seat draw not committed yet (the
 * venues decide which rooms it covers), and the site (*SITE, new). */
static int selection_open(struct controller *c, const char *tender, struct state_tender *t,
                          struct site **site, GError **err)
{
	struct state_draw sd = {0};
	int rc = state_tender_get(c->state, tender, t, err);
	if (rc != 0)
		return rc;
	if (strcmp(t->state, "open") != 0)
		return ops_fail(err, REQUEST_ERROR_CONFLICT, EPERM, "tender %s is %s", tender,
		                t->state);
	if (state_draw_get(c->state, t->session, &sd, NULL) == 0) {
		state_draw_clear(&sd);
		return ops_fail(err, REQUEST_ERROR_CONFLICT, EBUSY,
		                "the seat draw of session %s is committed already: a tender's "
		                "venues are chosen before the seat draw, which covers their rooms",
		                t->session);
	}
	return state_site_load(c->state, site, err);
}

/* Whether VENUE of SITE has an expert room (else nobody could sit there). */
static bool venue_has_expert_room(const struct site *site, const struct site_venue *venue)
{
	for (size_t i = 0; i < site->n_rooms; i++)
		if (site->rooms[i].kind == SITE_ROOM_EXPERT &&
		    site_room_in_venue(site, &site->rooms[i], venue))
			return true;
	return false;
}

/* The argument KEY (an array of venue ids, already read as ARR) checked against SITE and
 * the venues CHOSEN for the tender already ([{venue}]): each a venue of the site with an
 * expert room, none twice, none chosen. A new sorted array of strings, or NULL with *ERR. */
static json_t *venue_list(const json_t *arr, const char *key, const struct site *site,
                          const json_t *chosen, GError **err)
{
	json_t *out = json_array(), *v, *w;
	size_t i, j;
	if (json_array_size(arr) == 0) {
		ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "args.%s: name at least one venue",
		         key);
		goto err_out;
	}
	json_array_foreach(arr, i, v)
	{
		const char *id = json_string_value(v);
		const struct site_venue *venue =
		    id && id_valid(id) ? site_venue_find(site, id) : NULL;
		if (!venue) {
			ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
			         "args.%s[%zu]: %s is not a venue of the site", key, i,
			         id && id_valid(id) ? id : "(not an identifier)");
			goto err_out;
		}
		if (!venue_has_expert_room(site, venue)) {
			ops_fail(
			    err, REQUEST_ERROR_INVALID, EINVAL,
			    "args.%s[%zu]: venue %s has no expert room: no expert could sit there",
			    key, i, id);
			goto err_out;
		}
		json_array_foreach(out, j, w) if (strcmp(json_string_value(w), id) == 0)
		{
			ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
			         "args.%s: venue %s named twice", key, id);
			goto err_out;
		}
		json_array_foreach(chosen, j, w)
		{
			if (strcmp(json_string_value(json_object_get(w, "venue")), id) == 0) {
				ops_fail(err, REQUEST_ERROR_CONFLICT, EEXIST,
				         "venue %s is chosen for this tender already (%s)", id,
				         json_string_value(json_object_get(w, "way")));
				goto err_out;
			}
		}
		json_array_append_new(out, json_string(id));
	}
	sort_strings(out);
	return out;
err_out:
	json_decref(out);
	return NULL;
}

/* The tender's chosen venue ids, as a plain array of strings. */
static json_t *chosen_ids(struct controller *c, const char *tender)
{
	json_t *rows = NULL, *out = json_array(), *v;
	size_t i;
	if (state_tender_venues(c->state, tender, &rows, NULL) == 0)
		json_array_foreach(rows, i, v) json_array_append(out, json_object_get(v, "venue"));
	json_decref(rows);
	return out;
}

/* The tender's pending venue draw (committed, not run) into *OUT, or NULL. */
static json_t *pending_draw(struct controller *c, const char *tender)
{
	json_t *d = NULL;
	if (state_venue_selection_latest(c->state, tender, "committed", &d, NULL) != 0)
		return NULL;
	return d;
}

/* venue.book {tender, venues, reason?}: venues booked in advance (提前预约). */
static int handle_book(struct controller *c, const struct request *req, json_t **result,
                       GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *tender = msg_read_id(&r, "tender", true);
	json_t *arg = msg_read_array(&r, "venues", true, 100);
	const char *reason = msg_read_string(&r, "reason", false, TEXT_MAX);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	struct state_tender t;
	struct site *site = NULL;
	json_t *chosen = NULL, *venues = NULL, *pending = NULL;
	int64_t id = 0, now = clock_now_us();
	int rc = selection_open(c, tender, &t, &site, err);
	if (rc == 0 && (pending = pending_draw(c, tender)) != NULL)
		rc =
		    ops_fail(err, REQUEST_ERROR_CONFLICT, EBUSY,
		             "a venue draw of tender %s is waiting for its run (commitment %.16s): "
		             "book after it has run",
		             tender, json_string_value(json_object_get(pending, "commitment")));
	if (rc == 0)
		rc = state_tender_venues(c->state, tender, &chosen, err);
	if (rc == 0 && !(venues = venue_list(arg, "venues", site, chosen, err)))
		rc = -EINVAL;
	if (rc != 0)
		goto out;
	char *text = json_dumps(venues, JSON_COMPACT);
	struct state_venue_selection s = {.tender = tender,
	                                  .way = "booking",
	                                  .venues = text,
	                                  .made_by = req->requester,
	                                  .made_at = now,
	                                  .reason = reason && *reason ? reason : NULL,
	                                  .state = "booked"};
	if ((rc = state_begin(c->state, err)) == 0) {
		rc = state_venue_selection_add(c->state, &s, &id, err);
		size_t i;
		json_t *v;
		json_array_foreach(venues, i, v)
		{
			if (rc == 0)
				rc = state_tender_venue_add(c->state, tender, json_string_value(v),
				                            id, "booked", err);
		}
		if (rc == 0)
			rc = state_commit(c->state, err);
		if (rc != 0)
			state_rollback(c->state);
	}
	free(text);
	if (rc != 0)
		goto out;
	json_t *body = json_pack("{s:s, s:O, s:s, s:I}", "tender", tender, "venues", venues,
	                         "booked_by", req->requester, "booked_at", (json_int_t)now);
	if (reason && *reason)
		json_object_set_new(body, "reason", json_string(reason));
	archives_event(c, tender, now, "venue.booked", req->requester, json_deep_copy(body));
	json_object_set_new(body, "chosen", chosen_ids(c, tender));
	*result = body;
	log_info("tender %s: venues booked by %s", tender, req->requester);
out:
	json_decref(pending);
	json_decref(venues);
	json_decref(chosen);
	site_free(site);
	return rc;
}

/* Commits a venue draw of TENDER from the inputs IN (round, candidates, count, excluded):
 * the secret into the vault, the row, the venue.commit event; a pending draw PENDING (or
 * NULL) ends first. FAILED (the venues that failed, or NULL) and REASON go into the event
 * for the reader. */
static int commit_draw(struct controller *c, const struct request *req, const char *tender,
                       const char *way, json_t *inputs, json_t *pending, const json_t *failed,
                       const char *reason, json_t **result, GError **err)
{
	struct venue_inputs *in = NULL;
	GString *why = g_string_new(NULL);
	uint8_t secret[DRAW_SECRET_LEN], ih[DRAW_HASH_LEN], com[DRAW_HASH_LEN];
	char ih_hex[2 * DRAW_HASH_LEN + 1], com_hex[2 * DRAW_HASH_LEN + 1];
	int64_t id = 0, now = clock_now_us();
	int rc = venue_inputs_parse(inputs, &in, why);
	if (rc != 0) {
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "venue draw: %s", why->str);
		goto out;
	}
	if (RAND_bytes(secret, sizeof(secret)) != 1) {
		rc = ops_fail(err, REQUEST_ERROR_INTERNAL, EIO, "no random bytes for the secret");
		goto out;
	}
	venue_inputs_hash(in, ih);
	draw_commitment_compute(secret, ih, com);
	hex_encode(ih, sizeof(ih), ih_hex);
	hex_encode(com, sizeof(com), com_hex);
	char *canonical = venue_inputs_canonical(in);
	char *candidates = json_dumps(json_object_get(inputs, "candidates"), JSON_COMPACT);
	struct state_venue_selection s = {.tender = tender,
	                                  .way = way,
	                                  .round = in->round,
	                                  .venues = candidates,
	                                  .inputs = canonical,
	                                  .input_hash = ih_hex,
	                                  .commitment = com_hex,
	                                  .made_by = req->requester,
	                                  .made_at = now,
	                                  .reason = reason,
	                                  .state = "committed"};
	if ((rc = state_begin(c->state, err)) == 0) {
		if (pending)
			rc = state_venue_selection_end(
			    c->state, json_integer_value(json_object_get(pending, "id")), err);
		if (rc == 0 && failed)
			rc = state_tender_venue_drop_drawn(c->state, tender, err);
		if (rc == 0)
			rc = state_venue_selection_add(c->state, &s, &id, err);
		if (rc == 0)
			rc = state_commit(c->state, err);
		if (rc != 0)
			state_rollback(c->state);
	}
	g_free(canonical);
	free(candidates);
	if (rc != 0)
		goto out;
	if (pending) {
		/* the replaced commitment ends in the archive, so it lists every one */
		const char *old = json_string_value(json_object_get(pending, "commitment"));
		archives_event(
		    c, tender, now, "venue.commitment_ended", req->requester,
		    json_pack(
		        "{s:s, s:s, s:O, s:O, s:s, s:s, s:I}", "tender", tender, "commitment", old,
		        "committed_by", json_object_get(pending, "made_by"), "committed_at",
		        json_object_get(pending, "made_at"), "ended_by", req->requester, "reason",
		        "replaced by a new commitment before it ran", "ended_at", (json_int_t)now));
		ops_draw_vault_forget(old);
	}
	ops_draw_vault_put(com_hex, secret);
	json_t *body = json_pack(
	    "{s:s, s:s, s:I, s:i, s:s, s:s, s:O, s:I, s:O, s:s, s:I}", "tender", tender, "way", way,
	    "round", (json_int_t)in->round, "algorithm", VENUE_DRAW_ALGORITHM, "commitment",
	    com_hex, "input_hash", ih_hex, "candidates", json_object_get(inputs, "candidates"),
	    "count", (json_int_t)in->count, "excluded", json_object_get(inputs, "excluded"),
	    "committed_by", req->requester, "committed_at", (json_int_t)now);
	if (failed)
		json_object_set(body, "failed", (json_t *)failed);
	if (reason)
		json_object_set_new(body, "reason", json_string(reason));
	archives_event(c, tender, now, "venue.commit", req->requester, json_deep_copy(body));
	*result = body;
	log_info("tender %s: venue draw (round %" G_GINT64_FORMAT ") committed by %s: %.16s",
	         tender, in->round, req->requester, com_hex);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	venue_inputs_free(in);
	g_string_free(why, TRUE);
	return rc;
}

/* venue.draw {tender, from, count}: the on-site draw (现场抽取), committed by an operator. */
static int handle_draw(struct controller *c, const struct request *req, json_t **result,
                       GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *tender = msg_read_id(&r, "tender", true);
	json_t *from = msg_read_array(&r, "from", true, VENUE_DRAW_MAX_VENUES);
	int64_t count = msg_read_int(&r, "count", true, 1, VENUE_DRAW_MAX_VENUES, 0);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	struct state_tender t;
	struct site *site = NULL;
	json_t *chosen = NULL, *candidates = NULL, *ran = NULL, *pending = NULL;
	int rc = selection_open(c, tender, &t, &site, err);
	if (rc == 0 && state_venue_selection_latest(c->state, tender, "run", &ran, NULL) == 0)
		rc = ops_fail(
		    err, REQUEST_ERROR_CONFLICT, EEXIST,
		    "the venues of tender %s were drawn already (round %" JSON_INTEGER_FORMAT
		    ", witness %s): if that draw failed, draw again with venue redraw",
		    tender, json_integer_value(json_object_get(ran, "round")),
		    json_string_value(json_object_get(ran, "witness")));
	if (rc == 0)
		rc = state_tender_venues(c->state, tender, &chosen, err);
	if (rc == 0 && !(candidates = venue_list(from, "from", site, chosen, err)))
		rc = -EINVAL;
	if (rc == 0 && (size_t)count > json_array_size(candidates))
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		              "args.count: %" G_GINT64_FORMAT
		              " venues wanted but only %zu to draw from",
		              count, json_array_size(candidates));
	if (rc == 0) {
		pending = pending_draw(c, tender);
		json_t *inputs =
		    json_pack("{s:i, s:s, s:s, s:i, s:O, s:I, s:[]}", "algorithm",
		              VENUE_DRAW_ALGORITHM, "draw", "venue", "tender", tender, "round", 1,
		              "candidates", candidates, "count", (json_int_t)count, "excluded");
		rc = commit_draw(c, req, tender, "draw", inputs, pending, NULL, NULL, result, err);
		json_decref(inputs);
	}
	json_decref(pending);
	json_decref(ran);
	json_decref(candidates);
	json_decref(chosen);
	site_free(site);
	return rc;
}

/* venue.redraw {tender, failed, reason}: the second draw (二次抽取) after the venues FAILED
 * of the last draw could not be used: the same count from its candidates without them (and
 * without venues booked since). */
static int handle_redraw(struct controller *c, const struct request *req, json_t **result,
                         GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *tender = msg_read_id(&r, "tender", true);
	json_t *failed = msg_read_array(&r, "failed", true, VENUE_DRAW_MAX_VENUES);
	const char *reason = msg_read_string(&r, "reason", true, TEXT_MAX);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!*reason)
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "args.reason: say why the last draw failed");
	struct state_tender t;
	struct site *site = NULL;
	json_t *last = NULL, *pending = NULL, *inputs = NULL, *drawn = json_array(), *v;
	size_t i;
	int rc = selection_open(c, tender, &t, &site, err);
	if (rc == 0 && state_venue_selection_latest(c->state, tender, "run", &last, NULL) != 0)
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, ENOENT,
		              "tender %s has no venue draw that ran: the first draw is venue draw",
		              tender);
	if (rc != 0)
		goto out;
	json_array_foreach(json_object_get(json_object_get(last, "record"), "chosen"), i, v)
	    json_array_append(drawn, json_object_get(v, "venue"));
	if (json_array_size(failed) == 0) {
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		              "args.failed: name the drawn venues that failed");
		goto out;
	}
	inputs = json_loads(json_string_value(json_object_get(last, "inputs")), 0, NULL);
	json_t *candidates = json_object_get(inputs, "candidates");
	json_t *excluded = json_object_get(inputs, "excluded");
	if (!json_is_array(candidates) || !json_is_array(excluded)) {
		rc =
		    ops_fail(err, REQUEST_ERROR_INTERNAL, EBADMSG,
		             "state database: the last venue draw of tender %s is damaged", tender);
		goto out;
	}
	json_array_foreach(failed, i, v)
	{
		const char *id = json_string_value(v);
		bool was_drawn = false;
		size_t j;
		json_t *w;
		json_array_foreach(drawn, j, w) was_drawn =
		    was_drawn || (id && strcmp(json_string_value(w), id) == 0);
		if (!was_drawn) {
			char *list = json_dumps(drawn, JSON_COMPACT);
			rc = ops_fail(
			    err, REQUEST_ERROR_INVALID, EINVAL,
			    "args.failed[%zu]: %s was not drawn by the last draw of tender "
			    "%s (it drew %s): only a drawn venue can fail",
			    i, id ? id : "(not a string)", tender, list);
			free(list);
			goto out;
		}
		for (j = json_array_size(candidates); j-- > 0;)
			if (strcmp(json_string_value(json_array_get(candidates, j)), id) == 0)
				json_array_remove(candidates, j);
		json_array_append(excluded, v);
	}
	sort_strings(excluded);
	/* a venue booked since the last draw is chosen already: not drawn again */
	json_t *booked = NULL;
	if ((rc = state_tender_venues(c->state, tender, &booked, err)) != 0)
		goto out;
	json_array_foreach(booked, i, v)
	{
		for (size_t j = json_array_size(candidates); j-- > 0;)
			if (strcmp(json_string_value(json_array_get(candidates, j)),
			           json_string_value(json_object_get(v, "venue"))) == 0 &&
			    strcmp(json_string_value(json_object_get(v, "way")), "booked") == 0)
				json_array_remove(candidates, j);
	}
	json_decref(booked);
	int64_t count = json_integer_value(json_object_get(inputs, "count"));
	if ((size_t)count > json_array_size(candidates)) {
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, ENOSPC,
		              "only %zu venues are left to draw %" G_GINT64_FORMAT
		              " from once the failed ones are excluded: book the venues instead "
		              "(venue book)",
		              json_array_size(candidates), count);
		goto out;
	}
	json_object_set_new(inputs, "round",
	                    json_integer(json_integer_value(json_object_get(last, "round")) + 1));
	pending = pending_draw(c, tender);
	json_t *failed_sorted = json_deep_copy(failed);
	sort_strings(failed_sorted);
	rc = commit_draw(c, req, tender, "redraw", inputs, pending, failed_sorted, reason, result,
	                 err);
	json_decref(failed_sorted);
out:
	json_decref(drawn);
	json_decref(inputs);
	json_decref(pending);
	json_decref(last);
	site_free(site);
	return rc;
}

/* venue.run {tender, entropy, confirm}: the supervisor witnesses the draw: confirms the
 * published commitment and enters the entropy; the venues are drawn and chosen. */
static int handle_run(struct controller *c, const struct request *req, json_t **result,
                      GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *tender = msg_read_id(&r, "tender", true);
	const char *entropy = msg_read_string(&r, "entropy", true, DRAW_MAX_ENTROPY);
	const char *confirm = msg_read_string(&r, "confirm", true, 2 * DRAW_HASH_LEN);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (ops_draw_run_args(req->args, entropy, confirm, err) != 0)
		return -EINVAL;
	struct state_tender t;
	struct site *site = NULL;
	struct venue_inputs *in = NULL;
	uint8_t secret[DRAW_SECRET_LEN] = {0};
	json_t *d = NULL, *rec = NULL;
	/* the seat draw may have been committed since: its rooms are fixed then */
	int rc = selection_open(c, tender, &t, &site, err);
	site_free(site);
	if (rc != 0)
		return rc;
	d = pending_draw(c, tender);
	if (!d) {
		rc =
		    ops_fail(err, REQUEST_ERROR_CONFLICT, ENOENT,
		             "tender %s has no venue draw waiting for its run (an operator commits "
		             "one: venue draw or venue redraw)",
		             tender);
		goto out;
	}
	const char *com = json_string_value(json_object_get(d, "commitment"));
	char *what = g_strdup_printf("the venue draw of tender %s", tender);
	rc = ops_draw_secret_for_run(com, confirm, what, "an operator commits it again", secret,
	                             err);
	g_free(what);
	if (rc != 0)
		goto out;
	json_t *inputs = json_loads(json_string_value(json_object_get(d, "inputs")), 0, NULL);
	GString *why = g_string_new(NULL);
	rc = venue_inputs_parse(inputs, &in, why);
	json_decref(inputs);
	if (rc != 0) {
		rc = ops_fail(err, REQUEST_ERROR_INTERNAL, EINVAL, "stored venue draw: %s",
		              why->str);
		g_string_free(why, TRUE);
		goto out;
	}
	g_string_free(why, TRUE);
	int64_t now = clock_now_us(), id = json_integer_value(json_object_get(d, "id"));
	rec = venue_record_make(in, secret, entropy);
	json_object_set(rec, "committed_by", json_object_get(d, "made_by"));
	json_object_set(rec, "committed_at", json_object_get(d, "made_at"));
	json_object_set_new(rec, "witness", json_string(req->requester));
	json_object_set_new(rec, "run_at", json_integer(now));
	if (json_is_string(json_object_get(d, "reason")))
		json_object_set(rec, "reason", json_object_get(d, "reason"));
	char *text = json_dumps(rec, JSON_COMPACT);
	json_t *chosen = json_object_get(rec, "chosen");
	if ((rc = state_begin(c->state, err)) == 0) {
		rc = state_venue_selection_set_run(c->state, id, text, req->requester, now, err);
		size_t i;
		json_t *a;
		json_array_foreach(chosen, i, a)
		{
			if (rc == 0)
				rc = state_tender_venue_add(
				    c->state, tender,
				    json_string_value(json_object_get(a, "venue")), id, "drawn",
				    err);
		}
		if (rc == 0)
			rc = state_commit(c->state, err);
		if (rc != 0)
			state_rollback(c->state);
	}
	free(text);
	if (rc != 0)
		goto out;
	ops_draw_vault_forget(com);
	json_t *drawn = json_array(), *a;
	size_t i;
	json_array_foreach(chosen, i, a) json_array_append(drawn, json_object_get(a, "venue"));
	/* the record (secret included: the draw is over) in the tender's archive */
	archives_event(c, tender, now, "venue.run", req->requester,
	               json_pack("{s:s, s:I, s:s, s:s, s:I, s:O, s:O}", "tender", tender, "round",
	                         (json_int_t)in->round, "commitment", com, "witness",
	                         req->requester, "run_at", (json_int_t)now, "drawn", drawn,
	                         "record", rec));
	*result =
	    json_pack("{s:s, s:I, s:s, s:s, s:I, s:o, s:o}", "tender", tender, "round",
	              (json_int_t)in->round, "commitment", com, "witness", req->requester, "run_at",
	              (json_int_t)now, "drawn", drawn, "chosen", chosen_ids(c, tender));
	log_info("tender %s: venue draw (round %" G_GINT64_FORMAT ") run by %s", tender, in->round,
	         req->requester);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	json_decref(rec);
	json_decref(d);
	venue_inputs_free(in);
	return rc;
}

/* venue.show {tender}: the chosen venues and every booking and draw (never a secret). */
static int handle_show(struct controller *c, const struct request *req, json_t **result,
                       GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *tender = msg_read_id(&r, "tender", true);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	struct state_tender t;
	json_t *chosen = NULL, *all = NULL, *v;
	size_t i;
	int rc = state_tender_get(c->state, tender, &t, err);
	if (rc == 0)
		rc = state_tender_venues(c->state, tender, &chosen, err);
	if (rc == 0)
		rc = state_venue_selections(c->state, tender, &all, err);
	if (rc != 0)
		goto out;
	json_array_foreach(all, i, v)
	{
		json_t *rec = json_object_get(v, "record");
		if (json_is_object(rec)) {
			json_t *drawn = json_array(), *a;
			size_t j;
			json_array_foreach(json_object_get(rec, "chosen"), j, a)
			    json_array_append(drawn, json_object_get(a, "venue"));
			json_object_set_new(v, "drawn", drawn);
		}
		json_object_del(v, "record");
		json_object_del(v, "inputs");
		if (json_is_string(json_object_get(v, "commitment")))
			json_object_set_new(
			    v, "can_run",
			    json_boolean(strcmp(json_string_value(json_object_get(v, "state")),
			                        "committed") == 0 &&
			                 ops_draw_vault_holds(
			                     json_string_value(json_object_get(v, "commitment")))));
	}
	*result = json_pack("{s:s, s:s, s:O, s:O}", "tender", tender, "session", t.session,
	                    "chosen", chosen, "selections", all);
out:
	json_decref(chosen);
	json_decref(all);
	return rc;
}

const struct request_handler venue_select_request_handlers[] = {
    {"venue.book", ROLE_OPERATOR, handle_book, true},
    {"venue.draw", ROLE_OPERATOR, handle_draw, true},
    {"venue.redraw", ROLE_OPERATOR, handle_redraw, true},
    {"venue.run", ROLE_SUPERVISOR, handle_run, true},
    {"venue.show", ROLE_OPERATOR | ROLE_SUPERVISOR | ROLE_AUDITOR | ROLE_WITNESS, handle_show,
     false},
    {NULL, 0, NULL, false},
};
