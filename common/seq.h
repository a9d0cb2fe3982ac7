/* Sender sequence numbers: strictly increasing per sender, across restarts too,
 * without persistence: seq = max(last + 1, now in UTC microseconds). A receiver
 * can therefore treat (sender, seq) as the identity of a message. */
#pragma once
#include <stdint.h>

struct seq_counter {
	uint64_t last;
};

/* seq_next: the next sequence number of this sender. Not thread-safe: one counter
 * per main loop. */
uint64_t seq_next(struct seq_counter *c);
