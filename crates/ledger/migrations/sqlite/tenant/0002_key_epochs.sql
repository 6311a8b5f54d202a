-- Key epochs: erasure that does not depend on how the engine frees pages (see crate::crypto).
-- The epoch whose key-encryption key wraps new records (0: records written before epochs).
ALTER TABLE head ADD COLUMN kek_epoch INTEGER NOT NULL DEFAULT 0;
-- An erasure asks for every epoch below shred_below to be destroyed; shredded_below is how
-- far that is done. erasure_pending_since: when the oldest erasure not yet applied was made.
ALTER TABLE head ADD COLUMN shred_below INTEGER NOT NULL DEFAULT 0;
ALTER TABLE head ADD COLUMN shredded_below INTEGER NOT NULL DEFAULT 0;
ALTER TABLE head ADD COLUMN erasure_pending_since INTEGER;
-- Records carry their epoch; format-2 records keep their salt inside the ciphertext and
-- store an empty salt column (format-1 records keep theirs until resealed).
ALTER TABLE records ADD COLUMN kek_epoch INTEGER NOT NULL DEFAULT 0;
CREATE INDEX records_kek_epoch ON records (kek_epoch);
-- Which claim erased which: a second erasure of a claim is refused, naming the first.
CREATE TABLE erasures (
    seq         INTEGER PRIMARY KEY REFERENCES leaves (seq),
    erasure_seq INTEGER NOT NULL REFERENCES leaves (seq)
);
