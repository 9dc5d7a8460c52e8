-- V4: coupon redemptions, the terminal's local ledger for offline checks.
--
-- A redemption is written in the same transaction as the sale that used the coupon. `offline`
-- marks redemptions accepted without HQ (they count against the campaign's offline allowance
-- until HQ confirms them); `restored_by` is the return or post-void that gave the coupon back.
CREATE TABLE coupon_redemptions (
    redemption_id TEXT PRIMARY KEY,
    campaign_id   INTEGER NOT NULL,
    serial        INTEGER NOT NULL,
    member_id     TEXT,
    code          TEXT NOT NULL,
    sale_id       TEXT NOT NULL REFERENCES sales (sale_id),
    amount_minor  INTEGER NOT NULL,
    offline       INTEGER NOT NULL CHECK (offline IN (0, 1)),
    confirmed_at  TEXT,
    restored_by   TEXT,
    at            TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX coupon_redemptions_serial ON coupon_redemptions (campaign_id, serial);
CREATE INDEX coupon_redemptions_member ON coupon_redemptions (campaign_id, member_id);
CREATE INDEX coupon_redemptions_sale ON coupon_redemptions (sale_id);
CREATE TRIGGER coupon_redemptions_no_delete BEFORE DELETE ON coupon_redemptions
    BEGIN SELECT RAISE(ABORT, 'coupon redemptions are immutable'); END;
-- Only the restore and confirmation marks may be set, once.
CREATE TRIGGER coupon_redemptions_no_update
    BEFORE UPDATE OF redemption_id, campaign_id, serial, member_id, code, sale_id, amount_minor,
        offline, at ON coupon_redemptions
    BEGIN SELECT RAISE(ABORT, 'coupon redemptions are immutable'); END;
CREATE TRIGGER coupon_redemptions_marks_once BEFORE UPDATE OF restored_by, confirmed_at ON coupon_redemptions
    WHEN (OLD.restored_by IS NOT NULL AND NEW.restored_by IS NOT OLD.restored_by)
      OR (OLD.confirmed_at IS NOT NULL AND NEW.confirmed_at IS NOT OLD.confirmed_at)
    BEGIN SELECT RAISE(ABORT, 'coupon redemption marks are set once'); END;
