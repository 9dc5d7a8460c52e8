//! Shared plumbing of the benchmark binaries (`make bench`): timing statistics and the
//! printed result table (a same-run baseline beside every measurement).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `target/bench-data`: the target directory is the ancestor of the running executable that
/// holds Cargo's `CACHEDIR.TAG`.
pub fn bench_data_dir() -> PathBuf {
    let target = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .find(|d| d.join("CACHEDIR.TAG").is_file())
            .map(Path::to_path_buf)
    });
    target
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("bench-data")
}

/// Read a database file (and its WAL) once so the first measurements do not pay for cold
/// pages.
pub fn prewarm(db: &Path) -> anyhow::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    for path in [
        db.to_path_buf(),
        PathBuf::from(format!("{}-wal", db.display())),
    ] {
        if let Ok(mut f) = File::open(&path) {
            while f.read(&mut buf)? > 0 {}
        }
    }
    Ok(())
}

/// Sorted timing samples (at least one).
pub struct Stats(Vec<Duration>);

impl Stats {
    pub fn new(mut samples: Vec<Duration>) -> Stats {
        assert!(!samples.is_empty(), "no samples");
        samples.sort_unstable();
        Stats(samples)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true: a `Stats` is made from at least one sample.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Nearest-rank percentile.
    pub fn percentile(&self, p: f64) -> Duration {
        let n = self.0.len();
        let rank = (p / 100.0 * n as f64).ceil() as usize;
        self.0[rank.clamp(1, n) - 1]
    }

    pub fn p50(&self) -> Duration {
        self.percentile(50.0)
    }

    pub fn p99(&self) -> Duration {
        self.percentile(99.0)
    }
}

pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

pub fn fmt_ratio(a: Duration, b: Duration) -> String {
    format!("{:.1}x", ratio(a, b))
}

pub fn fmt_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 10.0 {
        format!("{us:.1} us")
    } else if us < 1_000.0 {
        format!("{us:.0} us")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1_000.0)
    } else {
        format!("{:.1} s", us / 1_000_000.0)
    }
}

pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn short_count(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        thousands(n)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    Pass,
    Fail,
    #[default]
    Info,
    Skip,
    /// Smoke pass: no target.
    Smoke,
}

impl Verdict {
    pub fn check(full: bool, ok: bool) -> Verdict {
        match (full, ok) {
            (false, _) => Verdict::Smoke,
            (true, true) => Verdict::Pass,
            (true, false) => Verdict::Fail,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Info => "info",
            Verdict::Skip => "skip",
            Verdict::Smoke => "smoke",
        }
    }
}

#[derive(Default)]
pub struct Row {
    pub name: String,
    pub n: String,
    pub p50: String,
    /// p99, or the total for a one-off measurement.
    pub total: String,
    /// Baseline p50 / p99, measured in the same run.
    pub baseline: String,
    pub ratio: String,
    pub target: String,
    pub verdict: Verdict,
}

#[derive(Default)]
pub struct Table {
    pub rows: Vec<Row>,
    pub notes: Vec<&'static str>,
}

impl Table {
    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub fn note(&mut self, note: &'static str) {
        self.notes.push(note);
    }

    pub fn failed(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.verdict == Verdict::Fail)
            .count()
    }

    /// Print the table; in a full run a missed target makes the exit status a failure.
    pub fn finish(&self, full: bool) -> std::process::ExitCode {
        self.print();
        let failed = self.failed();
        if full && failed > 0 {
            println!("{failed} target(s) missed");
            return std::process::ExitCode::FAILURE;
        }
        std::process::ExitCode::SUCCESS
    }

    pub fn print(&self) {
        const HEADER: [&str; 8] = [
            "measurement",
            "n",
            "p50",
            "p99 / total",
            "baseline p50 / p99",
            "ratio",
            "target",
            "result",
        ];
        let cells = |r: &Row| -> [String; 8] {
            let dash = |s: &str| {
                if s.is_empty() {
                    "-".to_string()
                } else {
                    s.to_string()
                }
            };
            [
                r.name.clone(),
                dash(&r.n),
                dash(&r.p50),
                dash(&r.total),
                dash(&r.baseline),
                dash(&r.ratio),
                dash(&r.target),
                r.verdict.as_str().to_string(),
            ]
        };
        let rows: Vec<[String; 8]> = self.rows.iter().map(cells).collect();
        let mut widths = HEADER.map(|h| h.chars().count());
        for row in &rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let parts: Vec<String> = cells
                .iter()
                .zip(widths)
                .enumerate()
                .map(|(i, (c, w))| {
                    // Text left, numbers right.
                    if i == 0 || i >= 6 {
                        format!("{c:<w$}")
                    } else {
                        format!("{c:>w$}")
                    }
                })
                .collect();
            println!("{}", parts.join("  ").trim_end());
        };
        line(&HEADER.map(String::from));
        println!(
            "{}",
            "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1))
        );
        for row in &rows {
            line(row);
        }
        for note in &self.notes {
            println!("  {note}");
        }
    }
}
