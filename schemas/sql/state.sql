-- evalroom controller state (state.db), schema version 1.
-- Applied by state_open() on an empty database inside one transaction; the version is
-- kept in PRAGMA user_version and later versions add migrations (controller/state.c).
-- Times are UTC microseconds since the Unix epoch. Identifiers match
-- ^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$ (checked by the code before they get here).

-- Key/value facts of this installation: 'id_number_key' (hex HMAC key for identity
-- numbers, made once from the CSPRNG).
CREATE TABLE meta (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

-- The imported site: at most one row; 'source' is the site JSON as imported.
CREATE TABLE site (
	one INTEGER PRIMARY KEY CHECK (one = 1),
	id TEXT NOT NULL,
	name TEXT NOT NULL,
	source TEXT NOT NULL,
	imported_at INTEGER NOT NULL
) STRICT;

CREATE TABLE venue (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL
) STRICT;

CREATE TABLE room (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('expert', 'tenderer')),
	venue TEXT REFERENCES venue (id),
	door TEXT NOT NULL UNIQUE,
	ord INTEGER NOT NULL -- position in the site file
) STRICT;

CREATE TABLE seat (
	room TEXT NOT NULL REFERENCES room (id),
	id TEXT NOT NULL,
	camera TEXT,
	microphone TEXT,
	ord INTEGER NOT NULL,
	PRIMARY KEY (room, id)
) STRICT;

-- Room cameras and microphones (seat ones are in seat).
CREATE TABLE room_device (
	room TEXT NOT NULL REFERENCES room (id),
	kind TEXT NOT NULL CHECK (kind IN ('camera', 'microphone')),
	id TEXT NOT NULL UNIQUE
) STRICT;

-- A person named in a committee. The identity number is kept only as an HMAC-SHA256
-- (key in meta) of its normalised form: the desk can check a presented number without
-- the database ever holding the numbers themselves.
CREATE TABLE person (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	id_number_hmac TEXT NOT NULL,
	card TEXT
) STRICT;

-- An evaluation day.
CREATE TABLE session (
	id TEXT PRIMARY KEY,
	date TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE tender (
	id TEXT PRIMARY KEY,
	session TEXT NOT NULL REFERENCES session (id),
	name TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('open', 'closing', 'sealed')),
	created_at INTEGER NOT NULL
) STRICT;

-- One person sits in at most one tender's committee per session (one seat each).
CREATE TABLE committee (
	tender TEXT NOT NULL REFERENCES tender (id),
	person TEXT NOT NULL REFERENCES person (id),
	session TEXT NOT NULL REFERENCES session (id),
	role TEXT NOT NULL CHECK (role IN ('expert', 'tenderer')),
	added_at INTEGER NOT NULL,
	PRIMARY KEY (tender, person),
	UNIQUE (session, person)
) STRICT;

-- The seat draw of a session (common/draw/draw.h, docs/draw.md). 'secret' is '' : the
-- secret is held only in the controller's memory until run reveals it (then it is in
-- 'record'); a database written before that rule may hold it in hex. 'input' is the canonical JSON the
-- commitment covers; 'record' is the draw library's full record once run (updated by
-- every replacement), from which the draw is rebuilt.
CREATE TABLE draw (
	session TEXT PRIMARY KEY REFERENCES session (id),
	algorithm INTEGER NOT NULL,
	input TEXT NOT NULL,
	input_hash TEXT NOT NULL,
	secret TEXT NOT NULL,
	commitment TEXT NOT NULL,
	entropy TEXT,
	seed TEXT,
	state TEXT NOT NULL CHECK (state IN ('committed', 'run')),
	committed_at INTEGER NOT NULL,
	committed_by TEXT NOT NULL,
	run_at INTEGER,
	run_by TEXT,
	record TEXT
) STRICT;

-- Who sits where. replacement = 0 for the main draw, n for the session's n-th
-- replacement (its seed derives from the draw seed and n). A person replaced by a
-- later replacement keeps the row with withdrawn = 1; the seat is free again.
CREATE TABLE assignment (
	session TEXT NOT NULL REFERENCES draw (session),
	person TEXT NOT NULL REFERENCES person (id),
	tender TEXT NOT NULL REFERENCES tender (id),
	room TEXT NOT NULL,
	seat TEXT NOT NULL,
	replacement INTEGER NOT NULL DEFAULT 0,
	withdrawn INTEGER NOT NULL DEFAULT 0 CHECK (withdrawn IN (0, 1)),
	assigned_at INTEGER NOT NULL,
	PRIMARY KEY (session, person),
	FOREIGN KEY (room, seat) REFERENCES seat (room, id),
	FOREIGN KEY (tender, person) REFERENCES committee (tender, person)
) STRICT;

CREATE UNIQUE INDEX assignment_seat ON assignment (session, room, seat) WHERE withdrawn = 0;

-- Entrance check-ins and presence (issue 5 fills these).
CREATE TABLE checkin (
	session TEXT NOT NULL,
	person TEXT NOT NULL,
	at INTEGER NOT NULL,
	desk TEXT NOT NULL,
	screening TEXT NOT NULL CHECK (screening IN ('passed', 'failed')),
	note TEXT,
	FOREIGN KEY (session, person) REFERENCES assignment (session, person)
) STRICT;

CREATE TABLE presence (
	session TEXT NOT NULL,
	person TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('expected', 'admitted', 'inside', 'out')),
	since INTEGER NOT NULL,
	PRIMARY KEY (session, person),
	FOREIGN KEY (session, person) REFERENCES assignment (session, person)
) STRICT;

-- Every audited operator/desk request, refused ones included.
CREATE TABLE audit (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	at INTEGER NOT NULL,
	identity TEXT NOT NULL,
	command TEXT NOT NULL,
	args TEXT NOT NULL,
	outcome TEXT NOT NULL,
	message TEXT
) STRICT;
CREATE INDEX audit_at ON audit (at);

-- Every event a room agent sent, once: (room, seq) is the event's identity, so a replay
-- from the agent's outbox after a reconnect is recognised and not recorded twice.
CREATE TABLE agent_event (
	room TEXT NOT NULL,
	seq INTEGER NOT NULL,
	kind TEXT NOT NULL,
	at INTEGER NOT NULL,
	received INTEGER NOT NULL,
	body TEXT NOT NULL,
	PRIMARY KEY (room, seq)
) STRICT;
-- Alerts (issue 8): raised from real causes, acknowledged by an operator, resolved by
-- an operator or automatically when the cause clears. Never deleted (the trigger
-- refuses it). An alert is open until resolved; while open, a second raise of the same
-- kind and subject only counts (count, last_at), which the partial unique index makes
-- impossible to get wrong. Subject members are '' when not applicable.
CREATE TABLE alert (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	kind TEXT NOT NULL,
	room TEXT NOT NULL DEFAULT '',
	seat TEXT NOT NULL DEFAULT '',
	person TEXT NOT NULL DEFAULT '',
	tender TEXT NOT NULL DEFAULT '',
	stream TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL,
	extra TEXT,
	raised_at INTEGER NOT NULL,
	last_at INTEGER NOT NULL,
	count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
	state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),
	acked_at INTEGER,
	acked_by TEXT,
	ack_note TEXT,
	resolved_at INTEGER,
	resolved_by TEXT,
	resolve_note TEXT,
	CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX alert_unresolved ON alert (kind, room, seat, person, tender, stream)
	WHERE state != 'resolved';
CREATE INDEX alert_last ON alert (last_at);
CREATE TRIGGER alert_never_deleted BEFORE DELETE ON alert
BEGIN
	SELECT RAISE(ABORT, 'alerts are never deleted');
END;

-- Door credentials and workstation login codes issued at the desk (issue 5). The
-- credential itself is kept only while it is active (the room's admission list is
-- pushed again after every change) and wiped when used, expired or replaced; the login
-- code is never stored, only its digest (controller/checkin_codes.h).
CREATE TABLE admission (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	session TEXT NOT NULL,
	person TEXT NOT NULL,
	tender TEXT NOT NULL,
	room TEXT NOT NULL,
	seat TEXT NOT NULL,
	credential TEXT NOT NULL,
	code_digest TEXT NOT NULL,
	issued_at INTEGER NOT NULL,
	valid_until INTEGER NOT NULL,
	code_valid_until INTEGER NOT NULL,
	desk TEXT NOT NULL,
	reason TEXT,
	state TEXT NOT NULL CHECK (state IN ('active', 'used', 'expired', 'replaced')),
	ended_at INTEGER,
	FOREIGN KEY (session, person) REFERENCES assignment (session, person)
) STRICT;
CREATE INDEX admission_active ON admission (state, room);

-- Which expert's tender a seat's camera and microphone belong to: from a login to the
-- logout (to_us NULL while logged in). The archive router reads it.
CREATE TABLE seat_binding (
	room TEXT NOT NULL,
	seat TEXT NOT NULL,
	person TEXT NOT NULL,
	tender TEXT NOT NULL,
	from_us INTEGER NOT NULL,
	to_us INTEGER,
	CHECK (to_us IS NULL OR to_us >= from_us)
) STRICT;
CREATE INDEX seat_binding_at ON seat_binding (room, seat, from_us);
