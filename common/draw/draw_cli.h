/* The auditor command verify-draw over any draw record: the seat draw's (draw.h), the
 * staff draw's (staff_draw.h) and the venue draw's (venue_draw.h). Its own module, so the
 * draw kinds can use the seat draw's primitives without a circle. */
#pragma once

/* The auditor command `verify-draw FILE.json` (argv[0] is the command name).
 * Prints the verdict; returns the exit code: 0 verified, 1 mismatch, 2 unreadable
 * or malformed input or bad usage. */
int draw_cli_verify_draw(int argc, char **argv);
