/* An in-process simulated GPIO chip with named lines: the test backend of the GPIO seam,
 * drivable from C or over a local control socket (protocol in docs/door.md). */
#ifndef EVALROOM_GPIO_SIM_H
#define EVALROOM_GPIO_SIM_H

#include "gpio_ops.h"

#include <glib.h>

struct gpio_sim;

/* One level change of an output line, in order; the first entry is the level the line was
 * first requested at (or its level when created). */
struct gpio_sim_change {
	int value;
	uint64_t ts_ns;
};

/* A chip with no lines. Returns NULL only on allocation failure (GLib aborts). Free with
 * gpio_sim_free after every door using it is gone. */
struct gpio_sim *gpio_sim_new(void);
void gpio_sim_free(struct gpio_sim *sim);

/* The seam to hand to a door; borrowed, valid while SIM lives. */
struct gpio *gpio_sim_gpio(struct gpio_sim *sim);

/* Add line NAME at LEVEL (the pulled level of an input / power-up level of an output).
 * 0, -EEXIST, -EINVAL (empty or over 63 characters or containing spaces). */
int gpio_sim_add_line(struct gpio_sim *sim, const char *name, int level);

/* Drive the input line NAME to LEVEL; an edge event (timestamp now, or TS_NS) is queued if
 * the level changes and the line is requested. Beyond the queue limit newer events are
 * dropped, as in libgpiod v1. 0, -ENOENT, -EPERM (line is an output). */
int gpio_sim_set_input(struct gpio_sim *sim, const char *name, int level);
int gpio_sim_set_input_at(struct gpio_sim *sim, const char *name, int level, uint64_t ts_ns);

/* Send a Wiegand frame: for each '0'/'1' in BITS a 50 us low pulse on D0/D1, bits 2 ms
 * apart, starting at TS_NS (0 = now). 0, -ENOENT, -EINVAL (other characters). */
int gpio_sim_wiegand(struct gpio_sim *sim, const char *d0, const char *d1, const char *bits,
                     uint64_t ts_ns);

/* Current level of line NAME, or -ENOENT. */
int gpio_sim_get(struct gpio_sim *sim, const char *name);

/* Every level change of line NAME (borrowed, valid until the next change). 0 or -ENOENT. */
int gpio_sim_history(struct gpio_sim *sim, const char *name, const struct gpio_sim_change **out,
                     size_t *n);

/* Pending-event limit per line for lines added from now on: 1..1024, default 1024 so a
 * scripted Wiegand frame fits; 16 reproduces libgpiod v1's kernel queue. 0 or -EINVAL. */
int gpio_sim_set_queue_max(struct gpio_sim *sim, size_t max);

/* Count of events dropped on line NAME because its queue was full, or -ENOENT. */
int gpio_sim_dropped(struct gpio_sim *sim, const char *name);

/* Serve the control protocol on unix stream socket PATH (replaced if stale), on CTX's main
 * loop (NULL = default). 0 or -errno. The socket is closed and unlinked by gpio_sim_free. */
int gpio_sim_listen(struct gpio_sim *sim, const char *path, GMainContext *ctx);

#endif
