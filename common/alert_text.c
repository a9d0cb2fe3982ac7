#include "alert_text.h"

#include <glib.h>
#include <glib/gi18n.h>
#include <string.h>

/* The texts, English as the source. Numbers arrive printed (C locale). */
static const struct {
	const char *id;
	const char *kind; /* the alert kind it is the detail of (alerts.h, by name) */
	const char *text;
} texts[] = {
    /* TRANSLATORS: the room id and its agent's connection state (a code word). */
    {"agent_offline", "agent_offline", N_("room agent %s is %s: its door works locally, but nothing it sees "
                         "reaches the controller")},
    {"agent_never_connected", "agent_offline", N_("room agent %s has not connected since the controller started")},
    /* TRANSLATORS: room, number of losses, window in seconds. */
    {"agent_flapping", "agent_flapping", N_("room agent %s lost its broker session %s times within %s s: a "
                          "network fault, or its certificate in use on another machine")},
    /* TRANSLATORS: number of losses, window in seconds, the last reason (English). */
    {"controller_flapping", "controller_flapping",
     N_("the controller lost its broker session %s times within %s s (last: %s): a network or "
        "broker fault, or its certificate in use on another machine")},
    /* TRANSLATORS: room, skew in seconds, limit in seconds. */
    {"clock_behind", "clock_skew", N_("room agent %s's clock is %s s behind the controller's (limit %s s)")},
    {"clock_ahead", "clock_skew", N_("room agent %s's clock is %s s ahead of the controller's (limit %s s)")},
    {"wrong_room_unknown", "wrong_room",
     N_("the door of room %s was tried with a credential admitted to another room")},
    /* TRANSLATORS: person, the room whose door was tried, the room they are admitted to. */
    {"wrong_room", "wrong_room", N_("person %s tried the door of room %s: admitted to room %s")},
    {"door_forced", "door_forced", N_("door of room %s forced open (opened while locked)")},
    {"door_held", "door_held", N_("door of room %s held open too long")},
    {"tamper", "tamper", N_("tamper switch of room %s's door or reader")},
    {"door_fault", "door_fault", N_("door of room %s: fault")},
    /* TRANSLATORS: room, the door's own description of the fault (English). */
    {"door_fault_detail", "door_fault", N_("door of room %s: fault: %s")},
    /* TRANSLATORS: stream, room. */
    {"stream_lost", "stream_lost", N_("stream %s of room %s lost: the gap is recorded")},
    /* TRANSLATORS: stream, room, the recorder's reason (English). */
    {"stream_lost_reason", "stream_lost", N_("stream %s of room %s lost: %s: the gap is recorded")},
    /* TRANSLATORS: stream, room, seat. */
    {"seat_stream_lost", "stream_lost", N_("stream %s of room %s seat %s lost: the gap is recorded")},
    /* TRANSLATORS: stream, room, seat, the recorder's reason (English). */
    {"seat_stream_lost_reason", "stream_lost", N_("stream %s of room %s seat %s lost: %s: the gap is recorded")},
    /* TRANSLATORS: room, MB used, MB quota. */
    {"spool_low", "spool_low", N_("room agent %s's spool is low: %s of %s MB used; recordings wait there "
                     "until the controller has them")},
    {"spool_full", "spool_full", N_("room agent %s's spool is full: %s of %s MB used; recordings wait there "
                      "until the controller has them")},
    /* TRANSLATORS: directory, MiB free, MiB total, percent free. */
    {"archive_disk", "archive_disk_low", N_("archive disk %s: %s MiB free of %s MiB (%s %%)")},
    /* TRANSLATORS: directory, MiB free, MiB total, percent free, days left. */
    {"archive_disk_days", "archive_disk_low", N_("archive disk %s: %s MiB free of %s MiB (%s %%), %s days left at "
                             "the current rate")},
    {"archive_disk_full", "archive_disk_full", N_("archive disk %s: %s MiB free of %s MiB (%s %%): archive writes "
                             "will fail; free space or add a disk now")},
    /* TRANSLATORS: archive name, what was not stored (English), why (English). */
    {"archive_write_failed", "archive_write_failed", N_("archive %s: %s not stored: %s")},
    /* TRANSLATORS: person, room. */
    {"not_entered", "not_entered", N_("%s did not enter room %s within the admission window")},
    /* TRANSLATORS: desk, number of wrong numbers, minutes, person. */
    {"id_guessing", "id_guessing", N_("desk %s gave %s wrong identity numbers within %s minutes (last for "
                       "%s): its check-ins are refused until the window ends")},
    /* TRANSLATORS: person, desk. */
    {"screening_failed", "screening_failed", N_("%s failed the security screening at %s")},
    /* TRANSLATORS: person, desk, the desk's note. */
    {"screening_failed_note", "screening_failed", N_("%s failed the security screening at %s: %s")},
    /* TRANSLATORS: person, the seat whose code it was, the seat used, room. */
    {"wrong_seat", "wrong_seat", N_("%s entered the login code of seat %s at seat %s of room %s")},
    /* TRANSLATORS: seat, room. */
    {"seat_locked", "seat_locked", N_("seat %s of room %s is blocked after too many wrong login codes; an "
                       "operator must unlock it")},
    {"help_requested", "help_requested", N_("help requested at seat %s of room %s")},
    {"terminal_offline", "terminal_offline", N_("the terminal of seat %s of room %s is silent")},
    /* TRANSLATORS: seat, room, the reason (English). */
    {"terminal_offline_reason", "terminal_offline", N_("the terminal of seat %s of room %s is silent: %s")},
    /* TRANSLATORS: archive (tender), backup store, why (English). */
    {"archive_copy_failed", "archive_copy_failed",
     N_("archive %s: the copy to backup store %s failed: %s")},
    /* TRANSLATORS: archive (tender), backup store, why (English). */
    {"archive_copy_remove_failed", "archive_copy_failed",
     N_("archive %s was deleted, but its copy in backup store %s could not be removed: %s")},
    /* TRANSLATORS: archive (tender), verified copies, stores, seconds since the seal. */
    {"archive_copies_missing", "archive_copies_missing",
     N_("archive %s: %s of %s verified copies %s s after its seal")},
    /* TRANSLATORS: archive (tender), backup store, why (English). */
    {"archive_copy_bad", "archive_copy_bad",
     N_("archive %s: its copy in backup store %s is bad: %s; it is copied again")},
    /* TRANSLATORS: person, seat, room, breaks, window in minutes, breaks allowed. */
    {"warn_breaks", "warn_breaks",
     N_("%s left seat %s of room %s %s times within %s minutes (allowed: %s)")},
    /* TRANSLATORS: person, seat, room, when the break began (site time), minutes. */
    {"warn_long_break", "warn_long_break",
     N_("%s has been on a break from seat %s of room %s since %s, longer than %s minutes")},
    /* TRANSLATORS: expert, room, other expert, room, tender, window in seconds, times,
     * times expected by chance, probability. */
    {"warn_synchronised", "warn_synchronised",
     N_("%s (room %s) and %s (room %s) of tender %s acted within %s s of each other %s times "
        "(expected by chance %s, probability %s)")},
    /* TRANSLATORS: seat, room. */
    {"warn_vacant_logout", "warn_vacant_seat",
     N_("a logout at seat %s of room %s while nobody is logged in there")},
    {"warn_vacant_break", "warn_vacant_seat",
     N_("a break at seat %s of room %s while nobody is logged in there")},
    {"warn_vacant_return", "warn_vacant_seat",
     N_("a return from break at seat %s of room %s while nobody is logged in there")},
    {"warn_vacant_help", "warn_vacant_seat",
     N_("a help call at seat %s of room %s while nobody is logged in there")},
    /* TRANSLATORS: login attempts, seat, room, seconds. */
    {"warn_vacant_tries", "warn_vacant_seat",
     N_("%s login attempt(s) at seat %s of room %s and nobody logged in there within %s s")},
    /* TRANSLATORS: room, when (site time), the number of people inside. */
    {"warn_inside_exit", "warn_inside_exit",
     N_("the door of room %s was opened from inside at %s while all %s people inside were "
        "logged in at their seats")},
    /* TRANSLATORS: person, when (site time), the day's hours (HH:MM-HH:MM). */
    {"warn_off_hours_admitted", "warn_off_hours",
     N_("%s was admitted at %s, outside the day's hours %s")},
    {"warn_off_hours_entered", "warn_off_hours",
     N_("%s entered at %s, outside the day's hours %s")},
    {"warn_off_hours_login", "warn_off_hours",
     N_("%s logged in at %s, outside the day's hours %s")},
    /* TRANSLATORS: person, room, seconds after check-in, seconds allowed. */
    {"warn_entry_late", "warn_entry_late",
     N_("%s entered room %s %s s after check-in (allowed: %s s)")},
    /* TRANSLATORS: expert, tenderer, earlier tenders, all their tenders, expected by
     * chance, probability. */
    {"warn_affinity_tenderer", "warn_affinity",
     N_("%s sits on a committee of tenderer %s again: %s earlier tenders of theirs out of %s "
        "(expected by chance %s, probability %s)")},
    /* TRANSLATORS: expert, agency, earlier tenders, all their tenders, expected by chance,
     * probability. */
    {"warn_affinity_agency", "warn_affinity",
     N_("%s sits on a committee of agency %s again: %s earlier tenders of theirs out of %s "
        "(expected by chance %s, probability %s)")},
    /* TRANSLATORS: venue. */
    {"venue_link_lost", "venue_link_lost",
     N_("the link to venue %s is down: its doors decide from their lists, its recordings and "
        "events wait there; the fault clock runs")},
    /* TRANSLATORS: venue, minutes down, the limit in minutes. */
    {"venue_fault_near", "venue_fault_near",
     N_("the link to venue %s has been down for %s min; a fault not mended within %s min "
        "during an evaluation calls for a new committee")},
    /* TRANSLATORS: tender, venue, its rooms (a list), segments they held when last heard of. */
    {"tender_seal_waiting", "tender_seal_waiting",
     N_("tender %s is not sealed: its seal waits for venue %s (rooms %s, %s segments there "
        "when last heard of); it seals by itself once they have flushed, or seal it anyway "
        "with a reason")},
    /* TRANSLATORS: witness, the witness's note (as written). */
    {"witness_breach", "witness_breach", N_("%s recorded a breach: %s")},
    /* TRANSLATORS: witness, room, the witness's note (as written). */
    {"witness_breach_room", "witness_breach", N_("%s recorded a breach in room %s: %s")},
    /* TRANSLATORS: witness, room, seat, the witness's note (as written). */
    {"witness_breach_seat", "witness_breach",
     N_("%s recorded a breach in room %s seat %s: %s")},
    {"witness_incident", "witness_breach", N_("%s recorded an incident: %s")},
    {"witness_incident_room", "witness_breach", N_("%s recorded an incident in room %s: %s")},
    {"witness_incident_seat", "witness_breach",
     N_("%s recorded an incident in room %s seat %s: %s")},
    /* TRANSLATORS: person, room, seconds, the approval's number. */
    {"escort_missing_escort", "escort_missing",
     N_("%s presented a credential at the door of room %s but the escort's did not follow "
        "within %s s: the door stayed locked (escorted entry, approval %s)")},
    {"escort_missing_escorted", "escort_missing",
     N_("%s presented a credential at the door of room %s but the escorted person's did not "
        "follow within %s s: the door stayed locked (escorted entry, approval %s)")},
    /* TRANSLATORS: staff member's identity, post, tender, the date since which they hold
     * the post, days. */
    {"staff_post_tenure", "staff_post_tenure",
     N_("%s was drawn to post %s of tender %s, held since %s (%s days): more than a year on "
        "one post; rotate them soon")},
    /* TRANSLATORS: tender, hours since its close. */
    {"draw_room_unreviewed", "draw_room_unreviewed",
     N_("the draw-room footage of tender %s is not reviewed %s h after its close: the "
        "operations office must review it")},
    /* TRANSLATORS: the representative's identity, the draw room, the time they presented
     * their credential, seconds. */
    {"escort_missing_draw_room_rep", "escort_missing",
     N_("%s, the tenderer's representative, presented a credential at the door of draw room "
        "%s at %s but no witness followed within %s s: the door stayed locked (the "
        "representative and a witness enter together)")},
    /* TRANSLATORS: the witness's identity, the draw room, the time they presented their
     * credential, seconds. */
    {"escort_missing_draw_room_witness", "escort_missing",
     N_("%s, the witness, presented a credential at the door of draw room %s at %s but no "
        "tenderer's representative followed within %s s: the door stayed locked (the "
        "representative and a witness enter together)")},
    /* TRANSLATORS: room, person, the approval's number. */
    {"escort_wait_restarted", "escort_missing",
     N_("the agent of room %s restarted while %s waited at its door for the other credential: "
        "the wait ended, the door stayed locked, both must present their credentials again "
        "(escorted entry, approval %s)")},
};

/* The alert kinds (controller/daemon/alerts.h, by name) as a person calls them. */
static const struct {
	const char *kind;
	const char *text;
} kinds[] = {
    {"door_forced", N_("door forced open")},
    {"door_held", N_("door held open")},
    {"tamper", N_("tamper")},
    {"wrong_room", N_("wrong room")},
    {"wrong_seat", N_("wrong seat")},
    {"seat_locked", N_("seat locked")},
    {"not_entered", N_("not entered")},
    {"screening_failed", N_("security screening failed")},
    {"agent_offline", N_("room agent offline")},
    {"terminal_offline", N_("seat terminal offline")},
    {"stream_lost", N_("recording stream lost")},
    {"spool_low", N_("agent spool low")},
    {"spool_full", N_("agent spool full")},
    {"clock_skew", N_("clock skew")},
    {"door_fault", N_("door fault")},
    {"help_requested", N_("help requested")},
    {"archive_disk_low", N_("archive disk low")},
    {"archive_disk_full", N_("archive disk full")},
    {"archive_write_failed", N_("archive write failed")},
    {"id_guessing", N_("identity number guessing")},
    {"agent_flapping", N_("room agent connection unstable")},
    {"controller_flapping", N_("controller connection unstable")},
    {"archive_copy_failed", N_("backup copy failed")},
    {"archive_copies_missing", N_("backup copies missing")},
    {"archive_copy_bad", N_("backup copy bad")},
    {"warn_breaks", N_("warning: many breaks")},
    {"warn_long_break", N_("warning: long break")},
    {"warn_synchronised", N_("warning: synchronised actions")},
    {"warn_vacant_seat", N_("warning: activity at a vacant seat")},
    {"warn_inside_exit", N_("warning: door opened from inside")},
    {"warn_off_hours", N_("warning: outside the day's hours")},
    {"warn_entry_late", N_("warning: late entry")},
    {"warn_affinity", N_("warning: committee affinity")},
    {"venue_link_lost", N_("venue link lost")},
    {"venue_fault_near", N_("venue fault limit near")},
    {"tender_seal_waiting", N_("tender seal waits for a venue")},
    {"witness_breach", N_("breach recorded by a witness")},
    {"escort_missing", N_("escort missing")},
    {"staff_post_tenure", N_("staff post held too long")},
    {"draw_room_unreviewed", N_("draw-room footage not reviewed")},
};

const char *alert_text_template(const char *id)
{
	for (size_t i = 0; id && i < G_N_ELEMENTS(texts); i++)
		if (strcmp(texts[i].id, id) == 0)
			return texts[i].text;
	return NULL;
}

const char *alert_text_kind(const char *id)
{
	for (size_t i = 0; id && i < G_N_ELEMENTS(texts); i++)
		if (strcmp(texts[i].id, id) == 0)
			return texts[i].kind;
	return NULL;
}

bool alert_kind_has_text(const char *kind)
{
	for (size_t i = 0; kind && i < G_N_ELEMENTS(texts); i++)
		if (strcmp(texts[i].kind, kind) == 0)
			return true;
	return false;
}

const char *alert_kind_text(const char *kind)
{
	for (size_t i = 0; kind && i < G_N_ELEMENTS(kinds); i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return kinds[i].text;
	return NULL;
}

char *alert_text_format(const char *tmpl, const char *const *args, size_t n)
{
	GString *out = g_string_new(NULL);
	size_t next = 0;
	bool numbered = false, plain = false;

	for (const char *p = tmpl; *p; p++) {
		if (*p != '%') {
			g_string_append_c(out, *p);
			continue;
		}
		p++;
		if (*p == '%') {
			g_string_append_c(out, '%');
			continue;
		}
		size_t k;
		if (*p == 's') {
			plain = true;
			k = next++;
		} else if (*p >= '1' && *p <= '9' && p[1] == '$' && p[2] == 's') {
			numbered = true;
			k = (size_t)(*p - '1');
			p += 2;
		} else {
			goto err;
		}
		if (k >= n || (numbered && plain))
			goto err;
		g_string_append(out, args[k] ? args[k] : "");
	}
	if (plain && next != n)
		goto err;
	if (!plain && !numbered && n != 0)
		goto err;
	return g_string_free(out, FALSE);
err:
	g_string_free(out, TRUE);
	return NULL;
}

char *alert_text_render(const char *id, const char *const *args, size_t n, bool translate)
{
	const char *tmpl = alert_text_template(id);

	if (!tmpl || n > ALERT_TEXT_ARGS_MAX)
		return NULL;
	char *s = alert_text_format(translate ? _(tmpl) : tmpl, args, n);
	/* A translation that does not fit its arguments falls back to the English. */
	if (!s && translate)
		s = alert_text_format(tmpl, args, n);
	return s;
}
