-- V1: the catalog (tax classes, products, barcodes, search indexes).
--
-- Money is stored as integer minor units (fen for CNY); tax rates as decimal TEXT ("0.13").
-- The two search tables are contentless FTS5 tables keyed by product.id and written by
-- store/src/catalog.rs whenever a product's name or name_en changes:
--   product_fts   trigram index over name and name_en: substring search, queries of 3+ characters;
--   product_gram  short-query index: every 2-character gram (and each run's last character) of
--                 the name, and the first 2 characters of each word of name_en, as unicode61
--                 tokens, so 1- and 2-character queries ("奶", "苹果", "co") use an index too.

CREATE TABLE tax_class (
    code TEXT PRIMARY KEY NOT NULL CHECK (length(code) > 0),
    rate TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE product (
    -- Stable integer key for the FTS rowids; `sku` is the business key.
    id          INTEGER PRIMARY KEY,
    sku         TEXT NOT NULL UNIQUE CHECK (length(sku) > 0),
    name        TEXT NOT NULL,
    name_en     TEXT NOT NULL DEFAULT '',
    category    TEXT NOT NULL DEFAULT '',
    tax_class   TEXT NOT NULL REFERENCES tax_class (code) ON UPDATE CASCADE,
    unit        TEXT NOT NULL DEFAULT 'piece' CHECK (unit IN ('piece', 'kg')),
    -- Shelf price per unit, in minor units (fen), VAT included as configured by the store.
    price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);

CREATE TABLE barcode (
    barcode TEXT PRIMARY KEY NOT NULL CHECK (length(barcode) > 0),
    sku     TEXT NOT NULL REFERENCES product (sku) ON UPDATE CASCADE ON DELETE CASCADE,
    -- Order of the product's barcodes as given (0 = primary).
    pos     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE INDEX barcode_by_sku ON barcode (sku);

CREATE VIRTUAL TABLE product_fts USING fts5 (
    name,
    name_en,
    tokenize = 'trigram',
    content = '',
    contentless_delete = 1
);

CREATE VIRTUAL TABLE product_gram USING fts5 (
    grams,
    tokenize = 'unicode61 remove_diacritics 0',
    content = '',
    contentless_delete = 1,
    detail = none
);
