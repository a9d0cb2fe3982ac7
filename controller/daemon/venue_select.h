/* Venue selection (docs/venues.md, "Choosing a tender's venues"; docs/draw.md section 12):
 * the venues whose rooms seat a tender's experts, booked in advance by an operator, drawn on
 * site, or drawn again after a failure, the draws in the seat draw's commit-reveal style
 * with a supervisor (the regulator's representative) as witness. The seat draw then covers
 * only the chosen venues' expert rooms (controller/ops/ops_draw.c). */
#pragma once
#include "request_handler.h"

/* venue.book, venue.draw, venue.redraw, venue.run, venue.show. */
extern const struct request_handler venue_select_request_handlers[];
