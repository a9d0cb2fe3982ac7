-- The key history of the controller's checkpoint keys (format version 3; docs/archive-format.md,
-- "Key history"): every rotation and revocation, copied into the archive when it is created
-- and appended while it is open. Each row is a Merkle leaf (its columns are in the leaf
-- data) and each entry also proves itself by its signatures.
CREATE TABLE key_history (
	id         INTEGER PRIMARY KEY,
	leaf       INTEGER NOT NULL,
	leaf_hash  BLOB    NOT NULL,
	entry      TEXT    NOT NULL, -- the exact signed text of the entry
	signature  BLOB    NOT NULL, -- by the old key (rotate) or the current key (revoke)
	signature2 BLOB              -- by the new key (rotate), the revoked key (revoke), or NULL
);
