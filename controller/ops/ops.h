/* The operator's day-one operations on the controller's state (issue 4): site import,
 * sessions, tenders, committees, the seat draw, and the audit log.
 *
 * Every operation has the shape of a request handler (request.h) over a struct state:
 * it validates req->args completely (unknown members refused), runs all its changes
 * in one transaction, and either returns 0 with *result (a new JSON object) or -errno
 * with *err in the REQUEST_ERROR domain; a refused operation changes nothing.
 * The arguments and results of each are in schemas/json/request.json and
 * schemas/json/response.json; docs/operator.md shows them in use. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "request.h"
#include "state.h"

typedef int (*ops_fn)(struct state *st, const struct request *req, json_t **result, GError **err);

/* site.import {"site": <site object, schemas/examples/site.json>}: replaces the site.
 * CONFLICT while an open session has a draw. */
int ops_site_import(struct state *st, const struct request *req, json_t **result, GError **err);
/* session.create {"date": "YYYY-MM-DD", "id"?: id (default: the date)}. */
int ops_session_create(struct state *st, const struct request *req, json_t **result, GError **err);
/* tender.add {"session", "id", "name"}: NOT_FOUND for an unknown session. */
int ops_tender_add(struct state *st, const struct request *req, json_t **result, GError **err);
/* committee.import {"tender", "csv"}: the CSV of docs/operator.md; a bad row is
 * refused as INVALID "line N: ..." and nothing of the file is imported. Refused while
 * the session's draw is committed but not run (its inputs are fixed); after the run
 * the new members wait for draw.replace. */
int ops_committee_import(struct state *st, const struct request *req, json_t **result,
                         GError **err);
/* draw.commit {"session"}: fixes the draw inputs, checks feasibility (CONFLICT with
 * the reason when infeasible, nothing stored), draws the secret (kept in memory only,
 * never in state.db) and returns the commitment, input hash and committing identity.
 * A commitment left from before a controller restart (its secret is gone) is dropped
 * and returned as "abandoned" with the reason, for the archives. */
int ops_draw_commit(struct state *st, const struct request *req, json_t **result, GError **err);
/* draw.run {"session", "entropy", "confirm"}: the witness's run. CONFIRM is the
 * commitment as the witness saw it published (at least its first 16 hex digits);
 * CONFLICT when it differs or the secret was lost to a restart. Reveals, seeds and
 * seats everyone; the result names the witness and holds per-room counts only, never
 * who sits where (nor the secret or seed, which would let the reader recompute it). */
int ops_draw_run(struct state *st, const struct request *req, json_t **result, GError **err);
/* draw.show {"session"}: the commitment (commitment, input hash, who and when,
 * state, whether it can still run, the witness once run); never a seat. */
int ops_draw_show(struct state *st, const struct request *req, json_t **result, GError **err);
/* draw.abandon {"session", "reason"}: drops a commitment that has not run, so a new
 * one can be made; the result is what the archives keep of it. */
int ops_draw_abandon(struct state *st, const struct request *req, json_t **result, GError **err);
/* draw.replace {"tender", "person", "replaces"?}: seats PERSON (a member of TENDER's
 * committee without a seat) on a free seat; REPLACES (seated, same tender and role)
 * withdraws first. Nobody else moves. The result names no seat. */
int ops_draw_replace(struct state *st, const struct request *req, json_t **result, GError **err);
/* draw.export {"session"}: the draw library's full record (schemas/json/draw-record.json),
 * seat map included; CONFLICT while the seat map is sealed (someone seated has not
 * checked in and a tender of the session is still open, docs/draw.md section 8). */
int ops_draw_export(struct state *st, const struct request *req, json_t **result, GError **err);
/* audit.list {"since"?: UTC us, "limit"?: 1..10000}: {"records": [...]}, oldest first. */
int ops_audit_list(struct state *st, const struct request *req, json_t **result, GError **err);

/* The operations by command name, for the dispatcher; terminated by a zeroed entry. */
struct ops_entry {
	const char *command;
	unsigned roles; /* enum role bitmask */
	ops_fn fn;
	bool audited;
};
extern const struct ops_entry ops_table[];
/* ops_find: the entry for COMMAND or NULL. */
const struct ops_entry *ops_find(const char *command);

/* ops_audit_record: append REQ and its outcome (ERR NULL = ok) to the audit log, with a
 * summary of its arguments (long strings such as a CSV shortened). Logs and returns
 * -errno if the log cannot be written. */
int ops_audit_record(struct state *st, const struct request *req, int64_t now,
                     const GError *outcome);

/* ops_draw_run_args: the witness's part of a run request of any draw (seat, staff, venue)
 * checked: ENTROPY (args.entropy of ARGS, as read) 1 to 4096 bytes of text without NUL,
 * CONFIRM at least the first 16 lower-case hex digits of the commitment. 0, or INVALID. */
int ops_draw_run_args(const json_t *args, const char *entropy, const char *confirm, GError **err);

/* ops_draw_secret_for_run: the secret of COMMITMENT into SECRET for the run of DRAW ("the
 * staff draw of session S"), whose witness confirmed CONFIRM (ops_draw_run_args): CONFLICT
 * when CONFIRM is not the commitment's beginning, or when the secret was lost to a restart
 * (the message ends with AGAIN, what to do: "an operator commits again (staff commit)"). */
int ops_draw_secret_for_run(const char *commitment, const char *confirm, const char *draw,
                            const char *again, uint8_t secret[32], GError **err);

/* The draw secrets between commit and run, in this process's memory only (ops_draw_vault.c),
 * for every draw of the controller, keyed by the commitment's hex (unique: it hashes the
 * inputs). A restart loses them. */
void ops_draw_vault_put(const char *commitment, const uint8_t secret[32]);
bool ops_draw_vault_get(const char *commitment, uint8_t secret[32]);
void ops_draw_vault_forget(const char *commitment);
/* ops_draw_vault_holds: whether the secret of COMMITMENT is still held (it can run). */
bool ops_draw_vault_holds(const char *commitment);

/* ops_fail: set *err (REQUEST_ERROR, CODE) with the message FMT and return -ERRNUM (for
 * the controller's request handlers too). */
int ops_fail(GError **err, int code, int errnum, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
