/* The controller's history across sessions in state.db: a tender's parties and how often
 * an expert sat on committees of one tenderer or agency (the draw-affinity warning). */
#include <errno.h>
#include <string.h>

#include "state.h"
#include "state_db.h"

int state_tender_set_parties(struct state *st, const char *tender, const char *tenderer,
                             const char *agency, GError **err)
{
	return state_run(st, "UPDATE tender SET tenderer = ?, agency = ? WHERE id = ?",
	                 STATE_ARGS(STATE_TEXT(tenderer && *tenderer ? tenderer : NULL),
	                            STATE_TEXT(agency && *agency ? agency : NULL), STATE_TEXT(tender)),
	                 "tender parties", err);
}

static void parties_read(sqlite3_stmt *stmt, void *data)
{
	struct state_tender_parties *p = data;
	state_copy_column(stmt, 0, p->tenderer, sizeof(p->tenderer));
	state_copy_column(stmt, 1, p->agency, sizeof(p->agency));
	state_copy_column(stmt, 2, p->session, sizeof(p->session));
}

int state_tender_parties(struct state *st, const char *tender, struct state_tender_parties *out,
                         GError **err)
{
	return state_get_row(st, "SELECT tenderer, agency, session FROM tender WHERE id = ?",
	                     STATE_ARGS(STATE_TEXT(tender)), parties_read, out, "tender parties",
	                     err);
}

static void add_tender(sqlite3_stmt *stmt, void *data)
{
	struct state_affinity *a = data;
	const char *id = state_column_text(stmt, 0);
	int64_t at = sqlite3_column_int64(stmt, 1);
	if (!id)
		return;
	g_ptr_array_add(a->tenders, g_strdup(id));
	if (!a->first_at || at < a->first_at)
		a->first_at = at;
}

/* The four queries of one party column; the column name is never taken from input. */
struct affinity_sql {
	const char *field, *person_all, *person_same, *value, *all;
};
#define AFFINITY_SQL(F)                                                                            \
	{                                                                                          \
		F,                                                                                 \
		    "SELECT COUNT(*) FROM committee c JOIN tender t ON t.id = c.tender "           \
		    "WHERE c.person = ?1 AND c.role = 'expert' AND c.session <> ?2 AND t." F       \
		    " IS NOT NULL",                                                                \
		    "SELECT t.id, t.created_at FROM committee c JOIN tender t ON t.id = c.tender " \
		    "WHERE c.person = ?1 AND c.role = 'expert' AND c.session <> ?2 AND t." F       \
		    " = ?3 ORDER BY t.created_at, t.id",                                           \
		    "SELECT COUNT(*) FROM tender WHERE session <> ?2 AND " F " = ?3 AND ?1 = ?1",  \
		    "SELECT COUNT(*) FROM tender WHERE session <> ?2 AND " F                       \
		    " IS NOT NULL AND ?1 = ?1 AND ?3 = ?3"                                         \
	}
static const struct affinity_sql affinity_sql[] = {AFFINITY_SQL("tenderer"),
                                                   AFFINITY_SQL("agency")};

int state_history_affinity(struct state *st, const char *person, const char *session,
                           const char *field, const char *value, struct state_affinity *out,
                           GError **err)
{
	const struct affinity_sql *q = NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(affinity_sql); i++)
		if (strcmp(affinity_sql[i].field, field) == 0)
			q = &affinity_sql[i];
	if (!q)
		return -EINVAL;
	const struct state_arg *args =
	    STATE_ARGS(STATE_TEXT(person), STATE_TEXT(session), STATE_TEXT(value));
	int rc = state_get_row(st, q->person_all, args, state_read_int64, &out->person_tenders,
	                       "affinity history", err);
	if (!rc)
		rc = state_each(st, q->person_same, args, add_tender, out, "affinity history", err);
	if (!rc)
		rc = state_get_row(st, q->value, args, state_read_int64, &out->value_tenders,
		                   "affinity history", err);
	if (!rc)
		rc = state_get_row(st, q->all, args, state_read_int64, &out->all_tenders,
		                   "affinity history", err);
	return rc;
}
