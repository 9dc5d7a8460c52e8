//! `tillstone init`: create a terminal's data directory, optionally with the demo store.

use crate::app::DB_FILE;
use crate::pin;
use anyhow::{Context, bail};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::path::Path;
use std::str::FromStr;
use tillstone_core::auth::Role;
use tillstone_core::catalog::TaxClass;
use tillstone_core::coupon::{Campaign, IssuerKey, KeyRing};
use tillstone_core::member::Member;
use tillstone_core::promo::Rule;
use tillstone_core::settings::StoreSettings;
use tillstone_store::Store;
use tillstone_store::catalog::{ImportMode, ImportOptions, ImportReport};
use tillstone_store::meta::UserRow;

const DEMO_MEMBERS_JSON: &str = include_str!("../../fixtures/demo/members.json");
const DEMO_PROMOTIONS_JSON: &str = include_str!("../../fixtures/demo/promotions.json");
const DEMO_CAMPAIGNS_JSON: &str = include_str!("../../fixtures/demo/campaigns.json");

/// The demo store's coupon issuing key (key id 1). DEMO ONLY: a real HQ keeps its secret key
/// in the cloud and sends terminals only the public key.
pub const DEMO_COUPON_SECRET: [u8; 32] = *b"tillstone-demo-coupon-key-000001";
pub const DEMO_COUPON_KEY_ID: u32 = 1;

/// The demo store's secret for dynamic member QR codes (DEMO ONLY: HQ shares a real one).
pub const DEMO_MEMBER_QR_SECRET: &[u8] = b"tillstone-demo-member-qr-secret!";

/// The demo HQ's issuing key.
pub fn demo_issuer() -> IssuerKey {
    IssuerKey::from_secret(DEMO_COUPON_KEY_ID, &DEMO_COUPON_SECRET)
}

#[derive(Debug, Clone)]
pub struct InitOptions {
    pub demo: bool,
    pub store_code: Option<String>,
    pub store_name: Option<String>,
    pub terminal_code: String,
    pub manager_pin: Option<String>,
}

impl InitOptions {
    /// The Hangzhou demo store, terminal T01.
    pub fn demo() -> InitOptions {
        InitOptions {
            demo: true,
            store_code: None,
            store_name: None,
            terminal_code: "T01".into(),
            manager_pin: None,
        }
    }
}

/// Create the demo store in `dir` unless a terminal already lives there; true if created.
pub fn init_demo_if_empty(dir: &Path) -> anyhow::Result<bool> {
    if dir.join(crate::app::DB_FILE).exists() {
        return Ok(false);
    }
    init(dir, &InitOptions::demo())?;
    Ok(true)
}

#[derive(Debug, Deserialize)]
struct DemoUser {
    user_id: String,
    name: String,
    role: Role,
    pin: String,
}

#[derive(Debug)]
pub struct InitSummary {
    pub terminal_id: String,
    pub users: usize,
    pub catalog: Option<ImportReport>,
}

pub fn init(dir: &Path, opts: &InitOptions) -> anyhow::Result<InitSummary> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let db = dir.join(DB_FILE);
    if db.exists() {
        bail!(
            "{} already holds a terminal: use another --data directory (existing sales are never overwritten)",
            dir.display()
        );
    }
    if opts.terminal_code.is_empty()
        || opts.terminal_code.len() > 8
        || !opts
            .terminal_code
            .chars()
            .all(|c| c.is_ascii_alphanumeric())
    {
        bail!("the terminal code must be 1 to 8 letters or digits, like T01");
    }
    let mut store = Store::open(&db)?;
    let terminal_id = uuid::Uuid::now_v7().to_string();
    store.set_meta("terminal_id", &terminal_id)?;
    store.set_meta("terminal_code", &opts.terminal_code)?;

    let mut users = 0;
    let mut catalog = None;
    if opts.demo {
        let settings: StoreSettings = serde_json::from_str(tillstone_fixtures::DEMO_STORE_JSON)
            .context("the embedded demo store settings are not valid")?;
        store.set_settings(&settings)?;
        let demo_users: Vec<DemoUser> = serde_json::from_str(tillstone_fixtures::DEMO_USERS_JSON)
            .context("the embedded demo users are not valid")?;
        for u in demo_users {
            store.upsert_user(&UserRow {
                user_id: u.user_id,
                name: u.name,
                role: u.role,
                pin_hash: pin::hash(&u.pin)?,
                active: true,
            })?;
            users += 1;
        }
        for (i, line) in tillstone_fixtures::DEMO_TAX_CLASSES_CSV
            .lines()
            .enumerate()
            .skip(1)
        {
            let cols: Vec<&str> = line.split(',').collect();
            if cols.len() < 2 {
                continue;
            }
            let rate = Decimal::from_str(cols[1].trim())
                .with_context(|| format!("demo tax class line {}: bad rate", i + 1))?;
            store.upsert_tax_class(&TaxClass {
                code: cols[0].trim().to_string(),
                rate,
                name: cols
                    .get(2)
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default(),
            })?;
        }
        let members: Vec<Member> = serde_json::from_str(DEMO_MEMBERS_JSON)
            .context("the embedded demo members are not valid")?;
        for m in &members {
            store.upsert_member(m)?;
        }
        let promotions: Vec<Rule> = serde_json::from_str(DEMO_PROMOTIONS_JSON)
            .context("the embedded demo promotions are not valid")?;
        store.set_promotions(&promotions)?;
        let campaigns: Vec<Campaign> = serde_json::from_str(DEMO_CAMPAIGNS_JSON)
            .context("the embedded demo coupon campaigns are not valid")?;
        store.set_campaigns(&campaigns)?;
        let mut keys = KeyRing::default();
        keys.insert(DEMO_COUPON_KEY_ID, &demo_issuer().public_key())
            .context("the demo coupon key is not valid")?;
        store.set_coupon_keys(&keys)?;
        // A new-member pack in the first demo member's wallet: two ¥5-off-50 coupons (one
        // bound to the member) and the dairy coupon, as HQ would send them with the member.
        let wallet: Vec<String> = [
            (1001, 900_001, true),
            (1001, 900_002, false),
            (1002, 900_003, true),
        ]
        .into_iter()
        .map(|(campaign, serial, bound)| {
            tillstone_core::coupon::sign(
                campaign,
                serial,
                bound.then_some("M000001"),
                &demo_issuer(),
            )
            .map(|c| c.encode())
        })
        .collect::<Result<_, _>>()
        .context("cannot sign the demo wallet")?;
        store.set_member_coupon_codes("M000001", &wallet)?;
        store.set_meta("member_qr_secret", &hex::encode(DEMO_MEMBER_QR_SECRET))?;
        let products = dir.join("demo-products.csv");
        std::fs::write(&products, tillstone_fixtures::DEMO_PRODUCTS_CSV)?;
        let report = store.import_catalog(
            &products,
            &ImportOptions {
                mode: ImportMode::AllOrNothing,
                format: None,
            },
            &mut |_| {},
        )?;
        std::fs::remove_file(&products).ok();
        catalog = Some(report);
    } else {
        let code = opts
            .store_code
            .clone()
            .context("give --store-code (or --demo for the demo store)")?;
        let name = opts.store_name.clone().unwrap_or_else(|| code.clone());
        store.set_settings(&StoreSettings::new(&code, &name))?;
        let pin_s = opts
            .manager_pin
            .as_deref()
            .context("give --manager-pin for the first manager (user id 9001)")?;
        store.upsert_user(&UserRow {
            user_id: "9001".into(),
            name: "Manager".into(),
            role: Role::Manager,
            pin_hash: pin::hash(pin_s)?,
            active: true,
        })?;
        users = 1;
    }
    if store.meta("member_qr_secret")?.is_none() {
        let secret = [
            uuid::Uuid::new_v4().into_bytes(),
            uuid::Uuid::new_v4().into_bytes(),
        ]
        .concat();
        store.set_meta("member_qr_secret", &hex::encode(&secret))?;
    }
    Ok(InitSummary {
        terminal_id,
        users,
        catalog,
    })
}
