/* Benchmark driver for bench/door.sh: local decision latency from a credential to the lock
 * output, on the sim backend, with a large admission list.
 * usage: evalroom-door-bench [TRIES] [LIST_SIZE] [LABEL] */
#include "door.h"
#include "gpio_sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t lock_set_at(struct gpio_sim *sim)
{
	const struct gpio_sim_change *h;
	size_t n;

	gpio_sim_history(sim, "LOCK", &h, &n);
	return n && h[n - 1].value == 1 ? h[n - 1].ts_ns : 0;
}

static void report(const char *what, const char *label, uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	printf("door %-34s %-10s n=%zu p50=%.1f us p99=%.1f us max=%.1f us\n", what, label, n,
	       (double)v[n / 2] / 1e3, (double)v[n * 99 / 100] / 1e3, (double)v[n - 1] / 1e3);
}

/* 26-bit H10301 frame for facility FAC, card NUM with its two parity bits. */
static void card_bits(unsigned fac, unsigned num, char out[27])
{
	unsigned data = (fac << 16) | num, i, ones = 0;

	for (i = 0; i < 24; i++)
		out[1 + i] = (char)('0' + ((data >> (23 - i)) & 1));
	for (i = 1; i <= 12; i++)
		ones += out[i] == '1';
	out[0] = ones % 2 ? '1' : '0';
	for (ones = 0, i = 13; i <= 24; i++)
		ones += out[i] == '1';
	out[25] = ones % 2 ? '0' : '1';
	out[26] = '\0';
}

int main(int argc, char **argv)
{
	size_t tries = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000;
	size_t list = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
	const char *label = argc > 3 ? argv[3] : "idle";
	struct gpio_sim *sim = gpio_sim_new();
	struct admission_entry *e = g_new0(struct admission_entry, list);
	char **creds = g_new0(char *, list);
	uint64_t *lat = g_new0(uint64_t, tries);
	int64_t now = g_get_real_time();
	struct door_config cfg;
	struct door *door;
	GError *err = NULL;
	size_t i;

	if (tries < 10 || list < 1) {
		fprintf(stderr, "usage: %s [TRIES>=10] [LIST_SIZE>=1] [LABEL]\n", argv[0]);
		return 2;
	}
	gpio_sim_add_line(sim, "LOCK", 0);
	gpio_sim_add_line(sim, "SENSOR", 0);
	gpio_sim_add_line(sim, "REX", 0);
	gpio_sim_add_line(sim, "D0", 1);
	gpio_sim_add_line(sim, "D1", 1);
	door_config_defaults(&cfg);
	cfg.name = g_strdup("R1");
	cfg.lock_line = g_strdup("LOCK");
	cfg.sensor_line = g_strdup("SENSOR");
	cfg.rex_line = g_strdup("REX");
	cfg.wiegand_d0 = g_strdup("D0");
	cfg.wiegand_d1 = g_strdup("D1");
	cfg.wiegand_gap_ms = 25;
	if (door_new(&cfg, gpio_sim_gpio(sim), NULL, NULL, NULL, NULL, 0, &door, &err)) {
		fprintf(stderr, "door_new: %s\n", err->message);
		return 1;
	}
	door_set_controller_lost(door, false);
	for (i = 0; i < list; i++) {
		creds[i] = g_strdup_printf("w26:%zu:%zu", (i / 65536) % 256, i % 65536);
		e[i] = (struct admission_entry){
		    creds[i], "person", NULL, now - 3600000000ll, now + 3600000000ll, NULL,
		    NULL,     false,    0};
	}
	if (admission_replace(door_admission(door), e, list, &err)) {
		fprintf(stderr, "admission: %s\n", err->message);
		return 1;
	}

	/* (a) decision + lock output: credential handed to the door -> lock line set. */
	for (i = 0; i < tries; i++) {
		uint64_t t0 = now_ns();

		door_present_credential(door, creds[(i * 7919) % list]);
		lat[i] = lock_set_at(sim) - t0;
		door_command(door, DOOR_CMD_LOCK, NULL);
	}
	report("credential->lock output", label, lat, tries);

	/* (a') through the Wiegand reader on the GPIO lines: frame end -> lock line set, i.e.
	 * minus the configured quiet gap that ends a frame. */
	for (i = 0; i < tries / 10; i++) {
		char bits[27];
		uint64_t t_first, t_last, t_set;

		card_bits((unsigned)((i * 7919 % list) / 65536 % 256),
		          (unsigned)(i * 7919 % list % 65536), bits);
		/* 26 bits 2 ms apart (the sim's pacing), the last one now. */
		t_last = now_ns();
		t_first = t_last - 25u * 2000000u;
		gpio_sim_wiegand(sim, "D0", "D1", bits, t_first);
		while (!(t_set = lock_set_at(sim)))
			g_main_context_iteration(NULL, TRUE);
		lat[i] = t_set - t_last - (uint64_t)cfg.wiegand_gap_ms * 1000000u;
		door_command(door, DOOR_CMD_LOCK, NULL);
	}
	report("wiegand frame end->lock output", label, lat, tries / 10);

	door_free(door);
	door_config_clear(&cfg);
	for (i = 0; i < list; i++)
		g_free(creds[i]);
	g_free(creds);
	g_free(e);
	g_free(lat);
	gpio_sim_free(sim);
	return 0;
}
