-- evalroom tender archive (.evarc), format version 2 (version 1 lacks meta.site). See docs/archive-format.md.
-- Before this runs the writer sets: page_size=65536, application_id, user_version,
-- journal_mode=PERSIST, journal_size_limit, synchronous=FULL (page size must precede the
-- tables). Every record that is a Merkle leaf carries its leaf index (`leaf`, 0-based, global
-- append order across tables) and `leaf_hash` = SHA-256(0x00 || leaf data).
-- Few indexes on purpose: with 64 KiB pages every index page a commit touches costs a 64 KiB
-- journal write, and the verifier checks leaf uniqueness itself.

CREATE TABLE meta (
	id             INTEGER PRIMARY KEY CHECK (id = 1),
	leaf           INTEGER NOT NULL CHECK (leaf = 0),
	leaf_hash      BLOB    NOT NULL,
	tender         TEXT    NOT NULL,
	name           TEXT    NOT NULL,
	session        TEXT    NOT NULL,
	created_us     INTEGER NOT NULL,
	signing_pubkey TEXT    NOT NULL, -- PEM of the key that signs the checkpoints
	sealed_us      INTEGER,          -- NULL while the tender is open
	site           TEXT    NOT NULL, -- the site named in the checkpoints' origin (version 2)
	signing_pubkey2 TEXT             -- PEM of a second key (SM2 or Ed25519) signing beside it
);

CREATE TABLE draw (
	id        INTEGER PRIMARY KEY CHECK (id = 1),
	leaf      INTEGER NOT NULL,
	leaf_hash BLOB    NOT NULL,
	time_us   INTEGER NOT NULL,
	record    TEXT    NOT NULL -- the draw module's export, byte for byte
);

CREATE TABLE events (
	id        INTEGER PRIMARY KEY,
	leaf      INTEGER NOT NULL,
	leaf_hash BLOB    NOT NULL,
	time_us   INTEGER NOT NULL,
	kind      TEXT    NOT NULL,
	source    TEXT    NOT NULL,
	body      TEXT    NOT NULL
);

CREATE TABLE segments (
	id        INTEGER PRIMARY KEY,
	leaf      INTEGER NOT NULL,
	leaf_hash BLOB    NOT NULL,
	stream    TEXT    NOT NULL,
	seq       INTEGER NOT NULL,
	start_us  INTEGER NOT NULL,
	end_us    INTEGER NOT NULL,
	size      INTEGER NOT NULL,
	sha256    BLOB    NOT NULL,
	container TEXT    NOT NULL,
	UNIQUE (stream, seq)
);

-- id = segment * 1048576 + idx: a segment's chunks are one rowid range, found without an index.
CREATE TABLE segment_chunks (
	id      INTEGER PRIMARY KEY,
	segment INTEGER NOT NULL REFERENCES segments (id),
	idx     INTEGER NOT NULL CHECK (idx >= 0 AND idx < 1048576), -- position in its segment
	data    BLOB    NOT NULL,
	CHECK (id = segment * 1048576 + idx)
);

CREATE TABLE gaps (
	id        INTEGER PRIMARY KEY,
	leaf      INTEGER NOT NULL,
	leaf_hash BLOB    NOT NULL,
	stream    TEXT    NOT NULL,
	from_us   INTEGER NOT NULL,
	to_us     INTEGER NOT NULL,
	reason    TEXT    NOT NULL
);

CREATE TABLE checkpoints (
	id        INTEGER PRIMARY KEY,
	tree_size INTEGER NOT NULL,
	root      BLOB    NOT NULL,
	time_us   INTEGER NOT NULL,
	body      TEXT    NOT NULL, -- exactly the signed bytes (version 2: a C2SP checkpoint)
	signature BLOB    NOT NULL, -- raw 64-byte Ed25519 signature of body
	signature2 BLOB             -- the second key's signature of body (version 2), or NULL
);

-- RFC 3161 timestamps of checkpoint bodies from the site's TSA (version 2). A token proves
-- itself (the TSA's signature over the SHA-256 of the body), so one may be added after
-- sealing.
CREATE TABLE timestamps (
	id         INTEGER PRIMARY KEY,
	checkpoint INTEGER NOT NULL, -- checkpoints.id of the body it timestamps
	token      BLOB    NOT NULL  -- DER TimeStampToken, with only its signer's certificate
);
