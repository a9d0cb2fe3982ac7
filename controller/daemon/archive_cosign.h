/* Cosigning witnesses on the controller (docs/archives.md, "Cosigning witnesses"): a
 * cosigner (a supervisor's or an auditor's identity, e.g. the supervision room's machine or
 * a second site) asks for a tender's newest checkpoint with a consistency proof from the one
 * it cosigned last (archive.checkpoint), checks both itself, and hands back its cosignature
 * (archive.cosign), which the controller checks and stores in the tender's archive (the
 * appendix table `cosignatures`, cosignature.h), open or sealed. */
#pragma once
#include "request_handler.h"

extern const struct request_handler cosign_request_handlers[];
