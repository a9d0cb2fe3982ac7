#include "witness_log.h"

#include "appendix.h"
#include "cert_sig.h"
#include "signing.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const parties[WITNESS_LOG_PARTIES] = {"witness", "supervisor", "rep"};
static const char *const party_labels[WITNESS_LOG_PARTIES] = {
    "见证人 Witness", "监督人员 Supervisor (regulator's representative)",
    "招标人代表 Tenderer's representative"};

const char *witness_party_of(const char *identity)
{
	for (size_t i = 0; identity && i < WITNESS_LOG_PARTIES; i++) {
		size_t n = strlen(parties[i]);
		if (strncmp(identity, parties[i], n) == 0 && identity[n] == '-' && identity[n + 1])
			return parties[i];
	}
	return NULL;
}

char *witness_log_message(const char *tender, const char *sha256)
{
	return g_strdup_printf("evalroom witness log v1\n%s\n%s\n", tender, sha256);
}

/* TEXT made safe for one Markdown table cell (no line break, no bar). */
static void cell(GString *md, const char *text)
{
	for (const char *p = text ? text : ""; *p; p++) {
		if (*p == '|')
			g_string_append(md, "\\|");
		else if (*p == '\n' || *p == '\r' || *p == '\t')
			g_string_append_c(md, ' ');
		else
			g_string_append_c(md, *p);
	}
}

static void utc(GString *md, int64_t us)
{
	GDateTime *t = g_date_time_new_from_unix_utc(us / G_USEC_PER_SEC);
	char *s = t ? g_date_time_format(t, "%Y-%m-%d %H:%M:%S") : g_strdup("?");
	g_string_append(md, s);
	g_free(s);
	if (t)
		g_date_time_unref(t);
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static void where(GString *md, const json_t *b)
{
	cell(md, str(b, "room"));
	if (*str(b, "seat")) {
		g_string_append_c(md, '/');
		cell(md, str(b, "seat"));
	}
	if (*str(b, "stream")) {
		g_string_append(md, " (");
		cell(md, str(b, "stream"));
		g_string_append_c(md, ')');
	}
}

struct sections {
	GString *draw, *notes, *alerts, *escort, *other;
	unsigned n_notes, n_alerts, n_escort;
	GHashTable *counts; /* kind -> count */
};

static void draw_line(struct sections *s, int64_t t, const char *kind, const char *source,
                      const json_t *b)
{
	g_string_append(s->draw, "- ");
	utc(s->draw, t);
	g_string_append_printf(s->draw, " UTC, %s, ", kind);
	cell(s->draw, source);
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)b, key, v)
	{
		if (json_is_string(v)) {
			g_string_append_printf(s->draw, "; %s: ", key);
			cell(s->draw, json_string_value(v));
		} else if (json_is_integer(v)) {
			g_string_append_printf(s->draw, "; %s: %" JSON_INTEGER_FORMAT, key,
			                       json_integer_value(v));
		}
	}
	g_string_append_c(s->draw, '\n');
}

static void event_line(struct sections *s, int64_t t, const char *kind, const char *source,
                       const json_t *b)
{
	if (strcmp(kind, "draw.commit") == 0 || strcmp(kind, "draw.run") == 0 ||
	    strcmp(kind, "draw.commitment_ended") == 0) {
		draw_line(s, t, kind, source, b);
	} else if (strcmp(kind, "witness.note") == 0) {
		const json_t *ev = json_object_get(b, "evidence");
		g_string_append(s->notes, "| ");
		utc(s->notes, json_integer_value(json_object_get(b, "at")));
		g_string_append(s->notes, " | ");
		cell(s->notes, str(b, "author"));
		g_string_append(s->notes, " | ");
		cell(s->notes, str(b, "category"));
		g_string_append(s->notes, " | ");
		where(s->notes, b);
		g_string_append(s->notes, " | ");
		cell(s->notes, str(b, "text"));
		g_string_append(s->notes, " | ");
		if (ev) {
			cell(s->notes, str(ev, "stream"));
			g_string_append(s->notes, " ");
			utc(s->notes, json_integer_value(json_object_get(ev, "from")));
			g_string_append(s->notes, " – ");
			utc(s->notes, json_integer_value(json_object_get(ev, "to")));
		}
		g_string_append(s->notes, " |\n");
		s->n_notes++;
	} else if (g_str_has_prefix(kind, "alert.")) {
		g_string_append(s->alerts, "| ");
		utc(s->alerts, t);
		g_string_append_printf(s->alerts, " | %s | ", kind + 6);
		cell(s->alerts, str(b, "kind"));
		g_string_append(s->alerts, " | ");
		where(s->alerts, b);
		g_string_append(s->alerts, " | ");
		cell(s->alerts, str(b, "detail"));
		g_string_append(s->alerts, " |\n");
		s->n_alerts++;
	} else if (g_str_has_prefix(kind, "escort.")) {
		g_string_append(s->escort, "- ");
		utc(s->escort, t);
		g_string_append_printf(s->escort, " UTC, %s, ", kind);
		cell(s->escort, source);
		char *text = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
		g_string_append(s->escort, ": ");
		cell(s->escort, text);
		free(text);
		g_string_append_c(s->escort, '\n');
		s->n_escort++;
	}
	guint n = GPOINTER_TO_UINT(g_hash_table_lookup(s->counts, kind));
	g_hash_table_replace(s->counts, g_strdup(kind), GUINT_TO_POINTER(n + 1));
}

int witness_log_render(sqlite3 *db, int64_t now_us, char **out)
{
	sqlite3_stmt *st = NULL;
	GString *md = g_string_new(NULL);
	struct sections s = {g_string_new(NULL),
	                     g_string_new(NULL),
	                     g_string_new(NULL),
	                     g_string_new(NULL),
	                     NULL,
	                     0,
	                     0,
	                     0,
	                     g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
	int rc = -EIO;

	if (sqlite3_prepare_v2(db, "SELECT tender, name, session FROM meta", -1, &st, NULL) !=
	        SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		goto out;
	g_string_append(md, "# 见证记录 Witness log\n\n");
	g_string_append(md, "| 项目 Item | 内容 Value |\n|---|---|\n| 标段 Tender | ");
	cell(md, (const char *)sqlite3_column_text(st, 0));
	g_string_append(md, " |\n| 名称 Name | ");
	cell(md, (const char *)sqlite3_column_text(st, 1));
	g_string_append(md, " |\n| 评标日 Session | ");
	cell(md, (const char *)sqlite3_column_text(st, 2));
	g_string_append(md, " |\n| 生成时间 Rendered (UTC) | ");
	utc(md, now_us);
	g_string_append(md, " |\n\n");
	sqlite3_finalize(st);
	st = NULL;

	if (sqlite3_prepare_v2(db,
	                       "SELECT time_us, kind, source, body FROM events "
	                       "ORDER BY leaf",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *b = json_loads((const char *)sqlite3_column_text(st, 3), 0, NULL);
		if (!json_is_object(b)) {
			json_decref(b);
			b = json_object();
		}
		event_line(&s, sqlite3_column_int64(st, 0),
		           (const char *)sqlite3_column_text(st, 1),
		           (const char *)sqlite3_column_text(st, 2), b);
		json_decref(b);
	}
	if (step != SQLITE_DONE)
		goto out;

	g_string_append(md, "## 抽取承诺与见证 Draw commitment and witness\n\n");
	g_string_append(md, s.draw->len ? s.draw->str : "无 None\n");
	g_string_append_printf(md, "\n## 见证人记录 Witness notes (%u)\n\n", s.n_notes);
	if (s.n_notes)
		g_string_append_printf(
		    md,
		    "| 时间 Time (UTC) | 见证人 Witness | 类别 Category | 地点 Where | "
		    "内容 Text | 证据 Evidence (UTC) |\n|---|---|---|---|---|---|\n%s",
		    s.notes->str);
	else
		g_string_append(md, "无 None\n");
	g_string_append_printf(md, "\n## 告警 Alerts (%u)\n\n", s.n_alerts);
	if (s.n_alerts)
		g_string_append_printf(md,
		                       "| 时间 Time (UTC) | 变化 Change | 类别 Kind | 地点 Where | "
		                       "说明 Detail |\n|---|---|---|---|---|\n%s",
		                       s.alerts->str);
	else
		g_string_append(md, "无 None\n");
	g_string_append_printf(md, "\n## 陪同进入 Escorted entries (%u)\n\n", s.n_escort);
	g_string_append(md, s.n_escort ? s.escort->str : "无 None\n");
	g_string_append(md,
	                "\n## 事件统计 Events by kind\n\n| 类别 Kind | 数量 Count |\n|---|---|\n");
	GList *kinds = g_list_sort(g_hash_table_get_keys(s.counts), (GCompareFunc)strcmp);
	for (GList *k = kinds; k; k = k->next)
		g_string_append_printf(md, "| %s | %u |\n", (const char *)k->data,
		                       GPOINTER_TO_UINT(g_hash_table_lookup(s.counts, k->data)));
	g_list_free(kinds);
	g_string_append(md, "\n## 签署 Signatures\n\n"
	                    "本记录的 SHA-256 由以下三方各以本人密钥签署，签名附于档案。\n"
	                    "The SHA-256 of this document is signed by each of the three parties "
	                    "with their own key; the signatures are appended to the archive.\n\n");
	for (size_t i = 0; i < WITNESS_LOG_PARTIES; i++)
		g_string_append_printf(md, "- %s\n", party_labels[i]);
	rc = 0;
out:
	sqlite3_finalize(st);
	g_string_free(s.draw, TRUE);
	g_string_free(s.notes, TRUE);
	g_string_free(s.alerts, TRUE);
	g_string_free(s.escort, TRUE);
	g_hash_table_destroy(s.counts);
	if (rc == 0)
		*out = g_string_free(md, FALSE);
	else
		g_string_free(md, TRUE);
	return rc;
}

int witness_log_read(sqlite3 *db, char **markdown, char sha256[65])
{
	sqlite3_stmt *st = NULL;
	int rc = -ENOENT;
	if (sqlite3_prepare_v2(db,
	                       "SELECT body FROM events WHERE kind = 'witness.log' "
	                       "ORDER BY leaf DESC LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW) {
		json_t *b = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
		const char *md = json_string_value(json_object_get(b, "markdown"));
		if (md) {
			/* the hash is always recomputed: the stored one is only a convenience */
			char *h = g_compute_checksum_for_string(G_CHECKSUM_SHA256, md, -1);
			g_strlcpy(sha256, h, 65);
			g_free(h);
			if (markdown)
				*markdown = g_strdup(md);
			rc = 0;
		}
		json_decref(b);
	}
	sqlite3_finalize(st);
	return rc;
}

int witness_sig_check(const char *cert_pem, const uint8_t *sig, size_t sig_len, const char *tender,
                      const char *sha256, X509 *ca, char identity[65], char **why)
{
	char *msg = witness_log_message(tender, sha256);
	char *what = g_strdup_printf("the witness log's SHA-256 %s", sha256);
	int rc = cert_sig_check_any(cert_pem, sig, sig_len, msg, strlen(msg), what, ca, identity,
	                            NULL, why);
	g_free(what);
	g_free(msg);
	return rc;
}

int witness_sig_append(const char *path, const char *identity, const char *party,
                       const char *sha256, const char *cert_pem, const char *sig_b64,
                       int64_t time_us, char **why)
{
	struct appendix_tx tx;
	sqlite3_stmt *st = NULL;
	int rc = appendix_begin(path,
	                        "CREATE TABLE IF NOT EXISTS " WITNESS_SIG_TABLE " ("
	                        "  id INTEGER PRIMARY KEY,"
	                        "  time_us INTEGER NOT NULL,"
	                        "  identity TEXT NOT NULL,"
	                        "  party TEXT NOT NULL,"
	                        "  log_sha256 TEXT NOT NULL,"
	                        "  certificate TEXT NOT NULL,"
	                        "  signature TEXT NOT NULL)",
	                        &tx, why);
	if (rc != 0)
		return rc;
	if (sqlite3_prepare_v2(tx.db,
	                       "INSERT INTO " WITNESS_SIG_TABLE "(time_us, identity, party, "
	                       "log_sha256, certificate, signature) VALUES (?, ?, ?, ?, ?, ?)",
	                       -1, &st, NULL) != SQLITE_OK) {
		rc = -EIO;
	} else {
		sqlite3_bind_int64(st, 1, time_us);
		sqlite3_bind_text(st, 2, identity, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, party, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, sha256, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, cert_pem, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, sig_b64, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = -EIO;
	}
	if (rc != 0)
		*why = g_strdup_printf("%s: signature not stored: %s", path, sqlite3_errmsg(tx.db));
	sqlite3_finalize(st);
	return appendix_end(&tx, rc, why);
}

const char *witness_party_name(size_t i)
{
	return i < WITNESS_LOG_PARTIES ? parties[i] : NULL;
}

const char *witness_party_label(size_t i)
{
	return i < WITNESS_LOG_PARTIES ? party_labels[i] : NULL;
}

int witness_log_verify(sqlite3 *db, X509 *ca, int signed_by_out[WITNESS_LOG_PARTIES],
                       char **invalid, char **report)
{
	char sha[65], tender[65] = "";
	int signed_by[WITNESS_LOG_PARTIES] = {0};
	GString *bad = g_string_new(NULL);
	sqlite3_stmt *st = NULL;
	if (witness_log_read(db, NULL, sha) != 0) {
		g_string_free(bad, TRUE);
		return -ENOENT;
	}
	if (sqlite3_prepare_v2(db, "SELECT tender FROM meta", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		g_strlcpy(tender, (const char *)sqlite3_column_text(st, 0), sizeof(tender));
	sqlite3_finalize(st);
	st = NULL;
	/* the appendix may be absent (nobody signed yet) */
	if (sqlite3_prepare_v2(
	        db,
	        "SELECT identity, party, log_sha256, certificate, signature FROM " WITNESS_SIG_TABLE
	        " ORDER BY id",
	        -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *claimed = (const char *)sqlite3_column_text(st, 0);
			const char *pem = (const char *)sqlite3_column_text(st, 3);
			const char *b64 = (const char *)sqlite3_column_text(st, 4);
			char identity[65] = "", *why = NULL;
			gsize len = 0;
			guchar *sig = g_base64_decode(b64 ? b64 : "", &len);
			int ok = pem && witness_sig_check(pem, sig, len, tender, sha, ca, identity,
			                                  &why) == 0;
			const char *party = witness_party_of(identity);
			if (ok && (!party || g_strcmp0(claimed, identity) != 0)) {
				ok = 0;
				why =
				    g_strdup_printf("%s is not a witness, supervisor or tenderer's "
				                    "representative identity",
				                    identity);
			}
			for (size_t i = 0; ok && i < WITNESS_LOG_PARTIES; i++)
				if (strcmp(party, parties[i]) == 0)
					signed_by[i] = 1;
			if (!ok)
				g_string_append_printf(bad, "invalid signature of %s: %s\n",
				                       claimed ? claimed : "?", why ? why : "?");
			g_free(why);
			g_free(sig);
		}
	}
	sqlite3_finalize(st);
	int n = signed_by[0] + signed_by[1] + signed_by[2];
	if (signed_by_out)
		memcpy(signed_by_out, signed_by, sizeof(signed_by));
	if (report) {
		GString *r = g_string_new(NULL);
		g_string_append_printf(r, "witness log signed by %d of %d (SHA-256 %s)", n,
		                       WITNESS_LOG_PARTIES, sha);
		for (size_t i = 0; i < WITNESS_LOG_PARTIES; i++)
			if (!signed_by[i])
				g_string_append_printf(r, "; missing: %s", party_labels[i]);
		char **lines = g_strsplit(bad->str, "\n", -1);
		for (char **l = lines; *l; l++)
			if (**l)
				g_string_append_printf(r, "; %s", *l);
		g_strfreev(lines);
		*report = g_string_free(r, FALSE);
	}
	if (invalid)
		*invalid = g_strdup(bad->str);
	g_string_free(bad, TRUE);
	return n;
}
