#include "socket_transport.h"

#include <errno.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

struct socket_transport {
	char *path;
	mqtt_message_fn on_message;
	mqtt_connection_fn on_connection;
	void *user;
	int fd;
	guint watch;
	guint retry;
	GString *in;
	GPtrArray *filters;
};

struct socket_transport *socket_transport_new(const char *path, mqtt_message_fn on_message,
                                              mqtt_connection_fn on_connection, void *user)
{
	struct socket_transport *st = g_new0(struct socket_transport, 1);
	st->path = g_strdup(path);
	st->on_message = on_message;
	st->on_connection = on_connection;
	st->user = user;
	st->fd = -1;
	st->in = g_string_new(NULL);
	st->filters = g_ptr_array_new_with_free_func(g_free);
	return st;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void disconnect(struct socket_transport *st, const char *why);

static void handle_line(struct socket_transport *st, char *line)
{
	char *topic = line + 2;
	char *sp = strchr(topic, ' ');
	if (strncmp(line, "M ", 2) != 0 || !sp) {
		log_warnx("test transport: malformed line ignored");
		return;
	}
	*sp = '\0';
	const char *payload = sp + 1;
	st->on_message(topic, payload, strlen(payload), st->user);
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct socket_transport *st = data;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		st->watch = 0;
		disconnect(st, n == 0 ? "closed by peer" : g_strerror(errno));
		return G_SOURCE_REMOVE;
	}
	g_string_append_len(st->in, buf, n);
	char *nl;
	while (st->fd >= 0 && (nl = memchr(st->in->str, '\n', st->in->len))) {
		size_t len = (size_t)(nl - st->in->str);
		char *line = g_strndup(st->in->str, len);
		g_string_erase(st->in, 0, (gssize)len + 1);
		handle_line(st, line);
		g_free(line);
	}
	if (st->in->len > SOCKET_TRANSPORT_LINE_MAX) {
		log_warnx("test transport: line longer than %d bytes dropped",
		          SOCKET_TRANSPORT_LINE_MAX);
		g_string_truncate(st->in, 0);
	}
	return G_SOURCE_CONTINUE;
}

static int send_subscribe(struct socket_transport *st, const char *filter)
{
	char *line = g_strdup_printf("S %s\n", filter);
	int rc = write_all(st->fd, line, strlen(line));
	g_free(line);
	return rc;
}

static gboolean try_connect(gpointer data)
{
	struct socket_transport *st = data;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return G_SOURCE_CONTINUE;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	g_strlcpy(sa.sun_path, st->path, sizeof(sa.sun_path));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return G_SOURCE_CONTINUE;
	}
	st->fd = fd;
	st->retry = 0;
	st->watch = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, st);
	for (guint i = 0; i < st->filters->len; i++)
		send_subscribe(st, st->filters->pdata[i]);
	st->on_connection(true, "connected", st->user);
	return G_SOURCE_REMOVE;
}

static void disconnect(struct socket_transport *st, const char *why)
{
	if (st->fd < 0)
		return;
	if (st->watch)
		g_source_remove(st->watch);
	st->watch = 0;
	close(st->fd);
	st->fd = -1;
	g_string_truncate(st->in, 0);
	st->retry = g_timeout_add_seconds(1, try_connect, st);
	st->on_connection(false, why, st->user);
}

int socket_transport_start(struct socket_transport *st)
{
	if (try_connect(st) == G_SOURCE_CONTINUE)
		st->retry = g_timeout_add_seconds(1, try_connect, st);
	return 0;
}

bool socket_transport_connected(const struct socket_transport *st)
{
	return st->fd >= 0;
}

void socket_transport_free(struct socket_transport *st)
{
	if (!st)
		return;
	if (st->watch)
		g_source_remove(st->watch);
	if (st->retry)
		g_source_remove(st->retry);
	if (st->fd >= 0)
		close(st->fd);
	g_string_free(st->in, TRUE);
	g_ptr_array_free(st->filters, TRUE);
	g_free(st->path);
	g_free(st);
}

static int transport_publish(void *ctx, const char *topic, const void *payload, size_t len, int qos,
                             bool retain)
{
	struct socket_transport *st = ctx;
	if (st->fd < 0)
		return -ENOTCONN;
	if (memchr(payload, '\n', len))
		return -EINVAL;
	GString *line = g_string_new(NULL);
	g_string_printf(line, "P %s %d ", topic, retain ? 1 : 0);
	g_string_append_len(line, payload, (gssize)len);
	g_string_append_c(line, '\n');
	int rc = write_all(st->fd, line->str, line->len);
	g_string_free(line, TRUE);
	return rc ? -EIO : 0;
}

static int transport_subscribe(void *ctx, const char *filter, int qos)
{
	struct socket_transport *st = ctx;
	g_ptr_array_add(st->filters, g_strdup(filter));
	return st->fd >= 0 && send_subscribe(st, filter) ? -EIO : 0;
}

const struct mqtt_ops socket_transport_ops = {
    .publish = transport_publish,
    .subscribe = transport_subscribe,
};
