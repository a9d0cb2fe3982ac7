/* The agent's door: config from agent.conf ([gpio], [door]), commands from the controller
 * (cmd "door", "admission.set"), events to the controller through the outbox, and the
 * safety state that must survive a restart (lockdown, the last admission list). */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>

struct agent;
struct agent_door;
struct gpio_sim;

/* agent_door_new: NULL with *err unset when the config has no [door] group (a room
 * without a controlled door), NULL with *err set on a bad config or GPIO failure. */
struct agent_door *agent_door_new(struct agent *a, GError **err);
void agent_door_free(struct agent_door *d);
/* agent_door_command: handle cmd COMMAND ("door", "admission.set") with validated-object
 * ARGS; returns 0 with *result, -ENOENT when COMMAND is not a door command, or -errno with
 * *err (the reply carries the message). */
int agent_door_command(struct agent_door *d, const char *command, const char *id, json_t *args,
                       json_t **result, GError **err);
/* agent_door_sim: the simulated GPIO chip when [gpio] backend=sim (borrowed), else NULL;
 * lets tests and fuzz harnesses read the lock line's history. */
struct gpio_sim *agent_door_sim(const struct agent_door *d);
/* agent_door_controller_lost: the controller is (un)reachable. */
void agent_door_controller_lost(struct agent_door *d, bool lost);
