/* The tables of evalroomctl subcommands, each terminated by a zeroed entry. */
#pragma once
#include "ctl.h"

extern const struct ctl_command core_ctl_commands[];
extern const struct ctl_command door_ctl_commands[];
extern const struct ctl_command desk_ctl_commands[];
/* NULL-terminated list of the tables above and those of other modules. */
extern const struct ctl_command *const ctl_command_tables[];
