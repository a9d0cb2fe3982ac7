/* The staff draw, handovers and the draw room's review (staff.h, docs/staff.md). */
#include "staff.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#include "alerts.h"
#include "archives.h"
#include "cert_sig.h"
#include "clock.h"
#include "controller.h"
#include "handover_sig.h"
#include "hex.h"
#include "log.h"
#include "msg.h"
#include "ops.h"
#include "review.h"
#include "site.h"
#include "staff_draw.h"
#include "state.h"

#define ENTROPY_MAX 4096
#define TEXT_MAX    2000

/* Days from the date SINCE to the date DATE (both YYYY-MM-DD, valid). */
static int64_t days_between(const char *since, const char *date)
{
	GDate a, b;
	g_date_clear(&a, 1);
	g_date_clear(&b, 1);
	g_date_set_parse(&a, since);
	g_date_set_parse(&b, date);
	if (!g_date_valid(&a) || !g_date_valid(&b))
		return 0;
	return g_date_days_between(&a, &b);
}

/* What the history says of PERSON before the session: how many of the latest sessions
 * in a row they held POST, served a tender of AGENCY (empty: not counted), and the
 * date of the first session of the run on POST. */
struct streaks {
	int64_t post, agency;
	const char *post_since; /* borrowed from the history; NULL when post == 0 */
};

static void streaks_of(const json_t *history, const char *person, const char *post,
                       const char *agency, struct streaks *out)
{
	bool post_on = true, agency_on = *agency != '\0';
	size_t i = 0;
	memset(out, 0, sizeof(*out));
	/* the rows come newest session first; take them one session at a time */
	while (i < json_array_size(history) && (post_on || agency_on)) {
		const char *session =
		    json_string_value(json_object_get(json_array_get(history, i), "session"));
		const char *date =
		    json_string_value(json_object_get(json_array_get(history, i), "date"));
		bool held = false, served = false;
		for (; i < json_array_size(history); i++) {
			const json_t *row = json_array_get(history, i);
			if (strcmp(json_string_value(json_object_get(row, "session")), session) !=
			    0)
				break;
			if (strcmp(json_string_value(json_object_get(row, "person")), person) != 0)
				continue;
			held = held ||
			       strcmp(json_string_value(json_object_get(row, "post")), post) == 0;
			served =
			    served ||
			    (*agency && strcmp(json_string_value(json_object_get(row, "agency")),
			                       agency) == 0);
		}
		post_on = post_on && held;
		agency_on = agency_on && served;
		if (post_on) {
			out->post++;
			out->post_since = date;
		}
		if (agency_on)
			out->agency++;
	}
}

/* The rotation rules for one slot (TENDER of AGENCY, POST) on the session's DATE: appends
 * each qualified staff member to ELIGIBLE or, with the reason, to EXCLUDED; an eligible
 * one on the post for longer than tenure_warn_days also to FLAGGED. */
static void slot_rules(const struct controller_config *cfg, const struct site *site,
                       const json_t *history, const char *date, const char *tender,
                       const char *agency, const char *post, json_t *eligible, json_t *excluded,
                       json_t *flagged)
{
	for (size_t i = 0; i < site->n_staff; i++) {
		const struct site_staff *s = &site->staff[i];
		const struct site_staff_post *sp = NULL;
		for (size_t j = 0; j < s->n_posts; j++)
			if (strcmp(s->posts[j].post, post) == 0)
				sp = &s->posts[j];
		if (!sp)
			continue;
		struct streaks k;
		streaks_of(history, s->identity, post, agency, &k);
		const char *since = sp->since[0] ? sp->since : k.post_since;
		int64_t days = since ? days_between(since, date) : 0;
		/* every rule that excludes them, so the refusal says all that must change */
		GString *why = g_string_new(NULL);
		if (k.post >= cfg->staff_max_in_row)
			g_string_append_printf(why,
			                       "held post %s in the last %" G_GINT64_FORMAT
			                       " sessions in a row (limit %" G_GINT64_FORMAT ")",
			                       post, k.post, cfg->staff_max_in_row);
		if (k.agency >= cfg->staff_max_in_row)
			g_string_append_printf(
			    why,
			    "%sserved tenders of agency %s in the last %" G_GINT64_FORMAT
			    " sessions in a row (limit %" G_GINT64_FORMAT ")",
			    why->len ? "; " : "", agency, k.agency, cfg->staff_max_in_row);
		if (days > cfg->staff_tenure_limit_days)
			g_string_append_printf(why,
			                       "%shas held post %s since %s, %" G_GINT64_FORMAT
			                       " days (limit %" G_GINT64_FORMAT "): must rotate",
			                       why->len ? "; " : "", post, since, days,
			                       cfg->staff_tenure_limit_days);
		if (why->len) {
			json_array_append_new(excluded, json_pack("{s:s, s:s, s:s, s:s}", "tender",
			                                          tender, "post", post, "person",
			                                          s->identity, "reason", why->str));
			g_string_free(why, TRUE);
			continue;
		}
		g_string_free(why, TRUE);
		json_array_append_new(eligible, json_string(s->identity));
		if (days > cfg->staff_tenure_warn_days)
			json_array_append_new(flagged,
			                      json_pack("{s:s, s:s, s:s, s:s, s:I}", "tender",
			                                tender, "post", post, "person", s->identity,
			                                "since", since, "days", (json_int_t)days));
	}
}

/* "a (reason); b (reason)" of the exclusions of TENDER's POST, for a refusal. */
static char *exclusions_text(const json_t *excluded, const char *tender, const char *post)
{
	GString *s = g_string_new(NULL);
	size_t i;
	json_t *e;
	json_array_foreach(excluded, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "tender")), tender) ||
		    strcmp(json_string_value(json_object_get(e, "post")), post))
			continue;
		g_string_append_printf(s, "%s%s (%s)", s->len ? "; " : "",
		                       json_string_value(json_object_get(e, "person")),
		                       json_string_value(json_object_get(e, "reason")));
	}
	if (!s->len)
		g_string_append(s, "no staff member of the site file holds this post");
	return g_string_free(s, FALSE);
}

/* The session's open tenders [{id, agency}] into *OUT. */
static int open_tenders(struct controller *c, const char *session, json_t **out, GError **err)
{
	json_t *ids = NULL, *v;
	size_t i;
	int rc = state_tender_list(c->state, session, &ids, err);
	if (rc != 0)
		return rc;
	*out = json_array();
	json_array_foreach(ids, i, v)
	{
		struct state_tender t;
		struct state_tender_parties p;
		if ((rc = state_tender_get(c->state, json_string_value(v), &t, err)) != 0 ||
		    (rc = state_tender_parties(c->state, t.id, &p, err)) != 0)
			break;
		if (strcmp(t.state, "open") == 0)
			json_array_append_new(
			    *out, json_pack("{s:s, s:s}", "id", t.id, "agency", p.agency));
	}
	json_decref(ids);
	if (rc != 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

/* An event of KIND with BODY (borrowed) in the archive of each of TENDERS (ids). */
static void archive_each(struct controller *c, const json_t *tenders, const char *kind,
                         const char *source, const json_t *body, int64_t now)
{
	size_t i;
	json_t *t;
	json_array_foreach(tenders, i, t)
	{
		const char *id = json_is_string(t) ? json_string_value(t)
		                                   : json_string_value(json_object_get(t, "id"));
		archives_event(c, id, now, kind, source, json_deep_copy(body));
	}
}

/* staff.commit {session}: works out every slot's eligible staff under the rotation rules,
 * refuses (nothing stored) when a slot has nobody, and commits to the inputs. */
static int handle_commit(struct controller *c, const struct request *req, json_t **result,
                         GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *session = msg_read_id(&r, "session", true);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	struct state_session s;
	struct site *site = NULL;
	json_t *tenders = NULL, *history = NULL, *slots = json_array(), *excluded = json_array(),
	       *flagged = json_array(), *prior = NULL;
	struct staff_inputs *in = NULL;
	int rc = state_session_get(c->state, session, &s, err);
	if (rc != 0)
		goto out;
	if (strcmp(s.state, "open") != 0) {
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EBUSY, "session %s is closed", session);
		goto out;
	}
	if (state_staff_draw_get(c->state, session, &prior, NULL) == 0 &&
	    !json_is_null(json_object_get(prior, "run_at"))) {
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EEXIST,
		              "the staff draw of session %s has run already (witness %s)", session,
		              json_string_value(json_object_get(prior, "witness")));
		goto out;
	}
	if ((rc = state_site_load(c->state, &site, err)) != 0)
		goto out;
	if (site->n_posts == 0 || site->n_staff == 0) {
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, ENOENT,
		              "the site file names no posts or no staff: nothing to draw");
		goto out;
	}
	if ((rc = open_tenders(c, session, &tenders, err)) != 0 ||
	    (rc = state_staff_history(c->state, session, s.date, &history, err)) != 0)
		goto out;
	if (json_array_size(tenders) == 0) {
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, ENOENT, "session %s has no open tender",
		              session);
		goto out;
	}
	size_t i;
	json_t *t;
	json_array_foreach(tenders, i, t)
	{
		const char *tid = json_string_value(json_object_get(t, "id"));
		const char *agency = json_string_value(json_object_get(t, "agency"));
		for (size_t p = 0; p < site->n_posts; p++) {
			json_t *eligible = json_array();
			slot_rules(&c->cfg, site, history, s.date, tid, agency, site->posts[p].id,
			           eligible, excluded, flagged);
			if (json_array_size(eligible) == 0 && rc == 0) {
				char *why = exclusions_text(excluded, tid, site->posts[p].id);
				rc = ops_fail(
				    err, REQUEST_ERROR_CONFLICT, ENOSPC,
				    "post %s of tender %s: nobody may hold it under the rotation "
				    "rules: %s",
				    site->posts[p].id, tid, why);
				g_free(why);
			}
			json_array_append_new(slots,
			                      json_pack("{s:s, s:s, s:o}", "tender", tid, "post",
			                                site->posts[p].id, "eligible", eligible));
		}
	}
	if (rc != 0)
		goto out;
	json_t *inputs =
	    json_pack("{s:i, s:s, s:s, s:s, s:O}", "algorithm", STAFF_DRAW_ALGORITHM, "draw",
	              "staff", "session", session, "date", s.date, "slots", slots);
	GString *why = g_string_new(NULL);
	rc = staff_inputs_parse(inputs, &in, why);
	json_decref(inputs);
	if (rc != 0) {
		rc = ops_fail(err, REQUEST_ERROR_INTERNAL, EINVAL, "staff draw inputs: %s",
		              why->str);
		g_string_free(why, TRUE);
		goto out;
	}
	g_string_free(why, TRUE);

	uint8_t secret[DRAW_SECRET_LEN], ih[DRAW_HASH_LEN], com[DRAW_HASH_LEN];
	if (RAND_bytes(secret, sizeof(secret)) != 1) {
		rc = ops_fail(err, REQUEST_ERROR_INTERNAL, EIO, "no random bytes for the secret");
		goto out;
	}
	staff_inputs_hash(in, ih);
	draw_commitment_compute(secret, ih, com);
	char ih_hex[2 * DRAW_HASH_LEN + 1], com_hex[2 * DRAW_HASH_LEN + 1];
	hex_encode(ih, sizeof(ih), ih_hex);
	hex_encode(com, sizeof(com), com_hex);
	char *canonical = staff_inputs_canonical(in);
	json_t *notes = json_pack("{s:O, s:O}", "excluded", excluded, "flagged", flagged);
	char *notes_text = json_dumps(notes, JSON_COMPACT);
	int64_t now = clock_now_us();
	if ((rc = state_begin(c->state, err)) == 0) {
		rc = state_staff_draw_put(c->state, session, canonical, ih_hex, com_hex,
		                          req->requester, now, notes_text, err);
		if (rc == 0)
			rc = state_commit(c->state, err);
		if (rc != 0)
			state_rollback(c->state);
	}
	g_free(canonical);
	free(notes_text);
	json_decref(notes);
	if (rc == 0) {
		if (prior) {
			/* the replaced commitment ends in the archives, so each lists every one */
			const char *old = json_string_value(json_object_get(prior, "commitment"));
			json_t *ended = json_pack(
			    "{s:s, s:s, s:O, s:O, s:s, s:s, s:I}", "session", session, "commitment",
			    old, "committed_by", json_object_get(prior, "committed_by"),
			    "committed_at", json_object_get(prior, "committed_at"), "ended_by",
			    req->requester, "reason", "replaced by a new commitment before it ran",
			    "ended_at", (json_int_t)now);
			archive_each(c, tenders, "staff.commitment_ended", req->requester, ended,
			             now);
			json_decref(ended);
			ops_draw_vault_forget(old);
		}
		ops_draw_vault_put(com_hex, secret);
		json_t *body = json_pack("{s:s, s:i, s:s, s:s, s:s, s:I, s:O}", "session", session,
		                         "algorithm", STAFF_DRAW_ALGORITHM, "commitment", com_hex,
		                         "input_hash", ih_hex, "committed_by", req->requester,
		                         "committed_at", (json_int_t)now, "excluded", excluded);
		archive_each(c, tenders, "staff.commit", req->requester, body, now);
		json_object_set_new(body, "posts", json_integer((json_int_t)in->n_slots));
		json_object_set(body, "flagged", flagged);
		*result = body;
		log_info("staff draw of session %s committed by %s: %zu posts, commitment %.16s",
		         session, req->requester, in->n_slots, com_hex);
	}
	OPENSSL_cleanse(secret, sizeof(secret));
out:
	staff_inputs_free(in);
	site_free(site);
	json_decref(prior);
	json_decref(tenders);
	json_decref(history);
	json_decref(slots);
	json_decref(excluded);
	json_decref(flagged);
	return rc;
}

/* staff.run {session, entropy, confirm}: the witness's run. */
static int handle_run(struct controller *c, const struct request *req, json_t **result,
                      GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *session = msg_read_id(&r, "session", true);
	const char *entropy = msg_read_string(&r, "entropy", true, ENTROPY_MAX);
	const char *confirm = msg_read_string(&r, "confirm", true, 2 * DRAW_HASH_LEN);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (ops_draw_run_args(req->args, entropy, confirm, err) != 0)
		return -EINVAL;
	json_t *d = NULL, *notes = NULL, *rec = NULL;
	struct staff_inputs *in = NULL;
	uint8_t secret[DRAW_SECRET_LEN] = {0};
	int rc = state_staff_draw_get(c->state, session, &d, err);
	if (rc != 0)
		return rc;
	const char *com = json_string_value(json_object_get(d, "commitment"));
	if (!json_is_null(json_object_get(d, "run_at"))) {
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EEXIST,
		              "the staff draw of session %s has run already (witness %s)", session,
		              json_string_value(json_object_get(d, "witness")));
		goto out;
	}
	char *what = g_strdup_printf("the staff draw of session %s", session);
	rc = ops_draw_secret_for_run(com, confirm, what, "an operator commits again (staff commit)",
	                             secret, err);
	g_free(what);
	if (rc != 0)
		goto out;
	json_t *inputs = json_loads(json_string_value(json_object_get(d, "inputs")), 0, NULL);
	GString *why = g_string_new(NULL);
	rc = staff_inputs_parse(inputs, &in, why);
	json_decref(inputs);
	if (rc != 0) {
		rc = ops_fail(err, REQUEST_ERROR_INTERNAL, EINVAL, "stored staff draw: %s",
		              why->str);
		g_string_free(why, TRUE);
		goto out;
	}
	g_string_free(why, TRUE);
	int64_t now = clock_now_us();
	notes = json_incref(json_object_get(d, "excluded"));
	rec = staff_record_make(in, secret, entropy);
	json_object_set(rec, "committed_by", json_object_get(d, "committed_by"));
	json_object_set(rec, "committed_at", json_object_get(d, "committed_at"));
	json_object_set_new(rec, "witness", json_string(req->requester));
	json_object_set_new(rec, "run_at", json_integer(now));
	json_object_set(rec, "excluded", json_object_get(notes, "excluded"));
	json_object_set(rec, "flagged", json_object_get(notes, "flagged"));
	char *text = json_dumps(rec, JSON_COMPACT);
	json_t *assignment = json_object_get(rec, "assignment");
	if ((rc = state_begin(c->state, err)) == 0) {
		rc = state_staff_draw_set_run(c->state, session, text, req->requester, now, err);
		size_t i;
		json_t *a;
		json_array_foreach(assignment, i, a)
		{
			if (rc == 0)
				rc = state_staff_post_set(
				    c->state, session,
				    json_string_value(json_object_get(a, "tender")),
				    json_string_value(json_object_get(a, "post")),
				    json_string_value(json_object_get(a, "person")), now, err);
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
	/* the record (secret included: the draw is over) in every tender's archive */
	json_t *tenders = json_array();
	for (size_t i = 0; i < in->n_slots; i++)
		if (i == 0 || strcmp(in->slots[i].tender, in->slots[i - 1].tender) != 0)
			json_array_append_new(tenders, json_string(in->slots[i].tender));
	json_t *body =
	    json_pack("{s:s, s:s, s:s, s:I, s:O}", "session", session, "commitment", com, "witness",
	              req->requester, "run_at", (json_int_t)now, "record", rec);
	archive_each(c, tenders, "staff.run", req->requester, body, now);
	json_decref(body);
	json_decref(tenders);
	/* a person drawn to a post they have held for more than a year: flagged */
	size_t i, j;
	json_t *f, *a;
	json_array_foreach(json_object_get(notes, "flagged"), i,
	                   f){json_array_foreach(assignment, j, a){
	    if (!json_equal(json_object_get(a, "tender"), json_object_get(f, "tender")) ||
	        !json_equal(json_object_get(a, "post"), json_object_get(f, "post")) ||
	        !json_equal(json_object_get(a, "person"), json_object_get(f, "person"))) continue;
	char days[24];
	g_snprintf(days, sizeof(days), "%" JSON_INTEGER_FORMAT,
	           json_integer_value(json_object_get(f, "days")));
	const char *args[] = {json_string_value(json_object_get(f, "person")),
	                      json_string_value(json_object_get(f, "post")),
	                      json_string_value(json_object_get(f, "tender")),
	                      json_string_value(json_object_get(f, "since")),
	                      days,
	                      NULL};
	alert_raise_text(c, ALERT_STAFF_TENURE,
	                 &(struct alert_subject){.room = "",
	                                         .seat = "",
	                                         .person = args[0],
	                                         .tender = args[2],
	                                         .stream = "",
	                                         .venue = ""},
	                 "staff_post_tenure", args,
	                 json_pack("{s:s, s:s, s:I}", "post", args[1], "since", args[3], "days",
	                           json_integer_value(json_object_get(f, "days"))));
}
}
*result = json_pack("{s:s, s:s, s:s, s:I, s:O}", "session", session, "commitment", com, "witness",
                    req->requester, "run_at", (json_int_t)now, "assignment", assignment);
log_info("staff draw of session %s run by %s: %zu posts", session, req->requester, in->n_slots);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	json_decref(rec);
json_decref(notes);
json_decref(d);
staff_inputs_free(in);
return rc;
}

/* staff.show {session}: the draw (without its secret), the posts and open handovers. */
static int handle_show(struct controller *c, const struct request *req, json_t **result,
                       GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *session = msg_read_id(&r, "session", true);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	json_t *d = NULL, *posts = NULL;
	int rc = state_staff_draw_get(c->state, session, &d, err);
	if (rc == 0)
		rc = state_staff_posts(c->state, session, &posts, err);
	if (rc == 0) {
		json_t *notes = json_object_get(d, "excluded");
		*result = json_pack(
		    "{s:s, s:s, s:s, s:s, s:O, s:s, s:O, s:O, s:O, s:O, s:b}", "session", session,
		    "commitment", json_string_value(json_object_get(d, "commitment")), "input_hash",
		    json_string_value(json_object_get(d, "input_hash")), "committed_by",
		    json_string_value(json_object_get(d, "committed_by")), "committed_at",
		    json_object_get(d, "committed_at"), "state",
		    json_is_null(json_object_get(d, "run_at")) ? "committed" : "run", "excluded",
		    json_object_get(notes, "excluded"), "flagged",
		    json_object_get(notes, "flagged"), "posts", posts, "witness",
		    json_object_get(d, "witness"), "can_run",
		    ops_draw_vault_holds(json_string_value(json_object_get(d, "commitment"))));
	}
	json_decref(posts);
	json_decref(d);
	return rc;
}

/* The holder of TENDER's POST (from its session's posts) into a new string, or NULL. */
static char *holder_of(struct controller *c, const char *session, const char *tender,
                       const char *post, GError **err)
{
	json_t *posts = NULL, *p;
	size_t i;
	char *who = NULL;
	if (state_staff_posts(c->state, session, &posts, err) != 0)
		return NULL;
	json_array_foreach(posts, i, p)
	{
		if (strcmp(json_string_value(json_object_get(p, "tender")), tender) == 0 &&
		    strcmp(json_string_value(json_object_get(p, "post")), post) == 0)
			who = g_strdup(json_string_value(json_object_get(p, "person")));
	}
	json_decref(posts);
	return who;
}

/* staff.rotate {tender, post, to, reason}: an operator orders a sensitive post to change
 * hands now; the handover is done when both people have signed it (staff.sign). */
static int handle_rotate(struct controller *c, const struct request *req, json_t **result,
                         GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *tender = msg_read_id(&r, "tender", true);
	const char *post = msg_read_id(&r, "post", true);
	const char *to = msg_read_string(&r, "to", true, 64);
	const char *reason = msg_read_string(&r, "reason", true, TEXT_MAX);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!*reason)
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "args.reason: empty");
	struct state_tender t;
	struct state_tender_parties parties;
	struct state_session s;
	struct site *site = NULL;
	json_t *history = NULL, *eligible = json_array(), *excluded = json_array(),
	       *flagged = json_array();
	char *from = NULL;
	int64_t pending = 0, id = 0;
	int rc = state_tender_get(c->state, tender, &t, err);
	if (rc == 0)
		rc = state_tender_parties(c->state, tender, &parties, err);
	if (rc == 0)
		rc = state_session_get(c->state, t.session, &s, err);
	if (rc == 0)
		rc = state_site_load(c->state, &site, err);
	if (rc != 0)
		goto out;
	const struct site_post *sp = site_post_find(site, post);
	if (!sp) {
		rc = ops_fail(err, REQUEST_ERROR_NOT_FOUND, ENOENT,
		              "no post \"%s\" in the site file", post);
		goto out;
	}
	if (!sp->sensitive) {
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EPERM,
		              "post %s is not a sensitive post: it changes hands only by the next "
		              "session's staff draw",
		              post);
		goto out;
	}
	if (strcmp(t.state, "open") != 0) {
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EBUSY, "tender %s is %s", tender,
		              t.state);
		goto out;
	}
	from = holder_of(c, t.session, tender, post, err);
	if (!from) {
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, ENOENT,
		              "nobody holds post %s of tender %s: run the staff draw first", post,
		              tender);
		goto out;
	}
	if (strcmp(from, to) == 0) {
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "%s holds post %s of %s already",
		              to, post, tender);
		goto out;
	}
	if (state_staff_handover_pending(c->state, tender, post, &pending, NULL) == 0) {
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EBUSY,
		              "handover %" G_GINT64_FORMAT " of post %s of %s is not signed yet",
		              pending, post, tender);
		goto out;
	}
	/* the incoming person must be allowed on that post for that tender like in a draw */
	if ((rc = state_staff_history(c->state, t.session, s.date, &history, err)) != 0)
		goto out;
	slot_rules(&c->cfg, site, history, s.date, tender, parties.agency, post, eligible, excluded,
	           flagged);
	bool ok = false;
	size_t i;
	json_t *v;
	json_array_foreach(eligible, i, v) ok = ok || strcmp(json_string_value(v), to) == 0;
	if (!ok) {
		const char *why = NULL;
		json_array_foreach(excluded, i, v)
		{
			if (strcmp(json_string_value(json_object_get(v, "person")), to) == 0)
				why = json_string_value(json_object_get(v, "reason"));
		}
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EPERM,
		              "%s may not take post %s of %s: %s", to, post, tender,
		              why ? why : "not a staff member of the site file for this post");
		goto out;
	}
	int64_t now = clock_now_us();
	if ((rc = state_begin(c->state, err)) == 0) {
		rc = state_staff_handover_add(c->state, tender, post, from, to, reason,
		                              req->requester, now, &id, err);
		if (rc == 0)
			rc = state_commit(c->state, err);
		if (rc != 0)
			state_rollback(c->state);
	}
	if (rc == 0)
		*result = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "handover",
		                    (json_int_t)id, "tender", tender, "post", post, "from", from,
		                    "to", to, "reason", reason, "state", "pending");
out:
	g_free(from);
	site_free(site);
	json_decref(history);
	json_decref(eligible);
	json_decref(excluded);
	json_decref(flagged);
	return rc;
}

/* The handover H (state_staff_handover_get) as the archive and evalroomctl show it (new). */
static json_t *handover_json(const json_t *h)
{
	return json_pack(
	    "{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O}", "handover",
	    json_object_get(h, "id"), "tender", json_object_get(h, "tender"), "post",
	    json_object_get(h, "post"), "from", json_object_get(h, "from_person"), "to",
	    json_object_get(h, "to_person"), "reason", json_object_get(h, "reason"), "ordered_by",
	    json_object_get(h, "ordered_by"), "ordered_at", json_object_get(h, "ordered_at"),
	    "state", json_object_get(h, "state"), "session", json_object_get(h, "session"),
	    "from_signed_at", json_object_get(h, "from_signed_at"), "to_signed_at",
	    json_object_get(h, "to_signed_at"));
}

/* staff.handover {handover}: the record both people sign (evalroomctl staff sign builds the
 * signed text from it, handover_sig.h). */
static int handle_handover(struct controller *c, const struct request *req, json_t **result,
                           GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	int64_t id = msg_read_int(&r, "handover", true, 1, INT64_MAX, 0);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	json_t *h = NULL;
	int rc = state_staff_handover_get(c->state, id, &h, err);
	if (rc != 0)
		return rc;
	*result = handover_json(h);
	json_decref(h);
	return 0;
}

/* How far a signature's own time may lie from the controller's clock. */
#define HANDOVER_SIGN_SKEW_US ((int64_t)300 * G_USEC_PER_SEC)

/* The signatures SIGS ([{certificate, signature}], from the request) of the handover
 * FIELDS by REQUESTER as ROLE at SIGNED_AT: each checked against the site CA and the
 * requester, the site's witness_signing algorithms all present. The archive's entries
 * (handover_sig.h) into *OUT (new), or -errno with *err (nothing stored). */
static int handover_signatures(struct controller *c, const struct handover_fields *f,
                               const char *requester, const char *role, int64_t signed_at,
                               const json_t *sigs, json_t **out, GError **err)
{
	char *msg = handover_message(f, role, signed_at);
	X509 *ca = cert_read_file(c->cfg.ca);
	struct site *site = NULL;
	unsigned algs = 0;
	int rc = 0;
	size_t i;
	const json_t *s;
	*out = json_array();
	if (!ca) {
		rc = ops_fail(err, REQUEST_ERROR_INTERNAL, EIO, "the site CA %s is unreadable",
		              c->cfg.ca);
		goto out;
	}
	json_array_foreach(sigs, i, s)
	{
		const char *cert = json_string_value(json_object_get(s, "certificate"));
		const char *b64 = json_string_value(json_object_get(s, "signature"));
		char identity[65] = "", *why = NULL, *what = NULL;
		const char *alg = NULL;
		if (!json_is_object(s) || json_object_size(s) != 2 || !cert || !b64 ||
		    strlen(cert) > 8192 || strlen(b64) > 200) {
			rc = ops_fail(
			    err, REQUEST_ERROR_INVALID, EINVAL,
			    "args.signatures[%zu]: {certificate (PEM), signature (base64)}", i);
			goto out;
		}
		gsize len = 0;
		guchar *sig = g_base64_decode(b64, &len);
		what = g_strdup_printf("handover %" G_GINT64_FORMAT " as the %s person signs it",
		                       f->id, role);
		if (cert_sig_check_any(cert, sig, len, msg, strlen(msg), what, ca, identity, &alg,
		                       &why) != 0)
			rc = ops_fail(err, REQUEST_ERROR_DENIED, EACCES, "%s: nothing stored", why);
		else if (strcmp(identity, requester) != 0)
			rc = ops_fail(err, REQUEST_ERROR_DENIED, EACCES,
			              "the signing certificate is %s's, not the requester's (%s): "
			              "nothing stored",
			              identity, requester);
		g_free(why);
		g_free(what);
		g_free(sig);
		if (rc != 0)
			goto out;
		algs |= strcmp(alg, "sm2-sm3") == 0 ? SITE_SIGNING_SM2 : SITE_SIGNING_ED25519;
		json_array_append_new(
		    *out, json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "identity", requester,
		                    "role", role, "signed_at", (json_int_t)signed_at, "algorithm",
		                    alg, "certificate", cert, "signature", b64, "message", msg));
	}
	if ((rc = state_site_load(c->state, &site, err)) != 0)
		goto out;
	if ((site->witness_signing & ~algs) != 0)
		rc = ops_fail(err, REQUEST_ERROR_DENIED, EACCES,
		              "the site signs with %s: a signature of handover %" G_GINT64_FORMAT
		              " by each of %s is needed (evalroomctl staff sign signs with every "
		              "signing key beside the identity's certificate): nothing stored",
		              site->witness_signing == SITE_SIGNING_SM2       ? "SM2"
		              : site->witness_signing == SITE_SIGNING_ED25519 ? "Ed25519"
		                                                              : "Ed25519 and SM2",
		              f->id,
		              site->witness_signing == SITE_SIGNING_ED25519 ? "that key"
		                                                            : "those keys");
out:
	if (rc != 0) {
		json_decref(*out);
		*out = NULL;
	}
	site_free(site);
	X509_free(ca);
	g_free(msg);
	return rc;
}

/* staff.sign {handover, signed_at, signatures: [{certificate, signature}]}: the outgoing or
 * the incoming person signs the handover record (handover_sig.h) with the key of each of
 * their site-CA signing certificates; with both people's signatures the post changes
 * hands and the record, signatures and certificates go into the tender's archive. */
static int handle_sign(struct controller *c, const struct request *req, json_t **result,
                       GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	int64_t id = msg_read_int(&r, "handover", true, 1, INT64_MAX, 0);
	int64_t signed_at = msg_read_int(&r, "signed_at", true, 0, INT64_MAX, 0);
	json_t *sigs = msg_read_array(&r, "signatures", true, 2);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (json_array_size(sigs) == 0)
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "args.signatures: at least one signature");
	json_t *h = NULL, *entries = NULL;
	int rc = state_staff_handover_get(c->state, id, &h, err);
	if (rc != 0)
		return rc;
	/* copies: H is read again after the change */
	char *from = g_strdup(json_string_value(json_object_get(h, "from_person")));
	char *to = g_strdup(json_string_value(json_object_get(h, "to_person")));
	bool outgoing = strcmp(req->requester, from) == 0;
	int64_t now = clock_now_us();
	if (!outgoing && strcmp(req->requester, to) != 0) {
		rc = ops_fail(err, REQUEST_ERROR_DENIED, EACCES,
		              "handover %" G_GINT64_FORMAT " is signed by %s and %s only", id, from,
		              to);
		goto out;
	}
	if (strcmp(json_string_value(json_object_get(h, "state")), "pending") != 0) {
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EEXIST,
		              "handover %" G_GINT64_FORMAT " is done already", id);
		goto out;
	}
	if (!json_is_null(json_object_get(h, outgoing ? "from_signed_at" : "to_signed_at"))) {
		rc =
		    ops_fail(err, REQUEST_ERROR_CONFLICT, EEXIST,
		             "%s signed handover %" G_GINT64_FORMAT " already", req->requester, id);
		goto out;
	}
	if (signed_at < now - HANDOVER_SIGN_SKEW_US || signed_at > now + HANDOVER_SIGN_SKEW_US) {
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		              "args.signed_at: the signature's time is more than %d s from the "
		              "controller's clock: check this machine's clock and sign again",
		              (int)(HANDOVER_SIGN_SKEW_US / G_USEC_PER_SEC));
		goto out;
	}
	json_t *view = handover_json(h);
	struct handover_fields f;
	rc = handover_fields_of(view, &f);
	if (rc == 0)
		rc = handover_signatures(c, &f, req->requester,
		                         outgoing ? HANDOVER_OUTGOING : HANDOVER_INCOMING,
		                         signed_at, sigs, &entries, err);
	else
		rc = ops_fail(err, REQUEST_ERROR_INTERNAL, EINVAL,
		              "handover %" G_GINT64_FORMAT ": unreadable record", id);
	json_decref(view);
	if (rc != 0)
		goto out;
	char *entries_text = json_dumps(entries, JSON_COMPACT);
	bool both = !json_is_null(json_object_get(h, outgoing ? "to_signed_at" : "from_signed_at"));
	if ((rc = state_begin(c->state, err)) == 0) {
		rc =
		    state_staff_handover_sign(c->state, id, outgoing, signed_at, entries_text, err);
		if (rc == 0 && both)
			rc = state_staff_handover_done(c->state, id, err);
		if (rc == 0 && both)
			rc = state_staff_post_set(
			    c->state, json_string_value(json_object_get(h, "session")),
			    json_string_value(json_object_get(h, "tender")),
			    json_string_value(json_object_get(h, "post")), to, now, err);
		if (rc == 0)
			rc = state_commit(c->state, err);
		if (rc != 0)
			state_rollback(c->state);
	}
	free(entries_text);
	if (rc != 0)
		goto out;
	json_decref(h);
	h = NULL;
	if ((rc = state_staff_handover_get(c->state, id, &h, err)) != 0)
		goto out;
	if (both) {
		/* the handover record (交接): both people, who ordered it, why, and each person's
		 * signatures with their certificates, which a court checks years later */
		json_t *body = handover_json(h), *all = json_array();
		json_object_del(body, "state");
		json_object_del(body, "session");
		const char *cols[] = {"from_signatures", "to_signatures"};
		for (size_t k = 0; k < G_N_ELEMENTS(cols); k++) {
			const char *text = json_string_value(json_object_get(h, cols[k]));
			json_t *part = json_loads(text ? text : "[]", 0, NULL);
			json_array_extend(all, part);
			json_decref(part);
		}
		json_object_set_new(body, "signatures", all);
		archives_event(c, json_string_value(json_object_get(h, "tender")), now,
		               "staff.handover", req->requester, body);
		log_info("handover %" G_GINT64_FORMAT
		         ": post %s of %s from %s to %s, signed by both",
		         id, json_string_value(json_object_get(h, "post")),
		         json_string_value(json_object_get(h, "tender")), from, to);
	}
	*result = json_pack(
	    "{s:I, s:s, s:s, s:s, s:s, s:s, s:O}", "handover", (json_int_t)id, "signed_by",
	    req->requester, "role", outgoing ? HANDOVER_OUTGOING : HANDOVER_INCOMING, "state",
	    both ? "done" : "pending", "from", from, "to", to, "algorithms", json_array());
	json_t *algs = json_object_get(*result, "algorithms");
	size_t i;
	json_t *e;
	json_array_foreach(entries, i, e) json_array_append(algs, json_object_get(e, "algorithm"));
	if (!both)
		json_object_set_new(*result, "waiting_for", json_string(outgoing ? to : from));
out:
	g_free(from);
	g_free(to);
	json_decref(h);
	json_decref(entries);
	return rc;
}

/* draw_room.review {tender, note}: the operations office has reviewed the draw room's
 * footage of a closed tender. */
static int handle_review(struct controller *c, const struct request *req, json_t **result,
                         GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *tender = msg_read_id(&r, "tender", true);
	const char *note = msg_read_string(&r, "note", true, TEXT_MAX);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!*note)
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "args.note: empty");
	struct state_tender t;
	int rc = state_tender_get(c->state, tender, &t, err);
	if (rc != 0)
		return rc;
	int64_t now = clock_now_us();
	/* a tender closed since the last check is noted now, so it can be reviewed at once */
	if (strcmp(t.state, "open") != 0)
		state_draw_room_note_closed(c->state, now, NULL);
	/* the review is evidence: into the tender's archive (its appendix, sealed or not),
	 * in the same step as the state, or neither */
	if ((rc = state_begin(c->state, err)) != 0)
		return rc;
	rc = state_draw_room_review(c->state, tender, req->requester, now, note, err);
	if (rc == 0) {
		char *why = NULL;
		rc = archives_review(c, tender, REVIEW_DRAW_ROOM, req->requester, now, note, &why);
		if (rc != 0)
			rc = ops_fail(err, REQUEST_ERROR_UNAVAILABLE, -rc,
			              "the archive of %s: %s: nothing stored", tender, why);
		g_free(why);
	}
	if (rc == 0)
		rc = state_commit(c->state, err);
	if (rc != 0) {
		state_rollback(c->state);
		return rc;
	}
	alert_clear(
	    c, ALERT_DRAW_ROOM_UNREVIEWED,
	    &(struct alert_subject){
	        .room = "", .seat = "", .person = "", .tender = tender, .stream = "", .venue = ""},
	    "auto: the draw-room footage was reviewed");
	log_info("draw-room footage of %s reviewed by %s", tender, req->requester);
	*result = json_pack("{s:s, s:s, s:I, s:s}", "tender", tender, "reviewed_by", req->requester,
	                    "reviewed_at", (json_int_t)now, "note", note);
	return 0;
}

/* Whether the imported site has a draw room (no draw room: no footage to review). */
static bool site_has_draw_room(struct controller *c)
{
	struct site *site = NULL;
	bool has = false;
	if (state_site_load(c->state, &site, NULL) != 0)
		return false;
	for (size_t i = 0; i < site->n_rooms; i++)
		has = has || site->rooms[i].kind == SITE_ROOM_DRAW;
	site_free(site);
	return has;
}

static gboolean review_check(gpointer user)
{
	struct controller *c = user;
	int64_t now = clock_now_us(), due = c->cfg.draw_room_review_due_s * G_USEC_PER_SEC;
	json_t *late = NULL, *v;
	GError *err = NULL;
	size_t i;

	if (!site_has_draw_room(c))
		return G_SOURCE_CONTINUE;
	if (state_draw_room_note_closed(c->state, now, &err) != 0 ||
	    state_draw_room_unreviewed(c->state, now - due, &late, &err) != 0) {
		log_warnx("draw-room review check: %s", err->message);
		g_error_free(err);
		return G_SOURCE_CONTINUE;
	}
	json_array_foreach(late, i, v)
	{
		const char *tender = json_string_value(json_object_get(v, "tender"));
		char hours[32];
		g_snprintf(hours, sizeof(hours), "%.1f",
		           (double)(now - json_integer_value(json_object_get(v, "closed_at"))) /
		               (3600.0 * G_USEC_PER_SEC));
		const char *args[] = {tender, hours, NULL};
		alert_raise_text(c, ALERT_DRAW_ROOM_UNREVIEWED,
		                 &(struct alert_subject){.room = "",
		                                         .seat = "",
		                                         .person = "",
		                                         .tender = tender,
		                                         .stream = "",
		                                         .venue = ""},
		                 "draw_room_unreviewed", args,
		                 json_pack("{s:I}", "closed_at",
		                           json_integer_value(json_object_get(v, "closed_at"))));
	}
	json_decref(late);
	return G_SOURCE_CONTINUE;
}

void staff_init(struct controller *c)
{
	g_timeout_add_seconds((guint)c->cfg.draw_room_check_s, review_check, c);
}

const struct request_handler staff_request_handlers[] = {
    {"staff.commit", ROLE_OPERATOR, handle_commit, true},
    {"staff.run", ROLE_WITNESS, handle_run, true},
    {"staff.show", ROLE_OPERATOR | ROLE_AUDITOR | ROLE_WITNESS | ROLE_SUPERVISOR | ROLE_DESK,
     handle_show, false},
    {"staff.rotate", ROLE_OPERATOR, handle_rotate, true},
    {"staff.sign", ROLE_OPERATOR | ROLE_DESK | ROLE_WITNESS | ROLE_SUPERVISOR, handle_sign, true},
    {"staff.handover", ROLE_OPERATOR | ROLE_DESK | ROLE_WITNESS | ROLE_SUPERVISOR | ROLE_AUDITOR,
     handle_handover, false},
    {"draw_room.review", ROLE_OPERATOR, handle_review, true},
    {NULL, 0, NULL, false},
};
