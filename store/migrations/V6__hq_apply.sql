-- V6: HQ rows applied to the local tables (store/src/hq.rs).

-- HQ's lifetime points of a member (the basis of tiers); points credited on tills add to it.
ALTER TABLE members ADD COLUMN lifetime_points INTEGER NOT NULL DEFAULT 0;

-- The coupon codes HQ issued to a member: their wallet, shown when the member is attached.
CREATE TABLE member_coupons (
    member_id TEXT NOT NULL,
    code      TEXT NOT NULL,
    pos       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (member_id, code)
) WITHOUT ROWID;

-- HQ rows kept in hq_rows that could not be applied to the local tables, and why.
CREATE TABLE hq_apply_errors (
    entity   TEXT NOT NULL,
    key      TEXT NOT NULL,
    revision INTEGER NOT NULL,
    message  TEXT NOT NULL,
    PRIMARY KEY (entity, key)
) WITHOUT ROWID;
