/* Wiring a simulated chip for a door configuration (demo and tests). */
#include "door.h"
#include "gpio_sim.h"

int door_sim_add_lines(const struct door_config *cfg, struct gpio_sim *sim)
{
	const struct {
		const char *name;
		int level;
	} lines[] = {
	    {cfg->lock_line, cfg->lock_active_low},
	    {cfg->sensor_line, cfg->sensor_active_low},
	    {cfg->rex_line, cfg->rex_active_low},
	    {cfg->tamper_line, cfg->tamper_active_low},
	    {cfg->wiegand_d0, 1},
	    {cfg->wiegand_d1, 1},
	};
	size_t i;
	int rc;

	for (i = 0; i < G_N_ELEMENTS(lines); i++) {
		if (!lines[i].name)
			continue;
		rc = gpio_sim_add_line(sim, lines[i].name, lines[i].level);
		if (rc)
			return rc;
	}
	return 0;
}
