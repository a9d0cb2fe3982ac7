/* The controller's state.db for harnesses: an in-memory database and a snapshot of what
 * it holds, to assert that a refused input changed nothing. */
#pragma once
#include <stdint.h>

#include "state.h"

/* fuzz_state_get: the process's in-memory state.db, reopened (empty) every REUSE calls
 * so what inputs add stays bounded; opening one costs about 11 ms, too slow per input. */
struct state *fuzz_state_get(unsigned reuse);

/* fuzz_state_example_site: import schemas/examples/site.json into ST unless it holds
 * a site already (site.import, as an operator would). */
void fuzz_state_example_site(struct state *st);

/* fuzz_state_snapshot: row counts of every table ("committee 3 person 3 ..."; g_free),
 * the audit log's apart in *AUDIT_ROWS (it records refused commands too, by design).
 * Reads state_db.h's internals: no public call lists every table. */
char *fuzz_state_snapshot(struct state *st, int64_t *audit_rows);

/* fuzz_state_exec: run SQL on ST (setting up or resetting a fixture); aborts on error. */
void fuzz_state_exec(struct state *st, const char *sql);
