//! PNG previews from the same layout: golden pictures under tests/golden/, barcode bars read
//! back from the picture.

use std::path::PathBuf;
use tillstone_devices::preview::{PreviewOptions, png_bytes, render, render_png};
use tillstone_devices::receipt::code128::{decode_modules, text_of_symbols};
use tillstone_devices::receipt::escpos::barcode_module;
use tillstone_devices::receipt::font::CjkFont;
use tillstone_devices::receipt::{Bitmap, Paper, ReceiptDoc, layout, sample};

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn font() -> CjkFont {
    CjkFont::load(None).expect("a CJK font (CI installs fonts-wqy-microhei)")
}

fn render_doc(doc: &ReceiptDoc, paper: Paper) -> Bitmap {
    render(
        &layout(doc, paper),
        &font(),
        PreviewOptions::for_paper(paper),
    )
    .expect("render")
}

/// Same size as the committed picture and at most 0.5 % of pixels different (a font update
/// may move a few pixels; a layout change moves many). `UPDATE_GOLDEN=1` rewrites it.
fn check_golden(name: &str, page: &Bitmap) {
    let path = golden(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, png_bytes(page).expect("png")).expect("write golden");
    }
    let want = image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()))
        .to_luma8();
    assert_eq!(
        want.dimensions(),
        (page.width(), page.height()),
        "{name} size"
    );
    let diff = want
        .enumerate_pixels()
        .filter(|(x, y, p)| (p.0[0] < 128) != page.get(*x, *y))
        .count();
    let total = (page.width() * page.height()) as usize;
    assert!(
        diff * 200 <= total,
        "{name}: {diff} of {total} pixels differ"
    );
}

/// Find the barcode: the row with the most black/white transitions, read at the module width.
fn read_barcode(page: &Bitmap, module: u32) -> Option<String> {
    let row = (0..page.height()).max_by_key(|&y| {
        (1..page.width())
            .filter(|&x| page.get(x, y) != page.get(x - 1, y))
            .count()
    })?;
    let first = (0..page.width()).find(|&x| page.get(x, row))?;
    let last = (0..page.width()).rev().find(|&x| page.get(x, row))?;
    let modules: Vec<bool> = (first..=last)
        .step_by(module as usize)
        .map(|x| page.get(x, row))
        .collect();
    text_of_symbols(&decode_modules(&modules)?)
}

#[test]
fn chinese_preview_is_a_receipt_picture_at_80mm() {
    let doc = sample::chinese_sale();
    let page = render_doc(&doc, Paper::Mm80);
    assert_eq!(page.width(), 576);
    assert!(page.height() > 1200, "height {}", page.height());
    check_golden("sale_zh_80mm.png", &page);
    let module = barcode_module("RCS01-T02-000153", Paper::Mm80).expect("module") as u32;
    assert_eq!(
        read_barcode(&page, module).as_deref(),
        Some("RCS01-T02-000153")
    );
}

#[test]
fn english_preview_at_58mm() {
    let doc = sample::english_sale();
    let page = render_doc(&doc, Paper::Mm58);
    assert_eq!(page.width(), 384);
    check_golden("sale_en_58mm.png", &page);
    let module = barcode_module("RCS01-T02-000154", Paper::Mm58).expect("module") as u32;
    assert_eq!(
        read_barcode(&page, module).as_deref(),
        Some("RCS01-T02-000154")
    );
}

#[test]
fn text_is_drawn_in_columns_of_twelve_dots() {
    let f = font();
    let style = tillstone_devices::receipt::Style::PLAIN;
    let line = f.render_line("中a", style, Paper::Mm58);
    let ink = |x0: u32, x1: u32| {
        (x0..x1)
            .flat_map(|x| (0..30).map(move |y| (x, y)))
            .filter(|&(x, y)| line.get(x, y))
            .count()
    };
    assert!(ink(0, 24) > 40, "中 in the first two cells");
    assert!(ink(24, 36) > 10, "a in the third cell");
    assert_eq!(ink(36, 384), 0);
}

#[test]
fn png_api_and_missing_font_error() {
    let png = render_png(&sample::english_sale(), Paper::Mm80, None).expect("png");
    assert!(png.starts_with(b"\x89PNG"));
    let err = render_png(
        &sample::english_sale(),
        Paper::Mm80,
        Some(std::path::Path::new("/nonexistent/font.ttc")),
    )
    .expect_err("no font");
    assert!(err.to_string().contains("/nonexistent/font.ttc"), "{err}");
}

#[test]
fn code128_patterns_round_trip() {
    use tillstone_devices::receipt::code128::{Segment, modules, segments, symbols};
    for data in [
        "RC2025030800012",
        "A",
        "12",
        "1234567",
        "x{y}~ ",
        "S01-T02-000153",
        "16161616",
    ] {
        let m = modules(data).expect("modules");
        let syms = symbols(data).expect("symbols");
        assert_eq!(m.len(), (syms.len() - 1) * 11 + 13);
        assert_eq!(
            text_of_symbols(&decode_modules(&m).expect("decodes")).as_deref(),
            Some(data)
        );
    }
    assert_eq!(
        segments("RC20250308").expect("segments"),
        vec![Segment::B("RC".into()), Segment::C(vec![20, 25, 3, 8])]
    );
    // Pair 16 would be a DLE byte on the wire: that run stays in set B.
    assert_eq!(
        segments("1604").expect("segments"),
        vec![Segment::B("1604".into())]
    );
    assert!(segments("中").is_err() && segments("").is_err());
}
