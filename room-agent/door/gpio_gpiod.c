/* Every libgpiod call of the project lives in this file, so a v2 port is this file only. */
#include "gpio_gpiod.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <gpiod.h>
#include <stdlib.h>

struct gpiod_ctx {
	char *consumer;
};

struct gpio_line {
	struct gpiod_line *line;
	int fd;
};

static int gpiod_err(void)
{
	return errno ? -errno : -EIO;
}

static int line_find(const char *name, struct gpiod_line **out)
{
	struct gpiod_line *l;

	errno = 0;
	l = gpiod_line_find(name);
	if (!l)
		return errno ? -errno : -ENOENT;
	*out = l;
	return 0;
}

static int gpiod_request_output(void *ctx, const char *name, int value, struct gpio_line **out)
{
	struct gpiod_ctx *c = ctx;
	struct gpio_line *gl;
	struct gpiod_line *l;
	int rc = line_find(name, &l);

	if (rc)
		return rc;
	/* The v1 request sets the default value atomically with the direction. */
	if (gpiod_line_request_output(l, c->consumer, value ? 1 : 0) < 0) {
		rc = gpiod_err();
		goto err_close;
	}
	gl = g_new0(struct gpio_line, 1);
	gl->line = l;
	gl->fd = -1;
	*out = gl;
	return 0;
err_close:
	gpiod_line_close_chip(l);
	return rc;
}

static int gpiod_request_input(void *ctx, const char *name, struct gpio_line **out)
{
	struct gpiod_ctx *c = ctx;
	struct gpio_line *gl;
	struct gpiod_line *l;
	int fd, fl, rc = line_find(name, &l);

	if (rc)
		return rc;
	if (gpiod_line_request_both_edges_events(l, c->consumer) < 0) {
		rc = gpiod_err();
		goto err_close;
	}
	fd = gpiod_line_event_get_fd(l);
	if (fd < 0) {
		rc = gpiod_err();
		goto err_release;
	}
	/* Non-blocking so the main loop can drain the queue until EAGAIN. */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		rc = -errno;
		goto err_release;
	}
	gl = g_new0(struct gpio_line, 1);
	gl->line = l;
	gl->fd = fd;
	*out = gl;
	return 0;
err_release:
	gpiod_line_release(l);
err_close:
	gpiod_line_close_chip(l);
	return rc;
}

static int gpiod_set(struct gpio_line *gl, int value)
{
	return gpiod_line_set_value(gl->line, value ? 1 : 0) < 0 ? gpiod_err() : 0;
}

static int gpiod_get(struct gpio_line *gl)
{
	int v = gpiod_line_get_value(gl->line);

	return v < 0 ? gpiod_err() : v;
}

static int gpiod_event_fd(struct gpio_line *gl)
{
	return gl->fd >= 0 ? gl->fd : -EINVAL;
}

static int gpiod_read_events(struct gpio_line *gl, struct gpio_event *evs, size_t max)
{
	struct gpiod_line_event raw[16];
	int n, i;

	if (gl->fd < 0)
		return -EINVAL;
	if (max > 16)
		max = 16;
	n = gpiod_line_event_read_fd_multiple(gl->fd, raw, (unsigned int)max);
	if (n < 0)
		return errno == EAGAIN ? 0 : gpiod_err();
	for (i = 0; i < n; i++) {
		evs[i].rising = raw[i].event_type == GPIOD_LINE_EVENT_RISING_EDGE;
		evs[i].ts_ns =
		    (uint64_t)raw[i].ts.tv_sec * 1000000000u + (uint64_t)raw[i].ts.tv_nsec;
	}
	return n;
}

static void gpiod_release_line(struct gpio_line *gl)
{
	if (!gl)
		return;
	gpiod_line_release(gl->line);
	gpiod_line_close_chip(gl->line);
	g_free(gl);
}

static const struct gpio_ops gpiod_ops = {
    .request_output = gpiod_request_output,
    .request_input = gpiod_request_input,
    .set = gpiod_set,
    .get = gpiod_get,
    .event_fd = gpiod_event_fd,
    .read_events = gpiod_read_events,
    .release = gpiod_release_line,
};

int gpio_gpiod_new(const char *consumer, struct gpio **out)
{
	struct gpiod_ctx *c = g_new0(struct gpiod_ctx, 1);
	struct gpio *g = g_new0(struct gpio, 1);

	c->consumer = g_strdup(consumer ? consumer : "evalroom-agent");
	g->ops = &gpiod_ops;
	g->ctx = c;
	*out = g;
	return 0;
}

void gpio_gpiod_free(struct gpio *gpio)
{
	struct gpiod_ctx *c;

	if (!gpio)
		return;
	c = gpio->ctx;
	g_free(c->consumer);
	g_free(c);
	g_free(gpio);
}
