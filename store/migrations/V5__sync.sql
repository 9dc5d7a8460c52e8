-- Sync with the cloud (tillstone-sync-client).

-- Down-sync: the HQ rows replicated to this terminal, the latest revision per (entity, key).
-- Deletions are kept as tombstones (deleted = 1, data = 'null') so no older write revives them.
CREATE TABLE hq_rows (
    entity   TEXT NOT NULL,
    key      TEXT NOT NULL,
    revision INTEGER NOT NULL CHECK (revision >= 1),
    deleted  INTEGER NOT NULL CHECK (deleted IN (0, 1)),
    data     TEXT NOT NULL,
    PRIMARY KEY (entity, key)
) WITHOUT ROWID;

-- Per-entity pull cursors, saved in the same transaction as the rows they cover.
CREATE TABLE hq_cursors (
    entity   TEXT PRIMARY KEY,
    revision INTEGER NOT NULL CHECK (revision >= 0)
) WITHOUT ROWID;

-- The HLC an outbox event was stamped with when first prepared for pushing: a resend must
-- carry exactly the same envelope.
CREATE TABLE sync_stamps (
    event_id TEXT PRIMARY KEY REFERENCES outbox (event_id),
    wall_ms  INTEGER NOT NULL,
    counter  INTEGER NOT NULL
) WITHOUT ROWID;

-- Events the cloud rejected (integrity failures): not retried, reported, an operator decides.
CREATE TABLE sync_quarantine (
    event_id TEXT PRIMARY KEY REFERENCES outbox (event_id),
    reason   TEXT NOT NULL,
    detail   TEXT NOT NULL,
    at       TEXT NOT NULL
) WITHOUT ROWID;
