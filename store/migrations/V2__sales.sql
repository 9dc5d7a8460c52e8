-- Terminal identity, settings and counters.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE users (
    user_id  TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    role     TEXT NOT NULL CHECK (role IN ('cashier', 'manager', 'installer')),
    pin_hash TEXT NOT NULL,
    active   INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE shifts (
    shift_id            TEXT PRIMARY KEY,
    shift_no            INTEGER NOT NULL UNIQUE,
    terminal_id         TEXT NOT NULL,
    opened_by           TEXT NOT NULL,
    opened_at           TEXT NOT NULL,
    opening_float_minor INTEGER NOT NULL,
    closed_at           TEXT,
    closed_by           TEXT,
    counted_minor       INTEGER,
    z_no                INTEGER UNIQUE
);
-- At most one open shift per terminal.
CREATE UNIQUE INDEX shifts_one_open ON shifts (terminal_id) WHERE closed_at IS NULL;

-- Paid-in, paid-out and no-sale drawer openings.
CREATE TABLE cash_movements (
    movement_id  TEXT PRIMARY KEY,
    shift_id     TEXT NOT NULL REFERENCES shifts (shift_id),
    kind         TEXT NOT NULL CHECK (kind IN ('paid_in', 'paid_out', 'no_sale')),
    amount_minor INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    approved_by  TEXT,
    at           TEXT NOT NULL
);
CREATE INDEX cash_movements_shift ON cash_movements (shift_id);

-- Committed sales and returns. `doc` is the full document (JSON); the columns beside it are
-- what lookups and reports need.
CREATE TABLE sales (
    sale_id          TEXT PRIMARY KEY,
    receipt_no       TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL CHECK (kind IN ('sale', 'return')),
    shift_id         TEXT NOT NULL REFERENCES shifts (shift_id),
    cashier_id       TEXT NOT NULL,
    completed_at     TEXT NOT NULL,
    local_hour       TEXT NOT NULL,
    subtotal_minor   INTEGER NOT NULL,
    discount_minor   INTEGER NOT NULL,
    tax_minor        INTEGER NOT NULL,
    total_minor      INTEGER NOT NULL,
    rounding_minor   INTEGER NOT NULL,
    original_sale_id TEXT REFERENCES sales (sale_id),
    line_count       INTEGER NOT NULL,
    override_count   INTEGER NOT NULL,
    -- Idempotency: the cart a sale completed, or the client's request id of a return; a
    -- retried request finds the document it already made.
    cart_id          TEXT UNIQUE,
    request_id       TEXT UNIQUE,
    doc              TEXT NOT NULL
);
-- Covering index for the shift report: the aggregates never read the JSON documents.
CREATE INDEX sales_shift ON sales (shift_id, kind, cashier_id, local_hour, subtotal_minor,
    discount_minor, total_minor, rounding_minor, override_count, sale_id);
CREATE INDEX sales_original ON sales (original_sale_id) WHERE original_sale_id IS NOT NULL;

CREATE TABLE sale_lines (
    sale_id     TEXT NOT NULL REFERENCES sales (sale_id),
    line_id     INTEGER NOT NULL,
    sku         TEXT NOT NULL,
    category    TEXT NOT NULL,
    qty         TEXT NOT NULL,
    total_minor INTEGER NOT NULL,
    tax_minor   INTEGER NOT NULL,
    PRIMARY KEY (sale_id, line_id)
) WITHOUT ROWID;

CREATE TABLE sale_tenders (
    sale_id       TEXT NOT NULL REFERENCES sales (sale_id),
    tender_id     INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    applied_minor INTEGER NOT NULL,
    reference     TEXT,
    PRIMARY KEY (sale_id, tender_id)
) WITHOUT ROWID;

CREATE TABLE sale_taxes (
    sale_id       TEXT NOT NULL REFERENCES sales (sale_id),
    rate          TEXT NOT NULL,
    taxable_minor INTEGER NOT NULL,
    tax_minor     INTEGER NOT NULL,
    total_minor   INTEGER NOT NULL,
    PRIMARY KEY (sale_id, rate)
) WITHOUT ROWID;

-- Post-voided sales (the sale row itself stays untouched).
CREATE TABLE voids (
    sale_id     TEXT PRIMARY KEY REFERENCES sales (sale_id),
    shift_id    TEXT NOT NULL REFERENCES shifts (shift_id),
    user_id     TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    reason      TEXT NOT NULL,
    at          TEXT NOT NULL
) WITHOUT ROWID;

-- Hash-chained journal of every committed event, one sequence per terminal.
CREATE TABLE journal (
    seq         INTEGER PRIMARY KEY,
    terminal_id TEXT NOT NULL,
    kind        TEXT NOT NULL,
    ref_id      TEXT NOT NULL,
    at          TEXT NOT NULL,
    payload     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);

-- Events waiting to be pushed to the cloud (acknowledged ones are marked, not deleted).
CREATE TABLE outbox (
    event_id   TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL UNIQUE REFERENCES journal (seq),
    kind       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    acked_at   TEXT
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE acked_at IS NULL;

-- Open and parked carts survive restarts.
CREATE TABLE carts (
    cart_id    TEXT PRIMARY KEY,
    status     TEXT NOT NULL CHECK (status IN ('open', 'parked')),
    user_id    TEXT NOT NULL,
    label      TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    cart       TEXT NOT NULL
);

CREATE TABLE z_reports (
    z_no       INTEGER PRIMARY KEY,
    shift_id   TEXT NOT NULL UNIQUE REFERENCES shifts (shift_id),
    created_at TEXT NOT NULL,
    report     TEXT NOT NULL
);

-- Committed history is immutable.
CREATE TRIGGER sales_no_update BEFORE UPDATE ON sales BEGIN SELECT RAISE(ABORT, 'sales are immutable'); END;
CREATE TRIGGER sales_no_delete BEFORE DELETE ON sales BEGIN SELECT RAISE(ABORT, 'sales are immutable'); END;
CREATE TRIGGER sale_lines_no_update BEFORE UPDATE ON sale_lines BEGIN SELECT RAISE(ABORT, 'sales are immutable'); END;
CREATE TRIGGER sale_lines_no_delete BEFORE DELETE ON sale_lines BEGIN SELECT RAISE(ABORT, 'sales are immutable'); END;
CREATE TRIGGER sale_tenders_no_update BEFORE UPDATE ON sale_tenders BEGIN SELECT RAISE(ABORT, 'sales are immutable'); END;
CREATE TRIGGER sale_tenders_no_delete BEFORE DELETE ON sale_tenders BEGIN SELECT RAISE(ABORT, 'sales are immutable'); END;
CREATE TRIGGER sale_taxes_no_update BEFORE UPDATE ON sale_taxes BEGIN SELECT RAISE(ABORT, 'sales are immutable'); END;
CREATE TRIGGER sale_taxes_no_delete BEFORE DELETE ON sale_taxes BEGIN SELECT RAISE(ABORT, 'sales are immutable'); END;
CREATE TRIGGER voids_no_update BEFORE UPDATE ON voids BEGIN SELECT RAISE(ABORT, 'voids are immutable'); END;
CREATE TRIGGER voids_no_delete BEFORE DELETE ON voids BEGIN SELECT RAISE(ABORT, 'voids are immutable'); END;
CREATE TRIGGER cash_movements_no_update BEFORE UPDATE ON cash_movements BEGIN SELECT RAISE(ABORT, 'cash movements are immutable'); END;
CREATE TRIGGER cash_movements_no_delete BEFORE DELETE ON cash_movements BEGIN SELECT RAISE(ABORT, 'cash movements are immutable'); END;
CREATE TRIGGER shifts_closed_no_update BEFORE UPDATE ON shifts WHEN OLD.closed_at IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'closed shifts are immutable'); END;
CREATE TRIGGER shifts_no_delete BEFORE DELETE ON shifts BEGIN SELECT RAISE(ABORT, 'shifts are immutable'); END;
-- Nothing is booked into a closed shift.
CREATE TRIGGER sales_open_shift BEFORE INSERT ON sales
    WHEN (SELECT closed_at FROM shifts WHERE shift_id = NEW.shift_id) IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'the shift is closed'); END;
CREATE TRIGGER voids_open_shift BEFORE INSERT ON voids
    WHEN (SELECT closed_at FROM shifts WHERE shift_id = NEW.shift_id) IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'the shift is closed'); END;
CREATE TRIGGER cash_movements_open_shift BEFORE INSERT ON cash_movements
    WHEN (SELECT closed_at FROM shifts WHERE shift_id = NEW.shift_id) IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'the shift is closed'); END;
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER z_reports_no_update BEFORE UPDATE ON z_reports BEGIN SELECT RAISE(ABORT, 'Z reports are immutable'); END;
CREATE TRIGGER z_reports_no_delete BEFORE DELETE ON z_reports BEGIN SELECT RAISE(ABORT, 'Z reports are immutable'); END;

-- Members (pushed down from HQ, or signed up at the till).
CREATE TABLE members (
    member_id   TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    phone       TEXT NOT NULL UNIQUE,
    phone_last4 TEXT NOT NULL,
    card_no     TEXT UNIQUE,
    tier        TEXT NOT NULL DEFAULT '',
    points      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX members_last4 ON members (phone_last4);
CREATE INDEX members_name ON members (name);
