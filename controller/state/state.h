/* The controller's state: state.db (SQLite, WAL, foreign keys on), schema in
 * schemas/sql/state.sql. One struct state per process, used from the main loop only.
 *
 * Errors: functions return 0 or -errno and set *err in the REQUEST_ERROR domain
 * (request.h), so an operation can hand them to the requester as they are:
 * -ENOENT = NOT_FOUND, -EEXIST = CONFLICT, -EIO = INTERNAL (SQLite failure, logged
 * with the statement's context). Strings in the structs below are NUL-terminated
 * copies; ids are at most 32 bytes (msg.h MSG_ID_MAX). */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define STATE_SCHEMA_VERSION 9
#define STATE_ID_SIZE        33
#define STATE_NAME_SIZE      129

struct state;
struct site;

/* state_open: open (creating it if missing) the database at PATH (":memory:" works),
 * switch on WAL and foreign keys, and create or migrate the schema to
 * STATE_SCHEMA_VERSION. Returns NULL with *err set when the file cannot be opened, is
 * not a state database, or has a newer schema than this program knows. */
struct state *state_open(const char *path, GError **err);
/* state_id_number_key: take the identity-number HMAC key from the file PATH (64 hex
 * digits, mode 0600: readable by the controller only, never inside state.db, so a
 * copied state.db does not give identity numbers back). A new file is made when there
 * is none; a key an older state.db held is written to PATH and deleted from the
 * database and its WAL. -errno with *err when the file cannot be made or read, or
 * differs from the database's key. Until called the key is all zeros. */
int state_id_number_key(struct state *st, const char *path, GError **err);
/* state_close: close ST (NULL allowed); an open transaction is rolled back. */
void state_close(struct state *st);
/* state_schema_version: the schema version of the open database. */
int state_schema_version(struct state *st);

/* Transactions: every operation runs in one. state_begin takes the write lock at once
 * (BEGIN IMMEDIATE); state_rollback never fails and is a no-op outside a transaction. */
int state_begin(struct state *st, GError **err);
int state_commit(struct state *st, GError **err);
void state_rollback(struct state *st);

/* --- site --- */

/* state_site_replace: replace the stored site (venues, rooms, seats, devices) by SITE;
 * SOURCE is its JSON text, kept as imported. -EBUSY (CONFLICT) while a draw of an open
 * session refers to the present rooms. */
int state_site_replace(struct state *st, const struct site *site, const char *source, int64_t now,
                       GError **err);
/* state_site_summary: a new object {"id","name","rooms","expert_rooms",
 * "tenderer_rooms","seats"}; -ENOENT when no site was imported. */
int state_site_summary(struct state *st, json_t **out, GError **err);
/* state_site_rooms: a new array of rooms in site order, each
 * {"id","kind","seats":[seat ids in site order]}; empty without a site. */
int state_site_rooms(struct state *st, json_t **out, GError **err);
/* state_venue_rooms: a new array of the ids of VENUE's rooms in site order (empty when
 * the venue has none or is unknown). */
int state_venue_rooms(struct state *st, const char *venue, json_t **out, GError **err);
/* state_room_cameras: a new array of the recorded streams (seat and room cameras) of ROOM
 * in the imported site, by name (empty when none or unknown). */
int state_room_cameras(struct state *st, const char *room, json_t **out, GError **err);

/* --- sessions and tenders --- */

struct state_session {
	char id[STATE_ID_SIZE];
	char date[11]; /* YYYY-MM-DD */
	char state[8]; /* open | closed */
};
/* state_session_add: a new open session; -EEXIST when the id is taken. */
int state_session_add(struct state *st, const char *id, const char *date, int64_t now,
                      GError **err);
int state_session_get(struct state *st, const char *id, struct state_session *out, GError **err);

struct state_tender {
	char id[STATE_ID_SIZE];
	char session[STATE_ID_SIZE];
	char name[STATE_NAME_SIZE];
	char state[8]; /* open | closing | sealed */
};
/* state_tender_add: a new open tender of an existing session; -EEXIST when the id is
 * taken (in any session: tender ids name archive files). */
int state_tender_add(struct state *st, const char *id, const char *session, const char *name,
                     int64_t now, GError **err);
int state_tender_get(struct state *st, const char *id, struct state_tender *out, GError **err);

/* state_history.c: a tender's parties, and the history across sessions. */
struct state_tender_parties {
	char tenderer[STATE_NAME_SIZE], agency[STATE_NAME_SIZE]; /* "" when not given */
	char session[STATE_ID_SIZE];
};
/* state_tender_set_parties: TENDER's tenderer and procuring agency (NULL or "": none). */
int state_tender_set_parties(struct state *st, const char *tender, const char *tenderer,
                             const char *agency, GError **err);
/* state_tender_parties: TENDER's parties and session into *OUT; -ENOENT no such tender. */
int state_tender_parties(struct state *st, const char *tender, struct state_tender_parties *out,
                         GError **err);
/* What the history says of one expert and one party value, leaving one session out. */
struct state_affinity {
	int64_t person_tenders; /* tenders whose committee the person sat on as an expert,
	                         * among those with the party recorded */
	GPtrArray *tenders;     /* the caller's array: the ids of those with the value */
	int64_t first_at;       /* the earliest of them (created_at), 0 none */
	int64_t value_tenders;  /* all tenders with the value */
	int64_t all_tenders;    /* all tenders with the party recorded */
};
/* state_history_affinity: the history of PERSON for FIELD ("tenderer" or "agency") =
 * VALUE in every session but SESSION into *OUT (out->tenders set by the caller, the
 * tender ids appended). 0, -EINVAL (FIELD), or -EIO with *ERR. */
int state_history_affinity(struct state *st, const char *person, const char *session,
                           const char *field, const char *value, struct state_affinity *out,
                           GError **err);
/* state_tender_list: a new array of the ids of SESSION's tenders, in id order. */
int state_tender_list(struct state *st, const char *session, json_t **out, GError **err);

/* --- persons and committees --- */

struct state_person {
	char id[STATE_ID_SIZE];
	char name[STATE_NAME_SIZE];
	char id_number_hmac[65];  /* hex */
	char card[STATE_ID_SIZE]; /* "" when none */
};
/* state_id_number_hmac: HMAC-SHA256 (this database's key) of the identity number
 * normalised (spaces dropped, letters upper-cased), as 64 hex digits into OUT. */
void state_id_number_hmac(struct state *st, const char *id_number, char out[65]);
int state_person_get(struct state *st, const char *id, struct state_person *out, GError **err);
/* state_person_add: -EEXIST when the id is taken. */
int state_person_add(struct state *st, const struct state_person *p, GError **err);
/* state_committee_add: PERSON joins TENDER (of SESSION) as ROLE ("expert"|"tenderer");
 * -EEXIST when the person already sits in a committee of that session. */
int state_committee_add(struct state *st, const char *tender, const char *session,
                        const char *person, const char *role, int64_t now, GError **err);
/* state_committee_tender_of: the tender (into TENDER) in whose committee PERSON sits
 * in SESSION; -ENOENT when none. */
int state_committee_tender_of(struct state *st, const char *session, const char *person,
                              char tender[STATE_ID_SIZE], GError **err);
/* state_committee_list: a new array of the committee members of SESSION (or of one
 * TENDER when not NULL), ordered by tender then person:
 * {"tender","person","name","role","seated":bool}. */
int state_committee_list(struct state *st, const char *session, const char *tender, json_t **out,
                         GError **err);

/* --- draws and seat assignments --- */

struct state_draw {
	char session[STATE_ID_SIZE];
	int algorithm;
	char *input; /* canonical JSON, owned */
	char input_hash[65];
	char secret[65];
	char commitment[65];
	char entropy[4097]; /* "" until run */
	char seed[65];      /* "" until run */
	bool run;
	int64_t committed_at, run_at;
	char committed_by[64], run_by[64];
	char *record; /* the draw library's record JSON once run, owned; NULL before */
};
/* state_draw_get: fills *OUT (free with state_draw_clear); -ENOENT when the session
 * has no draw. */
int state_draw_get(struct state *st, const char *session, struct state_draw *out, GError **err);
void state_draw_clear(struct state_draw *d);
/* state_draw_seal: the seat map's seal (docs/draw.md section 8): how many people the
 * session's draw seated (not withdrawn) have not checked in (no admission issued), and
 * how many of its tenders are still open. The full record may be read once either is
 * 0 (see state_draw_released). */
int state_draw_seal(struct state *st, const char *session, int *not_checked_in,
                    int *open_tenders, GError **err);
/* state_draw_delete_committed: forget SESSION's commitment that has not run (it was
 * abandoned; the tender archives keep it); -EALREADY (CONFLICT) when there is none. */
int state_draw_delete_committed(struct state *st, const char *session, GError **err);
/* state_draw_add: store a committed draw; -EEXIST when the session has one. The
 * secret column holds "" for draws whose secret is kept only in memory. */
int state_draw_add(struct state *st, const struct state_draw *d, GError **err);
/* state_draw_mark_run: record the revealed run (entropy, seed, record, who, when);
 * -EALREADY (CONFLICT) when the draw is not waiting to run. */
int state_draw_mark_run(struct state *st, const char *session, const char *entropy,
                        const char *seed, const char *record, const char *by, int64_t now,
                        GError **err);
/* state_draw_set_record: replace the stored record (after a replacement). */
int state_draw_set_record(struct state *st, const char *session, const char *record, GError **err);

struct state_assignment {
	char session[STATE_ID_SIZE];
	char person[STATE_ID_SIZE];
	char tender[STATE_ID_SIZE];
	char room[STATE_ID_SIZE];
	char seat[STATE_ID_SIZE];
	int replacement;
};
/* state_assignment_add: -EEXIST when the person or the seat is already taken. */
int state_assignment_add(struct state *st, const struct state_assignment *a, int64_t now,
                         GError **err);
/* state_assignment_withdraw: PERSON gives up the seat in SESSION (replaced). */
int state_assignment_withdraw(struct state *st, const char *session, const char *person,
                              GError **err);
/* state_assignment_list: a new array of SESSION's seated (not withdrawn) persons in
 * site order of room and seat:
 * {"person","tender","room","seat","replacement"}. */
int state_assignment_list(struct state *st, const char *session, json_t **out, GError **err);
/* state_assignment_max_replacement: highest replacement counter of SESSION (0 if
 * none). */
int state_assignment_max_replacement(struct state *st, const char *session, int *out, GError **err);

/* --- answered requests (replay protection across restarts) --- */

/* state_answered_put: remember RESPONSE (the serialised first answer) to request ID of
 * REQUESTER until EXPIRES (UTC us), in its own statement; rows expired at NOW go. */
int state_answered_put(struct state *st, const char *requester, const char *id, int64_t expires,
                       const char *response, int64_t now, GError **err);
/* state_answered_get: the remembered answer to REQUESTER's request ID (a new string in
 * *RESPONSE, the caller's) if it has not expired at NOW; -ENOENT (no error set) if none. */
int state_answered_get(struct state *st, const char *requester, const char *id, int64_t now,
                       char **response, GError **err);

/* --- operator audit log --- */

/* state_audit_append: record one audited request in its own statement (call it
 * outside the operation's transaction so refusals are recorded too). ARGS is a short
 * summary (the dispatcher's choice), OUTCOME "ok" or the error code name, MESSAGE the
 * error message or NULL. */
int state_audit_append(struct state *st, int64_t at, const char *identity, const char *command,
                       const char *args, const char *outcome, const char *message, GError **err);
/* state_audit_list: a new array of audit rows with at >= SINCE, oldest first, at most
 * LIMIT: {"seq","at","identity","command","args","outcome","message"?}. */
int state_audit_list(struct state *st, int64_t since, unsigned limit, json_t **out, GError **err);

/* --- agent events (state_event.c) --- */

/* state_agent_event_seen: *SEEN = the event (ROOM, SEQ) is already recorded. */
int state_agent_event_seen(struct state *st, const char *room, int64_t seq, bool *seen,
			   GError **err);
/* state_agent_event_add: record an agent event once (a repeat is ignored). BODY is the
 * message's JSON text. */
int state_agent_event_add(struct state *st, const char *room, int64_t seq, const char *kind,
			  int64_t at, int64_t received, const char *body, GError **err);
/* state_agent_event_count: events of ROOM (of KIND, or all when NULL). */
int state_agent_event_count(struct state *st, const char *room, const char *kind, int64_t *n,
			    GError **err);
/* --- alerts (issue 8; never deleted) --- */

/* The subject of an alert: room, seat, person, tender, stream; "" (or NULL) when not
 * applicable. Strings are borrowed. */
struct state_alert_subject {
	const char *room, *seat, *person, *tender, *stream;
	const char *venue; /* a secondary venue (venue_link_lost, venue_fault_near) */
};
/* state_alert_raise: open an alert of KIND for SUBJECT, or, while one of the same kind
 * and subject is unresolved, count it again (count + 1, last_at = NOW; its detail is
 * the latest). EXTRA is JSON text or NULL. *ID gets the alert's id, *IS_NEW whether
 * it was opened now. */
int state_alert_raise(struct state *st, const char *kind, const struct state_alert_subject *subject,
                      const char *detail, const char *extra, int64_t now, int64_t *id,
                      bool *is_new, GError **err);
/* state_alert_ack: BY acknowledges open alert ID with NOTE. -ENOENT (NOT_FOUND) for an
 * unknown id; -EALREADY (CONFLICT) when it is already acknowledged or resolved. */
int state_alert_ack(struct state *st, int64_t id, const char *by, const char *note, int64_t now,
                    GError **err);
/* state_alert_resolve: BY resolves alert ID (open or acknowledged) with NOTE (NULL
 * allowed). -ENOENT for an unknown id; -EALREADY when it is resolved already. */
int state_alert_resolve(struct state *st, int64_t id, const char *by, const char *note,
                        int64_t now, GError **err);
/* state_alert_find_open: the id of the unresolved alert of KIND for SUBJECT into *ID,
 * or 0 when there is none. */
int state_alert_find_open(struct state *st, const char *kind,
                          const struct state_alert_subject *subject, int64_t *id, GError **err);
/* state_alert_get: a new object for alert ID (the members of state_alert_list);
 * -ENOENT when unknown. */
int state_alert_get(struct state *st, int64_t id, json_t **out, GError **err);
/* state_alert_list: a new array of alerts, newest first (by last_at, then id), at most
 * LIMIT; only unresolved ones when OPEN_ONLY; only those with last_at >= SINCE. Each:
 * {"id","kind","state","room"?,"seat"?,"person"?,"tender"?,"stream"?,"venue"?,"detail",
 *  "extra"?,"raised_at","last_at","count","acked_at"?,"acked_by"?,"ack_note"?,
 *  "resolved_at"?,"resolved_by"?,"resolve_note"?} (absent members: not applicable). */
int state_alert_list(struct state *st, bool open_only, int64_t since, unsigned limit, json_t **out,
                     GError **err);
/* state_alert_counts: numbers of alerts by state into *OPEN (not acknowledged) and
 * *ACKED (acknowledged, not resolved). */
int state_alert_counts(struct state *st, int64_t *open, int64_t *acked, GError **err);

/* --- check-in, admissions, presence and seat bindings (state_checkin.c, issue 5) --- */

/* state_seating_find: PERSON's seat in SESSION (or, when SESSION is NULL or "", in the
 * open session dated DATE) into *OUT. -ENOENT (NOT_FOUND) with a reason naming what is
 * missing: not in that session's committees, or not seated (the draw has not run). */
int state_seating_find(struct state *st, const char *session, const char *date,
                       const char *person, struct state_assignment *out, GError **err);
/* state_checkin_add: record an identity check and screening ("passed"|"failed"). */
int state_checkin_add(struct state *st, const char *session, const char *person, int64_t at,
                      const char *desk, const char *screening, const char *note, GError **err);
/* state_presence_get: PERSON's presence in SESSION into STATE ("expected" without a
 * row: "expected", "admitted", "inside", "out") and *SINCE (0 without a row). */
int state_presence_get(struct state *st, const char *session, const char *person,
                       char state[16], int64_t *since, GError **err);
int state_presence_set(struct state *st, const char *session, const char *person,
                       const char *state, int64_t now, GError **err);

struct state_admission {
	int64_t id;
	char session[STATE_ID_SIZE], person[STATE_ID_SIZE], tender[STATE_ID_SIZE];
	char room[STATE_ID_SIZE], seat[STATE_ID_SIZE];
	char credential[65]; /* its admission digest (credential.h), never the credential */
	char code_digest[65];
	int64_t issued_at, valid_until, code_valid_until;
	char state[12]; /* active | used | expired | replaced */
};
/* state_admission_add: store A (state active) issued by DESK for REASON (NULL at the
 * first check-in); any earlier active admission of the person in the session is
 * "replaced" (its credential wiped). *ID gets the new id. */
int state_admission_add(struct state *st, const struct state_admission *a, const char *desk,
                        const char *reason, int64_t *id, GError **err);
/* state_admission_end: admission ID is no longer active: STATE "used", "expired" or
 * "replaced"; its credential is wiped. -ENOENT when it is not active. */
int state_admission_end(struct state *st, int64_t id, const char *state, int64_t now,
                        GError **err);
/* state_admission_latest: the latest admission of PERSON in SESSION (any state);
 * -ENOENT when none. */
int state_admission_latest(struct state *st, const char *session, const char *person,
                           struct state_admission *out, GError **err);
/* state_admission_active: a new array of every active admission of open sessions:
 * {"id","session","person","tender","room","seat","credential","issued_at",
 * "valid_until"}. */
int state_admission_active(struct state *st, json_t **out, GError **err);
/* state_admission_active_of: the active admission of PERSON to ROOM (open sessions);
 * -ENOENT when none. */
int state_admission_active_of(struct state *st, const char *person, const char *room,
                              struct state_admission *out, GError **err);

/* The watchers' side (docs/witness.md). state_staff_admission_add: a door credential
 * (its admission digest CREDENTIAL) for staff IDENTITY to ROOM, issued by DESK, active
 * until VALID_UNTIL; an earlier active one of IDENTITY is "replaced". *ID the new id.
 * Active staff admissions are part of state_admission_active() with negative ids
 * (-id) and "staff": true. */
int state_staff_admission_add(struct state *st, const char *identity, const char *room,
                              const char *credential, int64_t issued_at, int64_t valid_until,
                              const char *desk, int64_t approval, bool escort, int64_t *id,
                              GError **err);
/* state_staff_admission_active: a new array of the active staff admissions, shaped like
 * state_admission_active()'s (id negative, "staff": true), with "approval" and "escort"
 * for an escorted entry's (APPROVAL 0 above: none), "pair" and "escort" for a draw room's
 * (a representative and a witness together). */
int state_staff_admission_active(struct state *st, json_t **out, GError **err);
/* Escorted entries (docs/witness.md). state_escort_approval_add: SUPERVISOR approved
 * IDENTITY's entry into ROOM escorted by ESCORT, for REASON resting on BASIS, valid until
 * VALID_UNTIL; *ID its id. state_escort_approval_find: the active approval at NOW of ROOM
 * naming IDENTITY as the escorted person (*ESCORT false) or the escort (true); -ENOENT
 * without one (no error set). state_escort_approval_end: approval ID "used" or "expired",
 * and the staff admissions issued on it with it. */
int state_escort_approval_add(struct state *st, const char *identity, const char *escort,
                              const char *room, const char *reason, const char *basis,
                              const char *supervisor, int64_t now, int64_t valid_until, int64_t *id,
                              GError **err);
int state_escort_approval_find(struct state *st, const char *identity, const char *room,
                               int64_t now, int64_t *id, bool *escort, GError **err);
int state_escort_approval_end(struct state *st, int64_t id, const char *state, int64_t now,
                              GError **err);
/* state_staff_admission_end: like state_admission_end for staff admission ID. */
int state_staff_admission_end(struct state *st, int64_t id, const char *state, int64_t now,
                              GError **err);
/* state_staff_admission_set_pair: staff admission ID is one side of a draw room's pair
 * PAIR: the witness's (ESCORT) or the representative's. */
int state_staff_admission_set_pair(struct state *st, int64_t id, const char *pair, bool escort,
                                   GError **err);
/* state_staff_admission_end_pair_escorts: the pair PAIR opened its door: its active
 * witness credentials are used too. */
int state_staff_admission_end_pair_escorts(struct state *st, const char *pair, int64_t now,
                                           GError **err);
/* state_staff_admission_active_of: the active staff admission of IDENTITY to ROOM into
 * *ID; -ENOENT when none. */
int state_staff_admission_active_of(struct state *st, const char *identity, const char *room,
                                    int64_t *id, GError **err);
/* state_evidence_hold_add: STREAM's recordings FROM_US..TO_US (a witness note's evidence
 * span, for TENDER, by AUTHOR) are kept from retention deletion. */
int state_evidence_hold_add(struct state *st, const char *tender, const char *stream,
                            int64_t from_us, int64_t to_us, const char *author, int64_t now,
                            int64_t *id, GError **err);
/* An evidence hold the controller places itself on the site's retention archives. */
struct state_evidence_hold {
	const char *source; /* "warning", "checkin", "draw" (a seal's release), "file" */
	const char *tender; /* "" when it concerns no one tender */
	int64_t alert;      /* the behaviour warning's alert id, or 0 */
	const char *why;    /* one line of words */
	int64_t from_us, to_us; /* every stream's recordings of this span are kept */
};
/* state_evidence_hold_put: store hold H (author "controller", made at NOW; a span of no
 * length is kept as one microsecond). With ONCE, nothing is stored when an active hold of
 * the same source, why and span is there already (a file imported again after a crash);
 * *ID (may be NULL) the new or existing hold. */
int state_evidence_hold_put(struct state *st, const struct state_evidence_hold *h, int64_t now,
                            bool once, int64_t *id, GError **err);
/* state_evidence_hold_release: hold ID released by IDENTITY for REASON at NOW; NOT_FOUND
 * (-ENOENT) when there is no such hold, CONFLICT (-EALREADY) when it was released before. */
int state_evidence_hold_release(struct state *st, int64_t id, const char *identity,
                                const char *reason, int64_t now, GError **err);
/* state_evidence_holds: the holds, oldest first (only the active ones when ACTIVE), each
 * {id, source, tender, stream, from_us, to_us, author, made_at, why, alert?, released_at?,
 * released_by?, release_reason?}, into *OUT (a new array, the caller's). */
int state_evidence_holds(struct state *st, bool active, json_t **out, GError **err);
/* state_site_load: the imported site file, parsed (new, site_free it); -ENOENT when none,
 * -EIO when the stored text no longer parses. */
int state_site_load(struct state *st, struct site **out, GError **err);
/* state_evidence_held: *HELD when an active (not released) evidence hold overlaps
 * FROM_US..TO_US. */
int state_evidence_held(struct state *st, int64_t from_us, int64_t to_us, bool *held, GError **err);

/* state_binding_open: SEAT of ROOM now records for PERSON's TENDER from FROM_US (a
 * binding still open there is closed at FROM_US first). */
int state_binding_open(struct state *st, const char *room, const char *seat, const char *person,
                       const char *tender, int64_t from_us, GError **err);
/* state_binding_close: the open binding of SEAT of ROOM ends at TO_US (none: no-op). */
int state_binding_close(struct state *st, const char *room, const char *seat, int64_t to_us,
                        GError **err);
/* state_binding_at: the binding of SEAT of ROOM at time T (from <= T < to, or open):
 * PERSON and TENDER; -ENOENT (no error set) when the seat was bound to nobody. */
int state_binding_at(struct state *st, const char *room, const char *seat, int64_t t,
                     char person[STATE_ID_SIZE], char tender[STATE_ID_SIZE], GError **err);
/* state_tenders_in_room_at: a new array of the distinct tenders bound to a seat of ROOM
 * at time T, in id order. */
int state_tenders_in_room_at(struct state *st, const char *room, int64_t t, json_t **out,
                             GError **err);
/* state_admission_seats: a new array of ROOM's current seat assignments of open
 * sessions: the latest admission of each person (active or used, its login code still
 * valid at NOW), as {"person","name","tender","tender_name","seat","code_digest",
 * "code_valid_until"}. */
int state_admission_seats(struct state *st, const char *room, int64_t now, json_t **out,
                          GError **err);
/* state_session_open_on: the open session dated DATE (YYYY-MM-DD) into ID; -ENOENT
 * (NOT_FOUND) when there is none, -EEXIST (CONFLICT) when there are several (then the
 * session must be named). */
int state_session_open_on(struct state *st, const char *date, char id[STATE_ID_SIZE],
                          GError **err);
/* state_checkin_list: a new array of SESSION's seated persons in person order:
 * {"person","name","tender","state","since","room"?,"seat"?,"credential"?,
 *  "valid_until"?}; room, seat and the admission's state ("credential": active, used,
 * expired, replaced) only once the person has checked in. */
int state_checkin_list(struct state *st, const char *session, json_t **out, GError **err);

/* --- state_staff.c: the staff draw, posts, handovers, draw-room review (docs/staff.md) ---
 * JSON results are new objects / arrays of objects keyed by column name. */

/* state_staff_draw_get: SESSION's staff draw {session, inputs, input_hash, commitment,
 * committed_by, committed_at, excluded (array), record (object or null), witness, run_at};
 * NOT_FOUND when none. */
int state_staff_draw_get(struct state *st, const char *session, json_t **out, GError **err);
/* state_staff_draw_put: SESSION's committed staff draw (replacing one not yet run);
 * CONFLICT when it ran already. EXCLUDED is a JSON array's text. */
int state_staff_draw_put(struct state *st, const char *session, const char *inputs,
                         const char *input_hash, const char *commitment, const char *by, int64_t at,
                         const char *excluded, GError **err);
/* state_staff_draw_set_run: the run's RECORD (JSON text), WITNESS and time; CONFLICT when
 * the draw is not waiting for its run. */
int state_staff_draw_set_run(struct state *st, const char *session, const char *record,
                             const char *witness, int64_t at, GError **err);
/* state_staff_post_set: PERSON holds POST for TENDER (of SESSION) since SINCE (UTC us). */
int state_staff_post_set(struct state *st, const char *session, const char *tender,
                         const char *post, const char *person, int64_t since, GError **err);
/* state_staff_posts: SESSION's posts [{tender, post, person, since, agency}]. */
int state_staff_posts(struct state *st, const char *session, json_t **out, GError **err);
/* state_staff_history: the posts of the run staff draws of the sessions before SESSION
 * (dated DATE; earlier date, or same date and smaller id), newest session first:
 * [{session, date, tender, post, person, agency ("" when none)}]. */
int state_staff_history(struct state *st, const char *session, const char *date, json_t **out,
                        GError **err);
/* Handovers of a post (交接): ordered, then signed by the outgoing and the incoming
 * person, then done. */
int state_staff_handover_add(struct state *st, const char *tender, const char *post,
                             const char *from, const char *to, const char *reason, const char *by,
                             int64_t at, int64_t *id, GError **err);
/* state_staff_handover_get: {id, tender, session, post, from_person, to_person, reason,
 * ordered_by, ordered_at, from_signed_at, to_signed_at, from_signatures, to_signatures
 * (JSON text or null), state}; NOT_FOUND. */
int state_staff_handover_get(struct state *st, int64_t id, json_t **out, GError **err);
/* state_staff_handover_pending: the id of TENDER's pending handover of POST; -ENOENT. */
int state_staff_handover_pending(struct state *st, const char *tender, const char *post,
                                 int64_t *id, GError **err);
/* state_staff_handover_sign: the outgoing (or incoming) person signed handover ID at AT
 * with SIGNATURES (JSON text of the archive's signature entries, handover_sig.h). */
int state_staff_handover_sign(struct state *st, int64_t id, bool outgoing, int64_t at,
                              const char *signatures, GError **err);
int state_staff_handover_done(struct state *st, int64_t id, GError **err);
/* state_draw_room_note_closed: every tender no longer open and not yet noted is noted as
 * closed at AT: its draw-room footage awaits review from then on. */
int state_draw_room_note_closed(struct state *st, int64_t at, GError **err);
/* state_draw_room_review: BY reviewed TENDER's draw-room footage at AT with NOTE;
 * NOT_FOUND before the close, CONFLICT when reviewed already. */
int state_draw_room_review(struct state *st, const char *tender, const char *by, int64_t at,
                           const char *note, GError **err);
/* state_draw_room_unreviewed: [{tender, closed_at}] closed at or before CLOSED_BEFORE and
 * not reviewed. */
int state_draw_room_unreviewed(struct state *st, int64_t closed_before, json_t **out, GError **err);

/* --- state_venue.c: the venues of a tender, booked or drawn (docs/venues.md) --- */
/* A booking or venue draw of a tender, as a row object {id, tender, way, round, venues,
 * inputs, input_hash, commitment, made_by, made_at, reason, record, witness, run_at,
 * state}: WAY "booking", "draw" or "redraw"; VENUES (JSON) the booked venues or the
 * candidates of a draw; STATE "booked", "committed", "run" or "ended". */
struct state_venue_selection {
	const char *tender, *way, *venues, *inputs, *input_hash, *commitment, *made_by, *reason;
	int64_t round, made_at;
	const char *state;
};
/* state_venue_selection_add: a new selection row; its id into *ID. */
int state_venue_selection_add(struct state *st, const struct state_venue_selection *s,
                              int64_t *id, GError **err);
/* state_venue_selection_latest: TENDER's latest draw (way draw or redraw) in STATE
 * ("committed", "run"; NULL for any) into *OUT; -ENOENT with no error set. */
int state_venue_selection_latest(struct state *st, const char *tender, const char *state,
                                 json_t **out, GError **err);
/* state_venue_selection_set_run: draw ID ran: its RECORD (JSON text), WITNESS and time. */
int state_venue_selection_set_run(struct state *st, int64_t id, const char *record,
                                  const char *witness, int64_t at, GError **err);
/* state_venue_selection_end: draw ID (committed) ends without a run. */
int state_venue_selection_end(struct state *st, int64_t id, GError **err);
/* state_venue_selections: TENDER's bookings and draws, oldest first, into *OUT. */
int state_venue_selections(struct state *st, const char *tender, json_t **out, GError **err);
/* state_tender_venues: TENDER's chosen venues [{venue, way, selection}] by venue id. */
int state_tender_venues(struct state *st, const char *tender, json_t **out, GError **err);
/* state_tender_venue_add: VENUE is chosen for TENDER by selection SELECTION as WAY
 * ("booked", "drawn"); CONFLICT when it is chosen already. */
int state_tender_venue_add(struct state *st, const char *tender, const char *venue,
                           int64_t selection, const char *way, GError **err);
/* state_tender_venue_drop_drawn: TENDER's drawn venues are chosen no longer (a second
 * draw replaces them). */
int state_tender_venue_drop_drawn(struct state *st, const char *tender, GError **err);
