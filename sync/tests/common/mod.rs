#![allow(dead_code)]

use serde_json::{Value, json};
use tillstone_sync::{Event, EventKind, Hlc, StoreId, TenantId, TerminalId};

pub fn term(n: usize) -> TerminalId {
    TerminalId::new(format!("term-{n}")).unwrap()
}

pub fn store(n: usize) -> StoreId {
    StoreId::new(format!("store-{n}")).unwrap()
}

pub fn tenant() -> TenantId {
    TenantId::new("tenant-1").unwrap()
}

/// A deterministic UUIDv7 from a time and a discriminator.
pub fn uuid7(ms: u64, n: u64) -> String {
    let mut rand = [0u8; 10];
    rand[2..10].copy_from_slice(&n.to_be_bytes());
    uuid::Builder::from_unix_timestamp_millis(ms, &rand)
        .into_uuid()
        .hyphenated()
        .to_string()
}

pub fn hlc(ms: u64, counter: u32, node: &TerminalId) -> Hlc {
    Hlc {
        wall_ms: ms,
        counter,
        node: node.clone(),
    }
}

/// Event `seq` of terminal `t` (ids unique per (t, seq)).
pub fn event(t: usize, seq: u64, kind: EventKind, payload: Value) -> Event {
    let terminal = term(t);
    Event {
        event_id: uuid7(1_700_000_000_000 + seq, (t as u64) << 32 | seq),
        terminal_id: terminal.clone(),
        seq,
        hlc: hlc(1_700_000_000_000 + seq * 10, 0, &terminal),
        kind,
        payload,
    }
}

pub fn stock(t: usize, seq: u64, sku: &str, delta: i64) -> Event {
    event(
        t,
        seq,
        EventKind::StockMovement,
        json!({"sku": sku, "delta": delta}),
    )
}

pub fn points(t: usize, seq: u64, member: &str, pts: i64) -> Event {
    event(
        t,
        seq,
        EventKind::PointEvent,
        json!({"member_id": member, "points": pts}),
    )
}
