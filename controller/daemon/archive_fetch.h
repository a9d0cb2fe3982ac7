/* Retrieval (借阅) of a sealed archive by its custodian over the request protocol
 * (docs/archives.md, "Retrieval"):
 *   archive.fetch {tender, reason} -> {fetch, tender, file, bytes, sha256, tree_size, root,
 *     root_log_line, chunk_max}: the file is verified in full (every record, every
 *     signature) on a worker thread and checked against every root the site's root log
 *     published for the tender (none behind, none forked, the final one published); only
 *     then is the fetch recorded (custody log and audit: who, when, why, file, SHA-256) and
 *     its bytes offered;
 *   archive.fetch_chunk {fetch, offset, length} -> {offset, data (base64)}: at most
 *     chunk_max bytes from OFFSET, for the identity that began the fetch only, while it
 *     has been used within FETCH_IDLE_S.
 * A client resumes an interrupted fetch with a new archive.fetch (recorded too) and
 * continues from what it holds when the SHA-256 is the same. */
#pragma once
#include "controller.h"
#include "request_handler.h"

/* fetches_free: closes every retrieval under way (NULL-safe). */
void fetches_free(struct controller *c);

extern const struct request_handler fetch_request_handlers[];
