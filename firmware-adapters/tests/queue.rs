//! The SQLite print queue over a pseudo-terminal to the virtual printer: paper out mid-queue,
//! cover open, no answer; recovery prints every job exactly once, in order.

#[path = "printer_virtual.rs"]
mod virt;

use serialport::{SerialPort, TTYPort};
use std::time::Duration;
use tillstone_devices::printer::{Printer, PrinterProfile};
use tillstone_devices::queue::{Enqueued, JobPayload, JobState, PrintQueue, Step};
use tillstone_devices::receipt::{Paper, sample};
use tillstone_devices::status::PrinterProblem;
use tillstone_devices::transport::{FlowControl, SerialConfig, SerialTransport};
use virt::VirtualPrinter;

fn setup() -> (VirtualPrinter, TTYPort, Printer) {
    let (mut master, slave) = TTYPort::pair().expect("pty pair");
    master
        .set_timeout(Duration::from_millis(20))
        .expect("timeout");
    let path = slave.name().expect("slave path");
    let vp = VirtualPrinter::spawn(master);
    let cfg = SerialConfig {
        flow_control: FlowControl::None,
        ..SerialConfig::new(path, 9600)
    };
    let t = SerialTransport::open(&cfg).expect("open serial");
    let profile = PrinterProfile {
        status_timeout_ms: 150,
        ..PrinterProfile::new(Paper::Mm58)
    };
    (vp, slave, Printer::new(Box::new(t), profile))
}

/// A tiny job whose text says which one it is.
fn job(n: usize) -> JobPayload {
    JobPayload::Bytes(format!("\x1b@JOB {n}\n\x1dVB\x00").into_bytes())
}

fn job_no(bytes: &[u8]) -> usize {
    let s = String::from_utf8_lossy(bytes);
    s.split("JOB ")
        .nth(1)
        .and_then(|t| t.split('\n').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn printed(vp: &VirtualPrinter) -> Vec<usize> {
    vp.panel().printed.iter().map(|j| job_no(j)).collect()
}

fn drain(q: &PrintQueue, printer: &mut Printer) -> Vec<Step> {
    let mut steps = Vec::new();
    for _ in 0..50 {
        let s = q.process_next(printer).expect("step");
        if s == Step::Idle {
            return steps;
        }
        let blocked = !matches!(s, Step::Printed { .. });
        steps.push(s);
        if blocked {
            return steps;
        }
    }
    steps
}

#[test]
fn paper_out_cover_open_and_offline_then_every_job_prints_once_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("till.db");
    let (vp, _slave, mut printer) = setup();
    let q = PrintQueue::open(&db).expect("open queue");
    for n in 1..=6 {
        let added = q
            .enqueue(
                &format!("job-{n}"),
                &format!("2025-03-08T10:00:0{n}Z"),
                &job(n),
            )
            .expect("enqueue");
        assert_eq!(added, Enqueued::Added);
    }
    assert_eq!(
        q.enqueue("job-1", "2025-03-08T10:00:01Z", &job(1))
            .expect("again"),
        Enqueued::AlreadyQueued
    );

    // Paper for two jobs; the third runs out of paper part-way.
    vp.panel().paper_for_jobs = Some(2);
    let steps = drain(&q, &mut printer);
    assert_eq!(steps.len(), 3, "{steps:?}");
    assert_eq!(
        steps[2],
        Step::Blocked {
            job_id: "job-3".into(),
            problem: PrinterProblem::PaperOut,
            sent: true
        }
    );
    assert!(vp.wait_for(|p| p.torn.len() == 1));
    assert_eq!(printed(&vp), vec![1, 2]);
    let pending = q.pending().expect("pending");
    assert_eq!(pending.len(), 4);
    assert_eq!(pending[0].job_id, "job-3");
    assert_eq!(pending[0].problem(), Some(PrinterProblem::PaperOut));
    assert_eq!(pending[0].attempts, 1);

    // Still out of paper: nothing is sent.
    let sent_before = vp.panel().received.len();
    assert_eq!(
        q.process_next(&mut printer).expect("step"),
        Step::Blocked {
            job_id: "job-3".into(),
            problem: PrinterProblem::PaperOut,
            sent: false
        }
    );
    assert_eq!(
        vp.panel().received.len(),
        sent_before + 9,
        "status requests only"
    );

    // New roll, but the cover is left open.
    {
        let mut p = vp.panel();
        p.paper_out = false;
        p.paper_for_jobs = None;
        p.cover_open = true;
    }
    assert_eq!(
        drain(&q, &mut printer),
        vec![Step::Blocked {
            job_id: "job-3".into(),
            problem: PrinterProblem::CoverOpen,
            sent: false
        }]
    );
    assert_eq!(
        q.job("job-3").expect("job").and_then(|j| j.problem()),
        Some(PrinterProblem::CoverOpen)
    );

    // Cover closed; job 3 prints, then the printer is switched off (no answer).
    vp.panel().cover_open = false;
    assert_eq!(
        q.process_next(&mut printer).expect("step"),
        Step::Printed {
            job_id: "job-3".into()
        }
    );
    vp.panel().silent = true;
    assert_eq!(
        drain(&q, &mut printer),
        vec![Step::Blocked {
            job_id: "job-4".into(),
            problem: PrinterProblem::NoReply,
            sent: false
        }]
    );
    assert_eq!(
        q.pending().expect("pending")[0].reason.as_deref(),
        Some("no_reply")
    );

    // The till restarts: the queue is reopened from its file and nothing is lost.
    drop(q);
    let q = PrintQueue::open(&db).expect("reopen");
    assert_eq!(q.pending().expect("pending").len(), 3);
    vp.panel().silent = false;
    let steps = drain(&q, &mut printer);
    assert_eq!(steps.len(), 3, "{steps:?}");
    assert_eq!(q.process_next(&mut printer).expect("idle"), Step::Idle);

    assert!(vp.wait_for(|p| p.printed.len() == 6));
    assert_eq!(
        printed(&vp),
        vec![1, 2, 3, 4, 5, 6],
        "each job once, in order"
    );
    assert_eq!(
        vp.panel()
            .torn
            .iter()
            .map(|j| job_no(j))
            .collect::<Vec<_>>(),
        vec![3]
    );
    let jobs = q.jobs().expect("jobs");
    assert!(
        jobs.iter()
            .all(|j| j.state == JobState::Done && j.reason.is_none())
    );
    // Nothing left: more steps print nothing again.
    for _ in 0..3 {
        assert_eq!(q.process_next(&mut printer).expect("idle"), Step::Idle);
    }
    assert_eq!(vp.panel().printed.len(), 6);
}

#[test]
fn receipts_are_stored_as_json_and_reprint_last_adds_a_copy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (vp, _slave, mut printer) = setup();
    let q = PrintQueue::open(&dir.path().join("q.db")).expect("open");
    assert_eq!(
        q.reprint_last("r0", "2025-03-08T10:00:00Z").expect("none"),
        None
    );
    let doc = sample::chinese_sale();
    q.enqueue(
        "sale-153",
        "2025-03-08T14:23:05Z",
        &JobPayload::Receipt(Box::new(doc.clone())),
    )
    .expect("enqueue");
    assert_eq!(
        q.process_next(&mut printer).expect("step"),
        Step::Printed {
            job_id: "sale-153".into()
        }
    );
    let copy = q
        .reprint_last("sale-153-copy1", "2025-03-08T14:25:00Z")
        .expect("reprint")
        .expect("a job to reprint");
    assert_eq!(copy.reprint_of.as_deref(), Some("sale-153"));
    assert_eq!(copy.state, JobState::Pending);
    assert_eq!(
        q.process_next(&mut printer).expect("step"),
        Step::Printed {
            job_id: "sale-153-copy1".into()
        }
    );
    let bytes = printer.encode(&doc).expect("encode");
    assert!(vp.wait_for(|p| p.printed.len() == 2));
    assert_eq!(vp.panel().printed, vec![bytes.clone(), bytes]);
}

#[test]
fn a_job_that_cannot_decode_is_marked_failed_and_does_not_block_the_queue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("q.db");
    let (vp, _slave, mut printer) = setup();
    let q = PrintQueue::open(&db).expect("open");
    q.enqueue("bad", "2025-03-08T10:00:00Z", &job(1))
        .expect("enqueue");
    q.enqueue("good", "2025-03-08T10:00:01Z", &job(2))
        .expect("enqueue");
    // Corrupt the first job behind the queue's back: a receipt whose JSON does not decode.
    let conn = rusqlite::Connection::open(&db).expect("db");
    conn.execute(
        "UPDATE print_jobs SET kind = 'receipt', payload = X'7B6E6F' WHERE job_id = 'bad'",
        [],
    )
    .expect("corrupt");
    assert!(matches!(
        q.process_next(&mut printer).expect("step"),
        Step::Failed { job_id, .. } if job_id == "bad"
    ));
    assert_eq!(
        q.process_next(&mut printer).expect("step"),
        Step::Printed {
            job_id: "good".into()
        }
    );
    assert!(vp.wait_for(|p| p.printed.len() == 1));
    assert_eq!(printed(&vp), vec![2]);
    assert_eq!(
        q.job("bad").expect("job").map(|j| j.state),
        Some(JobState::Failed)
    );
}

#[test]
fn pruning_deletes_old_printed_jobs_but_keeps_the_last_printed_pending_and_failed_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("till.db");
    let (vp, _slave, mut printer) = setup();
    let q = PrintQueue::open(&db).expect("open queue");
    for n in 1..=4 {
        q.enqueue(&format!("job-{n}"), "2025-03-08T10:00:00Z", &job(n))
            .expect("enqueue");
    }
    assert_eq!(drain(&q, &mut printer).len(), 4);
    assert_eq!(printed(&vp), vec![1, 2, 3, 4]);
    q.enqueue("job-5", "2025-03-08T10:00:00Z", &job(5))
        .expect("enqueue");
    q.enqueue(
        "broken",
        "2025-03-08T10:00:00Z",
        &JobPayload::Bytes(Vec::new()),
    )
    .expect("enqueue");
    // Printed on days 1 to 4 (set through a second connection, as time passing would).
    let conn = rusqlite::Connection::open(&db).expect("open db");
    for n in 1..=4 {
        conn.execute(
            "UPDATE print_jobs SET updated_at = ?2 WHERE job_id = ?1",
            rusqlite::params![format!("job-{n}"), format!("2025-03-0{n}T12:00:00.000Z")],
        )
        .expect("age job");
    }
    conn.execute(
        "UPDATE print_jobs SET state = 'failed', reason = 'test', updated_at = '2025-03-01T00:00:00.000Z'
         WHERE job_id = 'broken'",
        [],
    )
    .expect("fail job");
    let left = |q: &PrintQueue| -> Vec<String> {
        q.jobs()
            .expect("jobs")
            .into_iter()
            .map(|j| j.job_id)
            .collect()
    };

    // Before day 3: jobs 1 and 2 go; 3 and 4 were printed later.
    assert_eq!(
        q.prune_printed("2025-03-03T00:00:00.000Z").expect("prune"),
        2
    );
    assert_eq!(left(&q), vec!["job-3", "job-4", "job-5", "broken"]);
    // Again: nothing more (idempotent).
    assert_eq!(
        q.prune_printed("2025-03-03T00:00:00.000Z").expect("prune"),
        0
    );
    // Long after: every printed job but the last goes; pending and failed stay.
    assert_eq!(
        q.prune_printed("2030-01-01T00:00:00.000Z").expect("prune"),
        1
    );
    assert_eq!(left(&q), vec!["job-4", "job-5", "broken"]);
    // The customer can still have their last receipt again.
    let copy = q
        .reprint_last("job-4-copy", "2025-03-09T10:00:00Z")
        .expect("reprint")
        .expect("a printed job is left");
    assert_eq!(copy.reprint_of.as_deref(), Some("job-4"));
}
