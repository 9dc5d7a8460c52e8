//! Device profiles of a terminal, saved in its `devices.toml` and validated with messages an
//! installer can act on. The sections are the devices' own configuration types.

use crate::display::DisplayConfig;
use crate::printer::{Printer, PrinterProfile};
use crate::scale::ScaleConfig;
use crate::scan::ScanConfig;
use crate::scanner::ScannerConfig;
use crate::transport::{
    FileTransport, SerialConfig, SerialTransport, TcpTransport, Transport, TransportError,
    UsbLpTransport,
};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

pub const STANDARD_BAUDS: &[u32] = &[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200];

/// How the till reaches its printer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "transport", rename_all = "snake_case")]
pub enum Link {
    Serial(SerialConfig),
    /// USB printer class device file, e.g. `/dev/usb/lp0`.
    Usb {
        path: String,
    },
    /// Network printer, raw TCP (port 9100).
    Tcp {
        address: String,
    },
    /// Append to a file (tests, or a printer shared by the OS).
    File {
        path: String,
    },
}

impl Link {
    /// Open the transport (a TCP printer connects on first use).
    pub fn open(&self) -> Result<Box<dyn Transport>, TransportError> {
        Ok(match self {
            Link::Serial(cfg) => Box::new(SerialTransport::open(cfg)?),
            Link::Usb { path } => Box::new(UsbLpTransport::open(Path::new(path), true)?),
            Link::Tcp { address } => {
                let addr: SocketAddr = address.parse().map_err(|_| {
                    TransportError::io(
                        address,
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidInput,
                            "not an IP:PORT address",
                        ),
                    )
                })?;
                Box::new(TcpTransport::new(
                    addr,
                    Duration::from_secs(3),
                    Duration::from_secs(10),
                ))
            }
            Link::File { path } => Box::new(FileTransport::new(path)),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterConfig {
    #[serde(flatten)]
    pub link: Link,
    #[serde(flatten)]
    pub profile: PrinterProfile,
    /// A logo (PNG) printed at the top of every receipt, dithered to the paper width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
}

impl PrinterConfig {
    pub fn open(&self) -> Result<Printer, TransportError> {
        Ok(Printer::new(self.link.open()?, self.profile.clone()))
    }
}

/// All device profiles of a terminal (`devices.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DeviceProfiles {
    #[serde(default)]
    pub printer: Option<PrinterConfig>,
    #[serde(default)]
    pub scanner: Option<ScannerConfig>,
    #[serde(default)]
    pub scale: Option<ScaleConfig>,
    #[serde(default)]
    pub display: Option<DisplayConfig>,
    /// How scans typed or sent by keyboard-wedge scanners are read (store label layouts).
    #[serde(default)]
    pub scan: ScanConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("devices.toml is not valid: {0}")]
    Syntax(String),
    #[error("{0}")]
    Invalid(String),
}

fn check_baud(what: &str, baud: u32, problems: &mut Vec<String>) {
    if !STANDARD_BAUDS.contains(&baud) {
        problems.push(format!(
            "{what}.baud {baud} is not a standard rate: use one of {STANDARD_BAUDS:?} (the device's manual or its self-test page shows it)"
        ));
    }
}

fn check_path(what: &str, path: &str, problems: &mut Vec<String>) {
    if path.trim().is_empty() {
        problems.push(format!(
            "{what}.path is empty: run `tillstone devices list` to find the device"
        ));
    } else if !path.starts_with('/') {
        problems.push(format!(
            "{what}.path {path:?} must be an absolute device path such as /dev/ttyUSB0"
        ));
    }
}

impl DeviceProfiles {
    /// Parse and validate; every problem is listed, each with what to do about it.
    pub fn from_toml(text: &str) -> Result<DeviceProfiles, ConfigError> {
        let profiles: DeviceProfiles =
            toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        profiles.validate()?;
        Ok(profiles)
    }

    pub fn to_toml(&self) -> Result<String, ConfigError> {
        toml::to_string_pretty(self).map_err(|e| ConfigError::Syntax(e.to_string()))
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut p = Vec::new();
        let mut ports: Vec<&str> = Vec::new();
        if let Some(printer) = &self.printer {
            match &printer.link {
                Link::Serial(cfg) => {
                    check_path("printer", &cfg.path, &mut p);
                    check_baud("printer", cfg.baud, &mut p);
                    ports.push(&cfg.path);
                }
                Link::Usb { path } => {
                    check_path("printer", path, &mut p);
                    if !path.contains("/usb/lp") {
                        p.push(format!(
                            "printer.path {path:?} is not a USB printer device: they are named /dev/usb/lpN"
                        ));
                    }
                    ports.push(path);
                }
                Link::Tcp { address } => {
                    if address.parse::<SocketAddr>().is_err() {
                        p.push(format!(
                            "printer.address {address:?} is not an address: write IP:PORT, e.g. 192.168.1.50:9100"
                        ));
                    }
                }
                Link::File { path } => check_path("printer", path, &mut p),
            }
            if let Some(logo) = &printer.logo
                && !logo.to_ascii_lowercase().ends_with(".png")
            {
                p.push(format!("printer.logo {logo:?} must be a PNG file"));
            }
        }
        if let Some(s) = &self.scanner {
            check_path("scanner", &s.path, &mut p);
            check_baud("scanner", s.baud, &mut p);
            ports.push(&s.path);
        }
        if let Some(s) = &self.scale {
            check_path("scale", &s.path, &mut p);
            check_baud("scale", s.baud, &mut p);
            ports.push(&s.path);
        }
        if let Some(d) = &self.display {
            check_path("display", &d.path, &mut p);
            check_baud("display", d.baud, &mut p);
            ports.push(&d.path);
        }
        for (i, a) in ports.iter().enumerate() {
            if ports[i + 1..].contains(a) {
                p.push(format!(
                    "{a} is assigned to two devices: each device needs its own port"
                ));
            }
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(p.join("\n")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipt::Paper;
    use crate::receipt::escpos::TextMode;

    #[test]
    fn a_full_profile_round_trips() {
        let text = r#"
[printer]
transport = "serial"
path = "/dev/ttyUSB0"
baud = 19200
flow_control = "hardware"
paper = "mm58"
text_mode = "raster"

[scanner]
path = "/dev/ttyACM0"
suffix = "cr_lf"

[scale]
path = "/dev/ttyUSB1"
protocol = "cas_continuous"

[display]
path = "/dev/ttyUSB2"
"#;
        let p = DeviceProfiles::from_toml(text).expect("valid");
        let printer = p.printer.as_ref().expect("printer");
        assert_eq!(printer.profile.paper, Paper::Mm58);
        assert_eq!(printer.profile.text_mode, TextMode::Raster);
        match &printer.link {
            Link::Serial(cfg) => assert_eq!((cfg.path.as_str(), cfg.baud), ("/dev/ttyUSB0", 19200)),
            other => panic!("serial expected, got {other:?}"),
        }
        let again = DeviceProfiles::from_toml(&p.to_toml().expect("toml")).expect("valid");
        assert_eq!(again, p);
    }

    #[test]
    fn every_problem_is_reported_with_what_to_do() {
        let text = r#"
[printer]
transport = "tcp"
address = "printer.local"
paper = "mm80"

[scanner]
path = "ttyACM0"
baud = 12345

[scale]
path = "/dev/ttyUSB1"
protocol = "toledo8217"

[display]
path = "/dev/ttyUSB1"
"#;
        let err = DeviceProfiles::from_toml(text)
            .expect_err("invalid")
            .to_string();
        assert!(err.contains("IP:PORT"), "{err}");
        assert!(err.contains("absolute device path"), "{err}");
        assert!(err.contains("12345 is not a standard rate"), "{err}");
        assert!(
            err.contains("/dev/ttyUSB1 is assigned to two devices"),
            "{err}"
        );
        let unknown = DeviceProfiles::from_toml("[printr]\npath = \"/dev/x\"\n").expect_err("typo");
        assert!(unknown.to_string().contains("printr"), "{unknown}");
    }
}
