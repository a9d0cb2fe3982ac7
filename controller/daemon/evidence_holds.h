/* Evidence holds on the site's recordings, as people see and end them (retention_hold.h;
 * docs/archives.md, "Evidence holds"):
 *   evidence.holds {all?} -> {holds: [...]}     the active ones (all: released ones too);
 *                                                operators, auditors, supervisors, witnesses
 *   evidence.release {hold, reason} -> {released, by}
 *                                                auditors and supervisors (as the custody
 *                                                log's holds), audited; the row keeps who
 *                                                released it, when and why
 * Holds on a sealed tender archive are the custody log's (custody.h). */
#pragma once
#include "controller.h"
#include "request_handler.h"

extern const struct request_handler evidence_request_handlers[];
