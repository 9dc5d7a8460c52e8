//! Manager and installer use cases of the web UI: X / Z reports on the receipt printer (and
//! their preview), the devices overview, `devices.toml` editing, and device tests (printer test
//! page through the print queue, customer display, scale, serial scanner).
//!
//! Everything prints through the terminal's print queue, like receipts: a printer problem
//! leaves the job pending with its reason and never blocks the till.

use crate::app::{Session, Terminal};
use crate::devices::{DEVICES_FILE, PrinterView};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::receipt_doc::{Lang, tender_label};
use chrono::{DateTime, FixedOffset, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;
use tillstone_core::auth::Action;
use tillstone_core::report::{ReportKind, ShiftReport};
use tillstone_core::settings::StoreSettings;
use tillstone_devices::config::DeviceProfiles;
use tillstone_devices::discovery::{self, FoundDevice};
use tillstone_devices::receipt::{
    AmountLine, ColumnLabels, ItemRow, LabelValue, Paper, QrBlock, ReceiptDoc, TaxRow, TotalRow,
};
use tillstone_devices::scale::ScaleReading;
use tillstone_devices::scanner::ScannerEvent;

/// Which shift report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The open shift, now.
    X,
    /// A closed shift's Z report by number.
    Z(u64),
}

struct Words {
    x_title: &'static str,
    z_title: &'static str,
    shift: &'static str,
    opened_by: &'static str,
    opened_at: &'static str,
    at_x: &'static str,
    at_z: &'static str,
    sales_count: &'static str,
    returns_count: &'static str,
    voided: &'static str,
    no_sale: &'static str,
    overrides: &'static str,
    gross: &'static str,
    discounts: &'static str,
    sales_total: &'static str,
    returns: &'static str,
    net: &'static str,
    float: &'static str,
    cash_sales: &'static str,
    cash_refunds: &'static str,
    paid_in: &'static str,
    paid_out: &'static str,
    expected: &'static str,
    counted: &'static str,
    variance: &'static str,
    by_category: &'static str,
    by_hour: &'static str,
    footer_x: &'static str,
    footer_z: &'static str,
}

const ZH: Words = Words {
    x_title: "X 报表（班中）",
    z_title: "Z 报表",
    shift: "班次",
    opened_by: "开班人",
    opened_at: "开班时间",
    at_x: "打印时间",
    at_z: "交班时间",
    sales_count: "销售笔数",
    returns_count: "退货笔数",
    voided: "作废",
    no_sale: "开钱箱（无销售）",
    overrides: "授权次数",
    gross: "销售总额",
    discounts: "优惠",
    sales_total: "销售合计",
    returns: "退货",
    net: "净销售额",
    float: "备用金",
    cash_sales: "现金销售",
    cash_refunds: "现金退款",
    paid_in: "收入",
    paid_out: "支出",
    expected: "应有现金",
    counted: "实点现金",
    variance: "差异",
    by_category: "按品类",
    by_hour: "按小时",
    footer_x: "X 报表不结束班次",
    footer_z: "Z 报表已结束班次，不可更改",
};

const EN: Words = Words {
    x_title: "X REPORT (shift open)",
    z_title: "Z REPORT",
    shift: "Shift",
    opened_by: "Opened by",
    opened_at: "Opened",
    at_x: "Printed",
    at_z: "Closed",
    sales_count: "Sales",
    returns_count: "Returns",
    voided: "Voided",
    no_sale: "No-sale openings",
    overrides: "Overrides",
    gross: "Gross sales",
    discounts: "Discounts",
    sales_total: "Sales total",
    returns: "Returns",
    net: "NET SALES",
    float: "Opening float",
    cash_sales: "Cash sales",
    cash_refunds: "Cash refunds",
    paid_in: "Paid in",
    paid_out: "Paid out",
    expected: "Expected cash",
    counted: "Counted cash",
    variance: "Variance",
    by_category: "By category",
    by_hour: "By hour",
    footer_x: "An X report does not close the shift",
    footer_z: "Shift closed; this Z report cannot change",
};

fn money(d: Decimal, places: u32) -> String {
    format!("{:.*}", places as usize, d.round_dp(places))
}

fn local(at: DateTime<Utc>, settings: &StoreSettings) -> String {
    let offset = FixedOffset::east_opt(settings.utc_offset_minutes * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset is valid"));
    at.with_timezone(&offset)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A shift report laid out for the receipt printer, in Chinese or English.
pub fn report_doc(r: &ShiftReport, settings: &StoreSettings, lang: Lang) -> ReceiptDoc {
    let w = match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    };
    let mu = settings.minor_units();
    let store_name = match lang {
        Lang::En if !settings.store_name_en.is_empty() => settings.store_name_en.clone(),
        _ => settings.store_name.clone(),
    };
    let title = match (r.kind, r.z_no) {
        (ReportKind::Z, Some(n)) => format!("{} #{n}", w.z_title),
        (ReportKind::Z, None) => w.z_title.to_string(),
        (ReportKind::X, _) => w.x_title.to_string(),
    };
    let h = &r.header;
    let mut meta = vec![
        LabelValue::new(w.shift, format!("{} · {}", h.shift_no, h.store_code)),
        LabelValue::new(w.opened_by, h.opened_by.clone()),
        LabelValue::new(w.opened_at, local(h.opened_at, settings)),
        LabelValue::new(
            if r.kind == ReportKind::Z {
                w.at_z
            } else {
                w.at_x
            },
            local(h.at, settings),
        ),
        LabelValue::new(w.sales_count, r.agg.sales_count.to_string()),
        LabelValue::new(w.returns_count, r.agg.returns_count.to_string()),
    ];
    if r.agg.voided_count > 0 {
        meta.push(LabelValue::new(
            w.voided,
            format!("{} · {}", r.agg.voided_count, money(r.agg.voided_total, mu)),
        ));
    }
    if r.no_sale_count > 0 {
        meta.push(LabelValue::new(w.no_sale, r.no_sale_count.to_string()));
    }
    if r.override_count > 0 {
        meta.push(LabelValue::new(w.overrides, r.override_count.to_string()));
    }
    let totals = vec![
        TotalRow {
            label: w.gross.into(),
            amount: r.agg.gross_sales,
            emphasis: false,
        },
        TotalRow {
            label: w.discounts.into(),
            amount: -r.agg.discounts,
            emphasis: false,
        },
        TotalRow {
            label: w.sales_total.into(),
            amount: r.agg.sales_total,
            emphasis: false,
        },
        TotalRow {
            label: w.returns.into(),
            amount: -r.agg.returns_total,
            emphasis: false,
        },
        TotalRow {
            label: w.net.into(),
            amount: r.net_sales,
            emphasis: true,
        },
    ];
    let tax_summary = r
        .agg
        .tax
        .iter()
        .map(|t| TaxRow {
            rate: (t.rate * Decimal::from(100)).normalize(),
            taxable: t.taxable,
            tax: t.tax,
        })
        .collect();
    let tenders = r
        .agg
        .tenders
        .iter()
        .map(|t| {
            AmountLine::new(
                format!("{} ×{}", tender_label(t.kind, lang), t.count),
                t.sales - t.refunds,
            )
        })
        .collect();
    let c = &r.cash;
    let mut cash = vec![
        LabelValue::new(w.float, money(c.opening_float, mu)),
        LabelValue::new(w.cash_sales, money(c.cash_sales, mu)),
        LabelValue::new(w.cash_refunds, money(-c.cash_refunds, mu)),
        LabelValue::new(w.paid_in, money(c.paid_in, mu)),
        LabelValue::new(w.paid_out, money(-c.paid_out, mu)),
        LabelValue::new(w.expected, money(c.expected, mu)),
    ];
    if let Some(counted) = c.counted {
        cash.push(LabelValue::new(w.counted, money(counted, mu)));
    }
    if let Some(v) = c.variance {
        cash.push(LabelValue::new(w.variance, money(v, mu)));
    }
    let mut lines = Vec::new();
    if !r.agg.by_category.is_empty() {
        lines.push(format!("{}:", w.by_category));
        for b in &r.agg.by_category {
            let key = if b.key.is_empty() { "-" } else { &b.key };
            lines.push(format!("  {key} ×{}  {}", b.count, money(b.net, mu)));
        }
    }
    if !r.agg.by_hour.is_empty() {
        lines.push(format!("{}:", w.by_hour));
        for b in &r.agg.by_hour {
            lines.push(format!("  {}:00 ×{}  {}", b.key, b.count, money(b.net, mu)));
        }
    }
    ReceiptDoc {
        header: vec![store_name],
        title: Some(title),
        meta,
        labels: match lang {
            Lang::Zh => ColumnLabels::chinese(),
            Lang::En => ColumnLabels::english(),
        },
        totals,
        tax_summary,
        tenders,
        member: cash,
        coupons: lines,
        footer: vec![
            if r.kind == ReportKind::Z {
                w.footer_z
            } else {
                w.footer_x
            }
            .to_string(),
        ],
        decimals: mu,
        ..ReceiptDoc::default()
    }
}

/// The printer test page of the devices screen: both scripts, a ruler of the paper's width,
/// a Code 128 and a QR code.
pub fn test_page(paper: Paper, device: &str, at: &str) -> ReceiptDoc {
    let cols = paper.columns();
    let ruler: String = (1..=cols)
        .map(|i| char::from(b'0' + (i % 10) as u8))
        .collect();
    ReceiptDoc {
        header: vec!["TILLSTONE".into(), "打印测试页 PRINTER TEST".into()],
        title: Some(format!(
            "{} mm / {cols} columns",
            if paper == Paper::Mm58 { 58 } else { 80 }
        )),
        meta: vec![
            LabelValue::new("Device 设备", device),
            LabelValue::new("Time 时间", at),
        ],
        labels: ColumnLabels::chinese(),
        items: vec![ItemRow {
            name: "测试商品 Test item".into(),
            qty: Decimal::TWO,
            unit: None,
            unit_price: Decimal::new(250, 2),
            amount: Decimal::new(500, 2),
            notes: vec![],
        }],
        totals: vec![TotalRow {
            label: "合计 TOTAL".into(),
            amount: Decimal::new(500, 2),
            emphasis: true,
        }],
        coupons: vec![
            "中文测试：欢迎光临，谢谢惠顾！".into(),
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789".into(),
            ruler,
        ],
        footer: vec!["标尺应正好占满一行 / the ruler fills one line".into()],
        barcode: Some("TILLSTONE-TEST".into()),
        qr: Some(QrBlock {
            data: "https://tillstone.cn/printer-test".into(),
            caption: Some("扫码测试 QR TEST".into()),
        }),
        decimals: 2,
        ..ReceiptDoc::default()
    }
}

/// What the running till uses, per device.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ActiveDevices {
    pub printer: Option<String>,
    pub scanner: Option<String>,
    pub scale: Option<String>,
    pub display: Option<String>,
}

/// The devices screen: what is plugged in, what is configured, and the printer's state.
#[derive(Debug, Clone, Serialize)]
pub struct DevicesView {
    /// Serial ports and USB printers found on this machine, with a guess of each.
    pub discovered: Vec<FoundDevice>,
    /// The profile file.
    pub file: String,
    /// Its text (None: there is no file; the till runs without devices).
    pub config_text: Option<String>,
    /// Why the file on disk cannot be used (one problem a line), if it cannot.
    pub config_problems: Option<String>,
    /// The file's profiles, when they are valid.
    pub profiles: Option<DeviceProfiles>,
    /// The devices the running till uses (loaded at start, and again at each save here).
    pub active: ActiveDevices,
    /// The file on disk differs from what the till runs with (edited outside the devices
    /// screen): saving it there, or a restart, puts it in use.
    pub restart_required: bool,
    pub printer: PrinterView,
    /// A starting point for a new file.
    pub example: &'static str,
}

/// Given to a new `devices.toml` on the devices screen (sections of absent devices deleted).
pub const EXAMPLE_DEVICES_TOML: &str = r#"[printer]
transport = "usb"       # usb | serial (also baud) | tcp (address = "192.168.1.50:9100") | file
path = "/dev/usb/lp0"
paper = "mm80"          # or "mm58"
text_mode = "gb18030"   # "raster" for printers without a Chinese font

[scale]
path = "/dev/ttyUSB0"
baud = 9600
protocol = "toledo8217" # or "cas_continuous"
unit = "kg"

[display]
path = "/dev/ttyUSB1"
baud = 9600
"#;

fn link_text(p: &tillstone_devices::config::PrinterConfig) -> String {
    use tillstone_devices::config::Link;
    match &p.link {
        Link::Serial(s) => format!("serial {} ({} baud)", s.path, s.baud),
        Link::Usb { path } => format!("usb {path}"),
        Link::Tcp { address } => format!("tcp {address}"),
        Link::File { path } => format!("file {path}"),
    }
}

fn problems_of(e: tillstone_devices::config::ConfigError) -> String {
    match e {
        tillstone_devices::config::ConfigError::Invalid(m) => m,
        other => other.to_string(),
    }
}

impl Terminal {
    /// The terminal's data directory (the database's, devices.toml's and the print queue's).
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.data_path()
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default()
    }

    fn report(&self, s: &Session, which: Which) -> AppResult<ShiftReport> {
        match which {
            Which::X => self.x_report(s),
            Which::Z(n) => self.z_report(s, n),
        }
    }

    /// Queue a document on the receipt printer; `no_printer` when none is set up.
    fn print_doc(&self, job_id: &str, doc: ReceiptDoc) -> AppResult<PrinterView> {
        let queued = self
            .devices()
            .print(job_id, doc, &Utc::now().to_rfc3339())
            .map_err(|e| AppError::new(ErrorKind::Internal, "print_queue", e))?;
        if !queued {
            return Err(AppError::conflict(
                "no_printer",
                "no receipt printer is set up: an installer adds it to devices.toml",
            ));
        }
        Ok(self.devices().view())
    }

    /// Print the X report of the open shift, or a Z report, on the receipt printer.
    pub fn print_report(
        &self,
        s: &Session,
        which: Which,
        lang: Option<Lang>,
    ) -> AppResult<PrinterView> {
        let r = self.report(s, which)?;
        let doc = report_doc(
            &r,
            self.settings(),
            lang.unwrap_or(self.settings().language),
        );
        let job = match which {
            Which::X => format!("x-{}-{}", r.header.shift_id, uuid::Uuid::now_v7()),
            Which::Z(n) => format!("z-{n}-{}", uuid::Uuid::now_v7()),
        };
        self.print_doc(&job, doc)
    }

    /// A shift report as a PNG, laid out exactly as it prints.
    pub fn report_png(
        &self,
        s: &Session,
        which: Which,
        lang: Option<Lang>,
        paper: Option<Paper>,
    ) -> AppResult<Vec<u8>> {
        let r = self.report(s, which)?;
        let doc = report_doc(
            &r,
            self.settings(),
            lang.unwrap_or(self.settings().language),
        );
        self.png(&doc, paper)
    }

    fn png(&self, doc: &ReceiptDoc, paper: Option<Paper>) -> AppResult<Vec<u8>> {
        tillstone_devices::preview::render_png(
            doc,
            paper.unwrap_or_else(|| self.devices().paper()),
            self.devices().font_path(),
        )
        .map_err(|e| {
            AppError::new(
                ErrorKind::Internal,
                "preview_failed",
                format!("the preview could not be drawn: {e} (install fonts-wqy-microhei)"),
            )
        })
    }

    /// The devices screen: discovered ports, devices.toml (validated), the running devices.
    pub fn devices_overview(&self, s: &Session) -> AppResult<DevicesView> {
        self.require_action(s, Action::ConfigureDevices)?;
        let path = self.data_dir().join(DEVICES_FILE);
        let config_text = match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(AppError::new(
                    ErrorKind::Internal,
                    "devices_file_unreadable",
                    format!("cannot read {}: {e}", path.display()),
                ));
            }
        };
        let (profiles, config_problems) = match config_text.as_deref() {
            None => (None, None),
            Some(t) => match DeviceProfiles::from_toml(t) {
                Ok(p) => (Some(p), None),
                Err(e) => (None, Some(problems_of(e))),
            },
        };
        let devices = self.devices();
        let running = devices.profiles();
        let on_disk = profiles.clone().unwrap_or_default();
        let restart_required = config_problems.is_none() && &on_disk != running;
        Ok(DevicesView {
            discovered: discovery::list(),
            file: path.display().to_string(),
            config_text,
            config_problems,
            profiles,
            active: ActiveDevices {
                printer: running.printer.as_ref().map(link_text),
                scanner: running.scanner.as_ref().map(|c| c.path.clone()),
                scale: running.scale.as_ref().map(|c| c.path.clone()),
                display: running.display.as_ref().map(|c| c.path.clone()),
            },
            restart_required,
            printer: self.devices().view(),
            example: EXAMPLE_DEVICES_TOML,
        })
    }

    /// Validate and save devices.toml (written whole, then renamed into place). The till uses
    /// the new profiles at once ([`Terminal::reload_devices`]).
    pub fn save_devices_config(&self, s: &Session, text: &str) -> AppResult<DevicesView> {
        self.require_action(s, Action::ConfigureDevices)?;
        if text.len() > 64 * 1024 {
            return Err(AppError::bad_request(
                "invalid_devices_config",
                "devices.toml is at most 64 KiB",
            ));
        }
        DeviceProfiles::from_toml(text)
            .map_err(|e| AppError::bad_request("invalid_devices_config", problems_of(e)))?;
        let path = self.data_dir().join(DEVICES_FILE);
        let tmp = path.with_extension("toml.tmp");
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            AppError::new(
                ErrorKind::Internal,
                "devices_file_unwritable",
                format!("cannot write {}: {e}", path.display()),
            )
        })?;
        tracing::info!(user = %s.user.user_id, file = %path.display(), "devices.toml saved");
        // In use at once: the installer tests the new setup right away. Also when the profiles
        // are unchanged: a re-save picks up a replaced logo or restarts a worker that failed.
        self.reload_devices();
        self.devices_overview(s)
    }

    fn test_page_now(&self) -> ReceiptDoc {
        let device = self
            .devices()
            .profiles()
            .printer
            .as_ref()
            .map(link_text)
            .unwrap_or_else(|| "-".into());
        test_page(
            self.devices().paper(),
            &device,
            &local(Utc::now(), self.settings()),
        )
    }

    /// Queue the printer test page.
    pub fn test_printer(&self, s: &Session) -> AppResult<PrinterView> {
        self.require_action(s, Action::ConfigureDevices)?;
        self.print_doc(
            &format!("test-{}", uuid::Uuid::now_v7()),
            self.test_page_now(),
        )
    }

    /// The test page as a PNG (what the test print should look like).
    pub fn test_page_png(&self, s: &Session, paper: Option<Paper>) -> AppResult<Vec<u8>> {
        self.require_action(s, Action::ConfigureDevices)?;
        self.png(&self.test_page_now(), paper)
    }

    /// Show a test line and total on the customer display.
    pub fn test_display(&self, s: &Session) -> AppResult<serde_json::Value> {
        self.require_action(s, Action::ConfigureDevices)?;
        let devices = self.devices();
        let Some(cfg) = &devices.profiles().display else {
            return Err(AppError::conflict(
                "no_display",
                "no customer display is set up: add a [display] section to devices.toml",
            ));
        };
        devices.show_item(
            "TILLSTONE TEST",
            Decimal::new(1234, 2),
            Decimal::new(5678, 2),
        );
        Ok(serde_json::json!({"shown": true, "path": cfg.path}))
    }

    /// One scale reading, for installers.
    pub fn test_scale(&self, s: &Session) -> AppResult<ScaleReading> {
        self.require_action(s, Action::ConfigureDevices)?;
        self.devices()
            .read_scale(Duration::from_secs(2))
            .map_err(|m| AppError::conflict("scale_unavailable", m))
    }

    /// The serial scanner's next scan (long poll, at most 30 s), for installers.
    pub fn test_scanner(&self, s: &Session, timeout: Duration) -> AppResult<Option<ScannerEvent>> {
        self.require_action(s, Action::ConfigureDevices)?;
        self.devices()
            .next_scan(timeout.min(Duration::from_secs(30)))
            .map_err(|m| AppError::conflict("scanner_unavailable", m))
    }
}
