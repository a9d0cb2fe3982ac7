/* Replays committed fuzz inputs through a harness without libFuzzer, so the normal gcc
 * build (and its sanitizer variant) re-runs every corpus and regression input on each
 * `./dev test`. Usage: fuzz_X_replay DIR|FILE...; a missing directory counts as empty
 * (git keeps no empty regressions/ directory), but at least one input must be found. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"

static int replay_file(const char *path)
{
	gchar *data;
	gsize len;
	GError *err = NULL;
	if (!g_file_get_contents(path, &data, &len, &err)) {
		fprintf(stderr, "replay: %s\n", err->message);
		g_error_free(err);
		return -EIO;
	}
	/* Printed first so a crash report on ctest's output names the input. */
	printf("  %s (%zu bytes)\n", path, (size_t)len);
	fflush(stdout);
	/* A private heap copy of exactly LEN bytes, so ASan sees reads past the end. */
	uint8_t *copy = g_memdup2(data, len);
	LLVMFuzzerTestOneInput(copy, len);
	g_free(copy);
	g_free(data);
	return 0;
}

static gint path_compare(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir, unsigned *count)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	if (!d)
		return 0;
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *n;
	while ((n = g_dir_read_name(d)))
		if (n[0] != '.')
			g_ptr_array_add(names, g_build_filename(dir, n, NULL));
	g_dir_close(d);
	g_ptr_array_sort(names, path_compare);
	int rc = 0;
	for (guint i = 0; i < names->len && rc == 0; i++) {
		if (!g_file_test(names->pdata[i], G_FILE_TEST_IS_REGULAR))
			continue;
		rc = replay_file(names->pdata[i]);
		++*count;
	}
	g_ptr_array_unref(names);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	for (int i = 1; i < argc; i++) {
		int rc = g_file_test(argv[i], G_FILE_TEST_IS_DIR) ? replay_dir(argv[i], &count)
		         : g_file_test(argv[i], G_FILE_TEST_EXISTS)
		             ? (count++, replay_file(argv[i]))
		             : 0;
		if (rc)
			return 1;
	}
	if (count == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		return 1;
	}
	char *name = g_path_get_basename(argv[0]);
	printf("%s: replayed %u inputs, all invariants held\n", name, count);
	g_free(name);
	return 0;
}
