//! Terminal use cases: every operation the CLI, the HTTP API and (later) the desktop shell
//! perform. Each takes the signed-in session, validates, calls the pure core and commits
//! through the store. Expected outcomes (unknown barcode, over-tender, approval needed) come
//! back as values or as [`AppError`]s with a stable code, never as panics.

use crate::devices::{Devices, PrinterView};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::pin;
use crate::receipt_doc::receipt_doc;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant, SystemTime};
use tillstone_core::auth::{Action, Actor, authorize};
use tillstone_core::cart::CouponProblem;
use tillstone_core::cart::{Cart, PricedCart};
use tillstone_core::catalog::{Product, Unit};
use tillstone_core::coupon::{
    self, Campaign, CheckContext, CouponLine, GeoPoint, KeyRing, WithPending,
};
use tillstone_core::member::{Member, MemberView, mask_phone};
use tillstone_core::money::within_limit;
use tillstone_core::points::{clawback, earn, effective_tier, next_tier};
use tillstone_core::pricing::Discount;
use tillstone_core::promo::{PromoContext, PromoLine, PromoMember, Rule, evaluate};
use tillstone_core::report::{ReportHeader, ReportKind, ShiftReport, build_report};
use tillstone_core::returns::{ReturnLine, build_return, build_unreceipted_return, returnable};
use tillstone_core::sale::{
    DocContext, Sale, SaleKind, complete_sale, receipt_barcode, receipt_no_from_input,
};
use tillstone_core::settings::StoreSettings;
use tillstone_core::tender::{Tender, TenderKind, quick_cash};
use tillstone_devices::receipt::Paper;
use tillstone_devices::scale::ScaleReading;
use tillstone_devices::scan::{ScanResult, parse_str};
use tillstone_devices::scanner::ScannerEvent;
use tillstone_store::Store;
use tillstone_store::journal::VerifyReport;
use tillstone_store::members::{MemberSignUp, QrLookup, SignUpOutcome};
use tillstone_store::meta::{CartStatus, StoredCart, UserRow};
use tillstone_store::sales::VoidRecord;
use tillstone_store::shifts::{CashMovement, MovementKind, NewShift, ShiftRow};
use uuid::Uuid;

pub const DB_FILE: &str = "tillstone.db";

/// The forms a GTIN may be stored under: as scanned, and without the leading zeros that
/// GTIN-14 / UPC-A add to an EAN-13 / EAN-8.
fn gtin_candidates(gtin: &str) -> Vec<String> {
    let mut out = vec![gtin.to_string()];
    let mut g = gtin;
    while g.len() > 8 && g.starts_with('0') {
        g = &g[1..];
        if matches!(g.len(), 8 | 12 | 13) {
            out.push(g.to_string());
        }
    }
    if gtin.len() == 12 {
        out.push(format!("0{gtin}"));
    }
    out
}
const MAX_PIN_FAILURES: u32 = 5;
const LOCKOUT: Duration = Duration::from_secs(300);

/// A signed-in user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    pub token: String,
    pub user: Actor,
}

/// A session and when it was last used (wall clock: a till suspended overnight counts the
/// night, which a monotonic clock would not).
struct LiveSession {
    session: Session,
    last_used: SystemTime,
}

/// Time since `t`; zero if the clock was set back.
fn since(t: SystemTime) -> Duration {
    t.elapsed().unwrap_or_default()
}

/// Credentials of a manager approving an override.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Approval {
    pub user_id: String,
    pub pin: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CartView {
    pub cart_id: String,
    pub status: CartStatus,
    pub label: String,
    pub tenders: Vec<Tender>,
    pub order_discount: Option<Discount>,
    pub member_id: Option<String>,
    pub override_count: usize,
    pub coupons: Vec<tillstone_core::coupon::CouponDiscount>,
    pub coupon_problems: Vec<CouponProblem>,
    #[serde(flatten)]
    pub priced: PricedCart,
    /// Quick-cash amounts for the cash still due.
    pub quick_cash: Vec<Decimal>,
}

/// What a scan did. Unknown or malformed codes are outcomes the cashier sees, not errors.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ScanOutcome {
    Added {
        line_id: u32,
        product: Product,
        cart: Box<CartView>,
    },
    /// A weighed item: ask the scale or the cashier for the weight, then add with `qty`.
    NeedsWeight {
        product: Product,
    },
    NotFound {
        code: String,
        message: String,
    },
    Invalid {
        code: String,
        message: String,
    },
    /// A receipt barcode: offer a return.
    Receipt {
        receipt_no: String,
    },
    /// A member's dynamic QR code: the member is attached to the cart.
    MemberAttached {
        member: MemberView,
        cart: Box<CartView>,
    },
    /// A coupon code: the coupon applies to the cart.
    CouponAdded {
        cart: Box<CartView>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReceiptHeader {
    pub store_name: String,
    pub store_name_en: String,
    pub address: String,
    pub tax_id: String,
}

/// A completed document with what a receipt shows around it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Receipt {
    pub header: ReceiptHeader,
    pub cashier_name: String,
    /// Payload of the receipt-number barcode (Code 128), scanned for returns.
    pub barcode: String,
    /// The sale's member with the points balance after it (phone masked).
    #[serde(default)]
    pub member: Option<MemberView>,
    pub sale: Sale,
}

/// A clear not-found for a member id this till does not know.
fn known_member(store: &Store, member_id: &str) -> AppResult<()> {
    match store.find_member(member_id)? {
        Some(_) => Ok(()),
        None => Err(AppError::not_found(
            "member_not_found",
            format!("no member {member_id}"),
        )),
    }
}

/// One coupon of a member's wallet and what it would do now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WalletCoupon {
    pub code: String,
    pub campaign_id: Option<u32>,
    pub serial: Option<u64>,
    pub name: String,
    pub name_en: String,
    pub valid_until: Option<DateTime<Utc>>,
    /// `applies`, `in_cart`, `usable`, or the reason code it cannot be used (`expired`,
    /// `already_used`, `wrong_store`, `bad_signature` …).
    pub status: String,
    /// What it takes off the cart (`applies`).
    pub amount: Option<Decimal>,
    pub message_zh: String,
    pub message_en: String,
}

/// A sale as found for a return.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SaleLookup {
    pub sale: Sale,
    pub returnable: BTreeMap<u32, Decimal>,
    pub returns: Vec<String>,
    pub voided: Option<VoidRecord>,
}

/// A count of notes or coins of one value, when closing a shift.
pub use tillstone_core::report::DenominationCount as Denomination;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReturnItem {
    pub sku: String,
    pub qty: Decimal,
}

pub struct Terminal {
    store: Mutex<Store>,
    settings: StoreSettings,
    terminal_id: String,
    terminal_code: String,
    sessions: Mutex<HashMap<String, LiveSession>>,
    /// Sessions unused this long end (milliseconds; 0: never). From the store settings.
    session_idle_ms: AtomicU64,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    /// Serialises argon2 verifications (each takes ~19 MiB and tens of milliseconds).
    pin_gate: Mutex<()>,
    /// Replaced whole when devices.toml changes ([`Terminal::reload_devices`]).
    devices: RwLock<Arc<Devices>>,
    /// Whether the device workers run (`start_devices`): a reload starts the new ones.
    devices_started: AtomicBool,
    /// One reload at a time (two would leave two print workers on one queue).
    devices_reload: Mutex<()>,
    /// Promotion rules in force, loaded at start and on import.
    promotions: Mutex<Vec<Rule>>,
    /// HQ's coupon keys and campaigns, loaded at start and on import.
    coupons: Mutex<(KeyRing, Vec<Campaign>)>,
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn new_id() -> String {
    Uuid::now_v7().to_string()
}

impl Terminal {
    /// Open the terminal whose data lives in `dir` (created by `init`).
    pub fn open(dir: &Path) -> anyhow::Result<Terminal> {
        let db = dir.join(DB_FILE);
        if !db.exists() {
            anyhow::bail!(
                "no terminal data in {}: run `tillstone init --data {} --demo` first",
                dir.display(),
                dir.display()
            );
        }
        let store = Store::open(&db)?;
        let settings = store.settings()?.ok_or_else(|| {
            anyhow::anyhow!(
                "{} has no store settings: run `tillstone init` again",
                db.display()
            )
        })?;
        let terminal_id = store.meta("terminal_id")?.ok_or_else(|| {
            anyhow::anyhow!(
                "{} has no terminal id: run `tillstone init` again",
                db.display()
            )
        })?;
        let terminal_code = store.meta("terminal_code")?.unwrap_or_else(|| "T01".into());
        let promotions = store.promotions()?;
        let coupons = (store.coupon_keys()?, store.campaigns()?);
        Ok(Terminal {
            store: Mutex::new(store),
            session_idle_ms: AtomicU64::new(u64::from(settings.session_idle_minutes) * 60_000),
            settings,
            terminal_id,
            terminal_code,
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            pin_gate: Mutex::new(()),
            devices: RwLock::new(Arc::new(Devices::load(dir))),
            devices_started: AtomicBool::new(false),
            devices_reload: Mutex::new(()),
            promotions: Mutex::new(promotions),
            coupons: Mutex::new(coupons),
        })
    }

    /// Reload what HQ sends down and the till keeps in memory (promotion rules, coupon keys and
    /// campaigns) after a pull applied new rows. Carts pick them up at their next change.
    pub fn reload_hq_config(&self) -> AppResult<()> {
        let (promotions, keys, campaigns) = {
            let store = self.store();
            (
                store.promotions()?,
                store.coupon_keys()?,
                store.campaigns()?,
            )
        };
        *self.promotions.lock().unwrap_or_else(|p| p.into_inner()) = promotions;
        *self.coupons.lock().unwrap_or_else(|p| p.into_inner()) = (keys, campaigns);
        Ok(())
    }

    pub fn settings(&self) -> &StoreSettings {
        &self.settings
    }

    pub fn terminal_id(&self) -> &str {
        &self.terminal_id
    }

    pub fn terminal_code(&self) -> &str {
        &self.terminal_code
    }

    /// The devices (print queue, display, scale): for the manage use cases (`manage.rs`).
    pub(crate) fn devices(&self) -> Arc<Devices> {
        Arc::clone(&self.devices.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Use devices.toml as it is now on disk: the running devices are closed (the print worker
    /// after its current job; pending receipts stay queued) and the new ones started. Returns
    /// whether a print worker runs afterwards.
    pub fn reload_devices(&self) -> bool {
        let _one_at_a_time = self
            .devices_reload
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let new = Arc::new(Devices::load(&self.data_dir()));
        // The old worker ends (after its current job) before the new one starts: never two
        // workers on one queue. Receipts queued meanwhile wait in the queue; the wake below
        // makes the new worker look at once.
        self.devices().close();
        let running = self.devices_started.load(Ordering::SeqCst) && new.start_worker();
        *self.devices.write().unwrap_or_else(|p| p.into_inner()) = Arc::clone(&new);
        new.wake();
        tracing::info!(printing = running, "devices reloaded from devices.toml");
        running
    }

    /// The store, locked. A poisoned lock (a panic elsewhere) still guards a consistent SQLite
    /// connection: every write is one transaction, so we carry on.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    // ----- sign-in -------------------------------------------------------------------------

    pub fn users(&self) -> AppResult<Vec<UserRow>> {
        Ok(self
            .store()
            .users()?
            .into_iter()
            .filter(|u| u.active)
            .collect())
    }

    /// Verify a PIN. The attempt is counted *before* the (slow) hash check, under one lock,
    /// so parallel guesses cannot all slip under the limit; one verification runs at a time.
    fn check_pin(&self, user_id: &str, pin: &str) -> AppResult<Actor> {
        {
            let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
            let entry = failures
                .entry(user_id.to_string())
                .or_insert((0, Instant::now()));
            if entry.0 >= MAX_PIN_FAILURES {
                if entry.1.elapsed() < LOCKOUT {
                    return Err(AppError::forbidden(
                        "locked_out",
                        format!(
                            "too many wrong PINs for {user_id}: try again in {} minutes or ask a manager",
                            (LOCKOUT - entry.1.elapsed()).as_secs() / 60 + 1
                        ),
                    ));
                }
                entry.0 = 0;
            }
            entry.0 += 1;
            entry.1 = Instant::now();
        }
        let user = self.store().user(user_id)?;
        let ok = {
            let _one_at_a_time = self.pin_gate.lock().unwrap_or_else(|p| p.into_inner());
            user.as_ref()
                .is_some_and(|u| u.active && pin::verify(pin, &u.pin_hash))
        };
        match (ok, user) {
            (true, Some(u)) => {
                self.failures
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(user_id);
                Ok(Actor {
                    user_id: u.user_id,
                    name: u.name,
                    role: u.role,
                })
            }
            _ => Err(AppError::unauthorized(
                "wrong_pin",
                "user or PIN is wrong: check the user and enter the PIN again",
            )),
        }
    }

    pub fn login(&self, user_id: &str, pin: &str) -> AppResult<Session> {
        let user = self.check_pin(user_id, pin)?;
        let session = Session {
            token: Uuid::new_v4().simple().to_string(),
            user,
        };
        let idle = self.session_idle();
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        // Sessions nobody came back to end here too, so the table does not grow.
        if let Some(idle) = idle {
            sessions.retain(|_, s| since(s.last_used) < idle);
        }
        sessions.insert(
            session.token.clone(),
            LiveSession {
                session: session.clone(),
                last_used: SystemTime::now(),
            },
        );
        drop(sessions);
        tracing::info!(user = %session.user.user_id, role = session.user.role.as_str(), "login");
        Ok(session)
    }

    pub fn logout(&self, token: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(token);
    }

    /// How long an unused session lives (`None`: until sign-out).
    pub fn session_idle(&self) -> Option<Duration> {
        match self.session_idle_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    /// Change how long an unused session lives (`None`: until sign-out); applies to the
    /// sessions already open. The store setting `session_idle_minutes` gives it at start.
    pub fn set_session_idle(&self, idle: Option<Duration>) {
        let ms = idle.map_or(0, |d| {
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
        });
        self.session_idle_ms.store(ms, Ordering::Relaxed);
    }

    /// The session of a bearer token. The user is read again each time: a user HQ (or a
    /// manager) deactivated is signed out at once, and a changed role applies at once. A
    /// session unused for longer than [`Terminal::session_idle`] has ended.
    pub fn session(&self, token: &str) -> AppResult<Session> {
        let idle = self.session_idle();
        let mut s = {
            let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
            let live = sessions.get_mut(token).ok_or_else(|| {
                AppError::unauthorized("not_signed_in", "sign in with your user and PIN")
            })?;
            if let Some(idle) = idle
                && since(live.last_used) >= idle
            {
                let user = live.session.user.user_id.clone();
                sessions.remove(token);
                tracing::info!(user = %user, "session ended after being unused");
                return Err(AppError::unauthorized(
                    "session_expired",
                    format!(
                        "signed out after {} minutes without use: sign in again with your PIN \
                         (open sales are kept)",
                        idle.as_secs().div_ceil(60)
                    ),
                ));
            }
            live.last_used = SystemTime::now();
            live.session.clone()
        };
        match self.store().user(&s.user.user_id)? {
            Some(u) if u.active => {
                s.user.role = u.role;
                s.user.name = u.name;
                Ok(s)
            }
            _ => {
                self.sessions
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(token);
                Err(AppError::unauthorized(
                    "user_inactive",
                    "this user is no longer active on this till: sign in as another user",
                ))
            }
        }
    }

    fn approver(&self, approval: Option<&Approval>) -> AppResult<Option<Actor>> {
        approval
            .map(|a| self.check_pin(&a.user_id, &a.pin))
            .transpose()
    }

    pub(crate) fn require_action(&self, s: &Session, action: Action) -> AppResult<()> {
        self.require(s, action)
    }

    fn require(&self, s: &Session, action: Action) -> AppResult<()> {
        authorize(&s.user, None, action, "")?;
        Ok(())
    }

    // ----- shifts --------------------------------------------------------------------------

    pub fn current_shift(&self) -> AppResult<Option<ShiftRow>> {
        Ok(self
            .store()
            .current_shift(&self.terminal_id, &self.settings)?)
    }

    fn open_shift_required(&self, store: &Store) -> AppResult<ShiftRow> {
        store
            .current_shift(&self.terminal_id, &self.settings)?
            .ok_or_else(|| {
                AppError::conflict(
                    "no_open_shift",
                    "no shift is open: open a shift with the cash float first",
                )
            })
    }

    pub fn open_shift(&self, s: &Session, float: Decimal) -> AppResult<ShiftRow> {
        self.require(s, Action::OpenShift)?;
        check_money(float, &self.settings, true)?;
        let mut store = self.store();
        if let Some(open) = store.current_shift(&self.terminal_id, &self.settings)? {
            return Err(AppError::conflict(
                "shift_already_open",
                format!(
                    "shift {} is already open (since {})",
                    open.shift_no, open.opened_at
                ),
            ));
        }
        Ok(store.open_shift(
            &NewShift {
                shift_id: &new_id(),
                terminal_id: &self.terminal_id,
                user_id: &s.user.user_id,
                float,
                at: now(),
            },
            &new_id(),
            &self.settings,
        )?)
    }

    /// Record a paid-in, paid-out or no-sale. A retry with the same `request_id` returns the
    /// movement already recorded instead of booking the cash twice.
    pub fn cash_movement(
        &self,
        s: &Session,
        kind: MovementKind,
        amount: Decimal,
        reason: &str,
        approval: Option<&Approval>,
        request_id: Option<&str>,
    ) -> AppResult<CashMovement> {
        if reason.trim().is_empty() {
            return Err(AppError::bad_request(
                "reason_required",
                match kind {
                    MovementKind::NoSale => "say why the drawer is opened",
                    _ => "say what the cash is for",
                },
            ));
        }
        let request_id = check_request_id(request_id)?;
        if let Some(id) = request_id {
            let done = self.store().movement(id, &self.settings)?;
            if let Some(done) = done {
                return Ok(done);
            }
        }
        let approved_by = match kind {
            MovementKind::NoSale => {
                let approver = self.approver(approval)?;
                authorize(&s.user, approver.as_ref(), Action::NoSale, reason)?
                    .map(|o| o.approved_by)
            }
            _ => {
                self.require(s, Action::PaidInOut)?;
                check_money(amount, &self.settings, false)?;
                None
            }
        };
        let mut store = self.store();
        let shift = self.open_shift_required(&store)?;
        let mv = CashMovement {
            movement_id: request_id.map_or_else(new_id, str::to_string),
            shift_id: shift.shift_id,
            kind,
            amount: if kind == MovementKind::NoSale {
                Decimal::ZERO
            } else {
                amount
            },
            reason: reason.trim().to_string(),
            user_id: s.user.user_id.clone(),
            approved_by,
            at: now(),
        };
        store.record_movement(&mv, &self.terminal_id, &new_id(), &self.settings)?;
        // Every drawer movement opens the drawer: no-sale, paid-in, paid-out.
        self.devices().kick_drawer();
        Ok(mv)
    }

    fn report_header(&self, shift: &ShiftRow) -> ReportHeader {
        ReportHeader {
            store_code: self.settings.store_code.clone(),
            terminal_id: self.terminal_id.clone(),
            shift_id: shift.shift_id.clone(),
            shift_no: shift.shift_no,
            opened_by: shift.opened_by.clone(),
            opened_at: shift.opened_at,
            at: now(),
            currency: self.settings.currency.code.clone(),
        }
    }

    pub fn x_report(&self, s: &Session) -> AppResult<ShiftReport> {
        self.require(s, Action::XReport)?;
        let store = self.store();
        let shift = self.open_shift_required(&store)?;
        let agg = store.aggregates(&shift.shift_id, &self.settings)?;
        let cash = store.shift_cash(&shift, &self.settings)?;
        Ok(build_report(
            ReportKind::X,
            None,
            self.report_header(&shift),
            agg,
            &cash,
            None,
            &self.settings,
        ))
    }

    /// Close the shift with the counted cash (or the count by denomination): the Z report.
    pub fn close_shift(
        &self,
        s: &Session,
        counted: Option<Decimal>,
        denominations: &[Denomination],
    ) -> AppResult<ShiftReport> {
        self.require(s, Action::CloseShift)?;
        for d in denominations {
            if d.value <= Decimal::ZERO || d.count > 100_000 {
                return Err(AppError::bad_request(
                    "invalid_denomination",
                    format!(
                        "{} × {} is not a valid count: a note or coin value is more than zero and a count at most 100000",
                        d.count, d.value
                    ),
                ));
            }
            check_money(d.value, &self.settings, false)?;
        }
        let counted = match counted {
            Some(c) => c,
            None if !denominations.is_empty() => denominations
                .iter()
                .map(|d| d.value * Decimal::from(d.count))
                .sum(),
            None => {
                return Err(AppError::bad_request(
                    "count_required",
                    "count the drawer: give the counted cash or the count per denomination",
                ));
            }
        };
        check_money(counted, &self.settings, true)?;
        let mut store = self.store();
        let shift = self.open_shift_required(&store)?;
        let paying = store
            .carts(CartStatus::Open)?
            .into_iter()
            .filter(|c| !c.cart.tenders.is_empty())
            .count();
        if paying > 0 {
            return Err(AppError::conflict(
                "carts_in_payment",
                format!(
                    "{paying} cart(s) are part-paid: complete or void them before closing the shift"
                ),
            ));
        }
        let report = store.close_shift(
            &shift.shift_id,
            &s.user.user_id,
            &new_id(),
            &self.settings,
            |shift, agg, cash, z_no| {
                let mut r = build_report(
                    ReportKind::Z,
                    Some(z_no),
                    self.report_header(shift),
                    agg,
                    &cash,
                    Some(counted),
                    &self.settings,
                );
                r.cash.denominations = denominations.to_vec();
                r
            },
        )?;
        tracing::info!(z_no = report.z_no, "shift closed");
        Ok(report)
    }

    pub fn z_reports(&self, s: &Session, limit: usize) -> AppResult<Vec<ShiftReport>> {
        self.require(s, Action::XReport)?;
        Ok(self.store().z_reports(limit)?)
    }

    pub fn z_report(&self, s: &Session, z_no: u64) -> AppResult<ShiftReport> {
        self.require(s, Action::XReport)?;
        self.store().z_report(z_no)?.ok_or_else(|| {
            AppError::not_found("z_not_found", format!("there is no Z report number {z_no}"))
        })
    }

    // ----- carts ---------------------------------------------------------------------------

    fn view(&self, stored: &StoredCart) -> CartView {
        let priced = stored.cart.price(&self.settings);
        let due = priced.payment.cash_due;
        CartView {
            cart_id: stored.cart.cart_id.clone(),
            status: stored.status,
            label: stored.label.clone(),
            tenders: stored.cart.tenders.clone(),
            order_discount: stored.cart.order_discount.clone(),
            member_id: stored.cart.member_id.clone(),
            override_count: stored.cart.overrides.len(),
            coupons: stored.cart.coupons.clone(),
            coupon_problems: stored.cart.coupon_problems.clone(),
            quick_cash: quick_cash(due, self.settings.minor_units()),
            priced,
        }
    }

    fn load_cart(&self, store: &Store, cart_id: &str) -> AppResult<StoredCart> {
        store.cart(cart_id)?.ok_or_else(|| {
            AppError::not_found(
                "cart_not_found",
                format!("cart {cart_id} does not exist (completed or voided?)"),
            )
        })
    }

    /// Load an open cart, apply `f`, persist it, return its view.
    fn with_cart<T>(
        &self,
        s: &Session,
        cart_id: &str,
        f: impl FnOnce(&mut Cart, &Store) -> AppResult<T>,
    ) -> AppResult<(T, CartView)> {
        self.require(s, Action::Sell)?;
        let store = self.store();
        // Selling (and taking money) happens inside an open shift only.
        self.open_shift_required(&store)?;
        let mut stored = self.load_cart(&store, cart_id)?;
        if stored.status == CartStatus::Parked {
            return Err(AppError::conflict(
                "cart_parked",
                "this cart is parked: resume it first",
            ));
        }
        let out = f(&mut stored.cart, &store)?;
        self.reprice(&mut stored.cart, &store)?;
        store.save_cart(
            &stored.cart,
            CartStatus::Open,
            &s.user.user_id,
            &stored.label,
            now(),
        )?;
        Ok((out, self.view(&stored)))
    }

    /// Evaluate the promotions for the cart as it is now (before payment starts; once money
    /// is taken the prices stay as the customer agreed to them).
    fn reprice(&self, cart: &mut Cart, store: &Store) -> AppResult<()> {
        if !cart.tenders.is_empty() {
            return Ok(());
        }
        let rules = self
            .promotions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        cart.promotions = None;
        if !rules.is_empty() && !cart.is_empty() {
            self.apply_promotion_rules(cart, store, &rules)?;
        }
        self.check_coupons(cart, store);
        Ok(())
    }

    fn apply_promotion_rules(
        &self,
        cart: &mut Cart,
        store: &Store,
        rules: &[Rule],
    ) -> AppResult<()> {
        let member = match cart.member_id.as_deref().map(|id| store.find_member(id)) {
            Some(found) => match found? {
                Some(m) => {
                    let (m, _) = self.member_now(store, m)?;
                    Some(PromoMember {
                        member_id: m.member_id,
                        tier: m.tier,
                    })
                }
                None => None,
            },
            None => None,
        };
        let local = now().naive_utc()
            + chrono::Duration::minutes(i64::from(self.settings.utc_offset_minutes));
        let ctx = PromoContext::new(&self.settings, local, member);
        let result = evaluate(&PromoLine::from_cart(cart, &self.settings), &ctx, rules);
        if !result.applications.is_empty() {
            cart.apply_promotions(result);
        }
        Ok(())
    }

    /// Check every entered coupon against the cart as it is now (after promotions), one after
    /// the other so each sees what the previous ones left. Offline: this terminal's ledger and
    /// the campaign's offline allowance decide (there is no HQ to ask yet).
    fn store_location(&self) -> Option<GeoPoint> {
        match (self.settings.latitude, self.settings.longitude) {
            (Some(lat), Some(lon)) => lat
                .to_f64()
                .zip(lon.to_f64())
                .map(|(lat, lon)| GeoPoint { lat, lon }),
            _ => None,
        }
    }

    /// What the coupon check needs from this till, now.
    fn coupon_context<'a>(
        &'a self,
        store_location: Option<GeoPoint>,
        member_id: Option<&'a str>,
        lines: &'a [CouponLine],
        ledger: &'a dyn coupon::RedemptionLedger,
        online: bool,
    ) -> CheckContext<'a> {
        CheckContext {
            now: now(),
            utc_offset_minutes: self.settings.utc_offset_minutes,
            store_code: &self.settings.store_code,
            store_location,
            member_id,
            lines,
            ledger,
            online,
            minor_units: self.settings.minor_units(),
            rounding: self.settings.rounding,
        }
    }

    /// The cart's lines as the coupon check sees them (after manual discounts and promotions).
    fn coupon_lines(&self, cart: &Cart) -> Vec<CouponLine> {
        cart.price(&self.settings)
            .lines
            .iter()
            .filter(|l| !l.line.voided)
            .map(|l| CouponLine {
                line_id: l.line.line_id,
                sku: l.line.sku.clone(),
                category: l.line.category.clone(),
                qty: l.line.qty,
                amount: l.amounts.gross - l.amounts.line_discount,
            })
            .collect()
    }

    fn check_coupons(&self, cart: &mut Cart, store: &Store) {
        cart.coupons.clear();
        cart.coupon_problems.clear();
        if cart.coupon_codes.is_empty() {
            return;
        }
        let (keys, campaigns) = self
            .coupons
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let location = self.store_location();
        for code in cart.coupon_codes.clone() {
            let accepted = cart.coupons.clone();
            let lines = self.coupon_lines(cart);
            let ledger = WithPending {
                ledger: store,
                pending: &accepted,
            };
            let ctx = self.coupon_context(
                location,
                cart.member_id.as_deref(),
                &lines,
                &ledger,
                cart.coupons_online.contains(&code),
            );
            match coupon::check(&code, &keys, &campaigns, &ctx) {
                Ok(d) => cart.coupons.push(d),
                Err(r) => cart.coupon_problems.push(CouponProblem {
                    code,
                    reason: r.code().to_string(),
                    message_zh: r.message_zh(),
                    message_en: r.message_en(),
                }),
            }
        }
    }

    /// A member's point events known on this till (earned, redeemed, given back), newest first.
    pub fn point_history(
        &self,
        s: &Session,
        member_id: &str,
        limit: usize,
    ) -> AppResult<Vec<tillstone_core::points::PointEvent>> {
        self.require(s, Action::Sell)?;
        let store = self.store();
        known_member(&store, member_id)?;
        Ok(store.point_events(member_id, limit.clamp(1, 500))?)
    }

    /// The member's coupon wallet (codes HQ issued to them), each with what it would do now:
    /// `applies` (with the amount, on the given cart), `in_cart`, `usable` (valid here; the
    /// cart does not meet its conditions yet) or the reason it cannot be used (expired, used,
    /// wrong store …). Without a cart, only the conditions that do not depend on one count.
    pub fn member_wallet(
        &self,
        s: &Session,
        member_id: &str,
        cart_id: Option<&str>,
    ) -> AppResult<Vec<WalletCoupon>> {
        self.require(s, Action::Sell)?;
        let store = self.store();
        known_member(&store, member_id)?;
        let cart = match cart_id {
            Some(id) => Some(self.load_cart(&store, id)?.cart),
            None => None,
        };
        let (keys, campaigns) = self
            .coupons
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let lines = cart
            .as_ref()
            .map(|c| self.coupon_lines(c))
            .unwrap_or_default();
        let accepted = cart.as_ref().map(|c| c.coupons.clone()).unwrap_or_default();
        let ledger = WithPending {
            ledger: &*store,
            pending: &accepted,
        };
        let ctx = self.coupon_context(
            self.store_location(),
            Some(member_id),
            &lines,
            &ledger,
            false,
        );
        let mut out = Vec::new();
        for code in store.member_coupon_codes(member_id)? {
            let decoded = coupon::decode(&code).ok();
            let campaign = decoded
                .as_ref()
                .and_then(|c| campaigns.iter().find(|x| x.id == c.campaign_id));
            let mut w = WalletCoupon {
                code: decoded.as_ref().map_or(code.clone(), |c| c.encode()),
                campaign_id: decoded.as_ref().map(|c| c.campaign_id),
                serial: decoded.as_ref().map(|c| c.serial),
                name: campaign.map(|c| c.name.clone()).unwrap_or_default(),
                name_en: campaign.map(|c| c.name_en.clone()).unwrap_or_default(),
                valid_until: campaign.and_then(|c| c.valid_until),
                status: String::new(),
                amount: None,
                message_zh: String::new(),
                message_en: String::new(),
            };
            let in_cart = cart
                .as_ref()
                .is_some_and(|c| c.coupon_codes.contains(&w.code));
            if in_cart {
                w.status = "in_cart".into();
                out.push(w);
                continue;
            }
            match coupon::check(&code, &keys, &campaigns, &ctx) {
                Ok(d) => {
                    w.status = "applies".into();
                    w.amount = Some(d.amount);
                }
                Err(
                    r @ (coupon::CouponRejection::ThresholdNotMet { .. }
                    | coupon::CouponRejection::NothingApplicable),
                ) => {
                    w.status = "usable".into();
                    if cart.is_some() {
                        w.message_zh = r.message_zh();
                        w.message_en = r.message_en();
                    }
                }
                Err(r) => {
                    w.status = r.code().to_string();
                    w.message_zh = r.message_zh();
                    w.message_en = r.message_en();
                }
            }
            out.push(w);
        }
        Ok(out)
    }

    /// Enter or scan a coupon code. A coupon that does not apply is refused with its reason
    /// (forged, expired, wrong store, already used, threshold not met …) and not kept.
    pub fn add_coupon(&self, s: &Session, cart_id: &str, code: &str) -> AppResult<CartView> {
        let decoded = coupon::decode(code).map_err(|e| {
            AppError::bad_request(
                "coupon_malformed",
                format!("this is not a coupon code: {e}"),
            )
        })?;
        let canonical = decoded.encode();
        // Online first, with a short timeout; the offline path when HQ does not answer.
        let online = match self.ask_hq_about_coupon(decoded.campaign_id, decoded.serial) {
            crate::coupon_online::HqCouponCheck::Answered(uses) => {
                let single_use = self
                    .coupons
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .1
                    .iter()
                    .find(|c| c.id == decoded.campaign_id)
                    .is_none_or(|c| c.single_use);
                let store = self.store();
                let mut standing = Vec::new();
                for u in uses {
                    if !store.coupon_restored_here(
                        &u.sale_id,
                        decoded.campaign_id,
                        decoded.serial,
                    )? {
                        standing.push(u);
                    }
                }
                drop(store);
                if single_use && let Some(u) = standing.first() {
                    return Err(AppError::conflict(
                        "coupon_already_used",
                        format!(
                            "HQ says this coupon was already used (store {}, till {}) / 总部记录此券已使用（门店 {}）",
                            u.store_id, u.terminal_id, u.store_id
                        ),
                    ));
                }
                true
            }
            crate::coupon_online::HqCouponCheck::NotEnrolled
            | crate::coupon_online::HqCouponCheck::Unreachable(_) => false,
        };
        let (_, view) = self.with_cart(s, cart_id, |cart, _| {
            cart.add_coupon_code(canonical.clone())?;
            if online && !cart.coupons_online.contains(&canonical) {
                cart.coupons_online.push(canonical.clone());
            }
            Ok(())
        })?;
        if let Some(p) = view.coupon_problems.iter().find(|p| p.code == canonical) {
            let problem = p.clone();
            self.with_cart(s, cart_id, |cart, _| {
                Ok(cart.remove_coupon_code(&canonical)?)
            })?;
            return Err(AppError::conflict(
                &format!("coupon_{}", problem.reason),
                format!("{} / {}", problem.message_en, problem.message_zh),
            ));
        }
        Ok(view)
    }

    pub fn remove_coupon(&self, s: &Session, cart_id: &str, code: &str) -> AppResult<CartView> {
        let canonical = coupon::decode(code)
            .map(|c| c.encode())
            .unwrap_or_else(|_| code.to_string());
        Ok(self
            .with_cart(s, cart_id, |cart, _| {
                Ok(cart.remove_coupon_code(&canonical)?)
            })?
            .1)
    }

    /// Replace HQ's coupon keys and campaigns (manager; HQ's job once sync exists).
    pub fn set_coupon_config(
        &self,
        s: &Session,
        keys: KeyRing,
        campaigns: Vec<Campaign>,
    ) -> AppResult<usize> {
        if s.user.role != tillstone_core::auth::Role::Manager {
            return Err(AppError::forbidden(
                "not_permitted",
                "only a manager changes coupon campaigns",
            ));
        }
        {
            let store = self.store();
            store.set_campaigns(&campaigns)?;
            store.set_coupon_keys(&keys)?;
        }
        let n = campaigns.len();
        *self.coupons.lock().unwrap_or_else(|p| p.into_inner()) = (keys, campaigns);
        Ok(n)
    }

    /// Verify a coupon code offline (HQ's signature, a known campaign): the campaign and serial,
    /// or why it is refused. Validity, store and cart conditions are checked when it is applied.
    pub fn check_coupon(
        &self,
        s: &Session,
        code: &str,
    ) -> AppResult<Result<(Campaign, u64), String>> {
        self.require(s, Action::Sell)?;
        let (keys, campaigns) = self
            .coupons
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let verified = match coupon::decode(code).and_then(|c| coupon::verify(&c, &keys)) {
            Ok(v) => v,
            Err(e) => return Ok(Err(e.to_string())),
        };
        Ok(campaigns
            .into_iter()
            .find(|c| c.id == verified.campaign_id())
            .map(|c| (c, verified.serial()))
            .ok_or_else(|| {
                format!(
                    "campaign {} is unknown on this till",
                    verified.campaign_id()
                )
            }))
    }

    pub fn campaigns(&self, s: &Session) -> AppResult<Vec<Campaign>> {
        self.require(s, Action::Sell)?;
        Ok(self
            .coupons
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clone())
    }

    /// A member as the till sees them now: tier from lifetime points (never below HQ's tier).
    /// `m` comes from the store's member queries, which already carry the current balance.
    fn member_now(&self, store: &Store, mut m: Member) -> AppResult<(Member, i64)> {
        let lifetime = store.member_lifetime_points(&m.member_id)?;
        m.tier = effective_tier(&m.tier, lifetime, &self.settings.loyalty.tiers);
        Ok((m, lifetime))
    }

    fn member_view(&self, store: &Store, m: Member) -> AppResult<MemberView> {
        let (m, lifetime) = self.member_now(store, m)?;
        let mut v = MemberView::from(&m);
        v.lifetime_points = lifetime;
        if let Some((tier, missing)) = next_tier(lifetime, &m.tier, &self.settings.loyalty.tiers) {
            v.next_tier = Some(tier);
            v.points_to_next_tier = Some(missing);
        }
        Ok(v)
    }

    /// Points a sale earns its member (none without a member); the part paid with points
    /// earns nothing.
    fn points_earned(&self, store: &Store, sale: &Sale) -> AppResult<i64> {
        let Some(member_id) = &sale.member_id else {
            return Ok(0);
        };
        let tier = match store.find_member(member_id)? {
            Some(m) => self.member_now(store, m)?.0.tier,
            None => String::new(),
        };
        let earned = earn(
            &self.settings.loyalty.earn,
            &tier,
            sale.lines
                .iter()
                .map(|l| (l.line.category.as_str(), l.amounts.total)),
        );
        let by_points: Decimal = sale
            .tenders
            .iter()
            .filter(|t| t.kind == TenderKind::Points)
            .map(|t| t.applied)
            .sum();
        let total = sale.totals.total;
        if by_points <= Decimal::ZERO || total <= Decimal::ZERO {
            return Ok(earned);
        }
        let share = ((total - by_points).max(Decimal::ZERO)) / total;
        Ok((Decimal::from(earned) * share)
            .floor()
            .to_i64()
            .unwrap_or(0))
    }

    /// A member with their points balance (phone masked).
    pub fn member(&self, s: &Session, member_id: &str) -> AppResult<MemberView> {
        self.require(s, Action::Sell)?;
        let store = self.store();
        let m = store.find_member(member_id)?.ok_or_else(|| {
            AppError::not_found("member_not_found", format!("no member {member_id}"))
        })?;
        self.member_view(&store, m)
    }

    /// Sign a customer up at the till (works offline; synced as an event).
    pub fn sign_up(
        &self,
        s: &Session,
        phone: &str,
        name: &str,
        consent: bool,
    ) -> AppResult<MemberView> {
        self.require(s, Action::Sell)?;
        if !consent {
            return Err(AppError::bad_request(
                "consent_required",
                "the customer must agree to the membership terms and privacy notice first",
            ));
        }
        let at = now();
        let signup = MemberSignUp {
            member_id: format!("M{}", Uuid::now_v7().simple()),
            event_id: new_id(),
            terminal_id: self.terminal_id.clone(),
            user_id: s.user.user_id.clone(),
            phone: phone.trim().to_string(),
            name: name.trim().to_string(),
            card_no: None,
            tier: "standard".into(),
            consent,
            consent_at: at,
            signed_up_at: at,
        };
        let outcome = self.store().sign_up_member(&signup).map_err(|e| match e {
            tillstone_store::StoreError::Invalid(m) => AppError::bad_request("invalid_sign_up", m),
            other => other.into(),
        })?;
        let m = match outcome {
            SignUpOutcome::Created(m) => m,
            SignUpOutcome::AlreadyMember(m) => {
                return Err(AppError::conflict(
                    "already_member",
                    format!(
                        "{} is already a member ({})",
                        mask_phone(&m.phone),
                        m.member_id
                    ),
                ));
            }
        };
        Ok(MemberView::from(&m))
    }

    /// Attach a member to the cart (or detach with `None`): member prices follow.
    pub fn set_member(
        &self,
        s: &Session,
        cart_id: &str,
        member_id: Option<&str>,
    ) -> AppResult<CartView> {
        let member = match member_id {
            Some(id) => Some(
                self.store()
                    .find_member(id)?
                    .ok_or_else(|| {
                        AppError::not_found(
                            "member_not_found",
                            format!("no member {id}: search by phone or card"),
                        )
                    })?
                    .member_id,
            ),
            None => None,
        };
        Ok(self
            .with_cart(s, cart_id, |cart, _| Ok(cart.set_member(member)?))?
            .1)
    }

    /// The promotion rules in force.
    pub fn promotions(&self, s: &Session) -> AppResult<Vec<Rule>> {
        self.require(s, Action::Sell)?;
        Ok(self
            .promotions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone())
    }

    /// Replace the promotion rules (validated) — HQ's job once sync exists.
    pub fn set_promotions(&self, s: &Session, rules: Vec<Rule>) -> AppResult<usize> {
        self.require(s, Action::XReport)?;
        if s.user.role != tillstone_core::auth::Role::Manager {
            return Err(AppError::forbidden(
                "not_permitted",
                "only a manager changes promotions",
            ));
        }
        self.store().set_promotions(&rules)?;
        let n = rules.len();
        *self.promotions.lock().unwrap_or_else(|p| p.into_inner()) = rules;
        Ok(n)
    }

    pub fn new_cart(&self, s: &Session) -> AppResult<CartView> {
        self.require(s, Action::Sell)?;
        let store = self.store();
        self.open_shift_required(&store)?;
        let stored = StoredCart {
            cart: Cart::new(new_id()),
            status: CartStatus::Open,
            user_id: s.user.user_id.clone(),
            label: String::new(),
            updated_at: now().to_rfc3339(),
        };
        store.save_cart(&stored.cart, CartStatus::Open, &s.user.user_id, "", now())?;
        Ok(self.view(&stored))
    }

    pub fn cart(&self, s: &Session, cart_id: &str) -> AppResult<CartView> {
        self.require(s, Action::Sell)?;
        let store = self.store();
        Ok(self.view(&self.load_cart(&store, cart_id)?))
    }

    pub fn carts(&self, s: &Session, status: CartStatus) -> AppResult<Vec<CartView>> {
        self.require(s, Action::Sell)?;
        let store = self.store();
        Ok(store.carts(status)?.iter().map(|c| self.view(c)).collect())
    }

    /// Scan or type a code into a cart.
    /// A member QR or coupon code scanned at the sale screen does what the cashier means:
    /// attach the member, apply the coupon.
    fn scan_special(
        &self,
        s: &Session,
        cart_id: &str,
        raw: &str,
    ) -> AppResult<Option<ScanOutcome>> {
        let code = raw.trim();
        if code.starts_with("TM1.") {
            let secret = self
                .store()
                .meta("member_qr_secret")?
                .and_then(|h| hex::decode(h).ok())
                .unwrap_or_default();
            let minute = now().timestamp().div_euclid(60);
            let found = self.store().member_by_qr(code, &secret, minute)?;
            return Ok(Some(match found {
                QrLookup::Found(m) => {
                    let cart = self.set_member(s, cart_id, Some(&m.member_id))?;
                    let member = self.member_view(&self.store(), m)?;
                    ScanOutcome::MemberAttached {
                        member,
                        cart: Box::new(cart),
                    }
                }
                QrLookup::Refused(e) => ScanOutcome::Invalid {
                    code: code.chars().take(64).collect(),
                    message: e.to_string(),
                },
                QrLookup::UnknownMember(id) => ScanOutcome::NotFound {
                    code: id.clone(),
                    message: format!("member {id} is not on this till yet: look them up by phone"),
                },
            }));
        }
        if code.len() > 4
            && code
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("TC1."))
        {
            return Ok(Some(match self.add_coupon(s, cart_id, code) {
                Ok(cart) => ScanOutcome::CouponAdded {
                    cart: Box::new(cart),
                },
                Err(e) if e.kind != ErrorKind::Internal => ScanOutcome::Invalid {
                    code: code.chars().take(24).collect(),
                    message: e.message,
                },
                Err(e) => return Err(e),
            }));
        }
        Ok(None)
    }

    /// Scan or type a code into a cart. The scan is read by the devices crate's parser (GTINs,
    /// GS1 element strings, weight- and price-embedded store labels, receipt barcodes);
    /// unknown, malformed and receipt codes are outcomes, never errors.
    pub fn scan(
        &self,
        s: &Session,
        cart_id: &str,
        raw: &str,
        qty: Option<Decimal>,
    ) -> AppResult<ScanOutcome> {
        if let Some(outcome) = self.scan_special(s, cart_id, raw)? {
            return Ok(outcome);
        }
        // (code to look up, quantity from the label, price from the label)
        let (codes, label_qty, label_price, shown) = match parse_str(
            raw,
            self.devices().scan_config(),
        ) {
            ScanResult::Invalid { message, data, .. } => {
                return Ok(ScanOutcome::Invalid {
                    code: data,
                    message,
                });
            }
            ScanResult::Receipt { receipt_no, .. } => {
                return Ok(ScanOutcome::Receipt { receipt_no });
            }
            ScanResult::Gtin { gtin, .. } => (gtin_candidates(&gtin), None, None, gtin),
            ScanResult::Gs1 {
                gtin: Some(gtin),
                weight_kg,
                price,
                ..
            } => (gtin_candidates(&gtin), weight_kg, price, gtin),
            ScanResult::Gs1 { gtin: None, .. } => {
                return Ok(ScanOutcome::Invalid {
                    code: raw.trim().chars().take(64).collect(),
                    message: "this GS1 code names no product (no GTIN, AI 01): scan the product's own barcode".into(),
                });
            }
            ScanResult::Weighed {
                item_code,
                weight_kg,
                ..
            } => (vec![item_code.clone()], Some(weight_kg), None, item_code),
            ScanResult::Priced {
                item_code, price, ..
            } => (vec![item_code.clone()], None, Some(price), item_code),
            ScanResult::Code { text, .. } => (vec![text.clone()], None, None, text),
        };
        let mut product = None;
        {
            let store = self.store();
            for code in &codes {
                product = match store.product_by_barcode(code)? {
                    Some(p) => Some(p),
                    None => store.product_by_sku(code)?,
                };
                if product.is_some() {
                    break;
                }
            }
        }
        let Some(mut product) = product else {
            return Ok(ScanOutcome::NotFound {
                message: format!(
                    "no product has the code {shown}: check the label, search by name, or set the item aside"
                ),
                code: shown,
            });
        };
        // A price label prices this one item: one piece at the label's price.
        if let Some(price) = label_price
            && label_qty.is_none()
        {
            product.price = price;
            product.unit = Unit::Piece;
        }
        let qty = match (qty, label_qty) {
            (Some(q), _) => q,
            (None, Some(w)) if product.unit == Unit::Kg => w,
            (None, Some(_)) | (None, None) if product.unit == Unit::Kg => {
                return Ok(ScanOutcome::NeedsWeight { product });
            }
            (None, _) => Decimal::ONE,
        };
        let (line_id, cart) = self.with_cart(s, cart_id, |cart, _| {
            Ok(cart.add_product(&product, qty, Some(&shown))?)
        })?;
        if let Some(l) = cart.priced.lines.iter().find(|l| l.line.line_id == line_id) {
            let name = if product.name_en.is_empty() {
                &product.name
            } else {
                &product.name_en
            };
            self.devices()
                .show_item(name, l.amounts.total, cart.priced.totals.total);
        }
        Ok(ScanOutcome::Added {
            line_id,
            product,
            cart: Box::new(cart),
        })
    }

    pub fn add_sku(
        &self,
        s: &Session,
        cart_id: &str,
        sku: &str,
        qty: Decimal,
    ) -> AppResult<CartView> {
        let product = self.store().product_by_sku(sku)?.ok_or_else(|| {
            AppError::not_found("product_not_found", format!("no product with SKU {sku}"))
        })?;
        Ok(self
            .with_cart(s, cart_id, |cart, _| {
                Ok(cart.add_product(&product, qty, None)?)
            })?
            .1)
    }

    pub fn set_qty(
        &self,
        s: &Session,
        cart_id: &str,
        line_id: u32,
        qty: Decimal,
    ) -> AppResult<CartView> {
        Ok(self
            .with_cart(s, cart_id, |cart, _| Ok(cart.set_qty(line_id, qty)?))?
            .1)
    }

    pub fn void_line(&self, s: &Session, cart_id: &str, line_id: u32) -> AppResult<CartView> {
        Ok(self
            .with_cart(s, cart_id, |cart, _| Ok(cart.void_line(line_id)?))?
            .1)
    }

    pub fn override_price(
        &self,
        s: &Session,
        cart_id: &str,
        line_id: u32,
        price: Decimal,
        reason: &str,
        approval: Option<&Approval>,
    ) -> AppResult<CartView> {
        let approver = self.approver(approval)?;
        Ok(self
            .with_cart(s, cart_id, |cart, _| {
                Ok(cart.override_price(
                    line_id,
                    price,
                    reason,
                    &s.user,
                    approver.as_ref(),
                    &self.settings,
                )?)
            })?
            .1)
    }

    pub fn discount_line(
        &self,
        s: &Session,
        cart_id: &str,
        line_id: u32,
        discount: Option<Discount>,
        approval: Option<&Approval>,
    ) -> AppResult<CartView> {
        let approver = self.approver(approval)?;
        Ok(self
            .with_cart(s, cart_id, |cart, _| {
                Ok(cart.discount_line(
                    line_id,
                    discount,
                    &s.user,
                    approver.as_ref(),
                    &self.settings,
                )?)
            })?
            .1)
    }

    pub fn discount_order(
        &self,
        s: &Session,
        cart_id: &str,
        discount: Option<Discount>,
        approval: Option<&Approval>,
    ) -> AppResult<CartView> {
        let approver = self.approver(approval)?;
        Ok(self
            .with_cart(s, cart_id, |cart, _| {
                Ok(cart.discount_order(discount, &s.user, approver.as_ref(), &self.settings)?)
            })?
            .1)
    }

    pub fn add_tender(
        &self,
        s: &Session,
        cart_id: &str,
        kind: TenderKind,
        amount: Option<Decimal>,
        reference: Option<String>,
    ) -> AppResult<CartView> {
        Ok(self
            .with_cart(s, cart_id, |cart, store| {
                // The first tender fixes the prices: evaluate them once more right before it.
                if cart.tenders.is_empty() {
                    self.reprice(cart, store)?;
                }
                // No amount: pay exactly what is due (cash-rounded for cash).
                let amount = match amount {
                    Some(a) => a,
                    None => {
                        let p = cart.price(&self.settings).payment;
                        if kind == TenderKind::Cash {
                            p.cash_due
                        } else {
                            p.non_cash_due
                        }
                    }
                };
                Ok(cart.add_tender(kind, amount, reference, &self.settings)?)
            })?
            .1)
    }

    /// Pay part of the cart with the member's points (积分抵现): up to `points` (the whole
    /// balance when none), in the store's redeem steps, for at most its share of the order and
    /// what is still due. Replaces a points tender already on the cart.
    pub fn add_points_tender(
        &self,
        s: &Session,
        cart_id: &str,
        points: Option<i64>,
    ) -> AppResult<CartView> {
        Ok(self
            .with_cart(s, cart_id, |cart, store| {
                if cart.tenders.is_empty() {
                    self.reprice(cart, store)?;
                }
                let member = cart
                    .member_id
                    .clone()
                    .ok_or(tillstone_core::cart::CartError::PointsNeedMember)?;
                let balance = store.point_balance(&member)?;
                let offered = points.unwrap_or(balance);
                if offered <= 0 {
                    return Err(AppError::bad_request(
                        "invalid_points",
                        if points.is_some() {
                            "enter a positive number of points".to_string()
                        } else {
                            "the member has no points to use".to_string()
                        },
                    ));
                }
                if offered > balance {
                    return Err(AppError::conflict(
                        "not_enough_points",
                        format!("the member has {balance} points, fewer than the {offered} asked"),
                    ));
                }
                cart.add_points_tender(offered, &self.settings.loyalty.redeem, &self.settings)?;
                Ok(())
            })?
            .1)
    }

    pub fn remove_tender(&self, s: &Session, cart_id: &str, tender_id: u32) -> AppResult<CartView> {
        Ok(self
            .with_cart(s, cart_id, |cart, _| Ok(cart.remove_tender(tender_id)?))?
            .1)
    }

    fn receipt(&self, store: &Store, sale: Sale) -> AppResult<Receipt> {
        let cashier_name = store
            .user(&sale.ctx.cashier_id)?
            .map_or_else(|| sale.ctx.cashier_id.clone(), |u| u.name);
        let member = match &sale.member_id {
            Some(id) => store.find_member(id)?.map(|m| self.member_view(store, m)),
            None => None,
        }
        .transpose()?;
        Ok(Receipt {
            header: ReceiptHeader {
                store_name: self.settings.store_name.clone(),
                store_name_en: self.settings.store_name_en.clone(),
                address: self.settings.address.clone(),
                tax_id: self.settings.tax_id.clone(),
            },
            cashier_name,
            barcode: receipt_barcode(&sale.ctx.receipt_no),
            member,
            sale,
        })
    }

    fn doc_context(&self, store: &Store, s: &Session, shift: &ShiftRow) -> AppResult<DocContext> {
        let n = store.document_count()? + 1;
        Ok(DocContext {
            sale_id: new_id(),
            receipt_no: format!("{}-{}-{n:08}", self.settings.store_code, self.terminal_code),
            store_code: self.settings.store_code.clone(),
            terminal_id: self.terminal_id.clone(),
            shift_id: shift.shift_id.clone(),
            cashier_id: s.user.user_id.clone(),
            completed_at: now(),
        })
    }

    /// Complete a fully paid cart: the sale is durable when this returns.
    /// Completing a cart again (a retry after a lost answer) returns the sale it became.
    pub fn complete(&self, s: &Session, cart_id: &str) -> AppResult<Receipt> {
        self.require(s, Action::Sell)?;
        let mut store = self.store();
        if let Some(done) = store.sale_by_cart(cart_id)? {
            return self.receipt(&store, done);
        }
        let shift = self.open_shift_required(&store)?;
        let stored = self.load_cart(&store, cart_id)?;
        if stored.status == CartStatus::Parked {
            return Err(AppError::conflict(
                "cart_parked",
                "this cart is parked: resume it first",
            ));
        }
        // Coupons are checked again now, under the store lock, against the ledger as it is
        // (another cart may have redeemed the same coupon since this one accepted it).
        if !stored.cart.coupon_codes.is_empty() {
            let mut now_cart = stored.cart.clone();
            self.check_coupons(&mut now_cart, &store);
            let key = |c: &Cart| {
                let mut k: Vec<(u32, u64, Decimal)> = c
                    .coupons
                    .iter()
                    .map(|d| (d.campaign_id, d.serial, d.amount))
                    .collect();
                k.sort();
                k
            };
            if key(&now_cart) != key(&stored.cart) || !now_cart.coupon_problems.is_empty() {
                let why = now_cart
                    .coupon_problems
                    .first()
                    .map(|p| format!("{} / {}", p.message_en, p.message_zh))
                    .unwrap_or_else(|| "a coupon no longer gives the same discount".into());
                return Err(AppError::conflict(
                    "coupons_changed",
                    format!(
                        "{why}: remove the tenders so the cart is checked again, then take payment"
                    ),
                ));
            }
        }
        let ctx = self.doc_context(&store, s, &shift)?;
        let mut sale = complete_sale(&stored.cart, &self.settings, ctx)?;
        sale.member_points = self.points_earned(&store, &sale)?;
        store.commit_sale(&sale, &self.settings, &new_id(), Some(cart_id), None, None)?;
        tracing::info!(receipt = %sale.ctx.receipt_no, total = %sale.totals.total, "sale committed");
        let paid: Decimal = sale.tenders.iter().map(|t| t.amount).sum();
        let change = sale.change;
        let receipt = self.finish_document(store, sale)?;
        self.devices().show_change(paid, change);
        Ok(receipt)
    }

    pub fn park(&self, s: &Session, cart_id: &str, label: &str) -> AppResult<CartView> {
        self.require(s, Action::Sell)?;
        let store = self.store();
        let mut stored = self.load_cart(&store, cart_id)?;
        if !stored.cart.tenders.is_empty() {
            return Err(AppError::conflict(
                "payment_started",
                "payment has started: remove the tenders before parking",
            ));
        }
        if stored.cart.is_empty() {
            return Err(AppError::conflict("cart_empty", "there is nothing to park"));
        }
        stored.status = CartStatus::Parked;
        stored.label = label.trim().to_string();
        store.save_cart(
            &stored.cart,
            CartStatus::Parked,
            &s.user.user_id,
            &stored.label,
            now(),
        )?;
        Ok(self.view(&stored))
    }

    pub fn resume(&self, s: &Session, cart_id: &str) -> AppResult<CartView> {
        self.require(s, Action::Sell)?;
        let store = self.store();
        let mut stored = self.load_cart(&store, cart_id)?;
        stored.status = CartStatus::Open;
        // A cart parked earlier gets today's promotions and coupon checks.
        self.reprice(&mut stored.cart, &store)?;
        store.save_cart(
            &stored.cart,
            CartStatus::Open,
            &s.user.user_id,
            &stored.label,
            now(),
        )?;
        Ok(self.view(&stored))
    }

    /// Void a whole cart that was not completed (order void). Part-paid carts need their
    /// tenders removed first so no payment is forgotten.
    pub fn void_cart(&self, s: &Session, cart_id: &str) -> AppResult<()> {
        self.require(s, Action::Sell)?;
        let store = self.store();
        let stored = self.load_cart(&store, cart_id)?;
        if !stored.cart.tenders.is_empty() {
            return Err(AppError::conflict(
                "payment_started",
                "payment has started: remove (refund) the tenders before voiding",
            ));
        }
        store.delete_cart(cart_id)?;
        tracing::info!(cart = cart_id, user = %s.user.user_id, lines = stored.cart.lines.len(), "order voided");
        Ok(())
    }

    // ----- printing --------------------------------------------------------------------------

    /// Start the print worker (the server does; one-shot CLI commands do not).
    pub fn start_devices(&self) -> bool {
        self.devices_started.store(true, Ordering::SeqCst);
        self.devices().start_worker()
    }

    /// What the till understands from a scan (for installers and the UI), without a cart.
    pub fn parse_barcode(&self, data: &str) -> ScanResult {
        parse_str(data, self.devices().scan_config())
    }

    /// One reading of the scale (for a weighed item).
    pub fn read_scale(&self, s: &Session) -> AppResult<ScaleReading> {
        self.require(s, Action::Sell)?;
        self.devices()
            .read_scale(std::time::Duration::from_secs(2))
            .map_err(|m| AppError::conflict("scale_unavailable", m))
    }

    /// The next scan of the serial scanner (long poll); `None` when nothing was scanned.
    pub fn next_scan(
        &self,
        s: &Session,
        timeout: std::time::Duration,
    ) -> AppResult<Option<ScannerEvent>> {
        self.require(s, Action::Sell)?;
        self.devices()
            .next_scan(timeout.min(std::time::Duration::from_secs(30)))
            .map_err(|m| AppError::conflict("scanner_unavailable", m))
    }

    pub fn printer(&self, s: &Session) -> AppResult<PrinterView> {
        self.require(s, Action::Sell)?;
        Ok(self.devices().view())
    }

    /// After a document is committed: its receipt, the store released, then the devices
    /// (drawer, printer) — never while holding the store.
    fn finish_document(&self, store: MutexGuard<'_, Store>, doc: Sale) -> AppResult<Receipt> {
        let job_id = doc.ctx.sale_id.clone();
        let receipt = self.receipt(&store, doc)?;
        drop(store);
        self.after_commit(&receipt, &job_id);
        Ok(receipt)
    }

    /// Queue the receipt of a committed document (the document is durable already: a printer
    /// problem never undoes a sale) and open the drawer when cash moved.
    fn after_commit(&self, receipt: &Receipt, job_id: &str) {
        // The drawer first: the cashier gives change while the receipt prints (and a drawer
        // kick does not wait for paper).
        if receipt
            .sale
            .tenders
            .iter()
            .any(|t| t.kind == TenderKind::Cash && !t.applied.is_zero())
        {
            self.devices().kick_drawer();
        }
        let mut doc = receipt_doc(receipt, &self.settings, self.settings.language);
        doc.logo_png = self.devices().logo();
        if let Err(e) = self.devices().print(job_id, doc, &now().to_rfc3339()) {
            tracing::error!(error = %e, receipt = %receipt.sale.ctx.receipt_no, "receipt not queued; reprint it");
        }
    }

    /// Print a receipt again (a new print job).
    pub fn reprint(&self, s: &Session, input: &str) -> AppResult<PrinterView> {
        let receipt = self.receipt_of(s, input)?;
        let mut doc = receipt_doc(&receipt, &self.settings, self.settings.language);
        doc.logo_png = self.devices().logo();
        let queued = self
            .devices()
            .print(
                &format!("{}-reprint-{}", receipt.sale.ctx.sale_id, new_id()),
                doc,
                &now().to_rfc3339(),
            )
            .map_err(|e| AppError::new(ErrorKind::Internal, "print_queue", e))?;
        if !queued {
            return Err(AppError::conflict(
                "no_printer",
                "no receipt printer is set up: an installer adds it to devices.toml",
            ));
        }
        Ok(self.devices().view())
    }

    /// The receipt as a PNG image, laid out exactly as printed.
    pub fn receipt_png(
        &self,
        s: &Session,
        input: &str,
        paper: Option<Paper>,
        lang: Option<crate::receipt_doc::Lang>,
    ) -> AppResult<Vec<u8>> {
        let receipt = self.receipt_of(s, input)?;
        let doc = receipt_doc(
            &receipt,
            &self.settings,
            lang.unwrap_or(self.settings.language),
        );
        tillstone_devices::preview::render_png(
            &doc,
            paper.unwrap_or_else(|| self.devices().paper()),
            self.devices().font_path(),
        )
        .map_err(|e| {
            AppError::new(
                ErrorKind::Internal,
                "preview_failed",
                format!("the receipt preview could not be drawn: {e} (install fonts-wqy-microhei)"),
            )
        })
    }

    // ----- returns and voids ---------------------------------------------------------------

    /// The committed document for a typed receipt number or a scanned receipt barcode.
    fn sale_by_input(&self, store: &Store, input: &str) -> AppResult<(Sale, String)> {
        let receipt_no = receipt_no_from_input(input);
        match store.sale_by_receipt(&receipt_no)? {
            Some(sale) => Ok((sale, receipt_no)),
            None => Err(AppError::not_found(
                "receipt_not_found",
                format!("no receipt {receipt_no} on this terminal: check the number"),
            )),
        }
    }

    pub fn find_sale(&self, s: &Session, input: &str) -> AppResult<SaleLookup> {
        self.require(s, Action::ReturnWithReceipt)?;
        let store = self.store();
        let (sale, _) = self.sale_by_input(&store, input)?;
        let prior = store.returns_of(&sale.ctx.sale_id)?;
        Ok(SaleLookup {
            returnable: returnable(&sale, &prior),
            returns: prior.iter().map(|r| r.ctx.receipt_no.clone()).collect(),
            voided: store.void_of(&sale.ctx.sale_id)?,
            sale,
        })
    }

    /// Return lines of a receipted sale; refunds go to the original tenders.
    /// A retry with the same `request_id` returns the return already made.
    pub fn return_lines(
        &self,
        s: &Session,
        input: &str,
        lines: &[ReturnLine],
        request_id: Option<&str>,
    ) -> AppResult<Receipt> {
        self.require(s, Action::ReturnWithReceipt)?;
        let request_id = check_request_id(request_id)?;
        let mut store = self.store();
        if let Some(id) = request_id
            && let Some(done) = store.sale_by_request(id)?
        {
            return self.receipt(&store, done);
        }
        let shift = self.open_shift_required(&store)?;
        let (original, receipt_no) = self.sale_by_input(&store, input)?;
        if store.void_of(&original.ctx.sale_id)?.is_some() {
            return Err(tillstone_core::returns::ReturnError::Voided(receipt_no).into());
        }
        let prior = store.returns_of(&original.ctx.sale_id)?;
        let ctx = self.doc_context(&store, s, &shift)?;
        let mut doc = build_return(&original, &prior, lines, &self.settings, ctx)?;
        // Points earned on the sale go back in proportion to what is refunded.
        let refunded_before: Decimal = prior.iter().map(Sale::settled).sum();
        let paid = original.settled();
        let earned = original.member_points;
        doc.member_points = -(clawback(earned, paid, refunded_before + doc.settled())
            - clawback(earned, paid, refunded_before));
        // The return that brings the whole sale back gives its coupons back (if allowed).
        let mut all = prior.clone();
        all.push(doc.clone());
        let completes = returnable(&original, &all).values().all(|q| q.is_zero());
        store.commit_sale(
            &doc,
            &self.settings,
            &new_id(),
            None,
            request_id,
            completes.then_some(&original),
        )?;
        tracing::info!(receipt = %doc.ctx.receipt_no, original = %receipt_no, total = %doc.totals.total, "return committed");
        self.finish_document(store, doc)
    }

    /// Return items without a receipt, at today's prices, with a manager's approval.
    pub fn return_without_receipt(
        &self,
        s: &Session,
        items: &[ReturnItem],
        refund: TenderKind,
        reason: &str,
        approval: Option<&Approval>,
        request_id: Option<&str>,
    ) -> AppResult<Receipt> {
        if reason.trim().is_empty() {
            return Err(AppError::bad_request(
                "reason_required",
                "say why the items come back without a receipt",
            ));
        }
        if refund == TenderKind::Points {
            return Err(AppError::bad_request(
                "points_refund_needs_receipt",
                "points go back only to the member of the original sale: find the receipt, or refund in cash, card or e-wallet",
            ));
        }
        let request_id = check_request_id(request_id)?;
        if let Some(id) = request_id {
            let store = self.store();
            if let Some(done) = store.sale_by_request(id)? {
                return self.receipt(&store, done);
            }
        }
        let approver = self.approver(approval)?;
        let ov = authorize(
            &s.user,
            approver.as_ref(),
            Action::RefundWithoutReceipt,
            reason,
        )?;
        let mut store = self.store();
        let shift = self.open_shift_required(&store)?;
        let mut cart = Cart::new(new_id());
        for item in items {
            let p = store.product_by_sku(&item.sku)?.ok_or_else(|| {
                AppError::not_found(
                    "product_not_found",
                    format!("no product with SKU {}", item.sku),
                )
            })?;
            cart.add_product(&p, item.qty, None)?;
        }
        cart.overrides.extend(ov);
        let ctx = self.doc_context(&store, s, &shift)?;
        let doc = build_unreceipted_return(&cart, refund, &self.settings, ctx)?;
        store.commit_sale(&doc, &self.settings, &new_id(), None, request_id, None)?;
        self.finish_document(store, doc)
    }

    /// Post-void a completed sale of the current shift (manager).
    pub fn post_void(
        &self,
        s: &Session,
        input: &str,
        reason: &str,
        approval: Option<&Approval>,
    ) -> AppResult<VoidRecord> {
        if reason.trim().is_empty() {
            return Err(AppError::bad_request(
                "reason_required",
                "give the reason for the void",
            ));
        }
        let approver = self.approver(approval)?;
        let ov = authorize(&s.user, approver.as_ref(), Action::PostVoid, reason)?;
        let mut store = self.store();
        let shift = self.open_shift_required(&store)?;
        let (sale, receipt_no) = self.sale_by_input(&store, input)?;
        if sale.kind != SaleKind::Sale {
            return Err(AppError::conflict(
                "not_a_sale",
                "only sales can be voided; a return is undone by selling again",
            ));
        }
        if sale.ctx.shift_id != shift.shift_id {
            return Err(AppError::conflict(
                "other_shift",
                "only sales of the open shift can be voided: make a return instead",
            ));
        }
        if store.void_of(&sale.ctx.sale_id)?.is_some() {
            return Err(AppError::conflict(
                "already_voided",
                format!("receipt {receipt_no} is already voided"),
            ));
        }
        if !store.returns_of(&sale.ctx.sale_id)?.is_empty() {
            return Err(AppError::conflict(
                "has_returns",
                "items of this sale were already returned: return the rest instead",
            ));
        }
        let record = VoidRecord {
            sale_id: sale.ctx.sale_id.clone(),
            receipt_no,
            shift_id: shift.shift_id,
            user_id: s.user.user_id.clone(),
            approved_by: ov.map_or_else(|| s.user.user_id.clone(), |o| o.approved_by),
            reason: reason.trim().to_string(),
            at: now().to_rfc3339(),
        };
        store.commit_void(&record, &new_id(), &self.terminal_id)?;
        Ok(record)
    }

    pub fn receipt_of(&self, s: &Session, input: &str) -> AppResult<Receipt> {
        self.require(s, Action::Sell)?;
        let store = self.store();
        let (sale, _) = self.sale_by_input(&store, input)?;
        self.receipt(&store, sale)
    }

    pub fn recent_sales(&self, s: &Session, limit: usize) -> AppResult<Vec<Sale>> {
        self.require(s, Action::XReport)?;
        Ok(self.store().recent_sales(limit.min(200))?)
    }

    // ----- catalog -------------------------------------------------------------------------

    pub fn search_products(&self, query: &str, limit: usize) -> AppResult<Vec<Product>> {
        if query.trim().is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .store()
            .search_products(query.trim(), limit.clamp(1, 100))?)
    }

    /// Members by phone, last 4 digits, card number or name; phones masked.
    pub fn search_members(
        &self,
        s: &Session,
        query: &str,
        limit: usize,
    ) -> AppResult<Vec<MemberView>> {
        self.require(s, Action::Sell)?;
        let store = self.store();
        store
            .search_members(query, limit)?
            .into_iter()
            .map(|m| self.member_view(&store, m))
            .collect()
    }

    pub fn product(&self, sku: &str) -> AppResult<Product> {
        self.store().product_by_sku(sku)?.ok_or_else(|| {
            AppError::not_found("product_not_found", format!("no product with SKU {sku}"))
        })
    }

    pub fn verify_journal(&self) -> AppResult<VerifyReport> {
        Ok(self.store().verify_journal()?)
    }

    pub fn outbox_pending(&self) -> AppResult<u64> {
        Ok(self.store().outbox_pending()?)
    }

    pub fn data_path(&self) -> PathBuf {
        self.store().path().to_path_buf()
    }
}

/// A client's idempotency key: printable, at most 64 characters (a UUID fits).
fn check_request_id(id: Option<&str>) -> AppResult<Option<&str>> {
    match id.map(str::trim) {
        None | Some("") => Ok(None),
        Some(id) if id.len() <= 64 && id.chars().all(|c| c.is_ascii_graphic()) => Ok(Some(id)),
        Some(_) => Err(AppError::bad_request(
            "invalid_request_id",
            "request_id must be at most 64 printable ASCII characters (a UUID)",
        )),
    }
}

/// Money entered by a user: not negative (zero only where allowed), at most
/// 99,999,999.99, whole minor units.
fn check_money(amount: Decimal, settings: &StoreSettings, zero_ok: bool) -> AppResult<()> {
    let mu = settings.minor_units();
    if amount < Decimal::ZERO
        || (!zero_ok && amount.is_zero())
        || !within_limit(amount)
        || amount.normalize().scale() > mu
    {
        return Err(AppError::new(
            ErrorKind::BadRequest,
            "invalid_amount",
            format!(
                "{amount} is not a valid amount: use a positive amount up to 99999999.99 with at most {mu} decimals"
            ),
        ));
    }
    Ok(())
}
