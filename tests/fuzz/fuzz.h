/* What the fuzz harnesses share: the libFuzzer entry point, a fake MQTT transport that
 * records what the code under test publishes, and checks of those messages against
 * the protocol (schemas/json), so a harness asserts more than "did not crash".
 *
 * The same harness sources build two ways (see CMakeLists.txt): with clang's libFuzzer
 * (EVALROOM_FUZZ=ON, tests/fuzz/run.sh) and with replay_main.c, which feeds every
 * committed corpus and regression input to LLVMFuzzerTestOneInput under ctest. */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt_session.h"

/* libFuzzer's entry point: 0 always; a violated invariant aborts (libFuzzer keeps the
 * input as a crash, the replay test fails). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_fail: print "fuzz: invariant violated: ..." and abort. */
G_NORETURN void fuzz_fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fuzz_fail(__VA_ARGS__);                                                    \
	} while (0)

/* fuzz_init: once per process: silence the daemons' logging (a refused message logs a
 * warning, millions of times under the fuzzer) but abort on g_critical/g_error, since
 * those mean a GLib precondition was broken (a NULL where a string belongs...). */
void fuzz_init(void);

/* One message the code under test published. */
struct fuzz_published {
	char *topic;
	char *payload; /* NUL-terminated copy */
	size_t len;
	int qos;
	bool retain;
};

/* The fake transport: fuzz_capture_ops publishes into a struct fuzz_capture and reports
 * received_us as the arrival time of the message being handled (0 after
 * fuzz_capture_init: "cannot tell", so the code under test reads its own clock). */
struct fuzz_capture {
	GPtrArray *msgs; /* struct fuzz_published * */
	int64_t received_us;
};
extern const struct mqtt_ops fuzz_capture_ops;
void fuzz_capture_init(struct fuzz_capture *cap);
void fuzz_capture_clear(struct fuzz_capture *cap);
void fuzz_capture_free(struct fuzz_capture *cap);
/* fuzz_capture_count: how many messages went to TOPIC. */
unsigned fuzz_capture_count(const struct fuzz_capture *cap, const char *topic);

/* fuzz_check_error_message: P is a valid `error` message (schemas/json/error.json)
 * naming TOPIC and SENDER with a non-empty fault; aborts otherwise. */
void fuzz_check_error_message(const struct fuzz_published *p, const char *topic,
                              const char *sender);
/* fuzz_check_response: P is a valid `response` (schemas/json/response.json) at QoS 1;
 * returns its ok member and copies its id (or "" when absent) into ID. */
bool fuzz_check_response(const struct fuzz_published *p, char *id, size_t id_size);
