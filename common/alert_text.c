#include "alert_text.h"

#include <glib.h>
#include <glib/gi18n.h>
#include <string.h>

/* The texts, English as the source. Numbers arrive printed (C locale). */
static const struct {
	const char *id;
	const char *text;
} texts[] = {
    /* TRANSLATORS: the room id and its agent's connection state (a code word). */
    {"agent_offline", N_("room agent %s is %s: its door works locally, but nothing it sees "
                         "reaches the controller")},
    {"agent_never_connected", N_("room agent %s has not connected since the controller started")},
    /* TRANSLATORS: room, number of losses, window in seconds. */
    {"agent_flapping", N_("room agent %s lost its broker session %s times within %s s: a "
                          "network fault, or its certificate in use on another machine")},
    /* TRANSLATORS: number of losses, window in seconds, the last reason (English). */
    {"controller_flapping",
     N_("the controller lost its broker session %s times within %s s (last: %s): a network or "
        "broker fault, or its certificate in use on another machine")},
    /* TRANSLATORS: room, skew in seconds, limit in seconds. */
    {"clock_behind", N_("room agent %s's clock is %s s behind the controller's (limit %s s)")},
    {"clock_ahead", N_("room agent %s's clock is %s s ahead of the controller's (limit %s s)")},
    {"wrong_room_unknown",
     N_("the door of room %s was tried with a credential admitted to another room")},
    /* TRANSLATORS: person, the room whose door was tried, the room they are admitted to. */
    {"wrong_room", N_("person %s tried the door of room %s: admitted to room %s")},
    {"door_forced", N_("door of room %s forced open (opened while locked)")},
    {"door_held", N_("door of room %s held open too long")},
    {"tamper", N_("tamper switch of room %s's door or reader")},
    {"door_fault", N_("door of room %s: fault")},
    /* TRANSLATORS: room, the door's own description of the fault (English). */
    {"door_fault_detail", N_("door of room %s: fault: %s")},
    /* TRANSLATORS: stream, room. */
    {"stream_lost", N_("stream %s of room %s lost: the gap is recorded")},
    /* TRANSLATORS: stream, room, the recorder's reason (English). */
    {"stream_lost_reason", N_("stream %s of room %s lost: %s: the gap is recorded")},
    /* TRANSLATORS: stream, room, seat. */
    {"seat_stream_lost", N_("stream %s of room %s seat %s lost: the gap is recorded")},
    /* TRANSLATORS: stream, room, seat, the recorder's reason (English). */
    {"seat_stream_lost_reason", N_("stream %s of room %s seat %s lost: %s: the gap is recorded")},
    /* TRANSLATORS: room, MB used, MB quota. */
    {"spool_low", N_("room agent %s's spool is low: %s of %s MB used; recordings wait there "
                     "until the controller has them")},
    {"spool_full", N_("room agent %s's spool is full: %s of %s MB used; recordings wait there "
                      "until the controller has them")},
    /* TRANSLATORS: directory, MiB free, MiB total, percent free. */
    {"archive_disk", N_("archive disk %s: %s MiB free of %s MiB (%s %%)")},
    /* TRANSLATORS: directory, MiB free, MiB total, percent free, days left. */
    {"archive_disk_days", N_("archive disk %s: %s MiB free of %s MiB (%s %%), %s days left at "
                             "the current rate")},
    {"archive_disk_full", N_("archive disk %s: %s MiB free of %s MiB (%s %%): archive writes "
                             "will fail; free space or add a disk now")},
    /* TRANSLATORS: archive name, what was not stored (English), why (English). */
    {"archive_write_failed", N_("archive %s: %s not stored: %s")},
    /* TRANSLATORS: person, room. */
    {"not_entered", N_("%s did not enter room %s within the admission window")},
    /* TRANSLATORS: desk, number of wrong numbers, minutes, person. */
    {"id_guessing", N_("desk %s gave %s wrong identity numbers within %s minutes (last for "
                       "%s): its check-ins are refused until the window ends")},
    /* TRANSLATORS: person, desk. */
    {"screening_failed", N_("%s failed the security screening at %s")},
    /* TRANSLATORS: person, desk, the desk's note. */
    {"screening_failed_note", N_("%s failed the security screening at %s: %s")},
    /* TRANSLATORS: person, the seat whose code it was, the seat used, room. */
    {"wrong_seat", N_("%s entered the login code of seat %s at seat %s of room %s")},
    /* TRANSLATORS: seat, room. */
    {"seat_locked", N_("seat %s of room %s is blocked after too many wrong login codes; an "
                       "operator must unlock it")},
    {"help_requested", N_("help requested at seat %s of room %s")},
    {"terminal_offline", N_("the terminal of seat %s of room %s is silent")},
    /* TRANSLATORS: seat, room, the reason (English). */
    {"terminal_offline_reason", N_("the terminal of seat %s of room %s is silent: %s")},
    /* TRANSLATORS: staff member's identity, post, tender, the date since which they hold
     * the post, days. */
    {"staff_post_tenure", N_("%s was drawn to post %s of tender %s, held since %s (%s days): "
                             "more than a year on one post; rotate them soon")},
    /* TRANSLATORS: tender, hours since its close. */
    {"draw_room_unreviewed", N_("the draw-room footage of tender %s is not reviewed %s h after "
                                "its close: the operations office must review it")},
};

const char *alert_text_template(const char *id)
{
	for (size_t i = 0; id && i < G_N_ELEMENTS(texts); i++)
		if (strcmp(texts[i].id, id) == 0)
			return texts[i].text;
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
