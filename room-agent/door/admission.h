/* The admission list of one room's door, pushed by the controller, decided locally. */
#ifndef EVALROOM_ADMISSION_H
#define EVALROOM_ADMISSION_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADMISSION_PERSON_MAX 64

enum admission_reason {
	ADMISSION_GRANTED,
	ADMISSION_UNKNOWN,
	ADMISSION_EXPIRED,
	ADMISSION_NOT_YET_VALID,
	ADMISSION_NOT_THIS_ROOM,
	ADMISSION_LOCKDOWN,
};

/* One entry as the controller sends it (the agent's message decoder fills these). Times
 * are UTC microseconds; the window is [valid_from, valid_until). An entry of another room
 * says only that the credential is admitted somewhere else: the room is never told who
 * that is nor where, so a compromised agent holds no seat map of the day. */
struct admission_entry {
	const char *credential; /* e.g. "w26:12:3456" or "pin:4711" */
	const char *person;     /* this room's entries: person id, 1..63 characters;
	                         * elsewhere entries: NULL (a person is refused) */
	bool elsewhere;         /* admitted to another room: a try here is not_this_room */
	int64_t valid_from_us;
	int64_t valid_until_us;
};

struct admission;

/* An empty list for room ROOM (copied). Free with admission_free. */
struct admission *admission_new(const char *room);
void admission_free(struct admission *a);

/* Replace the whole list with ENTRIES[0..N) atomically: on any invalid entry the old list
 * stays and -EINVAL is returned with ERR naming the entry index and field. Credentials are
 * kept only as SHA-256 digests (salted with the room name). 0 or -EINVAL. */
int admission_replace(struct admission *a, const struct admission_entry *entries, size_t n,
                      GError **err);

/* Decide for CREDENTIAL at NOW_US. PERSON (if not NULL, ADMISSION_PERSON_MAX bytes) gets
 * the person of the matching entry of this room, or "" when none matched (an elsewhere
 * entry has none: not_this_room comes with ""). Never fails. */
enum admission_reason admission_decide(const struct admission *a, const char *credential,
                                       int64_t now_us, char *person);

/* Number of entries, this room's and elsewhere ones. */
size_t admission_count(const struct admission *a);

/* "granted", "unknown", "expired", "not_yet_valid", "not_this_room", "lockdown". */
const char *admission_reason_name(enum admission_reason r);

#endif
