//! Coupon issuing at HQ: issuer keys and signed packs.
//!
//! * [`keygen`] makes a new Ed25519 issuer secret, saves it in a key file (JSON
//!   `{"key_id": N, "secret": "<64 hex>"}`, mode 0600, never overwritten) and publishes its public
//!   key as the `coupon_keys` row `N`, which the tills pull into their key ring.
//! * [`issue_pack`] reserves serials per campaign in the database (atomic, never reissued, on
//!   both backends), signs the pack with `tillstone_core::coupon::issue_pack` and writes one
//!   code per line (`MEMBER<TAB>CODE` for member-bound packs). Member-bound codes are also
//!   appended to the member's row (`coupons`), so the wallet reaches the tills.

use super::{AdminError, Result};
use crate::storage::Storage;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;
use tillstone_core::coupon::{Campaign, CouponPack, IssuerKey, PublicKeyEntry};
use tillstone_sync::{Entity, TenantId};

/// Most coupons one `issue-pack` run may make.
pub const MAX_CODES_PER_RUN: u64 = 10_000_000;
/// Members updated per transaction when codes are appended to their rows.
const MEMBER_BATCH: usize = 500;

/// The key file `keygen` writes and `issue-pack` reads.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    pub key_id: u32,
    /// The 32-byte Ed25519 secret, hex.
    pub secret: String,
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    let v = hex::decode(s.trim()).ok()?;
    v.try_into().ok()
}

/// Read an issuer key file.
pub fn read_key_file(path: &Path) -> Result<IssuerKey> {
    let text = std::fs::read_to_string(path).map_err(|e| AdminError::io(path, e))?;
    let kf: KeyFile = serde_json::from_str(&text).map_err(|e| {
        AdminError::Invalid(format!(
            "{}: not a key file from `coupons keygen` ({e})",
            path.display()
        ))
    })?;
    let secret = hex32(&kf.secret).ok_or_else(|| {
        AdminError::Invalid(format!(
            "{}: the secret is not 64 hex digits",
            path.display()
        ))
    })?;
    Ok(IssuerKey::from_secret(kf.key_id, &secret))
}

fn public_entry(key: &IssuerKey) -> PublicKeyEntry {
    PublicKeyEntry {
        key_id: key.key_id(),
        public_key: hex::encode(key.public_key()),
    }
}

/// Make a new issuer key `key_id`, save it to `out` (which must not exist) and publish its
/// public key as the `coupon_keys` row. Returns the published entry.
pub fn keygen(
    storage: &dyn Storage,
    tenant: &TenantId,
    key_id: u32,
    out: &Path,
) -> Result<PublicKeyEntry> {
    let id = key_id.to_string();
    if storage
        .get_changes(tenant, Entity::CouponKeys, std::slice::from_ref(&id))?
        .contains_key(&id)
    {
        return Err(AdminError::Invalid(format!(
            "coupon key {key_id} is already published; choose another --key-id (rotate keys by \
             adding a new id, then delete the old one with `change delete coupon_keys {key_id}` \
             once its coupons have expired)"
        )));
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)
        .map_err(|e| AdminError::Invalid(format!("no system randomness: {e}")))?;
    let key = IssuerKey::from_secret(key_id, &secret);
    let file = KeyFile {
        key_id,
        secret: hex::encode(secret),
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            AdminError::Invalid(format!(
                "{} already exists: refusing to overwrite a key file (choose another --out)",
                out.display()
            ))
        } else {
            AdminError::io(out, e)
        }
    })?;
    let body =
        serde_json::to_string_pretty(&file).map_err(|e| AdminError::Invalid(e.to_string()))?;
    f.write_all(body.as_bytes())
        .and_then(|_| f.write_all(b"\n"))
        .and_then(|_| f.sync_all())
        .map_err(|e| AdminError::io(out, e))?;
    let entry = public_entry(&key);
    let row = serde_json::to_value(&entry).map_err(|e| AdminError::Invalid(e.to_string()))?;
    storage.put_changes(tenant, Entity::CouponKeys, &[(id, row)], None)?;
    Ok(entry)
}

/// Who a pack is issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipients {
    /// One pack per member, bound to the member.
    Members(Vec<String>),
    /// `n` unbound packs.
    Count(u64),
}

/// What [`issue_pack`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedPack {
    pub pack: String,
    pub key_id: u32,
    pub packs: u64,
    pub codes: u64,
    /// Per campaign: the first and last serial reserved.
    pub serials: BTreeMap<u32, (u64, u64)>,
}

/// Issue a pack (see the module docs); codes are written to `out`.
pub fn issue_pack(
    storage: &dyn Storage,
    tenant: &TenantId,
    pack_path: &Path,
    key: &IssuerKey,
    recipients: &Recipients,
    out: &mut dyn Write,
) -> Result<IssuedPack> {
    let text = std::fs::read_to_string(pack_path).map_err(|e| AdminError::io(pack_path, e))?;
    let pack: CouponPack = serde_json::from_str(&text).map_err(|e| {
        AdminError::Invalid(format!(
            "{}: not a coupon pack ({e}); expected {{\"id\": \"…\", \"name\": \"…\", \"items\": [{{\"campaign_id\": 1001, \"count\": 1}}]}}",
            pack_path.display()
        ))
    })?;
    if pack.id.trim().is_empty() || pack.size() == 0 || pack.items.iter().any(|i| i.count == 0) {
        return Err(AdminError::Invalid(format!(
            "{}: a pack needs an id and items with a count of at least 1",
            pack_path.display()
        )));
    }
    // The key must be the one the tills trust.
    let kid = key.key_id().to_string();
    let published = storage.get_changes(tenant, Entity::CouponKeys, std::slice::from_ref(&kid))?;
    let mine = hex::encode(key.public_key());
    match published
        .get(&kid)
        .and_then(|v| v.get("public_key"))
        .and_then(Value::as_str)
    {
        Some(pk) if pk.eq_ignore_ascii_case(&mine) => {}
        Some(_) => {
            return Err(AdminError::Invalid(format!(
                "the key file is not the published coupon key {kid} (its public key differs): \
                 tills would refuse these codes"
            )));
        }
        None => {
            return Err(AdminError::Invalid(format!(
                "coupon key {kid} is not published for this tenant (run `coupons keygen`): \
                 tills would refuse these codes"
            )));
        }
    }
    // Every campaign must exist.
    let mut per_pack: BTreeMap<u32, u64> = BTreeMap::new();
    for item in &pack.items {
        *per_pack.entry(item.campaign_id).or_default() += u64::from(item.count);
    }
    let ids: Vec<String> = per_pack.keys().map(u32::to_string).collect();
    let campaigns = storage.get_changes(tenant, Entity::Campaigns, &ids)?;
    for id in &ids {
        let Some(c) = campaigns.get(id) else {
            return Err(AdminError::Invalid(format!(
                "campaign {id} of pack {} is not imported (run `import campaigns` first)",
                pack.id
            )));
        };
        let c: Campaign = serde_json::from_value(c.clone())
            .map_err(|e| AdminError::Invalid(format!("stored campaign {id}: {e}")))?;
        if c.members_only && matches!(recipients, Recipients::Count(_)) {
            tracing::warn!(
                campaign = id,
                "members-only campaign issued as unbound coupons"
            );
        }
    }
    // Recipients.
    let (members, packs): (Vec<Option<&str>>, u64) = match recipients {
        Recipients::Members(m) => {
            if m.is_empty() {
                return Err(AdminError::Invalid("no member given".into()));
            }
            let mut seen = std::collections::HashSet::new();
            if let Some(d) = m.iter().find(|x| !seen.insert(x.as_str())) {
                return Err(AdminError::Invalid(format!("member {d} is given twice")));
            }
            for chunk in m.chunks(MEMBER_BATCH) {
                let found = storage.get_changes(tenant, Entity::Members, chunk)?;
                let missing: Vec<&str> = chunk
                    .iter()
                    .filter(|x| !found.contains_key(*x))
                    .map(String::as_str)
                    .collect();
                if !missing.is_empty() {
                    return Err(AdminError::Invalid(format!(
                        "unknown member(s) {} (import them with `import members` first)",
                        missing.join(", ")
                    )));
                }
            }
            (m.iter().map(|x| Some(x.as_str())).collect(), m.len() as u64)
        }
        Recipients::Count(n) => {
            if *n == 0 {
                return Err(AdminError::Invalid("--count must be at least 1".into()));
            }
            (Vec::new(), *n)
        }
    };
    let total = (pack.size() as u64).saturating_mul(packs);
    if total > MAX_CODES_PER_RUN {
        return Err(AdminError::Invalid(format!(
            "{total} codes in one run is too many (at most {MAX_CODES_PER_RUN}); split it"
        )));
    }
    // Reserve every serial first: a failure later leaves unused serials, never reused ones.
    let mut next: HashMap<u32, u64> = HashMap::new();
    let mut serials = BTreeMap::new();
    for (&campaign, &n) in &per_pack {
        let count = n * packs;
        let first = storage.reserve_serials(tenant, campaign, count)?;
        next.insert(campaign, first);
        serials.insert(campaign, (first, first + count - 1));
    }
    let mut appended: Vec<(String, Vec<String>)> = Vec::new();
    let codes_of = |next: &mut HashMap<u32, u64>, member: Option<&str>| -> Result<Vec<String>> {
        let mut s = Vec::with_capacity(pack.size());
        for item in &pack.items {
            for _ in 0..item.count {
                let slot = next.entry(item.campaign_id).or_default();
                s.push(*slot);
                *slot += 1;
            }
        }
        let codes = tillstone_core::coupon::issue_pack(&pack, &s, member, key)
            .map_err(|e| AdminError::Invalid(e.to_string()))?;
        Ok(codes.into_iter().map(|c| c.encode()).collect())
    };
    let werr = |e: std::io::Error| AdminError::Invalid(format!("cannot write the codes: {e}"));
    if members.is_empty() {
        for _ in 0..packs {
            for code in codes_of(&mut next, None)? {
                writeln!(out, "{code}").map_err(werr)?;
            }
        }
    } else {
        for member in members.iter().flatten() {
            let codes = codes_of(&mut next, Some(member))?;
            for code in &codes {
                writeln!(out, "{member}\t{code}").map_err(werr)?;
            }
            appended.push((member.to_string(), codes));
            if appended.len() >= MEMBER_BATCH {
                append_to_members(storage, tenant, &std::mem::take(&mut appended))?;
            }
        }
        append_to_members(storage, tenant, &appended)?;
    }
    out.flush().map_err(werr)?;
    Ok(IssuedPack {
        pack: pack.id.clone(),
        key_id: key.key_id(),
        packs,
        codes: total,
        serials,
    })
}

/// Append codes to members' `coupons` (one transaction; members must still exist).
fn append_to_members(
    storage: &dyn Storage,
    tenant: &TenantId,
    batch: &[(String, Vec<String>)],
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let by_member: HashMap<&str, &Vec<String>> =
        batch.iter().map(|(m, c)| (m.as_str(), c)).collect();
    let merge =
        |key: &str, stored: Option<&Value>, new: &mut Value| -> std::result::Result<(), String> {
            let stored = stored.ok_or("the member was deleted meanwhile")?;
            let mut row = stored.clone();
            let mut list: Vec<Value> = row
                .get("coupons")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for code in by_member.get(key).copied().into_iter().flatten() {
                let v = Value::String(code.clone());
                if !list.contains(&v) {
                    list.push(v);
                }
            }
            row["coupons"] = json!(list);
            *new = row;
            Ok(())
        };
    let rows: Vec<(String, Value)> = batch
        .iter()
        .map(|(m, _)| (m.clone(), Value::Bool(false)))
        .collect();
    storage.put_changes(tenant, Entity::Members, &rows, Some(&merge))?;
    Ok(())
}
