/* Making a closed segment file durable and fingerprinting it. */
#ifndef EVALROOM_SEGMENT_FILE_H
#define EVALROOM_SEGMENT_FILE_H

#include <stdint.h>

/* Reads path once, computing its SHA-256 (lower-case hex into hex[65]) and size, then
 * fsyncs the file and its directory, so that a spool row written afterwards never
 * points at data a power cut could take back. Errors: -errno of open/read/fsync. */
int segment_file_seal(const char *path, char hex[65], int64_t *size);

/* Modification time of path in UTC µs; -errno on failure. */
int segment_file_mtime_us(const char *path, int64_t *mtime_us);

/* The name of the segment files in a stream's spool directory (splitmuxsink's location
 * pattern): the sequence number in 8 digits. */
#define SEGMENT_FILE_PATTERN "%08d.ts"

/* The sequence number of a segment file's PATH (".../00000042.ts" -> 42); 0 when PATH is
 * not named as a segment. */
int64_t segment_file_seq(const char *path);

/* Unlinks path and fsyncs its directory; a missing file is not an error. */
int segment_file_remove(const char *path);

#endif
