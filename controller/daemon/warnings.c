/* Behaviour warnings (warnings.h): the live event stream into the rules engine, and each
 * warning out as an alert with its evidence span. */
#include "warnings.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alert_text.h"
#include "alerts.h"
#include "clock.h"
#include "local_time.h"
#include "log.h"
#include "retention_hold.h"
#include "route.h"
#include "state.h"
#include "warn_rules.h"

#define TICK_MS 1000

struct warnings {
	struct warn_rules *rules;
	GTimeZone *tz;
	struct clock_timer *tick;
	warnings_archive_fn archive;
};

static void limits_from(const struct controller_config *k, GTimeZone *tz, struct warn_limits *l)
{
	warn_limits_default(l);
	l->breaks_max = k->warn_breaks_max;
	l->breaks_window_s = k->warn_breaks_window_s;
	l->break_max_s = k->warn_break_max_s;
	l->sync_window_s = k->warn_sync_window_s;
	l->sync_min = k->warn_sync_min;
	l->sync_p_ppm = k->warn_sync_p_ppm;
	l->vacant_grace_s = k->warn_vacant_grace_s;
	l->entry_max_s = k->warn_entry_max_s;
	l->hours_from_min = k->warn_hours_from_min;
	l->hours_to_min = k->warn_hours_to_min;
	l->tz = tz;
}

/* The streams of W's places, as [{"room", "seat"?, "stream"}]. */
static json_t *evidence_streams(struct controller *c, const struct warning *w)
{
	json_t *out = json_array();
	for (int i = 0; i < w->n_places; i++) {
		const struct warn_place *p = &w->places[i];
		GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
		GError *err = NULL;
		if (route_place_streams(c->state, p->room, p->seat, ids, &err) != 0) {
			log_warnx("warning evidence: streams of %s: %s", p->room, err->message);
			g_clear_error(&err);
		}
		for (guint j = 0; j < ids->len; j++) {
			bool dup = false;
			size_t k;
			json_t *e;
			json_array_foreach(out, k, e) dup =
			    dup || strcmp(json_string_value(json_object_get(e, "stream")),
			                  ids->pdata[j]) == 0;
			if (dup)
				continue;
			json_t *s = json_pack("{s:s, s:s}", "room", p->room, "stream",
			                      (const char *)ids->pdata[j]);
			if (p->seat && *p->seat)
				json_object_set_new(s, "seat", json_string(p->seat));
			json_array_append_new(out, s);
		}
		g_ptr_array_unref(ids);
	}
	return out;
}

/* Keep the site's recordings of the warning's span from retention deletion: an evidence
 * hold until a person releases it (retention_hold.h). */
static void hold_span(struct controller *c, int64_t alert_id, const struct warning *w)
{
	char *why = g_strdup_printf("alert %" G_GINT64_FORMAT " %s", alert_id,
	                            warn_rule_name(w->rule));
	retention_hold(c, "warning", w->tender, alert_id, why, w->from_us, w->to_us);
	g_free(why);
}

static void on_warning(const struct warning *w, void *user)
{
	struct controller *c = user;
	json_t *streams = evidence_streams(c, w);
	json_t *evidence = json_pack("{s:I, s:I, s:O}", "from_us", (json_int_t)w->from_us,
	                             "to_us", (json_int_t)w->to_us, "streams", streams);
	json_t *extra = json_pack("{s:O}", "evidence", evidence);
	if (*w->person2)
		json_object_set_new(extra, "person2", json_string(w->person2));
	struct alert_subject s = {
	    .room = w->room, .seat = w->seat, .person = w->person, .tender = w->tender, .stream = ""};
	enum alert_kind kind = (enum alert_kind)(ALERT_WARN_BREAKS + w->rule);
	const char *args[WARN_TEXT_ARGS + 1];
	for (int i = 0; i < w->n_args; i++)
		args[i] = w->args[i];
	args[w->n_args] = NULL;
	int64_t id = alert_raise_text(c, kind, &s, w->text_id, args, extra);
	if (id > 0) {
		GPtrArray *tenders = g_ptr_array_new_with_free_func(g_free);
		GError *err = NULL;
		if (*w->tender)
			g_ptr_array_add(tenders, g_strdup(w->tender));
		else if (*w->room && route_room_tenders(c->state, w->room, w->at, tenders, &err))
			g_clear_error(&err);
		for (guint i = 0; c->warnings->archive && i < tenders->len; i++) {
			json_t *body = json_pack("{s:I, s:s, s:s, s:O}", "alert", (json_int_t)id,
			                         "kind", alert_kind_name(kind), "detail", w->detail,
			                         "evidence", evidence);
			c->warnings->archive(c, tenders->pdata[i], clock_source_now_us(c->clock),
			               "warning.evidence", "controller", body);
		}
		g_ptr_array_unref(tenders);
		hold_span(c, id, w);
	}
	json_decref(evidence);
	json_decref(streams);
}

static void tick(void *user)
{
	struct controller *c = user;
	struct warnings *w = c->warnings;
	w->tick = NULL;
	warn_rules_tick(w->rules, clock_source_now_us(c->clock));
	w->tick = clock_timer_start(c->clock, NULL, TICK_MS, tick, c);
}

int warnings_init(struct controller *c, warnings_archive_fn archive)
{
	GError *err = NULL;
	struct warn_limits l;
	GTimeZone *tz = local_time_zone_new(c->cfg.warn_time_zone, &err);
	if (!tz) {
		log_warnx("[warnings] time_zone: %s", err->message);
		g_error_free(err);
		return -EINVAL;
	}
	struct warnings *w = g_new0(struct warnings, 1);
	w->tz = tz;
	w->archive = archive;
	limits_from(&c->cfg, tz, &l);
	w->rules = warn_rules_new(&l, on_warning, c);
	c->warnings = w;
	w->tick = clock_timer_start(c->clock, NULL, TICK_MS, tick, c);
	return 0;
}

void warnings_free(struct controller *c)
{
	struct warnings *w = c->warnings;
	if (!w)
		return;
	clock_timer_stop(c->clock, w->tick);
	warn_rules_free(w->rules);
	g_time_zone_unref(w->tz);
	g_free(w);
	c->warnings = NULL;
}

void warnings_reload(struct controller *c)
{
	struct warn_limits l;
	if (!c->warnings)
		return;
	limits_from(&c->cfg, c->warnings->tz, &l);
	warn_rules_set_limits(c->warnings->rules, &l);
}

static void feed(struct controller *c, enum warn_input kind, int64_t at, const char *room,
                 const char *seat, const char *person, const char *tender)
{
	if (!c->warnings)
		return;
	struct warn_event ev = {kind, at, room, seat, person, tender};
	warn_rules_feed(c->warnings->rules, &ev);
}

void warnings_seat_event(struct controller *c, const char *room, const char *seat,
                         const char *event, const char *person, const char *tender, int64_t at)
{
	static const struct {
		const char *event;
		enum warn_input kind;
	} map[] = {
	    {"login", WIN_LOGIN},           {"logout", WIN_LOGOUT},
	    {"break_start", WIN_BREAK_START}, {"break_end", WIN_BREAK_END},
	    {"help", WIN_HELP},             {"wrong_code", WIN_SEAT_TRY},
	    {"code_used", WIN_SEAT_TRY},    {"code_expired", WIN_SEAT_TRY},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(map); i++)
		if (strcmp(map[i].event, event) == 0)
			feed(c, map[i].kind, at, room, seat, person, tender);
}

void warnings_door_event(struct controller *c, const char *room, const char *event,
                         const char *person, int64_t at)
{
	if (strcmp(event, "granted") == 0 && person && *person)
		feed(c, WIN_ENTRY, at, room, NULL, person, NULL);
	else if (strcmp(event, "rex") == 0)
		feed(c, WIN_REX, at, room, NULL, NULL, NULL);
}

/* One expert against one party of the tender (FIELD "tenderer" or "agency"). */
static void affinity_check(struct controller *c, const char *person, const char *tender,
                           const struct state_tender_parties *tp, const char *field,
                           const char *value)
{
	GError *err = NULL;
	struct state_affinity a = {.tenders = g_ptr_array_new_with_free_func(g_free)};
	if (state_history_affinity(c->state, person, tp->session, field, value, &a, &err) != 0) {
		log_warnx("draw affinity of %s: %s", person, err ? err->message : field);
		g_clear_error(&err);
		goto out;
	}
	int64_t k = (int64_t)a.tenders->len;
	if (k < c->cfg.warn_affinity_min || a.all_tenders <= 0)
		goto out;
	double mean = (double)a.person_tenders * (double)a.value_tenders / (double)a.all_tenders;
	double chance = warn_poisson_tail(k, mean);
	if (chance * 1e6 >= (double)c->cfg.warn_affinity_p_ppm)
		goto out;
	char n_k[24], n_all[24], n_mean[24], n_p[24];
	snprintf(n_k, sizeof n_k, "%" G_GINT64_FORMAT, k);
	snprintf(n_all, sizeof n_all, "%" G_GINT64_FORMAT, a.person_tenders);
	g_ascii_formatd(n_mean, sizeof n_mean, "%.2f", mean);
	g_ascii_formatd(n_p, sizeof n_p, "%.2g", chance);
	const char *text_id =
	    strcmp(field, "agency") == 0 ? "warn_affinity_agency" : "warn_affinity_tenderer";
	const char *args[] = {person, value, n_k, n_all, n_mean, n_p, NULL};
	char *detail = alert_text_render(text_id, args, 6, false);
	json_t *earlier = json_array();
	for (guint i = 0; i < a.tenders->len; i++)
		json_array_append_new(earlier, json_string(a.tenders->pdata[i]));
	json_t *extra = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:{s:I, s:I, s:[]}}", "party",
	                          field, "value", value, "earlier_tenders", earlier,
	                          "person_tenders", (json_int_t)a.person_tenders, "value_tenders",
	                          (json_int_t)a.value_tenders, "all_tenders",
	                          (json_int_t)a.all_tenders, "evidence", "from_us",
	                          (json_int_t)a.first_at, "to_us",
	                          (json_int_t)clock_source_now_us(c->clock), "streams");
	int64_t id = alert_raise_text(c, ALERT_WARN_AFFINITY,
	                              &(struct alert_subject){.person = person, .tender = tender},
	                              text_id, args, json_incref(extra));
	if (id > 0 && c->warnings && c->warnings->archive) {
		json_t *body = json_pack("{s:I, s:s, s:s?, s:O}", "alert", (json_int_t)id, "kind",
		                         "warn_affinity", "detail", detail, "evidence",
		                         json_object_get(extra, "evidence"));
		json_object_set(body, "earlier_tenders", earlier);
		c->warnings->archive(c, tender, clock_source_now_us(c->clock), "warning.evidence",
		                     "controller", body);
	}
	json_decref(extra);
	g_free(detail);
out:
	g_ptr_array_unref(a.tenders);
}

void warnings_after_request(struct controller *c, const struct request *req, const json_t *result,
                            const GError *err)
{
	(void)result;
	if (err || strcmp(req->command, "committee.import") != 0)
		return;
	const char *tender = json_string_value(json_object_get(req->args, "tender"));
	struct state_tender_parties tp;
	json_t *members = NULL;
	GError *e = NULL;
	if (!tender || state_tender_parties(c->state, tender, &tp, &e) != 0 ||
	    (!*tp.tenderer && !*tp.agency) ||
	    state_committee_list(c->state, tp.session, tender, &members, &e) != 0) {
		g_clear_error(&e);
		return;
	}
	size_t i;
	json_t *m;
	json_array_foreach(members, i, m)
	{
		const char *person = json_string_value(json_object_get(m, "person"));
		if (!person ||
		    g_strcmp0(json_string_value(json_object_get(m, "role")), "expert") != 0)
			continue;
		if (*tp.tenderer)
			affinity_check(c, person, tender, &tp, "tenderer", tp.tenderer);
		if (*tp.agency)
			affinity_check(c, person, tender, &tp, "agency", tp.agency);
	}
	json_decref(members);
}

void warnings_checkin(struct controller *c, const char *person, const char *tender,
                      const char *room, const char *seat, int64_t at)
{
	feed(c, WIN_CHECKIN, at, room, seat, person, tender);
}
