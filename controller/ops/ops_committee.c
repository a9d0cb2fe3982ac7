/* committee.import: a tender's committee from CSV text (format in docs/operator.md). */
#include "ops.h"
#include "ops_internal.h"

#include <errno.h>
#include <string.h>

#include "msg.h"
#include "resident_id.h"
#include "text_safe.h"

#define CSV_MAX_BYTES  (3 * 1024 * 1024)
#define CSV_MAX_FIELDS 8
#define ID_NUMBER_MAX  32

enum csv_col { COL_PERSON, COL_NAME, COL_ID_NUMBER, COL_ROLE, COL_CARD, COL_COUNT };
static const char *const csv_columns[] = {"person_id", "name", "id_number", "role", "card"};

/* csv_split: split one line (no line break) into at most CSV_MAX_FIELDS fields into
 * FIELDS (g_free each); RFC 4180 quoting ("a ""b"", c" is one field). Returns the count
 * or -1 with WHY set. */
static int csv_split(const char *line, char **fields, const char **why)
{
	int n = 0;
	const char *p = line;

	for (;;) {
		GString *f = g_string_new(NULL);

		if (n == CSV_MAX_FIELDS) {
			g_string_free(f, TRUE);
			*why = "too many columns";
			goto err_free;
		}
		if (*p == '"') {
			for (p++;; p++) {
				if (*p == '\0') {
					g_string_free(f, TRUE);
					*why = "a quoted field is not closed on its line";
					goto err_free;
				}
				if (*p == '"' && p[1] == '"') {
					g_string_append_c(f, '"');
					p++;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					g_string_append_c(f, *p);
				}
			}
			if (*p != ',' && *p != '\0') {
				g_string_free(f, TRUE);
				*why = "text after a closing quote";
				goto err_free;
			}
		} else {
			while (*p && *p != ',') {
				if (*p == '"') {
					g_string_free(f, TRUE);
					*why = "a quote inside an unquoted field";
					goto err_free;
				}
				g_string_append_c(f, *p++);
			}
		}
		fields[n++] = g_string_free(f, FALSE);
		if (*p == '\0')
			return n;
		p++; /* the comma */
	}

err_free:
	while (n > 0)
		g_free(fields[--n]);
	return -1;
}

static void csv_strip(char *s)
{
	g_strstrip(s);
}

struct committee_row {
	struct state_person person;
	char role[10];
};

/* committee_parse_header: map the header's column names to enum csv_col; the four
 * required ones must be there, card may be. */
static int committee_parse_header(char **fields, int n, int map[CSV_MAX_FIELDS], GError **err)
{
	bool seen[COL_COUNT] = {false};

	for (int i = 0; i < n; i++) {
		int col = -1;

		csv_strip(fields[i]);
		for (int c = 0; c < COL_COUNT; c++) {
			if (strcmp(fields[i], csv_columns[c]) == 0)
				col = c;
		}
		if (col < 0)
			return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
			                "line 1: unknown column \"%s\" (columns: person_id, "
			                "name, id_number, role and optionally card)",
			                fields[i]);
		if (seen[col])
			return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
			                "line 1: column \"%s\" appears twice", fields[i]);
		seen[col] = true;
		map[i] = col;
	}
	for (int c = 0; c < COL_CARD; c++) {
		if (!seen[c])
			return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
			                "line 1: the header lacks column \"%s\"", csv_columns[c]);
	}
	return 0;
}

static bool name_valid(const char *s)
{
	return *s && strlen(s) < STATE_NAME_SIZE && text_clean(s);
}

static bool id_number_valid(const char *s)
{
	size_t n = 0;

	for (; *s; s++) {
		if (*s == ' ')
			continue;
		if (!g_ascii_isalnum(*s))
			return false;
		n++;
	}
	return n >= 4 && n <= ID_NUMBER_MAX;
}

/* committee_parse_row: one data line into *ROW; the reason into *err as "line N: ...". */
static int committee_parse_row(struct state *st, char **fields, int n, const int *map,
                               unsigned line, struct committee_row *row, GError **err)
{
	const char *v[COL_COUNT] = {NULL};

	for (int i = 0; i < n; i++) {
		csv_strip(fields[i]);
		v[map[i]] = fields[i];
	}
	memset(row, 0, sizeof(*row));
	if (!id_valid(v[COL_PERSON]))
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "line %u: person_id \"%.40s\" is not an identifier "
		                "([A-Za-z0-9][A-Za-z0-9_-]*, at most 32)",
		                line, v[COL_PERSON]);
	if (!name_valid(v[COL_NAME]))
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "line %u: name must be 1 to %d bytes of UTF-8 text without "
		                "control characters",
		                line, STATE_NAME_SIZE - 1);
	if (!id_number_valid(v[COL_ID_NUMBER]))
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "line %u: id_number must be 4 to %d letters or digits", line,
		                ID_NUMBER_MAX);
	const char *why = resident_id_problem(v[COL_ID_NUMBER], resident_id_today());
	if (why)
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "line %u: id_number: %s", line,
		                why);
	if (strcmp(v[COL_ROLE], "expert") && strcmp(v[COL_ROLE], "tenderer"))
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "line %u: role \"%.40s\" is neither expert nor tenderer", line,
		                v[COL_ROLE]);
	if (v[COL_CARD] && *v[COL_CARD] && !id_valid(v[COL_CARD]))
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "line %u: card \"%.40s\" is not a card number (letters, digits, "
		                "- or _, at most 32)",
		                line, v[COL_CARD]);
	g_strlcpy(row->person.id, v[COL_PERSON], sizeof(row->person.id));
	g_strlcpy(row->person.name, v[COL_NAME], sizeof(row->person.name));
	state_id_number_hmac(st, v[COL_ID_NUMBER], row->person.id_number_hmac);
	if (v[COL_CARD])
		g_strlcpy(row->person.card, v[COL_CARD], sizeof(row->person.card));
	g_strlcpy(row->role, v[COL_ROLE], sizeof(row->role));
	return 0;
}

/* committee_store: add ROW's person (or check the registered one is the same) and make
 * them a member of TENDER. */
static int committee_store(struct state *st, const struct state_tender *tender,
                           const struct committee_row *row, unsigned line, int64_t now,
                           GError **err)
{
	struct state_person known;
	char other[STATE_ID_SIZE];
	int rc;

	rc = state_person_get(st, row->person.id, &known, NULL);
	if (rc == 0) {
		if (strcmp(known.name, row->person.name) ||
		    strcmp(known.id_number_hmac, row->person.id_number_hmac))
			return ops_fail(err, REQUEST_ERROR_CONFLICT, EEXIST,
			                "line %u: person %s is already registered with another "
			                "name or identity number",
			                line, row->person.id);
	} else if (rc == -ENOENT) {
		rc = state_person_add(st, &row->person, err);
		if (rc)
			return rc;
	} else {
		return ops_fail(err, REQUEST_ERROR_INTERNAL, EIO, "line %u: cannot read person",
		                line);
	}
	rc = state_committee_tender_of(st, tender->session, row->person.id, other, NULL);
	if (rc == 0)
		return ops_fail(err, REQUEST_ERROR_CONFLICT, EEXIST,
		                "line %u: person %s already sits in the committee of tender %s "
		                "of this session",
		                line, row->person.id, other);
	return state_committee_add(st, tender->id, tender->session, row->person.id, row->role, now,
	                           err);
}

static int committee_check_open(struct state *st, const struct state_tender *tender, GError **err)
{
	struct state_draw draw;
	int rc;

	if (strcmp(tender->state, "open"))
		return ops_fail(err, REQUEST_ERROR_CONFLICT, EPERM, "tender \"%s\" is %s",
		                tender->id, tender->state);
	rc = state_draw_get(st, tender->session, &draw, NULL);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return ops_fail(err, REQUEST_ERROR_INTERNAL, EIO, "cannot read the draw");
	rc = draw.run ? 0
	              : ops_fail(err, REQUEST_ERROR_CONFLICT, EBUSY,
	                         "the draw of session \"%s\" is committed: its committees are "
	                         "fixed until it has run",
	                         tender->session);
	state_draw_clear(&draw);
	return rc;
}

int ops_committee_import(struct state *st, const struct request *req, json_t **result, GError **err)
{
	struct msg_reader r;
	struct state_tender tender;
	const char *tid, *csv;
	char **lines = NULL, *fields[CSV_MAX_FIELDS];
	int map[CSV_MAX_FIELDS], ncols = 0, rc;
	unsigned experts = 0, tenderers = 0;
	GHashTable *seen = NULL;
	int64_t now = g_get_real_time();

	msg_reader_init(&r, req->args, "args");
	tid = msg_read_id(&r, "tender", true);
	csv = msg_read_string(&r, "csv", true, CSV_MAX_BYTES);
	rc = msg_reader_finish(&r, err);
	if (rc)
		return rc;
	if (!g_utf8_validate(csv, -1, NULL))
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "args.csv: not UTF-8 text");
	if (g_str_has_prefix(csv, "\xEF\xBB\xBF")) /* spreadsheet programs write a BOM */
		csv += 3;

	rc = state_begin(st, err);
	if (rc)
		return rc;
	rc = state_tender_get(st, tid, &tender, err);
	if (!rc)
		rc = committee_check_open(st, &tender, err);
	if (rc)
		goto out;

	lines = g_strsplit(csv, "\n", -1);
	seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (unsigned i = 0; lines[i] && !rc; i++) {
		unsigned line = i + 1;
		const char *why = NULL;
		char *text = lines[i];
		size_t len = strlen(text);
		struct committee_row row;
		int n;

		if (len && text[len - 1] == '\r')
			text[--len] = '\0';
		if (strspn(text, " \t") == len) {
			if (line == 1)
				rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
				              "line 1: the header is missing (person_id,name,"
				              "id_number,role[,card])");
			continue;
		}
		n = csv_split(text, fields, &why);
		if (n < 0) {
			rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "line %u: %s", line, why);
			break;
		}
		if (line == 1) {
			ncols = n;
			rc = committee_parse_header(fields, n, map, err);
		} else if (n != ncols) {
			rc =
			    ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
			             "line %u: %d columns where the header has %d", line, n, ncols);
		} else {
			rc = committee_parse_row(st, fields, n, map, line, &row, err);
			if (!rc && g_hash_table_contains(seen, row.person.id))
				rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
				              "line %u: person %s appears twice in the file", line,
				              row.person.id);
			if (!rc) {
				g_hash_table_add(seen, g_strdup(row.person.id));
				rc = committee_store(st, &tender, &row, line, now, err);
			}
			if (!rc && strcmp(row.role, "expert") == 0)
				experts++;
			else if (!rc)
				tenderers++;
		}
		while (n > 0)
			g_free(fields[--n]);
	}
	if (!rc && experts + tenderers == 0)
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "args.csv: no committee members");

out:
	rc = ops_end(st, rc, err);
	if (!rc)
		*result = json_pack("{s:s, s:s, s:i, s:i}", "tender", tid, "session",
		                    tender.session, "experts", experts, "tenderers", tenderers);
	if (seen)
		g_hash_table_destroy(seen);
	g_strfreev(lines);
	return rc;
}
