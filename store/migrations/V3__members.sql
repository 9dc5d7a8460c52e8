-- V3: members at scale (search on a million members), sign-ups at the till, loyalty points.
--
-- Search (store/src/members.rs): phone and card numbers by their UNIQUE indexes (V2), the last
-- 4 digits by (phone_last4, name), names by the `members (name)` index (exact and prefix) and
-- by `member_gram`, a contentless FTS5 index of every character and every 2-character gram of
-- the name (case-folded by the tokenizer), for names that contain the query ("晓明", "伟",
-- "zhang"). Its rowids are `member_key.id`: stable integers, because members' own rowids may
-- change on VACUUM (their key is TEXT). store/src/members.rs writes both whenever a member is
-- added or renamed; the backfill below indexes the members an older store already holds, with
-- the same grams (lower(name)'s characters and pairs, space separated).
--
-- Points: `member_point_events` holds every point event known here (made on this terminal or
-- synced), immutable, unique by event id. A trigger adds each event to its member's PN-counter
-- row of the event's terminal (`ev_p` credits, `ev_n` debits) in the same transaction.
-- Counters received from HQ are merged into `sync_p` / `sync_n` by per-terminal maximum. The
-- member's balance is `members.points` (the opening balance HQ pushed) plus
-- Σ max(ev_p, sync_p) − Σ max(ev_n, sync_n) over the member's terminals
-- (`member_point_balances`).

CREATE TABLE member_key (
    id        INTEGER PRIMARY KEY,
    member_id TEXT NOT NULL UNIQUE
);

CREATE VIRTUAL TABLE member_gram USING fts5 (
    grams,
    tokenize = 'unicode61 remove_diacritics 0',
    content = '',
    contentless_delete = 1,
    detail = none
);

-- Last 4 digits, already in name order (the V2 index on phone_last4 alone is a prefix of it).
DROP INDEX members_last4;
CREATE INDEX members_last4_name ON members (phone_last4, name);

-- Sign-ups made at this till (the member row itself is in `members`). The customer's consent
-- (PIPL) and when it was given are kept with the sign-up; a sign-up is never changed.
CREATE TABLE member_signups (
    member_id    TEXT PRIMARY KEY REFERENCES members (member_id),
    event_id     TEXT NOT NULL UNIQUE,
    terminal_id  TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    phone        TEXT NOT NULL,
    consent      INTEGER NOT NULL CHECK (consent IN (0, 1)),
    consent_at   TEXT NOT NULL,
    signed_up_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE member_point_events (
    event_id    TEXT PRIMARY KEY NOT NULL CHECK (length(event_id) > 0),
    member_id   TEXT NOT NULL CHECK (length(member_id) > 0),
    terminal_id TEXT NOT NULL CHECK (length(terminal_id) > 0),
    kind        TEXT NOT NULL CHECK (kind IN ('earn', 'redeem', 'adjust', 'expire')),
    points      INTEGER NOT NULL CHECK (
        (kind = 'earn' AND points > 0) OR (kind IN ('redeem', 'expire') AND points < 0)
        OR (kind = 'adjust' AND points <> 0)),
    at          TEXT NOT NULL,
    ref_id      TEXT
);
CREATE INDEX member_point_events_member ON member_point_events (member_id, at);

CREATE TABLE member_point_counters (
    member_id   TEXT NOT NULL,
    terminal_id TEXT NOT NULL,
    ev_p        INTEGER NOT NULL DEFAULT 0 CHECK (ev_p >= 0),
    ev_n        INTEGER NOT NULL DEFAULT 0 CHECK (ev_n >= 0),
    sync_p      INTEGER NOT NULL DEFAULT 0 CHECK (sync_p >= 0),
    sync_n      INTEGER NOT NULL DEFAULT 0 CHECK (sync_n >= 0),
    PRIMARY KEY (member_id, terminal_id)
) WITHOUT ROWID;

CREATE VIEW member_point_balances AS
    SELECT member_id,
           SUM(MAX(ev_p, sync_p)) AS credited,
           SUM(MAX(ev_n, sync_n)) AS debited,
           SUM(MAX(ev_p, sync_p)) - SUM(MAX(ev_n, sync_n)) AS balance
    FROM member_point_counters GROUP BY member_id;

CREATE TRIGGER member_point_events_count AFTER INSERT ON member_point_events BEGIN
    INSERT INTO member_point_counters (member_id, terminal_id, ev_p, ev_n)
    VALUES (NEW.member_id, NEW.terminal_id, MAX(NEW.points, 0), MAX(-NEW.points, 0))
    ON CONFLICT (member_id, terminal_id)
    DO UPDATE SET ev_p = ev_p + excluded.ev_p, ev_n = ev_n + excluded.ev_n;
END;

-- History is immutable; counters only grow.
CREATE TRIGGER member_point_events_no_update BEFORE UPDATE ON member_point_events
    BEGIN SELECT RAISE(ABORT, 'point events are immutable'); END;
CREATE TRIGGER member_point_events_no_delete BEFORE DELETE ON member_point_events
    BEGIN SELECT RAISE(ABORT, 'point events are immutable'); END;
CREATE TRIGGER member_signups_no_update BEFORE UPDATE ON member_signups
    BEGIN SELECT RAISE(ABORT, 'sign-ups are immutable'); END;
CREATE TRIGGER member_signups_no_delete BEFORE DELETE ON member_signups
    BEGIN SELECT RAISE(ABORT, 'sign-ups are immutable'); END;
CREATE TRIGGER member_point_counters_grow BEFORE UPDATE ON member_point_counters
    WHEN NEW.ev_p < OLD.ev_p OR NEW.ev_n < OLD.ev_n OR NEW.sync_p < OLD.sync_p
        OR NEW.sync_n < OLD.sync_n OR NEW.member_id IS NOT OLD.member_id
        OR NEW.terminal_id IS NOT OLD.terminal_id
    BEGIN SELECT RAISE(ABORT, 'point counters only grow'); END;
CREATE TRIGGER member_point_counters_no_delete BEFORE DELETE ON member_point_counters
    BEGIN SELECT RAISE(ABORT, 'point counters only grow'); END;

-- Backfill: keys and grams of the members already here.
INSERT INTO member_key (member_id) SELECT member_id FROM members ORDER BY rowid;
INSERT INTO member_gram (rowid, grams)
    WITH RECURSIVE g (id, name, i, grams) AS (
        SELECT k.id, lower(m.name), 1, ''
        FROM member_key k JOIN members m ON m.member_id = k.member_id
        UNION ALL
        SELECT id, name, i + 1, grams || ' ' || substr(name, i, 1) || ' ' || substr(name, i, 2)
        FROM g WHERE i <= length(name)
    )
    SELECT id, grams FROM g WHERE i = length(name) + 1;
