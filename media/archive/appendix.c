/* Appending to a tender archive's appendix, sealed or not (appendix.h). */
#include "appendix.h"

#include <errno.h>
#include <glib.h>
#include <sys/stat.h>

int appendix_begin(const char *path, const char *create_sql, struct appendix_tx *tx, char **why)
{
	struct stat sb;
	tx->db = NULL;
	tx->path = path;
	if (stat(path, &sb) != 0) {
		int rc = -errno;
		*why = g_strdup_printf("%s: %s", path, g_strerror(errno));
		return rc;
	}
	tx->mode = sb.st_mode;
	tx->sealed = (sb.st_mode & 0222) == 0;
	if (tx->sealed && chmod(path, sb.st_mode | S_IWUSR) != 0) {
		int rc = -errno;
		*why = g_strdup_printf("%s: %s", path, g_strerror(errno));
		return rc;
	}
	if (sqlite3_open_v2(path, &tx->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(tx->db, 5000) != SQLITE_OK ||
	    sqlite3_exec(
	        tx->db, "PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL; BEGIN IMMEDIATE;",
	        NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(tx->db, create_sql, NULL, NULL, NULL) != SQLITE_OK) {
		*why = g_strdup_printf("%s: not stored: %s", path,
		                       tx->db ? sqlite3_errmsg(tx->db) : "cannot open");
		sqlite3_close(tx->db);
		tx->db = NULL;
		if (tx->sealed)
			chmod(path, tx->mode);
		return -EIO;
	}
	return 0;
}

int appendix_end(struct appendix_tx *tx, int rc, char **why)
{
	if (rc == 0 && sqlite3_exec(tx->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		*why = g_strdup_printf("%s: not stored: %s", tx->path, sqlite3_errmsg(tx->db));
		rc = -EIO;
	}
	sqlite3_close(tx->db); /* an open transaction is rolled back */
	tx->db = NULL;
	if (tx->sealed)
		chmod(tx->path, tx->mode);
	return rc;
}
