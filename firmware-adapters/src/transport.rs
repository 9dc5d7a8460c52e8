//! Byte pipes to a printer: serial, USB printer class device file, TCP (port 9100), plain file.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TransportError {
    #[error("{target}: {source}")]
    Io { target: String, source: io::Error },
    #[error("{target}: {source}")]
    Serial {
        target: String,
        source: serialport::Error,
    },
}

impl TransportError {
    pub(crate) fn io(target: &str, source: io::Error) -> Self {
        TransportError::Io {
            target: target.to_string(),
            source,
        }
    }
}

/// A connection to a printer.
pub trait Transport: Send {
    /// Write all bytes (blocking at most the transport's write timeout).
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError>;
    /// Read what has arrived, waiting at most `timeout` for the first byte. `Ok(0)` when
    /// nothing arrived in time.
    fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError>;
    /// Whether the other end can answer status requests.
    fn supports_status(&self) -> bool {
        true
    }
    /// Drop bytes already received (stale replies) before a new request.
    fn discard_input(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
    /// For logs and the cashier's screen, e.g. "serial /dev/ttyUSB0".
    fn describe(&self) -> String;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Parity {
    #[default]
    None,
    Odd,
    Even,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FlowControl {
    None,
    Software,
    /// RTS/CTS: most receipt printers signal "buffer full" this way.
    #[default]
    Hardware,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialConfig {
    pub path: String,
    pub baud: u32,
    #[serde(default)]
    pub parity: Parity,
    #[serde(default)]
    pub flow_control: FlowControl,
    /// 7 or 8.
    #[serde(default = "eight")]
    pub data_bits: u8,
    /// 1 or 2.
    #[serde(default = "one")]
    pub stop_bits: u8,
    #[serde(default = "write_timeout_ms")]
    pub write_timeout_ms: u64,
}

fn eight() -> u8 {
    8
}
fn one() -> u8 {
    1
}
fn write_timeout_ms() -> u64 {
    10_000
}

impl SerialConfig {
    /// 8N1 at `baud`, hardware flow control.
    pub fn new(path: impl Into<String>, baud: u32) -> Self {
        SerialConfig {
            path: path.into(),
            baud,
            parity: Parity::None,
            flow_control: FlowControl::Hardware,
            data_bits: 8,
            stop_bits: 1,
            write_timeout_ms: write_timeout_ms(),
        }
    }
}

pub struct SerialTransport {
    port: Box<dyn serialport::SerialPort>,
    name: String,
    write_timeout: Duration,
}

impl SerialTransport {
    pub fn open(cfg: &SerialConfig) -> Result<Self, TransportError> {
        let target = format!("serial {}", cfg.path);
        let parity = match cfg.parity {
            Parity::None => serialport::Parity::None,
            Parity::Odd => serialport::Parity::Odd,
            Parity::Even => serialport::Parity::Even,
        };
        let flow = match cfg.flow_control {
            FlowControl::None => serialport::FlowControl::None,
            FlowControl::Software => serialport::FlowControl::Software,
            FlowControl::Hardware => serialport::FlowControl::Hardware,
        };
        let data_bits = if cfg.data_bits == 7 {
            serialport::DataBits::Seven
        } else {
            serialport::DataBits::Eight
        };
        let stop_bits = if cfg.stop_bits == 2 {
            serialport::StopBits::Two
        } else {
            serialport::StopBits::One
        };
        let write_timeout = Duration::from_millis(cfg.write_timeout_ms.max(1));
        let port = serialport::new(cfg.path.as_str(), cfg.baud)
            .parity(parity)
            .flow_control(flow)
            .data_bits(data_bits)
            .stop_bits(stop_bits)
            .timeout(write_timeout)
            .open()
            .map_err(|source| TransportError::Serial {
                target: target.clone(),
                source,
            })?;
        tracing::info!(port = %cfg.path, baud = cfg.baud, "printer serial port open");
        Ok(SerialTransport {
            port,
            name: target,
            write_timeout,
        })
    }

    /// Wrap a port opened elsewhere.
    pub fn from_port(port: Box<dyn serialport::SerialPort>, write_timeout: Duration) -> Self {
        let name = format!("serial {}", port.name().unwrap_or_default());
        SerialTransport {
            port,
            name,
            write_timeout,
        }
    }

    fn serial_err(&self, source: serialport::Error) -> TransportError {
        TransportError::Serial {
            target: self.name.clone(),
            source,
        }
    }
}

impl Transport for SerialTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        self.port
            .set_timeout(self.write_timeout)
            .map_err(|e| self.serial_err(e))?;
        self.port
            .write_all(bytes)
            .and_then(|()| self.port.flush())
            .map_err(|e| TransportError::io(&self.name, e))
    }

    fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        self.port
            .set_timeout(timeout.max(Duration::from_millis(1)))
            .map_err(|e| self.serial_err(e))?;
        match self.port.read(buf) {
            Ok(n) => Ok(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                Ok(0)
            }
            Err(e) => Err(TransportError::io(&self.name, e)),
        }
    }

    fn discard_input(&mut self) -> Result<(), TransportError> {
        self.port
            .clear(serialport::ClearBuffer::Input)
            .map_err(|e| self.serial_err(e))
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

/// A USB printer class device (`/dev/usb/lp0`). Opened non-blocking; reads status replies
/// when the device supports reading (many do), otherwise status is assumed online.
pub struct UsbLpTransport {
    file: File,
    name: String,
    readable: bool,
    write_timeout: Duration,
}

impl UsbLpTransport {
    pub fn open(path: &Path, readable: bool) -> Result<Self, TransportError> {
        let name = format!("usb {}", path.display());
        let mut opts = OpenOptions::new();
        opts.write(true).read(readable);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.custom_flags(libc::O_NONBLOCK);
        }
        let file = opts.open(path).map_err(|e| TransportError::io(&name, e))?;
        tracing::info!(device = %path.display(), readable, "printer USB device open");
        Ok(UsbLpTransport {
            file,
            name,
            readable,
            write_timeout: Duration::from_secs(10),
        })
    }
}

impl Transport for UsbLpTransport {
    fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), TransportError> {
        let deadline = Instant::now() + self.write_timeout;
        while !bytes.is_empty() {
            match self.file.write(bytes) {
                Ok(0) => {
                    return Err(TransportError::io(
                        &self.name,
                        io::Error::new(io::ErrorKind::WriteZero, "device accepted no bytes"),
                    ));
                }
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(TransportError::io(&self.name, e)),
            }
        }
        Ok(())
    }

    fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        if !self.readable {
            return Ok(0);
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.file.read(buf) {
                Ok(n) if n > 0 => return Ok(n),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(TransportError::io(&self.name, e)),
            }
            if Instant::now() >= deadline {
                return Ok(0);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn supports_status(&self) -> bool {
        self.readable
    }

    fn discard_input(&mut self) -> Result<(), TransportError> {
        let mut buf = [0u8; 64];
        while self.readable && self.read_timeout(&mut buf, Duration::ZERO)? > 0 {}
        Ok(())
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

/// A network printer (raw port 9100). Connects on first use and again after an error, so a
/// printer switched off and on is picked up by the next job.
pub struct TcpTransport {
    addr: SocketAddr,
    connect_timeout: Duration,
    write_timeout: Duration,
    stream: Option<TcpStream>,
}

impl TcpTransport {
    pub fn new(addr: SocketAddr, connect_timeout: Duration, write_timeout: Duration) -> Self {
        TcpTransport {
            addr,
            connect_timeout,
            write_timeout,
            stream: None,
        }
    }

    fn target(&self) -> String {
        format!("tcp {}", self.addr)
    }

    fn stream(&mut self) -> Result<&mut TcpStream, TransportError> {
        if self.stream.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, self.connect_timeout)
                .map_err(|e| TransportError::io(&self.target(), e))?;
            s.set_write_timeout(Some(self.write_timeout.max(Duration::from_millis(1))))
                .and_then(|()| s.set_nodelay(true))
                .map_err(|e| TransportError::io(&self.target(), e))?;
            tracing::info!(addr = %self.addr, "printer connected");
            self.stream = Some(s);
        }
        let target = self.target();
        self.stream.as_mut().ok_or_else(|| {
            TransportError::io(
                &target,
                io::Error::new(io::ErrorKind::NotConnected, "not connected"),
            )
        })
    }

    fn fail<T>(&mut self, e: io::Error) -> Result<T, TransportError> {
        self.stream = None;
        Err(TransportError::io(&self.target(), e))
    }
}

impl Transport for TcpTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        let r = self.stream()?.write_all(bytes);
        match r {
            Ok(()) => Ok(()),
            Err(e) => self.fail(e),
        }
    }

    fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        let timeout = timeout.max(Duration::from_millis(1));
        let r = {
            let s = self.stream()?;
            s.set_read_timeout(Some(timeout)).and_then(|()| s.read(buf))
        };
        match r {
            Ok(0) => self.fail(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "printer closed the connection",
            )),
            Ok(n) => Ok(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(0)
            }
            Err(e) => self.fail(e),
        }
    }

    fn discard_input(&mut self) -> Result<(), TransportError> {
        let r = {
            let s = self.stream()?;
            let mut buf = [0u8; 256];
            let mut r = s.set_nonblocking(true);
            while r.is_ok() {
                match s.read(&mut buf) {
                    Ok(0) => {
                        r = Err(io::Error::new(
                            io::ErrorKind::ConnectionAborted,
                            "printer closed the connection",
                        ))
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => r = Err(e),
                }
            }
            r.and_then(|()| s.set_nonblocking(false))
        };
        match r {
            Ok(()) => Ok(()),
            Err(e) => self.fail(e),
        }
    }

    fn describe(&self) -> String {
        self.target()
    }
}

/// Appends the bytes to a file (spooling, tests, a printer shared through a spool directory).
/// No status read-back: always treated as online.
pub struct FileTransport {
    path: PathBuf,
}

impl FileTransport {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileTransport { path: path.into() }
    }
}

impl Transport for FileTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        let target = self.describe();
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_data()))
            .map_err(|e| TransportError::io(&target, e))
    }

    fn read_timeout(&mut self, _: &mut [u8], _: Duration) -> Result<usize, TransportError> {
        Ok(0)
    }

    fn supports_status(&self) -> bool {
        false
    }

    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }
}
