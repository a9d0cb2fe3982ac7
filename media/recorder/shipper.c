#include "shipper.h"

#include "chunk_meta.h"
#include "clock.h"
#include "msg.h"
#include "recorder_config.h"
#include "segment_file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#define CHUNK_DEFAULT (256 * 1024)
#define MS_US         ((int64_t)1000)

struct inflight {
	gboolean is_gap;
	char stream[SPOOL_NAME_MAX];
	int64_t seq; /* segment seq or gap id */
	int64_t offset;
	gboolean done;      /* every chunk (or the gap) published */
	int64_t timeout_us; /* the ack timeout: the base, doubled per resend up to the cap */
	int64_t due_us;     /* once done: sent again if still unacknowledged at this time */
	unsigned resends;   /* after an ack timeout */
};

struct shipper {
	struct spool *sp;
	struct shipper_ops ops;
	void *ctx;
	char *room;
	size_t chunk;
	unsigned max_inflight;
	int64_t ack_timeout_us;
	GArray *inflight;     /* struct inflight */
	const struct clock_source *clock; /* NULL: the system's */
	struct clock_timer *timer;        /* on clock, for the earliest due_us; NULL = none */
	int64_t timer_due_us; /* what it is set for; 0 exactly when timer is 0 */
	uint64_t resends;
	struct seq_counter own_seq; /* when the caller gave none */
	struct seq_counter *seq;
	char *media_topic;
	char *event_topic;
	/* the media rate's token bucket (rate_Bps 0: no limit) */
	int64_t rate_Bps;               /* bytes per second */
	int64_t tokens;                 /* bytes that may go now, at most sh->chunk */
	int64_t tokens_at_us;           /* monotonic time of the last refill */
	struct clock_timer *rate_timer; /* kicks once the bucket holds the next chunk */
	uint64_t bytes_sent;
};

int shipper_new(struct spool *sp, const struct shipper_ops *ops, void *ctx,
                const struct shipper_options *opt, struct shipper **out)
{
	if (!opt || !id_valid(opt->room) || !ops || !ops->publish ||
	    opt->chunk_bytes > CHUNK_MAX_BYTES || opt->ack_timeout_ms > SHIPPER_ACK_TIMEOUT_CAP_MS)
		return -EINVAL;
	struct shipper *sh = g_new0(struct shipper, 1);
	sh->sp = sp;
	sh->ops = *ops;
	sh->ctx = ctx;
	sh->room = g_strdup(opt->room);
	sh->seq = opt->seq ? opt->seq : &sh->own_seq;
	sh->chunk = opt->chunk_bytes ? opt->chunk_bytes : CHUNK_DEFAULT;
	sh->max_inflight = opt->max_inflight ? opt->max_inflight : 4;
	sh->clock = opt->clock;
	sh->ack_timeout_us =
	    (opt->ack_timeout_ms ? opt->ack_timeout_ms : SHIPPER_ACK_TIMEOUT_DEFAULT_MS) * MS_US;
	sh->inflight = g_array_new(FALSE, TRUE, sizeof(struct inflight));
	sh->rate_Bps = (int64_t)opt->media_kbit * 1000 / 8;
	sh->tokens = (int64_t)sh->chunk;
	sh->tokens_at_us = clock_source_mono_us(sh->clock);
	sh->media_topic = g_strdup_printf("evalroom/v1/room/%s/media", sh->room);
	sh->event_topic = g_strdup_printf("evalroom/v1/room/%s/event", sh->room);
	*out = sh;
	return 0;
}

void shipper_free(struct shipper *sh)
{
	if (!sh)
		return;
	clock_timer_stop(sh->clock, sh->timer);
	clock_timer_stop(sh->clock, sh->rate_timer);
	g_array_free(sh->inflight, TRUE);
	g_free(sh->room);
	g_free(sh->media_topic);
	g_free(sh->event_topic);
	g_free(sh);
}

static int64_t now_us(struct shipper *sh)
{
	return clock_source_mono_us(sh->clock);
}

static struct inflight inflight_new(struct shipper *sh, gboolean is_gap, const char *stream,
                                    int64_t seq)
{
	struct inflight f = {.is_gap = is_gap, .seq = seq, .timeout_us = sh->ack_timeout_us};
	g_strlcpy(f.stream, stream, sizeof(f.stream));
	return f;
}

/* f is published in full: its ack timeout runs from now. */
static void inflight_sent(struct shipper *sh, struct inflight *f)
{
	f->done = TRUE;
	f->due_us = now_us(sh) + f->timeout_us;
}

static void on_ack_timer(void *user);

/* Keeps the one timer set for the earliest due_us, or removes it when nothing waits. */
static void timer_arm(struct shipper *sh)
{
	int64_t due = 0;
	for (guint i = 0; i < sh->inflight->len; i++) {
		const struct inflight *f = &g_array_index(sh->inflight, struct inflight, i);
		if (f->done && (!due || f->due_us < due))
			due = f->due_us;
	}
	if (due == sh->timer_due_us)
		return;
	clock_timer_stop(sh->clock, sh->timer);
	sh->timer = NULL;
	sh->timer_due_us = due;
	if (!due)
		return;
	int64_t wait_ms = (MAX(due - now_us(sh), 0) + MS_US - 1) / MS_US;
	sh->timer = clock_timer_start(sh->clock, NULL, (unsigned)MIN(wait_ms, (int64_t)G_MAXUINT),
	                              on_ack_timer, sh);
}

static void on_ack_timer(void *user)
{
	struct shipper *sh = user;
	sh->timer = NULL; /* fired */
	sh->timer_due_us = 0;
	shipper_resend_overdue(sh); /* a publish error is retried by the next kick */
}

static int publish_json(struct shipper *sh, const char *topic, json_t *msg)
{
	size_t len;
	char *text = msg_dump(msg, &len);
	json_decref(msg);
	int rc = sh->ops.publish(sh->ctx, topic, text, len, NULL, 0);
	g_free(text);
	return rc;
}

static struct inflight *find_inflight(struct shipper *sh, gboolean is_gap, const char *stream,
                                      int64_t seq, guint *idx)
{
	for (guint i = 0; i < sh->inflight->len; i++) {
		struct inflight *f = &g_array_index(sh->inflight, struct inflight, i);
		if (f->is_gap == is_gap && f->seq == seq &&
		    (is_gap || strcmp(f->stream, stream) == 0)) {
			if (idx)
				*idx = i;
			return f;
		}
	}
	return NULL;
}

unsigned shipper_inflight(const struct shipper *sh)
{
	unsigned n = 0;
	for (guint i = 0; i < sh->inflight->len; i++)
		n += !g_array_index(sh->inflight, struct inflight, i).is_gap;
	return n;
}

static int ship_gap(struct shipper *sh, const struct spool_gap *g)
{
	json_t *m = msg_new("stream.gap", sh->seq);
	json_object_set_new(m, "room", json_string(sh->room));
	json_object_set_new(m, "stream", json_string(g->stream));
	json_object_set_new(m, "gap_id", json_integer(g->id));
	json_object_set_new(m, "reason", json_string(gap_reason_name(g->reason)));
	json_object_set_new(m, "from_us", json_integer(g->from_us));
	json_object_set_new(m, "to_us", json_integer(g->to_us));
	return publish_json(sh, sh->event_topic, m);
}

#define RATE_WAIT (-EAGAIN) /* internal: the bucket has too little; a timer kicks later */

static void on_rate_timer(void *user)
{
	struct shipper *sh = user;
	sh->rate_timer = NULL; /* fired */
	shipper_kick(sh);      /* a publish error is retried by the next kick */
}

/* Whether a chunk of N bytes may go now (refilling the bucket first); if not, a timer
 * kicks the shipper once it may. */
static gboolean rate_allows(struct shipper *sh, size_t n)
{
	if (!sh->rate_Bps)
		return TRUE;
	int64_t now = now_us(sh);
	int64_t add = (now - sh->tokens_at_us) * sh->rate_Bps / G_USEC_PER_SEC;
	if (add > 0) {
		sh->tokens = MIN(sh->tokens + add, (int64_t)sh->chunk);
		sh->tokens_at_us = now;
	}
	if (sh->tokens >= (int64_t)n)
		return TRUE;
	if (!sh->rate_timer) {
		int64_t wait_us = ((int64_t)n - sh->tokens) * G_USEC_PER_SEC / sh->rate_Bps + 1;
		sh->rate_timer = clock_timer_start(sh->clock, NULL,
		                                   (unsigned)((wait_us + MS_US - 1) / MS_US),
		                                   on_rate_timer, sh);
	}
	return FALSE;
}

/* Publishes the remaining chunks of f's segment. */
static int ship_segment(struct shipper *sh, struct inflight *f)
{
	struct spool_segment seg;
	int rc = spool_segment_get(sh->sp, f->stream, f->seq, &seg);
	if (rc) {
		inflight_sent(sh, f); /* acknowledged meanwhile: dropped at its timeout */
		return 0;
	}
	int fd = open(seg.path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		g_warning("shipper: segment %s/%" G_GINT64_FORMAT ": open %s: %s", seg.stream,
		          seg.seq, seg.path, g_strerror(errno));
		inflight_sent(sh, f); /* tried again at its timeout */
		return 0;
	}
	guchar *buf = g_malloc(sh->chunk);
	struct chunk_meta cm = {.segment_seq = seg.seq,
	                        .start_us = seg.start_us,
	                        .end_us = seg.end_us,
	                        .size = seg.size,
	                        .recovered = seg.recovered};
	g_strlcpy(cm.stream, seg.stream, sizeof(cm.stream));
	g_strlcpy(cm.sha256, seg.sha256, sizeof(cm.sha256));
	struct chunk_props props;
	while (f->offset < seg.size) {
		size_t want = (size_t)MIN((int64_t)sh->chunk, seg.size - f->offset);
		if (!rate_allows(sh, want)) {
			rc = RATE_WAIT;
			break;
		}
		ssize_t n = pread(fd, buf, want, f->offset);
		if (n <= 0) {
			g_warning("shipper: segment %s/%" G_GINT64_FORMAT
			          ": short read at %" G_GINT64_FORMAT,
			          seg.stream, seg.seq, f->offset);
			inflight_sent(sh, f);
			break;
		}
		cm.seq = seq_next(sh->seq);
		cm.ts = clock_source_now_us(sh->clock);
		cm.offset = f->offset;
		cm.last = f->offset + n >= seg.size;
		chunk_meta_props(&cm, &props);
		rc = sh->ops.publish(sh->ctx, sh->media_topic, buf, (size_t)n, props.p, CHUNK_PROPS);
		if (rc)
			break;
		if (sh->rate_Bps)
			sh->tokens -= n;
		sh->bytes_sent += (uint64_t)n;
		f->offset += n;
	}
	if (!rc && !f->done && f->offset >= seg.size)
		inflight_sent(sh, f);
	g_free(buf);
	close(fd);
	return rc;
}

/* Publishes the closed gaps not in flight, or in flight but due to be sent again. */
static int kick_gaps(struct shipper *sh)
{
	struct spool_gap *gaps = NULL;
	size_t ng = 0;
	int rc = spool_gap_list_closed(sh->sp, 64, &gaps, &ng);
	for (size_t i = 0; i < ng && !rc; i++) {
		struct inflight *f = find_inflight(sh, TRUE, NULL, gaps[i].id, NULL);
		if (f && f->done)
			continue;
		if ((rc = ship_gap(sh, &gaps[i])))
			break;
		if (!f) {
			struct inflight n = inflight_new(sh, TRUE, gaps[i].stream, gaps[i].id);
			g_array_append_val(sh->inflight, n);
			f = &g_array_index(sh->inflight, struct inflight, sh->inflight->len - 1);
		}
		inflight_sent(sh, f);
	}
	g_free(gaps);
	return rc;
}

/* Continues the segments in flight, then starts new ones while the window allows. */
static int kick_segments(struct shipper *sh)
{
	int rc = 0;
	for (guint i = 0; i < sh->inflight->len && !rc; i++) {
		struct inflight *f = &g_array_index(sh->inflight, struct inflight, i);
		if (!f->is_gap && !f->done)
			rc = ship_segment(sh, f);
	}
	while (!rc && shipper_inflight(sh) < sh->max_inflight) {
		struct spool_segment *segs = NULL;
		size_t n = 0;
		if ((rc = spool_segment_list(sh->sp, sh->inflight->len + 1, &segs, &n)))
			break;
		struct inflight f = {0};
		for (size_t i = 0; i < n && !f.seq; i++)
			if (!find_inflight(sh, FALSE, segs[i].stream, segs[i].seq, NULL))
				f = inflight_new(sh, FALSE, segs[i].stream, segs[i].seq);
		g_free(segs);
		if (!f.seq)
			break;
		g_array_append_val(sh->inflight, f);
		rc = ship_segment(
		    sh, &g_array_index(sh->inflight, struct inflight, sh->inflight->len - 1));
	}
	return rc;
}

int shipper_kick(struct shipper *sh)
{
	int rc = kick_gaps(sh);
	if (!rc)
		rc = kick_segments(sh);
	timer_arm(sh);
	return rc == RATE_WAIT ? 0 : rc;
}

/* Back to unsent: the next kick publishes f again from its start. */
static void inflight_rewind(struct inflight *f)
{
	f->offset = 0;
	f->done = FALSE;
	f->due_us = 0;
}

void shipper_reset_inflight(struct shipper *sh)
{
	for (guint i = 0; i < sh->inflight->len; i++)
		inflight_rewind(&g_array_index(sh->inflight, struct inflight, i));
	timer_arm(sh);
}

static gboolean inflight_spooled(struct shipper *sh, const struct inflight *f)
{
	struct spool_segment seg;
	struct spool_gap gap;
	return f->is_gap ? spool_gap_get(sh->sp, f->seq, &gap) == 0
	                 : spool_segment_get(sh->sp, f->stream, f->seq, &seg) == 0;
}

static void inflight_resend(struct shipper *sh, struct inflight *f)
{
	f->resends++;
	sh->resends++;
	g_warning("shipper: stream %s %s %" G_GINT64_FORMAT " unacknowledged after %.1f s: "
	          "sending it again%s (resend %u)",
	          f->stream, f->is_gap ? "gap" : "segment", f->seq,
	          (double)f->timeout_us / (double)G_USEC_PER_SEC, f->is_gap ? "" : " from offset 0",
	          f->resends);
	f->timeout_us = MIN(f->timeout_us * 2, SHIPPER_ACK_TIMEOUT_CAP_MS * MS_US);
	inflight_rewind(f);
}

int shipper_resend_overdue(struct shipper *sh)
{
	int64_t now = now_us(sh);
	for (guint i = 0; i < sh->inflight->len;) {
		struct inflight *f = &g_array_index(sh->inflight, struct inflight, i);
		if (!f->done || f->due_us > now) {
			i++;
		} else if (!inflight_spooled(sh, f)) {
			g_array_remove_index(sh->inflight, i); /* deleted meanwhile */
		} else {
			inflight_resend(sh, f);
			i++;
		}
	}
	return shipper_kick(sh);
}

uint64_t shipper_resends(const struct shipper *sh)
{
	return sh->resends;
}

int shipper_ack_segment(struct shipper *sh, const char *stream, int64_t seq)
{
	guint idx;
	if (find_inflight(sh, FALSE, stream, seq, &idx)) {
		g_array_remove_index(sh->inflight, idx);
		timer_arm(sh);
	}
	struct spool_segment seg;
	int rc = spool_segment_get(sh->sp, stream, seq, &seg);
	if (rc)
		return rc;
	if ((rc = spool_segment_delete(sh->sp, stream, seq)))
		return rc;
	rc = segment_file_remove(seg.path);
	if (rc)
		g_warning("shipper: remove %s: %s", seg.path, g_strerror(-rc));
	return 0;
}

int shipper_ack_gap(struct shipper *sh, const char *stream, int64_t gap_id)
{
	struct spool_gap g;
	int rc = spool_gap_get(sh->sp, gap_id, &g);
	if (rc == 0 && strcmp(g.stream, stream) != 0)
		return -EINVAL;
	guint idx;
	if (find_inflight(sh, TRUE, NULL, gap_id, &idx)) {
		g_array_remove_index(sh->inflight, idx);
		timer_arm(sh);
	}
	return rc ? rc : spool_gap_delete(sh->sp, gap_id);
}

uint64_t shipper_bytes_sent(const struct shipper *sh)
{
	return sh->bytes_sent;
}
