/* A media chunk's metadata in MQTT 5 user properties (common/chunk_meta.c): what a sender
 * builds parses back to the same values, and every kind of bad property is refused with a
 * fault naming it; an old agent's base64 JSON chunk is refused with the version. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chunk_meta.h"

static const char sha[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

static struct chunk_meta sample(void)
{
	struct chunk_meta m = {.seq = 1795650930000004,
	                       .ts = 1795650930000004,
	                       .segment_seq = 7,
	                       .start_us = 1795650928000000,
	                       .end_us = 1795650930000000,
	                       .size = 1000,
	                       .recovered = false,
	                       .offset = 600,
	                       .last = true};
	strcpy(m.stream, "cam-1");
	strcpy(m.sha256, sha);
	return m;
}

/* Parses P (a built property set, possibly edited) with a payload of LEN bytes. */
static int parse(const struct chunk_props *p, size_t n, size_t len, struct chunk_meta *out,
                 GError **err)
{
	static char payload[CHUNK_MAX_BYTES + 1];
	return chunk_meta_parse(p->p, n, payload, len, out, err);
}

static void set_value(struct chunk_props *p, const char *name, const char *value)
{
	for (int i = 0; i < CHUNK_PROPS; i++)
		if (strcmp(p->p[i].name, name) == 0) {
			p->p[i].value = value;
			p->p[i].value_len = strlen(value);
			return;
		}
	fail_msg("no property %s", name);
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct chunk_meta m = sample(), out;
	struct chunk_props p;
	chunk_meta_props(&m, &p);
	GError *err = NULL;
	assert_int_equal(parse(&p, CHUNK_PROPS, 400, &out, &err), 0);
	assert_null(err);
	assert_memory_equal(&m, &out, sizeof(m));
}

/* One edited property: refused with -EINVAL and a fault naming it. */
static void refused(const char *name, const char *value, size_t len, const char *fault)
{
	struct chunk_meta m = sample(), out;
	struct chunk_props p;
	chunk_meta_props(&m, &p);
	set_value(&p, name, value);
	GError *err = NULL;
	assert_int_equal(parse(&p, CHUNK_PROPS, len, &out, &err), -EINVAL);
	assert_non_null(err);
	if (!strstr(err->message, fault))
		fail_msg("%s=%s: fault \"%s\" lacks \"%s\"", name, value, err->message, fault);
	g_error_free(err);
}

static void test_bad_values(void **state)
{
	(void)state;
	refused("kind", "segment.ack", 400, "user property 'kind'");
	refused("seq", "0", 400, "user property 'seq'");
	refused("seq", "01", 400, "user property 'seq'");
	refused("seq", "+1", 400, "user property 'seq'");
	refused("seq", "9223372036854775808", 400, "user property 'seq'");
	refused("ts", "-1", 400, "user property 'ts'");
	refused("ts", " 1", 400, "user property 'ts'");
	refused("stream", "a/b", 400, "user property 'stream'");
	refused("stream", "", 400, "user property 'stream'");
	refused("stream", "x123456789012345678901234567890123", 400, "user property 'stream'");
	refused("segment_seq", "0", 400, "user property 'segment_seq'");
	refused("size", "0", 400, "user property 'size'");
	refused("size", "1073741825", 400, "user property 'size'");
	refused("sha256", "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08", 400,
	        "user property 'sha256'");
	refused("sha256", "9f86", 400, "user property 'sha256'");
	refused("recovered", "1", 400, "user property 'recovered'");
	refused("last", "TRUE", 400, "user property 'last'");
	refused("end_us", "1", 400, "user property 'end_us': before start_us");
	refused("offset", "700", 400, "user property 'offset'");
	refused("last", "false", 400, "user property 'last'");
	refused("last", "true", 300, "user property 'last'");
	refused("offset", "1", 0, "payload: empty");
}

static void test_missing_unknown_twice(void **state)
{
	(void)state;
	struct chunk_meta m = sample(), out;
	struct chunk_props p;
	chunk_meta_props(&m, &p);
	GError *err = NULL;
	/* the last property (last) missing */
	assert_int_equal(parse(&p, CHUNK_PROPS - 1, 400, &out, &err), -EINVAL);
	assert_non_null(strstr(err->message, "user property 'last': missing"));
	g_clear_error(&err);
	/* an unknown name in its place */
	p.p[CHUNK_PROPS - 1].name = "data\x01";
	p.p[CHUNK_PROPS - 1].name_len = 5;
	assert_int_equal(parse(&p, CHUNK_PROPS, 400, &out, &err), -EINVAL);
	assert_non_null(strstr(err->message, "user property 'data?': unknown"));
	g_clear_error(&err);
	/* a name given twice */
	p.p[CHUNK_PROPS - 1] = p.p[CHUNK_PROPS - 2];
	assert_int_equal(parse(&p, CHUNK_PROPS, 400, &out, &err), -EINVAL);
	assert_non_null(strstr(err->message, "given twice"));
	g_clear_error(&err);
	/* a NUL inside a value */
	chunk_meta_props(&m, &p);
	p.p[4].value = "cam\0x";
	p.p[4].value_len = 5;
	assert_int_equal(parse(&p, CHUNK_PROPS, 400, &out, &err), -EINVAL);
	assert_non_null(strstr(err->message, "NUL"));
	g_clear_error(&err);
}

static void test_version_and_size(void **state)
{
	(void)state;
	struct chunk_meta m = sample(), out;
	struct chunk_props p;
	chunk_meta_props(&m, &p);
	GError *err = NULL;
	set_value(&p, "v", "1");
	assert_int_equal(parse(&p, CHUNK_PROPS, 400, &out, &err), -EPROTO);
	assert_int_equal(err->code, MSG_ERROR_VERSION);
	assert_non_null(strstr(err->message, "chunk version 2"));
	g_clear_error(&err);

	/* An old agent: no properties, a JSON segment.chunk with base64 data. */
	const char *old = "{\"v\":1,\"kind\":\"segment.chunk\",\"data\":\"AAAA\"}";
	assert_int_equal(chunk_meta_parse(NULL, 0, old, strlen(old), &out, &err), -EPROTO);
	assert_int_equal(err->code, MSG_ERROR_VERSION);
	assert_non_null(strstr(err->message, "chunk version 1"));
	assert_non_null(strstr(err->message, "speaks chunk version 2"));
	g_clear_error(&err);
	assert_int_equal(chunk_meta_parse(NULL, 0, "\x00\x01", 2, &out, &err), -EINVAL);
	assert_non_null(strstr(err->message, "no metadata"));
	g_clear_error(&err);

	/* A whole segment of CHUNK_MAX_BYTES is fine; one byte more is refused. */
	m.offset = 0;
	m.size = CHUNK_MAX_BYTES + 1;
	m.last = false;
	chunk_meta_props(&m, &p);
	assert_int_equal(parse(&p, CHUNK_PROPS, CHUNK_MAX_BYTES, &out, &err), 0);
	assert_int_equal(parse(&p, CHUNK_PROPS, CHUNK_MAX_BYTES + 1, &out, &err), -EMSGSIZE);
	g_clear_error(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_missing_unknown_twice),
	    cmocka_unit_test(test_version_and_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
