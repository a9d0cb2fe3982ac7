/* The tables of evalroomctl subcommands, each terminated by a zeroed entry. */
#pragma once
#include "ctl.h"

extern const struct ctl_command core_ctl_commands[];
extern const struct ctl_command door_ctl_commands[];
extern const struct ctl_command desk_ctl_commands[];
/* desk staff-admit, witness note (ctl_cmd_witness.c). */
extern const struct ctl_command witness_ctl_commands[];
/* archive transfer|receive (ctl_cmd_transfer.c). */
extern const struct ctl_command transfer_ctl_commands[];
/* staff commit|run|show|rotate|sign, draw-room review (ctl_cmd_staff.c). */
extern const struct ctl_command staff_ctl_commands[];
/* venue book|draw|redraw|run|show (ctl_cmd_venue.c). */
extern const struct ctl_command venue_ctl_commands[];
/* evidence holds|release (ctl_cmd_evidence.c). */
extern const struct ctl_command evidence_ctl_commands[];
/* archive cosign|cosigner-vkey (ctl_cmd_cosign.c). */
extern const struct ctl_command cosign_ctl_commands[];
/* NULL-terminated list of the tables above and those of other modules. */
extern const struct ctl_command *const ctl_command_tables[];
