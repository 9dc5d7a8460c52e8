//! ESC/POS bytes: golden files, a small decoder that turns the bytes back into text, command
//! encodings, raster mode, logo, size and transfer time.

use std::path::PathBuf;
use tillstone_devices::receipt::escpos::{
    self, DrawerPulse, EncodeOptions, QrEc, TextMode, encode, encode_text,
};
use tillstone_devices::receipt::font::CjkFont;
use tillstone_devices::receipt::{ItemRow, Layout, Paper, ReceiptDoc, layout, sample};

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compare with the committed golden file; `UPDATE_GOLDEN=1` rewrites it.
fn check_golden(name: &str, bytes: &[u8]) {
    let path = golden(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, bytes).expect("write golden");
    }
    let want = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert!(
        want == bytes,
        "{name} differs from the golden file ({} vs {} bytes); decoded now:\n{}",
        bytes.len(),
        want.len(),
        decode(bytes).join("\n")
    );
}

/// What the decoder saw: text lines and markers for non-text blocks.
fn decode(bytes: &[u8]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut text: Vec<u8> = Vec::new();
    let mut i = 0;
    let take = |i: usize, n: usize| -> &[u8] {
        bytes
            .get(i..i + n)
            .unwrap_or_else(|| panic!("truncated command at {i}"))
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            0x0A => {
                let (s, _, bad) = encoding_rs::GB18030.decode(&text);
                assert!(!bad, "invalid GB18030 in {text:?}");
                lines.push(s.into_owned());
                text.clear();
                i += 1;
            }
            0x1B => {
                let cmd = take(i, 2)[1];
                if cmd == b'$' {
                    // Absolute position: pad with spaces up to that column (12-dot cells).
                    let h = take(i, 4);
                    let col = (h[2] as usize + 256 * h[3] as usize) / 12;
                    let (s, _, _) = encoding_rs::GB18030.decode(&text);
                    let now = tillstone_devices::receipt::width::str_width(&s);
                    assert!(col >= now, "ESC $ moves back from column {now} to {col}");
                    text.extend(std::iter::repeat_n(b' ', col - now));
                    i += 4;
                    continue;
                }
                i += match cmd {
                    b'@' => 2,
                    b'a' | b'E' | b'd' => 3,
                    b'p' => 5,
                    _ => panic!("unknown ESC {cmd:#x} at {i}"),
                };
            }
            0x1C => {
                let cmd = take(i, 2)[1];
                assert!(cmd == b'&' || cmd == b'.', "unknown FS {cmd:#x}");
                i += 2;
            }
            0x10 => panic!("DLE (real-time command) inside a receipt at {i}"),
            0x1D => {
                let cmd = take(i, 2)[1];
                match cmd {
                    b'!' | b'H' | b'f' | b'h' | b'w' => i += 3,
                    b'V' => {
                        assert_eq!(take(i, 3)[2], 66, "cut must be partial (GS V 66 n)");
                        lines.push("<CUT>".into());
                        i += 4;
                    }
                    b'k' => {
                        let h = take(i, 4);
                        assert_eq!(h[2], 73, "Code 128");
                        let n = h[3] as usize;
                        let data = take(i + 4, n);
                        let mut s = String::new();
                        let mut set_c = false;
                        let mut j = 0;
                        while j < data.len() {
                            if data[j] == b'{' {
                                match data[j + 1] {
                                    b'B' => set_c = false,
                                    b'C' => set_c = true,
                                    b'{' => s.push('{'),
                                    x => panic!("code set {x}"),
                                }
                                j += 2;
                            } else if set_c {
                                s.push_str(&format!("{:02}", data[j]));
                                j += 1;
                            } else {
                                s.push(data[j] as char);
                                j += 1;
                            }
                        }
                        lines.push(format!("<BARCODE {s}>"));
                        i += 4 + n;
                    }
                    b'(' => {
                        let h = take(i, 7);
                        assert_eq!((h[2], h[5]), (b'k', 49), "GS ( k for QR");
                        let len = h[3] as usize + 256 * h[4] as usize;
                        let body = take(i + 5, len);
                        match body[1] {
                            65 => assert_eq!(&body[2..], &[50, 0], "QR model 2"),
                            80 => {
                                lines.push(format!("<QR {}>", String::from_utf8_lossy(&body[3..])))
                            }
                            67 | 69 | 81 => {}
                            f => panic!("QR function {f}"),
                        }
                        i += 5 + len;
                    }
                    b'v' => {
                        let h = take(i, 8);
                        let (w, ht) = (
                            h[4] as usize + 256 * h[5] as usize,
                            h[6] as usize + 256 * h[7] as usize,
                        );
                        lines.push(format!("<IMAGE {}x{ht}>", w * 8));
                        i += 8 + w * ht;
                    }
                    _ => panic!("unknown GS {cmd:#x} at {i}"),
                }
            }
            _ => {
                text.push(b);
                i += 1;
            }
        }
    }
    assert!(text.is_empty(), "text without a line feed at the end");
    lines
}

fn text_bytes(doc: &ReceiptDoc, paper: Paper) -> Vec<u8> {
    encode(&layout(doc, paper), &EncodeOptions::default()).expect("encode")
}

#[test]
fn chinese_sale_golden_bytes_decode_to_the_receipt_text() {
    let bytes = text_bytes(&sample::chinese_sale(), Paper::Mm80);
    check_golden("sale_zh_80mm.bin", &bytes);
    assert_eq!(&bytes[..4], &[0x1B, b'@', 0x1C, b'&'], "init, Chinese mode");
    let lines = decode(&bytes);
    let expect = [
        "石头便利店（人民路店）",
        "销售小票",
        "单号：                            S01-T02-000153",
        "商品                      数量     单价     金额",
        "农夫山泉饮用天然水           2     2.00     4.00",
        "550ml",
        "红富士苹果（散装）     1.256kg    12.80    16.08",
        "  会员9折                                  -1.61",
        "应付 ￥                                    39.37",
        "13%                      25.49              3.31",
        "微信支付                                   20.00",
        "找零                                        0.63",
        "积分余额：                                 1,288",
        "谢谢惠顾，欢迎再次光临！",
        "<BARCODE RCS01-T02-000153>",
        "<QR https://r.tillstone.cn/e/S01-T02-000153>",
        "扫码开电子发票",
    ];
    let mut at = 0;
    for e in expect {
        let found = lines[at..].iter().position(|l| l == e);
        let Some(k) = found else {
            panic!("{e:?} not found (in order) in:\n{}", lines.join("\n"));
        };
        at += k + 1;
    }
    assert_eq!(lines.last().map(String::as_str), Some("<CUT>"));
    // ￥ goes out as A3 A4, never as a four-byte GB18030 ¥.
    assert!(bytes.windows(2).any(|w| w == [0xA3, 0xA4]));
}

#[test]
fn english_sale_golden_bytes_decode_to_the_receipt_text() {
    let bytes = text_bytes(&sample::english_sale(), Paper::Mm58);
    check_golden("sale_en_58mm.bin", &bytes);
    let lines = decode(&bytes);
    let want: Vec<String> = layout(&sample::english_sale(), Paper::Mm58)
        .text_lines()
        .into_iter()
        .chain(["<BARCODE RCS01-T02-000154>".to_string()])
        .collect();
    // Everything but the feed before the cut and the cut itself.
    let got: Vec<String> = lines.iter().filter(|l| *l != "<CUT>").cloned().collect();
    assert_eq!(got, want);
    assert_eq!(
        lines[..4],
        [
            "Tillstone Market",
            "100 Renmin Road, Shanghai",
            "Tel 021-6321 0000",
            "SALES RECEIPT"
        ]
    );
    assert!(
        lines.iter().all(|l| l.is_ascii()),
        "an English receipt is plain ASCII text"
    );
}

#[test]
fn commands_have_the_right_bytes() {
    assert_eq!(escpos::partial_cut(0), [0x1D, 0x56, 66, 0]);
    assert_eq!(
        escpos::drawer_kick(DrawerPulse {
            pin: 0,
            on_ms: 100,
            off_ms: 200
        }),
        [0x1B, 0x70, 0, 50, 100]
    );
    assert_eq!(escpos::status_request(1), [0x10, 0x04, 1]);
    let mut qr = Vec::new();
    escpos::qr_code(b"AB", 6, QrEc::Q, &mut qr);
    assert_eq!(
        qr,
        [
            0x1D, 0x28, 0x6B, 4, 0, 49, 65, 50, 0, // model 2
            0x1D, 0x28, 0x6B, 3, 0, 49, 67, 6, // module size
            0x1D, 0x28, 0x6B, 3, 0, 49, 69, 50, // error correction Q
            0x1D, 0x28, 0x6B, 5, 0, 49, 80, 48, b'A', b'B', // store
            0x1D, 0x28, 0x6B, 3, 0, 49, 81, 48, // print
        ]
    );
    let segs = tillstone_devices::receipt::code128::segments("RC20250308").expect("segments");
    let mut bc = Vec::new();
    escpos::code128(&segs, 2, 64, &mut bc);
    assert_eq!(
        bc,
        [
            0x1D, b'H', 2, 0x1D, b'f', 0, 0x1D, b'h', 64, 0x1D, b'w', 2, 0x1D, b'k', 73, 10, b'{',
            b'B', b'R', b'C', b'{', b'C', 20, 25, 3, 8
        ]
    );
    assert_eq!(
        encode_text("￥¥中A"),
        [0xA3, 0xA4, 0xA3, 0xA4, 0xD6, 0xD0, b'A']
    );
    // Outside GBK (a four-byte GB18030 sequence the printer's font lacks): '?'.
    assert_eq!(encode_text("😀"), b"?");
}

#[test]
fn drawer_kick_and_styles_in_a_receipt() {
    let lay = layout(&sample::chinese_sale(), Paper::Mm58);
    let opts = EncodeOptions {
        kick_drawer: Some(DrawerPulse::default()),
        ..EncodeOptions::default()
    };
    let bytes = encode(&lay, &opts).expect("encode");
    assert_eq!(&bytes[4..9], &escpos::drawer_kick(DrawerPulse::default()));
    // Header: centred, bold, double height, then back to normal.
    assert_eq!(
        &bytes[9..18],
        &[0x1B, b'a', 1, 0x1B, b'E', 1, 0x1D, b'!', 1]
    );
    assert!(bytes.ends_with(&[0x1B, b'd', 4, 0x1D, b'V', 66, 0]));
    assert!(
        !bytes.windows(2).any(|w| w == [0x10, 0x04]),
        "no DLE EOT inside"
    );
}

fn font() -> CjkFont {
    CjkFont::load(None).expect("a CJK font (CI installs fonts-wqy-microhei)")
}

#[test]
fn raster_mode_sends_cjk_lines_as_images_and_ascii_lines_as_text() {
    let f = font();
    let lay = layout(&sample::chinese_sale(), Paper::Mm58);
    let opts = EncodeOptions {
        text_mode: TextMode::Raster,
        font: Some(&f),
        ..EncodeOptions::default()
    };
    let bytes = encode(&lay, &opts).expect("encode");
    assert!(
        !bytes.windows(2).any(|w| w == [0x1C, b'&']),
        "no Chinese mode"
    );
    assert!(
        !bytes.windows(2).any(|w| w == [0x10, 0x04]),
        "no DLE EOT inside"
    );
    let lines = decode(&bytes);
    let images = lines
        .iter()
        .filter(|l| l.starts_with("<IMAGE 384x"))
        .count();
    let cjk_lines = lay.text_lines().iter().filter(|l| !l.is_ascii()).count();
    assert_eq!(images, cjk_lines);
    // No GB18030 text went out: every text line decodes as ASCII.
    assert!(lines.iter().all(|l| l.is_ascii()), "{lines:#?}");
    assert!(lines.contains(&"--------------------------------".to_string()));
    // The header line is double height: 60 rows.
    assert_eq!(lines[0], "<IMAGE 384x60>");
    assert!(matches!(
        encode(
            &lay,
            &EncodeOptions {
                text_mode: TextMode::Raster,
                ..EncodeOptions::default()
            }
        ),
        Err(escpos::EncodeError::NoFont)
    ));
}

fn png_logo() -> Vec<u8> {
    // A 800 x 200 grey gradient with a black bar: wider than any paper.
    let img = image::GrayImage::from_fn(800, 200, |x, y| {
        if (80..120).contains(&y) {
            image::Luma([0])
        } else {
            image::Luma([(x * 255 / 800) as u8])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

#[test]
fn logo_is_scaled_to_the_paper_and_dithered() {
    let doc = ReceiptDoc {
        logo_png: Some(png_logo()),
        header: vec!["Shop".into()],
        ..ReceiptDoc::default()
    };
    let lay: Layout = layout(&doc, Paper::Mm58);
    let tillstone_devices::receipt::LayoutLine::Image(img) = &lay.lines[0] else {
        panic!("logo first: {:?}", lay.lines[0]);
    };
    assert_eq!((img.width(), img.height()), (384, 96));
    // Dithering: the gradient is a mix, darker on the left; the bar is solid.
    let dark = |x0: u32, x1: u32, y: u32| (x0..x1).filter(|&x| img.get(x, y)).count();
    assert!(dark(0, 60, 10) > dark(324, 384, 10) + 20);
    assert!(
        dark(150, 230, 10) > 10 && dark(150, 230, 10) < 70,
        "a gradient, not a threshold"
    );
    assert_eq!(dark(0, 384, 48), 384);
    let bytes = encode(&lay, &EncodeOptions::default()).expect("encode");
    assert_eq!(decode(&bytes)[0], "<IMAGE 384x96>");
}

fn item(name: &str, cents: i64) -> ItemRow {
    ItemRow {
        name: name.into(),
        qty: rust_decimal::Decimal::ONE,
        unit: None,
        unit_price: rust_decimal::Decimal::new(cents, 2),
        amount: rust_decimal::Decimal::new(cents, 2),
        notes: vec![],
    }
}

fn print_size(what: &str, bytes: usize) {
    println!(
        "{what}: {bytes} bytes; at 9600 baud {:.2} s, at 115200 baud {:.3} s (8N1, 10 bits/byte)",
        bytes as f64 * 10.0 / 9600.0,
        bytes as f64 * 10.0 / 115200.0
    );
}

#[test]
fn measure_a_20_line_chinese_receipt_with_qr() {
    let full = sample::chinese_sale();
    let doc = ReceiptDoc {
        header: full.header[..2].to_vec(),
        meta: full.meta[..2].to_vec(),
        items: vec![
            item("农夫山泉550ml", 200),
            item("康师傅牛肉面", 450),
            item("伊利纯牛奶250ml", 350),
            item("维达抽纸", 1290),
            item("青岛啤酒500ml", 600),
        ],
        totals: full.totals[2..].to_vec(),
        tenders: full.tenders[..1].to_vec(),
        change: full.change.clone(),
        footer: full.footer[..1].to_vec(),
        qr: full.qr.clone(),
        ..ReceiptDoc::default()
    };
    for paper in [Paper::Mm58, Paper::Mm80] {
        let lay = layout(&doc, paper);
        assert_eq!(lay.text_lines().len(), 20, "{:#?}", lay.text_lines());
        let bytes = text_bytes(&doc, paper);
        print_size(&format!("{paper:?} text mode, 20 lines + QR"), bytes.len());
        assert!(bytes.len() <= 1536, "{} bytes", bytes.len());
    }
    let mut long = full.clone();
    long.items = (1..=20)
        .map(|i| item(&format!("商品{i:02} 康师傅红烧牛肉面"), 450 + i))
        .collect();
    let n = layout(&long, Paper::Mm58).text_lines().len();
    print_size(
        &format!("Mm58 text mode, full sample with 20 items ({n} lines) + barcode + QR"),
        text_bytes(&long, Paper::Mm58).len(),
    );
    let f = font();
    let lay = layout(&doc, Paper::Mm58);
    let raster = encode(
        &lay,
        &EncodeOptions {
            text_mode: TextMode::Raster,
            font: Some(&f),
            ..EncodeOptions::default()
        },
    )
    .expect("raster");
    print_size("Mm58 raster mode, 20 lines + QR", raster.len());
}
