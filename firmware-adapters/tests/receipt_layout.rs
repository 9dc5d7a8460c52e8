//! Text layout: widths, columns, wrapping, alignment on 58 mm and 80 mm paper.

use rust_decimal_macros::dec;
use tillstone_devices::receipt::width::{char_width, str_width, wrap};
use tillstone_devices::receipt::{
    Align, ItemRow, LayoutLine, Paper, ReceiptDoc, TotalRow, layout, sample,
};

#[test]
fn char_widths_cover_cjk_fullwidth_hangul_kana_and_combining_marks() {
    for c in [
        '中', '文', '，', '。', '（', '￥', 'Ａ', '１', '한', 'あ', 'カ', '㐀', '𠀀', '〇',
    ] {
        assert_eq!(char_width(c), 2, "{c:?} should be wide");
    }
    for c in ['a', 'Z', '1', ' ', '-', '¥', 'é', 'ß', 'Ω', 'ｶ'] {
        assert_eq!(char_width(c), 1, "{c:?} should be narrow");
    }
    for c in ['\u{0301}', '\u{200B}', '\u{FE0F}', '\u{3099}', '\u{1b}'] {
        assert_eq!(char_width(c), 0, "{c:?} should take no column");
    }
    assert_eq!(str_width("可口可乐 Coke 330ml"), 8 + 1 + 4 + 1 + 5);
    assert_eq!(str_width("e\u{0301}"), 1);
}

#[test]
fn wrap_breaks_cjk_anywhere_and_latin_at_spaces() {
    assert_eq!(wrap("一二三四五六七", 6), vec!["一二三", "四五六", "七"]);
    // A wide character never straddles the limit.
    assert_eq!(wrap("a一二三", 6), vec!["a一二", "三"]);
    assert_eq!(
        wrap("Extra virgin olive oil", 10),
        vec!["Extra", "virgin", "olive oil"]
    );
    assert_eq!(
        wrap("Supercalifragilistic", 8),
        vec!["Supercal", "ifragili", "stic"]
    );
    assert_eq!(wrap("", 8), vec![""]);
    // A Latin word after CJK text moves down whole; closing punctuation never starts a line.
    assert_eq!(wrap("天然水550ml", 8), vec!["天然水", "550ml"]);
    assert_eq!(wrap("一二三。", 6), vec!["一二", "三。"]);
    for line in wrap("维达超韧抽纸3层130抽×6包 with a long English tail", 15) {
        assert!(str_width(&line) <= 15, "{line:?}");
    }
}

fn text_lines(doc: &ReceiptDoc, paper: Paper) -> Vec<String> {
    layout(doc, paper).text_lines()
}

#[test]
fn no_line_is_wider_than_the_paper() {
    for paper in [Paper::Mm58, Paper::Mm80] {
        for doc in [sample::chinese_sale(), sample::english_sale()] {
            for line in text_lines(&doc, paper) {
                assert!(
                    str_width(&line) <= paper.columns(),
                    "{paper:?}: {line:?} is {} columns",
                    str_width(&line)
                );
            }
        }
    }
}

#[test]
fn item_rows_align_name_qty_price_and_amount_columns_on_80mm() {
    let lines = text_lines(&sample::chinese_sale(), Paper::Mm80);
    let row = |prefix: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .cloned()
            .unwrap_or_else(|| panic!("no line starting {prefix:?} in {lines:#?}"))
    };
    // name 22 columns | qty 8 | price 9 | amount 9: amounts end at column 48.
    let water = row("农夫山泉");
    assert_eq!(str_width(&water), 48);
    assert_eq!(water, "农夫山泉饮用天然水           2     2.00     4.00");
    let next = lines
        .iter()
        .position(|l| *l == water)
        .map(|i| lines[i + 1].clone());
    assert_eq!(next.as_deref(), Some("550ml"));
    let apples = row("红富士苹果");
    assert!(apples.ends_with("1.256kg    12.80    16.08"), "{apples:?}");
    // Discount sub-line: indented label, amount right-aligned.
    let discount = row("  会员9折");
    assert_eq!(str_width(&discount), 48);
    assert!(discount.ends_with("-1.61"));
    // The header row uses the same columns.
    let head = row("商品");
    assert!(head.ends_with("    数量     单价     金额"), "{head:?}");
}

#[test]
fn long_names_wrap_onto_following_lines_with_numbers_on_the_first() {
    let lines = text_lines(&sample::english_sale(), Paper::Mm58);
    let i = lines
        .iter()
        .position(|l| l.starts_with("Extra virgin"))
        .expect("olive oil row");
    // 58 mm: name 16 | qty 6 | amount 10.
    assert_eq!(lines[i], "Extra virgin         1     89.00");
    assert_eq!(lines[i + 1], "olive oil, cold");
    assert_eq!(lines[i + 2], "pressed, 750ml");
    assert_eq!(lines[i + 3], "bottle");
    assert_eq!(lines[i + 4], "  Promo 10% off            -8.90");
    // Quantity 2: the unit price follows on a sub-line (no price column on 58 mm).
    let j = lines
        .iter()
        .position(|l| l.starts_with("Organic"))
        .expect("milk");
    assert_eq!(lines[j], "Organic whole        2     31.00");
    assert_eq!(lines[j + 1], "milk 1L");
    assert_eq!(lines[j + 2], "  @15.50");
}

#[test]
fn header_is_centred_and_first_line_bold_double_height() {
    let lay = layout(&sample::chinese_sale(), Paper::Mm58);
    let LayoutLine::Text { text, style } = &lay.lines[0] else {
        panic!("first line should be text: {:?}", lay.lines[0]);
    };
    assert_eq!(text, "石头便利店（人民路店）");
    assert!(style.bold && style.double_height);
    assert_eq!(style.align, Align::Center);
    // The emphasised total is bold and double height, label left and amount right.
    let total = lay
        .lines
        .iter()
        .find_map(|l| match l {
            LayoutLine::Text { text, style } if text.starts_with("应付") => Some((text, style)),
            _ => None,
        })
        .expect("total line");
    assert_eq!(total.0, &format!("应付 ￥{}39.37", " ".repeat(32 - 7 - 5)));
    assert!(total.1.bold && total.1.double_height);
    assert!(lay.lines.contains(&LayoutLine::Barcode {
        data: "RCS01-T02-000153".into()
    }));
    assert!(matches!(
        lay.lines.iter().rev().nth(1),
        Some(LayoutLine::Qr { .. })
    ));
}

#[test]
fn amounts_are_formatted_from_decimals_and_control_characters_are_dropped() {
    let doc = ReceiptDoc {
        header: vec!["Shop\u{1b}@".into()],
        items: vec![ItemRow {
            name: "Tea\u{1d}V\u{0}".into(),
            qty: dec!(3.000),
            unit: None,
            unit_price: dec!(1.5),
            amount: dec!(4.5),
            notes: vec![],
        }],
        totals: vec![TotalRow {
            label: "Total".into(),
            amount: dec!(4.499),
            emphasis: false,
        }],
        decimals: 2,
        ..ReceiptDoc::default()
    };
    let lines = text_lines(&doc, Paper::Mm58);
    assert_eq!(lines[0], "Shop@");
    assert!(
        lines.contains(&"TeaV                 3      4.50".to_string()),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&format!("Total{}4.50", " ".repeat(32 - 5 - 4))),
        "{lines:#?}"
    );
    assert!(lines.iter().all(|l| !l.chars().any(|c| c.is_control())));
}

#[test]
fn unreadable_logo_is_left_out_with_a_warning() {
    let doc = ReceiptDoc {
        logo_png: Some(b"not a png".to_vec()),
        header: vec!["Shop".into()],
        ..ReceiptDoc::default()
    };
    let lay = layout(&doc, Paper::Mm80);
    assert_eq!(lay.warnings.len(), 1, "{:?}", lay.warnings);
    assert!(!lay.lines.iter().any(|l| matches!(l, LayoutLine::Image(_))));
}

#[test]
fn print_layouts() {
    for paper in [Paper::Mm58, Paper::Mm80] {
        for doc in [sample::chinese_sale(), sample::english_sale()] {
            println!("---- {paper:?}");
            for l in text_lines(&doc, paper) {
                println!("|{l}");
            }
        }
    }
}
