//! Catalog: import (CSV, JSON Lines), lookups, search, bad rows, modes. Real SQLite files.

use proptest::prelude::*;
use rust_decimal_macros::dec;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use tillstone_store::Store;
use tillstone_store::catalog::{
    Format, ImportMode, ImportOptions, ImportProgress, ImportReport, MAX_REPORTED_ERRORS, Product,
    RowErrorKind, TaxClass, Unit,
};

const HEADER: &str = "sku,name,name_en,category,tax_class,unit,price,barcodes\n";

const GOOD_CSV: &str = "\
sku,name,name_en,category,tax_class,unit,price,barcodes
COKE330,可口可乐 330ml,Coca-Cola 330ml,饮料,standard,piece,3.50,6901234567892|6901234567908
COKE2L,可口可乐 2L,Coca-Cola 2L,饮料,standard,piece,8.90,6901234567915
MILK1L,纯牛奶 1L,Pure Milk 1L,乳制品,food,piece,12.80,6902222222220
YOGURT,草莓酸奶,Strawberry Yogurt,乳制品,food,piece,6.5,6903333333331|6903333333348|6903333333355
APPLE,红富士苹果,Fuji Apples,生鲜,food,kg,11.90,2000001000007
CABBAGE,大白菜,Napa Cabbage,生鲜,exempt,KG,2.98,
BAG,购物袋,Shopping Bag,日用品,standard,,0.30,6904444444442
";

const GOOD_JSONL: &str = r#"{"sku":"COKE330","name":"可口可乐 330ml","name_en":"Coca-Cola 330ml","category":"饮料","tax_class":"standard","unit":"piece","price":"3.50","barcodes":["6901234567892","6901234567908"]}
{"sku":"COKE2L","name":"可口可乐 2L","name_en":"Coca-Cola 2L","category":"饮料","tax_class":"standard","unit":"piece","price":8.90,"barcodes":["6901234567915"]}
{"sku":"MILK1L","name":"纯牛奶 1L","name_en":"Pure Milk 1L","category":"乳制品","tax_class":"food","unit":"piece","price":"12.80","barcodes":["6902222222220"]}

{"sku":"YOGURT","name":"草莓酸奶","name_en":"Strawberry Yogurt","category":"乳制品","tax_class":"food","price":"6.5","barcodes":["6903333333331","6903333333348","6903333333355"]}
{"sku":"APPLE","name":"红富士苹果","name_en":"Fuji Apples","category":"生鲜","tax_class":"food","unit":"kg","price":"11.90","barcodes":["2000001000007"]}
{"sku":"CABBAGE","name":"大白菜","name_en":"Napa Cabbage","category":"生鲜","tax_class":"exempt","unit":"KG","price":"2.98","barcodes":[]}
{"sku":"BAG","name":"购物袋","name_en":"Shopping Bag","category":"日用品","tax_class":"standard","price":0.3,"barcodes":["6904444444442"]}
"#;

fn tax_classes() -> Vec<TaxClass> {
    [
        ("standard", dec!(0.13)),
        ("food", dec!(0.09)),
        ("service", dec!(0.06)),
        ("exempt", dec!(0)),
    ]
    .into_iter()
    .map(|(code, rate)| TaxClass {
        code: code.into(),
        rate,
        name: format!("{code} VAT"),
    })
    .collect()
}

fn new_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("till.db")).expect("open store");
    for class in tax_classes() {
        store.upsert_tax_class(&class).expect("tax class");
    }
    (dir, store)
}

fn write(dir: &TempDir, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write file");
    path
}

fn import(store: &mut Store, path: &Path, mode: ImportMode) -> ImportReport {
    let opts = ImportOptions { mode, format: None };
    store
        .import_catalog(path, &opts, &mut |_| {})
        .expect("import")
}

fn skus(products: &[Product]) -> Vec<&str> {
    products.iter().map(|p| p.sku.as_str()).collect()
}

fn search(store: &Store, q: &str) -> Vec<String> {
    store
        .search_products(q, 50)
        .expect("search")
        .into_iter()
        .map(|p| p.sku)
        .collect()
}

/// Everything the catalog holds, to compare before and after.
fn snapshot(store: &Store) -> Vec<String> {
    let conn = store.connection();
    let mut out = Vec::new();
    for sql in [
        "SELECT sku || '|' || name || '|' || name_en || '|' || category || '|' || tax_class || '|' \
         || unit || '|' || price_minor || '|' || active FROM product ORDER BY sku",
        "SELECT barcode || '>' || sku || '#' || pos FROM barcode ORDER BY barcode",
    ] {
        let mut stmt = conn.prepare(sql).expect("prepare");
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .expect("query");
        out.extend(rows.map(|r| r.expect("row")));
    }
    for q in ["可口可乐", "牛奶", "milk", "果", "zz"] {
        out.push(format!("{q}: {:?}", search(store, q)));
    }
    out
}

fn expected_products() -> Vec<Product> {
    let p = |sku: &str,
             name: &str,
             name_en: &str,
             category: &str,
             tax_class: &str,
             tax_rate,
             unit,
             price,
             barcodes: &[&str]| Product {
        sku: sku.into(),
        name: name.into(),
        name_en: name_en.into(),
        barcodes: barcodes.iter().map(|b| b.to_string()).collect(),
        category: category.into(),
        tax_class: tax_class.into(),
        tax_rate,
        unit,
        price,
    };
    vec![
        p(
            "COKE330",
            "可口可乐 330ml",
            "Coca-Cola 330ml",
            "饮料",
            "standard",
            dec!(0.13),
            Unit::Piece,
            dec!(3.50),
            &["6901234567892", "6901234567908"],
        ),
        p(
            "COKE2L",
            "可口可乐 2L",
            "Coca-Cola 2L",
            "饮料",
            "standard",
            dec!(0.13),
            Unit::Piece,
            dec!(8.90),
            &["6901234567915"],
        ),
        p(
            "MILK1L",
            "纯牛奶 1L",
            "Pure Milk 1L",
            "乳制品",
            "food",
            dec!(0.09),
            Unit::Piece,
            dec!(12.80),
            &["6902222222220"],
        ),
        p(
            "YOGURT",
            "草莓酸奶",
            "Strawberry Yogurt",
            "乳制品",
            "food",
            dec!(0.09),
            Unit::Piece,
            dec!(6.50),
            &["6903333333331", "6903333333348", "6903333333355"],
        ),
        p(
            "APPLE",
            "红富士苹果",
            "Fuji Apples",
            "生鲜",
            "food",
            dec!(0.09),
            Unit::Kg,
            dec!(11.90),
            &["2000001000007"],
        ),
        p(
            "CABBAGE",
            "大白菜",
            "Napa Cabbage",
            "生鲜",
            "exempt",
            dec!(0),
            Unit::Kg,
            dec!(2.98),
            &[],
        ),
        p(
            "BAG",
            "购物袋",
            "Shopping Bag",
            "日用品",
            "standard",
            dec!(0.13),
            Unit::Piece,
            dec!(0.30),
            &["6904444444442"],
        ),
    ]
}

fn assert_catalog_loaded(store: &Store) {
    let expected = expected_products();
    assert_eq!(store.product_count().unwrap(), expected.len() as u64);
    for p in &expected {
        let by_sku = store.product_by_sku(&p.sku).unwrap();
        assert_eq!(by_sku.as_ref(), Some(p), "by sku {}", p.sku);
        assert_eq!(by_sku.unwrap().price.scale(), 2);
        for code in &p.barcodes {
            assert_eq!(
                store.product_by_barcode(code).unwrap().as_ref(),
                Some(p),
                "by barcode {code}"
            );
        }
    }
    assert_eq!(store.product_by_barcode("6909999999999").unwrap(), None);
    assert_eq!(store.product_by_sku("NOPE").unwrap(), None);
    // Scanners may append whitespace.
    assert!(
        store
            .product_by_barcode(" 6901234567892\r\n")
            .unwrap()
            .is_some()
    );
}

#[test]
fn csv_import_and_lookups_by_every_barcode() {
    let (dir, mut store) = new_store();
    let path = write(&dir, "catalog.csv", GOOD_CSV);
    let mut calls: Vec<ImportProgress> = Vec::new();
    let report = store
        .import_catalog(&path, &ImportOptions::default(), &mut |p| calls.push(p))
        .unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(
        (
            report.rows,
            report.imported,
            report.inserted,
            report.rejected
        ),
        (7, 7, 7, 0)
    );
    assert_eq!(report.format, Format::Csv);
    let last = calls.last().expect("final progress");
    assert_eq!(last.bytes_read, GOOD_CSV.len() as u64);
    assert_eq!(last.total_bytes, GOOD_CSV.len() as u64);
    assert_eq!(last.rows, 7);
    assert_catalog_loaded(&store);
}

#[test]
fn jsonl_import_matches_csv() {
    let (dir, mut store) = new_store();
    for name in ["catalog.jsonl", "catalog.NDJSON"] {
        let path = write(&dir, name, GOOD_JSONL);
        let report = import(&mut store, &path, ImportMode::AllOrNothing);
        assert!(report.is_clean(), "{report:?}");
        assert_eq!(report.format, Format::JsonLines);
        assert_eq!(report.rows, 7);
        assert_catalog_loaded(&store);
    }
    // The second import found everything identical.
    let path = write(&dir, "again.jsonl", GOOD_JSONL);
    let report = import(&mut store, &path, ImportMode::KeepGood);
    assert_eq!(report.unchanged, 7);
}

#[test]
fn format_by_option_reader_and_errors() {
    let (dir, mut store) = new_store();
    let path = write(&dir, "catalog.txt", GOOD_JSONL);
    let err = store
        .import_catalog(&path, &ImportOptions::default(), &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains(".csv"), "{err}");
    let opts = ImportOptions {
        mode: ImportMode::KeepGood,
        format: Some("jsonl".parse().unwrap()),
    };
    assert!(
        store
            .import_catalog(&path, &opts, &mut |_| {})
            .unwrap()
            .is_clean()
    );

    // From a reader (e.g. an embedded file); the format is then required.
    let (_dir2, mut other) = new_store();
    let opts = ImportOptions {
        mode: ImportMode::AllOrNothing,
        format: Some(Format::Csv),
    };
    let report = other
        .import_catalog_from_reader(GOOD_CSV.as_bytes(), 0, &opts, &mut |_| {})
        .unwrap();
    assert!(report.is_clean());
    assert!(
        other
            .import_catalog_from_reader(
                GOOD_CSV.as_bytes(),
                0,
                &ImportOptions::default(),
                &mut |_| {}
            )
            .is_err()
    );

    // Missing file, header without a required column.
    assert!(
        store
            .import_catalog(
                &dir.path().join("none.csv"),
                &ImportOptions::default(),
                &mut |_| {}
            )
            .is_err()
    );
    let path = write(&dir, "nohead.csv", "sku,name,unit\nA,b,piece\n");
    let err = store
        .import_catalog(&path, &ImportOptions::default(), &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("tax_class, price"), "{err}");
    // A UTF-8 BOM and columns in another order are fine.
    let path = write(
        &dir,
        "bom.csv",
        "\u{feff}price,sku,tax_class,name,extra\n1.00,BOM1,standard,带BOM,x\n",
    );
    let report = import(&mut store, &path, ImportMode::AllOrNothing);
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(
        store.product_by_sku("BOM1").unwrap().map(|p| p.price),
        Some(dec!(1.00))
    );
}

#[test]
fn chinese_and_english_search() {
    let (dir, mut store) = new_store();
    import(
        &mut store,
        &write(&dir, "c.csv", GOOD_CSV),
        ImportMode::AllOrNothing,
    );
    // 2-character Chinese (below the trigram minimum), 3+ characters, 1 character.
    assert_eq!(search(&store, "牛奶"), ["MILK1L"]);
    assert_eq!(search(&store, "酸奶"), ["YOGURT"]);
    assert_eq!(search(&store, "苹果"), ["APPLE"]);
    assert_eq!(search(&store, "白菜"), ["CABBAGE"]);
    let mut coke = search(&store, "可口可乐");
    coke.sort();
    assert_eq!(coke, ["COKE2L", "COKE330"]);
    assert_eq!(search(&store, "红富士苹果"), ["APPLE"]);
    assert_eq!(search(&store, "富士苹"), ["APPLE"]);
    let mut milk_char = search(&store, "奶");
    milk_char.sort();
    assert_eq!(milk_char, ["MILK1L", "YOGURT"]);
    assert_eq!(search(&store, "果"), ["APPLE"]);
    // Several terms: all must match.
    assert_eq!(search(&store, "可口可乐 2L"), ["COKE2L"]);
    assert_eq!(search(&store, "可乐 330"), ["COKE330"]);
    // English, case-insensitive, substrings and word starts.
    assert_eq!(search(&store, "MILK"), ["MILK1L"]);
    assert_eq!(search(&store, "pure milk"), ["MILK1L"]);
    let mut cola = search(&store, "coca-COLA");
    cola.sort();
    assert_eq!(cola, ["COKE2L", "COKE330"]);
    assert_eq!(search(&store, "yog"), ["YOGURT"]);
    assert_eq!(search(&store, "st"), ["YOGURT"]);
    assert_eq!(search(&store, "napa"), ["CABBAGE"]);
    assert!(search(&store, "zzz").is_empty());
    assert!(search(&store, "咖啡").is_empty());
    assert!(search(&store, "   ").is_empty());
    assert!(search(&store, "\"*").is_empty());
    // Ranking: the shorter, exact-prefix name first.
    assert_eq!(search(&store, "可口可乐")[0], "COKE2L");
    // Limit.
    assert_eq!(store.search_products("可口可乐", 1).unwrap().len(), 1);
    assert!(store.search_products("可口可乐", 0).unwrap().is_empty());
}

#[test]
fn search_puts_exact_codes_first_then_prefixes() {
    let (dir, mut store) = new_store();
    let csv = format!(
        "{HEADER}\
         A1,甲 A1,,,standard,piece,1,111\n\
         A10,含有A1的名字,,,standard,piece,1,112\n\
         B1,乙,Contains 1110 here,,standard,piece,1,1110\n\
         C1,丙,,,standard,piece,1,999111\n"
    );
    import(
        &mut store,
        &write(&dir, "c.csv", csv),
        ImportMode::AllOrNothing,
    );
    // Exact SKU first, then SKU prefix, then names.
    let r = store.search_products("A1", 10).unwrap();
    assert_eq!(skus(&r), ["A1", "A10"]);
    // Lowercase SKU typed at the till.
    assert_eq!(search(&store, "a10")[0], "A10");
    // Exact barcode first, then barcode prefixes, then names.
    assert_eq!(search(&store, "111"), ["A1", "B1"]);
    assert_eq!(search(&store, "1110"), ["B1"]);
    assert_eq!(search(&store, "11"), ["A1", "B1", "A10"]); // barcode order: 111, 1110, 112
    assert_eq!(search(&store, "999111"), ["C1"]);
}

#[test]
fn reimport_updates_price_name_and_barcodes() {
    let (dir, mut store) = new_store();
    import(
        &mut store,
        &write(&dir, "v1.csv", GOOD_CSV),
        ImportMode::AllOrNothing,
    );
    let v2 = format!(
        "{HEADER}\
         COKE330,可口可乐 零度 330ml,Coca-Cola Zero 330ml,饮料,standard,piece,3.80,6901234567908|6905555555555\n\
         MILK1L,鲜牛奶 1L,Fresh Milk 1L,乳制品,food,piece,12.80,6902222222220\n\
         APPLE,红富士苹果,Fuji Apples,生鲜,food,kg,11.90,2000001000007\n\
         NEW1,矿泉水 550ml,Mineral Water 550ml,饮料,standard,piece,2,6906666666666\n"
    );
    let report = import(
        &mut store,
        &write(&dir, "v2.csv", v2),
        ImportMode::AllOrNothing,
    );
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(
        (report.inserted, report.updated, report.unchanged),
        (1, 2, 1)
    );
    let coke = store.product_by_sku("COKE330").unwrap().unwrap();
    assert_eq!(coke.price, dec!(3.80));
    assert_eq!(coke.name, "可口可乐 零度 330ml");
    assert_eq!(coke.barcodes, ["6901234567908", "6905555555555"]);
    assert_eq!(store.product_by_barcode("6901234567892").unwrap(), None);
    assert_eq!(
        store
            .product_by_barcode("6905555555555")
            .unwrap()
            .map(|p| p.sku),
        Some("COKE330".into())
    );
    // The search indexes followed the renames.
    assert_eq!(search(&store, "零度"), ["COKE330"]);
    assert_eq!(search(&store, "zero"), ["COKE330"]);
    assert_eq!(search(&store, "鲜牛奶"), ["MILK1L"]);
    assert!(search(&store, "纯牛奶").is_empty());
    assert!(search(&store, "pure").is_empty());
    assert_eq!(search(&store, "fresh milk"), ["MILK1L"]);
    // Products absent from the file are left alone.
    assert_eq!(store.product_count().unwrap(), 8);
}

#[test]
fn moving_a_barcode_needs_the_freeing_row_first() {
    let (dir, mut store) = new_store();
    import(
        &mut store,
        &write(&dir, "v1.csv", GOOD_CSV),
        ImportMode::AllOrNothing,
    );
    // MILK1L gives its barcode to NEWMILK: fine in this order...
    let ok = format!(
        "{HEADER}MILK1L,纯牛奶 1L,Pure Milk 1L,乳制品,food,piece,12.80,\n\
         NEWMILK,新牛奶,New Milk,乳制品,food,piece,9.90,6902222222220\n"
    );
    let report = import(
        &mut store,
        &write(&dir, "ok.csv", ok),
        ImportMode::AllOrNothing,
    );
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(
        store
            .product_by_barcode("6902222222220")
            .unwrap()
            .map(|p| p.sku),
        Some("NEWMILK".into())
    );
    // ...but not before the row that frees it.
    let bad = format!(
        "{HEADER}YOG2,酸奶2,,,food,piece,1,6903333333331\n\
         YOGURT,草莓酸奶,Strawberry Yogurt,乳制品,food,piece,6.5,\n"
    );
    let report = import(
        &mut store,
        &write(&dir, "bad.csv", bad),
        ImportMode::AllOrNothing,
    );
    assert!(!report.committed);
    assert_eq!(report.errors[0].line, 2);
    assert_eq!(report.errors[0].kind, RowErrorKind::DuplicateBarcode);
    assert!(
        report.errors[0]
            .message
            .contains("already belongs to SKU YOGURT")
    );
}

/// A CSV with one bad row of every kind; (line, kind) of each.
fn bad_csv() -> (Vec<u8>, Vec<(u64, RowErrorKind)>) {
    let mut f: Vec<u8> = Vec::new();
    f.extend_from_slice(HEADER.as_bytes()); // line 1
    let mut expected = Vec::new();
    let mut line = 1;
    let mut add = |row: &[u8], bad: Option<RowErrorKind>, lines: u64| {
        line += 1;
        if let Some(kind) = bad {
            expected.push((line, kind));
        }
        f.extend_from_slice(row);
        f.push(b'\n');
        line += lines - 1;
    };
    use RowErrorKind::*;
    add(
        b"G1,good one,Good,,standard,piece,1.00,6910000000001",
        None,
        1,
    );
    add(
        b"B1,,no name,,standard,piece,1.00,6910000000002",
        Some(MissingField),
        1,
    );
    add(b"B2,short row,,", Some(MissingField), 1);
    add(
        b"B3,too,many,fields,standard,piece,1.00,6910000000003,x",
        Some(TooManyFields),
        1,
    );
    add(
        b"B4,comma price,,,standard,piece,\"12,5\",6910000000004",
        Some(BadPrice),
        1,
    );
    add(
        b"B5,negative,,,standard,piece,-3.00,6910000000005",
        Some(BadPrice),
        1,
    );
    add(
        b"B6,three decimals,,,standard,piece,1.999,6910000000006",
        Some(BadPrice),
        1,
    );
    add(
        b"B7,unknown class,,,luxury,piece,1.00,6910000000007",
        Some(UnknownTaxClass),
        1,
    );
    add(
        b"B8,unknown unit,,,standard,box,1.00,6910000000008",
        Some(UnknownUnit),
        1,
    );
    // A quoted name spanning two lines: rejected (control character); the line numbers of
    // the rows after it stay right.
    add(
        b"B9,\"multi\nline name\",,,standard,piece,1.00,6910000000009",
        Some(BadField),
        2,
    );
    add(
        b"B10,dup in file,,,standard,piece,1.00,6910000000001",
        Some(DuplicateBarcode),
        1,
    );
    add(
        b"B11,dup in db,,,standard,piece,1.00,6901234567892",
        Some(DuplicateBarcode),
        1,
    );
    add(
        b"G1,same sku again,,,standard,piece,2.00,",
        Some(DuplicateSku),
        1,
    );
    add(
        b"B12,\xc5\xa3\xc4\xcc GBK,,,standard,piece,1.00,",
        Some(NotUtf8),
        1,
    );
    add(
        b"B13,missing price,,,standard,piece,,",
        Some(MissingField),
        1,
    );
    add(
        b"B14,bad barcode,,,standard,piece,1.00,6.90123E+12",
        Some(BadBarcode),
        1,
    );
    add(b"", None, 1); // blank line: skipped, still counted for line numbers
    add(
        b"G2,good two,Good Two,,food,kg,9.99,6910000000010|6910000000010",
        None,
        1,
    );
    (f, expected)
}

#[test]
fn every_bad_row_kind_is_reported_with_its_line() {
    let (dir, mut store) = new_store();
    import(
        &mut store,
        &write(&dir, "base.csv", GOOD_CSV),
        ImportMode::AllOrNothing,
    );
    let (bytes, expected) = bad_csv();
    let path = write(&dir, "bad.csv", &bytes);
    let report = import(&mut store, &path, ImportMode::KeepGood);
    let got: Vec<(u64, RowErrorKind)> = report.errors.iter().map(|e| (e.line, e.kind)).collect();
    assert_eq!(got, expected, "{:#?}", report.errors);
    assert_eq!(report.rejected, expected.len() as u64);
    assert_eq!(report.imported, 2); // G1, G2
    assert_eq!(report.rows, report.imported + report.rejected);
    // Messages are specific.
    let msg = |line: u64| {
        report
            .errors
            .iter()
            .find(|e| e.line == line)
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(msg(3).contains("missing field name"), "{}", msg(3));
    assert!(msg(6).contains("comma"), "{}", msg(6));
    assert!(msg(9).contains("luxury"), "{}", msg(9));
    assert!(msg(9).contains("standard"), "{}", msg(9));
    assert!(
        msg(13).contains("already used by SKU G1 on line 2"),
        "{}",
        msg(13)
    );
    assert!(msg(14).contains("SKU COKE330"), "{}", msg(14));
    assert!(msg(15).contains("line 2"), "{}", msg(15));
    assert!(msg(16).contains("UTF-8"), "{}", msg(16));
    assert!(msg(16).starts_with("line 16 (SKU B12)"), "{}", msg(16));
    assert!(msg(11).contains("control characters"), "{}", msg(11));
    // KeepGood kept the good rows (with the repeated barcode deduplicated).
    assert_eq!(
        store.product_by_sku("G2").unwrap().map(|p| p.barcodes),
        Some(vec!["6910000000010".to_string()])
    );
    assert_eq!(
        store.product_by_sku("G1").unwrap().map(|p| p.price),
        Some(dec!(1.00))
    );
    assert_eq!(store.product_by_sku("B4").unwrap(), None);
}

#[test]
fn jsonl_bad_rows_are_reported_with_their_line() {
    let (dir, mut store) = new_store();
    let mut f: Vec<u8> = Vec::new();
    let lines: [&[u8]; 12] = [
        r#"{"sku":"J1","name":"好","tax_class":"standard","price":"1.00","barcodes":["691"]}"#
            .as_bytes(),
        r#"{"sku":"J2","name":"坏","tax_class":"standard","price":"1.00""#.as_bytes(),
        br#"["not","an","object"]"#,
        b"",
        br#"{"sku":"J3","name":"no class","price":"1.00"}"#,
        b"{\"sku\":\"J4\",\"name\":\"\xb9\xfb\",\"tax_class\":\"standard\",\"price\":\"1\"}",
        br#"{"sku":"J5","name":"bad barcodes","tax_class":"standard","price":"1","barcodes":"691|692"}"#,
        br#"{"sku":"J6","name":"numeric barcode","tax_class":"standard","price":"1","barcodes":[6912345678901]}"#,
        br#"{"sku":"J7","name":"price","tax_class":"standard","price":"12,5"}"#,
        br#"{"sku":"J8","name":"negative","tax_class":"standard","price":-1}"#,
        br#"{"sku":"J9","name":"number sku","tax_class":"standard","price":1,"unit":"kg","extra":{"ignored":true}}"#,
        br#"{"sku":7,"name":"sku number","tax_class":"standard","price":1}"#,
    ];
    for l in lines {
        f.extend_from_slice(l);
        f.extend_from_slice(b"\r\n");
    }
    let path = write(&dir, "bad.jsonl", &f);
    let report = import(&mut store, &path, ImportMode::KeepGood);
    use RowErrorKind::*;
    let got: Vec<(u64, RowErrorKind)> = report.errors.iter().map(|e| (e.line, e.kind)).collect();
    assert_eq!(
        got,
        [
            (2, MalformedJson),
            (3, MalformedJson),
            (5, MissingField),
            (6, NotUtf8),
            (7, BadField),
            (8, BadField),
            (9, BadPrice),
            (10, BadPrice),
            (12, BadField),
        ],
        "{:#?}",
        report.errors
    );
    assert_eq!(report.rows, 11);
    assert_eq!(report.imported, 2);
    assert_eq!(
        store.product_by_sku("J9").unwrap().map(|p| p.unit),
        Some(Unit::Kg)
    );
}

#[test]
fn all_or_nothing_leaves_the_database_unchanged() {
    let (dir, mut store) = new_store();
    import(
        &mut store,
        &write(&dir, "base.csv", GOOD_CSV),
        ImportMode::AllOrNothing,
    );
    let before = snapshot(&store);
    // Good updates, new products and renames, plus one bad row at the end.
    let mut csv = format!(
        "{HEADER}\
         COKE330,可口可乐 零度,Coke Zero,饮料,standard,piece,9.99,6907777777777\n\
         MILK1L,纯牛奶 1L,Pure Milk 1L,乳制品,food,piece,1.00,\n\
         NEW1,新品,New,,standard,piece,1,6908888888888\n"
    );
    csv.push_str("BAD,坏,,,standard,piece,12;5,\n");
    let report = import(
        &mut store,
        &write(&dir, "v2.csv", csv),
        ImportMode::AllOrNothing,
    );
    assert!(!report.committed);
    assert_eq!((report.rows, report.accepted, report.rejected), (4, 3, 1));
    assert_eq!(
        (report.imported, report.inserted, report.updated),
        (0, 0, 0)
    );
    assert_eq!(report.errors[0].line, 5);
    assert!(report.to_string().contains("nothing changed"), "{report}");
    assert_eq!(snapshot(&store), before);

    // Every kind of bad row at once: all listed, nothing applied.
    let (bytes, expected) = bad_csv();
    let report = import(
        &mut store,
        &write(&dir, "bad.csv", &bytes),
        ImportMode::AllOrNothing,
    );
    assert!(!report.committed);
    assert_eq!(report.rejected, expected.len() as u64);
    assert_eq!(report.errors.len(), expected.len());
    assert_eq!(snapshot(&store), before);
}

#[test]
fn keep_good_commits_in_batches_and_caps_the_error_list() {
    let (dir, mut store) = new_store();
    let mut csv = String::from(HEADER);
    let n = 45_000;
    for i in 0..n {
        if i % 30 == 7 {
            csv.push_str(&format!("S{i},坏价格,,,standard,piece,abc,\n"));
        } else {
            csv.push_str(&format!(
                "S{i},商品{i},Product {i},,food,piece,{}.{:02},69{i:011}\n",
                i % 100,
                i % 100
            ));
        }
    }
    let path = write(&dir, "big.csv", &csv);
    let mut progress_calls = 0;
    let report = store
        .import_catalog(&path, &ImportOptions::default(), &mut |_| {
            progress_calls += 1
        })
        .unwrap();
    let bad = (0..n).filter(|i| i % 30 == 7).count() as u64;
    assert_eq!(report.rejected, bad);
    assert_eq!(report.errors.len(), MAX_REPORTED_ERRORS.min(bad as usize));
    assert_eq!(report.unlisted_errors(), bad - report.errors.len() as u64);
    assert_eq!(report.imported, n - bad);
    assert_eq!(store.product_count().unwrap(), n - bad);
    assert_eq!(report.errors[0].line, 9); // S7
    assert!(progress_calls >= 45);
    assert_eq!(search(&store, "商品44999"), ["S44999"]);
    assert_eq!(
        store
            .product_by_barcode("6900000044999")
            .unwrap()
            .map(|p| p.price),
        Some(dec!(99.99))
    );
}

#[test]
fn upsert_deactivate_and_tax_classes() {
    let (_dir, store) = new_store();
    let mut classes = store.tax_classes().unwrap();
    classes.sort_by(|a, b| a.code.cmp(&b.code));
    let mut expected = tax_classes();
    expected.sort_by(|a, b| a.code.cmp(&b.code));
    assert_eq!(classes, expected);
    // Rates are resolved on read: changing a class changes its products.
    let mut product = Product {
        sku: "TEA".into(),
        name: "龙井茶".into(),
        name_en: "Longjing Tea".into(),
        barcodes: vec!["6912000000001".into(), "6912000000002".into()],
        category: "饮料".into(),
        tax_class: "standard".into(),
        tax_rate: dec!(0.99), // ignored
        unit: Unit::Piece,
        price: dec!(88.8),
    };
    store.upsert_product(&product).unwrap();
    let got = store.product_by_barcode("6912000000002").unwrap().unwrap();
    assert_eq!((got.tax_rate, got.price), (dec!(0.13), dec!(88.80)));
    store
        .upsert_tax_class(&TaxClass {
            code: "standard".into(),
            rate: dec!(0.130),
            name: "renamed".into(),
        })
        .unwrap();
    assert_eq!(store.tax_classes().unwrap().len(), 4);

    product.barcodes = vec!["6912000000003".into()];
    product.name = "西湖龙井".into();
    store.upsert_product(&product).unwrap();
    assert_eq!(store.product_by_barcode("6912000000001").unwrap(), None);
    assert_eq!(search(&store, "龙井"), ["TEA"]);
    assert_eq!(search(&store, "西湖"), ["TEA"]);
    assert_eq!(store.product_count().unwrap(), 1);

    // Refused: barcode of another SKU, bad price, unknown class, bad rate.
    let other = Product {
        sku: "OTHER".into(),
        barcodes: vec!["6912000000003".into()],
        ..product.clone()
    };
    let err = store.upsert_product(&other).unwrap_err();
    assert!(err.to_string().contains("TEA"), "{err}");
    assert_eq!(store.product_by_sku("OTHER").unwrap(), None);
    for bad in [
        Product {
            price: dec!(-1),
            ..product.clone()
        },
        Product {
            price: dec!(1.234),
            ..product.clone()
        },
        Product {
            tax_class: "nope".into(),
            ..product.clone()
        },
        Product {
            sku: " ".into(),
            ..product.clone()
        },
    ] {
        assert!(store.upsert_product(&bad).is_err(), "{bad:?}");
    }
    assert!(
        store
            .upsert_tax_class(&TaxClass {
                code: "x".into(),
                rate: dec!(13),
                name: String::new()
            })
            .is_err()
    );

    // Deactivation hides the product; an upsert brings it back.
    assert!(store.deactivate_product("TEA").unwrap());
    assert!(!store.deactivate_product("NOPE").unwrap());
    assert_eq!(store.product_by_sku("TEA").unwrap(), None);
    assert_eq!(store.product_by_barcode("6912000000003").unwrap(), None);
    assert!(search(&store, "龙井").is_empty());
    assert_eq!(store.product_count().unwrap(), 0);
    // Its barcode still belongs to it.
    assert!(store.upsert_product(&other).is_err());
    store.upsert_product(&product).unwrap();
    assert_eq!(search(&store, "龙井"), ["TEA"]);
}

#[test]
fn catalog_survives_reopen() {
    let (dir, mut store) = new_store();
    import(
        &mut store,
        &write(&dir, "c.csv", GOOD_CSV),
        ImportMode::AllOrNothing,
    );
    drop(store);
    let store = Store::open(dir.path().join("till.db")).unwrap();
    assert_catalog_loaded(&store);
    assert_eq!(search(&store, "牛奶"), ["MILK1L"]);
}

fn garbage_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..60),
        "[ -~]{0,60}".prop_map(String::into_bytes),
        "\\PC{0,40}".prop_map(String::into_bytes),
        // Near-valid rows with random fields.
        (
            "[A-Za-z0-9 ]{0,8}",
            "\\PC{0,10}",
            prop_oneof![Just("standard".to_string()), "[a-z]{0,6}"],
            prop_oneof![Just("kg".to_string()), "[a-z]{0,4}"],
            "[-0-9.,]{0,7}",
            "[0-9|]{0,30}",
        )
            .prop_map(|(s, n, t, u, p, b)| format!("{s},{n},,,{t},{u},{p},{b}").into_bytes()),
        (
            "\\PC{0,8}",
            "[-0-9.]{0,6}",
            proptest::collection::vec("[0-9]{1,4}", 0..4)
        )
            .prop_map(|(s, p, b)| format!(
                r#"{{"sku":{s:?},"name":"x","tax_class":"standard","price":"{p}","barcodes":{b:?}}}"#
            )
            .into_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn garbage_never_panics_the_importer(
        lines in proptest::collection::vec(garbage_line(), 0..25),
        jsonl in any::<bool>(),
        all_or_nothing in any::<bool>(),
        queries in proptest::collection::vec(
            prop_oneof!["\\PC{0,12}", "[\"*:^()+ a-z0-9-]{0,10}"],
            4,
        ),
    ) {
        let (dir, mut store) = new_store();
        let mut bytes = if jsonl { Vec::new() } else { HEADER.as_bytes().to_vec() };
        for l in &lines {
            bytes.extend_from_slice(l);
            bytes.push(b'\n');
        }
        let path = write(&dir, if jsonl { "g.jsonl" } else { "g.csv" }, &bytes);
        let mode = if all_or_nothing { ImportMode::AllOrNothing } else { ImportMode::KeepGood };
        let report = store
            .import_catalog(&path, &ImportOptions { mode, format: None }, &mut |_| {})
            .expect("garbage is reported per row, not as an error");
        prop_assert_eq!(report.rows, report.accepted + report.rejected);
        prop_assert_eq!(report.errors.len() as u64, report.rejected);
        let count = store.product_count().unwrap();
        if report.committed {
            prop_assert_eq!(count, report.imported);
        } else {
            prop_assert_eq!(count, 0);
        }
        let physical_lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        for e in &report.errors {
            prop_assert!(e.line >= 1 && e.line <= physical_lines, "{:?}", e);
        }
        // Any user input is a valid search (no FTS syntax errors).
        for q in &queries {
            let found = store.search_products(q, 5);
            prop_assert!(found.is_ok(), "{:?}: {:?}", q, found);
        }
    }
}

/// 1,000,000 products with 1-3 barcodes: `cargo test -p tillstone-store --release -- --ignored`.
#[test]
#[ignore = "slow: generates and imports 1,000,000 products"]
fn import_one_million_products() {
    use std::io::Write;
    use std::time::Instant;
    let (dir, mut store) = new_store();
    let path = dir.path().join("million.csv");
    let words = [
        ("纯牛奶", "Pure Milk"),
        ("可口可乐", "Coca-Cola"),
        ("红富士苹果", "Fuji Apples"),
        ("薯片", "Potato Chips"),
        ("洗发水", "Shampoo"),
        ("绍兴黄酒", "Shaoxing Rice Wine"),
        ("水饺", "Dumplings"),
        ("吐司", "Toast"),
    ];
    let n: u64 = 1_000_000;
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        w.write_all(HEADER.as_bytes()).unwrap();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for i in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let (zh, en) = words[(x % words.len() as u64) as usize];
            let codes: Vec<String> = (0..1 + x % 3)
                .map(|j| format!("69{:011}", i * 3 + j))
                .collect();
            writeln!(
                w,
                "P{i:07},{zh} {i},{en} {i},,{},{},{}.{:02},{}",
                if x.is_multiple_of(10) {
                    "food"
                } else {
                    "standard"
                },
                if x.is_multiple_of(10) { "kg" } else { "piece" },
                x % 200,
                x % 100,
                codes.join("|")
            )
            .unwrap();
        }
    }
    let size = std::fs::metadata(&path).unwrap().len();
    let started = Instant::now();
    let report = import(&mut store, &path, ImportMode::KeepGood);
    let first = started.elapsed();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.imported, n);
    let started = Instant::now();
    let again = import(&mut store, &path, ImportMode::AllOrNothing);
    let second = started.elapsed();
    assert_eq!(again.unchanged, n);
    println!(
        "1M products ({} MB): import {first:.1?}, unchanged re-import {second:.1?}",
        size / 1_000_000
    );
    for q in [
        "牛奶",
        "可口可乐",
        "奶",
        "milk",
        "P0999999",
        "6900000000000",
        "黄酒 99",
    ] {
        let started = Instant::now();
        let found = store.search_products(q, 20).unwrap();
        println!(
            "search {q:?}: {} results in {:.2?}",
            found.len(),
            started.elapsed()
        );
        assert!(!found.is_empty(), "{q}");
    }
    assert_eq!(store.product_count().unwrap(), n);
}
