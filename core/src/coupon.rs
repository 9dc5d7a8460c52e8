//! Coupons (issue 4): HQ's campaigns, signed coupon codes the till verifies without a network,
//! coupon packs, and the check that turns a scanned code into a discount or a refusal.
//!
//! ```text
//! sign(campaign_id, serial, member, &IssuerKey) -> CouponCode          (HQ)
//! issue_pack(&CouponPack, serials, member, &IssuerKey) -> Vec<CouponCode> (HQ)
//! decode(&str) -> CouponCode;  CouponCode::encode() -> String
//! verify(&CouponCode, &KeyRing) -> VerifiedCoupon
//! check(code, &KeyRing, &[Campaign], &CheckContext) -> CouponDiscount | CouponRejection (till)
//! ```
//!
//! Nothing here reads a clock, a file or a random source: the time, the store, the cart, the
//! redemption counts and HQ's secret key bytes are passed in. Signing is deterministic
//! (Ed25519), so the same fields and key always give the same code.
//!
//! # Code format (version 1)
//!
//! `TC1.` followed by RFC 4648 base32 (`A`–`Z`, `2`–`7`, no padding) of
//!
//! ```text
//! varint key_id ‖ varint campaign_id ‖ varint serial ‖ u8 len ‖ member_id[len] ‖ signature[64]
//! ```
//!
//! Varints are unsigned LEB128 and must be minimal; `len` is 0 for an unbound coupon, else 1 to
//! [`MAX_MEMBER_ID_LEN`] printable ASCII bytes. The signature is Ed25519 by HQ's key `key_id`
//! over `"tillstone-coupon-v1\0" ‖ <the fields above, without the signature>`, checked with
//! `verify_strict`. Decoding accepts lower case and surrounding whitespace and rejects every
//! non-canonical form (long varints, non-zero padding bits, trailing bytes), so a coupon has
//! exactly one code.
//!
//! Every character is in the QR alphanumeric set and in Code 128 set B. An unbound coupon with a
//! 4-digit campaign id and a 6-digit serial is 71 bytes = **118 characters** (QR version 5-M);
//! bound to a member id like `M000001`, 78 bytes = **129 characters** (QR version 6-M, about
//! 25 mm wide on a 58 mm receipt). The 64-byte signature alone is 103 characters, so no
//! offline-verifiable code fits a Code 128 on a 58 mm receipt (≈ 30 characters at the smallest
//! printable module); [`CouponCode::reference`] gives a short human reference for the receipt.
//!
//! # Campaigns as JSON
//!
//! Amounts are decimal strings in currency units, percentages `"20"` for 20 %, times RFC 3339.
//! Everything but `id`, `name` and `benefit` may be left out.
//!
//! ```json
//! {
//!   "id": 1042,
//!   "name": "新会员满100减20",
//!   "name_en": "New member: 20 off 100",
//!   "benefit": { "kind": "amount_off", "amount": "20", "min_spend": "100", "scope": "order" },
//!   "valid_from": "2025-06-01T00:00:00+08:00",
//!   "valid_until": "2025-07-01T00:00:00+08:00",
//!   "single_use": true,
//!   "per_member_limit": 1,
//!   "members_only": false,
//!   "stores": ["HZ01", "HZ02"],
//!   "location": { "lat": 30.2741, "lon": 120.1551, "radius_m": 3000 },
//!   "offline_allowance": 50,
//!   "refund_restores": true
//! }
//! ```
//!
//! | benefit `kind` | fields | meaning |
//! |---|---|---|
//! | `amount_off` | `amount`, `scope`?, `min_spend`? | `amount` off the scope (满减 with `min_spend`) |
//! | `percent_off` | `percent`, `scope`?, `max_off`?, `min_spend`? | `percent` % off the scope, at most `max_off` |
//! | `free_item` | `sku`, `qty`? (1), `min_spend`? | `qty` units of `sku` free (whole units only) |
//!
//! `scope` is the promotions engine's [`Scope`]: `"order"` (the default), `{"skus": [...]}` or
//! `{"categories": [...]}`; `min_spend` is measured on the scope (on the whole cart for
//! `free_item`). The window is `[valid_from, valid_until)`. `single_use` (default `true`): the
//! code is redeemed once; otherwise it may be used again, by each member at most
//! `per_member_limit` times (a limit needs a member at the till). `stores` (empty = every store)
//! and `location` (the store's coordinates within `radius_m` metres of the point, great-circle
//! distance) must both hold when both are given. `offline_allowance`: how many redemptions of
//! the campaign one terminal may accept while offline before HQ confirms them (absent = no
//! limit, 0 = online only). `refund_restores`: a return of the whole sale (or a post-void) gives
//! the coupon back.
//!
//! A pack: `{"id": "NEW-MEMBER", "name": "新会员礼包", "items": [{"campaign_id": 1042, "count": 2}]}`.
//! A key ring: `[{"key_id": 1, "public_key": "<64 hex digits>"}]`.
//!
//! # Amounts
//!
//! Line amounts (what each line costs after manual discounts and promotions) are rounded once to
//! integer minor units; the discount is computed there, capped at the eligible amount, and
//! spread over the eligible lines with [`crate::alloc::allocate`] (weights = line amounts), so
//! the per-line amounts sum to the discount exactly and no line goes negative.

use crate::alloc::allocate;
use crate::money::{RoundingMode, from_minor, to_minor, within_limit};
use crate::promo::{LineAmount, Scope};
use crate::settings::Language;
use chrono::{DateTime, FixedOffset, Offset, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Every version-1 code starts with this.
pub const CODE_PREFIX: &str = "TC1.";
/// Longest member id a code may carry (bytes of printable ASCII).
pub const MAX_MEMBER_ID_LEN: usize = 32;
/// Longer input is refused before it is decoded.
pub const MAX_CODE_LEN: usize = 256;
/// Domain separation: the signature covers this, then the fields.
const DOMAIN: &[u8] = b"tillstone-coupon-v1\0";
const SIG_LEN: usize = 64;
/// Mean Earth radius (IUGG), metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

// ---------------------------------------------------------------------------------------------
// Codes
// ---------------------------------------------------------------------------------------------

/// Why a code could not be made, read or trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CouponError {
    #[error("not a coupon code: {0}")]
    Malformed(&'static str),
    #[error("the coupon was signed with key {0}, which this till does not know")]
    UnknownKey(u32),
    #[error("the coupon's signature does not match: the code was altered or forged")]
    BadSignature,
    #[error("a member id is 1 to 32 printable ASCII characters")]
    InvalidMemberId,
    #[error("key {0}: not a valid Ed25519 public key")]
    InvalidPublicKey(u32),
    #[error("pack {pack}: {count} serials given for {size} coupons")]
    PackSerialCount {
        pack: String,
        size: usize,
        count: usize,
    },
    #[error("pack {pack}: serial {serial} is used twice for campaign {campaign_id}")]
    PackDuplicateSerial {
        pack: String,
        campaign_id: u32,
        serial: u64,
    },
}

/// A coupon code: the signed fields and HQ's signature over them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct CouponCode {
    /// Which of HQ's keys signed it (see [`KeyRing`]).
    pub key_id: u32,
    pub campaign_id: u32,
    /// HQ's number for this coupon; `(campaign_id, serial)` identifies it.
    pub serial: u64,
    /// The member the coupon was issued to, if any.
    pub member_id: Option<String>,
    pub signature: [u8; SIG_LEN],
}

impl CouponCode {
    /// The canonical encoding of the signed fields.
    fn field_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + MAX_MEMBER_ID_LEN);
        put_varint(&mut out, self.key_id.into());
        put_varint(&mut out, self.campaign_id.into());
        put_varint(&mut out, self.serial);
        let member = self.member_id.as_deref().unwrap_or("").as_bytes();
        // A member id longer than 255 bytes cannot come from `sign`; it is cut here (so encoding
        // never fails) and such a code is refused by `decode` and `verify`.
        let member = &member[..member.len().min(255)];
        out.push(member.len() as u8);
        out.extend_from_slice(member);
        out
    }

    /// The bytes the signature covers: the domain tag, then the fields.
    pub fn signed_message(&self) -> Vec<u8> {
        let mut m = DOMAIN.to_vec();
        m.extend(self.field_bytes());
        m
    }

    /// The fields and the signature, as encoded in the code.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = self.field_bytes();
        b.extend_from_slice(&self.signature);
        b
    }

    /// The code as printed in a QR code: `TC1.` + base32.
    pub fn encode(&self) -> String {
        let mut s = String::from(CODE_PREFIX);
        s.push_str(&base32_encode(&self.to_bytes()));
        s
    }

    /// A short reference for people (receipts, support calls): `campaign-serial`. It proves
    /// nothing; only the full code is verifiable.
    pub fn reference(&self) -> String {
        format!("{}-{}", self.campaign_id, self.serial)
    }
}

impl fmt::Display for CouponCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

impl From<CouponCode> for String {
    fn from(c: CouponCode) -> String {
        c.encode()
    }
}

impl TryFrom<String> for CouponCode {
    type Error = CouponError;
    fn try_from(s: String) -> Result<Self, CouponError> {
        decode(&s)
    }
}

impl std::str::FromStr for CouponCode {
    type Err = CouponError;
    fn from_str(s: &str) -> Result<Self, CouponError> {
        decode(s)
    }
}

fn valid_member_id(m: &str) -> bool {
    !m.is_empty() && m.len() <= MAX_MEMBER_ID_LEN && m.bytes().all(|b| b.is_ascii_graphic())
}

/// Read a code (as scanned or typed). Never panics; every malformed input is an error.
pub fn decode(input: &str) -> Result<CouponCode, CouponError> {
    let s = input.trim();
    if s.len() > MAX_CODE_LEN {
        return Err(CouponError::Malformed("too long"));
    }
    let body = match s.get(..CODE_PREFIX.len()) {
        Some(p) if p.eq_ignore_ascii_case(CODE_PREFIX) => &s[CODE_PREFIX.len()..],
        _ => return Err(CouponError::Malformed("it does not start with TC1.")),
    };
    let bytes = base32_decode(body).map_err(CouponError::Malformed)?;
    let mut r = Reader { b: &bytes, pos: 0 };
    let key_id = r.varint(u32::MAX.into())? as u32;
    let campaign_id = r.varint(u32::MAX.into())? as u32;
    let serial = r.varint(u64::MAX)?;
    let len = r.byte()? as usize;
    let member_id = if len == 0 {
        None
    } else {
        let raw = r.take(len)?;
        match std::str::from_utf8(raw) {
            Ok(m) if valid_member_id(m) => Some(m.to_string()),
            _ => return Err(CouponError::Malformed("the member id is not valid")),
        }
    };
    let sig = r.take(SIG_LEN)?;
    if r.pos != bytes.len() {
        return Err(CouponError::Malformed("bytes after the signature"));
    }
    let mut signature = [0u8; SIG_LEN];
    signature.copy_from_slice(sig);
    Ok(CouponCode {
        key_id,
        campaign_id,
        serial,
        member_id,
        signature,
    })
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, CouponError> {
        let b = *self
            .b
            .get(self.pos)
            .ok_or(CouponError::Malformed("the code is cut short"))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CouponError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or(CouponError::Malformed("the code is cut short"))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// A minimal unsigned LEB128 number of at most `max`.
    fn varint(&mut self, max: u64) -> Result<u64, CouponError> {
        let mut v: u64 = 0;
        for i in 0..10u32 {
            let byte = self.byte()?;
            let part = u64::from(byte & 0x7f);
            if i == 9 && part > 1 {
                return Err(CouponError::Malformed("a number is out of range"));
            }
            v |= part << (7 * i);
            if byte & 0x80 == 0 {
                if byte == 0 && i > 0 {
                    return Err(CouponError::Malformed(
                        "a number is not in its shortest form",
                    ));
                }
                if v > max {
                    return Err(CouponError::Malformed("a number is out of range"));
                }
                return Ok(v);
            }
        }
        Err(CouponError::Malformed("a number is out of range"))
    }
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((acc >> bits) & 31) as usize] as char);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(BASE32[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Base32 without padding; lower case accepted; the unused bits of the last character must be
/// zero and the length must be one an encoding can have.
fn base32_decode(s: &str) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return Err("a character other than A-Z and 2-7"),
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 5 || acc != 0 {
        return Err("the code's length or last character is not valid");
    }
    Ok(out)
}

fn hex_encode(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [H[(b >> 4) as usize] as char, H[(b & 15) as usize] as char])
        .collect()
}

fn hex_decode_32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim().as_bytes();
    if s.len() != 64 {
        return None;
    }
    let nib = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (nib(s[2 * i])? << 4) | nib(s[2 * i + 1])?;
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Keys, signing, verifying
// ---------------------------------------------------------------------------------------------

/// HQ's signing key with its id. Made from the 32 secret bytes HQ keeps; never on a till.
#[derive(Clone)]
pub struct IssuerKey {
    key_id: u32,
    key: SigningKey,
}

impl IssuerKey {
    pub fn from_secret(key_id: u32, secret: &[u8; 32]) -> Self {
        IssuerKey {
            key_id,
            key: SigningKey::from_bytes(secret),
        }
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The public key tills put in their [`KeyRing`].
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }
}

impl fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerKey")
            .field("key_id", &self.key_id)
            .field("public_key", &hex_encode(&self.public_key()))
            .finish_non_exhaustive()
    }
}

/// Sign a coupon (HQ side).
pub fn sign(
    campaign_id: u32,
    serial: u64,
    member_id: Option<&str>,
    key: &IssuerKey,
) -> Result<CouponCode, CouponError> {
    if member_id.is_some_and(|m| !valid_member_id(m)) {
        return Err(CouponError::InvalidMemberId);
    }
    let mut code = CouponCode {
        key_id: key.key_id,
        campaign_id,
        serial,
        member_id: member_id.map(str::to_string),
        signature: [0; SIG_LEN],
    };
    code.signature = key.key.sign(&code.signed_message()).to_bytes();
    Ok(code)
}

/// One public key as configured: `{"key_id": 1, "public_key": "<64 hex digits>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyEntry {
    pub key_id: u32,
    pub public_key: String,
}

/// HQ's public keys by id. Several may be live at once (key rotation: a new key signs new
/// coupons while codes signed by the old one stay valid until it is removed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<PublicKeyEntry>", into = "Vec<PublicKeyEntry>")]
pub struct KeyRing {
    keys: BTreeMap<u32, VerifyingKey>,
}

impl KeyRing {
    pub fn new() -> Self {
        KeyRing::default()
    }

    /// Add (or replace) a key.
    pub fn insert(&mut self, key_id: u32, public_key: &[u8; 32]) -> Result<(), CouponError> {
        let vk = VerifyingKey::from_bytes(public_key)
            .map_err(|_| CouponError::InvalidPublicKey(key_id))?;
        if vk.is_weak() {
            return Err(CouponError::InvalidPublicKey(key_id));
        }
        self.keys.insert(key_id, vk);
        Ok(())
    }

    pub fn remove(&mut self, key_id: u32) -> bool {
        self.keys.remove(&key_id).is_some()
    }

    pub fn contains(&self, key_id: u32) -> bool {
        self.keys.contains_key(&key_id)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl TryFrom<Vec<PublicKeyEntry>> for KeyRing {
    type Error = CouponError;
    fn try_from(entries: Vec<PublicKeyEntry>) -> Result<Self, CouponError> {
        let mut ring = KeyRing::new();
        for e in entries {
            let bytes =
                hex_decode_32(&e.public_key).ok_or(CouponError::InvalidPublicKey(e.key_id))?;
            ring.insert(e.key_id, &bytes)?;
        }
        Ok(ring)
    }
}

impl From<KeyRing> for Vec<PublicKeyEntry> {
    fn from(r: KeyRing) -> Self {
        r.keys
            .iter()
            .map(|(id, k)| PublicKeyEntry {
                key_id: *id,
                public_key: hex_encode(&k.to_bytes()),
            })
            .collect()
    }
}

/// A code whose signature checked out. Only [`verify`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCoupon {
    code: CouponCode,
}

impl VerifiedCoupon {
    pub fn key_id(&self) -> u32 {
        self.code.key_id
    }
    pub fn campaign_id(&self) -> u32 {
        self.code.campaign_id
    }
    pub fn serial(&self) -> u64 {
        self.code.serial
    }
    pub fn member_id(&self) -> Option<&str> {
        self.code.member_id.as_deref()
    }
    pub fn code(&self) -> &CouponCode {
        &self.code
    }
}

/// Check a code's signature against HQ's keys (strict Ed25519: no malleable signatures, no
/// small-order keys).
pub fn verify(code: &CouponCode, keys: &KeyRing) -> Result<VerifiedCoupon, CouponError> {
    if code
        .member_id
        .as_deref()
        .is_some_and(|m| !valid_member_id(m))
    {
        return Err(CouponError::Malformed("the member id is not valid"));
    }
    let vk = keys
        .keys
        .get(&code.key_id)
        .ok_or(CouponError::UnknownKey(code.key_id))?;
    let sig = Signature::from_bytes(&code.signature);
    vk.verify_strict(&code.signed_message(), &sig)
        .map_err(|_| CouponError::BadSignature)?;
    Ok(VerifiedCoupon { code: code.clone() })
}

// ---------------------------------------------------------------------------------------------
// Campaigns and packs
// ---------------------------------------------------------------------------------------------

fn order_scope() -> Scope {
    Scope::Order
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// What a coupon gives. JSON: internally tagged by `"kind"` (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CouponBenefit {
    AmountOff {
        amount: Decimal,
        #[serde(default = "order_scope")]
        scope: Scope,
        /// The scope's amount must reach this (满减).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_spend: Option<Decimal>,
    },
    PercentOff {
        /// 20 = 20 % off.
        percent: Decimal,
        #[serde(default = "order_scope")]
        scope: Scope,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_off: Option<Decimal>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_spend: Option<Decimal>,
    },
    FreeItem {
        sku: String,
        #[serde(default = "one")]
        qty: u32,
        /// The whole cart's amount must reach this.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_spend: Option<Decimal>,
    },
}

/// The kind of a coupon benefit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CouponKind {
    AmountOff,
    PercentOff,
    FreeItem,
}

impl CouponBenefit {
    pub fn kind(&self) -> CouponKind {
        match self {
            CouponBenefit::AmountOff { .. } => CouponKind::AmountOff,
            CouponBenefit::PercentOff { .. } => CouponKind::PercentOff,
            CouponBenefit::FreeItem { .. } => CouponKind::FreeItem,
        }
    }

    fn min_spend(&self) -> Option<Decimal> {
        match self {
            CouponBenefit::AmountOff { min_spend, .. }
            | CouponBenefit::PercentOff { min_spend, .. }
            | CouponBenefit::FreeItem { min_spend, .. } => *min_spend,
        }
    }

    fn describe(&self, lang: Language) -> String {
        let n = |d: &Decimal| d.normalize().to_string();
        let scope = |s: &Scope| match (s, lang) {
            (Scope::Order, _) => "",
            (_, Language::Zh) => "（限指定商品）",
            (_, Language::En) => " on selected items",
        };
        match (self, lang) {
            (
                CouponBenefit::AmountOff {
                    amount,
                    scope: s,
                    min_spend,
                },
                Language::Zh,
            ) => match min_spend {
                Some(m) if *m > Decimal::ZERO => format!("满{}减{}{}", n(m), n(amount), scope(s)),
                _ => format!("立减{}{}", n(amount), scope(s)),
            },
            (
                CouponBenefit::AmountOff {
                    amount,
                    scope: s,
                    min_spend,
                },
                Language::En,
            ) => match min_spend {
                Some(m) if *m > Decimal::ZERO => {
                    format!("{} off{} when you spend {}", n(amount), scope(s), n(m))
                }
                _ => format!("{} off{}", n(amount), scope(s)),
            },
            (
                CouponBenefit::PercentOff {
                    percent,
                    scope: s,
                    max_off,
                    min_spend,
                },
                Language::Zh,
            ) => {
                let zhe = (Decimal::ONE_HUNDRED - percent) / Decimal::TEN;
                let mut t = String::new();
                if let Some(m) = min_spend.filter(|m| *m > Decimal::ZERO) {
                    t.push_str(&format!("满{}", n(&m)));
                }
                t.push_str(&format!("{}折{}", n(&zhe), scope(s)));
                if let Some(c) = max_off {
                    t.push_str(&format!("，最多减{}", n(c)));
                }
                t
            }
            (
                CouponBenefit::PercentOff {
                    percent,
                    scope: s,
                    max_off,
                    min_spend,
                },
                Language::En,
            ) => {
                let mut t = format!("{}% off{}", n(percent), scope(s));
                if let Some(c) = max_off {
                    t.push_str(&format!(", up to {}", n(c)));
                }
                if let Some(m) = min_spend.filter(|m| *m > Decimal::ZERO) {
                    t.push_str(&format!(" when you spend {}", n(&m)));
                }
                t
            }
            (CouponBenefit::FreeItem { sku, qty, .. }, Language::Zh) => {
                format!("赠送 {sku} ×{qty}")
            }
            (CouponBenefit::FreeItem { sku, qty, .. }, Language::En) => {
                format!("{qty} × {sku} free")
            }
        }
    }
}

/// A point on Earth, degrees (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// Stores within `radius_m` metres of a point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoFence {
    pub lat: f64,
    pub lon: f64,
    pub radius_m: f64,
}

impl GeoFence {
    pub fn center(&self) -> GeoPoint {
        GeoPoint {
            lat: self.lat,
            lon: self.lon,
        }
    }
}

/// Great-circle distance in metres (haversine on a sphere of the mean Earth radius; within
/// 0.5 % of the ellipsoid, which is plenty for a store radius).
pub fn distance_m(a: GeoPoint, b: GeoPoint) -> f64 {
    let (p1, p2) = (a.lat.to_radians(), b.lat.to_radians());
    let dp = p2 - p1;
    let dl = (b.lon - a.lon).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// A coupon campaign as HQ sends it (see the module docs for the JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: u32,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    pub benefit: CouponBenefit,
    /// First moment the coupon is valid (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<DateTime<Utc>>,
    /// The coupon is no longer valid from this moment on (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
    /// One redemption per code; otherwise the code can be used again.
    #[serde(default = "yes")]
    pub single_use: bool,
    /// How often one member may redeem this campaign's coupons; needs a member at the till.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_member_limit: Option<u32>,
    /// A member must be identified to use the coupon.
    #[serde(default)]
    pub members_only: bool,
    /// Store codes the coupon is valid at; empty = every store.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<String>,
    /// Valid only at stores within this radius.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoFence>,
    /// Redemptions of this campaign one terminal may accept while offline (not yet confirmed by
    /// HQ); `None` = no limit, 0 = online only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_allowance: Option<u32>,
    /// A complete return (or post-void) of the sale gives the coupon back.
    #[serde(default)]
    pub refund_restores: bool,
}

impl Campaign {
    /// Check the campaign makes sense; [`check`] refuses coupons of campaigns that do not.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.name.trim().is_empty() {
            return Err("the campaign has no name");
        }
        let amount_ok = |a: &Decimal| *a > Decimal::ZERO && within_limit(*a);
        let spend_ok =
            |m: &Option<Decimal>| m.is_none_or(|m| m >= Decimal::ZERO && within_limit(m));
        let scope_ok = |s: &Scope| match s {
            Scope::Order => true,
            Scope::Skus(v) | Scope::Categories(v) => !v.is_empty(),
        };
        match &self.benefit {
            CouponBenefit::AmountOff {
                amount,
                scope,
                min_spend,
            } => {
                if !amount_ok(amount) || !spend_ok(min_spend) {
                    return Err("amounts must be more than 0 and spends not negative");
                }
                if !scope_ok(scope) {
                    return Err("the scope's list is empty");
                }
            }
            CouponBenefit::PercentOff {
                percent,
                scope,
                max_off,
                min_spend,
            } => {
                if *percent <= Decimal::ZERO || *percent > Decimal::ONE_HUNDRED {
                    return Err("a percentage is more than 0 and at most 100");
                }
                if max_off.is_some_and(|m| !amount_ok(&m)) || !spend_ok(min_spend) {
                    return Err("amounts must be more than 0 and spends not negative");
                }
                if !scope_ok(scope) {
                    return Err("the scope's list is empty");
                }
            }
            CouponBenefit::FreeItem {
                sku,
                qty,
                min_spend,
            } => {
                if sku.trim().is_empty() || *qty == 0 {
                    return Err("a free item needs a SKU and a quantity of at least 1");
                }
                if !spend_ok(min_spend) {
                    return Err("amounts must be more than 0 and spends not negative");
                }
            }
        }
        if let (Some(f), Some(u)) = (self.valid_from, self.valid_until)
            && u <= f
        {
            return Err("the validity window ends before it starts");
        }
        if self.per_member_limit == Some(0) {
            return Err("a per-member limit is at least 1");
        }
        if self.stores.iter().any(|s| s.trim().is_empty()) {
            return Err("a store code is empty");
        }
        if let Some(g) = &self.location {
            let ok = (-90.0..=90.0).contains(&g.lat)
                && (-180.0..=180.0).contains(&g.lon)
                && g.radius_m.is_finite()
                && g.radius_m > 0.0;
            if !ok {
                return Err("the location needs a valid point and a radius of more than 0 m");
            }
        }
        Ok(())
    }
}

/// Coupons issued together (e.g. the new-member pack).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponPack {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    pub items: Vec<PackItem>,
}

/// `count` coupons of a campaign in a pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackItem {
    pub campaign_id: u32,
    #[serde(default = "one")]
    pub count: u32,
}

impl CouponPack {
    /// How many coupons one issue of the pack makes.
    pub fn size(&self) -> usize {
        self.items.iter().map(|i| i.count as usize).sum()
    }
}

/// Issue a pack (HQ side): one code per coupon, in item order, the `i`-th taking `serials[i]`.
/// HQ reserves the serials; there must be exactly [`CouponPack::size`] of them and no
/// `(campaign, serial)` may repeat.
pub fn issue_pack(
    pack: &CouponPack,
    serials: &[u64],
    member_id: Option<&str>,
    key: &IssuerKey,
) -> Result<Vec<CouponCode>, CouponError> {
    if serials.len() != pack.size() {
        return Err(CouponError::PackSerialCount {
            pack: pack.id.clone(),
            size: pack.size(),
            count: serials.len(),
        });
    }
    let campaigns = pack
        .items
        .iter()
        .flat_map(|i| std::iter::repeat_n(i.campaign_id, i.count as usize));
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(serials.len());
    for (campaign_id, &serial) in campaigns.zip(serials) {
        if !seen.insert((campaign_id, serial)) {
            return Err(CouponError::PackDuplicateSerial {
                pack: pack.id.clone(),
                campaign_id,
                serial,
            });
        }
        out.push(sign(campaign_id, serial, member_id, key)?);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The check at the till
// ---------------------------------------------------------------------------------------------

/// What the till's local redemption ledger knows (the terminal implements it over its store).
/// Counts are of redemptions that still stand: one given back by a refund is not counted.
pub trait RedemptionLedger {
    /// Redemptions of this coupon (campaign, serial), on this till or synced from HQ.
    fn serial_uses(&self, campaign_id: u32, serial: u64) -> u32;
    /// Redemptions of this campaign's coupons by this member.
    fn member_uses(&self, campaign_id: u32, member_id: &str) -> u32;
    /// Redemptions of this campaign this terminal accepted offline that HQ has not confirmed.
    fn offline_redemptions(&self, campaign_id: u32) -> u32;
}

/// A ledger plus the coupons already accepted in the cart being checked, so two coupons of
/// one cart count against the same single-use, per-member and offline limits.
pub struct WithPending<'a> {
    pub ledger: &'a dyn RedemptionLedger,
    pub pending: &'a [CouponDiscount],
}

impl RedemptionLedger for WithPending<'_> {
    fn serial_uses(&self, campaign_id: u32, serial: u64) -> u32 {
        let here = self
            .pending
            .iter()
            .filter(|c| c.campaign_id == campaign_id && c.serial == serial)
            .count();
        self.ledger
            .serial_uses(campaign_id, serial)
            .saturating_add(u32::try_from(here).unwrap_or(u32::MAX))
    }

    fn member_uses(&self, campaign_id: u32, member_id: &str) -> u32 {
        let here = self
            .pending
            .iter()
            .filter(|c| c.campaign_id == campaign_id && c.member_id.as_deref() == Some(member_id))
            .count();
        self.ledger
            .member_uses(campaign_id, member_id)
            .saturating_add(u32::try_from(here).unwrap_or(u32::MAX))
    }

    fn offline_redemptions(&self, campaign_id: u32) -> u32 {
        let here = self
            .pending
            .iter()
            .filter(|c| c.campaign_id == campaign_id && c.offline)
            .count();
        self.ledger
            .offline_redemptions(campaign_id)
            .saturating_add(u32::try_from(here).unwrap_or(u32::MAX))
    }
}

/// An in-memory ledger: for tests, and for a terminal that loads the counts it needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryLedger {
    pub serials: BTreeMap<(u32, u64), u32>,
    pub members: BTreeMap<(u32, String), u32>,
    pub offline: BTreeMap<u32, u32>,
}

impl MemoryLedger {
    /// Count a redemption.
    pub fn record(&mut self, d: &CouponDiscount) {
        *self.serials.entry((d.campaign_id, d.serial)).or_default() += 1;
        if let Some(m) = &d.member_id {
            *self.members.entry((d.campaign_id, m.clone())).or_default() += 1;
        }
        if d.offline {
            *self.offline.entry(d.campaign_id).or_default() += 1;
        }
    }

    /// Give a redemption back (a refund of a campaign with `refund_restores`). Returns whether
    /// anything changed.
    pub fn restore(&mut self, d: &CouponDiscount) -> bool {
        if !d.refund_restores {
            return false;
        }
        let dec = |v: Option<&mut u32>| {
            if let Some(v) = v {
                *v = v.saturating_sub(1);
            }
        };
        dec(self.serials.get_mut(&(d.campaign_id, d.serial)));
        if let Some(m) = &d.member_id {
            dec(self.members.get_mut(&(d.campaign_id, m.clone())));
        }
        true
    }

    /// HQ confirmed the terminal's offline redemptions of a campaign.
    pub fn confirm_offline(&mut self, campaign_id: u32) {
        self.offline.remove(&campaign_id);
    }
}

impl RedemptionLedger for MemoryLedger {
    fn serial_uses(&self, campaign_id: u32, serial: u64) -> u32 {
        self.serials
            .get(&(campaign_id, serial))
            .copied()
            .unwrap_or(0)
    }
    fn member_uses(&self, campaign_id: u32, member_id: &str) -> u32 {
        self.members
            .get(&(campaign_id, member_id.to_string()))
            .copied()
            .unwrap_or(0)
    }
    fn offline_redemptions(&self, campaign_id: u32) -> u32 {
        self.offline.get(&campaign_id).copied().unwrap_or(0)
    }
}

/// A cart line as the coupon check sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponLine {
    pub line_id: u32,
    pub sku: String,
    #[serde(default)]
    pub category: String,
    pub qty: Decimal,
    /// What the line costs before the coupon (after manual discounts and promotions).
    pub amount: Decimal,
}

/// Everything the check needs from the till, passed in.
#[derive(Clone, Copy)]
pub struct CheckContext<'a> {
    pub now: DateTime<Utc>,
    /// For showing times in messages (store local time).
    pub utc_offset_minutes: i32,
    pub store_code: &'a str,
    pub store_location: Option<GeoPoint>,
    /// The member identified on the sale.
    pub member_id: Option<&'a str>,
    pub lines: &'a [CouponLine],
    pub ledger: &'a dyn RedemptionLedger,
    /// Whether the terminal can reach HQ now (the offline allowance applies when it cannot).
    pub online: bool,
    pub minor_units: u32,
    pub rounding: RoundingMode,
}

/// An accepted coupon: how much it takes off which lines, and what to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponDiscount {
    /// The canonical code, to store with the sale.
    pub code: String,
    pub key_id: u32,
    pub campaign_id: u32,
    pub serial: u64,
    /// The member the redemption counts against (the sale's member).
    pub member_id: Option<String>,
    pub kind: CouponKind,
    pub name: String,
    pub name_en: String,
    /// The amount the benefit was measured on (the scope, or the free SKU's lines).
    pub eligible: Decimal,
    /// The discount; never more than `eligible`.
    pub amount: Decimal,
    /// Lines with a non-zero share, in cart order; they sum to `amount`.
    pub lines: Vec<LineAmount>,
    pub explanation_zh: String,
    pub explanation_en: String,
    /// Accepted while offline: counts against the campaign's offline allowance until HQ confirms.
    pub offline: bool,
    pub refund_restores: bool,
}

impl CouponDiscount {
    /// The coupon's id as HQ keys its redemptions and restores: `campaign-serial`.
    pub fn coupon_id(&self) -> String {
        format!("{}-{}", self.campaign_id, self.serial)
    }
}

/// Why the till refuses a coupon. `code()` is stable (also the `"code"` field in JSON);
/// `message(lang)` is for the cashier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum CouponRejection {
    Malformed {
        detail: String,
    },
    UnknownKey {
        key_id: u32,
    },
    BadSignature,
    UnknownCampaign {
        campaign_id: u32,
    },
    InvalidCampaign {
        campaign_id: u32,
        detail: String,
    },
    NotYetValid {
        valid_from: DateTime<FixedOffset>,
    },
    Expired {
        valid_until: DateTime<FixedOffset>,
    },
    WrongStore {
        store_code: String,
    },
    StoreLocationUnknown,
    TooFar {
        distance_m: u64,
        radius_m: u64,
    },
    NeedsMember,
    WrongMember,
    AlreadyUsed,
    MemberLimitReached {
        used: u32,
        limit: u32,
    },
    OfflineAllowanceExhausted {
        allowance: u32,
    },
    ThresholdNotMet {
        min_spend: Decimal,
        eligible: Decimal,
        short_by: Decimal,
    },
    NothingApplicable,
}

impl CouponRejection {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            CouponRejection::Malformed { .. } => "malformed",
            CouponRejection::UnknownKey { .. } => "unknown_key",
            CouponRejection::BadSignature => "bad_signature",
            CouponRejection::UnknownCampaign { .. } => "unknown_campaign",
            CouponRejection::InvalidCampaign { .. } => "invalid_campaign",
            CouponRejection::NotYetValid { .. } => "not_yet_valid",
            CouponRejection::Expired { .. } => "expired",
            CouponRejection::WrongStore { .. } => "wrong_store",
            CouponRejection::StoreLocationUnknown => "store_location_unknown",
            CouponRejection::TooFar { .. } => "too_far",
            CouponRejection::NeedsMember => "needs_member",
            CouponRejection::WrongMember => "wrong_member",
            CouponRejection::AlreadyUsed => "already_used",
            CouponRejection::MemberLimitReached { .. } => "member_limit_reached",
            CouponRejection::OfflineAllowanceExhausted { .. } => "offline_allowance_exhausted",
            CouponRejection::ThresholdNotMet { .. } => "threshold_not_met",
            CouponRejection::NothingApplicable => "nothing_applicable",
        }
    }

    pub fn message(&self, lang: Language) -> String {
        match lang {
            Language::Zh => self.message_zh(),
            Language::En => self.message_en(),
        }
    }

    pub fn message_zh(&self) -> String {
        let t = |d: &DateTime<FixedOffset>| d.format("%Y-%m-%d %H:%M").to_string();
        match self {
            CouponRejection::Malformed { .. } => "无法识别此券码，请重新扫描或核对输入".into(),
            CouponRejection::UnknownKey { key_id } => {
                format!("券码由未知密钥（{key_id}）签发，请同步总部数据后重试")
            }
            CouponRejection::BadSignature => "券码校验失败：券码被篡改或为伪造券".into(),
            CouponRejection::UnknownCampaign { campaign_id } => {
                format!("本机没有此券的活动（{campaign_id}），请同步总部数据后重试")
            }
            CouponRejection::InvalidCampaign { campaign_id, .. } => {
                format!("此券的活动（{campaign_id}）配置有误，暂不能使用")
            }
            CouponRejection::NotYetValid { valid_from } => {
                format!("此券尚未生效，{} 起可用", t(valid_from))
            }
            CouponRejection::Expired { valid_until } => {
                format!("此券已过期（有效期至 {}）", t(valid_until))
            }
            CouponRejection::WrongStore { store_code } => {
                format!("此券不适用于本店（{store_code}）")
            }
            CouponRejection::StoreLocationUnknown => "此券限指定区域使用，但本店未设置位置".into(),
            CouponRejection::TooFar {
                distance_m,
                radius_m,
            } => format!("此券限活动地点 {radius_m} 米内的门店使用，本店相距 {distance_m} 米"),
            CouponRejection::NeedsMember => "此券仅限会员使用，请先识别会员".into(),
            CouponRejection::WrongMember => "此券属于其他会员，当前会员不能使用".into(),
            CouponRejection::AlreadyUsed => "此券已被使用".into(),
            CouponRejection::MemberLimitReached { used, limit } => {
                format!("该会员已使用此活动的券 {used} 次，已达上限 {limit} 次")
            }
            CouponRejection::OfflineAllowanceExhausted { allowance } => {
                format!("离线时本机最多受理此活动的券 {allowance} 张，已达上限，请恢复网络后再用")
            }
            CouponRejection::ThresholdNotMet {
                min_spend,
                eligible,
                short_by,
            } => format!(
                "未达使用门槛：需满 {}，当前 {}，还差 {short_by}",
                min_spend.normalize(),
                eligible
            ),
            CouponRejection::NothingApplicable => "购物车中没有此券适用的商品".into(),
        }
    }

    pub fn message_en(&self) -> String {
        let t = |d: &DateTime<FixedOffset>| d.format("%Y-%m-%d %H:%M").to_string();
        match self {
            CouponRejection::Malformed { detail } => {
                format!("This is not a valid coupon code ({detail}); scan or type it again")
            }
            CouponRejection::UnknownKey { key_id } => format!(
                "The coupon was signed with a key this till does not know ({key_id}); sync with HQ and try again"
            ),
            CouponRejection::BadSignature => {
                "The coupon's signature does not match: the code was altered or forged".into()
            }
            CouponRejection::UnknownCampaign { campaign_id } => format!(
                "This till does not know the coupon's campaign ({campaign_id}); sync with HQ and try again"
            ),
            CouponRejection::InvalidCampaign {
                campaign_id,
                detail,
            } => format!("The coupon's campaign ({campaign_id}) is misconfigured: {detail}"),
            CouponRejection::NotYetValid { valid_from } => {
                format!(
                    "This coupon is not valid yet: it can be used from {}",
                    t(valid_from)
                )
            }
            CouponRejection::Expired { valid_until } => {
                format!(
                    "This coupon expired (it was valid until {})",
                    t(valid_until)
                )
            }
            CouponRejection::WrongStore { store_code } => {
                format!("This coupon is not valid at this store ({store_code})")
            }
            CouponRejection::StoreLocationUnknown => {
                "This coupon is limited to an area, but this store has no location set".into()
            }
            CouponRejection::TooFar {
                distance_m,
                radius_m,
            } => format!(
                "This coupon is valid within {radius_m} m of the campaign's location; this store is {distance_m} m away"
            ),
            CouponRejection::NeedsMember => {
                "This coupon is for members: identify the member first".into()
            }
            CouponRejection::WrongMember => "This coupon belongs to another member".into(),
            CouponRejection::AlreadyUsed => "This coupon has already been used".into(),
            CouponRejection::MemberLimitReached { used, limit } => format!(
                "The member has used this campaign's coupons {used} times, the limit is {limit}"
            ),
            CouponRejection::OfflineAllowanceExhausted { allowance } => format!(
                "While offline this till accepts at most {allowance} of this campaign's coupons; try again when the network is back"
            ),
            CouponRejection::ThresholdNotMet {
                min_spend,
                eligible,
                short_by,
            } => format!(
                "Spend {short_by} more to use this coupon (it needs {}, the cart has {eligible})",
                min_spend.normalize()
            ),
            CouponRejection::NothingApplicable => {
                "Nothing in the cart qualifies for this coupon".into()
            }
        }
    }
}

impl fmt::Display for CouponRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_en())
    }
}

impl std::error::Error for CouponRejection {}

impl From<CouponError> for CouponRejection {
    fn from(e: CouponError) -> Self {
        match e {
            CouponError::UnknownKey(key_id) => CouponRejection::UnknownKey { key_id },
            CouponError::BadSignature => CouponRejection::BadSignature,
            CouponError::Malformed(d) => CouponRejection::Malformed { detail: d.into() },
            other => CouponRejection::Malformed {
                detail: other.to_string(),
            },
        }
    }
}

/// Check a scanned code at the till, without the network: decode, verify the signature, find the
/// campaign, then (in this order) the validity window, the store, the location, the member, the
/// use counts, the offline allowance, and finally the cart. The first failing check is the
/// answer.
pub fn check(
    code: &str,
    keys: &KeyRing,
    campaigns: &[Campaign],
    ctx: &CheckContext<'_>,
) -> Result<CouponDiscount, CouponRejection> {
    let coupon = verify(&decode(code)?, keys)?;
    check_verified(&coupon, campaigns, ctx)
}

/// [`check`] for a code already verified.
pub fn check_verified(
    coupon: &VerifiedCoupon,
    campaigns: &[Campaign],
    ctx: &CheckContext<'_>,
) -> Result<CouponDiscount, CouponRejection> {
    use CouponRejection as R;
    let campaign_id = coupon.campaign_id();
    let c = campaigns
        .iter()
        .find(|c| c.id == campaign_id)
        .ok_or(R::UnknownCampaign { campaign_id })?;
    c.validate().map_err(|d| R::InvalidCampaign {
        campaign_id,
        detail: d.into(),
    })?;

    let offset = FixedOffset::east_opt(ctx.utc_offset_minutes.saturating_mul(60))
        .unwrap_or_else(|| Utc.fix());
    if let Some(f) = c.valid_from
        && ctx.now < f
    {
        return Err(R::NotYetValid {
            valid_from: f.with_timezone(&offset),
        });
    }
    if let Some(u) = c.valid_until
        && ctx.now >= u
    {
        return Err(R::Expired {
            valid_until: u.with_timezone(&offset),
        });
    }

    if !c.stores.is_empty() && !c.stores.iter().any(|s| s == ctx.store_code) {
        return Err(R::WrongStore {
            store_code: ctx.store_code.into(),
        });
    }
    if let Some(fence) = &c.location {
        let here = ctx.store_location.ok_or(R::StoreLocationUnknown)?;
        let d = distance_m(fence.center(), here);
        let inside = d <= fence.radius_m;
        if !inside {
            return Err(R::TooFar {
                distance_m: d.round() as u64,
                radius_m: fence.radius_m.round() as u64,
            });
        }
    }

    if let Some(bound) = coupon.member_id() {
        match ctx.member_id {
            None => return Err(R::NeedsMember),
            Some(m) if m != bound => return Err(R::WrongMember),
            Some(_) => {}
        }
    }
    if (c.members_only || c.per_member_limit.is_some()) && ctx.member_id.is_none() {
        return Err(R::NeedsMember);
    }

    if c.single_use && ctx.ledger.serial_uses(campaign_id, coupon.serial()) > 0 {
        return Err(R::AlreadyUsed);
    }
    if let (Some(limit), Some(m)) = (c.per_member_limit, ctx.member_id) {
        let used = ctx.ledger.member_uses(campaign_id, m);
        if used >= limit {
            return Err(R::MemberLimitReached { used, limit });
        }
    }
    if !ctx.online
        && let Some(allowance) = c.offline_allowance
        && ctx.ledger.offline_redemptions(campaign_id) >= allowance
    {
        return Err(R::OfflineAllowanceExhausted { allowance });
    }

    let (eligible, shares) = apply(&c.benefit, ctx)?;
    let mu = ctx.minor_units;
    let total: i64 = shares.iter().map(|(_, s)| s).sum();
    if total <= 0 {
        // A coupon that would take nothing off is not used up.
        return Err(R::NothingApplicable);
    }
    let amount = from_minor(total, mu);
    let lines: Vec<LineAmount> = shares
        .into_iter()
        .filter(|(_, s)| *s != 0)
        .map(|(i, s)| LineAmount {
            line_id: ctx.lines[i].line_id,
            amount: from_minor(s, mu),
        })
        .collect();
    let name_en = if c.name_en.is_empty() {
        &c.name
    } else {
        &c.name_en
    };
    Ok(CouponDiscount {
        code: coupon.code().encode(),
        key_id: coupon.key_id(),
        campaign_id,
        serial: coupon.serial(),
        member_id: ctx.member_id.map(str::to_string),
        kind: c.benefit.kind(),
        name: c.name.clone(),
        name_en: c.name_en.clone(),
        eligible: from_minor(eligible, mu),
        amount,
        lines,
        explanation_zh: format!(
            "优惠券「{}」（{}）：{}，优惠 {amount}",
            c.name,
            coupon.code().reference(),
            c.benefit.describe(Language::Zh)
        ),
        explanation_en: format!(
            "Coupon \"{name_en}\" ({}): {}, {amount} off",
            coupon.code().reference(),
            c.benefit.describe(Language::En)
        ),
        offline: !ctx.online,
        refund_restores: c.refund_restores,
    })
}

fn scope_matches(scope: &Scope, line: &CouponLine) -> bool {
    match scope {
        Scope::Order => true,
        Scope::Skus(s) => s.contains(&line.sku),
        Scope::Categories(c) => c.contains(&line.category),
    }
}

/// The eligible amount and the discount per line index (minor units), or why nothing applies.
fn apply(
    benefit: &CouponBenefit,
    ctx: &CheckContext<'_>,
) -> Result<(i64, Vec<(usize, i64)>), CouponRejection> {
    let (mu, mode) = (ctx.minor_units, ctx.rounding);
    let m = |d: Decimal| to_minor(d, mu, mode);
    let amount = |l: &CouponLine| m(l.amount).max(0);
    let threshold = |base: i64| -> Result<(), CouponRejection> {
        match benefit.min_spend() {
            Some(min) if base < m(min) => Err(CouponRejection::ThresholdNotMet {
                min_spend: min,
                eligible: from_minor(base, mu),
                short_by: from_minor(m(min) - base, mu),
            }),
            _ => Ok(()),
        }
    };
    let spread = |total: i64, idx: &[usize]| -> Vec<(usize, i64)> {
        let weights: Vec<i64> = idx.iter().map(|i| amount(&ctx.lines[*i])).collect();
        // total <= Σ weights and nothing is negative, so allocation cannot fail.
        let shares = allocate(total, &weights).unwrap_or_else(|_| vec![0; idx.len()]);
        idx.iter().copied().zip(shares).collect()
    };
    match benefit {
        CouponBenefit::AmountOff {
            amount: a, scope, ..
        }
        | CouponBenefit::PercentOff {
            percent: a, scope, ..
        } => {
            let idx: Vec<usize> = (0..ctx.lines.len())
                .filter(|i| scope_matches(scope, &ctx.lines[*i]) && amount(&ctx.lines[*i]) > 0)
                .collect();
            let base: i64 = idx.iter().map(|i| amount(&ctx.lines[*i])).sum();
            if idx.is_empty() || base == 0 {
                return Err(CouponRejection::NothingApplicable);
            }
            threshold(base)?;
            let off = match benefit {
                CouponBenefit::PercentOff { max_off, .. } => {
                    let p = m(from_minor(base, mu) * *a / Decimal::ONE_HUNDRED);
                    max_off.map_or(p, |c| p.min(m(c)))
                }
                _ => m(*a),
            }
            .clamp(0, base);
            Ok((base, spread(off, &idx)))
        }
        CouponBenefit::FreeItem { sku, qty, .. } => {
            // Whole units of the SKU: each line's amount split over its units (allocation rule,
            // so the first units carry the odd minor units), then the most valuable units win.
            let mut units: Vec<(i64, usize)> = Vec::new();
            let mut eligible = 0i64;
            for (i, l) in ctx.lines.iter().enumerate() {
                let whole = l.qty.fract().is_zero() && l.qty >= Decimal::ONE;
                let n = l.qty.to_i64().unwrap_or(0);
                if l.sku != *sku || !whole || n < 1 || amount(l) == 0 {
                    continue;
                }
                // `allocate(amount, [1; n])` in closed form: every unit gets `amount / n`, the
                // first `amount % n` units one minor unit more.
                let (base, extra) = (amount(l) / n, amount(l) % n);
                let take = n.min(i64::from(*qty));
                units.extend((0..take).map(|k| (base + i64::from(k < extra), i)));
                eligible += amount(l);
            }
            if units.is_empty() {
                return Err(CouponRejection::NothingApplicable);
            }
            let cart: i64 = ctx.lines.iter().map(amount).sum();
            threshold(cart)?;
            units.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let mut per_line: BTreeMap<usize, i64> = BTreeMap::new();
            for (v, i) in units.into_iter().take(*qty as usize) {
                *per_line.entry(i).or_default() += v;
            }
            Ok((eligible, per_line.into_iter().collect()))
        }
    }
}
