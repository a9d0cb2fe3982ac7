/* Simulated GPIO chip: named lines, edge queues behind an eventfd, output history. */
#include "gpio_sim.h"

#include <errno.h>
#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SIM_QUEUE_MAX 1024
#define SIM_NAME_MAX  63
#define SIM_LINE_MAX  256

enum sim_dir { SIM_FREE, SIM_INPUT, SIM_OUTPUT };

struct gpio_line {
	struct gpio_sim *sim;
	char *name;
	int level;
	enum sim_dir dir;
	int efd;
	struct gpio_event queue[SIM_QUEUE_MAX];
	size_t head, count;
	int dropped;
	size_t queue_max;
	GArray *history; /* struct gpio_sim_change */
};

struct sim_client {
	struct gpio_sim *sim;
	int fd;
	GSource *src;
	GString *buf;
};

struct gpio_sim {
	struct gpio gpio;
	GHashTable *lines; /* name -> struct gpio_line */
	int listen_fd;
	char *path;
	GSource *listen_src;
	GMainContext *ctx;
	GList *clients;
	size_t queue_max;
};

/* CLOCK_MONOTONIC like the kernel's edge timestamps, in ns (GLib's clock is only µs). */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void line_free(gpointer p)
{
	struct gpio_line *l = p;

	if (l->efd >= 0)
		close(l->efd);
	g_array_free(l->history, TRUE);
	g_free(l->name);
	g_free(l);
}

static void line_record(struct gpio_line *l, int value)
{
	struct gpio_sim_change c = {.value = value, .ts_ns = now_ns()};

	if (l->history->len &&
	    g_array_index(l->history, struct gpio_sim_change, l->history->len - 1).value == value)
		return;
	g_array_append_val(l->history, c);
}

static struct gpio_line *sim_line(struct gpio_sim *sim, const char *name)
{
	return name ? g_hash_table_lookup(sim->lines, name) : NULL;
}

static int sim_request_output(void *ctx, const char *name, int value, struct gpio_line **out)
{
	struct gpio_line *l = sim_line(ctx, name);

	if (!l)
		return -ENOENT;
	if (l->dir != SIM_FREE)
		return -EBUSY;
	l->dir = SIM_OUTPUT;
	l->level = value ? 1 : 0;
	line_record(l, l->level);
	*out = l;
	return 0;
}

static int sim_request_input(void *ctx, const char *name, struct gpio_line **out)
{
	struct gpio_line *l = sim_line(ctx, name);

	if (!l)
		return -ENOENT;
	if (l->dir != SIM_FREE)
		return -EBUSY;
	l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->efd < 0)
		return -errno;
	l->dir = SIM_INPUT;
	l->head = l->count = 0;
	*out = l;
	return 0;
}

static int sim_set(struct gpio_line *l, int value)
{
	if (l->dir != SIM_OUTPUT)
		return -EPERM;
	l->level = value ? 1 : 0;
	line_record(l, l->level);
	return 0;
}

static int sim_get(struct gpio_line *l)
{
	return l->level;
}

static int sim_event_fd(struct gpio_line *l)
{
	return l->dir == SIM_INPUT ? l->efd : -EINVAL;
}

static int sim_read_events(struct gpio_line *l, struct gpio_event *evs, size_t max)
{
	size_t n = 0;
	uint64_t drain;

	if (l->dir != SIM_INPUT)
		return -EINVAL;
	while (n < max && l->count) {
		evs[n++] = l->queue[l->head];
		l->head = (l->head + 1) % SIM_QUEUE_MAX;
		l->count--;
	}
	if (!l->count && read(l->efd, &drain, sizeof(drain)) < 0 && errno != EAGAIN)
		return -errno;
	return (int)n;
}

static void sim_release(struct gpio_line *l)
{
	if (!l)
		return;
	if (l->efd >= 0) {
		close(l->efd);
		l->efd = -1;
	}
	l->count = 0;
	l->dir = SIM_FREE;
}

static const struct gpio_ops sim_ops = {
    .request_output = sim_request_output,
    .request_input = sim_request_input,
    .set = sim_set,
    .get = sim_get,
    .event_fd = sim_event_fd,
    .read_events = sim_read_events,
    .release = sim_release,
};

struct gpio_sim *gpio_sim_new(void)
{
	struct gpio_sim *sim = g_new0(struct gpio_sim, 1);

	sim->gpio.ops = &sim_ops;
	sim->gpio.ctx = sim;
	sim->lines = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, line_free);
	sim->listen_fd = -1;
	sim->queue_max = SIM_QUEUE_MAX;
	return sim;
}

static void client_free(struct sim_client *c)
{
	g_source_destroy(c->src);
	g_source_unref(c->src);
	close(c->fd);
	g_string_free(c->buf, TRUE);
	g_free(c);
}

void gpio_sim_free(struct gpio_sim *sim)
{
	if (!sim)
		return;
	g_list_free_full(sim->clients, (GDestroyNotify)client_free);
	if (sim->listen_src) {
		g_source_destroy(sim->listen_src);
		g_source_unref(sim->listen_src);
	}
	if (sim->listen_fd >= 0) {
		close(sim->listen_fd);
		unlink(sim->path);
	}
	g_free(sim->path);
	g_hash_table_destroy(sim->lines);
	g_free(sim);
}

struct gpio *gpio_sim_gpio(struct gpio_sim *sim)
{
	return &sim->gpio;
}

static int name_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	return len > 0 && len <= SIM_NAME_MAX && !strpbrk(name, " \t\r\n");
}

int gpio_sim_add_line(struct gpio_sim *sim, const char *name, int level)
{
	struct gpio_line *l;

	if (!name_valid(name))
		return -EINVAL;
	if (sim_line(sim, name))
		return -EEXIST;
	l = g_new0(struct gpio_line, 1);
	l->sim = sim;
	l->name = g_strdup(name);
	l->level = level ? 1 : 0;
	l->efd = -1;
	l->queue_max = sim->queue_max;
	l->history = g_array_new(FALSE, FALSE, sizeof(struct gpio_sim_change));
	line_record(l, l->level);
	g_hash_table_insert(sim->lines, l->name, l);
	return 0;
}

int gpio_sim_set_input_at(struct gpio_sim *sim, const char *name, int level, uint64_t ts_ns)
{
	struct gpio_line *l = sim_line(sim, name);
	uint64_t one = 1;

	if (!l)
		return -ENOENT;
	if (l->dir == SIM_OUTPUT)
		return -EPERM;
	level = level ? 1 : 0;
	if (l->level == level)
		return 0;
	l->level = level;
	if (l->dir != SIM_INPUT)
		return 0;
	if (l->count == l->queue_max) {
		l->dropped++;
		return 0;
	}
	l->queue[(l->head + l->count) % SIM_QUEUE_MAX] =
	    (struct gpio_event){.rising = level, .ts_ns = ts_ns ? ts_ns : now_ns()};
	l->count++;
	if (write(l->efd, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

int gpio_sim_set_input(struct gpio_sim *sim, const char *name, int level)
{
	return gpio_sim_set_input_at(sim, name, level, 0);
}

int gpio_sim_wiegand(struct gpio_sim *sim, const char *d0, const char *d1, const char *bits,
                     uint64_t ts_ns)
{
	const char *p;
	int rc;

	if (!sim_line(sim, d0) || !sim_line(sim, d1))
		return -ENOENT;
	if (!bits || !*bits || strspn(bits, "01") != strlen(bits))
		return -EINVAL;
	if (!ts_ns)
		ts_ns = now_ns();
	for (p = bits; *p; p++, ts_ns += 2000000u) {
		const char *line = *p == '1' ? d1 : d0;

		rc = gpio_sim_set_input_at(sim, line, 0, ts_ns);
		if (!rc)
			rc = gpio_sim_set_input_at(sim, line, 1, ts_ns + 50000u);
		if (rc)
			return rc;
	}
	return 0;
}

int gpio_sim_get(struct gpio_sim *sim, const char *name)
{
	struct gpio_line *l = sim_line(sim, name);

	return l ? l->level : -ENOENT;
}

int gpio_sim_history(struct gpio_sim *sim, const char *name, const struct gpio_sim_change **out,
                     size_t *n)
{
	struct gpio_line *l = sim_line(sim, name);

	if (!l)
		return -ENOENT;
	*out = (const struct gpio_sim_change *)(void *)l->history->data;
	*n = l->history->len;
	return 0;
}

int gpio_sim_set_queue_max(struct gpio_sim *sim, size_t max)
{
	if (max < 1 || max > SIM_QUEUE_MAX)
		return -EINVAL;
	sim->queue_max = max;
	return 0;
}

int gpio_sim_dropped(struct gpio_sim *sim, const char *name)
{
	struct gpio_line *l = sim_line(sim, name);

	return l ? l->dropped : -ENOENT;
}

/* --- control socket ------------------------------------------------------------------ */

static const char *dir_name(enum sim_dir d)
{
	return d == SIM_INPUT ? "in" : d == SIM_OUTPUT ? "out" : "free";
}

static void control_exec(struct gpio_sim *sim, const char *line, GString *out)
{
	gchar **argv = g_strsplit_set(line, " \t", -1);
	guint argc = 0;
	gchar **a = argv;
	const char *v[5] = {0};
	int rc;

	for (; *a; a++)
		if (**a && argc < G_N_ELEMENTS(v))
			v[argc++] = *a;
		else if (**a)
			argc = G_N_ELEMENTS(v) + 1;
	if (argc == 0) {
		g_string_append(out, "err empty command\n");
	} else if (!strcmp(v[0], "set") && argc == 3) {
		if (strcmp(v[2], "0") && strcmp(v[2], "1"))
			g_string_append(out, "err value must be 0 or 1\n");
		else if ((rc = gpio_sim_set_input(sim, v[1], v[2][0] == '1')))
			g_string_append_printf(out, "err %s: %s\n", v[1],
			                       rc == -EPERM ? "is an output" : "no such line");
		else
			g_string_append(out, "ok\n");
	} else if (!strcmp(v[0], "get") && argc == 2) {
		rc = gpio_sim_get(sim, v[1]);
		if (rc < 0)
			g_string_append_printf(out, "err %s: no such line\n", v[1]);
		else
			g_string_append_printf(out, "ok %d\n", rc);
	} else if (!strcmp(v[0], "history") && argc == 2) {
		const struct gpio_sim_change *h;
		size_t n, i;

		if (gpio_sim_history(sim, v[1], &h, &n)) {
			g_string_append_printf(out, "err %s: no such line\n", v[1]);
		} else {
			g_string_append_printf(out, "ok %zu", n);
			for (i = 0; i < n; i++)
				g_string_append_printf(out, " %" G_GUINT64_FORMAT ":%d", h[i].ts_ns,
				                       h[i].value);
			g_string_append_c(out, '\n');
		}
	} else if (!strcmp(v[0], "wiegand") && argc == 4) {
		rc = gpio_sim_wiegand(sim, v[1], v[2], v[3], 0);
		if (rc)
			g_string_append_printf(out, "err %s\n",
			                       rc == -ENOENT ? "no such line" : "bits must be 0/1");
		else
			g_string_append(out, "ok\n");
	} else if (!strcmp(v[0], "lines") && argc == 1) {
		GHashTableIter it;
		gpointer k, val;

		g_string_append(out, "ok");
		g_hash_table_iter_init(&it, sim->lines);
		while (g_hash_table_iter_next(&it, &k, &val)) {
			struct gpio_line *l = val;

			g_string_append_printf(out, " %s=%s:%d", l->name, dir_name(l->dir),
			                       l->level);
		}
		g_string_append_c(out, '\n');
	} else {
		g_string_append(out, "err usage: set NAME 0|1 | get NAME | history NAME | "
		                     "wiegand D0 D1 BITS | lines\n");
	}
	g_strfreev(argv);
}

static gboolean client_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct sim_client *c = data;
	struct gpio_sim *sim = c->sim;
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));
	GString *out;
	char *nl;

	if (n <= 0)
		goto err_drop;
	g_string_append_len(c->buf, buf, n);
	out = g_string_new(NULL);
	while ((nl = memchr(c->buf->str, '\n', c->buf->len))) {
		*nl = '\0';
		if (nl > c->buf->str && nl[-1] == '\r')
			nl[-1] = '\0';
		control_exec(sim, c->buf->str, out);
		g_string_erase(c->buf, 0, nl - c->buf->str + 1);
	}
	if (c->buf->len > SIM_LINE_MAX) {
		g_string_append(out, "err line too long\n");
		g_string_truncate(c->buf, 0);
	}
	if (out->len && send(fd, out->str, out->len, MSG_NOSIGNAL) < 0) {
		g_string_free(out, TRUE);
		goto err_drop;
	}
	g_string_free(out, TRUE);
	return G_SOURCE_CONTINUE;
err_drop:
	sim->clients = g_list_remove(sim->clients, c);
	/* Destroying our own source from its callback is fine once we return REMOVE. */
	g_source_unref(c->src);
	close(c->fd);
	g_string_free(c->buf, TRUE);
	g_free(c);
	return G_SOURCE_REMOVE;
}

static gboolean listen_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct gpio_sim *sim = data;
	struct sim_client *c;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	if (cfd < 0)
		return G_SOURCE_CONTINUE;
	c = g_new0(struct sim_client, 1);
	c->sim = sim;
	c->fd = cfd;
	c->buf = g_string_new(NULL);
	c->src = g_unix_fd_source_new(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR);
	g_source_set_callback(c->src, G_SOURCE_FUNC(client_readable), c, NULL);
	g_source_attach(c->src, sim->ctx);
	sim->clients = g_list_prepend(sim->clients, c);
	return G_SOURCE_CONTINUE;
}

int gpio_sim_listen(struct gpio_sim *sim, const char *path, GMainContext *ctx)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc;

	if (sim->listen_fd >= 0)
		return -EALREADY;
	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		rc = -errno;
		goto err_close;
	}
	sim->listen_fd = fd;
	sim->path = g_strdup(path);
	sim->ctx = ctx;
	sim->listen_src = g_unix_fd_source_new(fd, G_IO_IN);
	g_source_set_callback(sim->listen_src, G_SOURCE_FUNC(listen_readable), sim, NULL);
	g_source_attach(sim->listen_src, ctx);
	return 0;
err_close:
	close(fd);
	return rc;
}
