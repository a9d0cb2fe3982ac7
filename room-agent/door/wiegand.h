/* Wiegand decoder: bits from D0/D1 falling edges in, cards and keypad PINs out. Pure logic:
 * the caller feeds timestamps and ends a frame after a quiet gap (a main-loop timer). */
#ifndef EVALROOM_WIEGAND_H
#define EVALROOM_WIEGAND_H

#include <stddef.h>
#include <stdint.h>

#define WIEGAND_PIN_MAX 12

enum wiegand_kind {
	WIEGAND_NONE,       /* nothing complete yet (e.g. a keypad digit was buffered) */
	WIEGAND_CARD,       /* a 26- or 34-bit card with good parity */
	WIEGAND_PIN,        /* keypad digits ended by '#' */
	WIEGAND_BAD_PARITY, /* right length, parity (or 8-bit key complement) wrong */
	WIEGAND_BAD_LENGTH, /* a frame of a length no format here has */
	WIEGAND_BAD_PIN,    /* '#' with no digits, or more than WIEGAND_PIN_MAX digits */
};

struct wiegand_result {
	enum wiegand_kind kind;
	unsigned bits;     /* frame length */
	uint32_t facility; /* cards: 8 bits (26-bit) or 16 bits (34-bit) */
	uint32_t number;   /* cards: 16 bits */
	/* The credential as the admission list names it: "w26:FAC:NUM", "w34:FAC:NUM" or
	 * "pin:DIGITS"; for bad frames the raw bits, e.g. "bad:0101...". */
	char credential[72];
};

struct wiegand;

/* A decoder; a keypad PIN is abandoned when keys are more than PIN_TIMEOUT_MS apart. */
struct wiegand *wiegand_new(unsigned pin_timeout_ms);
void wiegand_free(struct wiegand *w);

/* Add one bit (0 from D0, 1 from D1) with its edge timestamp. A frame longer than 64
 * bits is kept as "too long" and reported as WIEGAND_BAD_LENGTH when it ends. */
void wiegand_push_bit(struct wiegand *w, int bit, uint64_t ts_ns);

/* Number of bits in the frame being received. */
unsigned wiegand_pending(const struct wiegand *w);

/* End the current frame (the caller saw the quiet gap) and decode it into *out. Returns
 * 1 if *out holds a result to report, 0 if nothing is to be reported yet. */
int wiegand_end_frame(struct wiegand *w, struct wiegand_result *out);

#endif
