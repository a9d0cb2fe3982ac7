/* Staff rotation (docs/staff.md): the staff draw that gives each tender of a session its
 * witness, desk officer, draw-room attendant, ... under the rotation rules of [staff];
 * handovers (交接) of a sensitive post signed by both people; and the operations office's
 * review of the draw room's footage, with the draw_room_unreviewed alert when it is late. */
#pragma once
#include "request_handler.h"

struct controller;

/* staff_init: the draw-room review check every [draw_room] check_s (after alerts_init). */
void staff_init(struct controller *c);

/* staff.commit, staff.run, staff.show, staff.rotate, staff.sign, draw_room.review. */
extern const struct request_handler staff_request_handlers[];
