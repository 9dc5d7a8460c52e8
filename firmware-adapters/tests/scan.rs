//! Scan parsing: table-driven real-world codes for every result kind, plus properties.

use proptest::prelude::*;
use rust_decimal_macros::dec;
use serde_json::json;
use tillstone_devices::scan::gs1::{self, GS};
use tillstone_devices::scan::{
    Gs1Element, GtinFormat, InvalidCode, Measure, MiddleField, RcnRule, ScaleLabelLayout,
    ScanConfig, ScanResult, Span, Symbology, gtin, parse, parse_str,
};

fn cfg() -> ScanConfig {
    ScanConfig {
        reference_year: 2026,
        ..ScanConfig::default()
    }
}

fn gtin_result(g: &str, format: GtinFormat, symbology: Symbology) -> ScanResult {
    ScanResult::Gtin {
        gtin: g.into(),
        format,
        symbology,
    }
}

fn code_of(r: &ScanResult) -> Option<InvalidCode> {
    r.invalid_code()
}

#[test]
fn check_digits_and_upc_e() {
    assert_eq!(gtin::check_digit("400638133393"), Some(1));
    assert_eq!(gtin::check_digit("9638507"), Some(4));
    assert_eq!(gtin::check_digit("10614141123456789"), Some(7));
    assert_eq!(gtin::check_digit("12a"), None);
    assert!(gtin::has_valid_check_digit("09501101530003"));
    assert!(!gtin::has_valid_check_digit(""));
    assert_eq!(
        gtin::expand_upc_e("04252614").as_deref(),
        Some("042100005264")
    );
    assert_eq!(gtin::expand_upc_e("04252615"), None);
    assert_eq!(gtin::expand_upc_e("24252614"), None);
    assert_eq!(gtin::to_gtin14("96385074"), "00000096385074");
    // GS1 price check digit worked examples (4-digit and 5-digit fields).
    assert_eq!(gtin::price_check_digit("2875"), Some(9));
    assert_eq!(gtin::price_check_digit("14685"), Some(6));
    assert_eq!(gtin::price_check_digit("1234"), Some(9));
    assert_eq!(gtin::price_check_digit("123"), None);
}

#[test]
fn gtins_table() {
    use GtinFormat::*;
    use Symbology as S;
    let cases: &[(&str, &str, GtinFormat, Symbology)] = &[
        ("6901234567892", "6901234567892", Ean13, S::Unknown),
        ("]E04006381333931", "4006381333931", Ean13, S::Ean13),
        ("5901234123457\r\n", "5901234123457", Ean13, S::Unknown),
        ("]E496385074", "96385074", Ean8, S::Ean8),
        ("96385074", "96385074", Ean8, S::Unknown),
        ("036000291452", "036000291452", UpcA, S::Unknown),
        ("]E0036000291452", "036000291452", UpcA, S::Ean13),
        ("]E00036000291452", "0036000291452", Ean13, S::Ean13),
        ("]E004252614", "042100005264", UpcE, S::Ean13),
        ("10614141000415", "10614141000415", Gtin14, S::Unknown),
        ("]I110614141000415", "10614141000415", Gtin14, S::Itf),
        ("]E3400638133393112", "4006381333931", Ean13, S::Ean13AddOn),
    ];
    for (input, g, format, sym) in cases {
        assert_eq!(
            parse_str(input, &cfg()),
            gtin_result(g, *format, *sym),
            "input {input:?}"
        );
    }
}

#[test]
fn upc_e_without_aim_is_opt_in() {
    let c = ScanConfig {
        eight_digits_as_upc_e: true,
        ..cfg()
    };
    assert_eq!(
        parse_str("04252614", &c),
        gtin_result("042100005264", GtinFormat::UpcE, Symbology::Unknown)
    );
    assert_eq!(
        code_of(&parse_str("04252614", &cfg())),
        Some(InvalidCode::BadCheckDigit)
    );
}

#[test]
fn invalid_table() {
    use InvalidCode::*;
    let long = "A".repeat(600);
    let cases: Vec<(&[u8], InvalidCode)> = vec![
        (b"", Empty),
        (b"\r\n", Empty),
        (b"]E0", Empty),
        (b"\xff\xfe690", NotUtf8),
        (b"690123\x1b4567892", ControlCharacters),
        (b"6901234\x004567892", ControlCharacters),
        (b"]C0AB\x1dCD", ControlCharacters),
        (long.as_bytes(), TooLong),
        (b"6901234567893", BadCheckDigit),
        (b"]E06901234567893", BadCheckDigit),
        (b"]E496385075", BadCheckDigit),
        (b"]E069012345678", WrongLength),
        (b"]E0690123456", WrongLength),
        (b"]E4963850", WrongLength),
        (b"]E3400638133393", WrongLength),
        (b"]E06901234A67892", BadCharacters),
        (b"]E024252614", BadCharacters),
        (b"]I110614141000416", BadCheckDigit),
        (b"]C1010950110153", WrongLength),
        (b"]C10109501101530004", BadCheckDigit),
        (b"]C1001061414112345678", WrongLength),
        (b"]C1001061414112345678971", UnknownAi),
        (b"]C1010950110153000323ABC", UnknownAi),
        (b"]C10109501101530003172502291012", BadDate),
        (b"]C1010950110153000317261300", BadDate),
        (b"]C10109501101530003112613011", BadDate),
        (b"]C1800826031525", BadDate),
        (b"]C1800826023014", BadDate),
        (b"]C18008260315", BadAiValue),
        (b"]C10109501101530003101234567890123456789012", BadAiValue),
        (b"]C110AB\xe4\xb8\xad", BadCharacters),
        (b"]C110AB{}", BadAiValue),
        (b"]C13103ABCDEF", BadAiValue),
        (b"]C13106001525", UnknownAi),
        (b"]C110A\x1d10B", DuplicateAi),
        (b"]C131030015253202000150", ConflictingAi),
        (b"]C13922100\x1d3932156100", ConflictingAi),
        (b"]C101095011015300030209501101530003", ConflictingAi),
        (b"]C139329781099", ForeignCurrency),
        (b"(01)09501101530004", BadCheckDigit),
        (b"(01)0950110153000", BadAiValue),
        (b"(23)X", UnknownAi),
        (b"\x1d0109501101530003\x1d17260230", BadDate),
    ];
    for (input, expected) in cases {
        let r = parse(input, &cfg());
        assert_eq!(
            code_of(&r),
            Some(expected),
            "input {:?} -> {r:?}",
            String::from_utf8_lossy(input)
        );
        let ScanResult::Invalid { message, .. } = &r else {
            unreachable!()
        };
        assert!(message.len() > 20 && message.is_ascii(), "{message}");
    }
}

#[test]
fn invalid_carries_escaped_data_and_message() {
    assert_eq!(
        parse(b"69\x1b01", &cfg()),
        ScanResult::Invalid {
            code: InvalidCode::ControlCharacters,
            message: "the scan contains control characters: check the scanner's prefix/suffix settings and scan again".into(),
            data: "69\\u{1b}01".into(),
        }
    );
}

fn el(ai: &str, v: &str) -> Gs1Element {
    Gs1Element::new(ai, v)
}

#[test]
fn gs1_element_strings() {
    let expected = ScanResult::Gs1 {
        gtin: Some("09501101530003".into()),
        elements: vec![
            el("01", "09501101530003"),
            el("17", "260700"),
            el("10", "AB-123"),
            el("21", "SN42"),
        ],
        weight_kg: None,
        price: None,
        currency: None,
        batch: Some("AB-123".into()),
        expiry: Some("2026-07-31".into()),
        best_before: None,
        serial: Some("SN42".into()),
        symbology: Symbology::Gs1128,
    };
    let data = format!("]C101095011015300031726070010AB-123{GS}21SN42");
    assert_eq!(parse_str(&data, &cfg()), expected);
    // Human-readable form (typed or from a hand scanner in "HRI" mode).
    let hr = parse_str("(01)09501101530003(17)260700(10)AB-123(21)SN42", &cfg());
    let ScanResult::Gs1 {
        elements, expiry, ..
    } = &hr
    else {
        panic!("{hr:?}")
    };
    assert_eq!(elements.len(), 4);
    assert_eq!(expiry.as_deref(), Some("2026-07-31"));
    // GS1 DataMatrix with the leading FNC1 sent as GS, and GS after a fixed-length field.
    let dm = format!("]d2{GS}0109501101530003{GS}17260700{GS}10AB-123{GS}21SN42");
    let ScanResult::Gs1 {
        symbology,
        elements: dm_elements,
        ..
    } = parse_str(&dm, &cfg())
    else {
        panic!()
    };
    assert_eq!(symbology, Symbology::Gs1DataMatrix);
    assert_eq!(&dm_elements, elements);
}

#[test]
fn gs1_weight_price_and_dates() {
    // Variable-measure fresh food: GTIN, net weight 1.525 kg, price 10.99, best before.
    let r = parse_str("]e00190123456789039310300152515260228392210.99", &cfg());
    // "10.99" is not digits: rejected rather than guessed.
    assert_eq!(code_of(&r), Some(InvalidCode::BadAiValue));
    let r = parse_str("]e0019012345678903931030015251526022839221099", &cfg());
    assert_eq!(
        r,
        ScanResult::Gs1 {
            gtin: Some("90123456789039".into()),
            elements: vec![
                el("01", "90123456789039"),
                el("3103", "001525"),
                el("15", "260228"),
                el("3922", "1099"),
            ],
            weight_kg: Some(dec!(1.525)),
            price: Some(dec!(10.99)),
            currency: None,
            batch: None,
            expiry: None,
            best_before: Some("2026-02-28".into()),
            serial: None,
            symbology: Symbology::Gs1DataBar,
        }
    );
    let ScanResult::Gs1 {
        weight_kg,
        price,
        currency,
        expiry,
        ..
    } = parse_str("]C1320200015017240200393215601099", &cfg())
    else {
        panic!()
    };
    assert_eq!(weight_kg, Some(dec!(0.680388555)));
    assert_eq!(price, Some(dec!(10.99)));
    assert_eq!(currency.as_deref(), Some("156"));
    assert_eq!(expiry.as_deref(), Some("2024-02-29"));
    // SSCC, counts and 8008.
    let ScanResult::Gs1 { gtin, elements, .. } = parse_str(
        &format!("]C100106141411234567897{GS}3712{GS}80082603151430"),
        &cfg(),
    ) else {
        panic!()
    };
    assert_eq!(gtin, None);
    assert_eq!(
        elements,
        vec![
            el("00", "106141411234567897"),
            el("37", "12"),
            el("8008", "2603151430")
        ]
    );
    // No AIM identifier: digits starting with an AI and forming a valid element string.
    let ScanResult::Gs1 {
        elements,
        symbology,
        ..
    } = parse_str("010950110153000317260731", &cfg())
    else {
        panic!()
    };
    assert_eq!(symbology, Symbology::Unknown);
    assert_eq!(
        elements,
        vec![el("01", "09501101530003"), el("17", "260731")]
    );
    // Any currency when the till does not pin one.
    let any = ScanConfig {
        currency: None,
        ..cfg()
    };
    let ScanResult::Gs1 { currency, .. } = parse_str("]C139329781099", &any) else {
        panic!()
    };
    assert_eq!(currency.as_deref(), Some("978"));
}

#[test]
fn restricted_circulation_and_scale_labels() {
    // Default layout: 2X IIIII VVVVV C, price in yuan.
    assert_eq!(
        parse_str("2200123012500", &cfg()),
        ScanResult::Priced {
            item_code: "00123".into(),
            price: dec!(12.50),
            unit_price: None,
            symbology: Symbology::Unknown,
        }
    );
    // A store that puts weights behind prefix 28 with a price/weight check digit.
    let store = ScanConfig {
        restricted: vec![
            RcnRule {
                prefixes: vec!["28".into()],
                measure: Measure::WeightKg,
                item: Span::new(2, 5),
                value: Span::new(8, 4),
                decimals: 3,
                price_check: Some(7),
            },
            RcnRule::default(),
        ],
        ..cfg()
    };
    assert_eq!(
        parse_str("]E02801234912347", &store),
        ScanResult::Weighed {
            item_code: "01234".into(),
            weight_kg: dec!(1.234),
            amount: None,
            symbology: Symbology::Ean13,
        }
    );
    assert_eq!(
        code_of(&parse_str("2801234812340", &store)),
        Some(InvalidCode::BadPriceCheckDigit)
    );
    // Prefixes no rule claims stay GTINs.
    let none = ScanConfig {
        restricted: vec![],
        ..cfg()
    };
    assert_eq!(
        parse_str("2200123012500", &none),
        gtin_result("2200123012500", GtinFormat::Ean13, Symbology::Unknown)
    );
    // A broken layout is a configuration error, not a panic.
    let broken = ScanConfig {
        restricted: vec![RcnRule {
            value: Span::new(10, 9),
            ..RcnRule::default()
        }],
        ..cfg()
    };
    assert_eq!(
        code_of(&parse_str("2200123012500", &broken)),
        Some(InvalidCode::BadLayout)
    );

    // 18-digit Chinese scale label, default FF IIIII WWWWW AAAAA C.
    assert_eq!(
        parse_str("]C0220001501234012346", &cfg()),
        ScanResult::Weighed {
            item_code: "00015".into(),
            weight_kg: dec!(1.234),
            amount: Some(dec!(12.34)),
            symbology: Symbology::Code128,
        }
    );
    assert_eq!(
        parse_str("210123402537009977", &cfg()),
        ScanResult::Weighed {
            item_code: "01234".into(),
            weight_kg: dec!(2.537),
            amount: Some(dec!(9.97)),
            symbology: Symbology::Unknown,
        }
    );
    assert_eq!(
        code_of(&parse_str("210123402537009978", &cfg())),
        Some(InvalidCode::BadCheckDigit)
    );
    // F IIIIII PPPPP AAAAA C with a unit price in the middle.
    let aclas = ScanConfig {
        scale_labels: vec![ScaleLabelLayout {
            item: Span::new(1, 6),
            middle: MiddleField::UnitPrice {
                span: Span::new(7, 5),
                decimals: 2,
            },
            ..ScaleLabelLayout::default()
        }],
        ..cfg()
    };
    assert_eq!(
        parse_str("210123402537009977", &aclas),
        ScanResult::Priced {
            item_code: "101234".into(),
            price: dec!(9.97),
            unit_price: Some(dec!(25.37)),
            symbology: Symbology::Unknown,
        }
    );
}

#[test]
fn receipts_codes_prefix_suffix() {
    assert_eq!(
        parse_str("RCHZ001-T01-00000042\r\n", &cfg()),
        ScanResult::Receipt {
            receipt_no: "HZ001-T01-00000042".into(),
            symbology: Symbology::Unknown,
        }
    );
    assert_eq!(
        parse_str("]C0SKU-1", &cfg()),
        ScanResult::Code {
            text: "SKU-1".into(),
            symbology: Symbology::Code128,
        }
    );
    assert_eq!(
        parse_str("]Q1https://example.com/p?id=1", &cfg()),
        ScanResult::Code {
            text: "https://example.com/p?id=1".into(),
            symbology: Symbology::Qr,
        }
    );
    assert_eq!(
        parse_str("]Q1苹果 500g", &cfg()),
        ScanResult::Code {
            text: "苹果 500g".into(),
            symbology: Symbology::Qr,
        }
    );
    // Chinese drug traceability code (20 digits, Code 128): a plain code.
    assert_eq!(
        parse_str("]C081234567890123456789", &cfg()),
        ScanResult::Code {
            text: "81234567890123456789".into(),
            symbology: Symbology::Code128,
        }
    );
    let framed = ScanConfig {
        prefix: "@".into(),
        suffix: "#".into(),
        ..cfg()
    };
    assert_eq!(
        parse_str("@]E06901234567892#\r\n", &framed),
        gtin_result("6901234567892", GtinFormat::Ean13, Symbology::Ean13)
    );
}

#[test]
fn json_shape() {
    let v = serde_json::to_value(parse_str("]E06901234567892", &cfg())).unwrap_or_default();
    assert_eq!(
        v,
        json!({"kind": "gtin", "gtin": "6901234567892", "format": "ean13", "symbology": "ean13"})
    );
    let v = serde_json::to_value(parse_str("210123402537009977", &cfg())).unwrap_or_default();
    assert_eq!(
        v,
        json!({"kind": "weighed", "item_code": "01234", "weight_kg": "2.537", "amount": "9.97", "symbology": "unknown"})
    );
    let v =
        serde_json::to_value(parse_str("]C1010950110153000317260700", &cfg())).unwrap_or_default();
    assert_eq!(v["kind"], "gs1");
    assert_eq!(v["symbology"], "gs1_128");
    assert_eq!(v["elements"][1], json!({"ai": "17", "value": "260700"}));
    let v = serde_json::to_value(parse_str("6901234567893", &cfg())).unwrap_or_default();
    assert_eq!(v["kind"], "invalid");
    assert_eq!(v["code"], "bad_check_digit");
    assert_eq!(v["data"], "6901234567893");
    // And back.
    let r = parse_str("]C1320200015017240200393215601099", &cfg());
    let back: ScanResult = serde_json::from_value(serde_json::to_value(&r).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, r);
}

#[test]
fn config_round_trips_through_toml() {
    let c = cfg();
    let text = toml::to_string(&c).unwrap_or_else(|e| panic!("{e}"));
    let back: ScanConfig = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, c);
    let partial: ScanConfig =
        toml::from_str("prefix = \"@\"\nreference_year = 2030\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(partial.prefix, "@");
    assert_eq!(partial.restricted, vec![RcnRule::default()]);
}

#[test]
fn gs1_sliding_window() {
    assert_eq!(gs1::resolve_year(26, 2026), 2026);
    assert_eq!(gs1::resolve_year(76, 2026), 2076);
    assert_eq!(gs1::resolve_year(77, 2026), 1977);
    assert_eq!(gs1::resolve_year(1, 2099), 2101);
}

// ---- properties ----

fn with_check(body: &str) -> String {
    let c = gtin::check_digit(body).unwrap_or(0);
    format!("{body}{c}")
}

fn digits(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0u8..10, n)
        .prop_map(|v| v.into_iter().map(|d| char::from(b'0' + d)).collect())
}

/// Element generators for the round trip: (AI, value).
fn element() -> impl Strategy<Value = Gs1Element> {
    let date = (0u32..100, 1u32..13, 0u32..29).prop_map(|(y, m, d)| format!("{y:02}{m:02}{d:02}"));
    let alnum = "[A-Za-z0-9!%&*+,./:;<=>?_-]{1,20}";
    prop_oneof![
        (
            prop_oneof![Just("11"), Just("13"), Just("15"), Just("17")],
            date
        )
            .prop_map(|(ai, v)| Gs1Element::new(ai, v)),
        (
            prop_oneof![Just("10"), Just("21"), Just("240"), Just("400"), Just("91")],
            alnum
        )
            .prop_map(|(ai, v)| Gs1Element::new(ai, v)),
        (prop_oneof![Just("30"), Just("37")], 1usize..9)
            .prop_flat_map(|(ai, n)| digits(n).prop_map(move |v| Gs1Element::new(ai, v))),
        (
            0u32..100,
            1u32..13,
            1u32..29,
            0u32..24,
            proptest::option::of((0u32..60, proptest::option::of(0u32..60)))
        )
            .prop_map(|(y, mo, d, h, rest)| {
                let mut v = format!("{y:02}{mo:02}{d:02}{h:02}");
                if let Some((mi, s)) = rest {
                    v.push_str(&format!("{mi:02}"));
                    if let Some(s) = s {
                        v.push_str(&format!("{s:02}"));
                    }
                }
                Gs1Element::new("8008", v)
            }),
        digits(6).prop_map(|v| Gs1Element::new("20", v[..2].to_string())),
    ]
}

fn element_string() -> impl Strategy<Value = Vec<Gs1Element>> {
    let id = prop_oneof![
        digits(13).prop_map(|b| Gs1Element::new("01", with_check(&b))),
        digits(13).prop_map(|b| Gs1Element::new("02", with_check(&b))),
        digits(17).prop_map(|b| Gs1Element::new("00", with_check(&b))),
    ];
    let weight = proptest::option::of(
        (prop_oneof![Just("310"), Just("320")], 0u8..6, digits(6))
            .prop_map(|(p, n, v)| Gs1Element::new(format!("{p}{n}"), v)),
    );
    let price = proptest::option::of(prop_oneof![
        (0u8..10, 1usize..16).prop_flat_map(
            |(n, len)| digits(len).prop_map(move |v| Gs1Element::new(format!("392{n}"), v))
        ),
        (0u8..10, 1usize..16).prop_flat_map(|(n, len)| digits(len)
            .prop_map(move |v| Gs1Element::new(format!("393{n}"), format!("156{v}")))),
    ]);
    (
        id,
        weight,
        price,
        proptest::collection::vec(element(), 0..6),
    )
        .prop_map(|(id, w, p, rest)| {
            let mut out = vec![id];
            out.extend(w);
            out.extend(p);
            for e in rest {
                if !out.iter().any(|o| o.ai == e.ai) {
                    out.push(e);
                }
            }
            out
        })
        .prop_shuffle()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        let _ = parse(&bytes, &cfg());
    }

    #[test]
    fn random_aim_data_never_panics(
        aim in prop_oneof![Just("]C1"), Just("]E0"), Just("]d2"), Just("]C0"), Just(""), Just("]E3"), Just("]I1")],
        body in "[0-9\u{1d}()A-Z\u{4e2d}]{0,60}",
    ) {
        let r = parse_str(&format!("{aim}{body}"), &cfg());
        if let ScanResult::Invalid { message, .. } = r {
            prop_assert!(!message.is_empty());
        }
    }

    #[test]
    fn valid_ean13_parses_to_its_gtin(first in 3u8..10, body in digits(11), aim in any::<bool>()) {
        let code = with_check(&format!("{first}{body}"));
        let input = if aim { format!("]E0{code}") } else { code.clone() };
        let sym = if aim { Symbology::Ean13 } else { Symbology::Unknown };
        prop_assert_eq!(parse_str(&input, &cfg()), gtin_result(&code, GtinFormat::Ean13, sym));
    }

    #[test]
    fn valid_gtin14_parses_to_its_gtin(body in digits(13)) {
        let code = with_check(&body);
        prop_assert_eq!(parse_str(&code, &cfg()), gtin_result(&code, GtinFormat::Gtin14, Symbology::Unknown));
    }

    #[test]
    fn one_flipped_digit_is_always_detected(body in digits(12), pos in 0usize..13, delta in 1u8..10) {
        let code = with_check(&body);
        let mut bytes = code.into_bytes();
        bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
        let flipped = String::from_utf8(bytes).unwrap_or_default();
        for input in [flipped.clone(), format!("]E0{flipped}")] {
            prop_assert_eq!(parse_str(&input, &cfg()).invalid_code(), Some(InvalidCode::BadCheckDigit));
        }
    }

    #[test]
    fn gs1_round_trip(elements in element_string(), dm in any::<bool>()) {
        let encoded = gs1::encode(&elements, 2026).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let aim = if dm { "]d2" } else { "]C1" };
        for input in [format!("{aim}{encoded}"), gs1::to_human_readable(&elements)] {
            match parse_str(&input, &cfg()) {
                ScanResult::Gs1 { elements: back, .. } => prop_assert_eq!(&back, &elements),
                other => prop_assert!(false, "{:?} -> {:?}", input, other),
            }
        }
    }
}
