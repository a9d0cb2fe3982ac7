/* A stand-in for the MQTT session, for tests only (evalroom-terminal --transport-socket):
 * a Unix stream socket to a fake agent, one line per message, UTF-8:
 *   terminal -> fake: "S <filter>\n" (subscribe), "P <topic> <0|1 retain> <payload>\n"
 *   fake -> terminal: "M <topic> <payload>\n"
 * Payloads are compact JSON without newlines. The connection is retried every second
 * while down, and its state is reported like the MQTT session's. */
#pragma once
#include <glib.h>

#include "mqtt_session.h"

#define SOCKET_TRANSPORT_LINE_MAX (128 * 1024)

struct socket_transport;

/* socket_transport_new: copies PATH; callbacks run on the default main context. */
struct socket_transport *socket_transport_new(const char *path, mqtt_message_fn on_message,
                                              mqtt_connection_fn on_connection, void *user);
/* socket_transport_start: try to connect now, and keep trying. Returns 0. */
int socket_transport_start(struct socket_transport *st);
bool socket_transport_connected(const struct socket_transport *st);
void socket_transport_free(struct socket_transport *st);

/* The mqtt_ops; ctx is the struct socket_transport *. */
extern const struct mqtt_ops socket_transport_ops;
