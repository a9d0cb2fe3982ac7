/* Transfer (移交) of sealed archives from one custodian to another (docs/archives.md,
 * "Transfer"). The custodians' own machines do the work: the one handing over fetches each
 * archive (archive.fetch, verified and recorded as any fetch) and signs a manifest; the one
 * receiving verifies every file against the manifest and against the roots the site
 * published (archives.roots) and countersigns a receipt, or refuses naming the files. The
 * controller checks each signature against the signer's site-CA certificate and records each
 * step in the custody log:
 *   archives.roots {tender} -> {tender, pubkey_spki, published: [{line, time_us, size, root}]}
 *   archive.transfer_prepared {manifest, signature, certificate}: one `transfer` line per file
 *   archive.transfer_received {receipt, signature, certificate}: one `transfer_received` line
 *     per file
 *   archive.transfer_refused {manifest_sha256, problems}: one `transfer_refused` line per file
 * Main loop only. */
#pragma once
#include "controller.h"
#include "request_handler.h"

extern const struct request_handler transfer_request_handlers[];
