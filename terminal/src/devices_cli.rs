//! Installer commands: `tillstone devices list|check|test` and `tillstone barcode parse`.
//!
//! Everything here talks to the hardware through `tillstone_devices`; this module only picks
//! the device (a path given on the command line, or a section of `DIR/devices.toml`), runs
//! the test and explains the outcome in words an installer can act on.

use anyhow::{Context, anyhow, bail};
use clap::{Subcommand, ValueEnum};
use rust_decimal::Decimal;
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tillstone_devices::config::{DeviceProfiles, Link, PrinterConfig};
use tillstone_devices::discovery::{self, Connection, DeviceKind, FoundDevice};
use tillstone_devices::display::{CustomerDisplay, DisplayConfig, DisplayError, DisplayLabels};
use tillstone_devices::printer::{PrintOutcome, Printer, PrinterError, PrinterProfile};
use tillstone_devices::receipt::{
    ColumnLabels, ItemRow, LabelValue, Paper, QrBlock, ReceiptDoc, TotalRow,
};
use tillstone_devices::scale::{
    LineFraming, Scale, ScaleConfig, ScaleError, ScaleProtocol, ScaleReading, WeightUnit,
};
use tillstone_devices::scan::{self, GtinFormat, ScanConfig, ScanResult, Symbology};
use tillstone_devices::scanner::{ScannerConfig, ScannerError, ScannerEvent, ScannerReader};
use tillstone_devices::status::{PrinterProblem, PrinterStatus};
use tillstone_devices::transport::{SerialConfig, TransportError};

/// The file in the data directory that holds the device profiles.
pub const DEVICES_FILE: &str = "devices.toml";

/// Written to the data directory by hand (or by the installer UI); shown when it is missing.
pub const EXAMPLE_DEVICES_TOML: &str = r#"# Receipt printer. transport = "usb" (/dev/usb/lpN), "serial" (also set baud),
# "tcp" (address = "192.168.1.50:9100") or "file".
[printer]
transport = "usb"
path = "/dev/usb/lp0"
paper = "mm80"          # or "mm58"
text_mode = "gb18030"   # "raster" for printers without a Chinese font

# Barcode scanner in serial / USB-COM mode (keyboard-mode scanners need no section).
[scanner]
path = "/dev/ttyACM0"
baud = 9600
suffix = "cr"           # "lf", "cr_lf" or "none"

# Scale: protocol = "toledo8217" (sends W, usually 9600 7E1) or "cas_continuous".
[scale]
path = "/dev/ttyUSB0"
baud = 9600
protocol = "toledo8217"
unit = "kg"

# Customer display (CD5220-compatible, 2 x 20 characters).
[display]
path = "/dev/ttyUSB1"
baud = 9600
mode = "cd5220"         # or "overwrite"

# How scans are read: receipt barcodes, store label layouts.
[scan]
receipt_prefix = "RC"
currency = "156"
"#;

#[derive(Subcommand)]
pub enum DevicesCmd {
    /// Serial ports and USB printers on this machine, with a guess of what each one is.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Validate DIR/devices.toml: every problem (exit 1) or a summary of the devices.
    Check {
        /// The terminal's data directory (holds devices.toml).
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
    /// Try one device: printer test page, scanner echo, scale readings, display lines,
    /// cash-drawer kick.
    Test {
        /// The device to try.
        what: TestKind,
        /// A device path (/dev/ttyUSB0, /dev/usb/lp0), a network printer (192.168.1.50:9100),
        /// file:PATH (printer output to a file), or `profile` to use DIR/devices.toml.
        #[arg(long)]
        device: String,
        /// The terminal's data directory (holds devices.toml).
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Printer paper width (default: the profile's, else mm80).
        #[arg(long)]
        paper: Option<PaperArg>,
        /// Serial baud rate (default: the profile's, else 9600).
        #[arg(long)]
        baud: Option<u32>,
        /// Scanner: how long to listen (default 30). Display: pause between screens (default 2).
        #[arg(long)]
        seconds: Option<u64>,
        /// Scale: how many readings to take (default 5).
        #[arg(long)]
        count: Option<u32>,
        /// Scale protocol for a device given by path (default toledo8217).
        #[arg(long)]
        protocol: Option<ProtocolArg>,
        /// Scale line framing (default: 7e1 for Toledo, 8n1 for CAS).
        #[arg(long)]
        framing: Option<FramingArg>,
    },
}

#[derive(Subcommand)]
pub enum BarcodeCmd {
    /// What the till understands from a scan (type `<GS>` for the GS1 separator).
    Parse {
        /// The scan as the scanner sends it, e.g. 6901234567892, "(01)09501101530003(3103)001234".
        #[arg(value_name = "DATA", allow_hyphen_values = true)]
        code: String,
        #[arg(long)]
        json: bool,
        /// Reads the [scan] section of DIR/devices.toml (store label layouts), if present.
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestKind {
    Printer,
    Scanner,
    Scale,
    Display,
    Drawer,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PaperArg {
    Mm58,
    Mm80,
}

impl From<PaperArg> for Paper {
    fn from(p: PaperArg) -> Paper {
        match p {
            PaperArg::Mm58 => Paper::Mm58,
            PaperArg::Mm80 => Paper::Mm80,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ProtocolArg {
    #[value(name = "toledo8217", alias = "toledo")]
    Toledo8217,
    #[value(name = "cas_continuous", alias = "cas")]
    CasContinuous,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FramingArg {
    #[value(name = "7e1")]
    SevenEvenOne,
    #[value(name = "8n1")]
    EightNoneOne,
}

/// Options of `devices test`.
struct TestArgs {
    device: String,
    data: PathBuf,
    paper: Option<Paper>,
    baud: Option<u32>,
    seconds: Option<u64>,
    count: Option<u32>,
    protocol: Option<ScaleProtocol>,
    framing: Option<LineFraming>,
}

impl TestArgs {
    fn is_profile(&self) -> bool {
        self.device == "profile"
    }
}

pub fn devices(cmd: DevicesCmd) -> anyhow::Result<i32> {
    match cmd {
        DevicesCmd::List { json } => list(json),
        DevicesCmd::Check { data } => check(&data),
        DevicesCmd::Test {
            what,
            device,
            data,
            paper,
            baud,
            seconds,
            count,
            protocol,
            framing,
        } => {
            let args = TestArgs {
                device,
                data,
                paper: paper.map(Paper::from),
                baud,
                seconds,
                count,
                protocol: protocol.map(|p| match p {
                    ProtocolArg::Toledo8217 => ScaleProtocol::Toledo8217,
                    ProtocolArg::CasContinuous => ScaleProtocol::CasContinuous,
                }),
                framing: framing.map(|f| match f {
                    FramingArg::SevenEvenOne => LineFraming::SevenEvenOne,
                    FramingArg::EightNoneOne => LineFraming::EightNoneOne,
                }),
            };
            match what {
                TestKind::Printer => test_printer(&args),
                TestKind::Scanner => test_scanner(&args),
                TestKind::Scale => test_scale(&args),
                TestKind::Display => test_display(&args),
                TestKind::Drawer => test_drawer(&args),
            }
        }
    }
}

pub fn barcode(cmd: BarcodeCmd) -> anyhow::Result<i32> {
    match cmd {
        BarcodeCmd::Parse { code, json, data } => parse_barcode(&code, json, &data),
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The snake_case name serde gives a unit enum value (e.g. `cas_continuous`).
fn name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".into(),
    }
}

/// What to do about a device that cannot be opened, from the OS error text.
fn open_hint(path: &str, err: &str) -> String {
    let e = err.to_lowercase();
    if e.contains("permission denied") || e.contains("operation not permitted") {
        if path.contains("/usb/lp") {
            "add the user to the lp group (`sudo usermod -aG lp $USER`, then log out and in)".into()
        } else {
            "add the user to the dialout group (`sudo usermod -aG dialout $USER`, then log out and in)".into()
        }
    } else if e.contains("no such file") || e.contains("not found") || e.contains("no such device")
    {
        "the device is not there: plug it in and run `tillstone devices list` to find its path"
            .into()
    } else if e.contains("busy") || e.contains("lock") {
        "another program is using it (a running till, ModemManager, a serial console): stop it and try again".into()
    } else if e.contains("connection refused") {
        "nothing accepts print jobs at that address: check the printer's IP address (its self-test page shows it) and that raw printing on port 9100 is on".into()
    } else if e.contains("timed out") || e.contains("unreachable") {
        "no answer from that address: check the network cable and the printer's IP address (its self-test page shows it)".into()
    } else {
        "check the cable and the device path (`tillstone devices list`)".into()
    }
}

fn cannot_open(path: &str, err: impl std::fmt::Display) -> anyhow::Error {
    let err = err.to_string();
    anyhow!("cannot open {path}: {err} — {}", open_hint(path, &err))
}

fn transport_error(e: TransportError) -> anyhow::Error {
    let (target, err) = match e {
        TransportError::Io { target, source } => (target, source.to_string()),
        TransportError::Serial { target, source } => (target, source.to_string()),
    };
    anyhow!("printer {target}: {err} — {}", open_hint(&target, &err))
}

fn printer_error(e: PrinterError) -> anyhow::Error {
    match e {
        PrinterError::Transport(t) => transport_error(t),
        PrinterError::Font(f) => anyhow!(
            "{f} — raster text mode draws Chinese with a font on this machine: install one or set printer.font_path in devices.toml (or use text_mode = \"gb18030\" if the printer has a Chinese font)"
        ),
        other => anyhow!(other),
    }
}

/// DIR/devices.toml validated, or `None` when there is no such file.
fn load_profiles(data: &Path) -> anyhow::Result<Option<DeviceProfiles>> {
    let path = data.join(DEVICES_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow!("cannot read {}: {e}", path.display())),
    };
    DeviceProfiles::from_toml(&text).map(Some).map_err(|e| {
        anyhow!(
            "{}: {e}\nfix it, then check it with `tillstone devices check --data {}`",
            path.display(),
            data.display()
        )
    })
}

fn profiles_for_test(args: &TestArgs, section: &str) -> anyhow::Result<DeviceProfiles> {
    load_profiles(&args.data)?.with_context(|| {
        format!(
            "--device profile: there is no {} with a [{section}] section; create it (`tillstone devices check --data {}` shows an example) or give the device path, e.g. --device /dev/ttyUSB0",
            args.data.join(DEVICES_FILE).display(),
            args.data.display()
        )
    })
}

fn missing_section(args: &TestArgs, section: &str) -> anyhow::Error {
    anyhow!(
        "{} has no [{section}] section: add one (`tillstone devices check` shows an example) or give the device path with --device",
        args.data.join(DEVICES_FILE).display()
    )
}

/// A serial device path given on the command line.
fn serial_path(device: &str) -> anyhow::Result<String> {
    if !device.starts_with('/') {
        bail!(
            "--device {device:?} is not a device path: give one such as /dev/ttyUSB0 or /dev/ttyACM0 (`tillstone devices list` shows them), or `profile` to use devices.toml"
        );
    }
    if !Path::new(device).exists() {
        return Err(cannot_open(device, "no such file or directory"));
    }
    Ok(device.to_string())
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn problem_text(p: PrinterProblem) -> String {
    format!("{} / {}", p.message_zh(), p.message_en())
}

// ---------------------------------------------------------------------------------------------
// devices list

fn connection_text(c: Connection) -> &'static str {
    match c {
        Connection::Serial => "serial",
        Connection::UsbSerial => "usb-serial",
        Connection::UsbPrinter => "usb-printer",
    }
}

fn kind_text(k: DeviceKind) -> &'static str {
    match k {
        DeviceKind::Printer => "printer",
        DeviceKind::Scanner => "scanner",
        DeviceKind::Scale => "scale",
        DeviceKind::Display => "display",
        DeviceKind::SerialAdapter => "serial adapter",
    }
}

fn device_row(d: &FoundDevice) -> [String; 6] {
    let usb_id = match (d.vid, d.pid) {
        (Some(v), Some(p)) => format!("{v:04x}:{p:04x}"),
        _ => "-".into(),
    };
    let maker: Vec<&str> = [d.manufacturer.as_deref(), d.product.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let maker = if maker.is_empty() {
        "-".to_string()
    } else {
        maker.join(" ")
    };
    let kind = match (d.kind, d.guess.as_deref()) {
        (Some(k), Some(g)) => format!("{}: {g}", kind_text(k)),
        (Some(k), None) => kind_text(k).to_string(),
        (None, _) => "?".into(),
    };
    [
        d.path.clone(),
        connection_text(d.connection).into(),
        usb_id,
        d.serial_number.clone().unwrap_or_else(|| "-".into()),
        maker,
        kind,
    ]
}

fn print_table(head: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        println!("{}", s.trim_end());
    };
    line(head.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

fn list(json: bool) -> anyhow::Result<i32> {
    let found = discovery::list();
    if json {
        println!("{}", serde_json::to_string_pretty(&found)?);
        return Ok(0);
    }
    if found.is_empty() {
        println!(
            "no serial ports or USB printers found: plug the device in (USB printers appear as /dev/usb/lpN, USB-serial devices as /dev/ttyUSBN or /dev/ttyACMN; keyboard-mode scanners are not listed)"
        );
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = found.iter().map(|d| device_row(d).to_vec()).collect();
    print_table(
        &[
            "PATH",
            "CONNECTION",
            "USB ID",
            "SERIAL",
            "DEVICE",
            "PROBABLY",
        ],
        &rows,
    );
    println!();
    println!(
        "try one with `tillstone devices test printer|scanner|scale|display --device PATH`, then put it into devices.toml (`tillstone devices check`)"
    );
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// devices check

fn presence(path: &str) -> String {
    if Path::new(path).exists() {
        String::new()
    } else {
        format!(" (not connected now: {path} does not exist)")
    }
}

fn describe_printer(p: &PrinterConfig) -> String {
    let link = match &p.link {
        Link::Serial(s) => format!(
            "serial {}, {} baud, flow control {}{}",
            s.path,
            s.baud,
            name(&s.flow_control),
            presence(&s.path)
        ),
        Link::Usb { path } => format!("usb {path}{}", presence(path)),
        Link::Tcp { address } => format!("network {address}"),
        Link::File { path } => format!("file {path}"),
    };
    let pr = &p.profile;
    format!(
        "{link}; {} paper ({} columns), {} text, {}, drawer pin {}",
        match pr.paper {
            Paper::Mm58 => "58 mm",
            Paper::Mm80 => "80 mm",
        },
        pr.paper.columns(),
        name(&pr.text_mode),
        if pr.cut { "cuts" } else { "no cut" },
        if pr.drawer.pin == 0 { 2 } else { 5 }
    ) + &p
        .logo
        .as_ref()
        .map(|l| format!(", logo {l}{}", presence(l)))
        .unwrap_or_default()
}

fn framing_text(f: LineFraming) -> &'static str {
    match f {
        LineFraming::SevenEvenOne => "7E1",
        LineFraming::EightNoneOne => "8N1",
    }
}

fn check(data: &Path) -> anyhow::Result<i32> {
    let path = data.join(DEVICES_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!(
                "no {} yet: the till runs without a printer, scale, display or serial scanner until you create it. For example:",
                path.display()
            );
            println!();
            print!("{EXAMPLE_DEVICES_TOML}");
            println!();
            println!(
                "Find the device paths with `tillstone devices list`; delete the sections of devices you do not have."
            );
            return Ok(1);
        }
        Err(e) => return Err(anyhow!("cannot read {}: {e}", path.display())),
    };
    let profiles = match DeviceProfiles::from_toml(&text) {
        Ok(p) => p,
        Err(e) => {
            println!("{} has problems:", path.display());
            let msg = match e {
                tillstone_devices::config::ConfigError::Invalid(m) => m,
                other => other.to_string(),
            };
            for line in msg.lines().filter(|l| !l.trim().is_empty()) {
                println!("  - {line}");
            }
            return Ok(1);
        }
    };
    println!("{}: OK", path.display());
    let mut missing = Vec::new();
    match &profiles.printer {
        Some(p) => println!("  printer  {}", describe_printer(p)),
        None => missing.push("printer"),
    }
    match &profiles.scanner {
        Some(s) => println!(
            "  scanner  {}, {} baud, suffix {}{}{}",
            s.path,
            s.baud,
            name(&s.suffix),
            if s.prefix.is_empty() {
                String::new()
            } else {
                format!(", prefix {:?}", s.prefix)
            },
            presence(&s.path)
        ),
        None => missing.push("scanner (keyboard-mode scanners need none)"),
    }
    match &profiles.scale {
        Some(s) => {
            let framing = s.framing.unwrap_or(match s.protocol {
                ScaleProtocol::Toledo8217 => LineFraming::SevenEvenOne,
                ScaleProtocol::CasContinuous => LineFraming::EightNoneOne,
            });
            println!(
                "  scale    {}, {}, {} baud {}, {}{}",
                s.path,
                name(&s.protocol),
                s.baud,
                framing_text(framing),
                name(&s.unit),
                presence(&s.path)
            )
        }
        None => missing.push("scale"),
    }
    match &profiles.display {
        Some(d) => println!(
            "  display  {}, {} baud, {} mode{}",
            d.path,
            d.baud,
            name(&d.mode),
            presence(&d.path)
        ),
        None => missing.push("customer display"),
    }
    let s = &profiles.scan;
    println!(
        "  scan     receipt prefix {}, currency {}, {} restricted-code rule(s), {} scale-label layout(s)",
        s.receipt_prefix.as_deref().unwrap_or("(none)"),
        s.currency.as_deref().unwrap_or("(any)"),
        s.restricted.len(),
        s.scale_labels.len()
    );
    if !missing.is_empty() {
        println!("not configured: {}", missing.join(", "));
    }
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// devices test printer / drawer

/// The printer named by `--device`, with `--paper` and `--baud` applied.
fn printer_config(args: &TestArgs) -> anyhow::Result<PrinterConfig> {
    let device = args.device.trim();
    let mut cfg = if args.is_profile() {
        profiles_for_test(args, "printer")?
            .printer
            .ok_or_else(|| missing_section(args, "printer"))?
    } else {
        let link = if let Some(path) = device.strip_prefix("file:") {
            if path.is_empty() {
                bail!("--device file:PATH needs a path, e.g. file:/tmp/receipt.bin");
            }
            Link::File { path: path.into() }
        } else if device.contains("/usb/lp") {
            if !Path::new(device).exists() {
                return Err(cannot_open(device, "no such file or directory"));
            }
            Link::Usb {
                path: device.into(),
            }
        } else if device.starts_with('/') {
            Link::Serial(SerialConfig::new(serial_path(device)?, 9600))
        } else if let Ok(addr) = device.parse::<SocketAddr>() {
            Link::Tcp {
                address: addr.to_string(),
            }
        } else if let Ok(ip) = device.parse::<IpAddr>() {
            Link::Tcp {
                address: SocketAddr::new(ip, 9100).to_string(),
            }
        } else {
            bail!(
                "--device {device:?} is not a printer: give a device path (/dev/usb/lp0, /dev/ttyUSB0), a network printer's IP:PORT (192.168.1.50:9100), file:PATH, or `profile` to use devices.toml"
            );
        };
        PrinterConfig {
            link,
            profile: PrinterProfile::new(args.paper.unwrap_or_default()),
            logo: None,
        }
    };
    if let Some(paper) = args.paper
        && paper != cfg.profile.paper
    {
        cfg.profile.paper = paper;
        cfg.profile.qr_module = PrinterProfile::new(paper).qr_module;
    }
    if let (Some(baud), Link::Serial(s)) = (args.baud, &mut cfg.link) {
        s.baud = baud;
    }
    Ok(cfg)
}

fn open_printer(cfg: &PrinterConfig) -> anyhow::Result<Printer> {
    cfg.open().map_err(transport_error)
}

fn print_status(s: &PrinterStatus) {
    println!("  online:      {}", yes_no(s.online));
    println!(
        "  cover:       {}",
        if s.cover_open { "OPEN" } else { "closed" }
    );
    println!(
        "  paper:       {}",
        if s.paper_out {
            "OUT"
        } else if s.paper_near_end {
            "near end (change the roll soon)"
        } else {
            "ok"
        }
    );
    println!(
        "  cash drawer: {}",
        if s.drawer_open { "open" } else { "closed" }
    );
    println!("  error:       {}", if s.error { "YES" } else { "none" });
}

fn no_reply_hint(cfg: &PrinterConfig) -> &'static str {
    match cfg.link {
        Link::Serial(_) => {
            "check that the printer is on, the cable, and the baud rate (--baud; the printer's self-test page shows it)"
        }
        _ => "check that the printer is on and connected",
    }
}

/// Ruler lines exactly `cols` wide: `....+....1....+....2…` and `1234567890…`.
fn rulers(cols: usize) -> [String; 2] {
    let tens = (1..=cols)
        .map(|i| {
            if i % 10 == 0 {
                char::from(b'0' + ((i / 10) % 10) as u8)
            } else if i % 5 == 0 {
                '+'
            } else {
                '.'
            }
        })
        .collect();
    let units = (1..=cols)
        .map(|i| char::from(b'0' + (i % 10) as u8))
        .collect();
    [tens, units]
}

/// The printer test page: character sets, a ruler of the paper's width, a Code 128 and a QR.
pub fn test_page(paper: Paper, device: &str) -> ReceiptDoc {
    let cols = paper.columns();
    let [tens, units] = rulers(cols);
    let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string();
    ReceiptDoc {
        header: vec!["TILLSTONE".into(), "打印测试页 PRINTER TEST".into()],
        title: Some(format!(
            "{} mm / {cols} columns",
            match paper {
                Paper::Mm58 => 58,
                Paper::Mm80 => 80,
            }
        )),
        meta: vec![
            LabelValue::new("Device 设备", device),
            LabelValue::new("Time 时间", now),
        ],
        labels: ColumnLabels::chinese(),
        items: vec![
            ItemRow {
                name: "红富士苹果（散装）".into(),
                qty: Decimal::new(1256, 3),
                unit: Some("kg".into()),
                unit_price: Decimal::new(1280, 2),
                amount: Decimal::new(1608, 2),
                notes: vec![],
            },
            ItemRow {
                name: "Mineral water 550ml".into(),
                qty: Decimal::TWO,
                unit: None,
                unit_price: Decimal::new(200, 2),
                amount: Decimal::new(400, 2),
                notes: vec![],
            },
        ],
        totals: vec![TotalRow {
            label: "合计 TOTAL ￥".into(),
            amount: Decimal::new(2008, 2),
            emphasis: true,
        }],
        coupons: vec![
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ".into(),
            "abcdefghijklmnopqrstuvwxyz".into(),
            "0123456789".into(),
            "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".into(),
            "中文测试：欢迎光临，谢谢惠顾！".into(),
            "全角：￥１２．５０ＡＢＣ，。！".into(),
            tens,
            units,
        ],
        footer: vec![
            format!("Ruler = exactly one line ({cols} columns)"),
            "标尺应正好占满一行".into(),
        ],
        barcode: Some("TILLSTONE-TEST".into()),
        qr: Some(QrBlock {
            data: "https://tillstone.cn/printer-test".into(),
            caption: Some("扫码测试 QR TEST".into()),
        }),
        decimals: 2,
        ..ReceiptDoc::default()
    }
}

/// Query the status; `Ok(None)` after printing why when the printer does not answer.
fn query_status(
    printer: &mut Printer,
    cfg: &PrinterConfig,
) -> anyhow::Result<Option<PrinterStatus>> {
    match printer.status() {
        Ok(s) => Ok(Some(s)),
        Err(PrinterError::NoReply { .. }) => {
            println!(
                "printer problem: {} — {}",
                problem_text(PrinterProblem::NoReply),
                no_reply_hint(cfg)
            );
            Ok(None)
        }
        Err(e) => Err(printer_error(e)),
    }
}

fn has_status(cfg: &PrinterConfig) -> bool {
    !matches!(cfg.link, Link::File { .. })
}

fn test_printer(args: &TestArgs) -> anyhow::Result<i32> {
    let cfg = printer_config(args)?;
    let mut printer = open_printer(&cfg)?;
    let paper = cfg.profile.paper;
    println!(
        "printer: {} ({} mm paper, {} columns, {} text)",
        printer.describe(),
        if paper == Paper::Mm58 { 58 } else { 80 },
        paper.columns(),
        name(&cfg.profile.text_mode)
    );
    if has_status(&cfg) {
        println!("status:");
        match query_status(&mut printer, &cfg)? {
            Some(s) => {
                print_status(&s);
                if let Some(p) = s.problem() {
                    println!("printer problem: {}", problem_text(p));
                }
            }
            None => return Ok(1),
        }
    } else {
        println!("status: not available for file output (assumed online)");
    }
    let doc = test_page(paper, &printer.describe());
    match printer.print(&doc).map_err(printer_error)? {
        PrintOutcome::Printed { .. } => {
            println!(
                "test page printed: check that each ruler fills exactly one line ({} columns) and that the Chinese text, the ￥ sign, the barcode and the QR code are readable",
                paper.columns()
            );
            Ok(0)
        }
        PrintOutcome::NotPrinted { problem } => {
            println!(
                "test page NOT printed: {} — fix it and run the test again",
                problem_text(problem)
            );
            Ok(1)
        }
        PrintOutcome::Unconfirmed { problem } => {
            println!(
                "test page sent, but the printer then reported: {} — the page may be incomplete",
                problem_text(problem)
            );
            Ok(1)
        }
    }
}

fn test_drawer(args: &TestArgs) -> anyhow::Result<i32> {
    let cfg = printer_config(args)?;
    let mut printer = open_printer(&cfg)?;
    println!(
        "cash drawer through printer {} (pulse on pin {}, {} ms)",
        printer.describe(),
        if cfg.profile.drawer.pin == 0 { 2 } else { 5 },
        cfg.profile.drawer.on_ms
    );
    let status_ok = has_status(&cfg);
    let before = if status_ok {
        let s = query_status(&mut printer, &cfg)?;
        if let Some(s) = s {
            println!(
                "drawer before: {}",
                if s.drawer_open { "open" } else { "closed" }
            );
        }
        s
    } else {
        println!("drawer status: not available for file output");
        None
    };
    printer.kick_drawer().map_err(printer_error)?;
    println!("drawer kicked");
    if let Some(before) = before {
        std::thread::sleep(Duration::from_millis(500));
        if let Some(after) = query_status(&mut printer, &cfg)? {
            println!(
                "drawer after:  {}",
                if after.drawer_open { "open" } else { "closed" }
            );
            if !before.drawer_open && !after.drawer_open {
                println!(
                    "the drawer still reports closed: if it did not open, check its cable (into the printer's DK port) and the pulse pin (printer.drawer.pin in devices.toml); if it did open, its switch is wired the other way (printer.drawer_open_when_high) or not at all"
                );
            }
        }
    }
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// devices test scanner

fn scanner_config(args: &TestArgs) -> anyhow::Result<ScannerConfig> {
    let mut cfg = if args.is_profile() {
        let profiles = profiles_for_test(args, "scanner")?;
        let mut s = profiles
            .scanner
            .clone()
            .ok_or_else(|| missing_section(args, "scanner"))?;
        // The store's [scan] settings apply unless the [scanner] section has its own.
        if s.scan == ScanConfig::default() {
            s.scan = profiles.scan;
        }
        s
    } else {
        let scan = load_profiles(&args.data)?
            .map(|p| p.scan)
            .unwrap_or_default();
        ScannerConfig {
            path: serial_path(&args.device)?,
            scan,
            ..ScannerConfig::default()
        }
    };
    if let Some(b) = args.baud {
        cfg.baud = b;
    }
    Ok(cfg)
}

fn test_scanner(args: &TestArgs) -> anyhow::Result<i32> {
    let cfg = scanner_config(args)?;
    let seconds = args.seconds.unwrap_or(30);
    let (path, baud, suffix) = (cfg.path.clone(), cfg.baud, name(&cfg.suffix));
    let reader = ScannerReader::open(cfg).map_err(|e| match e {
        ScannerError::Open { path, source } => cannot_open(&path, source),
        other => anyhow!(other),
    })?;
    eprintln!(
        "listening to the scanner on {path} ({baud} baud, suffix {suffix}) for {seconds} s: scan some barcodes (Ctrl-C stops)"
    );
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut scans = 0u32;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match reader.next_event(left.min(Duration::from_millis(200))) {
            Some(ScannerEvent::Scan { result }) => {
                scans += 1;
                println!("{}", serde_json::to_string(&result)?);
            }
            Some(ScannerEvent::Disconnected { message }) => {
                println!("scanner disconnected: {message}");
                return Ok(1);
            }
            None => {}
        }
    }
    reader.stop();
    if scans == 0 {
        println!(
            "no scans received in {seconds} s: check that the scanner is in serial / USB-COM mode (not keyboard mode), its baud rate (--baud) and that it ends each scan with CR"
        );
        return Ok(1);
    }
    eprintln!("{scans} scan(s) received");
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// devices test scale

fn scale_config(args: &TestArgs) -> anyhow::Result<ScaleConfig> {
    let mut cfg = if args.is_profile() {
        profiles_for_test(args, "scale")?
            .scale
            .ok_or_else(|| missing_section(args, "scale"))?
    } else {
        ScaleConfig {
            path: serial_path(&args.device)?,
            baud: 9600,
            protocol: args.protocol.unwrap_or(ScaleProtocol::Toledo8217),
            unit: WeightUnit::Kg,
            framing: None,
        }
    };
    if let Some(b) = args.baud {
        cfg.baud = b;
    }
    if let Some(p) = args.protocol {
        cfg.protocol = p;
    }
    if args.framing.is_some() {
        cfg.framing = args.framing;
    }
    Ok(cfg)
}

fn reading_text(r: &ScaleReading) -> String {
    match r {
        ScaleReading::Stable(kg) => format!("{kg} kg (stable)"),
        ScaleReading::Motion => "motion: the load is moving; wait until it settles".into(),
        ScaleReading::OverCapacity => "over capacity: take weight off the scale".into(),
        ScaleReading::UnderZero => {
            "under zero: empty the platter and press ZERO on the scale".into()
        }
        ScaleReading::Error(m) => format!("error: {m}"),
    }
}

fn test_scale(args: &TestArgs) -> anyhow::Result<i32> {
    let cfg = scale_config(args)?;
    let count = args.count.unwrap_or(5).max(1);
    let framing = cfg.framing.unwrap_or(match cfg.protocol {
        ScaleProtocol::Toledo8217 => LineFraming::SevenEvenOne,
        ScaleProtocol::CasContinuous => LineFraming::EightNoneOne,
    });
    let mut scale = Scale::open(&cfg).map_err(|e| match e {
        ScaleError::Open { path, source } => cannot_open(&path, source),
        other => anyhow!(other),
    })?;
    println!(
        "scale: {}, {}, {} baud {}, {}",
        cfg.path,
        name(&cfg.protocol),
        cfg.baud,
        framing_text(framing),
        name(&cfg.unit)
    );
    let mut failed = false;
    for i in 1..=count {
        if i > 1 {
            std::thread::sleep(Duration::from_millis(300));
        }
        match scale.read_weight(Duration::from_secs(2)) {
            Ok(r) => {
                failed |= matches!(r, ScaleReading::Error(_));
                println!("reading {i}: {}", reading_text(&r));
            }
            Err(ScaleError::NoResponse { timeout_ms }) => {
                println!(
                    "reading {i}: no answer within {timeout_ms} ms — check that the scale is on, its cable, its baud rate (--baud) and protocol (--protocol toledo8217|cas_continuous)"
                );
                return Ok(1);
            }
            Err(e) => return Err(anyhow!(e)),
        }
    }
    Ok(i32::from(failed))
}

// ---------------------------------------------------------------------------------------------
// devices test display

fn display_config(args: &TestArgs) -> anyhow::Result<DisplayConfig> {
    let mut cfg = if args.is_profile() {
        profiles_for_test(args, "display")?
            .display
            .ok_or_else(|| missing_section(args, "display"))?
    } else {
        DisplayConfig {
            path: serial_path(&args.device)?,
            baud: 9600,
            mode: tillstone_devices::display::DisplayMode::Cd5220,
            labels: DisplayLabels::default(),
        }
    };
    if let Some(b) = args.baud {
        cfg.baud = b;
    }
    Ok(cfg)
}

fn display_error(e: DisplayError) -> anyhow::Error {
    match e {
        DisplayError::Open { path, source } => cannot_open(&path, source),
        other => anyhow!(other),
    }
}

fn test_display(args: &TestArgs) -> anyhow::Result<i32> {
    let cfg = display_config(args)?;
    let pause = Duration::from_secs(args.seconds.unwrap_or(2));
    let mut d = CustomerDisplay::open(&cfg).map_err(display_error)?;
    println!(
        "customer display: {}, {} baud, {} mode",
        cfg.path,
        cfg.baud,
        name(&cfg.mode)
    );
    d.init().map_err(display_error)?;
    let (l1, l2) = ("TILLSTONE TEST", "12345678901234567890");
    d.show(l1, l2).map_err(display_error)?;
    println!("showing |{l1:<20}|{l2}|: every character must be visible, nothing cut off");
    std::thread::sleep(pause);
    let (qty, price, amount) = (
        Decimal::new(1256, 3),
        Decimal::new(1280, 2),
        Decimal::new(1608, 2),
    );
    d.show_item_qty("APPLE FUJI", qty, price, amount)
        .map_err(display_error)?;
    println!("showing an item: APPLE FUJI, 1.256 x 12.80 = 16.08");
    std::thread::sleep(pause);
    let total = Decimal::new(2008, 2);
    d.show_total(total).map_err(display_error)?;
    println!("showing the total: {} 20.08", cfg.labels.total);
    println!("display test done");
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// barcode parse

fn symbology_text(s: Symbology) -> String {
    match s {
        Symbology::Unknown => "unknown (no AIM identifier)".into(),
        other => name(&other),
    }
}

fn format_text(f: GtinFormat) -> &'static str {
    match f {
        GtinFormat::Ean13 => "EAN-13",
        GtinFormat::Ean8 => "EAN-8",
        GtinFormat::UpcA => "UPC-A",
        GtinFormat::UpcE => "UPC-E (expanded to UPC-A)",
        GtinFormat::Gtin14 => "GTIN-14",
    }
}

fn print_fields(title: &str, fields: &[(&str, String)]) {
    println!("{title}");
    for (k, v) in fields {
        println!("  {:<13}{v}", format!("{k}:"));
    }
}

fn print_scan(result: &ScanResult) {
    match result {
        ScanResult::Gtin {
            gtin,
            format,
            symbology,
        } => print_fields(
            "product barcode (GTIN): the till looks the item up by this number",
            &[
                ("gtin", gtin.clone()),
                ("format", format_text(*format).into()),
                ("gtin-14", scan::gtin::to_gtin14(gtin)),
                ("symbology", symbology_text(*symbology)),
            ],
        ),
        ScanResult::Gs1 {
            gtin,
            elements,
            weight_kg,
            price,
            currency,
            batch,
            expiry,
            best_before,
            serial,
            symbology,
        } => {
            let mut f: Vec<(&str, String)> = Vec::new();
            let opt = |f: &mut Vec<(&str, String)>, k, v: Option<String>| {
                if let Some(v) = v {
                    f.push((k, v));
                }
            };
            opt(&mut f, "gtin", gtin.clone());
            opt(&mut f, "weight", weight_kg.map(|w| format!("{w} kg")));
            opt(&mut f, "price", price.map(|p| p.to_string()));
            opt(&mut f, "currency", currency.clone());
            opt(&mut f, "batch", batch.clone());
            opt(&mut f, "expiry", expiry.clone());
            opt(&mut f, "best before", best_before.clone());
            opt(&mut f, "serial", serial.clone());
            f.push(("symbology", symbology_text(*symbology)));
            print_fields("GS1 element string", &f);
            println!("  elements:");
            for e in elements {
                let title = scan::gs1::ai_spec(&e.ai).map_or("", |s| s.title);
                println!("    ({}) {}  {title}", e.ai, e.value);
            }
        }
        ScanResult::Weighed {
            item_code,
            weight_kg,
            amount,
            symbology,
        } => {
            let mut f = vec![
                ("item code", item_code.clone()),
                ("weight", format!("{weight_kg} kg")),
            ];
            if let Some(a) = amount {
                f.push(("amount", a.to_string()));
            }
            f.push(("symbology", symbology_text(*symbology)));
            print_fields(
                "weighed-item label: the till sells this weight of the item",
                &f,
            );
        }
        ScanResult::Priced {
            item_code,
            price,
            unit_price,
            symbology,
        } => {
            let mut f = vec![
                ("item code", item_code.clone()),
                ("price", price.to_string()),
            ];
            if let Some(u) = unit_price {
                f.push(("unit price", u.to_string()));
            }
            f.push(("symbology", symbology_text(*symbology)));
            print_fields("priced-item label: the till charges this price", &f);
        }
        ScanResult::Receipt {
            receipt_no,
            symbology,
        } => print_fields(
            "receipt barcode: opens the receipt (returns, reprints)",
            &[
                ("receipt no", receipt_no.clone()),
                ("symbology", symbology_text(*symbology)),
            ],
        ),
        ScanResult::Code { text, symbology } => print_fields(
            "plain code: looked up as an internal item code",
            &[
                ("text", text.clone()),
                ("symbology", symbology_text(*symbology)),
            ],
        ),
        ScanResult::Invalid {
            code,
            message,
            data,
        } => print_fields(
            &format!("REJECTED: {message}"),
            &[("code", code.as_str().into()), ("data", data.clone())],
        ),
    }
}

fn parse_barcode(data: &str, json: bool, dir: &Path) -> anyhow::Result<i32> {
    let cfg = load_profiles(dir)?.map(|p| p.scan).unwrap_or_default();
    let text = data.replace("<GS>", "\u{1d}");
    let result = scan::parse_str(&text, &cfg);
    if json {
        println!("{}", serde_json::to_string(&result)?);
    } else {
        print_scan(&result);
    }
    Ok(i32::from(result.is_invalid()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_is_a_valid_profile() {
        let p = DeviceProfiles::from_toml(EXAMPLE_DEVICES_TOML).expect("example is valid");
        assert!(p.printer.is_some() && p.scale.is_some() && p.display.is_some());
    }

    #[test]
    fn rulers_fill_the_line() {
        for paper in [Paper::Mm58, Paper::Mm80] {
            let [a, b] = rulers(paper.columns());
            assert_eq!(a.len(), paper.columns());
            assert_eq!(b.len(), paper.columns());
        }
        assert!(rulers(32)[0].starts_with("....+....1....+....2"));
    }

    #[test]
    fn hints_name_the_fix() {
        assert!(open_hint("/dev/ttyUSB0", "Permission denied").contains("dialout"));
        assert!(open_hint("/dev/usb/lp0", "Permission denied").contains("lp group"));
        assert!(open_hint("/dev/ttyUSB9", "No such file or directory").contains("devices list"));
    }
}
