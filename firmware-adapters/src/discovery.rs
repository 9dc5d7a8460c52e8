//! Finding devices for installers: serial ports (with their USB identity) and USB printer-class
//! devices, with a guess of what each one is from a small table of known USB vendors.

use serde::Serialize;
use std::path::Path;

/// What a device probably is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Printer,
    Scanner,
    Scale,
    Display,
    /// A USB-to-serial adapter: whatever is plugged into it (scale, display, printer).
    SerialAdapter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    /// A built-in or unknown serial port (`/dev/ttyS*`).
    Serial,
    /// A USB serial / USB-CDC port (`/dev/ttyUSB*`, `/dev/ttyACM*`).
    UsbSerial,
    /// A USB printer-class device file (`/dev/usb/lp*`).
    UsbPrinter,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoundDevice {
    /// Device path to put in the device profile.
    pub path: String,
    pub connection: Connection,
    pub vid: Option<u16>,
    pub pid: Option<u16>,
    pub serial_number: Option<String>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub kind: Option<DeviceKind>,
    /// Why we think so, e.g. "Epson (receipt printers)".
    pub guess: Option<String>,
}

/// (vendor id, product id or None for any, kind, description)
const KNOWN: &[(u16, Option<u16>, DeviceKind, &str)] = &[
    (
        0x04b8,
        None,
        DeviceKind::Printer,
        "Epson (TM receipt printers)",
    ),
    (
        0x0519,
        None,
        DeviceKind::Printer,
        "Star Micronics (receipt printers)",
    ),
    (
        0x0dd4,
        None,
        DeviceKind::Printer,
        "Custom Engineering (receipt printers)",
    ),
    (0x154f, None, DeviceKind::Printer, "SNBC (receipt printers)"),
    (
        0x0fe6,
        Some(0x811e),
        DeviceKind::Printer,
        "Generic Chinese ESC/POS printer (Xprinter / Gprinter OEM)",
    ),
    (
        0x0416,
        Some(0x5011),
        DeviceKind::Printer,
        "Winbond-based ESC/POS printer (Xprinter / POS-58 / POS-80 OEM)",
    ),
    (0x0a5f, None, DeviceKind::Printer, "Zebra (label printers)"),
    (
        0x05e0,
        None,
        DeviceKind::Scanner,
        "Symbol / Zebra (barcode scanners)",
    ),
    (
        0x0c2e,
        None,
        DeviceKind::Scanner,
        "Honeywell / Metrologic (barcode scanners)",
    ),
    (
        0x0536,
        None,
        DeviceKind::Scanner,
        "Hand Held Products / Honeywell (barcode scanners)",
    ),
    (
        0x05f9,
        None,
        DeviceKind::Scanner,
        "Datalogic (barcode scanners)",
    ),
    (
        0x1eab,
        None,
        DeviceKind::Scanner,
        "Newland (barcode scanners)",
    ),
    (0x0eb8, None, DeviceKind::Scale, "Mettler Toledo (scales)"),
    (
        0x0403,
        Some(0x6001),
        DeviceKind::SerialAdapter,
        "FTDI USB-serial adapter",
    ),
    (
        0x0403,
        Some(0x6015),
        DeviceKind::SerialAdapter,
        "FTDI USB-serial adapter",
    ),
    (
        0x067b,
        Some(0x2303),
        DeviceKind::SerialAdapter,
        "Prolific PL2303 USB-serial adapter",
    ),
    (
        0x1a86,
        Some(0x7523),
        DeviceKind::SerialAdapter,
        "WCH CH340 USB-serial adapter",
    ),
    (
        0x10c4,
        Some(0xea60),
        DeviceKind::SerialAdapter,
        "Silicon Labs CP210x USB-serial adapter",
    ),
];

/// What a USB vendor/product id probably is (exact product match first, then the vendor).
pub fn guess(vid: u16, pid: u16) -> Option<(DeviceKind, &'static str)> {
    KNOWN
        .iter()
        .find(|(v, p, ..)| *v == vid && *p == Some(pid))
        .or_else(|| KNOWN.iter().find(|(v, p, ..)| *v == vid && p.is_none()))
        .map(|(_, _, kind, desc)| (*kind, *desc))
}

fn with_guess(mut d: FoundDevice) -> FoundDevice {
    if let (Some(v), Some(p)) = (d.vid, d.pid)
        && let Some((kind, desc)) = guess(v, p)
    {
        d.kind = Some(kind);
        d.guess = Some(desc.to_string());
    }
    d
}

/// Every serial port and USB printer on this machine.
pub fn list() -> Vec<FoundDevice> {
    let mut out = serial_ports();
    out.extend(usb_printers(
        Path::new("/dev/usb"),
        Path::new("/sys/class/usbmisc"),
    ));
    out
}

/// Serial ports as the OS enumerates them (libudev on Linux).
pub fn serial_ports() -> Vec<FoundDevice> {
    let ports = match serialport::available_ports() {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "cannot enumerate serial ports");
            return Vec::new();
        }
    };
    ports
        .into_iter()
        .map(|p| {
            let base = FoundDevice {
                path: p.port_name.clone(),
                connection: Connection::Serial,
                vid: None,
                pid: None,
                serial_number: None,
                manufacturer: None,
                product: None,
                kind: None,
                guess: None,
            };
            match p.port_type {
                serialport::SerialPortType::UsbPort(u) => with_guess(FoundDevice {
                    connection: Connection::UsbSerial,
                    vid: Some(u.vid),
                    pid: Some(u.pid),
                    serial_number: u.serial_number,
                    manufacturer: u.manufacturer,
                    product: u.product,
                    ..base
                }),
                _ => base,
            }
        })
        .collect()
}

fn read_hex(path: &Path) -> Option<u16> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| u16::from_str_radix(s.trim(), 16).ok())
}

fn read_text(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// USB printer-class device files (`lp*` in `dev_dir`) with their USB identity read from
/// sysfs (`<sys_dir>/lpN/device/..`). The directories are parameters so tests can use a
/// directory tree of their own.
pub fn usb_printers(dev_dir: &Path, sys_dir: &Path) -> Vec<FoundDevice> {
    let Ok(entries) = std::fs::read_dir(dev_dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("lp"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            // .../usbmisc/lp0/device is the USB interface; its parent is the USB device.
            let usb = sys_dir.join(&name).join("device").join("..");
            with_guess(FoundDevice {
                path: dev_dir.join(&name).display().to_string(),
                connection: Connection::UsbPrinter,
                vid: read_hex(&usb.join("idVendor")),
                pid: read_hex(&usb.join("idProduct")),
                serial_number: read_text(&usb.join("serial")),
                manufacturer: read_text(&usb.join("manufacturer")),
                product: read_text(&usb.join("product")),
                kind: Some(DeviceKind::Printer),
                guess: None,
            })
        })
        .map(|mut d| {
            d.kind = Some(DeviceKind::Printer);
            d.guess
                .get_or_insert_with(|| "USB printer class device".into());
            d
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_by_product_then_vendor() {
        assert_eq!(
            guess(0x04b8, 0x0202).map(|g| g.0),
            Some(DeviceKind::Printer)
        );
        assert_eq!(
            guess(0x1a86, 0x7523).map(|g| g.0),
            Some(DeviceKind::SerialAdapter)
        );
        assert_eq!(
            guess(0x1a86, 0x5523),
            None,
            "other WCH products are not CH340 adapters"
        );
        assert_eq!(
            guess(0x0c2e, 0x0b61).map(|g| g.0),
            Some(DeviceKind::Scanner)
        );
        assert_eq!(guess(0xffff, 0x0001), None);
    }

    #[test]
    fn usb_printers_read_their_identity_from_sysfs() {
        let root = tempfile::tempdir().expect("tempdir");
        let dev = root.path().join("dev/usb");
        let sys = root.path().join("sys/class/usbmisc");
        std::fs::create_dir_all(&dev).expect("dev");
        std::fs::write(dev.join("lp0"), b"").expect("lp0");
        std::fs::write(dev.join("lp1"), b"").expect("lp1");
        std::fs::write(dev.join("hiddev0"), b"").expect("other");
        // lp0: an Epson printer; lp1: no sysfs data.
        let usb_dev = root.path().join("sys/devices/usb1/1-1");
        let iface = usb_dev.join("1-1:1.0");
        std::fs::create_dir_all(&iface).expect("iface");
        std::fs::write(usb_dev.join("idVendor"), "04b8\n").expect("vid");
        std::fs::write(usb_dev.join("idProduct"), "0e15\n").expect("pid");
        std::fs::write(usb_dev.join("manufacturer"), "EPSON\n").expect("mfr");
        std::fs::write(usb_dev.join("product"), "TM-T20II\n").expect("product");
        std::fs::create_dir_all(sys.join("lp0")).expect("sys lp0");
        std::os::unix::fs::symlink(&iface, sys.join("lp0").join("device")).expect("link");
        let found = usb_printers(&dev, &sys);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].vid, Some(0x04b8));
        assert_eq!(found[0].pid, Some(0x0e15));
        assert_eq!(found[0].product.as_deref(), Some("TM-T20II"));
        assert_eq!(
            found[0].guess.as_deref(),
            Some("Epson (TM receipt printers)")
        );
        assert_eq!(found[1].vid, None);
        assert_eq!(found[1].kind, Some(DeviceKind::Printer));
        assert!(found[1].path.ends_with("lp1"));
    }
}
