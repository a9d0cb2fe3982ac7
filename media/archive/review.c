/* Reviews of a tender's recordings in its archive's appendix (review.h). */
#include "review.h"

#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <string.h>

#include "appendix.h"
#include "key_history.h"

char *review_message(const char *tender, const char *subject, const char *by, int64_t at_us,
                     const char *note)
{
	return g_strdup_printf("evalroom review v1\ntender %s\nsubject %s\nreviewed_by %s\n"
	                       "reviewed_at %" G_GINT64_FORMAT "\nnote %zu\n%s\n",
	                       tender, subject, by, at_us, strlen(note), note);
}

int review_append(const char *path, const struct archive_signer *signer, const char *tender,
                  const char *subject, const char *by, int64_t at_us, const char *note, char **why)
{
	uint8_t sig[ARCHIVE_SIGNATURE_LEN];
	char *msg = review_message(tender, subject, by, at_us, note);
	int rc = archive_signer_sign(signer, msg, strlen(msg), sig);
	g_free(msg);
	if (rc != 0) {
		*why = g_strdup_printf("%s: the review could not be signed", path);
		return rc;
	}
	struct appendix_tx tx;
	sqlite3_stmt *st = NULL;
	rc = appendix_begin(path,
	                    "CREATE TABLE IF NOT EXISTS " REVIEW_TABLE " ("
	                    "  id INTEGER PRIMARY KEY,"
	                    "  time_us INTEGER NOT NULL,"
	                    "  tender TEXT NOT NULL,"
	                    "  subject TEXT NOT NULL,"
	                    "  reviewed_by TEXT NOT NULL,"
	                    "  note TEXT NOT NULL,"
	                    "  signature TEXT NOT NULL)",
	                    &tx, why);
	if (rc != 0)
		return rc;
	char *b64 = g_base64_encode(sig, sizeof(sig));
	if (sqlite3_prepare_v2(tx.db,
	                       "INSERT INTO " REVIEW_TABLE
	                       "(time_us, tender, subject, reviewed_by, "
	                       "note, signature) VALUES (?, ?, ?, ?, ?, ?)",
	                       -1, &st, NULL) != SQLITE_OK) {
		rc = -EIO;
	} else {
		sqlite3_bind_int64(st, 1, at_us);
		sqlite3_bind_text(st, 2, tender, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, subject, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, by, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, note, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, b64, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = -EIO;
	}
	if (rc != 0)
		*why = g_strdup_printf("%s: review not stored: %s", path, sqlite3_errmsg(tx.db));
	sqlite3_finalize(st);
	g_free(b64);
	return appendix_end(&tx, rc, why);
}

static const char *col(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? s : "";
}

/* The key recorded in the archive on DB (new), or NULL. */
static struct archive_pubkey *recorded_key(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	struct archive_pubkey *k = NULL;
	if (sqlite3_prepare_v2(db, "SELECT signing_pubkey FROM meta WHERE id = 1", -1, &st, NULL) ==
	        SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && archive_pubkey_from_pem(col(st, 0), &k) != 0)
		k = NULL;
	sqlite3_finalize(st);
	return k;
}

/* The archive's own key history (format version 3), or NULL when it has none. */
static struct key_history *own_history(sqlite3 *db)
{
	struct key_history *h = NULL;
	sqlite3_stmt *st = NULL;
	char *why = NULL;
	bool present = sqlite3_prepare_v2(db,
	                                  "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND "
	                                  "name = 'key_history'",
	                                  -1, &st, NULL) == SQLITE_OK &&
	               sqlite3_step(st) == SQLITE_ROW;

	sqlite3_finalize(st);
	if (present && key_history_read_db(db, &h, &why) != 0) {
		key_history_free(h);
		h = NULL;
	}
	g_free(why);
	return h;
}

int review_verify(sqlite3 *db, const struct archive_pubkey *key, const struct key_history *history,
                  char **report, int *bad)
{
	sqlite3_stmt *st = NULL;
	GString *out = g_string_new(NULL);
	struct archive_pubkey *own = NULL;
	struct key_history *own_hist = NULL;
	int n = 0;
	*bad = 0;
	if (sqlite3_prepare_v2(
	        db,
	        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '" REVIEW_TABLE "'",
	        -1, &st, NULL) != SQLITE_OK) {
		g_string_free(out, TRUE);
		return -EIO;
	}
	bool present = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	st = NULL;
	if (!present) {
		*report = g_string_free(out, FALSE);
		return 0;
	}
	if (!history)
		history = own_hist = own_history(db);
	if (history && key_history_keys(history) == 0)
		history = NULL;
	if (!key)
		key = own = recorded_key(db);
	if (sqlite3_prepare_v2(
	        db,
	        "SELECT time_us, tender, subject, reviewed_by, note, signature FROM " REVIEW_TABLE
	        " ORDER BY id",
	        -1, &st, NULL) != SQLITE_OK) {
		archive_pubkey_free(own);
		g_string_free(out, TRUE);
		return -EIO;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t at = sqlite3_column_int64(st, 0);
		char *msg = review_message(col(st, 1), col(st, 2), col(st, 3), at, col(st, 4));
		gsize len = 0;
		guchar *sig = g_base64_decode(col(st, 5), &len);
		/* With a key history: the archive key in use at the review's time, not revoked
		 * then (a review made after a rotation is signed by the new key). */
		const struct key_window *w = history ? key_history_at(history, at) : NULL;
		char *unusable = w ? key_window_check_use(w, at) : NULL;
		bool ok = !unusable && (w ? w->pub : key) &&
		          archive_pubkey_verify(w ? w->pub : key, msg, strlen(msg), sig, len) == 0;
		/* Signed by another key of the history: name it and why it may not sign then. */
		for (guint k = 0; !ok && !unusable && w && k < key_history_keys(history); k++) {
			const struct key_window *o = key_history_key(history, k);

			if (o != w && archive_pubkey_verify(o->pub, msg, strlen(msg), sig, len) == 0)
				unusable = key_window_check_use(o, at);
		}
		if (ok && w)
			g_string_append_printf(out,
			                       "review of the %s footage by %s at %" G_GINT64_FORMAT
			                       ": signed by the archive key %s, in use then\n",
			                       col(st, 2), col(st, 3), at, w->id);
		else if (ok)
			g_string_append_printf(out,
			                       "review of the %s footage by %s at %" G_GINT64_FORMAT
			                       ": signed by the archive key\n",
			                       col(st, 2), col(st, 3), at);
		else if (unusable)
			g_string_append_printf(out,
			                       "INVALID: review of the %s footage by %s at %" G_GINT64_FORMAT
			                       ": %s\n",
			                       col(st, 2), col(st, 3), at, unusable);
		else if (w)
			g_string_append_printf(
			    out,
			    "INVALID: review of the %s footage by %s at %" G_GINT64_FORMAT
			    ": its signature does not match the archive key in use then (key %s)\n",
			    col(st, 2), col(st, 3), at, w->id);
		else
			g_string_append_printf(
			    out,
			    "INVALID: review of the %s footage by %s at %" G_GINT64_FORMAT
			    ": its signature does not match the archive key%s\n",
			    col(st, 2), col(st, 3), at,
			    history ? ""
			            : " (made after a key rotation this file does not record? pass "
			              "--key-history key-history.log)");
		g_free(unusable);
		*bad += !ok;
		n++;
		g_free(sig);
		g_free(msg);
	}
	sqlite3_finalize(st);
	archive_pubkey_free(own);
	key_history_free(own_hist);
	*report = g_string_free(out, FALSE);
	return n;
}
