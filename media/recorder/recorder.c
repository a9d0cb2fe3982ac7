#include "recorder.h"

#include "camera_source.h"
#include "live.h"
#include "segment_file.h"

#include <dirent.h>
#include <errno.h>
#include <gio/gio.h>
#include <gst/gst.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#define HEALTH_TICK_MS   200
#define SPACE_TICK_US    1000000
#define EOS_WAIT_MS      3000
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS   30000
/* A camera that refuses the password is asked again less often: many lock the account
 * after a few failures in a row. */
#define BACKOFF_AUTH_MAX_MS 60000
#define SEGMENT_NAME_FMT "%08" G_GINT64_FORMAT ".ts"

struct rec_stream {
	struct recorder *rec;
	struct live_tap *tap; /* live viewers of the video (live.h) */
	const struct stream_config *cfg;
	char *dir;
	GstElement *pipeline;
	guint bus_watch;
	enum stream_state state;
	const char *reason;
	int64_t next_seq;
	int64_t last_end_us; /* end of the newest spooled segment, -1 if none */
	int64_t epoch_offset_us;
	gboolean have_offset;
	int64_t cur_seq; /* segment being written, 0 if none */
	int64_t cur_start_us;
	char cur_path[SPOOL_PATH_MAX];
	_Atomic int64_t last_buf_mono;
	_Atomic int64_t last_buf_wall;
	_Atomic int64_t bytes;
	/* Running time (ns) and wall-clock time of a run's first buffer, -1 until then:
	 * the time base of a source that is not live. */
	_Atomic int64_t first_rt_ns;
	_Atomic int64_t first_wall_us;
	gboolean live;
	/* An RTSP camera's run: rtspsrc (borrowed from the pipeline), how many of its
	 * progress steps followed "connect" (2 once the camera has answered), and whether
	 * the video changed format (set on the streaming thread; what follows is dropped). */
	GstElement *camera_src;
	gboolean connecting;
	unsigned steps_after_connect;
	_Atomic int format_changed;
	GMutex format_lock;
	char *run_format; /* first video format of this run, under format_lock */
	int64_t started_mono;
	int64_t gap_id; /* open gap, 0 if none */
	struct clock_timer *restart_timer; /* on rec->clock; NULL = none */
	struct clock_timer *eos_timer;
	unsigned backoff_ms;
	gboolean stopping;
	gboolean final_stop;
	enum gap_reason halt_reason;
	int64_t report_mono;
	int64_t report_bytes;
	int64_t bitrate;
};

struct recorder {
	const struct recorder_config *cfg;
	struct spool *sp;
	struct recorder_events ev;
	void *ctx;
	struct rec_stream *streams;
	size_t n;
	const struct clock_source *clock; /* the timeouts' clock; NULL: the system's */
	struct clock_timer *health_timer;
	int64_t space_mono;
	enum space_level space;
	int64_t last_report_mono;
	struct spool *sp_worker; /* the sealing thread's connection */
	GQueue seal_queue;       /* struct seal_job, sealed one at a time in order */
	gboolean sealing;
	unsigned cameras_stopping; /* camera pipelines still going to NULL on a thread */
	gboolean abandoned;        /* freed while one was: its report must not run */
};

static const char *const state_names[] = {"starting", "recording", "lost", "stopped"};
static const char *const level_names[] = {"ok", "low", "full"};

const char *stream_state_name(enum stream_state s)
{
	return (unsigned)s < G_N_ELEMENTS(state_names) ? state_names[s] : "unknown";
}

const char *space_level_name(enum space_level l)
{
	return (unsigned)l < G_N_ELEMENTS(level_names) ? level_names[l] : "unknown";
}

static void stream_start(struct rec_stream *s);
static void stream_halt(struct rec_stream *s, enum gap_reason why);

static void emit_state(struct rec_stream *s)
{
	if (!s->rec->ev.state)
		return;
	int64_t wall = atomic_load(&s->last_buf_wall);
	struct stream_status st = {
	    .stream = s->cfg->name,
	    .state = s->state,
	    .last_buffer_us = wall > 0 ? wall : -1,
	    .bitrate_bps = s->state == STREAM_RECORDING ? s->bitrate : 0,
	    .reason = s->reason,
	    .live_audio = s->tap && live_tap_has_audio(s->tap),
	};
	s->rec->ev.state(s->rec->ctx, &st);
}

static void set_state(struct rec_stream *s, enum stream_state st, const char *reason)
{
	if (s->state == st && s->reason == reason)
		return;
	s->state = st;
	s->reason = reason;
	emit_state(s);
}

static void emit_gap(struct rec_stream *s, int64_t id)
{
	struct spool_gap g;
	if (s->rec->ev.gap && spool_gap_get(s->rec->sp, id, &g) == 0)
		s->rec->ev.gap(s->rec->ctx, &g);
}

static void gap_open(struct rec_stream *s, enum gap_reason why, int64_t from_us)
{
	if (s->gap_id)
		return;
	if (spool_gap_begin(s->rec->sp, s->cfg->name, why, from_us, &s->gap_id)) {
		g_warning("recorder %s: cannot record %s gap", s->cfg->name, gap_reason_name(why));
		return;
	}
	emit_gap(s, s->gap_id);
}

static void gap_close(struct rec_stream *s, int64_t to_us)
{
	if (!s->gap_id)
		return;
	if (spool_gap_end(s->rec->sp, s->gap_id, to_us) == 0)
		emit_gap(s, s->gap_id);
	s->gap_id = 0;
}

/* Spool work done off the main loop, in order: recording that a segment was opened
 * (begin), or sealing and spooling a closed or partial one. */
struct seal_job {
	struct rec_stream *s;
	gboolean begin;
	struct spool_segment seg;
	int rc;
};

/* Seals and spools seg (its end already known). Runs on the sealing thread with the
 * recorder's second spool connection, or at start-up on the main loop. Returns
 * -ENODATA for an empty or missing file, which is forgotten (the enclosing gap
 * accounts for its time). */
static int seal_and_spool(struct spool *sp, struct spool_segment *seg)
{
	struct stat st;
	if (stat(seg->path, &st) || st.st_size == 0) {
		g_warning("recorder %s: segment %" G_GINT64_FORMAT " (%s) is empty or missing: "
		          "declared lost",
		          seg->stream, seg->seq, seg->path);
		segment_file_remove(seg->path);
		spool_segment_abandon(sp, seg->stream, seg->seq);
		return -ENODATA;
	}
	int64_t t0 = g_get_monotonic_time();
	int rc = segment_file_seal(seg->path, seg->sha256, &seg->size);
	if (rc) {
		g_warning("recorder %s: seal %s: %s", seg->stream, seg->path, g_strerror(-rc));
		return rc;
	}
	rc = spool_segment_add(sp, seg);
	if (rc) {
		g_warning("recorder %s: spool segment %" G_GINT64_FORMAT ": %s", seg->stream,
		          seg->seq, g_strerror(-rc));
		return rc;
	}
	g_debug("recorder %s: segment %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT
	        " bytes) sealed and spooled in %" G_GINT64_FORMAT " us",
	        seg->stream, seg->seq, seg->size, g_get_monotonic_time() - t0);
	return 0;
}

static void seal_next(struct recorder *rec);

/* Waits (running the default main context) until every queued segment is spooled. */
static void seal_drain(struct recorder *rec)
{
	while (rec->sealing || !g_queue_is_empty(&rec->seal_queue))
		g_main_context_iteration(NULL, TRUE);
}

static void seal_thread(GTask *task, gpointer src, gpointer data, GCancellable *cancel)
{
	struct seal_job *job = data;
	struct spool *sp = job->s->rec->sp_worker;
	if (job->begin)
		job->rc = spool_segment_begin(sp, job->seg.stream, job->seg.seq, job->seg.start_us,
		                              job->seg.path);
	else
		job->rc = seal_and_spool(sp, &job->seg);
	g_task_return_boolean(task, TRUE);
}

/* Back on the main loop: the segment is durable and spooled, so tell the owner. */
static void seal_done(GObject *src, GAsyncResult *res, gpointer data)
{
	struct seal_job *job = data;
	struct recorder *rec = job->s->rec;
	rec->sealing = FALSE;
	if (job->rc == 0 && !job->begin) {
		if (rec->ev.segment)
			rec->ev.segment(rec->ctx, &job->seg);
		recorder_check_space(rec);
	}
	g_free(job);
	seal_next(rec);
}

static void seal_next(struct recorder *rec)
{
	if (rec->sealing || g_queue_is_empty(&rec->seal_queue))
		return;
	struct seal_job *job = g_queue_pop_head(&rec->seal_queue);
	rec->sealing = TRUE;
	GTask *task = g_task_new(NULL, NULL, seal_done, job);
	g_task_set_task_data(task, job, NULL);
	g_task_run_in_thread(task, seal_thread);
	g_object_unref(task);
}

/* Queues a closed (or, with recovered, partial) segment for sealing off the main
 * loop: hashing and fsync take tens of milliseconds, which the door's decisions
 * sharing this loop must not wait for. Numbering and the stream's end time advance
 * now, so a restart or a gap never depends on the queue. */
static void spool_file(struct rec_stream *s, int64_t seq, int64_t start_us, int64_t end_us,
                       const char *path, gboolean recovered)
{
	struct seal_job *job = g_new0(struct seal_job, 1);
	job->s = s;
	struct spool_segment *seg = &job->seg;
	seg->seq = seq;
	seg->start_us = start_us;
	seg->recovered = recovered;
	if (recovered && segment_file_mtime_us(path, &end_us))
		end_us = start_us;
	seg->end_us = MAX(end_us, start_us);
	g_strlcpy(seg->stream, s->cfg->name, sizeof(seg->stream));
	g_strlcpy(seg->path, path, sizeof(seg->path));
	if (seq >= s->next_seq)
		s->next_seq = seq + 1;
	/* An empty or missing partial is forgotten by the sealer: its time belongs to the
	 * restart gap that follows, which starts at the stream's end, so it must not move it. */
	struct stat st;
	gboolean forgotten = recovered && (stat(path, &st) != 0 || st.st_size == 0);
	if (!forgotten && seg->end_us > s->last_end_us)
		s->last_end_us = seg->end_us;
	g_queue_push_tail(&s->rec->seal_queue, job);
	seal_next(s->rec);
}

static int64_t fragment_time_us(struct rec_stream *s, const GstStructure *st)
{
	guint64 rt = 0;
	gst_structure_get_uint64(st, "running-time", &rt);
	if (!s->have_offset) {
		/* Wall-clock time of running time zero, fixed once per pipeline run so that
		 * consecutive segments of a run abut exactly. A live source's running time
		 * follows the pipeline clock; a source that is not live (e.g. a TCP stream)
		 * starts its running time at its first buffer, whenever that arrives. */
		int64_t first_rt = atomic_load(&s->first_rt_ns);
		if (!s->live && first_rt >= 0) {
			s->epoch_offset_us = atomic_load(&s->first_wall_us) - first_rt / 1000;
		} else {
			GstClock *clk = gst_element_get_clock(s->pipeline);
			int64_t rt_now = 0;
			if (clk) {
				rt_now = (int64_t)((gst_clock_get_time(clk) -
				                    gst_element_get_base_time(s->pipeline)) /
				                   1000);
				gst_object_unref(clk);
			}
			s->epoch_offset_us = g_get_real_time() - rt_now;
		}
		s->have_offset = TRUE;
	}
	return s->epoch_offset_us + (int64_t)(rt / 1000);
}

static void on_fragment(struct rec_stream *s, const GstStructure *st, gboolean opened)
{
	const char *loc = gst_structure_get_string(st, "location");
	int64_t seq = loc ? segment_file_seq(loc) : 0;
	if (!seq) {
		g_warning("recorder %s: fragment with unexpected location %s", s->cfg->name,
		          loc ? loc : "(none)");
		return;
	}
	int64_t t = fragment_time_us(s, st);
	if (opened) {
		s->cur_seq = seq;
		s->cur_start_us = t;
		g_strlcpy(s->cur_path, loc, sizeof(s->cur_path));
		struct seal_job *job = g_new0(struct seal_job, 1);
		job->s = s;
		job->begin = TRUE;
		job->seg.seq = seq;
		job->seg.start_us = t;
		g_strlcpy(job->seg.stream, s->cfg->name, sizeof(job->seg.stream));
		g_strlcpy(job->seg.path, loc, sizeof(job->seg.path));
		g_queue_push_tail(&s->rec->seal_queue, job);
		seal_next(s->rec);
		if (s->state != STREAM_RECORDING) {
			gap_close(s, t);
			s->backoff_ms = BACKOFF_FIRST_MS;
			set_state(s, STREAM_RECORDING, NULL);
		}
		return;
	}
	int64_t start = s->cur_seq == seq ? s->cur_start_us : t;
	if (s->cur_seq == seq)
		s->cur_seq = 0;
	spool_file(s, seq, start, t, loc, FALSE);
}

static void restart_due(void *data)
{
	struct rec_stream *s = data;
	s->restart_timer = NULL; /* fired */
	if (s->rec->space == SPACE_FULL) {
		gap_open(s, GAP_DISK_FULL, g_get_real_time());
		set_state(s, STREAM_STOPPED, gap_reason_name(GAP_DISK_FULL));
	} else {
		stream_start(s);
	}
}

/* The longest wait between two attempts. A camera is asked again within half a
 * segment, so that recording resumes within two segment lengths of its return; a
 * refused password waits longer. Other sources keep the 30 s cap. */
static unsigned backoff_max_ms(const struct rec_stream *s)
{
	if (!s->cfg->camera)
		return BACKOFF_MAX_MS;
	if (s->halt_reason == GAP_CAMERA_UNAUTHORIZED)
		return BACKOFF_AUTH_MAX_MS;
	return CLAMP(s->cfg->segment_ms / 2, BACKOFF_FIRST_MS, BACKOFF_MAX_MS);
}

/* A camera pipeline going to NULL on its own thread: rtspsrc can block there (a
 * connection that neither answers nor fails, its RTP bin's own teardown), and the
 * agent's main loop, which also decides the door, must not wait for it. */
struct camera_stop {
	struct rec_stream *s;
	GstElement *pipeline;
	int64_t seq; /* the segment the muxer never closed, 0 if none */
	int64_t start_us;
	char path[SPOOL_PATH_MAX];
};

static gboolean camera_stopped(gpointer data)
{
	struct camera_stop *cs = data;
	struct recorder *rec = cs->s->rec;
	if (!rec->abandoned) {
		rec->cameras_stopping--;
		/* Keep what reached the disk, MPEG-TS plays; its time lies in the gap. */
		if (cs->seq)
			spool_file(cs->s, cs->seq, cs->start_us, 0, cs->path, TRUE);
	}
	g_free(cs);
	return G_SOURCE_REMOVE;
}

static gpointer camera_stop_thread(gpointer data)
{
	struct camera_stop *cs = data;
	gst_element_set_state(cs->pipeline, GST_STATE_NULL);
	gst_object_unref(cs->pipeline);
	g_idle_add(camera_stopped, cs);
	return NULL;
}

static void camera_stop_async(struct rec_stream *s)
{
	struct camera_stop *cs = g_new0(struct camera_stop, 1);
	cs->s = s;
	cs->pipeline = s->pipeline;
	cs->seq = s->cur_seq;
	cs->start_us = s->cur_start_us;
	g_strlcpy(cs->path, s->cur_path, sizeof(cs->path));
	if (s->cur_seq >= s->next_seq)
		s->next_seq = s->cur_seq + 1; /* the next run must not write over it */
	s->cur_seq = 0;
	s->pipeline = NULL;
	s->rec->cameras_stopping++;
	camera_source_release(s->camera_src);
	g_thread_unref(g_thread_new("camera-stop", camera_stop_thread, cs));
}

static void finish_teardown(struct rec_stream *s)
{
	clock_timer_stop(s->rec->clock, s->eos_timer);
	s->eos_timer = NULL;
	if (s->bus_watch)
		g_source_remove(s->bus_watch);
	s->bus_watch = 0;
	if (s->pipeline && s->camera_src) {
		camera_stop_async(s);
	} else if (s->pipeline) {
		gst_element_set_state(s->pipeline, GST_STATE_NULL);
		gst_object_unref(s->pipeline);
		s->pipeline = NULL;
	}
	s->camera_src = NULL;
	s->stopping = FALSE;
	if (s->cur_seq) {
		/* The muxer never closed it: keep what reached the disk, MPEG-TS plays. */
		spool_file(s, s->cur_seq, s->cur_start_us, 0, s->cur_path, TRUE);
		s->cur_seq = 0;
	}
	if (s->final_stop) {
		set_state(s, STREAM_STOPPED, NULL);
		return;
	}
	int64_t from = s->last_end_us > 0 ? s->last_end_us : g_get_real_time();
	gap_open(s, s->halt_reason, from);
	if (s->halt_reason == GAP_DISK_FULL) {
		set_state(s, STREAM_STOPPED, gap_reason_name(GAP_DISK_FULL));
		return;
	}
	/* A format change is not a fault: the next run starts at once in the new format. */
	unsigned wait = s->halt_reason == GAP_STREAM_CHANGED ? 0 : s->backoff_ms;
	g_message("recorder %s: restarting in %u ms", s->cfg->name, wait);
	s->restart_timer = clock_timer_start(s->rec->clock, NULL, wait, restart_due, s);
	if (wait)
		s->backoff_ms = MIN(s->backoff_ms * 2, backoff_max_ms(s));
}

static void eos_timeout(void *data)
{
	struct rec_stream *s = data;
	s->eos_timer = NULL; /* fired */
	g_warning("recorder %s: no EOS within %d ms, tearing down", s->cfg->name, EOS_WAIT_MS);
	finish_teardown(s);
}

static gboolean camera_answered(const struct rec_stream *s)
{
	return s->camera_src && s->steps_after_connect >= 2;
}

/* Why an error message stops the stream. rtspsrc says why the camera refused:
 * 401 arrives as NOT_AUTHORIZED, 404 as NOT_FOUND. */
static enum gap_reason error_reason(const struct rec_stream *s, GstMessage *msg,
                                    const GError *err)
{
	if (!err)
		return GAP_CAMERA_LOST;
	if (g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NO_SPACE_LEFT))
		return GAP_DISK_FULL;
	gboolean from_camera =
	    s->camera_src && (GST_MESSAGE_SRC(msg) == GST_OBJECT(s->camera_src) ||
	                      gst_object_has_as_ancestor(GST_MESSAGE_SRC(msg),
	                                                 GST_OBJECT(s->camera_src)));
	if (from_camera &&
	    g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_AUTHORIZED))
		return GAP_CAMERA_UNAUTHORIZED;
	if (from_camera && g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND))
		return GAP_CAMERA_NOT_FOUND;
	/* rtspsrc's own read timeout on a camera that answered and then said nothing. */
	if (from_camera && camera_answered(s) && atomic_load(&s->last_buf_mono) == 0)
		return GAP_CAMERA_SILENT;
	return GAP_CAMERA_LOST;
}

/* Handles one bus message; returns FALSE once the pipeline has been torn down. */
static gboolean handle_message(struct rec_stream *s, GstMessage *msg)
{
	switch (GST_MESSAGE_TYPE(msg)) {
	case GST_MESSAGE_ELEMENT: {
		const GstStructure *st = gst_message_get_structure(msg);
		if (gst_structure_has_name(st, "splitmuxsink-fragment-opened"))
			on_fragment(s, st, TRUE);
		else if (gst_structure_has_name(st, "splitmuxsink-fragment-closed"))
			on_fragment(s, st, FALSE);
		return TRUE;
	}
	case GST_MESSAGE_PROGRESS:
		if (s->camera_src && GST_MESSAGE_SRC(msg) == GST_OBJECT(s->camera_src)) {
			GstProgressType type;
			gchar *code = NULL, *text = NULL;
			gst_message_parse_progress(msg, &type, &code, &text);
			/* rtspsrc announces "connect", then "Retrieving server options" (also
			 * when the connection is still pending), and its next step only once
			 * the camera has answered that request. */
			if (code && strcmp(code, "connect") == 0)
				s->connecting = TRUE;
			else if (s->connecting && type == GST_PROGRESS_TYPE_CONTINUE)
				s->steps_after_connect++;
			g_free(code);
			g_free(text);
		}
		return TRUE;
	case GST_MESSAGE_APPLICATION: {
		const GstStructure *st = gst_message_get_structure(msg);
		if (gst_structure_has_name(st, "evalroom-format-changed")) {
			g_warning("recorder %s: the camera changed its video from %s to %s "
			          "mid-stream: finishing the segment and starting anew",
			          s->cfg->name, gst_structure_get_string(st, "from"),
			          gst_structure_get_string(st, "to"));
			stream_halt(s, GAP_STREAM_CHANGED);
		}
		return TRUE;
	}
	case GST_MESSAGE_EOS:
		if (s->stopping) {
			finish_teardown(s);
			return FALSE;
		}
		g_warning("recorder %s: source ended", s->cfg->name);
		stream_halt(s, GAP_CAMERA_LOST);
		return TRUE;
	case GST_MESSAGE_ERROR: {
		GError *err = NULL;
		char *dbg = NULL;
		gst_message_parse_error(msg, &err, &dbg);
		enum gap_reason why = error_reason(s, msg, err);
		if (s->cfg->camera)
			g_warning("recorder %s: camera %s: %s: %s (%s)", s->cfg->name,
			          s->cfg->camera->url, GST_OBJECT_NAME(msg->src),
			          err ? err->message : "error", gap_reason_name(why));
		else
			g_warning("recorder %s: %s: %s", s->cfg->name, GST_OBJECT_NAME(msg->src),
			          err ? err->message : "error");
		g_clear_error(&err);
		g_free(dbg);
		if (s->stopping) {
			finish_teardown(s);
			return FALSE;
		}
		stream_halt(s, why);
		/* An erroring pipeline may never deliver EOS. */
		if (s->pipeline)
			finish_teardown(s);
		return FALSE;
	}
	default:
		return TRUE;
	}
}

static gboolean on_bus(GstBus *bus, GstMessage *msg, gpointer data)
{
	struct rec_stream *s = data;
	if (!handle_message(s, msg)) {
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* Stops a running stream because of why: the state callback (the alert) fires now,
 * the current segment is finished by EOS, then the gap is opened. */
static void stream_halt(struct rec_stream *s, enum gap_reason why)
{
	if (!s->pipeline || s->stopping)
		return;
	s->halt_reason = why;
	s->final_stop = FALSE;
	if (why == GAP_DISK_FULL)
		set_state(s, STREAM_STOPPED, gap_reason_name(why));
	else
		set_state(s, STREAM_LOST, gap_reason_name(why));
	s->stopping = TRUE;
	if (s->camera_src)
		camera_source_release(s->camera_src);
	gst_element_send_event(s->pipeline, gst_event_new_eos());
	if (s->pipeline && s->stopping)
		s->eos_timer = clock_timer_start(s->rec->clock, NULL, EOS_WAIT_MS, eos_timeout, s);
}

static GstPadProbeReturn on_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct rec_stream *s = data;
	if (atomic_load(&s->format_changed))
		return GST_PAD_PROBE_DROP; /* the segment ends in the format it began with */
	gsize n = 0;
	if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
		n = gst_buffer_get_size(GST_PAD_PROBE_INFO_BUFFER(info));
	else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
		n = gst_buffer_list_calculate_size(GST_PAD_PROBE_INFO_BUFFER_LIST(info));
	if (atomic_load(&s->first_rt_ns) < 0) {
		GstBuffer *buf = (info->type & GST_PAD_PROBE_TYPE_BUFFER)
		                     ? GST_PAD_PROBE_INFO_BUFFER(info)
		                     : gst_buffer_list_get(GST_PAD_PROBE_INFO_BUFFER_LIST(info), 0);
		GstEvent *ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
		if (buf && ev) {
			const GstSegment *seg;
			gst_event_parse_segment(ev, &seg);
			GstClockTime ts = GST_BUFFER_PTS_IS_VALID(buf) ? GST_BUFFER_PTS(buf)
			                                               : GST_BUFFER_DTS(buf);
			guint64 rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME, ts);
			if (GST_CLOCK_TIME_IS_VALID(rt)) {
				atomic_store(&s->first_wall_us, g_get_real_time());
				atomic_store(&s->first_rt_ns, (int64_t)rt);
			}
		}
		if (ev)
			gst_event_unref(ev);
	}
	atomic_fetch_add(&s->bytes, (int64_t)n);
	atomic_store(&s->last_buf_mono, clock_source_mono_us(s->rec->clock));
	atomic_store(&s->last_buf_wall, g_get_real_time());
	return GST_PAD_PROBE_OK;
}

/* Watches the video's caps: the first format of a run is the segment's format; a
 * different codec or resolution later is dropped here (with everything after it) and
 * reported to the main loop, which finishes the segment and starts a new run. */
static GstPadProbeReturn on_caps(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct rec_stream *s = data;
	GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
	if (GST_EVENT_TYPE(ev) != GST_EVENT_CAPS)
		return GST_PAD_PROBE_OK;
	if (atomic_load(&s->format_changed))
		return GST_PAD_PROBE_DROP;
	GstCaps *caps;
	gst_event_parse_caps(ev, &caps);
	const GstStructure *st = gst_caps_get_structure(caps, 0);
	int w = 0;
	if (!gst_structure_get_int(st, "width", &w) || w <= 0)
		return GST_PAD_PROBE_OK; /* no parsed format yet */
	char *fmt = camera_video_format(caps);
	GstPadProbeReturn ret = GST_PAD_PROBE_OK;
	g_mutex_lock(&s->format_lock);
	if (!s->run_format) {
		s->run_format = fmt;
		fmt = NULL;
	} else if (strcmp(s->run_format, fmt) != 0) {
		atomic_store(&s->format_changed, 1);
		GstStructure *m = gst_structure_new("evalroom-format-changed", "from", G_TYPE_STRING,
		                                    s->run_format, "to", G_TYPE_STRING, fmt, NULL);
		gst_element_post_message(s->pipeline,
		                         gst_message_new_application(GST_OBJECT(pad), m));
		ret = GST_PAD_PROBE_DROP;
	}
	g_mutex_unlock(&s->format_lock);
	g_free(fmt);
	return ret;
}

/* Adds the buffer and caps probes, and the live viewers' tap, to the video queue's sink
 * pad. */
static void watch_video(GstPad *qsink, void *data)
{
	struct rec_stream *s = data;
	live_tap_watch(s->tap, qsink);
	gst_pad_add_probe(qsink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
	                  on_buffer, data, NULL);
	gst_pad_add_probe(qsink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_caps, data, NULL);
}

/* Adds fragment ! queue to the pipeline and links it to a request pad of mux. */
static int add_branch(struct rec_stream *s, GstElement *mux, const char *frag, const char *pad_tmpl,
                      gboolean probe)
{
	GError *why = NULL;
	GstElement *bin = recorder_fragment_parse(frag, &why);
	if (!bin) {
		g_warning("recorder %s: %s", s->cfg->name, why->message);
		g_error_free(why);
		return -EINVAL;
	}
	GstElement *q = gst_element_factory_make("queue", NULL);
	gst_bin_add_many(GST_BIN(s->pipeline), bin, q, NULL);
	GstPad *qsrc = gst_element_get_static_pad(q, "src");
	GstPad *mpad = gst_element_request_pad_simple(mux, pad_tmpl);
	int rc = 0;
	if (!gst_element_link(bin, q) || !mpad || gst_pad_link(qsrc, mpad) != GST_PAD_LINK_OK) {
		g_warning("recorder %s: cannot link %s branch", s->cfg->name, pad_tmpl);
		rc = -EINVAL;
	}
	if (mpad)
		gst_object_unref(mpad);
	gst_object_unref(qsrc);
	if (!rc) {
		GstPad *qsink = gst_element_get_static_pad(q, "sink");
		if (probe)
			watch_video(qsink, s);
		else
			live_tap_watch_audio(s->tap, qsink);
		gst_object_unref(qsink);
	}
	return rc;
}

static void stream_start(struct rec_stream *s)
{
	if (s->pipeline)
		return;
	set_state(s, STREAM_STARTING, NULL);
	s->have_offset = FALSE;
	s->cur_seq = 0;
	s->started_mono = clock_source_mono_us(s->rec->clock);
	atomic_store(&s->last_buf_mono, 0);
	atomic_store(&s->first_rt_ns, -1);
	atomic_store(&s->format_changed, 0);
	g_mutex_lock(&s->format_lock);
	g_clear_pointer(&s->run_format, g_free);
	g_mutex_unlock(&s->format_lock);
	s->connecting = FALSE;
	s->steps_after_connect = 0;
	s->pipeline = gst_pipeline_new(s->cfg->name);
	GstElement *mux = gst_element_factory_make("splitmuxsink", NULL);
	GstElement *ts = gst_element_factory_make("mpegtsmux", NULL);
	char *loc = g_build_filename(s->dir, SEGMENT_FILE_PATTERN, NULL);
	g_object_set(mux, "location", loc, "max-size-time", (guint64)s->cfg->segment_ms * 1000000,
	             "start-index", (gint)s->next_seq, "muxer", ts, "send-keyframe-requests", TRUE,
	             NULL);
	g_free(loc);
	gst_bin_add(GST_BIN(s->pipeline), mux);
	int rc = 0;
	if (s->cfg->camera) {
		s->camera_src = camera_source_add(s->pipeline, mux, s->cfg->camera, s->cfg->lost_ms,
		                                  s->cfg->audio == NULL, watch_video, s);
		if (!s->camera_src) {
			g_warning("recorder %s: no rtspsrc element (gstreamer1.0-plugins-good)",
			          s->cfg->name);
			rc = -ENOENT;
		}
	} else {
		rc = add_branch(s, mux, s->cfg->source, "video", TRUE);
	}
	if (!rc && s->cfg->audio)
		rc = add_branch(s, mux, s->cfg->audio, "audio_%u", FALSE);
	GstBus *bus = gst_element_get_bus(s->pipeline);
	s->bus_watch = gst_bus_add_watch(bus, on_bus, s);
	gst_object_unref(bus);
	if (!rc) {
		GstStateChangeReturn ret = gst_element_set_state(s->pipeline, GST_STATE_PLAYING);
		s->live = ret == GST_STATE_CHANGE_NO_PREROLL;
		if (ret == GST_STATE_CHANGE_FAILURE)
			rc = -EIO;
	}
	if (rc) {
		g_warning("recorder %s: pipeline failed to start", s->cfg->name);
		s->halt_reason = GAP_CAMERA_LOST;
		s->final_stop = FALSE;
		set_state(s, STREAM_LOST, gap_reason_name(GAP_CAMERA_LOST));
		finish_teardown(s);
	}
}

static void report_tick(struct recorder *rec, int64_t now)
{
	for (size_t i = 0; i < rec->n; i++) {
		struct rec_stream *s = &rec->streams[i];
		int64_t b = atomic_load(&s->bytes);
		int64_t dt = now - s->report_mono;
		if (dt > 0)
			s->bitrate = (b - s->report_bytes) * 8 * 1000000 / dt;
		s->report_bytes = b;
		s->report_mono = now;
		emit_state(s);
	}
}

static void health_tick(void *data)
{
	struct recorder *rec = data;
	int64_t now = clock_source_mono_us(rec->clock);
	for (size_t i = 0; i < rec->n; i++) {
		struct rec_stream *s = &rec->streams[i];
		if (!s->pipeline || s->stopping)
			continue;
		int64_t last = MAX(atomic_load(&s->last_buf_mono), s->started_mono);
		if (now - last > (int64_t)s->cfg->lost_ms * 1000) {
			/* A camera that answered but has sent nothing since is silent; one
			 * that never answered, or stopped sending, is lost. */
			gboolean silent = camera_answered(s) && atomic_load(&s->last_buf_mono) == 0;
			g_warning("recorder %s: no buffer for %u ms%s", s->cfg->name,
			          s->cfg->lost_ms,
			          silent ? " although the camera answered" : "");
			stream_halt(s, silent ? GAP_CAMERA_SILENT : GAP_CAMERA_LOST);
		}
	}
	if (now - rec->space_mono >= SPACE_TICK_US)
		recorder_check_space(rec);
	if (now - rec->last_report_mono >= (int64_t)rec->cfg->state_interval_ms * 1000) {
		rec->last_report_mono = now;
		report_tick(rec, now);
	}
	rec->health_timer = clock_timer_start(rec->clock, NULL, HEALTH_TICK_MS, health_tick, rec);
}

void recorder_check_space(struct recorder *rec)
{
	rec->space_mono = clock_source_mono_us(rec->clock);
	int64_t used = 0, count = 0;
	if (spool_segment_totals(rec->sp, &used, &count))
		return;
	for (size_t i = 0; i < rec->n; i++) {
		struct stat st;
		if (rec->streams[i].cur_seq && stat(rec->streams[i].cur_path, &st) == 0)
			used += st.st_size;
	}
	struct statvfs vfs;
	int64_t fs_free = INT64_MAX;
	if (statvfs(rec->cfg->spool_dir, &vfs) == 0)
		fs_free = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
	const struct recorder_config *c = rec->cfg;
	gboolean full = (c->quota_bytes && used >= c->quota_bytes) || fs_free < c->min_free_bytes;
	gboolean low = (c->quota_bytes && used * 100 >= c->quota_bytes * c->low_space_percent) ||
	               fs_free < 2 * c->min_free_bytes;
	enum space_level lvl = full ? SPACE_FULL : low ? SPACE_LOW : SPACE_OK;
	/* Once full, stay full until below the low mark, so recording does not flap. */
	if (rec->space == SPACE_FULL && lvl == SPACE_LOW)
		lvl = SPACE_FULL;
	if (lvl == rec->space)
		return;
	enum space_level old = rec->space;
	rec->space = lvl;
	struct space_report rep = {lvl, used, c->quota_bytes, fs_free};
	if (lvl == SPACE_FULL)
		g_warning("recorder: spool at quota (%" G_GINT64_FORMAT
		          " bytes used, %" G_GINT64_FORMAT
		          " free): stopping recording until space returns",
		          used, fs_free);
	if (rec->ev.space)
		rec->ev.space(rec->ctx, &rep);
	for (size_t i = 0; i < rec->n; i++) {
		struct rec_stream *s = &rec->streams[i];
		if (lvl == SPACE_FULL) {
			if (s->pipeline) {
				stream_halt(s, GAP_DISK_FULL);
			} else if (s->state != STREAM_STOPPED || s->restart_timer) {
				clock_timer_stop(rec->clock, s->restart_timer);
				s->restart_timer = NULL;
				gap_open(s, GAP_DISK_FULL, g_get_real_time());
				set_state(s, STREAM_STOPPED, gap_reason_name(GAP_DISK_FULL));
			}
		} else if (old == SPACE_FULL && !s->pipeline && !s->restart_timer &&
		           s->state == STREAM_STOPPED) {
			stream_start(s);
		}
	}
}

/* Spools what a crash left behind in the stream's directory: segments begun but never
 * closed, and files the spool never heard of. */
static void recover_stream(struct rec_stream *s)
{
	struct spool_open_segment *open = NULL;
	size_t n = 0;
	int64_t first_unspooled = s->next_seq;
	if (spool_open_segments(s->rec->sp, s->cfg->name, &open, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			g_message("recorder %s: recovering partial segment %" G_GINT64_FORMAT,
			          s->cfg->name, open[i].seq);
			spool_file(s, open[i].seq, open[i].start_us, 0, open[i].path, TRUE);
			seal_drain(s->rec);
		}
	}
	g_free(open);
	DIR *d = opendir(s->dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		int64_t seq = segment_file_seq(e->d_name);
		struct spool_segment seg;
		if (!seq || spool_segment_get(s->rec->sp, s->cfg->name, seq, &seg) != -ENOENT)
			continue;
		char *path = g_build_filename(s->dir, e->d_name, NULL);
		if (seq < first_unspooled) {
			/* Acknowledged: its row went first, then a crash kept the unlink. */
			segment_file_remove(path);
			g_free(path);
			continue;
		}
		int64_t start = s->last_end_us;
		if (start < 0 && segment_file_mtime_us(path, &start))
			start = g_get_real_time();
		g_message("recorder %s: recovering unrecorded file %s", s->cfg->name, path);
		spool_file(s, seq, start, 0, path, TRUE);
		seal_drain(s->rec);
		g_free(path);
	}
	closedir(d);
}

int recorder_new(const struct recorder_config *cfg, struct spool *sp,
                 const struct recorder_events *ev, void *ctx, struct recorder **out)
{
	struct recorder *rec = g_new0(struct recorder, 1);
	rec->cfg = cfg;
	rec->sp = sp;
	if (ev)
		rec->ev = *ev;
	rec->ctx = ctx;
	rec->n = cfg->n_streams;
	g_queue_init(&rec->seal_queue);
	int rc = spool_clone(sp, &rec->sp_worker);
	if (rc) {
		g_free(rec);
		return rc;
	}
	rec->streams = g_new0(struct rec_stream, rec->n);
	for (size_t i = 0; i < rec->n; i++) {
		struct rec_stream *s = &rec->streams[i];
		s->rec = rec;
		s->cfg = &cfg->streams[i];
		s->state = STREAM_STOPPED;
		s->backoff_ms = BACKOFF_FIRST_MS;
		g_mutex_init(&s->format_lock);
		s->dir = g_build_filename(cfg->spool_dir, s->cfg->name, NULL);
		s->tap = live_tap_new(s->cfg->name, rec->ev.live_ended, ctx);
	}
	for (size_t i = 0; i < rec->n; i++) {
		if (g_mkdir_with_parents(rec->streams[i].dir, 0750)) {
			rc = -errno;
			g_warning("recorder: mkdir %s: %s", rec->streams[i].dir, g_strerror(errno));
			recorder_free(rec);
			return rc;
		}
	}
	*out = rec;
	return 0;
}

void recorder_set_clock(struct recorder *rec, const struct clock_source *clk)
{
	rec->clock = clk;
}

int recorder_start(struct recorder *rec)
{
	int64_t now = g_get_real_time();
	for (size_t i = 0; i < rec->n; i++) {
		struct rec_stream *s = &rec->streams[i];
		int rc =
		    spool_stream_position(rec->sp, s->cfg->name, &s->next_seq, &s->last_end_us);
		if (rc)
			return rc;
		recover_stream(s);
		struct spool_gap g;
		if (spool_gap_find_open(rec->sp, s->cfg->name, &g) == 0) {
			s->gap_id = g.id; /* still explained by its original reason */
		} else if (s->last_end_us > 0) {
			gap_open(s, GAP_AGENT_RESTART, MIN(s->last_end_us, now));
		}
	}
	recorder_check_space(rec);
	rec->last_report_mono = clock_source_mono_us(rec->clock);
	for (size_t i = 0; i < rec->n; i++) {
		struct rec_stream *s = &rec->streams[i];
		s->report_mono = rec->last_report_mono;
		if (rec->space == SPACE_FULL) {
			gap_open(s, GAP_DISK_FULL, now);
			s->state = STREAM_STARTING; /* so that the stopped state is reported */
			set_state(s, STREAM_STOPPED, gap_reason_name(GAP_DISK_FULL));
		} else {
			stream_start(s);
		}
	}
	if (!rec->health_timer)
		rec->health_timer =
		    clock_timer_start(rec->clock, NULL, HEALTH_TICK_MS, health_tick, rec);
	return 0;
}

void recorder_stop(struct recorder *rec)
{
	clock_timer_stop(rec->clock, rec->health_timer);
	rec->health_timer = NULL;
	for (size_t i = 0; i < rec->n; i++) {
		struct rec_stream *s = &rec->streams[i];
		clock_timer_stop(rec->clock, s->restart_timer);
		s->restart_timer = NULL;
		if (!s->pipeline) {
			set_state(s, STREAM_STOPPED, s->reason);
			continue;
		}
		s->final_stop = TRUE;
		s->stopping = TRUE;
		if (s->bus_watch)
			g_source_remove(s->bus_watch);
		s->bus_watch = 0;
		clock_timer_stop(rec->clock, s->eos_timer);
		s->eos_timer = NULL;
		if (s->camera_src)
			camera_source_release(s->camera_src);
		gst_element_send_event(s->pipeline, gst_event_new_eos());
		GstBus *bus = gst_element_get_bus(s->pipeline);
		int64_t deadline = g_get_monotonic_time() + EOS_WAIT_MS * 1000;
		while (s->pipeline) {
			int64_t left = deadline - g_get_monotonic_time();
			GstMessage *m =
			    left > 0
			        ? gst_bus_timed_pop_filtered(bus, (GstClockTime)left * 1000,
			                                     GST_MESSAGE_ELEMENT | GST_MESSAGE_EOS |
			                                         GST_MESSAGE_ERROR)
			        : NULL;
			if (!m) {
				finish_teardown(s);
				break;
			}
			handle_message(s, m);
			gst_message_unref(m);
		}
		gst_object_unref(bus);
	}
	int64_t deadline = g_get_monotonic_time() + EOS_WAIT_MS * 1000;
	while (rec->cameras_stopping && g_get_monotonic_time() < deadline) {
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(10000);
	}
	seal_drain(rec);
}

void recorder_free(struct recorder *rec)
{
	if (!rec)
		return;
	recorder_stop(rec);
	seal_drain(rec);
	if (rec->cameras_stopping) {
		/* A camera pipeline is stuck going to NULL: its thread still refers to this
		 * recorder, so it is left allocated (the process is ending). */
		g_warning("recorder: %u camera pipeline(s) did not stop; leaving them",
		          rec->cameras_stopping);
		rec->abandoned = TRUE;
		return;
	}
	spool_free(rec->sp_worker);
	for (size_t i = 0; i < rec->n; i++) {
		live_tap_free(rec->streams[i].tap);
		g_free(rec->streams[i].dir);
		g_free(rec->streams[i].run_format);
		g_mutex_clear(&rec->streams[i].format_lock);
	}
	g_free(rec->streams);
	g_free(rec);
}

static struct rec_stream *stream_named(struct recorder *rec, const char *name)
{
	for (size_t i = 0; i < rec->n; i++)
		if (strcmp(rec->streams[i].cfg->name, name) == 0)
			return &rec->streams[i];
	return NULL;
}

int recorder_live_offer(struct recorder *rec, const char *stream, const char *viewer,
                        const char *offer, live_answer_fn cb, void *user, GError **err)
{
	struct rec_stream *s = stream_named(rec, stream);
	if (!s) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no stream %s here", stream);
		return -ENOENT;
	}
	return live_tap_offer(s->tap, viewer, offer, cb, user, err);
}

int recorder_live_close(struct recorder *rec, const char *viewer)
{
	for (size_t i = 0; i < rec->n; i++)
		if (live_tap_close(rec->streams[i].tap, viewer) == 0)
			return 0;
	return -ENOENT;
}

unsigned recorder_live_viewers(struct recorder *rec)
{
	unsigned n = 0;
	for (size_t i = 0; i < rec->n; i++)
		n += live_tap_viewers(rec->streams[i].tap);
	return n;
}
