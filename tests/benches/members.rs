//! `cargo bench -p tillstone-tests --bench members`: member search on a real SQLite file of N
//! members in release, each query kind beside a bare indexed SQLite query measured in the same
//! run (alternating), printed as one table (exit status 1 if a target is missed).
//!
//! N is `TILLSTONE_BENCH_MEMBERS` (default 1,000,000). The members are generated
//! deterministically (Chinese names by common surnames and given-name characters, some
//! English names, unique phones, cards for most) and written through
//! `Store::upsert_members` once into `target/bench-data/members-v1-N/`, reused while it holds
//! N members. The run does not write to it.
//!
//! Without `--bench` (under `cargo test --all-targets`) it runs a small smoke pass in a scratch
//! directory: same code paths, tiny sizes, no targets.

use anyhow::{Context, ensure};
use rusqlite::{Connection, Statement};
use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tillstone_core::member::Member;
use tillstone_core::points::member_qr;
use tillstone_fixtures::SplitMix64;
use tillstone_store::Store;
use tillstone_tests::bench::{
    Row, Stats, Table, Verdict, bench_data_dir, fmt_duration, prewarm, ratio, thousands,
};

const DEFAULT_MEMBERS: u64 = 1_000_000;
const MEMBERS_ENV: &str = "TILLSTONE_BENCH_MEMBERS";
/// Bump when the generator or the schema changes: the cache is rebuilt.
const DATA_VERSION: u32 = 1;
const SEED: u64 = 0x4D45_4D42_4552_5331;
const BATCH: usize = 20_000;
/// Results per search (a screen of candidates).
const LIMIT: usize = 20;
const P99_MAX: Duration = Duration::from_millis(5);
const QR_SECRET: &[u8] = b"bench-member-qr-secret";
const NOW_MINUTE: i64 = 29_166_666;

struct Config {
    full: bool,
    members: u64,
    warmup: usize,
    queries: usize,
}

fn main() -> anyhow::Result<ExitCode> {
    let full = std::env::args().skip(1).any(|a| a == "--bench");
    let cfg = if full {
        let members = match std::env::var(MEMBERS_ENV) {
            Ok(v) => {
                let digits: String = v.chars().filter(|c| !matches!(c, '_' | ',')).collect();
                let n: u64 = digits
                    .trim()
                    .parse()
                    .with_context(|| format!("{MEMBERS_ENV}={v:?} is not a number"))?;
                ensure!(n >= 1_000, "{MEMBERS_ENV} must be at least 1,000");
                n
            }
            Err(_) => DEFAULT_MEMBERS,
        };
        Config {
            full: true,
            members,
            warmup: 200,
            queries: 2_000,
        }
    } else {
        Config {
            full: false,
            members: 5_000,
            warmup: 10,
            queries: 50,
        }
    };
    let data = bench_data_dir();
    fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    let started = Instant::now();
    let mut table = Table::default();

    let scratch;
    let db = if cfg.full {
        ensure_members(&data, cfg.members, &mut table)?
    } else {
        scratch = tempfile::Builder::new()
            .prefix("members-smoke-")
            .tempdir_in(&data)?;
        let db = scratch.path().join("store.db");
        build(&db, cfg.members, &mut table)?;
        db
    };
    bench_search(&db, &cfg, &mut table)?;

    println!();
    if cfg.full {
        println!(
            "Tillstone member search bench (release, {} members, {} s)",
            thousands(cfg.members),
            started.elapsed().as_secs()
        );
    } else {
        println!("Tillstone member bench smoke pass (run `cargo bench` for the real numbers)");
    }
    Ok(table.finish(cfg.full))
}

// ---------------------------------------------------------------------------------------------
// The members
// ---------------------------------------------------------------------------------------------

/// Common surnames, most frequent first (weights roughly by population share, in ‰).
const SURNAMES: &[(&str, u64)] = &[
    ("王", 72),
    ("李", 72),
    ("张", 68),
    ("刘", 54),
    ("陈", 46),
    ("杨", 32),
    ("黄", 23),
    ("赵", 22),
    ("吴", 20),
    ("周", 19),
    ("徐", 14),
    ("孙", 12),
    ("马", 12),
    ("朱", 11),
    ("胡", 11),
    ("郭", 11),
    ("何", 10),
    ("林", 10),
    ("高", 10),
    ("罗", 9),
    ("郑", 9),
    ("梁", 8),
    ("谢", 7),
    ("宋", 6),
    ("唐", 6),
    ("许", 6),
    ("韩", 6),
    ("冯", 6),
    ("邓", 6),
    ("曹", 5),
    ("彭", 5),
    ("曾", 5),
    ("肖", 5),
    ("田", 5),
    ("董", 5),
    ("潘", 5),
    ("袁", 4),
    ("蔡", 4),
    ("蒋", 4),
    ("余", 4),
    ("欧阳", 1),
    ("司马", 1),
    ("诸葛", 1),
];

const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "兰", "萍", "红", "鹏", "辉", "宇", "浩",
    "晓", "建", "国", "文", "斌", "林", "峰", "婷", "雪", "琳", "欣", "佳", "子", "梓", "涵", "轩",
    "怡", "欢", "晨", "阳", "俊", "博", "瑞", "思", "雨", "嘉", "一", "诺", "天", "海", "志", "春",
    "燕", "飞", "凤", "梅", "琴", "云", "亮", "成", "龙", "慧", "颖", "倩", "健", "波", "宁", "丹",
];

const FIRST_EN: &[&str] = &[
    "Emily", "James", "Olivia", "Michael", "Sophia", "David", "Emma", "Daniel", "Grace", "Kevin",
    "Lucy", "Jason", "Anna", "Tony", "Vivian", "Eric", "Cindy", "Jack", "Amy", "Peter",
];

const LAST_EN: &[&str] = &[
    "Wang", "Li", "Zhang", "Liu", "Chen", "Smith", "Brown", "Lee", "Wong", "Tan", "Huang", "Lin",
];

const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
    "156", "157", "158", "159", "166", "173", "177", "180", "181", "186", "187", "188", "189",
    "191", "199",
];

fn surname(rng: &mut SplitMix64) -> &'static str {
    let total: u64 = SURNAMES.iter().map(|s| s.1).sum();
    let mut roll = rng.below(total);
    for (name, w) in SURNAMES {
        if roll < *w {
            return name;
        }
        roll -= w;
    }
    SURNAMES[0].0
}

/// Member `i` (0-based): deterministic, with a unique phone and card number.
fn member(i: u64) -> Member {
    let mut rng = SplitMix64::new(SEED ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let name = if rng.percent(3) {
        format!("{} {}", rng.pick(FIRST_EN), rng.pick(LAST_EN))
    } else {
        let mut n = surname(&mut rng).to_string();
        n.push_str(rng.pick::<&str>(GIVEN));
        if rng.percent(60) {
            n.push_str(rng.pick::<&str>(GIVEN));
        }
        n
    };
    // 48_271 is coprime with 10^8: distinct members get distinct last 8 digits.
    let tail = (i * 48_271 + 12_345_678) % 100_000_000;
    let phone = format!("{}{tail:08}", rng.pick(MOBILE_PREFIXES));
    let card_no = rng.percent(70).then(|| format!("88{i:08}"));
    let tier = ["standard", "standard", "standard", "silver", "gold"][rng.below(5) as usize];
    Member {
        member_id: format!("M{i:08}"),
        name,
        phone,
        card_no,
        tier: tier.into(),
        points: rng.below(30_000) as i64,
    }
}

fn build(db: &Path, n: u64, table: &mut Table) -> anyhow::Result<()> {
    let mut store = Store::open(db)?;
    let t0 = Instant::now();
    let step = (n / 10).max(1);
    let mut next = step;
    let mut batch = Vec::with_capacity(BATCH);
    for i in 0..n {
        batch.push(member(i));
        if batch.len() == BATCH || i + 1 == n {
            store.upsert_members(&batch)?;
            batch.clear();
        }
        if i + 1 >= next {
            eprintln!(
                "members: wrote {} in {:.1} s",
                thousands(i + 1),
                t0.elapsed().as_secs_f64()
            );
            next += step;
        }
    }
    let took = t0.elapsed();
    let conn = store.connection();
    conn.execute_batch("PRAGMA optimize")?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    ensure!(
        store.member_count()? == n,
        "wrote the wrong number of members"
    );
    table.push(Row {
        name: "build members (upsert_members)".into(),
        n: thousands(n),
        total: format!("{} total", fmt_duration(took)),
        ratio: format!(
            "{} rows/s",
            thousands((n as f64 / took.as_secs_f64()) as u64)
        ),
        verdict: Verdict::Info,
        ..Row::default()
    });
    Ok(())
}

fn ensure_members(data: &Path, n: u64, table: &mut Table) -> anyhow::Result<PathBuf> {
    let dir = data.join(format!("members-v{DATA_VERSION}-{n}"));
    let db = dir.join("store.db");
    if db.is_file() {
        let held = Store::open(&db)?.member_count()?;
        if held == n {
            eprintln!(
                "members: reusing {} ({} members)",
                dir.display(),
                thousands(held)
            );
            table.push(Row {
                name: "build members (upsert_members)".into(),
                n: thousands(n),
                total: "cached".into(),
                verdict: Verdict::Skip,
                ..Row::default()
            });
            return Ok(db);
        }
    }
    let partial = data.join(format!("members-v{DATA_VERSION}-{n}.partial"));
    for d in [&dir, &partial] {
        if d.exists() {
            fs::remove_dir_all(d).with_context(|| format!("cannot remove {}", d.display()))?;
        }
    }
    fs::create_dir_all(&partial)?;
    eprintln!(
        "members: generating {} into {}",
        thousands(n),
        partial.display()
    );
    build(&partial.join("store.db"), n, table)?;
    fs::rename(&partial, &dir)?;
    Ok(db)
}

// ---------------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------------

/// One query kind: what the cashier types, and the bare SQL beside it with its arguments.
struct Kind {
    name: &'static str,
    baseline: &'static str,
    sql: &'static str,
    /// (query typed, bare query's arguments)
    make: fn(&mut SplitMix64, u64) -> (String, Vec<String>),
    /// Whether every query must find someone.
    must_find: bool,
}

fn prefix_end(p: &str) -> String {
    format!("{p}{}", char::MAX)
}

fn given_part(name: &str) -> String {
    // The characters after a 1-character surname (the compound ones are rare).
    name.chars().skip(1).collect()
}

const KINDS: &[Kind] = &[
    Kind {
        name: "phone, 11 digits",
        baseline: "phone = ?",
        sql: "SELECT member_id, name, phone, card_no, tier, points FROM members WHERE phone = ?1",
        make: |rng, n| {
            let p = member(rng.below(n)).phone;
            (p.clone(), vec![p])
        },
        must_find: true,
    },
    Kind {
        name: "last 4 digits",
        baseline: "last4 = ? order by name limit 20",
        sql: "SELECT member_id, name, phone, card_no, tier, points FROM members
              WHERE phone_last4 = ?1 ORDER BY phone_last4, name LIMIT 20",
        make: |rng, _| {
            let q = format!("{:04}", rng.below(10_000));
            (q.clone(), vec![q])
        },
        must_find: false,
    },
    Kind {
        name: "card number",
        baseline: "card_no = ?",
        sql: "SELECT member_id, name, phone, card_no, tier, points FROM members WHERE card_no = ?1",
        make: |rng, n| loop {
            if let Some(c) = member(rng.below(n)).card_no {
                return (c.clone(), vec![c]);
            }
        },
        must_find: true,
    },
    Kind {
        name: "name prefix, surname (1 char)",
        baseline: "name range limit 20",
        sql: "SELECT member_id, name, phone, card_no, tier, points FROM members
              WHERE name >= ?1 AND name < ?2 ORDER BY name LIMIT 20",
        make: |rng, _| {
            let s = surname(rng).to_string();
            let end = prefix_end(&s);
            (s.clone(), vec![s, end])
        },
        must_find: false,
    },
    Kind {
        name: "name prefix, 2 chars",
        baseline: "name range limit 20",
        sql: "SELECT member_id, name, phone, card_no, tier, points FROM members
              WHERE name >= ?1 AND name < ?2 ORDER BY name LIMIT 20",
        make: |rng, n| loop {
            let name = member(rng.below(n)).name;
            if !name.is_ascii() {
                let q: String = name.chars().take(2).collect();
                let end = prefix_end(&q);
                return (q.clone(), vec![q, end]);
            }
        },
        must_find: true,
    },
    Kind {
        name: "name exact, 3 chars",
        baseline: "name range limit 20",
        sql: "SELECT member_id, name, phone, card_no, tier, points FROM members
              WHERE name >= ?1 AND name < ?2 ORDER BY name LIMIT 20",
        make: |rng, n| loop {
            let name = member(rng.below(n)).name;
            if !name.is_ascii() && name.chars().count() == 3 {
                let end = prefix_end(&name);
                return (name.clone(), vec![name, end]);
            }
        },
        must_find: true,
    },
    Kind {
        name: "name contains, given name (2 chars)",
        baseline: "fts match limit 20",
        sql: "SELECT m.member_id, m.name, m.phone, m.card_no, m.tier, m.points
              FROM (SELECT rowid AS id FROM member_gram WHERE member_gram MATCH ?1 LIMIT 20) g
              JOIN member_key k ON k.id = g.id JOIN members m ON m.member_id = k.member_id",
        make: |rng, n| loop {
            let name = member(rng.below(n)).name;
            if !name.is_ascii() && name.chars().count() == 3 {
                let q = given_part(&name);
                let expr = format!("\"{q}\"");
                return (q, vec![expr]);
            }
        },
        must_find: true,
    },
    Kind {
        name: "name contains, 1 char",
        baseline: "fts match limit 20",
        sql: "SELECT m.member_id, m.name, m.phone, m.card_no, m.tier, m.points
              FROM (SELECT rowid AS id FROM member_gram WHERE member_gram MATCH ?1 LIMIT 20) g
              JOIN member_key k ON k.id = g.id JOIN members m ON m.member_id = k.member_id",
        make: |rng, _| {
            let q = rng.pick(GIVEN).to_string();
            let expr = format!("\"{q}\"");
            (q, vec![expr])
        },
        must_find: true,
    },
    Kind {
        name: "English name prefix (3 letters)",
        baseline: "fts match limit 20",
        sql: "SELECT m.member_id, m.name, m.phone, m.card_no, m.tier, m.points
              FROM (SELECT rowid AS id FROM member_gram WHERE member_gram MATCH ?1 LIMIT 20) g
              JOIN member_key k ON k.id = g.id JOIN members m ON m.member_id = k.member_id",
        make: |rng, _| {
            let first = rng.pick(FIRST_EN).to_lowercase();
            let q: String = first.chars().take(3).collect();
            let expr = format!("\"{}\" AND \"{}\"", &q[..2], &q[1..3]);
            (q, vec![expr])
        },
        must_find: true,
    },
    Kind {
        name: "dynamic QR code",
        baseline: "member_id = ?",
        sql: "SELECT member_id, name, phone, card_no, tier, points FROM members WHERE member_id = ?1",
        make: |rng, n| {
            let id = format!("M{:08}", rng.below(n));
            let code = member_qr(&id, NOW_MINUTE - rng.below(2) as i64, QR_SECRET);
            (format!("QR:{code}"), vec![id])
        },
        must_find: true,
    },
];

fn bare(stmt: &mut Statement<'_>, args: &[String]) -> anyhow::Result<(Duration, usize)> {
    let t0 = Instant::now();
    let rows: Vec<(String, String, String, Option<String>, String, i64)> = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let took = t0.elapsed();
    let n = rows.len();
    black_box(rows);
    Ok((took, n))
}

fn ours(store: &Store, q: &str) -> anyhow::Result<(Duration, usize)> {
    let t0 = Instant::now();
    let found = if let Some(code) = q.strip_prefix("QR:") {
        match store.member_by_qr(code, QR_SECRET, NOW_MINUTE)? {
            tillstone_store::members::QrLookup::Found(m) => vec![m],
            other => anyhow::bail!("QR code {code} did not find its member: {other:?}"),
        }
    } else {
        store.search_members(q, LIMIT)?
    };
    let took = t0.elapsed();
    let n = found.len();
    black_box(found);
    Ok((took, n))
}

fn bench_search(db: &Path, cfg: &Config, table: &mut Table) -> anyhow::Result<()> {
    prewarm(db)?;
    let store = Store::open(db)?;
    let held = store.member_count()?;
    let conn = Connection::open(db)?;
    for (k, kind) in KINDS.iter().enumerate() {
        let mut stmt = conn.prepare(kind.sql)?;
        let mut rng = SplitMix64::new(SEED.wrapping_add(k as u64 * 7919));
        let mut ours_t = Vec::with_capacity(cfg.queries);
        let mut bare_t = Vec::with_capacity(cfg.queries);
        let mut results = 0usize;
        for i in 0..cfg.warmup + cfg.queries {
            let (q, args) = (kind.make)(&mut rng, held);
            // Alternate the order so neither side always runs on the other's warm caches.
            let ((a, n), (b, _)) = if i % 2 == 0 {
                let a = ours(&store, &q)?;
                (a, bare(&mut stmt, &args)?)
            } else {
                let b = bare(&mut stmt, &args)?;
                (ours(&store, &q)?, b)
            };
            ensure!(
                n > 0 || !kind.must_find,
                "{}: {q:?} found nobody",
                kind.name
            );
            if i >= cfg.warmup {
                ours_t.push(a);
                bare_t.push(b);
                results += n;
            }
        }
        let o = Stats::new(ours_t);
        let b = Stats::new(bare_t);
        table.push(Row {
            name: kind.name.into(),
            n: format!(
                "{} ({:.1}/q)",
                thousands(o.len() as u64),
                results as f64 / o.len() as f64
            ),
            p50: fmt_duration(o.p50()),
            total: fmt_duration(o.p99()),
            baseline: format!(
                "{} / {}  [{}]",
                fmt_duration(b.p50()),
                fmt_duration(b.p99()),
                kind.baseline
            ),
            ratio: format!("p99 {:.1}x", ratio(o.p99(), b.p99())),
            target: format!("p99 < {} ms", P99_MAX.as_millis()),
            verdict: Verdict::check(cfg.full, o.p99() < P99_MAX),
        });
    }
    table.note(
        "search = Store::search_members(q, 20) (QR: Store::member_by_qr); baseline = the bare \
         indexed query in [brackets] on a separate connection to the same file, prepared, \
         alternating with ours; n = queries (average results per query)",
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Statistics and the table (as in benches/till.rs)
// ---------------------------------------------------------------------------------------------
