-- The room agent's recording spool (media/recorder/spool.c).
-- One SQLite database in the spool directory, WAL journal; the segment files live
-- beside it in <spool_dir>/<stream>/<seq>.ts. A row exists here only once its file
-- has been hashed and fsynced; the row and the file are deleted together once the
-- controller has acknowledged the segment durable.

-- Per-stream sequence counter. Kept apart from `segment` because acknowledged
-- segments are deleted, yet numbering must resume after a restart.
CREATE TABLE IF NOT EXISTS stream_seq (
	stream      TEXT PRIMARY KEY,
	next_seq    INTEGER NOT NULL CHECK (next_seq >= 1),
	last_end_us INTEGER                 -- end of the newest spooled segment
);

-- Closed, durable, not yet acknowledged segments.
CREATE TABLE IF NOT EXISTS segment (
	stream    TEXT NOT NULL,
	seq       INTEGER NOT NULL CHECK (seq >= 1),
	start_us  INTEGER NOT NULL,
	end_us    INTEGER NOT NULL CHECK (end_us >= start_us),
	size      INTEGER NOT NULL CHECK (size >= 0),
	sha256    TEXT NOT NULL CHECK (length(sha256) = 64),
	path      TEXT NOT NULL,
	recovered INTEGER NOT NULL DEFAULT 0 CHECK (recovered IN (0, 1)),
	PRIMARY KEY (stream, seq)
);
CREATE INDEX IF NOT EXISTS segment_by_age ON segment (end_us);

-- Segments being written right now. A row left here at start-up is a partial
-- segment from a crash or power cut: it is recovered or declared as a gap.
CREATE TABLE IF NOT EXISTS open_segment (
	stream   TEXT NOT NULL,
	seq      INTEGER NOT NULL,
	start_us INTEGER NOT NULL,
	path     TEXT NOT NULL,
	PRIMARY KEY (stream, seq)
);

-- Explained gaps in a stream's recording. to_us is NULL while the gap is open;
-- a gap is shipped once closed and deleted once acknowledged.
CREATE TABLE IF NOT EXISTS gap (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	stream  TEXT NOT NULL,
	reason  TEXT NOT NULL CHECK (reason IN ('camera_lost', 'agent_restart', 'disk_full',
	                                   'camera_unauthorized', 'camera_not_found',
	                                   'camera_silent', 'stream_changed')),
	from_us INTEGER NOT NULL,
	to_us   INTEGER CHECK (to_us IS NULL OR to_us >= from_us)
);
