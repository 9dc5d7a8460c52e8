//! Scales over real pseudo-terminals: a virtual Toledo 8217 answering `W`, and a CAS stream.

use std::io::{Read, Write};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rust_decimal_macros::dec;
use serialport::{SerialPort, TTYPort};
use tillstone_devices::scale::{
    Scale, ScaleConfig, ScaleError, ScaleProtocol, ScaleReading, WeightUnit, parse_cas_line,
    parse_toledo,
};

#[test]
fn toledo_replies() {
    use ScaleReading::*;
    assert_eq!(parse_toledo(b"01.234", WeightUnit::Kg), Stable(dec!(1.234)));
    assert_eq!(parse_toledo(b"00.000", WeightUnit::Kg), Stable(dec!(0.000)));
    assert_eq!(
        parse_toledo(b" 2.50", WeightUnit::Lb),
        Stable(dec!(1.133980925))
    );
    assert_eq!(parse_toledo(b"?A", WeightUnit::Kg), Motion);
    assert_eq!(parse_toledo(b"?B", WeightUnit::Kg), OverCapacity);
    assert_eq!(parse_toledo(b"?D", WeightUnit::Kg), UnderZero);
    assert_eq!(parse_toledo(b"?C", WeightUnit::Kg), OverCapacity);
    assert_eq!(
        parse_toledo(b"?H", WeightUnit::Kg),
        Error(
            "the scale is outside its zero range: empty the platter and re-zero the scale".into()
        )
    );
    assert_eq!(
        parse_toledo(b"?`", WeightUnit::Kg),
        Error("the scale sent status 0x60 without a weight: weigh again".into())
    );
    // Parity bits (7E1 read as 8N1) are ignored.
    assert_eq!(
        parse_toledo(
            &[b'0' | 0x80, b'1', b'.', b'5' | 0x80, b'0', b'0'],
            WeightUnit::Kg
        ),
        Stable(dec!(1.500))
    );
    assert!(matches!(parse_toledo(b"1.2.3", WeightUnit::Kg), Error(_)));
    assert!(matches!(parse_toledo(b"", WeightUnit::Kg), Error(_)));
    assert!(matches!(parse_toledo(b"12kg", WeightUnit::Kg), Error(_)));
}

#[test]
fn cas_lines() {
    use ScaleReading::*;
    assert_eq!(
        parse_cas_line(b"ST,GS,  0.535kg"),
        Some(Stable(dec!(0.535)))
    );
    assert_eq!(parse_cas_line(b"ST,NT,+ 12.000kg"), Some(Stable(dec!(12))));
    assert_eq!(
        parse_cas_line(b"ST,GS,01,  1.250kg"),
        Some(Stable(dec!(1.25)))
    );
    assert_eq!(parse_cas_line(b"ST,GS,   535 g"), Some(Stable(dec!(0.535))));
    assert_eq!(
        parse_cas_line(b"ST,GS,  1.00lb"),
        Some(Stable(dec!(0.45359237)))
    );
    assert_eq!(parse_cas_line(b"US,GS,  0.530kg"), Some(Motion));
    assert_eq!(parse_cas_line(b"OL,GS,  -----kg"), Some(OverCapacity));
    assert_eq!(parse_cas_line(b"ST,GS,- 0.010kg"), Some(UnderZero));
    assert_eq!(parse_cas_line(b"ST,GS,- 0.000kg"), Some(Stable(dec!(0))));
    assert_eq!(parse_cas_line(b"GS,  0.535kg"), None);
    assert_eq!(parse_cas_line(b"0.535kg"), None);
    assert_eq!(parse_cas_line(b"\xff\xfe"), None);
    assert!(matches!(parse_cas_line(b"ST,GS,  0.535"), Some(Error(_))));
    assert!(matches!(parse_cas_line(b"ST,GS, 0.5.3kg"), Some(Error(_))));
}

/// A virtual Toledo scale: answers each `W` with the next canned reply (sent in two chunks,
/// after stale noise), then stops.
/// The port is handed back so that closing it cannot race the last reply.
fn virtual_toledo(mut port: TTYPort, replies: Vec<&'static [u8]>) -> JoinHandle<(usize, TTYPort)> {
    std::thread::spawn(move || {
        let _ = port.set_timeout(Duration::from_millis(50));
        let mut answered = 0;
        let mut byte = [0u8; 1];
        let give_up = Instant::now() + Duration::from_secs(10);
        while answered < replies.len() && Instant::now() < give_up {
            match port.read(&mut byte) {
                Ok(1) if byte[0] == b'W' => {
                    let reply = replies[answered];
                    let (a, b) = reply.split_at(reply.len() / 2);
                    std::thread::sleep(Duration::from_millis(10));
                    let _ = port.write_all(a);
                    let _ = port.flush();
                    std::thread::sleep(Duration::from_millis(10));
                    let _ = port.write_all(b);
                    let _ = port.flush();
                    answered += 1;
                }
                _ => {}
            }
        }
        (answered, port)
    })
}

#[test]
fn toledo_scale_on_a_pty() {
    let (scale_end, till_end) = TTYPort::pair().unwrap_or_else(|e| panic!("pty: {e}"));
    let sim = virtual_toledo(
        scale_end,
        vec![
            b"\x0201.234\r",
            b"\x02?A\r",
            b"junk\x02?B\r",
            b"\x02?D\r",
            b"\x8202.5\xb00\x8d",
        ],
    );
    let mut scale = Scale::new(
        Box::new(till_end),
        ScaleProtocol::Toledo8217,
        WeightUnit::Kg,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut read = || {
        scale
            .read_weight(Duration::from_secs(2))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(read(), ScaleReading::Stable(dec!(1.234)));
    assert_eq!(read(), ScaleReading::Motion);
    assert_eq!(read(), ScaleReading::OverCapacity);
    assert_eq!(read(), ScaleReading::UnderZero);
    assert_eq!(read(), ScaleReading::Stable(dec!(2.500)));
    let (answered, _scale_end) = sim.join().unwrap_or_else(|_| panic!("simulator panicked"));
    assert_eq!(answered, 5);
    // Nobody answers any more.
    let started = Instant::now();
    match scale.read_weight(Duration::from_millis(300)) {
        Err(ScaleError::NoResponse { timeout_ms: 300 }) => {}
        other => panic!("expected no response, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn cas_stream_on_a_pty() {
    let (mut scale_end, till_end) = TTYPort::pair().unwrap_or_else(|e| panic!("pty: {e}"));
    let (tx, rx) = mpsc::channel::<&'static [u8]>();
    // The "scale" writes each batch shortly after the till started waiting.
    let writer = std::thread::spawn(move || {
        for batch in rx {
            std::thread::sleep(Duration::from_millis(60));
            for chunk in batch.chunks(7) {
                let _ = scale_end.write_all(chunk);
                let _ = scale_end.flush();
                std::thread::sleep(Duration::from_millis(3));
            }
        }
    });
    let mut scale = Scale::new(
        Box::new(till_end),
        ScaleProtocol::CasContinuous,
        WeightUnit::Kg,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cases: [(&'static [u8], ScaleReading); 5] = [
        // A partial line first (we joined mid-stream), then a stable reading.
        (
            b"0.533kg\r\nST,GS,  0.535kg\r\n",
            ScaleReading::Stable(dec!(0.535)),
        ),
        (
            b"US,GS,  0.120kg\r\nUS,GS,  0.121kg\r\n",
            ScaleReading::Motion,
        ),
        (b"OL,GS,  -----kg\r\n", ScaleReading::OverCapacity),
        (b"\r\nST,NT,-  0.010kg\r\n", ScaleReading::UnderZero),
        (b"ST,GS,  12.40kg\r\n", ScaleReading::Stable(dec!(12.4))),
    ];
    for (batch, expected) in cases {
        tx.send(batch).unwrap_or_else(|e| panic!("{e}"));
        let got = scale
            .read_weight(Duration::from_secs(2))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, expected);
    }
    // A scale speaking something else is reported, not guessed.
    tx.send(b"\x0201.234\r\n").unwrap_or_else(|e| panic!("{e}"));
    match scale.read_weight(Duration::from_millis(400)) {
        Ok(ScaleReading::Error(message)) => {
            assert!(message.contains("protocol setting"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    drop(tx);
    let _ = writer.join();
}

#[test]
fn open_by_path_and_json() {
    let (_scale_end, till_end) = TTYPort::pair().unwrap_or_else(|e| panic!("pty: {e}"));
    let path = till_end.name().unwrap_or_default();
    drop(till_end);
    let scale = Scale::open(&ScaleConfig {
        path: path.clone(),
        baud: 9600,
        protocol: ScaleProtocol::CasContinuous,
        unit: WeightUnit::Kg,
        framing: None,
    });
    assert!(scale.is_ok(), "{path}: {scale:?}");
    let missing = Scale::open(&ScaleConfig {
        path: "/dev/does-not-exist-tillstone".into(),
        baud: 9600,
        protocol: ScaleProtocol::Toledo8217,
        unit: WeightUnit::Kg,
        framing: None,
    });
    assert!(matches!(missing, Err(ScaleError::Open { .. })));
    assert_eq!(
        serde_json::to_value(ScaleReading::Stable(dec!(0.535))).unwrap_or_default(),
        serde_json::json!({"state": "stable", "value": "0.535"})
    );
    assert_eq!(
        serde_json::to_value(ScaleReading::Motion).unwrap_or_default(),
        serde_json::json!({"state": "motion"})
    );
}
