/* evalroom-controller internals shared by its modules (not a public API): the daemon's
 * configuration and the struct every module is handed. Modules publish, report refused
 * messages and read the sequence numbers through c->node (common/node.h). */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "mqtt_session.h"
#include "msg.h"
#include "node.h"
#include "request.h"

struct controller_config {
	char *mqtt_uri, *ca, *cert, *key;
	char *state_dir;
	char *archive_dir;
	char *signing_key;
	char *site; /* [controller] site: named in every archive checkpoint's origin */
	char *second_signing_key; /* [controller] second_signing_key: SM2 (or Ed25519), or NULL */
	char *tsa_url;          /* [controller] tsa_url: RFC 3161 TSA for sealed tenders, or NULL */
	int64_t tsa_timeout_ms; /* [controller] tsa_timeout_ms, default 10000 */
	char *credential_key;   /* [controller] credential_key: the site credential key file */
	char *id_number_key;    /* [controller] id_number_key: default state_dir/id-number.key */
	int retention_days;     /* site retention archives older than this are deleted; 0 keeps */
	int64_t checkpoint_interval_s; /* [controller] checkpoint_interval_s, default 60 */
	int64_t clock_skew_limit_ms;   /* [alerts] clock_skew_limit_ms, default 2000 */
	int64_t offline_grace_ms;      /* [alerts] offline_grace_ms, default 2000 */
	int64_t admission_window_s;    /* [controller] admission_window_s, default 300 */
	int64_t login_code_valid_s;    /* [controller] login_code_valid_s, default 43200 */
	int64_t never_connected_ms;    /* [alerts] never_connected_ms, default 15000 */
	/* [alerts] venue_fault_warn_s (default 10800) and venue_fault_limit_s (default 14400):
	 * a venue link down this long raises venue_fault_near; the rule's limit it names */
	int64_t venue_fault_warn_s;
	int64_t venue_fault_limit_s;
	int64_t escort_window_s;       /* [controller] escort_window_s: two-person rule, 30 */
	/* [staff]: the staff draw's rotation rules (docs/staff.md) */
	int64_t staff_max_in_row;      /* max_in_row: same post / same agency in a row, 3 */
	int64_t staff_tenure_warn_days;  /* tenure_warn_days: alert beyond, 365 */
	int64_t staff_tenure_limit_days; /* tenure_limit_days: refused beyond, 730 */
	/* [draw_room] review_due_s: a closed tender's draw-room footage must be reviewed
	 * within this, else draw_room_unreviewed (default 604800, 7 days); check_s how often
	 * that is looked at (default 60) */
	int64_t draw_room_review_due_s;
	int64_t draw_room_check_s;
	/* [archive_disk]: when the archive disk's alerts are raised (archive_disk.c) */
	int64_t disk_check_s;          /* check_s, default 10 */
	int64_t disk_low_free_percent; /* low_free_percent, default 10 */
	int64_t disk_low_days;         /* low_days (at the current write rate), default 7 */
	int64_t disk_full_free_mb;     /* full_free_mb, default 256 */
	/* [custody]: the sealed archives' custody (custody.c, archive_fetch.c) */
	int64_t custody_retention_days; /* retention_days from the seal, default 5479 (15 y) */
	/* [copies]: backup stores of the sealed archives (copies.c) */
	char *copy_stores;              /* stores: absolute directories, ';'-separated */
	int64_t copies_due_s;           /* due_s: verified copies expected this long after the seal */
	int64_t copies_check_s;         /* check_s: how often missing copies are (re)made */
	int64_t copies_reverify_s;      /* reverify_s: every copy read back, default daily */
	int64_t copies_verify_mb_per_s; /* verify_mb_per_s: the re-verification's read rate */

	/* [requests]: a token bucket per requester identity (requests.c); 0 in either: none */
	int64_t request_burst;        /* burst, default 50 */
	int64_t request_refill_per_s; /* refill_per_s (requests a second), default 20 */

	/* [console]: the web console (console_link.c); console_on when the group exists */
	bool console_on;
	unsigned console_port;
	char *console_bind, *console_cert, *console_key, *console_ca;
	char *console_time_zone; /* [console] time_zone ("" for local_time.h's default) */
	/* [warnings]: the behaviour warning rules' thresholds (warnings.c, docs/warnings.md) */
	int64_t warn_breaks_max, warn_breaks_window_s, warn_break_max_s;
	int64_t warn_sync_window_s, warn_sync_min, warn_sync_p_ppm;
	int64_t warn_vacant_grace_s, warn_entry_max_s;
	int64_t warn_affinity_min, warn_affinity_p_ppm;
	int64_t warn_hours_from_min, warn_hours_to_min; /* hours = HH:MM-HH:MM, local */
	char *warn_time_zone; /* [warnings] time_zone: the zone of the hours (local_time.h) */

	bool log_debug;     /* [log] debug: debug messages (as -v), default false */
	struct config *file; /* the file as loaded at start: what a reload compares with */
};

/* What the controller knows of one room agent's presence (from its retained status). */
struct room_presence {
	char room[40];
	bool online;
	int64_t since_us; /* controller time of the last change */
	int64_t agent_ts; /* the agent's own timestamp of its last status */
	uint64_t seq;     /* the sequence number of its last status */
	char state[16];   /* online | offline | stopped */
	int64_t started;  /* when the agent last started, as its status says (0: not said) */
	/* the backlog its last status reported (zero when it said none) */
	struct node_backlog backlog;
};

struct controller {
	struct controller_config cfg;
	GMainLoop *loop;
	/* Time for command expiry, alerts' grace periods and agent command timeouts: NULL
	 * is the system clock; tests hand a clock_fake (common/clock.h). */
	const struct clock_source *clock;
	struct mqtt_session *mqtt;
	struct node *node; /* publish, error replies, status, replay cache, topic routes */
	bool connected;
	int64_t started_us;
	GHashTable *rooms;                 /* room id -> struct room_presence */
	struct state *state;               /* state.db */
	struct agents *agents;             /* commands to agents (agents.c) */
	struct doors *doors;               /* door requests (doors.c) */
	struct archives *archives;         /* tender and retention archives (archives.c) */
	struct ingest *ingest;             /* media ingest (ingest.c) */
	struct alerts *alerts;             /* alerts.c */
	struct view *view;                 /* view.c */
	struct checkin *checkin;           /* checkin.c */
	struct venues *venues;             /* venues.c */
	struct archive_disk *archive_disk; /* archive_disk.c */
	struct console *console;           /* the web console (console_link.c); NULL: off */
	struct custody *custody;           /* custody.c: the custody log, holds, retention */
	struct key_history *key_history;   /* keys.c: the signing keys over time */
	int key_lock_fd;                   /* keys.c: holds state_dir/key-history.lock, or -1 */
	uint8_t key_current[32];           /* keys.c: the signing key's raw public key */
	char key2_current[65];             /* keys.c: the second key's id, or "" */
	const char *key2_algorithm;        /* keys.c: "sm2-sm3" or "ed25519" (a static string) */
	struct fetches *fetches;           /* archive_fetch.c: retrievals under way */
	struct copies *copies;             /* copies.c: verified copies in the backup stores */
	struct warnings *warnings;         /* warnings.c */
	GHashTable *live_streams;          /* live_view.c: "room/stream" -> its seat, state */
	GHashTable *calls;                 /* calls.c: the calls that ring or are up, by room/seat */
	GHashTable *live_open;             /* live_view.c: the live views open, by viewer id */
	/* After every answered operator request, at once or deferred (requests.c,
	 * request_reply.c): main sets it to archives_after_request; NULL: nothing. */
	void (*after_request)(struct controller *c, const struct request *req,
	                      const json_t *result, const GError *err);
	/* The custody of sealed archives (custody.c), told by archives.c without depending
	 * on it: main sets them to custody_on_sealed (TENDER's archive was sealed at
	 * SEALED_US) and custody_archive_json (what archives.list shows of NAME's custody,
	 * added to ENTRY); NULL: nothing. */
	void (*archive_sealed)(struct controller *c, const char *tender, int64_t sealed_us);
	/* The tenders whose seal waits for rooms of VENUE: a new array of ids (archives.c sets
	 * it to archives_seal_waiting; NULL in tests without archives). */
	json_t *(*seal_waiting)(struct controller *c, const char *venue);
	void (*archive_describe)(struct controller *c, const char *name, json_t *entry);
	/* TENDER's archive was deleted after its retention (custody.c): main sets it to
	 * copies_on_deleted; NULL: nothing. */
	void (*archive_deleted)(struct controller *c, const char *tender);
	/* TENDER's sealed archive gained an appendix after its seal (an RFC 3161 token, a
	 * witness log signature): main sets it to copies_on_appendix; NULL: nothing. */
	void (*archive_appendix)(struct controller *c, const char *tender);
};
