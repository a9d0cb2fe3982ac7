#include "watch.h"

#include <errno.h>
#include <string.h>

#include "alerts.h"
#include "cert_sig.h"
#include "archives.h"
#include "clock.h"
#include "log.h"
#include "msg.h"
#include "node.h"
#include "ops.h"
#include "reader.h"
#include "site.h"
#include "state.h"
#include "witness_log.h"

#include <stdio.h>

static const char *const categories[] = {"observation", "reminder", "breach", "incident", NULL};

/* The longest evidence span one note may hold from retention deletion. */
#define EVIDENCE_SPAN_MAX_US ((int64_t)24 * 3600 * G_USEC_PER_SEC)

/* 0 when ROOM is a room of the site and SEAT (NULL: none) one of its seats. */
static int room_check(struct controller *c, const char *room, const char *seat, GError **err)
{
	json_t *rooms = NULL, *r, *found = NULL;
	size_t i;
	int rc = state_site_rooms(c->state, &rooms, err);
	if (rc != 0)
		return rc;
	json_array_foreach(rooms, i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "id")), room) == 0)
			found = r;
	}
	if (!found) {
		rc = ops_fail(err, REQUEST_ERROR_NOT_FOUND, ENOENT, "no room \"%s\"", room);
	} else if (seat) {
		bool has = false;
		json_t *s;
		json_array_foreach(json_object_get(found, "seats"), i, s)
		{
			has = has || strcmp(json_string_value(s), seat) == 0;
		}
		if (!has)
			rc = ops_fail(err, REQUEST_ERROR_NOT_FOUND, ENOENT,
			              "room %s has no seat \"%s\"", room, seat);
	}
	json_decref(rooms);
	return rc;
}

/* witness.note {tender, category, text, at?, room?, seat?, stream?, span_stream?,
 * span_from?, span_to?} */
static int handle_note(struct controller *c, const struct request *req, json_t **result,
                       GError **err)
{
	struct msg_reader r;
	int64_t now = clock_now_us();
	msg_reader_init(&r, req->args, "args");
	const char *tender = msg_read_id(&r, "tender", true);
	int category = msg_read_enum(&r, "category", true, categories);
	const char *text = msg_read_string(&r, "text", true, 2000);
	int64_t at = msg_read_int(&r, "at", false, 0, INT64_MAX, now);
	const char *room = msg_read_id(&r, "room", false);
	const char *seat = msg_read_id(&r, "seat", false);
	const char *stream = msg_read_id(&r, "stream", false);
	const char *span_stream = msg_read_id(&r, "span_stream", false);
	int64_t span_from = msg_read_int(&r, "span_from", false, 0, INT64_MAX, -1);
	int64_t span_to = msg_read_int(&r, "span_to", false, 0, INT64_MAX, -1);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!*text)
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "args.text: empty");
	if (at > now + 60 * G_USEC_PER_SEC)
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "args.at: in the future");
	if (seat && !room)
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "args.seat: needs args.room");
	bool span = span_stream || span_from >= 0 || span_to >= 0;
	if (span && (!span_stream || span_from < 0 || span_to < 0))
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "an evidence span needs span_stream, span_from and span_to");
	if (span && span_to <= span_from)
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "the evidence span ends before it starts");
	if (span && span_to - span_from > EVIDENCE_SPAN_MAX_US)
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "the evidence span is longer than 24 hours");
	struct state_tender t;
	int rc = state_tender_get(c->state, tender, &t, err);
	if (rc != 0)
		return rc;
	if (strcmp(t.state, "open") != 0)
		return ops_fail(err, REQUEST_ERROR_CONFLICT, EBUSY,
		                "tender %s is %s: its archive takes no more notes", tender,
		                t.state);
	if (room && (rc = room_check(c, room, seat, err)) != 0)
		return rc;

	int64_t hold = 0;
	if (span && (rc = state_evidence_hold_add(c->state, tender, span_stream, span_from, span_to,
	                                          req->requester, now, &hold, err)) != 0)
		return rc;
	/* the note's own id: its time and author make it unique in practice; the hold's id
	 * (or 0) ties it to what retention keeps */
	char *note_id = g_strdup_printf("N%" G_GINT64_FORMAT, now);
	json_t *body =
	    json_pack("{s:s, s:s, s:I, s:s, s:s}", "note", note_id, "author", req->requester, "at",
	              (json_int_t)at, "category", categories[category], "text", text);
	if (room)
		json_object_set_new(body, "room", json_string(room));
	if (seat)
		json_object_set_new(body, "seat", json_string(seat));
	if (stream)
		json_object_set_new(body, "stream", json_string(stream));
	if (span)
		json_object_set_new(body, "evidence",
		                    json_pack("{s:s, s:I, s:I, s:I}", "stream", span_stream, "from",
		                              (json_int_t)span_from, "to", (json_int_t)span_to,
		                              "hold", (json_int_t)hold));
	rc = archives_event(c, tender, now, "witness.note", req->requester, json_incref(body));
	if (rc != 0) {
		json_decref(body);
		g_free(note_id);
		return ops_fail(err, REQUEST_ERROR_UNAVAILABLE, -rc,
		                "the note could not be written into the archive of %s", tender);
	}
	int64_t alert = 0;
	if (category >= 2) { /* breach, incident: the regulator is told at once */
		/* The text by category and by where: a breach or an incident, in a room, at
		 * a seat of it, or neither (a seat is always given with its room). */
		static const char *const text_ids[2][3] = {
		    {"witness_breach", "witness_breach_room", "witness_breach_seat"},
		    {"witness_incident", "witness_incident_room", "witness_incident_seat"}};
		int where = room ? (seat ? 2 : 1) : 0;
		const char *args[5] = {req->requester};
		int n = 1;
		if (where >= 1)
			args[n++] = room;
		if (where == 2)
			args[n++] = seat;
		args[n++] = text;
		args[n] = NULL;
		alert = alert_raise_text(
		    c, ALERT_WITNESS_BREACH,
		    &(struct alert_subject){.room = room ? room : "",
		                            .seat = seat ? seat : "",
		                            .tender = tender,
		                            .person = req->requester},
		    text_ids[category == 3][where], args,
		    json_pack("{s:s, s:s}", "note", note_id, "category", categories[category]));
		json_t *m = node_msg_new(c->node, "supervision.notice");
		json_object_update(m, body);
		json_object_set_new(m, "tender", json_string(tender));
		if (alert > 0)
			json_object_set_new(m, "alert", json_integer(alert));
		if (node_publish(c->node, TOPIC_PREFIX "supervision/notice", m, false) != 0)
			log_warnx(
			    "%s: supervisors not notified (broker unreachable); the alert stands",
			    note_id);
		json_decref(m);
	}
	log_info("%s: %s note by %s for tender %s", note_id, categories[category], req->requester,
	         tender);
	json_object_set_new(body, "tender", json_string(tender));
	if (alert > 0)
		json_object_set_new(body, "alert", json_integer(alert));
	*result = body;
	g_free(note_id);
	return 0;
}

/* The witness log of TENDER from its archive file: Markdown (*md, may be NULL) and hash;
 * the signature report (*report, may be NULL) and number of parties signed (*n). */
static int log_of(struct controller *c, const char *tender, char **md, char sha[65], char **report,
                  int *n, GError **err)
{
	struct state_tender t;
	int rc = state_tender_get(c->state, tender, &t, err);
	if (rc != 0)
		return rc;
	char *path = archives_path(c, tender), *why = NULL;
	struct archive_reader *r = NULL;
	rc = archive_reader_open(path, &r, &why);
	if (rc == 0)
		rc = witness_log_read(archive_reader_db(r), md, sha);
	if (rc == 0 && report) {
		X509 *ca = cert_read_file(c->cfg.ca);
		*n = witness_log_verify(archive_reader_db(r), ca, NULL, NULL, report);
		X509_free(ca);
	}
	archive_reader_free(r);
	if (rc == -ENOENT && !why)
		rc = ops_fail(err, REQUEST_ERROR_NOT_FOUND, ENOENT,
		              "tender %s has no witness log yet: it is rendered when the tender is "
		              "closed (tender close)",
		              tender);
	else if (rc != 0)
		rc = ops_fail(err, REQUEST_ERROR_UNAVAILABLE, EIO, "the archive of %s: %s", tender,
		              why ? why : "unreadable");
	g_free(why);
	g_free(path);
	return rc;
}

/* witness.log {tender}: the rendered log, its SHA-256 and who signed it. */
static int handle_log(struct controller *c, const struct request *req, json_t **result,
                      GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *tender = msg_read_id(&r, "tender", true);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	char sha[65], *md = NULL, *report = NULL;
	int n = 0;
	int rc = log_of(c, tender, &md, sha, &report, &n, err);
	if (rc != 0)
		return rc;
	*result =
	    json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "tender", tender, "sha256", sha, "markdown",
	              md, "signed", n, "parties", WITNESS_LOG_PARTIES, "report", report);
	g_free(md);
	g_free(report);
	return 0;
}

/* witness.sign {tender, sha256, signature (base64), certificate (PEM)}: the requester's
 * signature of the tender's witness log, appended to the archive (docs/witness.md). */
static int handle_sign(struct controller *c, const struct request *req, json_t **result,
                       GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *tender = msg_read_id(&r, "tender", true);
	const char *sha256 = msg_read_string(&r, "sha256", true, 64);
	const char *sig_b64 = msg_read_string(&r, "signature", true, 200);
	const char *cert = msg_read_string(&r, "certificate", true, 8192);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	char sha[65], *report = NULL, *why = NULL, identity[65] = "";
	int n = 0;
	int rc = log_of(c, tender, NULL, sha, &report, &n, err);
	g_free(report);
	if (rc != 0)
		return rc;
	if (strcmp(sha, sha256) != 0)
		return ops_fail(
		    err, REQUEST_ERROR_CONFLICT, EINVAL,
		    "the signature is for a witness log with SHA-256 %s, but the log of "
		    "tender %s has SHA-256 %s: nothing stored",
		    sha256, tender, sha);
	gsize len = 0;
	guchar *sig = g_base64_decode(sig_b64, &len);
	X509 *ca = cert_read_file(c->cfg.ca);
	if (!ca)
		rc = ops_fail(err, REQUEST_ERROR_INTERNAL, EIO, "the site CA %s is unreadable",
		              c->cfg.ca);
	else if (witness_sig_check(cert, sig, len, tender, sha, ca, identity, &why) != 0)
		rc = ops_fail(err, REQUEST_ERROR_DENIED, EACCES, "%s: nothing stored", why);
	else if (strcmp(identity, req->requester) != 0)
		rc = ops_fail(err, REQUEST_ERROR_DENIED, EACCES,
		              "the certificate is %s's, not the requester's (%s): nothing stored",
		              identity, req->requester);
	X509_free(ca);
	g_free(sig);
	g_free(why);
	why = NULL;
	if (rc != 0)
		return rc;
	char *path = archives_path(c, tender);
	rc = witness_sig_append(path, identity, witness_party_of(identity), sha, cert, sig_b64,
	                        clock_now_us(), &why);
	g_free(path);
	if (rc != 0) {
		rc = ops_fail(err, REQUEST_ERROR_UNAVAILABLE, -rc, "%s", why);
		g_free(why);
		return rc;
	}
	if (c->archive_appendix) /* a sealed archive's copies get the signature too */
		c->archive_appendix(c, tender);
	rc = log_of(c, tender, NULL, sha, &report, &n, err);
	if (rc != 0)
		return rc;
	log_info("tender %s: witness log signed by %s (%d of %d)", tender, identity, n,
	         WITNESS_LOG_PARTIES);
	*result = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:s}", "tender", tender, "identity",
	                    identity, "party", witness_party_of(identity), "sha256", sha, "signed",
	                    n, "parties", WITNESS_LOG_PARTIES, "report", report);
	g_free(report);
	return 0;
}

/* The longest an escort approval waits for its entry. */
#define ESCORT_APPROVAL_VALID_US ((int64_t)3600 * G_USEC_PER_SEC)

/* True when IDENTITY is a witness or supervisor the site names. */
static bool site_names(const struct site *site, const char *identity)
{
	const char *role = g_str_has_prefix(identity, "witness-")      ? "witness"
	                   : g_str_has_prefix(identity, "supervisor-") ? "supervisor"
	                                                               : NULL;
	char **names = role && role[0] == 'w' ? site->witnesses : site->supervisors;
	size_t n = role && role[0] == 'w' ? site->n_witnesses : site->n_supervisors;
	for (size_t i = 0; role && i < n; i++)
		if (strcmp(identity + strlen(role) + 1, names[i]) == 0)
			return true;
	return false;
}

/* escort.approve {identity, escort, room, reason, basis}: a supervisor approves that a
 * witness or supervisor enters an expert or tenderer room escorted by another supervisor
 * (docs/witness.md). */
static int handle_approve(struct controller *c, const struct request *req, json_t **result,
                          GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *identity = msg_read_string(&r, "identity", true, 64);
	const char *escort = msg_read_string(&r, "escort", true, 64);
	const char *room = msg_read_id(&r, "room", true);
	const char *reason = msg_read_string(&r, "reason", true, 500);
	const char *basis = msg_read_string(&r, "basis", true, 200);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!*reason || !*basis)
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "an approval names its reason and the recorded call or note it "
		                "rests on (args.reason, args.basis)");
	struct site *site = NULL;
	int rc = state_site_load(c->state, &site, err);
	if (rc != 0)
		return rc;
	const struct site_room *target = NULL;
	for (size_t i = 0; i < site->n_rooms; i++)
		if (strcmp(site->rooms[i].id, room) == 0)
			target = &site->rooms[i];
	if (!site_names(site, identity))
		rc =
		    ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		             "args.identity: %s is no witness or supervisor of the site", identity);
	else if (!g_str_has_prefix(escort, "supervisor-") || !site_names(site, escort))
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		              "args.escort: %s is no supervisor of the site (the escort is a "
		              "supervisor)",
		              escort);
	else if (strcmp(escort, identity) == 0)
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		              "args.escort: the escort must be another person than %s", identity);
	else if (!target)
		rc = ops_fail(err, REQUEST_ERROR_NOT_FOUND, ENOENT, "no room \"%s\"", room);
	else if (target->kind != SITE_ROOM_EXPERT && target->kind != SITE_ROOM_TENDERER)
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		              "room %s is a %s room: escorted entries are for expert and tenderer "
		              "rooms",
		              room, site_room_kind_name(target->kind));
	site_free(site);
	if (rc != 0)
		return rc;
	int64_t now = clock_now_us(), id = 0;
	rc = state_escort_approval_add(c->state, identity, escort, room, reason, basis,
	                               req->requester, now, now + ESCORT_APPROVAL_VALID_US, &id,
	                               err);
	if (rc != 0)
		return rc;
	log_info("escort approval %" G_GINT64_FORMAT ": %s into room %s escorted by %s, by %s", id,
	         identity, room, escort, req->requester);
	*result = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "approval",
	                    (json_int_t)id, "identity", identity, "escort", escort, "room", room,
	                    "reason", reason, "basis", basis, "supervisor", req->requester,
	                    "valid_until", (json_int_t)(now + ESCORT_APPROVAL_VALID_US), "window_s",
	                    (json_int_t)c->cfg.escort_window_s);
	return 0;
}

/* console.opened {page, allowed}: a witness, supervisor or tenderer's representative opened
 * (or was refused) a page of the web console (docs/witness.md "Who watched what"). The
 * dispatcher writes the audit record (the handler is audited); this appends a
 * console.viewed event to the archive of every open tender of today's session, the one
 * the console shows. Only the console's own front door runs it (REQUEST_LOCAL): a client
 * of the broker cannot make up page opens. */
static int handle_console_opened(struct controller *c, const struct request *req, json_t **result,
                                 GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *page = msg_read_string(&r, "page", true, 64);
	bool allowed = msg_read_bool(&r, "allowed", true, false);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (page[0] != '/')
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "args.page: \"%s\" is no path of the console", page);
	json_t *archived = json_array();
	archives_day_event(c, clock_now_us(), "console.viewed", req->requester,
	                   json_pack("{s:s, s:s, s:b}", "identity", req->requester, "page", page,
	                             "allowed", allowed),
	                   archived);
	*result = json_pack("{s:s, s:s, s:b, s:o}", "identity", req->requester, "page", page,
	                    "allowed", allowed, "tenders", archived);
	return 0;
}

const struct request_handler watch_request_handlers[] = {
    {"console.opened", ROLE_WITNESS | ROLE_SUPERVISOR | ROLE_REP | REQUEST_LOCAL,
     handle_console_opened, true},
    {"escort.approve", ROLE_SUPERVISOR, handle_approve, true},
    {"witness.note", ROLE_WITNESS, handle_note, true},
    {"witness.log", ROLE_OPERATOR | ROLE_AUDITOR | ROLE_WITNESS | ROLE_SUPERVISOR | ROLE_REP,
     handle_log, false},
    {"witness.sign", ROLE_WITNESS | ROLE_SUPERVISOR | ROLE_REP, handle_sign, true},
    {NULL, 0, NULL, false},
};
