/* libgpiod 1.6 (v1 API) backend of the GPIO seam. */
#ifndef EVALROOM_GPIO_GPIOD_H
#define EVALROOM_GPIO_GPIOD_H

#include "gpio_ops.h"

/* A backend that finds lines by name on every /dev/gpiochipN. CONSUMER (copied) labels
 * the requests. Returns 0 and *out (free with gpio_gpiod_free), or -ENOMEM. */
int gpio_gpiod_new(const char *consumer, struct gpio **out);
void gpio_gpiod_free(struct gpio *gpio);

#endif
