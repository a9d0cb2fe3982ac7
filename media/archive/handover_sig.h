/* A handover of a post (交接, docs/staff.md section 8): the exact text each of the two people
 * signs with the key of their own site-CA signing certificate (Ed25519, or SM2 with SM3 where
 * the site's witness_signing asks for it; cert_sig.h checks both), and the check of the
 * signatures a tender archive's staff.handover event carries. The text is built from the
 * handover's fields alone, so the controller, evalroomctl and evalroom-archive each make
 * the same bytes:
 *
 *     evalroom handover v1\n
 *     handover <id>\n  tender <T>\n  post <P>\n  from <identity>\n  to <identity>\n
 *     ordered_by <identity>\n  ordered_at <us>\n  role <outgoing|incoming>\n
 *     signed_at <us>\n  reason <N>\n<the N bytes of the reason>\n
 *
 * (shown wrapped; one key and value per line, integers in decimal, the free-text reason
 * length-prefixed as in the archive's leaves, docs/archive-format.md). */
#ifndef EVALROOM_ARCHIVE_HANDOVER_SIG_H
#define EVALROOM_ARCHIVE_HANDOVER_SIG_H

#include <jansson.h>
#include <openssl/x509.h>
#include <stdint.h>

#define HANDOVER_OUTGOING "outgoing"
#define HANDOVER_INCOMING "incoming"

/* The fields both people sign; the strings are borrowed. */
struct handover_fields {
	int64_t id;
	const char *tender, *post, *from, *to, *reason, *ordered_by;
	int64_t ordered_at;
};

/* handover_message: the exact bytes the outgoing or incoming (ROLE) person signs at
 * SIGNED_AT (UTC microseconds): new text (g_free). */
char *handover_message(const struct handover_fields *h, const char *role, int64_t signed_at);

/* handover_fields_of: the fields of OBJ's members handover, tender, post, from, to, reason,
 * ordered_by, ordered_at (strings borrowed from OBJ). 0, or -EINVAL when one is missing or
 * of another type. */
int handover_fields_of(const json_t *obj, struct handover_fields *out);

/* handover_event_verify: checks the signatures of a staff.handover event's BODY (member
 * "signatures": [{identity, role, signed_at, certificate, signature (base64), message}]):
 * each over handover_message() of the body's fields with its role and time (the stored
 * message, the same bytes for the openssl command line, must be those), its certificate's
 * CN the outgoing (from) or incoming (to) person as its role says and, with CA, the CA's;
 * each person must have at least one valid signature. 0 with *REPORT (new) "handover N,
 * post P of T from A to B: signed by A (outgoing, ed25519) and B (incoming, ed25519)";
 * -EBADMSG with *REPORT naming every fault, one per line after the first; -ENOENT (no
 * report) when the body has no signatures (written before handovers were signed). */
int handover_event_verify(const json_t *body, X509 *ca, char **report);

#endif
