/* RFC 3161 timestamps of sealed tenders' final checkpoints ([controller] tsa_url): asked of
 * the TSA on a worker thread (a network service must not hold up the loop), stored in the
 * sealed file (media/archive/timestamp.h); an archive_write_failed alert when none could be
 * had. The tender is sealed either way; `evalroom-archive timestamp` adds one later. */
#include <errno.h>

#include "archive_disk.h"
#include "archives.h"
#include "log.h"
#include "timestamp.h"

struct ts_job {
	struct controller *c;
	char *tender, *path, *url;
	int timeout_ms;
	int rc;
	char *err;
	int64_t checkpoint;
};

static void ts_job_free(struct ts_job *j)
{
	g_free(j->tender);
	g_free(j->path);
	g_free(j->url);
	g_free(j->err);
	g_free(j);
}

/* Back on the loop: log the outcome, alert on failure. */
static gboolean ts_done(gpointer data)
{
	struct ts_job *j = data;

	if (j->rc == 0) {
		log_info("tender %s: final checkpoint (row %" G_GINT64_FORMAT ") timestamped by %s",
		         j->tender, j->checkpoint, j->url);
		if (j->c->archive_appendix) /* the copies made at the seal lack it */
			j->c->archive_appendix(j->c, j->tender);
	} else {
		log_warnx("tender %s: sealed without an RFC 3161 timestamp: %s; add one later with "
		          "evalroom-archive timestamp %s --tsa URL",
		          j->tender, j->err ? j->err : g_strerror(-j->rc), j->path);
		archive_write_failed(j->c, j->tender, "its RFC 3161 timestamp",
		                     j->err ? j->err : g_strerror(-j->rc));
	}
	ts_job_free(j);
	return G_SOURCE_REMOVE;
}

/* The worker: the TSA round trip and the insert into the sealed file, nothing else. */
static gpointer ts_thread(gpointer data)
{
	struct ts_job *j = data;

	j->rc = archive_timestamp_last(j->path, j->url, j->timeout_ms, &j->checkpoint, &j->err);
	g_idle_add(ts_done, j);
	return NULL;
}

void archives_timestamp_sealed(struct controller *c, const char *tender, const char *path)
{
	struct ts_job *j;

	if (!c->cfg.tsa_url || !*c->cfg.tsa_url)
		return;
	j = g_new0(struct ts_job, 1);
	j->c = c;
	j->tender = g_strdup(tender);
	j->path = g_strdup(path);
	j->url = g_strdup(c->cfg.tsa_url);
	j->timeout_ms = (int)c->cfg.tsa_timeout_ms;
	g_thread_unref(g_thread_new("tsa", ts_thread, j));
}
