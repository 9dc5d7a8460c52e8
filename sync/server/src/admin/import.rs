//! Imports of HQ's rows (see `sync/ROWS.md` for every row's JSON).
//!
//! Policy, the same for every import:
//!
//! * **Streamed**: the file is read row by row and written in batches of
//!   [`ImportOptions::batch_rows`] rows, one transaction per batch; nothing but the current
//!   batch and a 16-byte digest per key (to refuse a key given twice) is held in memory.
//! * **All or nothing by default**: a first pass reads and checks the whole file without writing;
//!   if any row is bad, every bad row is reported (line, key, reason) and nothing is written.
//!   With [`ImportOptions::skip_bad`] the good rows are written in a single pass and the bad ones
//!   reported. A file that cannot be read as a whole (a bad CSV header, broken JSON structure)
//!   is an error before anything is written, in both modes.
//! * **Idempotent**: a row equal to the stored one is not written and uses no revision, so
//!   importing the same file again changes nothing (`unchanged` counts those rows).
//! * A key given twice in one file is refused on its second line (which one should win?).

use super::jsonseq::{JsonSeq, element_error};
use super::{AdminError, Result};
use crate::storage::{Merge, PutCounts, Storage};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use tillstone_core::catalog::{Product, Unit};
use tillstone_sync::{Entity, TenantId};

/// At most this many rejected rows are listed in a report; all are counted.
pub const MAX_LISTED_ERRORS: usize = 1000;
/// Longest SKU, barcode, member, user and card id accepted, in characters.
pub use tillstone_core::catalog::MAX_CODE_CHARS;
use tillstone_core::catalog::check_barcode;
/// Longest name, English name and category, in characters.
pub const MAX_NAME_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// Write the good rows and report the bad ones (default: write nothing if any row is bad).
    pub skip_bad: bool,
    /// Rows per transaction.
    pub batch_rows: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            skip_bad: false,
            batch_rows: 5000,
        }
    }
}

/// A rejected row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// 1-based line of the file where the row starts.
    pub line: u64,
    /// The row's key when it could be read.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(k) => write!(f, "line {} ({k}): {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub entity: &'static str,
    pub file: PathBuf,
    /// Rows read (good and bad).
    pub rows: u64,
    #[serde(flatten)]
    pub counts: PutCounts,
    pub rejected: u64,
    /// The first [`MAX_LISTED_ERRORS`] rejected rows, in file order.
    pub errors: Vec<RowError>,
    /// Whether anything was written (false: the file had bad rows and `skip_bad` was off).
    pub applied: bool,
}

impl ImportReport {
    pub fn is_clean(&self) -> bool {
        self.rejected == 0
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.errors {
            writeln!(f, "{}: {e}", self.file.display())?;
        }
        if self.rejected > self.errors.len() as u64 {
            writeln!(
                f,
                "… and {} more rejected rows",
                self.rejected - self.errors.len() as u64
            )?;
        }
        write!(
            f,
            "{}: {} rows: {} new, {} changed, {} unchanged, {} rejected",
            self.entity,
            self.rows,
            self.counts.new,
            self.counts.changed,
            self.counts.unchanged,
            self.rejected
        )?;
        if !self.applied {
            write!(
                f,
                "\nnothing was written: fix the rows above and import again, or pass --skip-bad \
                 to import the good rows only"
            )?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------------------------

/// A row read from a file: its key and JSON, or why it is bad.
enum Item {
    Row {
        line: u64,
        key: String,
        value: Value,
    },
    Bad(RowError),
}

/// A source of rows, opened afresh for each pass.
trait Source {
    fn next_item(&mut self) -> Result<Option<Item>>;
}

/// Checks a batch against the database (e.g. prices need their SKU in the catalog): per row,
/// `Some(reason)` to reject it.
type BatchCheck<'a> = &'a dyn Fn(&[(u64, String, Value)]) -> Result<Vec<Option<String>>>;

/// Completes a batch's rows right before they are written, outside the write transaction
/// (slow work: PIN hashing).
type Prepare<'a> = &'a dyn Fn(&mut [(String, Value)]) -> Result<()>;

struct Job<'a> {
    storage: &'a dyn Storage,
    tenant: &'a TenantId,
    entity: Entity,
    path: &'a Path,
    open: &'a dyn Fn() -> Result<Box<dyn Source>>,
    merge: Option<Merge<'a>>,
    check: Option<BatchCheck<'a>>,
    prepare: Option<Prepare<'a>>,
}

#[derive(Default)]
struct Pass {
    rows: u64,
    rejected: u64,
    errors: Vec<RowError>,
    counts: PutCounts,
}

impl Pass {
    fn reject(&mut self, e: RowError) {
        self.rejected += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(e);
        }
    }
}

/// 128 bits of SHA-256 of a key: what is remembered per key to find keys given twice (as a
/// byte array, so an entry with its line is 20 bytes).
fn key_digest(key: &str) -> [u8; 16] {
    let d = Sha256::digest(key.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b
}

impl Job<'_> {
    fn run(&self, opts: ImportOptions) -> Result<ImportReport> {
        let batch_rows = opts.batch_rows.max(1);
        let pass = if opts.skip_bad {
            self.pass(true, batch_rows)?
        } else {
            let check = self.pass(false, batch_rows)?;
            if check.rejected > 0 {
                return Ok(self.report(check, false));
            }
            let done = self.pass(true, batch_rows)?;
            if done.rejected > 0 {
                return Err(AdminError::Invalid(format!(
                    "{}: the file changed during the import (line {} is now rejected); \
                     import it again",
                    self.path.display(),
                    done.errors.first().map_or(0, |e| e.line)
                )));
            }
            done
        };
        Ok(self.report(pass, true))
    }

    fn report(&self, p: Pass, applied: bool) -> ImportReport {
        ImportReport {
            entity: self.entity.as_str(),
            file: self.path.to_path_buf(),
            rows: p.rows,
            counts: p.counts,
            rejected: p.rejected,
            errors: p.errors,
            applied,
        }
    }

    fn pass(&self, write: bool, batch_rows: usize) -> Result<Pass> {
        let mut src = (self.open)()?;
        let mut p = Pass::default();
        let mut seen: HashMap<[u8; 16], u32> = HashMap::new();
        let mut batch: Vec<(u64, String, Value)> = Vec::new();
        while let Some(item) = src.next_item()? {
            p.rows += 1;
            match item {
                Item::Bad(e) => p.reject(e),
                Item::Row { line, key, value } => {
                    if let Some(first) = seen.get(&key_digest(&key)) {
                        p.reject(RowError {
                            line,
                            key: Some(key),
                            message: format!(
                                "this key is already on line {first} (each key once per file)"
                            ),
                        });
                        continue;
                    }
                    seen.insert(key_digest(&key), u32::try_from(line).unwrap_or(u32::MAX));
                    batch.push((line, key, value));
                    if batch.len() >= batch_rows {
                        self.flush(&mut batch, write, &mut p)?;
                    }
                }
            }
        }
        self.flush(&mut batch, write, &mut p)?;
        // Rows rejected by a batch check are found after later rows' own errors.
        p.errors.sort_by_key(|e| e.line);
        Ok(p)
    }

    fn flush(
        &self,
        batch: &mut Vec<(u64, String, Value)>,
        write: bool,
        p: &mut Pass,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut rows: Vec<(u64, String, Value)> = std::mem::take(batch);
        if let Some(check) = self.check {
            let verdicts = check(&rows)?;
            let mut kept = Vec::with_capacity(rows.len());
            for (row, verdict) in rows.into_iter().zip(verdicts) {
                match verdict {
                    Some(message) => p.reject(RowError {
                        line: row.0,
                        key: Some(row.1),
                        message,
                    }),
                    None => kept.push(row),
                }
            }
            rows = kept;
        }
        if write && !rows.is_empty() {
            let mut kv: Vec<(String, Value)> = rows.into_iter().map(|(_, k, v)| (k, v)).collect();
            if let Some(prepare) = self.prepare {
                prepare(&mut kv)?;
            }
            let counts = self
                .storage
                .put_changes(self.tenant, self.entity, &kv, self.merge)?;
            p.counts.add(counts);
        }
        Ok(())
    }
}

fn open_file(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| AdminError::io(path, e))
}

// ---------------------------------------------------------------------------------------------
// Field checks
// ---------------------------------------------------------------------------------------------

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A trimmed text field: required or not, at most `max` characters, no control characters.
fn text(value: Option<&str>, field: &str, max: usize, required: bool) -> Result<String, String> {
    let v = value.unwrap_or("").trim();
    if v.is_empty() && required {
        return Err(format!("missing field {field}"));
    }
    if v.chars().count() > max {
        return Err(format!("{field} is longer than {max} characters"));
    }
    if has_control(v) {
        return Err(format!(
            "{field} contains control characters (tab, newline, …)"
        ));
    }
    Ok(v.to_string())
}

/// A price: digits, optionally a dot and at most 2 decimals; returned with 2 decimals.
pub fn parse_price(raw: &str) -> Result<Decimal, String> {
    if raw.trim().is_empty() {
        return Err("missing field price".into());
    }
    tillstone_core::catalog::parse_price(raw).map(|minor| Decimal::new(minor, 2))
}

/// An id that may end up in a coupon code or a URL: 1 to `max` printable ASCII characters.
fn check_id(id: &str, field: &str, max: usize) -> Result<(), String> {
    if id.is_empty() {
        return Err(format!("missing field {field}"));
    }
    if id.len() > max || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "{field} {:?} must be 1 to {max} printable ASCII characters without spaces",
            id.chars().take(40).collect::<String>()
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// CSV sources
// ---------------------------------------------------------------------------------------------

/// A CSV file with a header naming its columns (any order, case-insensitive; unknown columns
/// are ignored). Yields per data row its line and the wanted columns' values.
struct CsvTable {
    reader: csv::Reader<BufReader<File>>,
    columns: Vec<Option<usize>>,
    names: &'static [&'static str],
    header_len: usize,
    record: csv::ByteRecord,
}

fn csv_fatal(path: &Path, e: csv::Error) -> AdminError {
    let line = e.position().map_or(0, |p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(source) => AdminError::io(path, source),
        other => AdminError::File {
            path: path.to_path_buf(),
            line,
            message: format!("not a readable CSV file: {other:?}"),
        },
    }
}

impl CsvTable {
    fn open(path: &Path, names: &'static [&'static str], required: &[&str]) -> Result<CsvTable> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(BufReader::new(open_file(path)?));
        let header = reader
            .byte_headers()
            .map_err(|e| csv_fatal(path, e))?
            .clone();
        let header_names: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let h = if i == 0 {
                    h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h)
                } else {
                    h
                };
                String::from_utf8_lossy(h).trim().to_ascii_lowercase()
            })
            .collect();
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|c| !header_names.iter().any(|n| n == c))
            .collect();
        if !missing.is_empty() {
            return Err(AdminError::File {
                path: path.to_path_buf(),
                line: 1,
                message: format!(
                    "the header lacks column(s) {}; expected {}",
                    missing.join(", "),
                    names.join(",")
                ),
            });
        }
        let columns = names
            .iter()
            .map(|want| header_names.iter().position(|n| n == want))
            .collect();
        Ok(CsvTable {
            reader,
            columns,
            names,
            header_len: header.len(),
            record: csv::ByteRecord::new(),
        })
    }

    /// The next data row: `(line, values by wanted column)` or a bad row. `key_col` names the
    /// column used as the key in error reports.
    #[allow(clippy::type_complexity)]
    fn next_row(
        &mut self,
        path: &Path,
        key_col: usize,
    ) -> Result<Option<std::result::Result<(u64, Vec<Option<String>>), RowError>>> {
        loop {
            if !self
                .reader
                .read_byte_record(&mut self.record)
                .map_err(|e| csv_fatal(path, e))?
            {
                return Ok(None);
            }
            let line = self.record.position().map_or(0, |p| p.line());
            let rec = &self.record;
            if rec.len() == 1
                && rec
                    .get(0)
                    .is_some_and(|f| f.iter().all(u8::is_ascii_whitespace))
            {
                continue;
            }
            let key = self.columns[key_col]
                .and_then(|c| rec.get(c))
                .map(|b| String::from_utf8_lossy(b).trim().to_string())
                .filter(|k| !k.is_empty());
            let bad = |message: String| {
                Ok(Some(Err(RowError {
                    line,
                    key: key.clone(),
                    message,
                })))
            };
            if rec.len() > self.header_len {
                return bad(format!(
                    "the row has {} fields but the header has {} (an unquoted comma in a name?)",
                    rec.len(),
                    self.header_len
                ));
            }
            if rec.len() < self.header_len {
                return bad(format!(
                    "the row has {} of the header's {} columns",
                    rec.len(),
                    self.header_len
                ));
            }
            let mut values = Vec::with_capacity(self.columns.len());
            for (i, col) in self.columns.iter().enumerate() {
                match col.and_then(|c| rec.get(c)) {
                    None => values.push(None),
                    Some(bytes) => match std::str::from_utf8(bytes) {
                        Ok(s) => values.push(Some(s.to_string())),
                        Err(_) => {
                            return bad(format!(
                                "column {} is not valid UTF-8: save the file as UTF-8, not GBK",
                                self.names[i]
                            ));
                        }
                    },
                }
            }
            return Ok(Some(Ok((line, values))));
        }
    }
}

/// Tax classes (`code,rate,name`; rate a fraction like 0.13) read from their CSV file.
pub fn read_tax_classes(path: &Path) -> Result<HashMap<String, Decimal>> {
    const NAMES: &[&str] = &["code", "rate", "name"];
    let mut t = CsvTable::open(path, NAMES, &["code", "rate"])?;
    let mut out = HashMap::new();
    while let Some(row) = t.next_row(path, 0)? {
        let fatal = |line: u64, message: String| AdminError::File {
            path: path.to_path_buf(),
            line,
            message,
        };
        let (line, v) = row.map_err(|e| fatal(e.line, e.message))?;
        let code =
            text(v[0].as_deref(), "code", MAX_CODE_CHARS, true).map_err(|m| fatal(line, m))?;
        let raw = v[1].as_deref().unwrap_or("").trim();
        let rate = Decimal::from_str(raw)
            .ok()
            .filter(|r| *r >= Decimal::ZERO && *r < Decimal::ONE)
            .ok_or_else(|| {
                fatal(
                    line,
                    format!("rate {raw:?} of tax class {code} is not a fraction from 0 to below 1 (13 % is 0.13)"),
                )
            })?;
        if out.insert(code.clone(), rate.normalize()).is_some() {
            return Err(fatal(line, format!("tax class {code} is listed twice")));
        }
    }
    if out.is_empty() {
        return Err(AdminError::File {
            path: path.to_path_buf(),
            line: 1,
            message: "no tax classes in the file".into(),
        });
    }
    Ok(out)
}

const CATALOG_COLUMNS: &[&str] = &[
    "sku",
    "name",
    "name_en",
    "category",
    "tax_class",
    "unit",
    "price",
    "barcodes",
];

struct CatalogSource {
    path: PathBuf,
    table: CsvTable,
    tax: std::sync::Arc<HashMap<String, Decimal>>,
}

impl CatalogSource {
    fn product(&self, v: &[Option<String>]) -> Result<Product, String> {
        let sku = text(v[0].as_deref(), "sku", MAX_CODE_CHARS, true)?;
        if sku.contains(char::is_whitespace) {
            return Err(format!("sku {sku:?} contains spaces"));
        }
        let name = text(v[1].as_deref(), "name", MAX_NAME_CHARS, true)?;
        let name_en = text(v[2].as_deref(), "name_en", MAX_NAME_CHARS, false)?;
        let category = text(v[3].as_deref(), "category", MAX_NAME_CHARS, false)?;
        let tax_class = text(v[4].as_deref(), "tax_class", MAX_CODE_CHARS, true)?;
        let tax_rate = *self.tax.get(&tax_class).ok_or_else(|| {
            let mut known: Vec<&str> = self.tax.keys().map(String::as_str).collect();
            known.sort_unstable();
            format!(
                "unknown tax class {tax_class:?} (known: {})",
                known.join(", ")
            )
        })?;
        let unit_text = v[5].as_deref().unwrap_or("").trim();
        let unit = if unit_text.is_empty() {
            Unit::Piece
        } else {
            Unit::parse(unit_text)
                .ok_or_else(|| format!("unknown unit {unit_text:?} (use piece or kg)"))?
        };
        let price = parse_price(v[6].as_deref().unwrap_or(""))?;
        let mut barcodes: Vec<String> = Vec::new();
        for code in v[7].as_deref().unwrap_or("").split('|') {
            let code = code.trim();
            if code.is_empty() {
                continue;
            }
            check_barcode(code)?;
            if !barcodes.iter().any(|b| b == code) {
                barcodes.push(code.to_string());
            }
        }
        Ok(Product {
            sku,
            name,
            name_en,
            barcodes,
            category,
            tax_class,
            tax_rate,
            unit,
            price,
        })
    }
}

impl Source for CatalogSource {
    fn next_item(&mut self) -> Result<Option<Item>> {
        let path = self.path.clone();
        let Some(row) = self.table.next_row(&path, 0)? else {
            return Ok(None);
        };
        Ok(Some(match row {
            Err(e) => Item::Bad(e),
            Ok((line, v)) => match self.product(&v) {
                Ok(p) => Item::Row {
                    line,
                    key: p.sku.clone(),
                    value: serde_json::to_value(&p)
                        .map_err(|e| AdminError::Invalid(e.to_string()))?,
                },
                Err(message) => Item::Bad(RowError {
                    line,
                    key: v[0]
                        .as_deref()
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                    message,
                }),
            },
        }))
    }
}

struct PriceSource {
    path: PathBuf,
    table: CsvTable,
}

impl Source for PriceSource {
    fn next_item(&mut self) -> Result<Option<Item>> {
        let path = self.path.clone();
        let Some(row) = self.table.next_row(&path, 0)? else {
            return Ok(None);
        };
        Ok(Some(match row {
            Err(e) => Item::Bad(e),
            Ok((line, v)) => {
                let parsed = text(v[0].as_deref(), "sku", MAX_CODE_CHARS, true)
                    .and_then(|sku| parse_price(v[1].as_deref().unwrap_or("")).map(|p| (sku, p)));
                match parsed {
                    Ok((sku, price)) => Item::Row {
                        line,
                        value: json!({"sku": sku, "price": price.to_string()}),
                        key: sku,
                    },
                    Err(message) => Item::Bad(RowError {
                        line,
                        key: v[0]
                            .as_deref()
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_string),
                        message,
                    }),
                }
            }
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// JSON sources
// ---------------------------------------------------------------------------------------------

/// Turns one JSON element into its key and row, or a reason.
type JsonRow =
    fn(&[u8], u64) -> std::result::Result<(String, Value), (u64, Option<String>, String)>;

struct JsonSource {
    path: PathBuf,
    seq: JsonSeq<BufReader<File>>,
    row: JsonRow,
}

impl Source for JsonSource {
    fn next_item(&mut self) -> Result<Option<Item>> {
        let el = self.seq.next_element().map_err(|e| AdminError::File {
            path: self.path.clone(),
            line: e.line,
            message: e.message,
        })?;
        let Some((line, bytes)) = el else {
            return Ok(None);
        };
        Ok(Some(match (self.row)(&bytes, line) {
            Ok((key, value)) => Item::Row { line, key, value },
            Err((line, key, message)) => Item::Bad(RowError { line, key, message }),
        }))
    }
}

/// Deserialize an element; serde's errors are given their absolute line and, when the element
/// has one, the key read from `key_field`.
fn parse_el<T: for<'de> Deserialize<'de>>(
    bytes: &[u8],
    line: u64,
    key_field: &str,
) -> std::result::Result<T, (u64, Option<String>, String)> {
    serde_json::from_slice(bytes).map_err(|e| {
        let key = serde_json::from_slice::<Value>(bytes)
            .ok()
            .and_then(|v| match &v[key_field] {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        let (l, m) = element_error(line, &e);
        (l, key, m)
    })
}

fn campaign_row(
    bytes: &[u8],
    line: u64,
) -> std::result::Result<(String, Value), (u64, Option<String>, String)> {
    let c: tillstone_core::coupon::Campaign = parse_el(bytes, line, "id")?;
    let key = c.id.to_string();
    c.validate()
        .map_err(|m| (line, Some(key.clone()), format!("campaign {}: {m}", c.id)))?;
    let v = serde_json::to_value(&c).map_err(|e| (line, Some(key.clone()), e.to_string()))?;
    Ok((key, v))
}

fn promotion_row(
    bytes: &[u8],
    line: u64,
) -> std::result::Result<(String, Value), (u64, Option<String>, String)> {
    let r: tillstone_core::promo::Rule = parse_el(bytes, line, "id")?;
    let key = r.id.trim().to_string();
    check_id(&key, "id", MAX_CODE_CHARS).map_err(|m| (line, None, m))?;
    r.validate()
        .map_err(|e| (line, Some(key.clone()), e.to_string()))?;
    let v = serde_json::to_value(&r).map_err(|e| (line, Some(key.clone()), e.to_string()))?;
    Ok((key, v))
}

fn settings_row(
    bytes: &[u8],
    line: u64,
) -> std::result::Result<(String, Value), (u64, Option<String>, String)> {
    let s: tillstone_core::settings::StoreSettings = parse_el(bytes, line, "store_code")?;
    let key = s.store_code.clone();
    let bad = |m: String| (line, Some(key.clone()), m);
    tillstone_sync::StoreId::new(&key).map_err(|e| bad(format!("store_code: {e}")))?;
    if s.store_name.trim().is_empty() {
        return Err(bad("missing field store_name".into()));
    }
    if s.utc_offset_minutes.abs() > 14 * 60 {
        return Err(bad(format!(
            "utc_offset_minutes {} is not between -840 and 840",
            s.utc_offset_minutes
        )));
    }
    let v = serde_json::to_value(&s).map_err(|e| bad(e.to_string()))?;
    Ok((key, v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberIn {
    member_id: String,
    name: String,
    phone: String,
    #[serde(default)]
    card_no: Option<String>,
    #[serde(default)]
    tier: Option<String>,
    #[serde(default)]
    points: i64,
    #[serde(default)]
    lifetime_points: Option<i64>,
}

fn member_row(
    bytes: &[u8],
    line: u64,
) -> std::result::Result<(String, Value), (u64, Option<String>, String)> {
    let m: MemberIn = parse_el(bytes, line, "member_id")?;
    let key = m.member_id.trim().to_string();
    let bad = |msg: String| (line, Some(key.clone()), msg);
    // Coupon codes carry the member id: the same rule as `tillstone_core::coupon::sign`.
    check_id(&key, "member_id", tillstone_core::coupon::MAX_MEMBER_ID_LEN).map_err(&bad)?;
    let name = text(Some(&m.name), "name", MAX_NAME_CHARS, true).map_err(&bad)?;
    let phone = m.phone.trim().to_string();
    let digits = phone.strip_prefix('+').unwrap_or(&phone);
    if !(5..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!(
            "phone {:?} must be 5 to 20 digits (an optional leading +)",
            phone.chars().take(40).collect::<String>()
        )));
    }
    let card_no = match m.card_no.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => {
            check_id(c, "card_no", MAX_CODE_CHARS).map_err(&bad)?;
            Some(c.to_string())
        }
    };
    let tier = text(m.tier.as_deref(), "tier", MAX_CODE_CHARS, false).map_err(&bad)?;
    let tier = if tier.is_empty() {
        "standard".to_string()
    } else {
        tier
    };
    let lifetime = m.lifetime_points.unwrap_or(m.points.max(0));
    if lifetime < 0 {
        return Err(bad("lifetime_points is negative".into()));
    }
    Ok((
        key.clone(),
        json!({
            "member_id": key,
            "name": name,
            "phone": phone,
            "card_no": card_no,
            "tier": tier,
            "points": m.points,
            "lifetime_points": lifetime,
            "coupons": [],
        }),
    ))
}

/// Members keep the coupons HQ issued them (`coupons issue-pack --member`).
fn keep_coupons(
    _key: &str,
    stored: Option<&Value>,
    new: &mut Value,
) -> std::result::Result<(), String> {
    if let Some(c) = stored
        .and_then(|s| s.get("coupons"))
        .filter(|c| c.is_array())
    {
        new["coupons"] = c.clone();
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserIn {
    user_id: String,
    name: String,
    role: String,
    pin: String,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

/// The field that carries the plain PIN from the file to [`hash_pins`] (never stored).
const PLAIN_PIN: &str = "pin";

fn user_row(
    bytes: &[u8],
    line: u64,
) -> std::result::Result<(String, Value), (u64, Option<String>, String)> {
    let u: UserIn = parse_el(bytes, line, "user_id")?;
    let key = u.user_id.trim().to_string();
    let bad = |msg: String| (line, Some(key.clone()), msg);
    check_id(&key, "user_id", MAX_CODE_CHARS).map_err(&bad)?;
    let name = text(Some(&u.name), "name", MAX_NAME_CHARS, true).map_err(&bad)?;
    let role = tillstone_core::auth::Role::parse(u.role.trim()).ok_or_else(|| {
        bad(format!(
            "unknown role {:?} (cashier, manager or installer)",
            u.role
        ))
    })?;
    if !(4..=8).contains(&u.pin.len()) || !u.pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("a PIN is 4 to 8 digits".into()));
    }
    Ok((
        key.clone(),
        json!({
            "user_id": key,
            "name": name,
            "role": role.as_str(),
            "pin_hash": "",
            "active": u.active,
            PLAIN_PIN: u.pin,
        }),
    ))
}

/// Hash a PIN like the terminal (`terminal/src/pin.rs`): argon2id, default parameters, PHC.
pub fn hash_pin(pin: &str) -> std::result::Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt =
        SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes()).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("could not hash the PIN: {e}"))
}

pub fn verify_pin(pin: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(pin.as_bytes(), &h)
            .is_ok()
    })
}

/// Replace the plain PIN by its hash; an unchanged PIN keeps the stored hash (a fresh salt
/// would make every re-import a change).
fn hash_pins(stored: Option<&Value>, new: &mut Value) -> std::result::Result<(), String> {
    let pin = new
        .as_object_mut()
        .and_then(|o| o.remove(PLAIN_PIN))
        .and_then(|p| p.as_str().map(str::to_string))
        .ok_or("the row has no PIN")?;
    let kept = stored
        .and_then(|s| s.get("pin_hash"))
        .and_then(Value::as_str)
        .filter(|h| verify_pin(&pin, h));
    new["pin_hash"] = Value::String(match kept {
        Some(h) => h.to_string(),
        None => hash_pin(&pin)?,
    });
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The imports
// ---------------------------------------------------------------------------------------------

/// `import catalog`: products from CSV (`sku,name,name_en,category,tax_class,unit,price,barcodes`,
/// barcodes separated by `|`), their tax rate resolved from the tax classes file.
pub fn import_catalog(
    storage: &dyn Storage,
    tenant: &TenantId,
    path: &Path,
    tax_classes: &Path,
    opts: ImportOptions,
) -> Result<ImportReport> {
    let tax = std::sync::Arc::new(read_tax_classes(tax_classes)?);
    let open = || -> Result<Box<dyn Source>> {
        Ok(Box::new(CatalogSource {
            path: path.to_path_buf(),
            table: CsvTable::open(
                path,
                CATALOG_COLUMNS,
                &["sku", "name", "tax_class", "price"],
            )?,
            tax: tax.clone(),
        }))
    };
    Job {
        storage,
        tenant,
        entity: Entity::Catalog,
        path,
        open: &open,
        merge: None,
        check: None,
        prepare: None,
    }
    .run(opts)
}

/// `import prices`: `sku,price` rows; every SKU must be in the catalog already.
pub fn import_prices(
    storage: &dyn Storage,
    tenant: &TenantId,
    path: &Path,
    opts: ImportOptions,
) -> Result<ImportReport> {
    const NAMES: &[&str] = &["sku", "price"];
    let open = || -> Result<Box<dyn Source>> {
        Ok(Box::new(PriceSource {
            path: path.to_path_buf(),
            table: CsvTable::open(path, NAMES, NAMES)?,
        }))
    };
    let check = |rows: &[(u64, String, Value)]| -> Result<Vec<Option<String>>> {
        let keys: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
        let found = storage.get_changes(tenant, Entity::Catalog, &keys)?;
        Ok(keys
            .iter()
            .map(|k| {
                (!found.contains_key(k))
                    .then(|| format!("unknown SKU {k} (import it with the catalog first)"))
            })
            .collect())
    };
    Job {
        storage,
        tenant,
        entity: Entity::Prices,
        path,
        open: &open,
        merge: None,
        check: Some(&check),
        prepare: None,
    }
    .run(opts)
}

/// How a JSON import completes its rows (see [`Merge`] and [`Prepare`]).
#[derive(Clone, Copy, Default)]
struct Hooks<'a> {
    merge: Option<Merge<'a>>,
    prepare: Option<Prepare<'a>>,
}

fn json_import(
    storage: &dyn Storage,
    tenant: &TenantId,
    entity: Entity,
    path: &Path,
    row: JsonRow,
    hooks: Hooks<'_>,
    opts: ImportOptions,
) -> Result<ImportReport> {
    let open = || -> Result<Box<dyn Source>> {
        Ok(Box::new(JsonSource {
            path: path.to_path_buf(),
            seq: JsonSeq::new(BufReader::new(open_file(path)?)),
            row,
        }))
    };
    Job {
        storage,
        tenant,
        entity,
        path,
        open: &open,
        merge: hooks.merge,
        check: None,
        prepare: hooks.prepare,
    }
    .run(opts)
}

/// `import campaigns`: coupon campaigns (`tillstone_core::coupon::Campaign`), each validated.
pub fn import_campaigns(
    storage: &dyn Storage,
    tenant: &TenantId,
    path: &Path,
    opts: ImportOptions,
) -> Result<ImportReport> {
    json_import(
        storage,
        tenant,
        Entity::Campaigns,
        path,
        campaign_row,
        Hooks::default(),
        opts,
    )
}

/// `import members`: members; the coupons already issued to a member are kept.
pub fn import_members(
    storage: &dyn Storage,
    tenant: &TenantId,
    path: &Path,
    opts: ImportOptions,
) -> Result<ImportReport> {
    json_import(
        storage,
        tenant,
        Entity::Members,
        path,
        member_row,
        Hooks {
            merge: Some(&keep_coupons),
            prepare: None,
        },
        opts,
    )
}

/// `import users`: till users with plain PINs, stored as argon2id hashes.
pub fn import_users(
    storage: &dyn Storage,
    tenant: &TenantId,
    path: &Path,
    opts: ImportOptions,
) -> Result<ImportReport> {
    // Hashing is slow (by design): done per batch before its transaction, not inside it.
    let prepare = |rows: &mut [(String, Value)]| -> Result<()> {
        let keys: Vec<String> = rows.iter().map(|(k, _)| k.clone()).collect();
        let stored = storage.get_changes(tenant, Entity::Users, &keys)?;
        for (key, row) in rows.iter_mut() {
            hash_pins(stored.get(key.as_str()), row)
                .map_err(|m| AdminError::Invalid(format!("user {key}: {m}")))?;
        }
        Ok(())
    };
    json_import(
        storage,
        tenant,
        Entity::Users,
        path,
        user_row,
        Hooks {
            merge: None,
            prepare: Some(&prepare),
        },
        opts,
    )
}

/// `import promotions`: promotion rules (`tillstone_core::promo::Rule`), each validated.
pub fn import_promotions(
    storage: &dyn Storage,
    tenant: &TenantId,
    path: &Path,
    opts: ImportOptions,
) -> Result<ImportReport> {
    json_import(
        storage,
        tenant,
        Entity::Promotions,
        path,
        promotion_row,
        Hooks::default(),
        opts,
    )
}

/// `import settings`: store settings (`tillstone_core::settings::StoreSettings`), one object or
/// an array, keyed by store code.
pub fn import_settings(
    storage: &dyn Storage,
    tenant: &TenantId,
    path: &Path,
    opts: ImportOptions,
) -> Result<ImportReport> {
    json_import(
        storage,
        tenant,
        Entity::StoreSettings,
        path,
        settings_row,
        Hooks::default(),
        opts,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices() {
        assert_eq!(parse_price("12.8").unwrap().to_string(), "12.80");
        assert_eq!(parse_price("12").unwrap().to_string(), "12.00");
        assert_eq!(parse_price("0.500").unwrap().to_string(), "0.50");
        for bad in ["-1", "12,5", "¥12", "1.234", "12.", ".5", "", "99999999999"] {
            assert!(parse_price(bad).is_err(), "{bad}");
        }
    }
}
