//! The catalog: tax classes, products, barcodes, product search and bulk import.
//!
//! * Every lookup goes to an index (`product.sku`, `barcode.barcode`, two FTS5 tables); the
//!   catalog is never loaded into memory, and an import streams its file row by row.
//! * Prices are stored as integer minor units (fen), returned as `Decimal` with 2 decimals.
//!   Tax rates are stored as decimal text and resolved from the tax class on every read.
//! * Deactivated products stay in the database (and keep their barcodes) but are not returned
//!   by lookups or search; upserting or re-importing the SKU activates it again.
//!
//! Search (see [`Store::search_products`]): exact SKU / barcode first, then SKU / barcode
//! prefixes, then names. Name terms of 3+ characters go to an FTS5 `trigram` index over `name`
//! and `name_en` (substring match, case-insensitive); 1- and 2-character terms ("奶", "苹果",
//! "co") go to `product_gram`, an FTS5 index of the name's 2-character grams and of the first
//! two characters of each English word, because trigrams cannot answer them.
//!
//! Import (see [`Store::import_catalog`]): rows are applied in file order, as if upserted one
//! by one; every bad row is reported with its 1-based line number and the reason.

use crate::db::{Result, Store, StoreError};
use rusqlite::{Connection, OptionalExtension, Row, params};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::str::FromStr;

pub use tillstone_core::catalog::{MAX_CODE_CHARS, PRICE_DECIMALS, Product, TaxClass, Unit};
use tillstone_core::catalog::{check_barcode, parse_price};

/// At most this many rejected rows are listed in an [`ImportReport`]; all are counted.
pub const MAX_REPORTED_ERRORS: usize = 1000;
/// Longest name, English name and category accepted, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Rows per transaction in [`ImportMode::KeepGood`] (AllOrNothing uses one transaction).
const BATCH_ROWS: u64 = 20_000;
/// The progress callback is called every this many rows (and once at the end).
const PROGRESS_EVERY: u64 = 1_000;
/// Name matches fetched for ranking before the best `limit` are returned.
const SEARCH_CANDIDATES: usize = 500;
/// Page cache used during an import (negative = KiB).
const IMPORT_CACHE_KIB: i64 = 64 * 1024;

const PRODUCT_COLUMNS: &str = "p.sku, p.name, p.name_en, p.category, p.tax_class, t.rate, p.unit, \
     p.price_minor, (SELECT group_concat(b.barcode, '|' ORDER BY b.pos) FROM barcode b WHERE b.sku = p.sku)";

// ---------------------------------------------------------------------------------------------
// Public import types
// ---------------------------------------------------------------------------------------------

/// File format of a catalog import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Header `sku,name,name_en,category,tax_class,unit,price,barcodes`; barcodes split by `|`.
    Csv,
    /// One JSON object per line with the same fields; `barcodes` is an array of strings.
    JsonLines,
}

impl Format {
    /// The format for a file name's extension: `.csv`, `.jsonl` or `.ndjson` (any case).
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
        }
    }
}

impl FromStr for Format {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "jsonl" | "ndjson" | "jsonlines" | "json-lines" => Ok(Format::JsonLines),
            other => Err(StoreError::Invalid(format!(
                "unknown catalog format {other:?}: use csv or jsonl"
            ))),
        }
    }
}

/// What to do with a file that has bad rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportMode {
    /// Import every good row, report the bad ones. Commits in batches.
    #[default]
    KeepGood,
    /// Import nothing if any row is bad (one transaction, rolled back); report every bad row.
    AllOrNothing,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    pub mode: ImportMode,
    /// `None`: from the file extension.
    pub format: Option<Format>,
}

/// Reported to the progress callback every 1,000 rows and once at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportProgress {
    /// Data rows read so far (header and blank lines excluded).
    pub rows: u64,
    /// Rows accepted so far (in AllOrNothing they are committed only if no row is bad).
    pub accepted: u64,
    pub rejected: u64,
    pub bytes_read: u64,
    /// Size of the file (0 if unknown).
    pub total_bytes: u64,
}

/// Why a row was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowErrorKind {
    /// A required field (sku, name, tax_class, price) is absent or empty, or a CSV row is short.
    MissingField,
    /// A CSV row has more fields than the header.
    TooManyFields,
    /// A field is too long, has control characters or has the wrong JSON type.
    BadField,
    BadPrice,
    UnknownTaxClass,
    UnknownUnit,
    BadBarcode,
    /// The barcode belongs to another SKU (in the catalog, or earlier in the same file).
    DuplicateBarcode,
    /// The SKU was already imported from an earlier line of the same file.
    DuplicateSku,
    MalformedJson,
    NotUtf8,
}

/// A rejected row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line of the file where the row starts.
    pub line: u64,
    pub sku: Option<String>,
    pub kind: RowErrorKind,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sku {
            Some(sku) => write!(f, "line {} (SKU {sku}): {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// The outcome of an import. `committed` says whether anything was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub format: Format,
    pub mode: ImportMode,
    /// Data rows read (header and blank lines excluded).
    pub rows: u64,
    /// Rows that passed every check.
    pub accepted: u64,
    /// Rows rejected; `errors` lists the first [`MAX_REPORTED_ERRORS`] of them.
    pub rejected: u64,
    /// Rows written to the catalog: `inserted + updated + unchanged`; 0 if not committed.
    pub imported: u64,
    /// New SKUs.
    pub inserted: u64,
    /// Existing SKUs whose data changed.
    pub updated: u64,
    /// Existing SKUs whose row was identical.
    pub unchanged: u64,
    /// False only for an AllOrNothing import refused because of bad rows (nothing changed).
    pub committed: bool,
    pub errors: Vec<RowError>,
}

impl ImportReport {
    fn new(format: Format, mode: ImportMode) -> Self {
        ImportReport {
            format,
            mode,
            rows: 0,
            accepted: 0,
            rejected: 0,
            imported: 0,
            inserted: 0,
            updated: 0,
            unchanged: 0,
            committed: false,
            errors: Vec::new(),
        }
    }

    /// Every row was imported.
    pub fn is_clean(&self) -> bool {
        self.committed && self.rejected == 0
    }

    /// Rejected rows not listed in `errors` because of the cap.
    pub fn unlisted_errors(&self) -> u64 {
        self.rejected.saturating_sub(self.errors.len() as u64)
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.committed {
            write!(
                f,
                "imported {} of {} rows ({} new, {} updated, {} unchanged), rejected {}",
                self.imported,
                self.rows,
                self.inserted,
                self.updated,
                self.unchanged,
                self.rejected
            )
        } else {
            write!(
                f,
                "import refused, nothing changed: {} of {} rows are bad ({} were good)",
                self.rejected, self.rows, self.accepted
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Store methods
// ---------------------------------------------------------------------------------------------

impl Store {
    /// Insert or update a tax class. The rate is a fraction in `[0, 1)`: 0.13 for 13 %.
    pub fn upsert_tax_class(&self, class: &TaxClass) -> Result<()> {
        let code = class.code.trim();
        if code.is_empty() || code.chars().count() > MAX_CODE_CHARS || has_control(code) {
            return Err(StoreError::Invalid(format!(
                "tax class code {:?} must be 1 to {MAX_CODE_CHARS} printable characters",
                class.code
            )));
        }
        if class.rate < Decimal::ZERO || class.rate >= Decimal::ONE {
            return Err(StoreError::Invalid(format!(
                "tax class {code}: rate {} must be a fraction from 0 to below 1 (0.13 for 13 %)",
                class.rate
            )));
        }
        self.conn
            .prepare_cached(
                "INSERT INTO tax_class (code, rate, name) VALUES (?1, ?2, ?3)
                 ON CONFLICT (code) DO UPDATE SET rate = excluded.rate, name = excluded.name",
            )?
            .execute(params![
                code,
                class.rate.normalize().to_string(),
                class.name.trim()
            ])?;
        Ok(())
    }

    /// All tax classes, by code.
    pub fn tax_classes(&self) -> Result<Vec<TaxClass>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT code, rate, name FROM tax_class ORDER BY code")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (code, rate, name) = row?;
            out.push(TaxClass {
                rate: parse_stored_rate(&code, &rate)?,
                code,
                name,
            });
        }
        Ok(out)
    }

    /// Insert or update a product by SKU, replacing its barcodes, and activate it.
    ///
    /// `product.tax_rate` is ignored: the rate always comes from the tax class, which must exist.
    /// A barcode that belongs to another SKU is refused ([`StoreError::Invalid`]).
    pub fn upsert_product(&self, product: &Product) -> Result<()> {
        let tax_classes = self.tax_class_codes()?;
        let row = RawRow {
            line: 0,
            sku: Some(product.sku.clone()),
            name: Some(product.name.clone()),
            name_en: Some(product.name_en.clone()),
            category: Some(product.category.clone()),
            tax_class: Some(product.tax_class.clone()),
            unit: Some(product.unit.as_str().to_string()),
            price: Some(product.price.to_string()),
            barcodes: product.barcodes.clone(),
        };
        let new = validate(row, &tax_classes).map_err(|e| StoreError::Invalid(e.message))?;
        write_tx(&self.conn, |conn| {
            for code in &new.barcodes {
                if let Some(owner) = barcode_owner(conn, code)?
                    && owner != new.sku
                {
                    return Err(StoreError::Invalid(format!(
                        "barcode {code} already belongs to SKU {owner}"
                    )));
                }
            }
            write_product(conn, &new)?;
            Ok(())
        })
    }

    /// The active product with this SKU.
    pub fn product_by_sku(&self, sku: &str) -> Result<Option<Product>> {
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM product p JOIN tax_class t ON t.code = p.tax_class
             WHERE p.sku = ?1 AND p.active = 1"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let found = stmt.query_row([sku.trim()], raw_product).optional()?;
        found.map(RawProduct::into_product).transpose()
    }

    /// The active product that has this barcode (surrounding whitespace is ignored).
    pub fn product_by_barcode(&self, barcode: &str) -> Result<Option<Product>> {
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM barcode x
             JOIN product p ON p.sku = x.sku JOIN tax_class t ON t.code = p.tax_class
             WHERE x.barcode = ?1 AND p.active = 1"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let found = stmt.query_row([barcode.trim()], raw_product).optional()?;
        found.map(RawProduct::into_product).transpose()
    }

    /// Number of active products.
    pub fn product_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM product WHERE active = 1")?
            .query_row([], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Stop selling a product: lookups and search no longer return it. Its row and barcodes
    /// stay (an upsert or re-import activates it again). Returns false if the SKU is unknown.
    pub fn deactivate_product(&self, sku: &str) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached("UPDATE product SET active = 0 WHERE sku = ?1")?
            .execute([sku.trim()])?;
        Ok(n > 0)
    }

    /// Search active products by SKU, barcode, Chinese or English name.
    ///
    /// Order: exact SKU or barcode, then SKU and barcode prefixes, then name matches. Name
    /// matching is by substring, case-insensitive, every whitespace-separated term must match
    /// (in `name` or `name_en`); 1- and 2-character terms match 2-character grams of the
    /// Chinese name and the start of English words. Name matches are ranked exact name, then
    /// names starting with the query, then names containing it, then shorter names first,
    /// among the first 500 matches in catalog order.
    pub fn search_products(&self, query: &str, limit: usize) -> Result<Vec<Product>> {
        let q = query.trim();
        if q.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut found = Found::new(limit);
        let code_like = !q.chars().any(char::is_whitespace) && q.chars().count() <= MAX_CODE_CHARS;
        if code_like {
            let upper = q.to_ascii_uppercase();
            found.add(self.product_by_sku(q)?);
            if upper != q {
                found.add(self.product_by_sku(&upper)?);
            }
            found.add(self.product_by_barcode(q)?);
            if !found.full() {
                found.extend(self.products_with_sku_prefix(q, limit)?);
            }
            if upper != q && !found.full() {
                found.extend(self.products_with_sku_prefix(&upper, limit)?);
            }
            if !found.full() {
                found.extend(self.products_with_barcode_prefix(q, limit)?);
            }
        }
        if !found.full() {
            found.extend(self.products_by_name(q, limit)?);
        }
        Ok(found.out)
    }

    /// Import a catalog file (CSV or JSON Lines, see [`Format`]), streaming it.
    ///
    /// Rows are applied in file order, as if upserted one by one: a new SKU is inserted, an
    /// existing one updated (name, price, barcodes, ...) and activated. A row is rejected, with
    /// its line number, if a required field is missing, the price is not a plain non-negative
    /// number with at most 2 decimals ("12,5" is refused), the tax class or unit is unknown, a
    /// barcode is malformed or belongs to another SKU (in the catalog or earlier in this file;
    /// to move a barcode, the row that removes it from its old SKU must come first), the SKU
    /// already appeared on an earlier line, the line is not valid JSON or not UTF-8.
    ///
    /// Errors (`Err`) are reserved for problems with the file as a whole (unreadable, unknown
    /// format, CSV header without a required column) and for database or I/O failures; then
    /// nothing is changed, except in KeepGood mode after some batches were committed, which the
    /// error message says (with the number of rows committed).
    pub fn import_catalog(
        &mut self,
        path: &Path,
        opts: &ImportOptions,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<ImportReport> {
        let format = match opts.format.or_else(|| Format::from_path(path)) {
            Some(f) => f,
            None => {
                return Err(StoreError::Invalid(format!(
                    "cannot tell the format of {}: name it .csv, .jsonl or .ndjson, or choose a format",
                    path.display()
                )));
            }
        };
        let io_err = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io_err)?;
        let total_bytes = file.metadata().map_err(io_err)?.len();
        tracing::info!(path = %path.display(), format = format.as_str(), mode = ?opts.mode, total_bytes, "importing catalog");
        let opts = ImportOptions {
            format: Some(format),
            ..opts.clone()
        };
        self.import_catalog_from_reader(file, total_bytes, &opts, progress)
            .map_err(|e| match e {
                StoreError::Io { source, .. } => io_err(source),
                other => other,
            })
    }

    /// Like [`Store::import_catalog`], from any reader; `opts.format` is required.
    /// `total_bytes` is only used for progress (0 if unknown).
    pub fn import_catalog_from_reader<R: Read>(
        &mut self,
        reader: R,
        total_bytes: u64,
        opts: &ImportOptions,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<ImportReport> {
        let Some(format) = opts.format else {
            return Err(StoreError::Invalid(
                "the catalog format (csv or jsonl) must be given when importing from a reader"
                    .into(),
            ));
        };
        let reader = BufReader::with_capacity(256 * 1024, reader);
        let mut source: Box<dyn RowSource + '_> = match format {
            Format::Csv => Box::new(CsvSource::new(reader)?),
            Format::JsonLines => Box::new(JsonlSource::new(reader)),
        };
        let conn = &self.conn;
        let old_cache: i64 = conn.pragma_query_value(None, "cache_size", |r| r.get(0))?;
        conn.pragma_update(None, "cache_size", -IMPORT_CACHE_KIB)?;
        conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS import_sku (
                 sku TEXT PRIMARY KEY NOT NULL, line INTEGER NOT NULL) WITHOUT ROWID;
             DELETE FROM temp.import_sku;",
        )?;
        let result = run_import(
            conn,
            source.as_mut(),
            format,
            opts.mode,
            total_bytes,
            progress,
        );
        // Best effort cleanup: the import's outcome is already decided.
        let _ = conn.execute_batch("DROP TABLE IF EXISTS temp.import_sku");
        let _ = conn.pragma_update(None, "cache_size", old_cache);
        if let Ok(report) = &result
            && report.committed
        {
            let _ = conn.execute_batch("PRAGMA optimize");
            if report.inserted + report.updated > 10_000 {
                // Give the (large) WAL back to the file system.
                let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            }
        }
        match &result {
            Ok(report) => tracing::info!(%report, "catalog import finished"),
            Err(e) => tracing::warn!(error = %e, "catalog import failed"),
        }
        result
    }

    fn tax_class_codes(&self) -> Result<HashSet<String>> {
        let mut stmt = self.conn.prepare_cached("SELECT code FROM tax_class")?;
        let codes = stmt.query_map([], |r| r.get::<_, String>(0))?;
        codes.collect::<Result<_, _>>().map_err(StoreError::from)
    }

    fn products_with_sku_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<Product>> {
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM product p JOIN tax_class t ON t.code = p.tax_class
             WHERE p.sku >= ?1 AND p.sku < ?2 AND p.active = 1 ORDER BY p.sku LIMIT ?3"
        );
        self.query_products(&sql, params![prefix, prefix_end(prefix), limit as i64])
    }

    fn products_with_barcode_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<Product>> {
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM barcode x
             JOIN product p ON p.sku = x.sku JOIN tax_class t ON t.code = p.tax_class
             WHERE x.barcode >= ?1 AND x.barcode < ?2 AND p.active = 1
             ORDER BY x.barcode LIMIT ?3"
        );
        self.query_products(&sql, params![prefix, prefix_end(prefix), limit as i64])
    }

    fn products_by_name(&self, query: &str, limit: usize) -> Result<Vec<Product>> {
        let Some(plan) = NameQuery::parse(query) else {
            return Ok(Vec::new());
        };
        let mut args: Vec<String> = Vec::new();
        let mut filters = String::new();
        let driver = if plan.trigram.is_empty() {
            args.push(plan.gram_match());
            "SELECT rowid AS id FROM product_gram WHERE product_gram MATCH ?1"
        } else {
            args.push(plan.trigram_match());
            for term in &plan.short {
                args.push(term.clone());
                let i = args.len();
                filters.push_str(&format!(
                    " AND (instr(lower(p.name), ?{i}) > 0 OR instr(lower(p.name_en), ?{i}) > 0)"
                ));
            }
            "SELECT rowid AS id FROM product_fts WHERE product_fts MATCH ?1"
        };
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM ({driver}) m
             JOIN product p ON p.id = m.id JOIN tax_class t ON t.code = p.tax_class
             WHERE p.active = 1{filters} LIMIT {SEARCH_CANDIDATES}"
        );
        let mut products = self.query_products(&sql, rusqlite::params_from_iter(args.iter()))?;
        let whole = plan.whole.as_str();
        products.sort_by_cached_key(|p| {
            let name = p.name.to_lowercase();
            let name_en = p.name_en.to_lowercase();
            let tier = if name == whole || name_en == whole {
                0
            } else if name.starts_with(whole) || name_en.starts_with(whole) {
                1
            } else if name.contains(whole) || name_en.contains(whole) {
                2
            } else {
                3
            };
            (tier, p.name.chars().count(), p.sku.clone())
        });
        products.truncate(limit);
        Ok(products)
    }

    fn query_products(&self, sql: &str, args: impl rusqlite::Params) -> Result<Vec<Product>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(args, raw_product)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row?.into_product()?);
        }
        Ok(out)
    }
}

/// Search results without duplicates, up to a limit.
struct Found {
    limit: usize,
    out: Vec<Product>,
    seen: HashSet<String>,
}

impl Found {
    fn new(limit: usize) -> Self {
        Found {
            limit,
            out: Vec::new(),
            seen: HashSet::new(),
        }
    }

    fn full(&self) -> bool {
        self.out.len() >= self.limit
    }

    fn add(&mut self, product: Option<Product>) {
        if let Some(p) = product
            && !self.full()
            && self.seen.insert(p.sku.clone())
        {
            self.out.push(p);
        }
    }

    fn extend(&mut self, products: Vec<Product>) {
        for p in products {
            self.add(Some(p));
        }
    }
}

/// Smallest string greater than every string that starts with `prefix` (BINARY collation).
fn prefix_end(prefix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + 4);
    s.push_str(prefix);
    s.push(char::MAX);
    s
}

// ---------------------------------------------------------------------------------------------
// Search helpers
// ---------------------------------------------------------------------------------------------

/// A name query split into FTS terms.
struct NameQuery {
    /// The whole query, lowercased, whitespace collapsed: used for ranking.
    whole: String,
    /// Terms of 3+ characters, for the trigram index.
    trigram: Vec<String>,
    /// Alphanumeric runs of 1-2 characters, for the gram index (or as substring filters).
    short: Vec<String>,
}

impl NameQuery {
    fn parse(query: &str) -> Option<NameQuery> {
        let whole = query
            .split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" ");
        let mut trigram = Vec::new();
        let mut short = Vec::new();
        for term in whole.split(' ') {
            if term.chars().count() >= 3 {
                trigram.push(term.to_string());
            } else {
                for run in term.split(|c: char| !c.is_alphanumeric()) {
                    if !run.is_empty() {
                        short.push(run.to_string());
                    }
                }
            }
        }
        if trigram.is_empty() && short.is_empty() {
            None
        } else {
            Some(NameQuery {
                whole,
                trigram,
                short,
            })
        }
    }

    fn trigram_match(&self) -> String {
        self.trigram
            .iter()
            .map(|t| fts_phrase(t))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    fn gram_match(&self) -> String {
        self.short
            .iter()
            .map(|t| {
                if t.chars().count() == 1 {
                    format!("{}*", fts_phrase(t))
                } else {
                    fts_phrase(t)
                }
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}

fn fts_phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// The short-query tokens of a product: for each alphanumeric run of the name, its
/// 2-character grams and its last character; for each word of the English name, its first
/// two characters. Lowercased, space-separated (indexed with the unicode61 tokenizer).
pub(crate) fn gram_text(name: &str, name_en: &str) -> String {
    let mut out = String::new();
    let mut push = |a: char, b: Option<char>| {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(a.to_lowercase());
        if let Some(b) = b {
            out.extend(b.to_lowercase());
        }
    };
    for run in name.split(|c: char| !c.is_alphanumeric()) {
        let chars: Vec<char> = run.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            push(c, chars.get(i + 1).copied());
        }
    }
    for word in name_en.split(|c: char| !c.is_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(a) = chars.next() {
            push(a, chars.next());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Reading products
// ---------------------------------------------------------------------------------------------

struct RawProduct {
    sku: String,
    name: String,
    name_en: String,
    category: String,
    tax_class: String,
    rate: String,
    unit: String,
    price_minor: i64,
    barcodes: Option<String>,
}

fn raw_product(r: &Row<'_>) -> rusqlite::Result<RawProduct> {
    Ok(RawProduct {
        sku: r.get(0)?,
        name: r.get(1)?,
        name_en: r.get(2)?,
        category: r.get(3)?,
        tax_class: r.get(4)?,
        rate: r.get(5)?,
        unit: r.get(6)?,
        price_minor: r.get(7)?,
        barcodes: r.get(8)?,
    })
}

impl RawProduct {
    fn into_product(self) -> Result<Product> {
        let tax_rate = parse_stored_rate(&self.tax_class, &self.rate)?;
        let unit = Unit::parse(&self.unit).ok_or_else(|| {
            StoreError::Invalid(format!(
                "product {}: stored unit {:?} is not piece or kg",
                self.sku, self.unit
            ))
        })?;
        let barcodes = match self.barcodes {
            Some(list) if !list.is_empty() => list.split('|').map(str::to_string).collect(),
            _ => Vec::new(),
        };
        Ok(Product {
            sku: self.sku,
            name: self.name,
            name_en: self.name_en,
            barcodes,
            category: self.category,
            tax_class: self.tax_class,
            tax_rate,
            unit,
            price: Decimal::new(self.price_minor, PRICE_DECIMALS),
        })
    }
}

fn parse_stored_rate(code: &str, rate: &str) -> Result<Decimal> {
    Decimal::from_str(rate).map_err(|_| {
        StoreError::Invalid(format!(
            "tax class {code}: stored rate {rate:?} is not a decimal"
        ))
    })
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

// ---------------------------------------------------------------------------------------------
// Writing products
// ---------------------------------------------------------------------------------------------

/// A validated product row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NewProduct {
    sku: String,
    name: String,
    name_en: String,
    category: String,
    tax_class: String,
    unit: Unit,
    price_minor: i64,
    barcodes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Inserted,
    Updated,
    Unchanged,
}

fn barcode_owner(conn: &Connection, barcode: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT sku FROM barcode WHERE barcode = ?1")?
        .query_row([barcode], |r| r.get(0))
        .optional()
}

/// Insert or update one validated product and its search entries and barcodes. Barcode
/// conflicts must have been checked by the caller.
fn write_product(conn: &Connection, p: &NewProduct) -> Result<Outcome> {
    let existing = conn
        .prepare_cached(
            "SELECT id, name, name_en, category, tax_class, unit, price_minor, active
             FROM product WHERE sku = ?1",
        )?
        .query_row([&p.sku], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, i64>(7)?,
            ))
        })
        .optional()?;
    let unit = p.unit.as_str();
    let outcome = match existing {
        None => {
            conn.prepare_cached(
                "INSERT INTO product (sku, name, name_en, category, tax_class, unit, price_minor, active)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)",
            )?
            .execute(params![
                p.sku,
                p.name,
                p.name_en,
                p.category,
                p.tax_class,
                unit,
                p.price_minor
            ])?;
            let id = conn.last_insert_rowid();
            index_names(conn, id, &p.name, &p.name_en)?;
            for (pos, code) in p.barcodes.iter().enumerate() {
                insert_barcode(conn, code, &p.sku, pos)?;
            }
            return Ok(Outcome::Inserted);
        }
        Some((id, name, name_en, category, tax_class, old_unit, price_minor, active)) => {
            let same_row = name == p.name
                && name_en == p.name_en
                && category == p.category
                && tax_class == p.tax_class
                && old_unit == unit
                && price_minor == p.price_minor
                && active == 1;
            if !same_row {
                conn.prepare_cached(
                    "UPDATE product SET name = ?2, name_en = ?3, category = ?4, tax_class = ?5,
                     unit = ?6, price_minor = ?7, active = 1 WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    p.name,
                    p.name_en,
                    p.category,
                    p.tax_class,
                    unit,
                    p.price_minor
                ])?;
                if name != p.name || name_en != p.name_en {
                    conn.prepare_cached("DELETE FROM product_fts WHERE rowid = ?1")?
                        .execute([id])?;
                    conn.prepare_cached("DELETE FROM product_gram WHERE rowid = ?1")?
                        .execute([id])?;
                    index_names(conn, id, &p.name, &p.name_en)?;
                }
            }
            if same_row {
                Outcome::Unchanged
            } else {
                Outcome::Updated
            }
        }
    };
    let old_barcodes: Vec<String> = conn
        .prepare_cached("SELECT barcode FROM barcode WHERE sku = ?1 ORDER BY pos")?
        .query_map([&p.sku], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if old_barcodes == p.barcodes {
        return Ok(outcome);
    }
    conn.prepare_cached("DELETE FROM barcode WHERE sku = ?1")?
        .execute([&p.sku])?;
    for (pos, code) in p.barcodes.iter().enumerate() {
        insert_barcode(conn, code, &p.sku, pos)?;
    }
    Ok(Outcome::Updated)
}

fn index_names(conn: &Connection, id: i64, name: &str, name_en: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO product_fts (rowid, name, name_en) VALUES (?1, ?2, ?3)")?
        .execute(params![id, name, name_en])?;
    conn.prepare_cached("INSERT INTO product_gram (rowid, grams) VALUES (?1, ?2)")?
        .execute(params![id, gram_text(name, name_en)])?;
    Ok(())
}

fn insert_barcode(conn: &Connection, code: &str, sku: &str, pos: usize) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO barcode (barcode, sku, pos) VALUES (?1, ?2, ?3)")?
        .execute(params![code, sku, pos as i64])?;
    Ok(())
}

/// A write transaction: `BEGIN IMMEDIATE` (or a savepoint inside a caller's transaction),
/// rolled back on drop unless committed.
pub(crate) struct WriteTx<'c> {
    conn: &'c Connection,
    nested: bool,
    open: bool,
}

impl<'c> WriteTx<'c> {
    pub(crate) fn begin(conn: &'c Connection) -> Result<Self> {
        let nested = !conn.is_autocommit();
        conn.execute_batch(if nested {
            "SAVEPOINT tillstone_catalog"
        } else {
            "BEGIN IMMEDIATE"
        })?;
        Ok(WriteTx {
            conn,
            nested,
            open: true,
        })
    }

    pub(crate) fn commit(mut self) -> Result<()> {
        self.conn.execute_batch(if self.nested {
            "RELEASE tillstone_catalog"
        } else {
            "COMMIT"
        })?;
        self.open = false;
        Ok(())
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        if self.open {
            let sql = if self.nested {
                "ROLLBACK TO tillstone_catalog; RELEASE tillstone_catalog"
            } else {
                "ROLLBACK"
            };
            if let Err(e) = self.conn.execute_batch(sql) {
                tracing::error!(error = %e, "catalog: rollback failed");
            }
        }
    }
}

fn write_tx<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let tx = WriteTx::begin(conn)?;
    let value = f(conn)?;
    tx.commit()?;
    Ok(value)
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// A row as read from the file, before validation. `None` = field absent.
#[derive(Debug, Default)]
struct RawRow {
    line: u64,
    sku: Option<String>,
    name: Option<String>,
    name_en: Option<String>,
    category: Option<String>,
    tax_class: Option<String>,
    unit: Option<String>,
    price: Option<String>,
    barcodes: Vec<String>,
}

fn validate(
    row: RawRow,
    tax_classes: &HashSet<String>,
) -> std::result::Result<NewProduct, RowError> {
    let line = row.line;
    let sku_for_report = row
        .sku
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(MAX_CODE_CHARS).collect::<String>());
    let fail = |kind, message: String| RowError {
        line,
        sku: sku_for_report.clone(),
        kind,
        message,
    };
    let required = |value: Option<String>, field: &str| {
        let v = value.map(|v| v.trim().to_string()).unwrap_or_default();
        if v.is_empty() {
            Err(fail(
                RowErrorKind::MissingField,
                format!("missing field {field}"),
            ))
        } else {
            Ok(v)
        }
    };
    let text = |value: String, field: &str, max: usize| {
        if value.chars().count() > max {
            Err(fail(
                RowErrorKind::BadField,
                format!("{field} is longer than {max} characters"),
            ))
        } else if has_control(&value) {
            Err(fail(
                RowErrorKind::BadField,
                format!("{field} contains control characters (tab, newline, ...)"),
            ))
        } else {
            Ok(value)
        }
    };
    let sku = text(required(row.sku, "sku")?, "sku", MAX_CODE_CHARS)?;
    let name = text(required(row.name, "name")?, "name", MAX_NAME_CHARS)?;
    let name_en = text(
        row.name_en.unwrap_or_default().trim().to_string(),
        "name_en",
        MAX_NAME_CHARS,
    )?;
    let category = text(
        row.category.unwrap_or_default().trim().to_string(),
        "category",
        MAX_NAME_CHARS,
    )?;
    let tax_class = required(row.tax_class, "tax_class")?;
    if !tax_classes.contains(&tax_class) {
        let mut known: Vec<&str> = tax_classes.iter().map(String::as_str).collect();
        known.sort_unstable();
        return Err(fail(
            RowErrorKind::UnknownTaxClass,
            format!(
                "unknown tax class {tax_class:?} (known: {})",
                if known.is_empty() {
                    "none; create the tax classes first".to_string()
                } else {
                    known.join(", ")
                }
            ),
        ));
    }
    let unit_text = row.unit.unwrap_or_default();
    let unit = if unit_text.trim().is_empty() {
        Unit::Piece
    } else {
        Unit::parse(&unit_text).ok_or_else(|| {
            fail(
                RowErrorKind::UnknownUnit,
                format!("unknown unit {:?} (use piece or kg)", unit_text.trim()),
            )
        })?
    };
    let price = required(row.price, "price")?;
    let price_minor = parse_price(&price).map_err(|m| fail(RowErrorKind::BadPrice, m))?;
    let mut barcodes: Vec<String> = Vec::with_capacity(row.barcodes.len());
    for code in row.barcodes {
        let code = code.trim();
        if code.is_empty() {
            continue;
        }
        check_barcode(code).map_err(|m| fail(RowErrorKind::BadBarcode, m))?;
        if !barcodes.iter().any(|b| b == code) {
            barcodes.push(code.to_string());
        }
    }
    Ok(NewProduct {
        sku,
        name,
        name_en,
        category,
        tax_class,
        unit,
        price_minor,
        barcodes,
    })
}

// ---------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------

/// What a source yields for each data row.
enum Parsed {
    Row(RawRow),
    Bad(RowError),
}

trait RowSource {
    /// The next data row, or `None` at the end. `Err` only for I/O errors.
    fn next_row(&mut self) -> Result<Option<Parsed>>;
    fn bytes_read(&self) -> u64;
}

const CSV_COLUMNS: [&str; 8] = [
    "sku",
    "name",
    "name_en",
    "category",
    "tax_class",
    "unit",
    "price",
    "barcodes",
];
const CSV_REQUIRED: [&str; 4] = ["sku", "name", "tax_class", "price"];

struct CsvSource<R: Read> {
    reader: csv::Reader<R>,
    /// Column index of each of CSV_COLUMNS.
    columns: [Option<usize>; 8],
    header_len: usize,
    record: csv::ByteRecord,
}

fn csv_error(e: csv::Error) -> StoreError {
    match e.into_kind() {
        csv::ErrorKind::Io(source) => StoreError::Io {
            path: Default::default(),
            source,
        },
        other => StoreError::Invalid(format!("CSV error: {other:?}")),
    }
}

impl<R: Read> CsvSource<R> {
    fn new(reader: R) -> Result<Self> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(reader);
        let header = reader.byte_headers().map_err(csv_error)?.clone();
        let names: Vec<String> = header
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim().to_ascii_lowercase())
            .collect();
        let mut columns = [None; 8];
        for (slot, wanted) in columns.iter_mut().zip(CSV_COLUMNS) {
            *slot = names.iter().position(|n| n == wanted);
        }
        let missing: Vec<&str> = CSV_REQUIRED
            .iter()
            .copied()
            .filter(|c| !names.iter().any(|n| n == c))
            .collect();
        if !missing.is_empty() {
            return Err(StoreError::Invalid(format!(
                "the CSV header (line 1) lacks column(s) {}; expected {}",
                missing.join(", "),
                CSV_COLUMNS.join(",")
            )));
        }
        for n in &names {
            if !CSV_COLUMNS.contains(&n.as_str()) {
                tracing::warn!(column = %n, "catalog import: ignoring unknown CSV column");
            }
        }
        Ok(CsvSource {
            reader,
            columns,
            header_len: header.len(),
            record: csv::ByteRecord::new(),
        })
    }
}

impl<R: Read> RowSource for CsvSource<R> {
    fn next_row(&mut self) -> Result<Option<Parsed>> {
        loop {
            if !self
                .reader
                .read_byte_record(&mut self.record)
                .map_err(csv_error)?
            {
                return Ok(None);
            }
            let line = self.record.position().map_or(0, |p| p.line());
            let rec = &self.record;
            // A line with nothing on it (or only a stray delimiter-free blank) is skipped.
            if rec.len() == 1
                && rec
                    .get(0)
                    .is_some_and(|f| f.iter().all(u8::is_ascii_whitespace))
            {
                continue;
            }
            let field = |i: usize| -> std::result::Result<Option<String>, RowError> {
                let Some(col) = self.columns[i] else {
                    return Ok(None);
                };
                match rec.get(col) {
                    None => Ok(None),
                    Some(bytes) => match std::str::from_utf8(bytes) {
                        Ok(s) => Ok(Some(s.to_string())),
                        Err(e) => Err(RowError {
                            line,
                            sku: None,
                            kind: RowErrorKind::NotUtf8,
                            message: format!(
                                "column {} is not valid UTF-8 (byte {} of the field); save the file as UTF-8, not GBK",
                                CSV_COLUMNS[i],
                                e.valid_up_to() + 1
                            ),
                        }),
                    },
                }
            };
            let mut values: [Option<String>; 8] = Default::default();
            let mut bad = None;
            for (i, v) in values.iter_mut().enumerate() {
                match field(i) {
                    Ok(s) => *v = s,
                    Err(e) => {
                        bad = Some(e);
                        break;
                    }
                }
            }
            let sku = values[0]
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            if let Some(mut e) = bad {
                e.sku = sku;
                return Ok(Some(Parsed::Bad(e)));
            }
            if rec.len() > self.header_len {
                return Ok(Some(Parsed::Bad(RowError {
                    line,
                    sku,
                    kind: RowErrorKind::TooManyFields,
                    message: format!(
                        "the row has {} fields but the header has {} (an unquoted comma in a name?)",
                        rec.len(),
                        self.header_len
                    ),
                })));
            }
            if rec.len() < self.header_len {
                // Name the first column the row does not reach.
                let missing = self
                    .columns
                    .iter()
                    .zip(CSV_COLUMNS)
                    .filter_map(|(c, n)| c.filter(|&c| c >= rec.len()).map(|c| (c, n)))
                    .min()
                    .map_or("?", |(_, n)| n);
                return Ok(Some(Parsed::Bad(RowError {
                    line,
                    sku,
                    kind: RowErrorKind::MissingField,
                    message: format!(
                        "missing field {missing}: the row has {} of {} columns",
                        rec.len(),
                        self.header_len
                    ),
                })));
            }
            let [
                sku,
                name,
                name_en,
                category,
                tax_class,
                unit,
                price,
                barcodes,
            ] = values;
            let barcodes = barcodes
                .map(|b| b.split('|').map(str::to_string).collect())
                .unwrap_or_default();
            return Ok(Some(Parsed::Row(RawRow {
                line,
                sku,
                name,
                name_en,
                category,
                tax_class,
                unit,
                price,
                barcodes,
            })));
        }
    }

    fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }
}

struct JsonlSource<R: Read> {
    reader: BufReader<R>,
    buf: Vec<u8>,
    line: u64,
    bytes: u64,
}

impl<R: Read> JsonlSource<R> {
    fn new(reader: BufReader<R>) -> Self {
        JsonlSource {
            reader,
            buf: Vec::with_capacity(1024),
            line: 0,
            bytes: 0,
        }
    }
}

#[derive(Deserialize)]
struct JsonRow {
    sku: Option<serde_json::Value>,
    name: Option<serde_json::Value>,
    name_en: Option<serde_json::Value>,
    category: Option<serde_json::Value>,
    tax_class: Option<serde_json::Value>,
    unit: Option<serde_json::Value>,
    price: Option<serde_json::Value>,
    barcodes: Option<serde_json::Value>,
}

impl<R: Read> RowSource for JsonlSource<R> {
    fn next_row(&mut self) -> Result<Option<Parsed>> {
        loop {
            self.buf.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|source| StoreError::Io {
                    path: Default::default(),
                    source,
                })?;
            if n == 0 {
                return Ok(None);
            }
            self.bytes += n as u64;
            self.line += 1;
            let mut bytes = self.buf.as_slice();
            if self.line == 1 {
                bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            }
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some(parse_json_line(self.line, bytes)));
        }
    }

    fn bytes_read(&self) -> u64 {
        self.bytes
    }
}

fn parse_json_line(line: u64, bytes: &[u8]) -> Parsed {
    let bad = |sku: Option<String>, kind, message: String| {
        Parsed::Bad(RowError {
            line,
            sku,
            kind,
            message,
        })
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            return bad(
                None,
                RowErrorKind::NotUtf8,
                format!(
                    "the line is not valid UTF-8 (byte {}); save the file as UTF-8, not GBK",
                    e.valid_up_to() + 1
                ),
            );
        }
    };
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return bad(
                None,
                RowErrorKind::MalformedJson,
                format!("malformed JSON: {e}"),
            );
        }
    };
    if !value.is_object() {
        return bad(
            None,
            RowErrorKind::MalformedJson,
            "expected a JSON object with sku, name, tax_class, price, ...".into(),
        );
    }
    let row: JsonRow = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(e) => {
            return bad(
                None,
                RowErrorKind::MalformedJson,
                format!("malformed JSON: {e}"),
            );
        }
    };
    let sku = match &row.sku {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    };
    let mut type_error = None;
    let mut string = |v: Option<serde_json::Value>, field: &str| match v {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(_) => {
            type_error.get_or_insert_with(|| format!("field {field} must be a string"));
            None
        }
    };
    let price = match row.price {
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        other => string(other, "price"),
    };
    let fields = (
        string(row.sku, "sku"),
        string(row.name, "name"),
        string(row.name_en, "name_en"),
        string(row.category, "category"),
        string(row.tax_class, "tax_class"),
        string(row.unit, "unit"),
    );
    let barcodes = match row.barcodes {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    serde_json::Value::String(s) => out.push(s),
                    _ => {
                        type_error.get_or_insert_with(|| {
                            "barcodes must be an array of strings (quote them: \"6901234567892\")"
                                .into()
                        });
                    }
                }
            }
            out
        }
        Some(_) => {
            type_error.get_or_insert_with(|| {
                "barcodes must be an array of strings, e.g. [\"6901234567892\"]".into()
            });
            Vec::new()
        }
    };
    if let Some(message) = type_error {
        return bad(sku, RowErrorKind::BadField, message);
    }
    let (sku_field, name, name_en, category, tax_class, unit) = fields;
    Parsed::Row(RawRow {
        line,
        sku: sku_field,
        name,
        name_en,
        category,
        tax_class,
        unit,
        price,
        barcodes,
    })
}

fn run_import(
    conn: &Connection,
    source: &mut dyn RowSource,
    format: Format,
    mode: ImportMode,
    total_bytes: u64,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<ImportReport> {
    let tax_classes: HashSet<String> = {
        let mut stmt = conn.prepare_cached("SELECT code FROM tax_class")?;
        let codes = stmt.query_map([], |r| r.get::<_, String>(0))?;
        codes.collect::<rusqlite::Result<_>>()?
    };
    let mut report = ImportReport::new(format, mode);
    let mut committed_rows: u64 = 0;
    let mut tx = Some(WriteTx::begin(conn)?);
    let mut in_batch: u64 = 0;

    let fatal = |e: StoreError, committed_rows: u64, line_hint: u64| -> StoreError {
        if committed_rows == 0 {
            e
        } else {
            StoreError::Invalid(format!(
                "catalog import stopped near line {line_hint} after committing {committed_rows} rows: {e}"
            ))
        }
    };
    let mut last_line = 0;
    loop {
        let parsed = match source.next_row() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => return Err(fatal(e, committed_rows, last_line + 1)),
        };
        report.rows += 1;
        let result = match parsed {
            Parsed::Bad(e) => Err(e),
            Parsed::Row(raw) => {
                last_line = raw.line;
                match validate(raw, &tax_classes) {
                    Err(e) => Err(e),
                    Ok(new) => match import_row(conn, &new, last_line) {
                        Ok(r) => r,
                        Err(e) => return Err(fatal(e, committed_rows, last_line)),
                    },
                }
            }
        };
        match result {
            Ok(outcome) => {
                report.accepted += 1;
                match outcome {
                    Outcome::Inserted => report.inserted += 1,
                    Outcome::Updated => report.updated += 1,
                    Outcome::Unchanged => report.unchanged += 1,
                }
            }
            Err(e) => {
                last_line = e.line;
                tracing::debug!(error = %e, "catalog import: row rejected");
                report.rejected += 1;
                if report.errors.len() < MAX_REPORTED_ERRORS {
                    report.errors.push(e);
                }
            }
        }
        in_batch += 1;
        if mode == ImportMode::KeepGood && in_batch >= BATCH_ROWS {
            if let Some(t) = tx.take() {
                t.commit()
                    .map_err(|e| fatal(e, committed_rows, last_line))?;
            }
            committed_rows = report.accepted;
            tracing::debug!(rows = report.rows, "catalog import: batch committed");
            tx = Some(WriteTx::begin(conn).map_err(|e| fatal(e, committed_rows, last_line))?);
            in_batch = 0;
        }
        if report.rows.is_multiple_of(PROGRESS_EVERY) {
            progress(ImportProgress {
                rows: report.rows,
                accepted: report.accepted,
                rejected: report.rejected,
                bytes_read: source.bytes_read(),
                total_bytes,
            });
        }
    }

    let refuse = mode == ImportMode::AllOrNothing && report.rejected > 0;
    if let Some(t) = tx.take() {
        if refuse {
            drop(t); // rolls back
        } else {
            t.commit()
                .map_err(|e| fatal(e, committed_rows, last_line))?;
        }
    }
    report.committed = !refuse;
    if report.committed {
        report.imported = report.accepted;
    } else {
        (report.inserted, report.updated, report.unchanged) = (0, 0, 0);
    }
    progress(ImportProgress {
        rows: report.rows,
        accepted: report.accepted,
        rejected: report.rejected,
        bytes_read: source.bytes_read(),
        total_bytes,
    });
    Ok(report)
}

/// Check a validated row against the catalog and this import so far, then write it.
/// Outer `Err`: database failure. Inner `Err`: the row is rejected.
fn import_row(
    conn: &Connection,
    new: &NewProduct,
    line: u64,
) -> Result<std::result::Result<Outcome, RowError>> {
    let reject = |kind, message| {
        Ok(Err(RowError {
            line,
            sku: Some(new.sku.clone()),
            kind,
            message,
        }))
    };
    let earlier_line = |sku: &str| -> rusqlite::Result<Option<i64>> {
        conn.prepare_cached("SELECT line FROM temp.import_sku WHERE sku = ?1")?
            .query_row([sku], |r| r.get(0))
            .optional()
    };
    if let Some(first) = earlier_line(&new.sku)? {
        return reject(
            RowErrorKind::DuplicateSku,
            format!("SKU {} was already imported from line {first}", new.sku),
        );
    }
    for code in &new.barcodes {
        if let Some(owner) = barcode_owner(conn, code)?
            && owner != new.sku
        {
            let message = match earlier_line(&owner)? {
                Some(l) => format!("barcode {code} is already used by SKU {owner} on line {l}"),
                None => format!("barcode {code} already belongs to SKU {owner} in the catalog"),
            };
            return reject(RowErrorKind::DuplicateBarcode, message);
        }
    }
    let outcome = write_product(conn, new)?;
    conn.prepare_cached("INSERT INTO temp.import_sku (sku, line) VALUES (?1, ?2)")?
        .execute(params![new.sku, line as i64])?;
    Ok(Ok(outcome))
}

// ---------------------------------------------------------------------------------------------
// Down-sync (HQ rows), inside the caller's transaction
// ---------------------------------------------------------------------------------------------

/// Write a product HQ sent (see `sync/ROWS.md`): HQ is the only writer of the catalog, so its
/// tax class is created or its rate updated, and a barcode HQ moved to this SKU is taken from
/// its previous owner. `price` overrides the product's price (a `prices` row).
pub(crate) fn apply_hq_product(
    conn: &Connection,
    product: &Product,
    price: Option<&str>,
) -> Result<()> {
    let class = product.tax_class.trim();
    if class.is_empty() {
        return Err(StoreError::Invalid("the product has no tax class".into()));
    }
    if product.tax_rate.is_sign_negative() || product.tax_rate >= Decimal::ONE {
        return Err(StoreError::Invalid(format!(
            "tax rate {} of class {class} is not a fraction between 0 and 1",
            product.tax_rate
        )));
    }
    conn.prepare_cached(
        "INSERT INTO tax_class (code, rate) VALUES (?1, ?2)
         ON CONFLICT (code) DO UPDATE SET rate = excluded.rate WHERE rate <> excluded.rate",
    )?
    .execute(params![class, product.tax_rate.normalize().to_string()])?;
    let row = RawRow {
        line: 0,
        sku: Some(product.sku.clone()),
        name: Some(product.name.clone()),
        name_en: Some(product.name_en.clone()),
        category: Some(product.category.clone()),
        tax_class: Some(class.to_string()),
        unit: Some(product.unit.as_str().to_string()),
        price: Some(price.map_or_else(|| product.price.to_string(), str::to_string)),
        barcodes: product.barcodes.clone(),
    };
    let classes: HashSet<String> = [class.to_string()].into();
    let new = validate(row, &classes).map_err(|e| StoreError::Invalid(e.message))?;
    for code in &new.barcodes {
        if let Some(owner) = barcode_owner(conn, code)?
            && owner != new.sku
        {
            conn.prepare_cached("DELETE FROM barcode WHERE barcode = ?1")?
                .execute([code])?;
        }
    }
    write_product(conn, &new)?;
    Ok(())
}

/// Set the price of a product HQ changed (`prices` row). False when the SKU is unknown.
pub(crate) fn apply_hq_price(conn: &Connection, sku: &str, price: &str) -> Result<bool> {
    let minor = parse_price(price).map_err(StoreError::Invalid)?;
    let n = conn
        .prepare_cached("UPDATE product SET price_minor = ?2 WHERE sku = ?1")?
        .execute(params![sku, minor])?;
    Ok(n > 0)
}

/// Stop selling a product HQ deleted (its row and history stay).
pub(crate) fn deactivate_in(conn: &Connection, sku: &str) -> Result<()> {
    conn.prepare_cached("UPDATE product SET active = 0 WHERE sku = ?1")?
        .execute([sku])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grams() {
        assert_eq!(
            gram_text("红富士苹果", "Fuji Apple"),
            "红富 富士 士苹 苹果 果 fu ap"
        );
        assert_eq!(gram_text("可乐 330ml", ""), "可乐 乐 33 30 0m ml l");
        assert_eq!(gram_text("", "A-B c"), "a b c");
    }

    #[test]
    fn name_queries() {
        let q = NameQuery::parse("  可口可乐  小 \"x").expect("query");
        assert_eq!(q.whole, "可口可乐 小 \"x");
        assert_eq!(q.trigram, vec!["可口可乐"]);
        assert_eq!(q.short, vec!["小", "x"]);
        assert_eq!(q.gram_match(), "\"小\"* AND \"x\"*");
        assert!(NameQuery::parse(" - ").is_none());
        assert_eq!(fts_phrase("a\"b"), "\"a\"\"b\"");
    }
}
