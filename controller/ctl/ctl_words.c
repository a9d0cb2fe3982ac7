/* State words for people: the catalogue's entries by context (ctl_words.h). */
#include "ctl_words.h"

#include <glib.h>
#include <glib/gi18n.h>

/* Marked for the catalogue only (translated where shown, by ctl_state_word): the states
 * evalroomctl shows that the web console does not. */
static const char *const state_words[] G_GNUC_UNUSED = {
    /* a person of the day at the desk (desk list): not yet checked in, checked in and
     * admitted to their room's door, in the room, left it */
    NC_("person state", "expected"),
    NC_("person state", "admitted"),
    NC_("person state", "inside"),
    NC_("person state", "out"),
    /* a draw (staff show): committed and waiting for the witness, or run */
    NC_("draw state", "committed"),
    NC_("draw state", "run"),
    /* who signs a handover of a post (staff sign): the person leaving it, the one taking it */
    NC_("handover role", "outgoing"),
    NC_("handover role", "incoming"),
    /* a tender's archive (archives) */
    NC_("archive state", "open"),
    NC_("archive state", "closed"),
    NC_("archive state", "sealed"),
    /* an operator audit record's outcome (audit): done, or the request error's code
     * (request.h) */
    NC_("audit outcome", "ok"),
    NC_("audit outcome", "refused"),
    NC_("audit outcome", "invalid"),
    NC_("audit outcome", "denied"),
    NC_("audit outcome", "not_found"),
    NC_("audit outcome", "conflict"),
    NC_("audit outcome", "expired"),
    NC_("audit outcome", "unavailable"),
    NC_("audit outcome", "rate_limited"),
    NC_("audit outcome", "internal"),
    /* a custody log record's kind (archive custody-log) */
    NC_("custody record", "fetch"),
    NC_("custody record", "retention"),
    NC_("custody record", "hold"),
    NC_("custody record", "release"),
    NC_("custody record", "deletion"),
    NC_("custody record", "copy"),
    NC_("custody record", "copy_bad"),
    NC_("custody record", "copy_removed"),
    NC_("custody record", "transfer"),
    NC_("custody record", "transfer_received"),
    NC_("custody record", "transfer_refused"),
    /* why a room did not confirm its recordings at a tender's close (tender close): the
     * controller's fixed reasons (controller/daemon/archives.c); any other reason, an
     * agent's own, is shown as it came */
    NC_("unconfirmed room", "no answer"),
    NC_("unconfirmed room", "not asked (wait_s = 0)"),
};

const char *ctl_state_word(const char *context, const char *value)
{
	if (!value || !*value)
		return "-";
	return g_dpgettext2(NULL, context, value);
}
