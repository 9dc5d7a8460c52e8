//! Customer display: exact bytes, captured on the other end of a real pseudo-terminal.

use std::io::Read;
use std::time::{Duration, Instant};

use rust_decimal_macros::dec;
use serialport::{SerialPort, TTYPort};
use tillstone_devices::display::{
    CustomerDisplay, DisplayConfig, DisplayError, DisplayLabels, DisplayMode, amount_text,
    encode_lines, fit, fit_right, label_amount, to_display_ascii,
};

#[test]
fn text_fitting() {
    assert_eq!(fit("APPLE", 20), "APPLE               ");
    assert_eq!(fit("A very long product name", 20), "A very long product ");
    assert_eq!(fit_right("12.50", 8), "   12.50");
    assert_eq!(to_display_ascii("红富士苹果 Fuji"), "????? Fuji");
    assert_eq!(
        to_display_ascii("ＡＢＣ１２３，　【特价】…"),
        "ABC123, [??]..."
    );
    assert_eq!(to_display_ascii("￥12.50×2"), "Y12.50x2");
    assert_eq!(to_display_ascii("a\tb\u{1b}c"), "a?b?c");
    assert_eq!(fit("可口可乐330ml", 10), "????330ml ");
    assert_eq!(amount_text(dec!(12.5)), "12.50");
    assert_eq!(amount_text(dec!(0.005)), "0.01");
    assert_eq!(amount_text(dec!(-3)), "-3.00");
    assert_eq!(amount_text(dec!(1234567.891)), "1234567.89");
    assert_eq!(
        label_amount("TOTAL", dec!(123.45), 20),
        "TOTAL         123.45"
    );
    assert_eq!(
        label_amount("A long label that won't fit", dec!(9.9), 20),
        "A long label th 9.90"
    );
    assert_eq!(
        label_amount("X", dec!(12345678901234567890.5), 20),
        "********************"
    );
    assert_eq!(
        label_amount("TOTAL", dec!(1234567890123456.78), 20),
        " 1234567890123456.78"
    );
}

#[test]
fn line_commands() {
    let mut expected = b"\x1bQAAPPLE               \r\x1bQB               12.50\r".to_vec();
    assert_eq!(
        encode_lines(DisplayMode::Cd5220, "APPLE", "               12.50"),
        expected
    );
    expected = b"\x1bl\x01\x01APPLE               \x1bl\x01\x02                    ".to_vec();
    assert_eq!(encode_lines(DisplayMode::Overwrite, "APPLE", ""), expected);
}

/// Read from the display's far end: up to `n` bytes (ask for one more than expected to catch
/// extra output), within 3 s.
fn capture(port: &mut TTYPort, n: usize) -> Vec<u8> {
    let _ = port.set_timeout(Duration::from_millis(50));
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    let mut deadline = Instant::now() + Duration::from_secs(3);
    let mut settling = false;
    while got.len() < n && Instant::now() < deadline {
        if let Ok(k) = port.read(&mut buf) {
            got.extend_from_slice(&buf[..k]);
        }
        // Once everything expected is in, only wait briefly for unexpected extra bytes.
        if !settling && got.len() + 1 >= n {
            settling = true;
            deadline = Instant::now() + Duration::from_millis(200);
        }
    }
    got
}

#[test]
fn cd5220_display_on_a_pty() {
    let (mut vfd, till_end) = TTYPort::pair().unwrap_or_else(|e| panic!("pty: {e}"));
    let mut display = CustomerDisplay::new(till_end, DisplayMode::Cd5220, DisplayLabels::default());
    let run = |display: &mut CustomerDisplay<TTYPort>| -> Result<(), DisplayError> {
        display.init()?;
        display.show_item("红富士苹果 Fuji", dec!(12.8))?;
        display.show_item_qty("Bananas", dec!(1.250), dec!(6.4), dec!(8))?;
        display.show_total(dec!(123.45))?;
        display.show_change(dec!(200), dec!(76.55))?;
        display.clear()?;
        display.home()
    };
    run(&mut display).unwrap_or_else(|e| panic!("{e}"));
    let mut expected: Vec<u8> = b"\x1b@\x0c".to_vec();
    expected.extend_from_slice(b"\x1bQA????? Fuji          \r\x1bQB               12.80\r");
    expected.extend_from_slice(b"\x1bQABananas             \r\x1bQB1.25x6.40       8.00\r");
    expected.extend_from_slice(b"\x1bQATOTAL         123.45\r\x1bQB                    \r");
    expected.extend_from_slice(b"\x1bQAPAID          200.00\r\x1bQBCHANGE         76.55\r");
    expected.extend_from_slice(b"\x0c\x1b[H");
    let got = capture(&mut vfd, expected.len() + 1);
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(got, expected);
}

#[test]
fn overwrite_mode_display_opened_by_path() {
    let (mut vfd, till_end) = TTYPort::pair().unwrap_or_else(|e| panic!("pty: {e}"));
    let path = till_end.name().unwrap_or_default();
    drop(till_end);
    let mut display = CustomerDisplay::open(&DisplayConfig {
        path,
        baud: 9600,
        mode: DisplayMode::Overwrite,
        labels: DisplayLabels {
            total: "ZONGJI".into(),
            ..DisplayLabels::default()
        },
    })
    .unwrap_or_else(|e| panic!("{e}"));
    display.init().unwrap_or_else(|e| panic!("{e}"));
    display
        .show_total(dec!(9.9))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut expected: Vec<u8> = b"\x1b@\x1b\x11\x0c".to_vec();
    expected
        .extend_from_slice(b"\x1bl\x01\x01ZONGJI          9.90\x1bl\x01\x02                    ");
    assert_eq!(capture(&mut vfd, expected.len() + 1), expected);
}
