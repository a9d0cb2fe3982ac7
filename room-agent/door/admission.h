/* The admission list of one room's door, pushed by the controller, decided locally. */
#ifndef EVALROOM_ADMISSION_H
#define EVALROOM_ADMISSION_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "credential.h"

#define ADMISSION_PERSON_MAX 64

enum admission_reason {
	ADMISSION_GRANTED,
	ADMISSION_UNKNOWN,
	ADMISSION_EXPIRED,
	ADMISSION_NOT_YET_VALID,
	ADMISSION_NOT_THIS_ROOM,
	ADMISSION_LOCKDOWN,
	ADMISSION_USED, /* this admission already let its person in once (single use) */
	ADMISSION_AWAITING_ESCORT, /* one of an escorted pair's two credentials: nothing opens */
};

#define ADMISSION_PAIR_MAX 32

/* One entry as the controller sends it (the agent's message decoder fills these). Times
 * are UTC microseconds; the window is [valid_from, valid_until). An entry of another room
 * says only that the credential is admitted somewhere else: the room is never told who
 * that is nor where, so a compromised agent holds no seat map of the day. */
struct admission_entry {
	const char *credential; /* in clear, e.g. "w26:12:3456" or "pin:4711": only from an
	                         * older admission.json being converted, and in tests;
	                         * NULL when DIGEST is given */
	const char *person;     /* this room's entries: person id, 1..63 characters;
	                         * elsewhere entries: NULL (a person is refused) */
	bool elsewhere;         /* admitted to another room: a try here is not_this_room */
	int64_t valid_from_us;
	int64_t valid_until_us;
	const char *digest; /* the admission digest (credential.h, 64 hex digits) the
	                     * controller sends; exactly one of CREDENTIAL and DIGEST */
	/* An escorted entry (docs/witness.md): two entries of this room share PAIR (NULL:
	 * none), one of them the escort's (PAIR_ESCORT). The door opens only when the
	 * other's credential follows within PAIR_WINDOW_US (> 0). */
	const char *pair;
	bool pair_escort;
	int64_t pair_window_us;
};

struct admission;

/* What identifies one admission for single use: the admission digest of its credential
 * and its window. A readmission of the same card comes with a new window, so it is a new
 * admission and is not used up. */
struct admission_use {
	char digest[CREDENTIAL_MAC_HEX]; /* 64 lowercase hex digits */
	int64_t valid_from_us, valid_until_us;
};

/* An empty list for room ROOM (copied). Free with admission_free. */
struct admission *admission_new(const char *room);
void admission_free(struct admission *a);

/* admission_set_key: the site credential key (credential.h) the list's digests are made
 * with; a new list has an all-zero key (tests only). Set it before the first list. */
void admission_set_key(struct admission *a, const struct credential_key *key);

/* Replace the whole list with ENTRIES[0..N) atomically: on any invalid entry the old list
 * stays and -EINVAL is returned with ERR naming the entry index and field. Credentials are
 * kept only as keyed digests (HMAC-SHA256 under the site credential key): a stolen
 * agent's memory, spool or admission.json lists no credential. 0 or -EINVAL. */
int admission_replace(struct admission *a, const struct admission_entry *entries, size_t n,
                      GError **err);

/* Decide for CREDENTIAL (in clear, as presented; its keyed digest is looked up) at NOW_US. PERSON
 * (if not NULL, ADMISSION_PERSON_MAX bytes) gets the person of the matching entry of this room, or
 * "" when none matched (an elsewhere entry has none: not_this_room comes with ""). Never fails.
 * An entry of an escorted pair is never granted alone: the first of the two credentials
 * gives AWAITING_ESCORT (remembered), the other one within the pair's window GRANTED with
 * PERSON the escorted person (not the escort); a second credential after the window, or
 * the same one again, starts the wait anew (AWAITING_ESCORT). */
enum admission_reason admission_decide(struct admission *a, const char *credential, int64_t now_us,
                                       char *person);

/* The first credential of an escorted pair that waits for the other one. */
struct admission_wait {
	char pair[ADMISSION_PAIR_MAX];
	char person[ADMISSION_PERSON_MAX]; /* whose credential it was */
	bool escort;                       /* it was the escort's */
	int64_t at_us, window_us;          /* presented at; the pair's window */
};

/* admission_wait_of: the wait admission_decide remembers, if its window is still open at
 * NOW_US, into *OUT. 0, or -ENOENT when nobody waits. The wait lives in memory only: the
 * agent writes it down to tell, after a restart, that the restart ended it (docs/door.md). */
int admission_wait_of(const struct admission *a, int64_t now_us, struct admission_wait *out);

/* admission_use_of: for CREDENTIAL (in clear) whose decision was ADMISSION_GRANTED, fill USE
 * with the admission it matched. 0, or -ENOENT when this room lists no such credential. */
int admission_use_of(const struct admission *a, const char *credential, struct admission_use *use);

/* admission_mark_used: USE has let its person in: from now on admission_decide answers
 * ADMISSION_USED for it (after the window checks), also across admission_replace while
 * a new list holds the same admission. USE->digest must be 64 lowercase hex digits
 * (-EINVAL otherwise); 0. Uses whose window has ended at NOW_US are forgotten. */
int admission_mark_used(struct admission *a, const struct admission_use *use, int64_t now_us);

/* Number of entries, this room's and elsewhere ones. */
size_t admission_count(const struct admission *a);

/* "granted", "unknown", "expired", "not_yet_valid", "not_this_room", "lockdown", "used",
 * "awaiting_escort". */
const char *admission_reason_name(enum admission_reason r);

#endif
