#include "seq.h"

#include "clock.h"

uint64_t seq_next(struct seq_counter *c)
{
	int64_t now = clock_now_us();
	uint64_t next = c->last + 1;
	if (now > 0 && (uint64_t)now > next)
		next = (uint64_t)now;
	c->last = next;
	return next;
}
