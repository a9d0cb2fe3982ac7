/* The simulated chip: seam behaviour, queue limit and the control socket protocol. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "door.h"
#include "gpio_sim.h"

static void test_seam(void **state)
{
	struct gpio_sim *sim = gpio_sim_new();
	struct gpio *g = gpio_sim_gpio(sim);
	struct gpio_line *out, *in, *dup;
	struct gpio_event ev[4];
	const struct gpio_sim_change *h;
	size_t n;

	assert_int_equal(gpio_sim_add_line(sim, "OUT", 0), 0);
	assert_int_equal(gpio_sim_add_line(sim, "IN", 0), 0);
	assert_int_equal(gpio_sim_add_line(sim, "IN", 0), -EEXIST);
	assert_int_equal(gpio_sim_add_line(sim, "bad name", 0), -EINVAL);
	assert_int_equal(g->ops->request_output(g->ctx, "NOPE", 0, &out), -ENOENT);
	assert_int_equal(g->ops->request_output(g->ctx, "OUT", 1, &out), 0);
	assert_int_equal(g->ops->request_output(g->ctx, "OUT", 1, &dup), -EBUSY);
	assert_int_equal(g->ops->request_input(g->ctx, "IN", &in), 0);
	assert_int_equal(gpio_sim_set_input(sim, "OUT", 1), -EPERM);
	assert_int_equal(g->ops->set(out, 0), 0);
	assert_int_equal(gpio_sim_get(sim, "OUT"), 0);
	assert_int_equal(gpio_sim_history(sim, "OUT", &h, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(h[0].value, 0);
	assert_int_equal(h[1].value, 1);
	assert_int_equal(h[2].value, 0);
	assert_true(h[1].ts_ns <= h[2].ts_ns);
	assert_int_equal(g->ops->read_events(in, ev, 4), 0);
	assert_int_equal(gpio_sim_set_input_at(sim, "IN", 1, 1000), 0);
	assert_int_equal(gpio_sim_set_input_at(sim, "IN", 1, 2000), 0); /* no change, no edge */
	assert_int_equal(gpio_sim_set_input_at(sim, "IN", 0, 3000), 0);
	assert_int_equal(g->ops->get(in), 0);
	assert_int_equal(g->ops->read_events(in, ev, 4), 2);
	assert_int_equal(ev[0].rising, 1);
	assert_int_equal(ev[0].ts_ns, 1000);
	assert_int_equal(ev[1].rising, 0);
	assert_int_equal(ev[1].ts_ns, 3000);
	g->ops->release(out);
	assert_int_equal(gpio_sim_get(sim, "OUT"), 0); /* a released output keeps its level */
	g->ops->release(in);
	gpio_sim_free(sim);
}

static void test_queue_limit_like_v1(void **state)
{
	struct gpio_sim *sim = gpio_sim_new();
	struct gpio *g = gpio_sim_gpio(sim);
	struct gpio_line *in;
	struct gpio_event ev[32];
	int i;

	assert_int_equal(gpio_sim_set_queue_max(sim, 16), 0);
	gpio_sim_add_line(sim, "IN", 0);
	assert_int_equal(g->ops->request_input(g->ctx, "IN", &in), 0);
	for (i = 0; i < 20; i++)
		gpio_sim_set_input_at(sim, "IN", !(i % 2), 1000u + (uint64_t)i);
	assert_int_equal(gpio_sim_dropped(sim, "IN"), 4);
	assert_int_equal(g->ops->read_events(in, ev, 32), 16);
	assert_int_equal(ev[15].ts_ns, 1015); /* the newest were dropped */
	g->ops->release(in);
	gpio_sim_free(sim);
}

static int client_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Send LINE, run the loop until a full reply line came back; returns it (g_free). */
static char *ask(GMainContext *ctx, int fd, const char *line)
{
	GString *r = g_string_new(NULL);
	char buf[4096];
	int spins = 0;

	assert_true(write(fd, line, strlen(line)) == (ssize_t)strlen(line));
	while (!strchr(r->str, '\n') && spins++ < 1000) {
		ssize_t n;

		g_main_context_iteration(ctx, FALSE);
		n = read(fd, buf, sizeof(buf));
		if (n > 0)
			g_string_append_len(r, buf, n);
		else
			g_usleep(1000);
	}
	return g_string_free(r, FALSE);
}

static void test_control_socket(void **state)
{
	GMainContext *ctx = g_main_context_new();
	struct gpio_sim *sim = gpio_sim_new();
	struct gpio *g = gpio_sim_gpio(sim);
	char *path = g_strdup_printf("%s/door-sim-%d.sock", g_get_tmp_dir(), (int)getpid());
	struct gpio_line *lock, *sensor;
	struct gpio_event ev[64];
	char *r;
	int fd;

	gpio_sim_add_line(sim, "LOCK", 0);
	gpio_sim_add_line(sim, "SENSOR", 0);
	gpio_sim_add_line(sim, "D0", 1);
	gpio_sim_add_line(sim, "D1", 1);
	g->ops->request_output(g->ctx, "LOCK", 0, &lock);
	g->ops->request_input(g->ctx, "SENSOR", &sensor);
	assert_int_equal(gpio_sim_listen(sim, path, ctx), 0);
	fd = client_connect(path);

	r = ask(ctx, fd, "set SENSOR 1\n");
	assert_string_equal(r, "ok\n");
	g_free(r);
	assert_int_equal(g->ops->read_events(sensor, ev, 64), 1);
	assert_int_equal(ev[0].rising, 1);
	g->ops->set(lock, 1);
	r = ask(ctx, fd, "get LOCK\n");
	assert_string_equal(r, "ok 1\n");
	g_free(r);
	r = ask(ctx, fd, "history LOCK\r\n");
	assert_memory_equal(r, "ok 2 ", 5);
	assert_non_null(strstr(r, ":0 "));
	assert_non_null(strstr(r, ":1\n"));
	g_free(r);
	r = ask(ctx, fd, "set LOCK 0\n");
	assert_string_equal(r, "err LOCK: is an output\n");
	g_free(r);
	r = ask(ctx, fd, "set SENSOR 2\n");
	assert_memory_equal(r, "err ", 4);
	g_free(r);
	r = ask(ctx, fd, "get NOPE\n");
	assert_string_equal(r, "err NOPE: no such line\n");
	g_free(r);
	r = ask(ctx, fd, "frobnicate\n");
	assert_memory_equal(r, "err usage", 9);
	g_free(r);
	r = ask(ctx, fd, "wiegand D0 D1 10x\n");
	assert_memory_equal(r, "err ", 4);
	g_free(r);
	r = ask(ctx, fd, "wiegand D0 D1 1001\n");
	assert_string_equal(r, "ok\n");
	g_free(r);
	assert_int_equal(gpio_sim_get(sim, "D0"), 1);
	r = ask(ctx, fd, "lines\n");
	assert_non_null(strstr(r, "LOCK=out:1"));
	assert_non_null(strstr(r, "SENSOR=in:1"));
	g_free(r);
	{
		char big[600];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		r = ask(ctx, fd, big);
		assert_string_equal(r, "err line too long\n");
		g_free(r);
	}
	close(fd);
	g_main_context_iteration(ctx, FALSE);
	g->ops->release(lock);
	g->ops->release(sensor);
	gpio_sim_free(sim);
	assert_int_equal(access(path, F_OK), -1); /* unlinked */
	g_free(path);
	g_main_context_unref(ctx);
}

static void count_granted(const struct door_event *ev, void *user)
{
	if (ev->kind == DOOR_EV_GRANTED)
		(*(int *)user)++;
}

/* The demo's path: a running door driven over the socket, its lock read back from it. */
static void test_socket_drives_door(void **state)
{
	GMainContext *ctx = g_main_context_new();
	struct gpio_sim *sim = gpio_sim_new();
	char *path = g_strdup_printf("%s/door-sim-d%d.sock", g_get_tmp_dir(), (int)getpid());
	int64_t now = g_get_real_time();
	const struct admission_entry e = {
	    "w26:1:1", "p", NULL, now - 1000000, now + 60000000, NULL, NULL, false, 0};
	struct door_config cfg;
	struct door *door;
	int granted = 0, i, fd;
	char *r;

	door_config_defaults(&cfg);
	cfg.name = g_strdup("R1");
	cfg.lock_line = g_strdup("DOOR_LOCK");
	cfg.sensor_line = g_strdup("DOOR_SENSOR");
	cfg.rex_line = g_strdup("DOOR_REX");
	cfg.wiegand_d0 = g_strdup("WIEGAND_D0");
	cfg.wiegand_d1 = g_strdup("WIEGAND_D1");
	cfg.wiegand_gap_ms = 10;
	assert_int_equal(door_sim_add_lines(&cfg, sim), 0);
	assert_int_equal(
	    door_new(&cfg, gpio_sim_gpio(sim), ctx, NULL, count_granted, &granted, 0, &door, NULL),
	    0);
	assert_int_equal(admission_replace(door_admission(door), &e, 1, NULL), 0);
	assert_int_equal(gpio_sim_listen(sim, path, ctx), 0);
	fd = client_connect(path);
	r = ask(ctx, fd, "wiegand WIEGAND_D0 WIEGAND_D1 10000000100000000000000010\n");
	assert_string_equal(r, "ok\n");
	g_free(r);
	for (i = 0; i < 200 && !granted; i++) {
		g_main_context_iteration(ctx, FALSE);
		g_usleep(1000);
	}
	assert_int_equal(granted, 1);
	r = ask(ctx, fd, "get DOOR_LOCK\n");
	assert_string_equal(r, "ok 1\n");
	g_free(r);
	r = ask(ctx, fd, "history DOOR_LOCK\n");
	assert_memory_equal(r, "ok 2 ", 5);
	g_free(r);
	close(fd);
	door_free(door);
	door_config_clear(&cfg);
	gpio_sim_free(sim);
	g_free(path);
	g_main_context_unref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seam),
	    cmocka_unit_test(test_queue_limit_like_v1),
	    cmocka_unit_test(test_control_socket),
	    cmocka_unit_test(test_socket_drives_door),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
