/* evalroomctl subcommands of the operator's console (issue 8): alerts, alert ack,
 * alert resolve, rooms and the full-screen watch. */
#pragma once
#include <jansson.h>

#include "ctl.h"
#include "ctl_words.h"

/* The subcommands, terminated by a zeroed entry (for ctl_command_tables). */
extern const struct ctl_command alert_ctl_commands[];

/* ctl_cmd_watch: the full-screen view (ctl_watch.c). */
int ctl_cmd_watch(struct ctl *ctl, int argc, char **argv);

/* ctl_alert_subject: "room R seat S tender T ..." of ALERT into BUF (members present
 * only) in the reader's language; "-" when it has none. Returns BUF. */
char *ctl_alert_subject(const json_t *alert, char *buf, size_t size);
/* ctl_alert_kind_name: the name a person reads for alert kind KIND in the reader's
 * language (alert_kind_text, the table the web console and `alerts` use), or KIND itself
 * for a kind this client does not know. */
const char *ctl_alert_kind_name(const char *kind);
/* ctl_venue_line: one line on a secondary venue of the `rooms` result (its link, since
 * when, and the backlog its rooms hold) into BUF. Returns BUF. */
char *ctl_venue_line(struct ctl *ctl, const json_t *venue, char *buf, size_t size);
/* ctl_seat_summary: "<logged in>/<expected> in, <free> free, <offline> off" of a room of
 * the `rooms` result into BUF. Returns BUF. */
char *ctl_seat_summary(const json_t *room, char *buf, size_t size);
/* ctl_streams_summary: "n rec, m LOST" of a room's streams into BUF ("-" when none). */
char *ctl_streams_summary(const json_t *room, char *buf, size_t size);
/* The rooms table of `rooms` and `watch`: ROOM KIND AGENT DOOR LOCKDOWN STREAMS SEATS
 * TENDERS ALERTS. */
#define CTL_ROOM_COLS 9
struct ctl_room_buf {
	char seats[96], streams[64], tenders[24], open[24];
};
/* ctl_room_headers: the table's headers in the reader's language into HEAD. */
void ctl_room_headers(const char *head[CTL_ROOM_COLS]);
/* ctl_room_cells: the cells of ROOM (an entry of the `rooms` result) in the reader's
 * language into CELLS; they point into ROOM, the catalogue or BUF, so live as long as
 * the first and the last. */
void ctl_room_cells(const json_t *room, struct ctl_room_buf *buf, const char *cells[CTL_ROOM_COLS]);
/* ctl_alert_detail: ALERT's detail sentence in the reader's language (from its
 * extra.text: an alert text id and arguments, alert_text.h), else the English detail the
 * controller stored. A new string (g_free). */
char *ctl_alert_detail(const json_t *alert);
