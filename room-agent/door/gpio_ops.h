/* The GPIO seam: the door talks to lines only through struct gpio_ops, so the same state
 * machine runs on libgpiod (gpio_gpiod.c) and on the in-process simulator (gpio_sim.c). */
#ifndef EVALROOM_GPIO_OPS_H
#define EVALROOM_GPIO_OPS_H

#include <stddef.h>
#include <stdint.h>

/* Values at this seam are physical line levels (0/1); active-low is the door's business. */
struct gpio_line;

struct gpio_event {
	int rising;     /* 1 rising edge, 0 falling edge */
	uint64_t ts_ns; /* kernel (or simulated) CLOCK_MONOTONIC timestamp */
};

struct gpio_ops {
	/* Request line NAME as an output driven at VALUE from the first instant (no glitch
	 * through another level). Returns 0 and *out, or -ENOENT (no such line), -EBUSY, -errno. */
	int (*request_output)(void *ctx, const char *name, int value, struct gpio_line **out);
	/* Request line NAME as an input reporting both edges. Same errors as request_output. */
	int (*request_input)(void *ctx, const char *name, struct gpio_line **out);
	/* Drive an output line. 0 or -errno. */
	int (*set)(struct gpio_line *line, int value);
	/* Current level of a line: 0, 1 or -errno. */
	int (*get)(struct gpio_line *line);
	/* A pollable fd, readable while edge events are pending (inputs only); -EINVAL else. */
	int (*event_fd)(struct gpio_line *line);
	/* Read up to MAX pending events without blocking. Returns the count (0 if none) or
	 * -errno. Callers read until 0 so the kernel queue (16 per line in v1) never overflows. */
	int (*read_events)(struct gpio_line *line, struct gpio_event *evs, size_t max);
	/* Give the line back. An output keeps its last level where the hardware allows. */
	void (*release)(struct gpio_line *line);
};

/* A backend instance: ops plus its private context. Owned by whoever created it. */
struct gpio {
	const struct gpio_ops *ops;
	void *ctx;
};

#endif
