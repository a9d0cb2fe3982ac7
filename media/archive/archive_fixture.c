/* evalroom-archive-fixture: builds archives from real segment files for the tests and the
 * demo, and generates signing key pairs in the provisioning file format. Not for production:
 * the controller writes archives through archive.h directly. */
#include <errno.h>
#include <glib.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "key_history.h"
#include "leaf.h"
#include "review.h"

static int usage(void)
{
	fprintf(
	    stderr,
	    "usage: evalroom-archive-fixture keygen PRIVATE.key PUBLIC.pub\n"
	    "       evalroom-archive-fixture build OUT.evarc PRIVATE.key [options] SEGMENT.ts...\n"
	    "       evalroom-archive-fixture reopen-seal FILE.evarc PRIVATE.key [--key2 KEY] "
	    "[--key-history FILE --at US] [SEGMENT.ts...]\n"
	    "       evalroom-archive-fixture key-rotate HISTORY OLD.key NEW.key TIME_US REASON\n"
	    "       evalroom-archive-fixture key-rotate2 HISTORY OLD2.key NEW2.key TIME_US REASON\n"
	    "       evalroom-archive-fixture review FILE.evarc KEY TENDER TIME_US NOTE\n"
	    "       evalroom-archive-fixture key-revoke HISTORY CURRENT.key REVOKED.key|- KEY-ID "
	    "FROM_US TIME_US REASON\n"
	    "options: --tender T --site S --key2 KEY --stream S --start ISO|US --segment-ms MS "
	    "--checkpoint-every K --key-history FILE\n"
	    "         --seal --draw FILE\n"
	    "Appends a draw record, per segment one event (and a gap after the middle one),\n"
	    "checkpoints every K segments, and seals if asked. reopen-seal reopens an open "
	    "archive\n"
	    "as the controller does after a restart (in the file's format version; with\n"
	    "--key-history at --at, taking the history's new entries), appends one event, a\n"
	    "checkpoint, per SEGMENT an event, the segment and a checkpoint, and seals it.\n");
	return 2;
}

static int fail(const char *what, struct archive *a, int rc)
{
	fprintf(stderr, "evalroom-archive-fixture: %s: %s (%s)\n", what, a ? archive_errmsg(a) : "",
	        g_strerror(-rc));
	return 1;
}

static int build(int argc, char **argv)
{
	char *tender = NULL, *stream = NULL, *start = NULL, *draw_path = NULL, *site = NULL;
	char *key2_path = NULL, *hist_path = NULL;
	struct archive_signer *signer2 = NULL;
	struct key_history *hist = NULL;
	int seg_ms = 2000, every = 2, seal = 0, i, rc;
	GOptionEntry opts[] = {
	    {"tender", 0, 0, G_OPTION_ARG_STRING, &tender, "tender id", "T"},
	    {"site", 0, 0, G_OPTION_ARG_STRING, &site, "site id (the checkpoints' origin)", "S"},
	    {"key2", 0, 0, G_OPTION_ARG_FILENAME, &key2_path,
	     "a second signing key (SM2 or Ed25519 PEM) beside the first", "KEY"},
	    {"stream", 0, 0, G_OPTION_ARG_STRING, &stream, "stream id", "S"},
	    {"start", 0, 0, G_OPTION_ARG_STRING, &start, "time of the first segment", "T"},
	    {"segment-ms", 0, 0, G_OPTION_ARG_INT, &seg_ms, "segment duration", "MS"},
	    {"checkpoint-every", 0, 0, G_OPTION_ARG_INT, &every, "segments per checkpoint", "K"},
	    {"seal", 0, 0, G_OPTION_ARG_NONE, &seal, "seal at the end", NULL},
	    {"draw", 0, 0, G_OPTION_ARG_FILENAME, &draw_path, "draw record JSON file", "FILE"},
	    {"key-history", 0, 0, G_OPTION_ARG_FILENAME, &hist_path,
	     "the key history to copy into the archive (key-history.log)", "FILE"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	GOptionContext *octx = g_option_context_new("OUT KEY SEGMENT...");
	struct archive_signer *signer = NULL;
	struct archive *a = NULL;
	GError *err = NULL;
	int64_t t0 = 1795597200000000; /* 2026-11-25T09:00:00Z */
	char *draw = NULL;

	g_option_context_add_main_entries(octx, opts, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &err) || argc < 4) {
		fprintf(stderr, "%s\n", err ? err->message : "missing arguments");
		g_clear_error(&err);
		g_option_context_free(octx);
		return usage();
	}
	g_option_context_free(octx);
	if (start && leaf_parse_time(start, &t0)) {
		fprintf(stderr, "evalroom-archive-fixture: bad --start %s\n", start);
		return 2;
	}
	rc = archive_signer_load(argv[2], &signer);
	if (rc)
		return fail("load key", NULL, rc);
	struct archive_tender t = {tender ? tender : "T-2026-001", "Fixture tender", "S-2026-11-25",
	                           t0 - 3600000000, site};
	if (key2_path && (rc = archive_signer_load_any(key2_path, &signer2)) != 0)
		return fail("load --key2", NULL, rc);
	if (hist_path && key_history_load(hist_path, &hist, &err) != 0) {
		fprintf(stderr, "evalroom-archive-fixture: %s\n", err->message);
		return 1;
	}
	rc = archive_create_keyed(argv[1], &t, signer, signer2, hist, &a);
	if (rc)
		return fail("create", a, rc);
	if (draw_path && !g_file_get_contents(draw_path, &draw, NULL, NULL))
		return fail("read draw record", NULL, -ENOENT);
	rc = archive_store_draw(
	    a, draw ? draw : "{\"v\":1,\"algorithm\":\"evalroom-draw-v1\",\"seats\":[]}",
	    t0 - 1800000000);
	if (rc)
		return fail("draw", a, rc);
	for (i = 3; i < argc; i++) {
		int64_t idx = i - 3, when = t0 + idx * seg_ms * 1000;
		struct archive_segment_info s = {stream ? stream : "R101.seat1.cam",
		                                 idx,
		                                 when,
		                                 when + seg_ms * 1000,
		                                 0,
		                                 {0},
		                                 "mpegts"};
		char body[128];
		struct archive_event ev = {when + 1000, "seat.heartbeat", "agent-R101", body};
		gchar *data;
		gsize len;

		if (!g_file_get_contents(argv[i], &data, &len, &err)) {
			fprintf(stderr, "evalroom-archive-fixture: %s\n", err->message);
			return 1;
		}
		s.size = (int64_t)len;
		SHA256((const unsigned char *)data, len, s.sha256);
		snprintf(body, sizeof(body), "{\"seat\":\"seat1\",\"n\":%d}", i - 3);
		rc = archive_append_event(a, &ev);
		if (rc)
			return fail("event", a, rc);
		rc = archive_append_segment(a, &s, data);
		g_free(data);
		if (rc)
			return fail(argv[i], a, rc);
		if (i - 3 == (argc - 3) / 2) {
			struct archive_gap g = {"R101.room.mic", when, when + seg_ms * 1000,
			                        "microphone disconnected"};

			rc = archive_append_gap(a, &g);
			if (rc)
				return fail("gap", a, rc);
		}
		if (every > 0 && (i - 2) % every == 0) {
			rc = archive_checkpoint(a, when + seg_ms * 1000);
			if (rc)
				return fail("checkpoint", a, rc);
		}
	}
	rc = seal ? archive_seal(a, t0 + (argc - 3) * seg_ms * 1000 + 1000)
	          : archive_checkpoint_if_changed(a, t0 + (argc - 3) * seg_ms * 1000);
	if (rc < 0)
		return fail("seal/checkpoint", a, rc);
	archive_free(a);
	archive_signer_free(signer);
	archive_signer_free(signer2);
	key_history_free(hist);
	g_free(hist_path);
	g_free(key2_path);
	g_free(draw);
	g_free(tender);
	g_free(site);
	g_free(stream);
	g_free(start);
	g_free(draw_path);
	return 0;
}

static int reopen_seal(int argc, char **argv)
{
	char *key2_path = NULL, *hist_path = NULL;
	gint64 at = 0;
	GOptionEntry opts[] = {
	    {"key2", 0, 0, G_OPTION_ARG_FILENAME, &key2_path, "the second signing key", "KEY"},
	    {"key-history", 0, 0, G_OPTION_ARG_FILENAME, &hist_path,
	     "the controller's key history (its new entries are appended)", "FILE"},
	    {"at", 0, 0, G_OPTION_ARG_INT64, &at, "the time of the reopening (UTC us)", "US"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	GOptionContext *octx = g_option_context_new("FILE KEY [SEGMENT...]");
	struct archive_signer *signer = NULL, *signer2 = NULL;
	struct key_history *hist = NULL;
	struct archive *a = NULL;
	GError *err = NULL;
	int64_t t = 1795597300000000;
	int rc;

	g_option_context_add_main_entries(octx, opts, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &err) || argc < 3) {
		fprintf(stderr, "%s\n", err ? err->message : "missing arguments");
		g_clear_error(&err);
		g_option_context_free(octx);
		return usage();
	}
	g_option_context_free(octx);
	if (at > 0)
		t = at + 1000;
	rc = archive_signer_load(argv[2], &signer);
	if (rc)
		return fail("load key", NULL, rc);
	if (key2_path && (rc = archive_signer_load_any(key2_path, &signer2)) != 0)
		return fail("load --key2", NULL, rc);
	if (hist_path && key_history_load(hist_path, &hist, &err) != 0) {
		fprintf(stderr, "evalroom-archive-fixture: %s\n", err->message);
		return 1;
	}
	rc = archive_open_keyed(argv[1], signer, signer2, hist, at > 0 ? at : t - 1000, &a);
	if (rc)
		return fail("open", a, rc);
	struct archive_event ev = {t, "door.event", "agent-R101", "{\"n\":1}"};
	rc = archive_append_event(a, &ev);
	if (rc == 0)
		rc = archive_checkpoint(a, ev.time_us + 1);
	for (int i = 3; rc == 0 && i < argc; i++) {
		int64_t when = t + (i - 2) * 2000000;
		struct archive_segment_info sg = {"R101.seat1.cam", 1000 + i, when, when + 2000000, 0,
		                                  {0},            "mpegts"};
		struct archive_event e2 = {when + 1000, "seat.heartbeat", "agent-R101",
		                           "{\"seat\":\"seat1\"}"};
		gchar *data;
		gsize len;

		if (!g_file_get_contents(argv[i], &data, &len, &err)) {
			fprintf(stderr, "evalroom-archive-fixture: %s\n", err->message);
			return 1;
		}
		sg.size = (int64_t)len;
		SHA256((const unsigned char *)data, len, sg.sha256);
		rc = archive_append_event(a, &e2);
		if (rc == 0)
			rc = archive_append_segment(a, &sg, data);
		if (rc == 0)
			rc = archive_checkpoint(a, when + 2000000);
		g_free(data);
		t = when + 2000000;
	}
	if (rc == 0)
		rc = archive_seal(a, t + 2);
	if (rc)
		return fail("append, checkpoint and seal", a, rc);
	archive_free(a);
	archive_signer_free(signer);
	archive_signer_free(signer2);
	key_history_free(hist);
	g_free(key2_path);
	g_free(hist_path);
	return 0;
}

/* key-rotate HISTORY OLD.key NEW.key TIME_US REASON, key-revoke HISTORY CURRENT.key
 * REVOKED.key|- ID FROM_US TIME_US REASON: key history entries at chosen times. */
static int key_event(int argc, char **argv)
{
	int rotate2 = strcmp(argv[1], "key-rotate2") == 0;
	int rotate = rotate2 || strcmp(argv[1], "key-rotate") == 0;
	struct archive_signer *s1 = NULL, *s2 = NULL;
	struct key_history *h = NULL;
	GError *err = NULL;
	int rc;

	if ((rotate && argc != 7) || (!rotate && argc != 9))
		return usage();
	if (key_history_load(argv[2], &h, &err) != 0 || archive_signer_load_any(argv[3], &s1) != 0 ||
	    (strcmp(argv[4], "-") != 0 && archive_signer_load_any(argv[4], &s2) != 0)) {
		fprintf(stderr, "evalroom-archive-fixture: %s\n", err ? err->message : "bad key");
		return 1;
	}
	rc = rotate2  ? key_history_rotate_second(h, argv[2], s1, s2,
	                                          g_ascii_strtoll(argv[5], NULL, 10), argv[6], &err)
	     : rotate ? key_history_rotate(h, argv[2], s1, s2, g_ascii_strtoll(argv[5], NULL, 10),
	                                   argv[6], &err)
	            : key_history_revoke(h, argv[2], s1, s2, argv[5],
	                                 g_ascii_strtoll(argv[6], NULL, 10),
	                                 g_ascii_strtoll(argv[7], NULL, 10), argv[8], &err);
	if (rc)
		fprintf(stderr, "evalroom-archive-fixture: %s\n", err->message);
	key_history_free(h);
	archive_signer_free(s1);
	archive_signer_free(s2);
	return rc ? 1 : 0;
}

/* review FILE KEY TENDER TIME_US NOTE: a review of the draw room's footage signed by KEY, in
 * the appendix (as the controller's evalroomctl draw-room review stores it). */
static int review(char **argv)
{
	struct archive_signer *s = NULL;
	char *why = NULL;
	int rc = archive_signer_load(argv[3], &s);

	if (rc)
		return fail("load key", NULL, rc);
	rc = review_append(argv[2], s, argv[4], REVIEW_DRAW_ROOM, "operator-fixture",
	                   g_ascii_strtoll(argv[5], NULL, 10), argv[6], &why);
	if (rc)
		fprintf(stderr, "evalroom-archive-fixture: %s\n", why);
	g_free(why);
	archive_signer_free(s);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc == 7 && strcmp(argv[1], "review") == 0)
		return review(argv);

	if (argc >= 2 && strcmp(argv[1], "keygen") == 0 && argc == 4) {
		rc = archive_keygen(argv[2], argv[3]);
		if (rc)
			return fail("keygen", NULL, rc);
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "reopen-seal") == 0)
		return reopen_seal(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "key-rotate") || !strcmp(argv[1], "key-rotate2") ||
	                  !strcmp(argv[1], "key-revoke")))
		return key_event(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "build") == 0)
		return build(argc - 1, argv + 1);
	return usage();
}
