/* Writer -> file -> reader/verifier round trip, the writer's refusals, and the reader's
 * handling of files that are not (current) archives. */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <openssl/sha.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "archive.h"
#include "reader.h"
#include "verify.h"

struct fx {
	char *dir, *key, *pub, *path;
	struct archive_signer *signer;
};

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);

	f->dir = g_dir_make_tmp("archive-test-XXXXXX", NULL);
	f->key = g_build_filename(f->dir, "controller-signing.key", NULL);
	f->pub = g_build_filename(f->dir, "controller-signing.pub", NULL);
	f->path = g_build_filename(f->dir, "T1.evarc", NULL);
	assert_int_equal(archive_keygen(f->key, f->pub), 0);
	assert_int_equal(archive_signer_load(f->key, &f->signer), 0);
	*state = f;
	return 0;
}

static void rm_rf(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *n;

	while (d && (n = g_dir_read_name(d))) {
		char *p = g_build_filename(dir, n, NULL);

		g_chmod(p, 0600);
		g_unlink(p);
		g_free(p);
	}
	if (d)
		g_dir_close(d);
	g_rmdir(dir);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	archive_signer_free(f->signer);
	rm_rf(f->dir);
	g_free(f->dir);
	g_free(f->key);
	g_free(f->pub);
	g_free(f->path);
	g_free(f);
	return 0;
}

static const struct archive_tender tender = {"T1", "Road works lot 3", "S1", 1000000, NULL};

static void make_segment(struct archive_segment_info *s, uint8_t *data, size_t len, int64_t seq)
{
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 7 + (size_t)seq);
	memset(s, 0, sizeof(*s));
	s->stream = "R1.seat1.cam";
	s->seq = seq;
	s->start_us = 2000000 + seq * 2000000;
	s->end_us = s->start_us + 2000000;
	s->size = (int64_t)len;
	s->container = "mpegts";
	SHA256(data, len, s->sha256);
}

static int verify_file(const char *path, const char *pub, char **problem)
{
	struct archive_verify_report rep;
	struct archive_pubkey *key = NULL;
	struct archive_reader *r;
	char *err = NULL;
	int rc;

	rc = archive_reader_open(path, &r, &err);
	if (rc) {
		*problem = err;
		return rc;
	}
	if (pub)
		assert_int_equal(archive_pubkey_load(pub, &key), 0);
	rc = archive_verify(r, key, &rep);
	*problem = g_strdup(rep.problem);
	archive_verify_report_clear(&rep);
	archive_pubkey_free(key);
	archive_reader_free(r);
	return rc;
}

static void test_write_seal_verify(void **state)
{
	struct fx *f = *state;
	struct archive *a;
	struct archive_segment_writer *w;
	struct archive_segment_info s;
	struct archive_event ev = {1500000, "door.opened", "agent-R1", "{\"door\":\"R1\"}"};
	struct archive_gap g = {"R1.room.mic", 3000000, 4000000, "microphone unplugged"};
	size_t len = ARCHIVE_CHUNK_SIZE * 2 + 12345;
	uint8_t *data = g_malloc(len);
	char *problem = NULL;
	struct stat st;

	assert_int_equal(archive_create(f->path, &tender, f->signer, &a), 0);
	assert_int_equal(archive_create(f->path, &tender, f->signer, &a), -EEXIST);
	assert_int_equal(archive_store_draw(a, "{\"seed\":\"ab\"}", 1200000), 0);
	assert_int_equal(archive_store_draw(a, "{\"seed\":\"ab\"}", 1200000), -EEXIST);
	assert_int_equal(archive_append_event(a, &ev), 0);

	/* Streamed in uneven pieces across chunk boundaries. */
	make_segment(&s, data, len, 0);
	assert_int_equal(archive_segment_begin(a, &s, &w), 0);
	assert_int_equal(archive_append_event(a, &ev), -EBUSY);
	assert_int_equal(archive_segment_write(w, data, 1000), 0);
	assert_int_equal(archive_segment_write(w, data + 1000, ARCHIVE_CHUNK_SIZE), 0);
	assert_int_equal(archive_segment_write(w, data + 1000 + ARCHIVE_CHUNK_SIZE,
	                                       len - 1000 - ARCHIVE_CHUNK_SIZE),
	                 0);
	assert_int_equal(archive_segment_commit(w), 0);
	assert_int_equal(archive_tree_size(a), 4);

	/* Refusals leave the tree as it was. */
	assert_int_equal(archive_append_segment(a, &s, data), -EEXIST);
	make_segment(&s, data, 5000, 1);
	s.sha256[3] ^= 1;
	assert_int_equal(archive_append_segment(a, &s, data), -EBADMSG);
	assert_non_null(strstr(archive_errmsg(a), "SHA-256"));
	ev.kind = "Bad Kind";
	assert_int_equal(archive_append_event(a, &ev), -EINVAL);
	assert_non_null(strstr(archive_errmsg(a), "kind"));
	ev.kind = "door.opened";
	ev.body = "[1,2";
	assert_int_equal(archive_append_event(a, &ev), -EINVAL);
	assert_non_null(strstr(archive_errmsg(a), "body"));
	ev.body = "{\"door\":\"R1\"}";
	assert_int_equal(archive_tree_size(a), 4);

	assert_int_equal(archive_checkpoint_if_changed(a, 5000000), 1);
	assert_int_equal(archive_checkpoint_if_changed(a, 6000000), 0);
	archive_free(a);

	/* Open but fully checkpointed: intact. Then reopen, append, and an unsigned tail. */
	assert_int_equal(verify_file(f->path, f->pub, &problem), 0);
	g_free(problem);
	assert_int_equal(archive_open(f->path, f->signer, &a), 0);
	assert_int_equal(archive_tree_size(a), 4);
	make_segment(&s, data, 5000, 1);
	assert_int_equal(archive_append_segment(a, &s, data), 0);
	assert_int_equal(archive_append_gap(a, &g), 0);
	assert_int_equal(verify_file(f->path, f->pub, &problem), -EBADMSG);
	assert_non_null(strstr(problem, "segments row 2 (leaf 4): unsigned"));
	g_free(problem);

	assert_int_equal(archive_seal(a, 9000000), 0);
	assert_int_equal(archive_append_event(a, &ev), -EROFS);
	assert_int_equal(archive_checkpoint(a, 9000001), -EROFS);
	archive_free(a);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0444);
	assert_int_equal(archive_open(f->path, f->signer, &a), -EROFS);
	assert_int_equal(verify_file(f->path, f->pub, &problem), 0);
	assert_null(problem);
	/* Without --pubkey the embedded key is used. */
	assert_int_equal(verify_file(f->path, NULL, &problem), 0);
	g_free(data);
}

static void test_tamper_named(void **state)
{
	struct fx *f = *state;
	struct archive *a;
	struct archive_event ev = {1500000, "door.opened", "agent-R1", "{\"n\":1}"};
	char *problem = NULL, *other_key, *other_pub;
	sqlite3 *db;

	assert_int_equal(archive_create(f->path, &tender, f->signer, &a), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(archive_append_event(a, &ev), 0);
	assert_int_equal(archive_seal(a, 9000000), 0);
	archive_free(a);
	g_chmod(f->path, 0600);

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "UPDATE events SET body='{\"n\":2}' WHERE id=3", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(verify_file(f->path, f->pub, &problem), -EBADMSG);
	assert_non_null(strstr(problem, "events row 3 (leaf 3): altered"));
	g_free(problem);

	/* A key that is not the controller's. */
	other_key = g_build_filename(f->dir, "other.key", NULL);
	other_pub = g_build_filename(f->dir, "other.pub", NULL);
	assert_int_equal(archive_keygen(other_key, other_pub), 0);
	assert_int_equal(archive_keygen(other_key, other_pub), -EEXIST);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "UPDATE events SET body='{\"n\":1}' WHERE id=3", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(verify_file(f->path, f->pub, &problem), 0);
	assert_int_equal(verify_file(f->path, other_pub, &problem), -EBADMSG);
	assert_non_null(strstr(problem, "checkpoints row 1: signature invalid"));
	g_free(problem);
	g_free(other_key);
	g_free(other_pub);
}

static void write_file(const char *path, const void *data, size_t len)
{
	g_chmod(path, 0600);
	assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
}

/* Count of segment rows in the file, read through a connection of its own (a reader). */
static int count_segments(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM segments", -1, &st, NULL),
	                 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void stage(struct archive *a, uint8_t *data, size_t len, int64_t seq)
{
	struct archive_segment_info s;

	make_segment(&s, data, len, seq);
	assert_int_equal(archive_batch_begin(a), 0);
	assert_int_equal(archive_append_segment(a, &s, data), 0);
}

/* Group commit: staged segments are invisible to a reader and lost with the process until
 * the batch commits; a bad segment undoes only itself; an abort restores the tree. */
static void test_batch_commit_abort(void **state)
{
	struct fx *f = *state;
	struct archive *a;
	struct archive_segment_info s;
	size_t len = 5000; /* small: a batch that spills to the file locks readers out */
	uint8_t *data = g_malloc(len), *big;
	char *problem = NULL;

	assert_int_equal(archive_create(f->path, &tender, f->signer, &a), 0);
	stage(a, data, len, 0);
	stage(a, data, len, 1);
	make_segment(&s, data, 4000, 2);
	s.sha256[0] ^= 1;
	assert_int_equal(archive_append_segment(a, &s, data), -EBADMSG);
	assert_true(archive_batch_open(a));
	stage(a, data, len, 3);
	assert_int_equal(archive_tree_size(a), 4);
	assert_int_equal(count_segments(f->path), 0);
	assert_int_equal(archive_batch_commit(a), 0);
	assert_false(archive_batch_open(a));
	assert_int_equal(count_segments(f->path), 3);
	assert_int_equal(archive_batch_commit(a), 0);

	stage(a, data, len, 4);
	archive_batch_abort(a);
	assert_int_equal(archive_tree_size(a), 4);
	stage(a, data, len, 5);
	archive_free(a); /* closing with a batch open rolls it back */

	assert_int_equal(archive_open(f->path, f->signer, &a), 0);
	assert_int_equal(archive_tree_size(a), 4);
	assert_int_equal(count_segments(f->path), 3);

	/* Batches larger than SQLite's page cache spill into the file before the commit. */
	big = g_malloc(ARCHIVE_CHUNK_SIZE * 2 + 777);
	for (int64_t seq = 6; seq < 9; seq++)
		stage(a, big, ARCHIVE_CHUNK_SIZE * 2 + 777, seq);
	archive_batch_abort(a);
	assert_int_equal(archive_tree_size(a), 4);
	for (int64_t seq = 6; seq < 8; seq++)
		stage(a, big, ARCHIVE_CHUNK_SIZE * 2 + 777, seq);
	assert_int_equal(archive_batch_commit(a), 0);
	assert_int_equal(count_segments(f->path), 5);
	g_free(big);
	assert_int_equal(archive_seal(a, 9000000), 0);
	archive_free(a);
	assert_int_equal(verify_file(f->path, f->pub, &problem), 0);
	assert_null(problem);
	g_free(data);
}

/* Any other record commits the batch first; a reader holding the file makes the commit
 * report -EAGAIN without waiting and without losing the batch. */
static void test_batch_settle_and_reader(void **state)
{
	struct fx *f = *state;
	struct archive_event ev = {1500000, "door.opened", "agent-R1", "{\"door\":\"R1\"}"};
	struct archive *a;
	size_t len = 3000;
	uint8_t *data = g_malloc(len);
	sqlite3 *reader;
	char *problem = NULL;

	assert_int_equal(archive_create(f->path, &tender, f->signer, &a), 0);
	stage(a, data, len, 0);
	assert_int_equal(archive_append_event(a, &ev), 0);
	assert_false(archive_batch_open(a));
	assert_int_equal(count_segments(f->path), 1);
	assert_int_equal(archive_batch_commit(a), 0);

	stage(a, data, len, 1);
	assert_int_equal(sqlite3_open_v2(f->path, &reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM segments;", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(archive_batch_commit(a), -EAGAIN);
	assert_non_null(strstr(archive_errmsg(a), "reader"));
	assert_true(archive_batch_open(a));
	stage(a, data, len, 2); /* the open batch takes more meanwhile */
	sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(reader);
	assert_int_equal(archive_batch_commit(a), 0);
	assert_int_equal(count_segments(f->path), 3);
	assert_int_equal(archive_checkpoint(a, 8000000), 0);
	archive_free(a);
	assert_int_equal(verify_file(f->path, f->pub, &problem), 0);
	g_free(problem);
	g_free(data);
}

/* The bytes of segment SEQ as stored (its chunks in order), or NULL; *LEN their length. */
static uint8_t *stored_segment(const char *path, int64_t seq, size_t *len)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	GByteArray *b = g_byte_array_new();

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT c.data FROM segment_chunks c JOIN segments s "
	                                    "ON c.segment = s.id WHERE s.seq = ? ORDER BY c.id",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int64(st, 1, seq);
	while (sqlite3_step(st) == SQLITE_ROW)
		g_byte_array_append(b, sqlite3_column_blob(st, 0),
		                    (guint)sqlite3_column_bytes(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	*len = b->len;
	return g_byte_array_free(b, FALSE);
}

/* A backlog's batch: more than the early flush's threshold (the file is fdatasynced on the
 * helper thread while the batch goes on), whole and partial chunks written in place by blob
 * I/O from pieces of every size. What commits reads back byte for byte; an aborted batch of
 * the same size leaves nothing behind, and the file verifies. */
static void test_large_batch_bytes(void **state)
{
	struct fx *f = *state;
	size_t len = 3 * ARCHIVE_CHUNK_SIZE + 4321, got_len, pieces[] = {1, 70000,
	                                                               ARCHIVE_CHUNK_SIZE,
	                                                               ARCHIVE_CHUNK_SIZE + 3};
	uint8_t *data = g_malloc(len), *got;
	struct archive_segment_writer *w;
	struct archive_segment_info s;
	struct archive *a;
	char *problem = NULL;

	assert_int_equal(archive_create(f->path, &tender, f->signer, &a), 0);
	for (int64_t seq = 0; seq < 4; seq++) { /* 12.7 MiB in one batch */
		size_t off = 0, i = 0;

		make_segment(&s, data, len, seq);
		assert_int_equal(archive_batch_begin(a), 0);
		assert_int_equal(archive_segment_begin(a, &s, &w), 0);
		while (off < len) {
			size_t n = MIN(pieces[i++ % G_N_ELEMENTS(pieces)], len - off);

			assert_int_equal(archive_segment_write(w, data + off, n), 0);
			off += n;
		}
		assert_int_equal(archive_segment_commit(w), 0);
	}
	assert_int_equal(archive_batch_commit(a), 0);
	for (int64_t seq = 0; seq < 4; seq++) {
		make_segment(&s, data, len, seq);
		got = stored_segment(f->path, seq, &got_len);
		assert_int_equal(got_len, len);
		assert_memory_equal(got, data, len);
		g_free(got);
	}
	for (int64_t seq = 4; seq < 8; seq++)
		stage(a, data, len, seq);
	archive_batch_abort(a);
	assert_int_equal(archive_tree_size(a), 5);
	assert_int_equal(count_segments(f->path), 4);
	assert_int_equal(archive_seal(a, 20000000), 0);
	archive_free(a);
	assert_int_equal(verify_file(f->path, f->pub, &problem), 0);
	assert_null(problem);
	g_free(data);
}

/* The writer test_killed_mid_batch kills (this program run as "--batch-writer PATH KEY FD"):
 * a backlog into PATH in batches of 4 segments (12 MiB), the last acknowledged seq written to
 * FD after each commit. Never returns but by being killed or failing. */
static int batch_writer(const char *path, const char *key, int fd)
{
	size_t len = 3 * ARCHIVE_CHUNK_SIZE + 999;
	uint8_t *data = g_malloc(len);
	struct archive_signer *signer;
	struct archive_segment_info s;
	struct archive *a;
	int64_t seq = 0;

	if (archive_signer_load(key, &signer) || archive_open(path, signer, &a))
		return 2;
	for (;;) {
		for (int i = 0; i < 4; i++, seq++) {
			make_segment(&s, data, len, seq);
			if (archive_batch_begin(a) || archive_append_segment(a, &s, data))
				return 3;
		}
		if (archive_batch_commit(a) != 0 || write(fd, &seq, sizeof(seq)) != sizeof(seq))
			return 4;
	}
}

/* A writer killed (SIGKILL) while it ingests a backlog in large batches, wherever it is (inside
 * a batch that has spilled into the file and been flushed early, or in a commit): every batch
 * whose commit had returned (acknowledged) is in the file, the interrupted one is not (the
 * rollback journal undoes it at the next open), and the archive takes more and verifies. */
/* This program's path, to run it again as the writer: argv[0] (under qemu-user,
 * /proc/self/exe is the emulator). */
static const char *self_path = "/proc/self/exe";

static void test_killed_mid_batch(void **state)
{
	struct fx *f = *state;
	size_t len = 3 * ARCHIVE_CHUNK_SIZE + 999;
	uint8_t *data = g_malloc(len);
	int64_t acked = 0, n;
	struct archive *a;
	char *problem = NULL;
	int fds[2], status;
	pid_t pid;

	assert_int_equal(archive_create(f->path, &tender, f->signer, &a), 0);
	archive_free(a);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) { /* a fresh process: a forked one would lack the writer's helper threads */
		char fd[16];

		close(fds[0]);
		snprintf(fd, sizeof(fd), "%d", fds[1]);
		execl(self_path, "test_archive_roundtrip", "--batch-writer", f->path, f->key, fd,
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	/* Two batches acknowledged, then the kill lands a little later, somewhere in the third
	 * or fourth. */
	while (acked < 8 && read(fds[0], &n, sizeof(n)) == sizeof(n))
		acked = n;
	if (acked == 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 127) { /* e.g. arm64 under qemu-user without binfmt_misc */
		close(fds[0]);
		g_free(data);
		print_message("cannot run %s again here (exec failed): not tested\n", self_path);
		skip();
	}
	assert_int_equal(acked, 8);
	g_usleep(30000);
	kill(pid, SIGKILL);
	while (read(fds[0], &n, sizeof(n)) == sizeof(n))
		acked = n;
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));

	assert_int_equal(archive_open(f->path, f->signer, &a), 0);
	n = count_segments(f->path);
	assert_true(n >= acked);
	assert_int_equal(n % 4, 0); /* whole batches only */
	assert_int_equal(archive_tree_size(a), (uint64_t)n + 1);
	stage(a, data, len, n);
	assert_int_equal(archive_batch_commit(a), 0);
	assert_int_equal(archive_seal(a, 90000000), 0);
	archive_free(a);
	assert_int_equal(verify_file(f->path, f->pub, &problem), 0);
	assert_null(problem);
	g_free(data);
}

/* A file an earlier build left in WAL mode reopens, takes appends and seals into one file. */
static void test_reopen_wal_file(void **state)
{
	struct fx *f = *state;
	struct archive *a;
	sqlite3 *db;
	size_t len = 3000;
	uint8_t *data = g_malloc(len);
	char *problem = NULL, *wal = g_strconcat(f->path, "-wal", NULL);

	assert_int_equal(archive_create(f->path, &tender, f->signer, &a), 0);
	stage(a, data, len, 0);
	assert_int_equal(archive_batch_commit(a), 0);
	archive_free(a);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(archive_open(f->path, f->signer, &a), 0);
	assert_int_equal(archive_tree_size(a), 2);
	stage(a, data, len, 1);
	assert_int_equal(archive_batch_commit(a), 0);
	assert_int_equal(archive_seal(a, 9000000), 0);
	archive_free(a);
	assert_false(g_file_test(wal, G_FILE_TEST_EXISTS));
	assert_int_equal(count_segments(f->path), 2);
	assert_int_equal(verify_file(f->path, f->pub, &problem), 0);
	g_free(problem);
	g_free(wal);
	g_free(data);
}

static void test_bad_files(void **state)
{
	struct fx *f = *state;
	struct archive_reader *r;
	struct archive *a;
	char *err = NULL, *contents;
	gsize len;
	sqlite3 *db;

	assert_int_equal(archive_reader_open("/nonexistent/x.evarc", &r, &err), -ENOENT);
	g_free(err);
	write_file(f->path, "hello", 5);
	assert_int_equal(archive_reader_open(f->path, &r, &err), -EBADMSG);
	assert_non_null(strstr(err, "not an evalroom archive"));
	g_free(err);

	g_unlink(f->path);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE x(y)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(archive_reader_open(f->path, &r, &err), -EBADMSG);
	assert_non_null(strstr(err, "application_id"));
	g_free(err);

	g_unlink(f->path);
	assert_int_equal(archive_create(f->path, &tender, f->signer, &a), 0);
	assert_int_equal(archive_seal(a, 2000000), 0);
	archive_free(a);
	g_chmod(f->path, 0600);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=7", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(archive_reader_open(f->path, &r, &err), -ENOTSUP);
	assert_non_null(strstr(err, "version 7"));
	g_free(err);

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=1", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_true(g_file_get_contents(f->path, &contents, &len, NULL));
	write_file(f->path, contents, len / 2);
	assert_int_equal(archive_reader_open(f->path, &r, &err), -EBADMSG);
	assert_non_null(strstr(err, "truncated"));
	g_free(err);
	g_free(contents);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_write_seal_verify, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tamper_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_commit_abort, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_settle_and_reader, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_wal_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_batch_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_killed_mid_batch, setup, teardown),
	};

	if (argv[0] && strchr(argv[0], '/'))
		self_path = argv[0];
	if (argc == 5 && strcmp(argv[1], "--batch-writer") == 0)
		return batch_writer(argv[2], argv[3], atoi(argv[4]));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
