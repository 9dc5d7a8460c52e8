import "./style.css";
import { Api, ApiError, toApiError } from "./api";
import type { Cart, CartLine, Product, ScanOutcome, Shift, User, ZReport } from "./api";
import { h } from "./dom";
import type { Child } from "./dom";
import { errorMessage, getLang, setLang, t } from "./i18n";
import type { Lang } from "./i18n";
import { addMoney, formatMoney, formatQty, formatRate, toCents } from "./money";
import { WedgeDetector } from "./wedge";
import { more } from "./api_more";
import type { DevicesView, Member, PrinterView, ReturnReceipt, SaleLookup, ShiftReport, SyncState, WalletCoupon } from "./api_more";
import { AMOUNT, PIN, QTY, WHOLE, isPositive, numpadKey, padKeys } from "./numpad";
import type { NumpadOptions } from "./numpad";
import { returnLines, returnQtyError, returnRows, stepQty } from "./returns";
import type { ReturnRow } from "./returns";
import { categorySeries, hourSeries, tenderMix, varianceTone } from "./reports";
import { formatDateTime } from "./format";
import type { ChartSpec } from "./charts";
import { DEVICE_ROLES, assignDevice } from "./devices";
import type { DeviceRole } from "./devices";

type Screen = "login" | "shift" | "sale" | "receipt" | "close" | "zreport" | "returns" | "reports" | "devices" | "sync";
type TenderKind = "cash" | "card" | "alipay" | "wechat_pay" | "points";
type Dialog =
  | { type: "help" }
  | { type: "search"; q: string; results: Product[] | null }
  | { type: "weight"; product: Product; code?: string }
  | { type: "qty"; line: CartLine }
  | { type: "coupon" }
  | { type: "void_cart" }
  | { type: "tender"; kind: TenderKind }
  | { type: "member"; q: string; results: Member[] | null }
  | { type: "parked"; carts: Cart[] | null; label: string };
type Notice = { kind: "ok" | "warn" | "error"; text: string; detail?: string };

const TENDERS: TenderKind[] = ["cash", "card", "alipay", "wechat_pay", "points"];
const TENDER_KEYS: Record<TenderKind, string> = { cash: "F5", card: "F6", alipay: "F7", wechat_pay: "F8", points: "F9" };

/** Points a tender uses (points tenders only). */
function pointsOf(tn: { kind: string }): number {
  return (tn as { points?: number }).points ?? 0;
}

/** The tenders offered now: points only with a member attached. */
function tendersNow(): TenderKind[] {
  return TENDERS.filter((k) => k !== "points" || !!state.cart?.member_id);
}
const DENOMINATIONS = ["100", "50", "20", "10", "5", "1", "0.5", "0.1"];

const api = new Api();
const mx = more(api);
const wedge = new WedgeDetector();

const state = {
  screen: "login" as Screen,
  storeName: "",
  /** The store's clock in minutes east of UTC (from /health); times are shown on it. */
  utcOffset: undefined as number | undefined,
  users: [] as User[],
  loginUser: null as User | null,
  pin: "",
  user: null as User | null,
  shift: null as Shift | null,
  float: "500.00",
  cart: null as Cart | null,
  selectedLine: null as number | null,
  scan: null as Notice | null,
  error: null as string | null,
  dialog: null as Dialog | null,
  tenderAmount: "",
  tenderRef: "",
  tenderPoints: "",
  weighNote: null as Notice | null,
  dialogInput: "",
  receipt: null as null | { no: string; change: string; total: string; preview: string | null; previewError: string | null },
  counts: {} as Record<string, string>,
  z: null as ZReport | null,
  busy: false,
  /** What is typed in the sale screen's code field (kept across renders). */
  codeText: "",
  /** The attached member's card (name, masked phone, tier, points). */
  member: null as Member | null,
  /** The attached member's coupon wallet, checked against the cart. */
  wallet: null as WalletCoupon[] | null,
  /** Returns screen. */
  ret: {
    input: "",
    lookup: null as SaleLookup | null,
    rows: [] as ReturnRow[],
    qty: {} as Record<number, string>,
    requestId: "",
    done: null as ReturnReceipt | null,
    preview: null as string | null,
    focusLine: null as number | null,
  },
  /** Reports screen. */
  rep: {
    tab: "x" as "x" | "z",
    x: null as ShiftReport | null,
    zs: null as ShiftReport[] | null,
    z: null as ShiftReport | null,
    notice: null as Notice | null,
    loading: false,
  },
  devices: null as DevicesView | null,
  dev: {
    toml: "",
    dirty: false,
    notice: null as Notice | null,
    configNotice: null as Notice | null,
    testPng: null as string | null,
    scale: null as Notice | null,
    scan: null as Notice | null,
    scanInput: "",
    waiting: false,
  },
  sync: null as SyncState | null,
  syncNotice: null as Notice | null,
  printNotice: null as Notice | null,
};

// ---------------------------------------------------------------- helpers

function lang(): Lang {
  return getLang();
}
function money(x: string | null | undefined): string {
  return formatMoney(x ?? "0", lang());
}
function pname(p: { name: string; name_en: string }): string {
  return lang() === "en" && p.name_en ? p.name_en : p.name;
}
function showError(e: unknown): void {
  const err = toApiError(e);
  state.error = errorMessage(lang(), err.code, err.message);
  render();
}
function activeLines(): CartLine[] {
  return (state.cart?.lines ?? []).filter((l) => !l.line.voided);
}
function isPaid(): boolean {
  const c = state.cart;
  return !!c && c.tenders.length > 0 && toCents(c.payment.remaining) <= 0n && activeLines().length > 0;
}

async function act(f: () => Promise<void>): Promise<void> {
  state.error = null;
  state.busy = true;
  try {
    await f();
  } catch (e) {
    if (e instanceof ApiError && e.code === "cart_not_found") {
      await ensureCart().catch(() => undefined);
    }
    showError(e);
    return;
  } finally {
    state.busy = false;
  }
  render();
}

function setCart(c: Cart, select?: number): void {
  state.cart = c;
  const lines = c.lines.filter((l) => !l.line.voided);
  if (select !== undefined) state.selectedLine = select;
  if (!lines.some((l) => l.line.line_id === state.selectedLine)) {
    state.selectedLine = lines.length ? lines[lines.length - 1].line.line_id : null;
  }
  if (!c.member_id) {
    state.member = null;
    state.wallet = null;
  } else {
    if (state.member?.member_id !== c.member_id) void loadMember(c.member_id);
    walletSoon();
  }
}

let walletTimer: ReturnType<typeof setTimeout> | null = null;
/** Check the wallet against the cart as it is now (debounced: scans come fast). */
function walletSoon(): void {
  if (walletTimer) clearTimeout(walletTimer);
  walletTimer = setTimeout(() => void loadWallet(), 250);
}

async function loadWallet(): Promise<void> {
  const c = state.cart;
  if (!c?.member_id) return;
  try {
    const w = await mx.wallet(c.member_id, c.cart_id);
    if (state.cart?.member_id === c.member_id) state.wallet = w;
  } catch (e) {
    // An older terminal without the wallet endpoint: no wallet panel, no error.
    if (toApiError(e).code !== "no_such_endpoint") state.scan = { kind: "warn", text: errText(e) };
    state.wallet = null;
  }
  if (state.screen === "sale") render();
}

async function applyWalletCoupon(code: string): Promise<void> {
  const cart = state.cart;
  if (!cart) return;
  await act(async () => {
    setCart(await api.addCoupon(cart.cart_id, code));
    state.scan = { kind: "ok", text: t("scan_coupon") };
  });
}

async function loadMember(id: string): Promise<void> {
  try {
    const m = await mx.member(id);
    if (state.cart?.member_id === id) state.member = m;
  } catch (e) {
    const err = toApiError(e);
    state.scan = { kind: "warn", text: errorMessage(lang(), err.code, err.message) };
  }
  render();
}

// ---------------------------------------------------------------- flows

async function loadUsers(): Promise<void> {
  const [users, health] = await Promise.all([
    api.users(),
    api
      .req<{ store_name?: string; utc_offset_minutes?: number }>("GET", "/health")
      .catch(() => ({ store_name: "", utc_offset_minutes: undefined })),
  ]);
  state.users = users.filter((u) => u.active !== false);
  state.storeName = health.store_name ?? "";
  state.utcOffset = typeof health.utc_offset_minutes === "number" ? health.utc_offset_minutes : undefined;
}

async function login(): Promise<void> {
  const u = state.loginUser;
  if (!u || !state.pin) return;
  const pin = state.pin;
  state.pin = "";
  await act(async () => {
    const r = await api.login(u.user_id, pin);
    state.user = r.user;
    if (r.user.role === "installer") {
      await goTo("devices");
      return;
    }
    state.shift = await api.shift();
    if (state.shift) {
      await ensureCart();
      go("sale");
    } else {
      go("shift");
    }
  });
}

async function logout(): Promise<void> {
  await api.logout().catch(() => undefined);
  resetSession();
  render();
}

function resetSession(): void {
  api.token = null;
  Object.assign(state, {
    screen: "login",
    user: null,
    loginUser: null,
    pin: "",
    shift: null,
    cart: null,
    dialog: null,
    scan: null,
    receipt: null,
    z: null,
    member: null,
    devices: null,
    sync: null,
  });
  resetReturn();
  state.rep = { tab: "x", x: null, zs: null, z: null, notice: null, loading: false };
  if (state.dev.testPng) URL.revokeObjectURL(state.dev.testPng);
  state.dev = { toml: "", dirty: false, notice: null, configNotice: null, testPng: null, scale: null, scan: null, scanInput: "", waiting: false };
  state.syncNotice = null;
  state.printNotice = null;
  wedge.reset();
}

api.onUnauthorized = () => {
  resetSession();
};

async function ensureCart(): Promise<void> {
  const open = (await api.carts()).filter((c) => c.status === "open");
  setCart(open.length ? open[0] : await api.newCart());
}

function go(s: Screen): void {
  state.screen = s;
  state.dialog = null;
  wedge.reset();
}

async function scanCode(code: string, qty?: string): Promise<void> {
  const cart = state.cart;
  if (!cart) return;
  await act(async () => {
    let r: ScanOutcome;
    try {
      r = await api.scan(cart.cart_id, code, qty);
    } catch (e) {
      const err = toApiError(e);
      state.scan = { kind: "error", text: errorMessage(lang(), err.code, err.message) };
      if (err.code === "cart_not_found") await ensureCart();
      return;
    }
    switch (r.outcome) {
      case "added":
        setCart(r.cart, r.line_id);
        state.scan = { kind: "ok", text: t("scan_added", { name: pname(r.product) }) };
        if (state.dialog?.type === "weight") state.dialog = null;
        break;
      case "needs_weight":
        state.scan = { kind: "warn", text: t("scan_needs_weight", { name: pname(r.product) }) };
        openDialog({ type: "weight", product: r.product, code });
        break;
      case "not_found":
        state.scan = { kind: "error", text: t("scan_not_found", { code: r.code }) };
        break;
      case "invalid":
        state.scan = { kind: "error", text: t("scan_invalid", { code: r.code }) };
        break;
      case "receipt":
        // A receipt barcode at the sale screen: take it to the returns screen.
        resetReturn();
        go("returns");
        state.ret.input = r.receipt_no;
        void lookupReceipt(r.receipt_no);
        break;
      case "member_attached":
        setCart(r.cart);
        state.scan = { kind: "ok", text: t("scan_member", { name: r.member?.name ?? "" }) };
        break;
      case "coupon_added":
        setCart(r.cart);
        state.scan = { kind: "ok", text: t("scan_coupon") };
        break;
      default:
        state.scan = { kind: "warn", text: t("err_generic", { code: (r as { outcome: string }).outcome }) };
    }
  });
}

function openDialog(d: Dialog): void {
  state.dialog = d;
  state.dialogInput = "";
  state.weighNote = null;
  if (d.type === "tender") {
    state.tenderRef = "";
    state.tenderAmount = "";
  }
}

async function addProduct(p: Product, qty?: string): Promise<void> {
  if (p.unit === "kg" && !qty) {
    openDialog({ type: "weight", product: p });
    render();
    return;
  }
  const cart = state.cart;
  if (!cart) return;
  await act(async () => {
    const c = await api.addLine(cart.cart_id, p.sku, qty ?? "1");
    setCart(c, c.lines[c.lines.length - 1]?.line.line_id);
    state.scan = { kind: "ok", text: t("scan_added", { name: pname(p) }) };
    state.dialog = null;
  });
}

async function changeQty(delta: number): Promise<void> {
  const line = activeLines().find((l) => l.line.line_id === state.selectedLine);
  const cart = state.cart;
  if (!line || !cart || line.line.unit === "kg") return;
  const q = Number(line.line.qty) + delta;
  if (q <= 0) return;
  await act(async () => setCart(await api.setQty(cart.cart_id, line.line.line_id, String(q))));
}

async function addTender(kind: TenderKind, amount?: string): Promise<void> {
  const cart = state.cart;
  if (!cart) return;
  const reference = kind === "cash" ? undefined : state.tenderRef.trim();
  if (kind !== "cash" && !reference) {
    state.error = errorMessage(lang(), "reference_required");
    render();
    return;
  }
  await act(async () => {
    setCart(await api.addTender(cart.cart_id, kind, amount?.trim() || undefined, reference));
    state.tenderAmount = "";
    state.tenderRef = "";
  });
}

/** Read the scale into the weight dialog (a stable weight only). */
async function weighOnScale(): Promise<void> {
  state.weighNote = { kind: "warn", text: t("loading") };
  render();
  try {
    const r = await api.req<{ state: string; value?: string }>("GET", "/scale");
    if (r.state === "stable" && r.value && toCents(r.value) > 0n) {
      state.dialogInput = r.value;
      state.weighNote = { kind: "ok", text: t("scale_stable", { kg: r.value }) };
    } else if (r.state === "stable") {
      state.weighNote = { kind: "warn", text: t("scale_empty") };
    } else {
      state.weighNote = scaleText(r as Record<string, unknown>);
    }
  } catch (e) {
    state.weighNote = { kind: "error", text: errText(e) };
  }
  render();
}

async function addPoints(points?: string): Promise<void> {
  const cart = state.cart;
  if (!cart) return;
  if (points !== undefined && !/^[1-9]\d*$/.test(points)) {
    state.error = errorMessage(lang(), "invalid_points");
    render();
    return;
  }
  await act(async () => {
    setCart(await mx.pointsTender(cart.cart_id, points === undefined ? undefined : Number(points)));
    state.tenderPoints = "";
    if (cart.member_id) void loadMember(cart.member_id);
  });
}

async function complete(): Promise<void> {
  const cart = state.cart;
  if (!cart || !isPaid()) {
    if (cart && activeLines().length) openDialog({ type: "tender", kind: "cash" });
    render();
    return;
  }
  await act(async () => {
    const r = await api.complete(cart.cart_id);
    state.receipt = {
      no: r.sale.receipt_no,
      change: r.sale.change,
      total: r.sale.totals.total,
      preview: null,
      previewError: null,
    };
    state.cart = null;
    state.member = null;
    state.printNotice = null;
    go("receipt");
    void loadPreview(r.sale.receipt_no);
    void checkPrinter();
  });
}

async function loadPreview(no: string): Promise<void> {
  try {
    const blob = await api.previewPng(no, lang() === "en" ? "en" : "zh");
    if (state.receipt?.no === no) {
      if (state.receipt.preview) URL.revokeObjectURL(state.receipt.preview);
      state.receipt.preview = URL.createObjectURL(blob);
    }
  } catch (e) {
    const err = toApiError(e);
    if (state.receipt?.no === no) state.receipt.previewError = errorMessage(lang(), err.code, err.message);
  }
  render();
}

async function newSale(): Promise<void> {
  if (state.receipt?.preview) URL.revokeObjectURL(state.receipt.preview);
  state.receipt = null;
  state.scan = null;
  await act(async () => {
    await ensureCart();
    go("sale");
  });
}

function countedTotal(): string {
  return addMoney(
    "0",
    ...DENOMINATIONS.map((d) => {
      const n = parseInt(state.counts[d] ?? "", 10);
      return Number.isFinite(n) && n > 0 ? addMoney(...Array<string>(Math.min(n, 100000)).fill(d)) : "0";
    }),
  );
}

async function closeShift(): Promise<void> {
  const denominations = DENOMINATIONS.map((value) => ({ value, count: parseInt(state.counts[value] ?? "", 10) }))
    .filter((d) => Number.isFinite(d.count) && d.count > 0);
  await act(async () => {
    state.z = await api.closeShift(denominations);
    state.counts = {};
    state.shift = null;
    state.cart = null;
    state.member = null;
    state.rep.notice = null;
    void printZAfterClose();
    go("zreport");
  });
}

// ---------------------------------------------------------------- keyboard

/** Type released (non-scan) keys into the focused field, or the sale screen's code field. */
function typeText(text: string): void {
  if (!text) return;
  let el: Element | null = document.activeElement;
  if (el instanceof HTMLTextAreaElement && !el.readOnly) {
    el.setRangeText(text, el.selectionStart, el.selectionEnd, "end");
    el.dispatchEvent(new Event("input", { bubbles: true }));
    return;
  }
  if (!(el instanceof HTMLInputElement) || el.readOnly) {
    if (state.screen === "returns" && !state.ret.done) {
      el = document.getElementById("ret-input");
      if (el instanceof HTMLInputElement) el.focus();
    } else if (state.screen === "sale" && !state.dialog) {
      if (text === "+" || text === "-") {
        void changeQty(text === "+" ? 1 : -1);
        return;
      }
      el = document.getElementById("code-input");
      if (el instanceof HTMLInputElement) el.focus();
    }
  }
  if (!(el instanceof HTMLInputElement)) return;
  const start = el.selectionStart ?? el.value.length;
  const end = el.selectionEnd ?? el.value.length;
  el.setRangeText(text, start, end, "end");
  el.dispatchEvent(new Event("input", { bubbles: true }));
}

let tickTimer: ReturnType<typeof setTimeout> | null = null;
function scheduleTick(): void {
  if (tickTimer) clearTimeout(tickTimer);
  tickTimer = setTimeout(() => {
    tickTimer = null;
    typeText(wedge.tick(performance.now()));
    if (wedge.pending) scheduleTick();
  }, wedge.maxGapMs + 10);
}

function wedgeActive(): boolean {
  // A multi-line editor (devices.toml) is typed into as is: Enter there is a new line.
  if (document.activeElement instanceof HTMLTextAreaElement) return false;
  return (state.screen === "sale" && !!state.cart) || state.screen === "returns" || state.screen === "devices";
}

/** A wedge scan: into the cart, a receipt to return, or the installer's scan test. */
function onScan(code: string): void {
  if (state.screen === "returns") {
    state.ret.input = code;
    void lookupReceipt(code);
  } else if (state.screen === "devices") {
    state.dev.scanInput = code;
    void parseScanTest(code);
  } else {
    void scanCode(code);
  }
}

// Capture phase: sees every key first, whatever has focus.
window.addEventListener(
  "keydown",
  (e) => {
    if (!wedgeActive() || e.ctrlKey || e.altKey || e.metaKey || e.isComposing || e.key === "Process") return;
    const d = wedge.key(e.key, e.timeStamp || performance.now());
    if (d.kind === "hold") {
      e.preventDefault();
      typeText(d.release);
      scheduleTick();
    } else if (d.kind === "scan") {
      e.preventDefault();
      e.stopPropagation();
      onScan(d.code);
    } else {
      typeText(d.release);
    }
  },
  true,
);

window.addEventListener("keydown", (e) => {
  const k = e.key;
  const fkey = /^F\d+$/.test(k);
  if (fkey) e.preventDefault();
  if (k === "Escape" && state.dialog) {
    state.dialog = null;
    render();
    return;
  }
  if (state.screen === "login") {
    if (!state.loginUser) return;
    if (document.activeElement instanceof HTMLInputElement) return;
    if (/^\d$/.test(k)) pinKey(k);
    else if (k === "Backspace") pinKey("⌫");
    else if (k === "Enter") void login();
    else if (k === "Escape") pinKey("back");
    return;
  }
  if (state.screen === "zreport" && k === "F8") {
    void printClosedZ();
    return;
  }
  if (state.screen === "receipt" && k === "F8") {
    void reprintReceipt();
    return;
  }
  if (state.screen === "receipt" && (k === "Enter" || k === "F12")) {
    e.preventDefault();
    void newSale();
    return;
  }
  if (e.altKey && /^[1-5]$/.test(k) && state.user && !state.dialog) {
    const item = navItems().find((i) => i.key === Number(k));
    if (item && !item.disabled) {
      e.preventDefault();
      void goTo(item.screen);
    }
    return;
  }
  if (state.screen === "returns" || state.screen === "reports" || state.screen === "devices" || state.screen === "sync") {
    screenKey(e);
    return;
  }
  if (state.screen !== "sale") return;
  const d = state.dialog;
  if (d?.type === "tender") {
    const kind = tendersNow().find((x) => TENDER_KEYS[x] === k);
    if (kind) {
      d.kind = kind;
      render();
      focusSoon(kind === "cash" ? "tender-amount" : "tender-ref");
    } else if (k === "F12") void complete();
    else if (k === "F4") {
      state.dialog = null;
      render();
    }
    return;
  }
  if (d?.type === "weight" && k === "F7") {
    void weighOnScale();
    return;
  }
  if (d?.type === "parked" && k === "F7") {
    void parkCurrent(d.label);
    return;
  }
  if (d && k !== "F1") return;
  switch (k) {
    case "F1":
      openDialog({ type: "help" });
      render();
      break;
    case "F2":
      openDialog({ type: "search", q: "", results: null });
      render();
      break;
    case "F3":
      openDialog({ type: "coupon" });
      render();
      break;
    case "F4":
      if (activeLines().length) {
        openDialog({ type: "tender", kind: "cash" });
        render();
      }
      break;
    case "F6": {
      const line = activeLines().find((l) => l.line.line_id === state.selectedLine);
      if (line) {
        openDialog({ type: "qty", line });
        render();
      }
      break;
    }
    case "F8":
      void voidSelected();
      break;
    case "F9":
      if (activeLines().length) {
        openDialog({ type: "void_cart" });
        render();
      }
      break;
    case "F5":
      openDialog({ type: "member", q: "", results: null });
      render();
      break;
    case "F7":
      void openParked();
      break;
    case "F11":
      void goTo("returns");
      break;
    case "F10":
      go("close");
      render();
      break;
    case "F12":
      void complete();
      break;
    case "ArrowUp":
    case "ArrowDown": {
      const lines = activeLines();
      if (!lines.length) break;
      e.preventDefault();
      const i = lines.findIndex((l) => l.line.line_id === state.selectedLine);
      const j = Math.max(0, Math.min(lines.length - 1, (i < 0 ? lines.length : i) + (k === "ArrowUp" ? -1 : 1)));
      state.selectedLine = lines[j].line.line_id;
      render();
      break;
    }
  }
});

async function voidSelected(): Promise<void> {
  const cart = state.cart;
  const id = state.selectedLine;
  if (!cart || id === null) return;
  await act(async () => setCart(await api.voidLine(cart.cart_id, id)));
}

function pinKey(k: string): void {
  if (k === "back") {
    state.loginUser = null;
    state.pin = "";
  } else state.pin = numpadKey(state.pin, k, PIN);
  state.error = null;
  render();
}

function focusSoon(id: string): void {
  setTimeout(() => document.getElementById(id)?.focus(), 0);
}

// ---------------------------------------------------------------- views

function header(): HTMLElement {
  return h(
    "header",
    { class: "topbar" },
    h("div", { class: "brand" }, t("app_title"), state.storeName ? h("span", { class: "store" }, state.storeName) : null),
    state.user ? navBar() : null,
    h(
      "div",
      { class: "who" },
      state.user ? h("span", null, state.user.name) : null,
      state.shift ? h("span", { class: "pill" }, t("shift_no", { n: state.shift.shift_no })) : null,
      h(
        "button",
        {
          class: "btn small",
          id: "lang-toggle",
          onclick: () => {
            const l: Lang = lang() === "en" ? "zh-CN" : "en";
            setLang(l);
            localStorage.setItem("tillstone.lang", l);
            // Messages already shown were made in the old language: drop them.
            clearNotices();
            document.documentElement.lang = l;
            render();
          },
        },
        t("lang_switch"),
      ),
      state.user ? h("button", { class: "btn small", id: "sign-out", onclick: () => void logout() }, t("sign_out")) : null,
    ),
  );
}

function errorBar(): Child {
  if (!state.error) return null;
  return h(
    "div",
    { class: "error-bar", role: "alert", id: "error-bar" },
    h("span", null, state.error),
    h("button", { class: "btn small", onclick: () => ((state.error = null), render()) }, "×"),
  );
}

function loginView(): HTMLElement {
  if (!state.loginUser) {
    return h(
      "main",
      { class: "login" },
      h("h1", null, t("choose_user")),
      h(
        "div",
        { class: "user-grid" },
        state.users.map((u) =>
          h(
            "button",
            {
              class: "btn user",
              "data-user": u.user_id,
              onclick: () => {
                state.loginUser = u;
                state.pin = "";
                render();
              },
            },
            h("span", { class: "user-name" }, u.name),
            h("span", { class: "user-role" }, t(`role_${u.role}`), " · ", u.user_id),
          ),
        ),
      ),
    );
  }
  const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "C", "0", "⌫"];
  return h(
    "main",
    { class: "login" },
    h("h1", null, t("enter_pin", { name: state.loginUser.name })),
    h("div", { class: "pin-dots", id: "pin-dots", "aria-label": t("pin") }, state.pin ? "●".repeat(state.pin.length) : "\u00a0"),
    h(
      "div",
      { class: "pinpad" },
      keys.map((k) => h("button", { class: "btn key", "data-key": k, onclick: () => pinKey(k) }, k)),
    ),
    h(
      "div",
      { class: "row" },
      h("button", { class: "btn", onclick: () => pinKey("back") }, t("back"), h("kbd", null, "Esc")),
      h("button", { class: "btn primary", id: "pin-ok", onclick: () => void login() }, t("ok"), h("kbd", null, "Enter")),
    ),
  );
}

function shiftView(): HTMLElement {
  return h(
    "main",
    { class: "centered" },
    h("h1", null, t("open_shift")),
    h("label", { for: "float-input" }, t("opening_float")),
    h("input", {
      id: "float-input",
      class: "big-input",
      inputmode: "decimal",
      value: state.float,
      "data-autofocus": true,
      oninput: (e: Event) => (state.float = (e.target as HTMLInputElement).value),
      onkeydown: (e: KeyboardEvent) => {
        if (e.key === "Enter") void openShift();
      },
    }),
    h(
      "div",
      { class: "row" },
      ["0", "200", "500", "1000"].map((v) =>
        h("button", { class: "btn", onclick: () => ((state.float = v), render()) }, money(v)),
      ),
    ),
    numpad(AMOUNT, () => state.float, (v) => (state.float = v), "float-input", () => void openShift()),
    h("button", { class: "btn primary wide", id: "open-shift", onclick: () => void openShift() }, t("open_shift"), h("kbd", null, "Enter")),
  );
}

async function openShift(): Promise<void> {
  await act(async () => {
    state.shift = await api.openShift(state.float.trim() || "0");
    await ensureCart();
    go("sale");
  });
}

function fkeyButton(key: string, label: string, onclick: () => void, opts: { id?: string; primary?: boolean; disabled?: boolean } = {}): HTMLElement {
  return h(
    "button",
    { class: `btn fkey${opts.primary ? " primary" : ""}`, id: opts.id, disabled: opts.disabled, onclick },
    h("kbd", null, key),
    h("span", null, label),
  );
}

function saleView(): HTMLElement {
  const c = state.cart;
  const lines = c?.lines ?? [];
  const L = lang();
  const lineRows = lines.map((l) =>
    h(
      "tr",
      {
        class: `${l.line.voided ? "voided" : ""} ${l.line.line_id === state.selectedLine ? "selected" : ""}`,
        "data-line": l.line.line_id,
        onclick: () => {
          if (!l.line.voided) {
            state.selectedLine = l.line.line_id;
            render();
          }
        },
      },
      h("td", { class: "name" }, pname(l.line), h("div", { class: "sub" }, l.line.sku, l.line.barcode ? ` · ${l.line.barcode}` : "")),
      h(
        "td",
        { class: "qty" },
        l.line.voided || l.line.unit === "kg"
          ? formatQty(l.line.qty, l.line.unit, L)
          : [
              h("button", { class: "btn tiny", onclick: (e: Event) => (e.stopPropagation(), (state.selectedLine = l.line.line_id), void changeQty(-1)) }, "−"),
              h("span", { class: "qty-val" }, formatQty(l.line.qty, l.line.unit, L)),
              h("button", { class: "btn tiny", onclick: (e: Event) => (e.stopPropagation(), (state.selectedLine = l.line.line_id), void changeQty(1)) }, "+"),
            ],
      ),
      h("td", { class: "num" }, money(l.unit_price)),
      h(
        "td",
        { class: "num" },
        money(l.amounts.total),
        toCents(l.amounts.gross) !== toCents(l.amounts.total)
          ? h("div", { class: "sub strike" }, money(l.amounts.gross))
          : null,
      ),
    ),
  );
  const totals = c?.totals;
  const promos = c?.promotions ?? [];
  return h(
    "main",
    { class: "sale" },
    h(
      "section",
      { class: "left" },
      h(
        "div",
        { class: "scanbar" },
        h("input", {
          id: "code-input",
          class: "big-input",
          placeholder: t("code_placeholder"),
          autocomplete: "off",
          value: state.codeText,
          oninput: (e: Event) => (state.codeText = (e.target as HTMLInputElement).value),
          onkeydown: (e: KeyboardEvent) => {
            if (e.key !== "Enter") return;
            const el = e.target as HTMLInputElement;
            const code = el.value.trim();
            el.value = "";
            state.codeText = "";
            if (code) void scanCode(code);
          },
        }),
        h("div", { class: "hint" }, t("scan_hint")),
      ),
      h(
        "div",
        { class: `scan-status ${state.scan?.kind ?? ""}`, id: "scan-status", role: "status", "aria-live": "polite" },
        state.scan?.text ?? "\u00a0",
      ),
      h(
        "div",
        { class: "lines" },
        lines.length
          ? h(
              "table",
              { id: "cart-lines" },
              h("thead", null, h("tr", null, h("th", null, t("item")), h("th", null, t("qty")), h("th", { class: "num" }, t("price")), h("th", { class: "num" }, t("amount")))),
              h("tbody", null, lineRows),
            )
          : h("div", { class: "empty" }, t("cart_empty")),
      ),
    ),
    h(
      "aside",
      { class: "right" },
      memberPanel(),
      h(
        "div",
        { class: "totals", id: "totals" },
        h("div", { class: "trow" }, h("span", null, t("subtotal")), h("span", null, money(totals?.subtotal))),
        totals && toCents(totals.discount_total) !== 0n
          ? h("div", { class: "trow discount" }, h("span", null, t("discounts")), h("span", null, money(`-${totals.discount_total}`.replace("--", ""))))
          : null,
        h("div", { class: "trow" }, h("span", null, t("tax")), h("span", null, money(totals?.tax))),
        (c?.tax_summary ?? []).map((s) =>
          h("div", { class: "trow sub" }, h("span", null, t("tax_rate", { rate: formatRate(s.rate) })), h("span", null, money(s.tax))),
        ),
        h("div", { class: "trow grand" }, h("span", null, t("total")), h("span", { id: "grand-total" }, money(c?.payment.due ?? totals?.total))),
        h("div", { class: "trow sub" }, h("span", null, t("items_n", { n: formatQty(c?.item_count ?? "0", "piece", L) }))),
      ),
      promos.length
        ? h(
            "div",
            { class: "panel", id: "promotions" },
            h("h3", null, t("promotions")),
            promos.map((p) =>
              h(
                "div",
                { class: "promo" },
                h("div", { class: "trow" }, h("span", null, L === "en" ? p.rule_name_en || p.rule_name : p.rule_name), h("span", { class: "discount" }, `-${money(p.total)}`)),
                h(
                  "div",
                  { class: "sub" },
                  p.lines
                    .map((pl) => {
                      const line = lines.find((l) => l.line.line_id === pl.line_id);
                      return line ? `${pname(line.line)} ${t("promo_saves", { amount: money(pl.amount) })}` : "";
                    })
                    .filter(Boolean)
                    .join(" · "),
                ),
              ),
            ),
          )
        : null,
      (c?.coupons.length ?? 0) + (c?.coupon_problems.length ?? 0) > 0
        ? h(
            "div",
            { class: "panel", id: "coupons" },
            h("h3", null, t("coupons")),
            c!.coupons.map((cp) =>
              h(
                "div",
                { class: "trow" },
                h("span", null, L === "en" ? cp.name_en || cp.name : cp.name),
                h("span", { class: "discount" }, `-${money(cp.amount)}`),
                h("button", { class: "btn tiny", onclick: () => void act(async () => setCart(await api.removeCoupon(c!.cart_id, cp.code))) }, t("remove")),
              ),
            ),
            c!.coupon_problems.map((cp) =>
              h(
                "div",
                { class: "trow warn" },
                h("span", null, L === "en" ? cp.message_en : cp.message_zh),
                h("button", { class: "btn tiny", onclick: () => void act(async () => setCart(await api.removeCoupon(c!.cart_id, cp.code))) }, t("remove")),
              ),
            ),
          )
        : null,
      c && c.tenders.length
        ? h(
            "div",
            { class: "panel" },
            h("h3", null, t("payments")),
            c.tenders.map((tn) => h("div", { class: "trow" }, h("span", null, t(tn.kind)), h("span", null, money(tn.amount)))),
            h("div", { class: "trow" }, h("span", null, t("remaining")), h("span", null, money(c.payment.remaining))),
          )
        : null,
    ),
    h(
      "nav",
      { class: "fkeys" },
      fkeyButton("F1", t("f1_help"), () => (openDialog({ type: "help" }), render())),
      fkeyButton("F2", t("f2_search"), () => (openDialog({ type: "search", q: "", results: null }), render()), { id: "btn-search" }),
      fkeyButton("F3", t("f3_coupon"), () => (openDialog({ type: "coupon" }), render())),
      fkeyButton("F4", t("f4_pay"), () => (openDialog({ type: "tender", kind: "cash" }), render()), { id: "btn-pay", disabled: !activeLines().length, primary: !isPaid() && activeLines().length > 0 }),
      fkeyButton("F5", t("f5_member"), () => (openDialog({ type: "member", q: "", results: null }), render()), { id: "btn-member" }),
      fkeyButton("F6", t("f6_qty"), () => {
        const line = activeLines().find((l) => l.line.line_id === state.selectedLine);
        if (line) (openDialog({ type: "qty", line }), render());
      }, { disabled: state.selectedLine === null }),
      fkeyButton("F7", t("f7_park"), () => void openParked(), { id: "btn-park" }),
      fkeyButton("F8", t("f8_void_line"), () => void voidSelected(), { id: "btn-void-line", disabled: state.selectedLine === null }),
      fkeyButton("F9", t("f9_void_cart"), () => (openDialog({ type: "void_cart" }), render()), { disabled: !activeLines().length }),
      fkeyButton("F10", t("f10_close_shift"), () => (go("close"), render()), { id: "btn-close-shift" }),
      fkeyButton("F11", t("f11_returns"), () => void goTo("returns"), { id: "btn-returns" }),
      fkeyButton("F12", t("f12_complete"), () => void complete(), { id: "btn-complete", primary: isPaid(), disabled: !isPaid() }),
    ),
  );
}

function dialogView(): Child {
  const d = state.dialog;
  if (!d) return null;
  const close = () => ((state.dialog = null), render());
  let title = "";
  let body: Child = null;
  switch (d.type) {
    case "help":
      title = t("help_title");
      body = h("pre", { class: "help" }, t("help_body"));
      break;
    case "search":
      title = t("search_title");
      body = [
        h("input", {
          id: "search-input",
          class: "big-input",
          placeholder: t("search_placeholder"),
          value: d.q,
          "data-autofocus": true,
          oninput: (e: Event) => {
            d.q = (e.target as HTMLInputElement).value;
            searchSoon(d);
          },
          onkeydown: (e: KeyboardEvent) => {
            if (e.key === "Enter" && d.results?.length) void addProduct(d.results[0]);
          },
        }),
        h(
          "div",
          { class: "results" },
          d.results === null
            ? null
            : d.results.length
              ? d.results.map((p) =>
                  h(
                    "button",
                    { class: "btn result", onclick: () => void addProduct(p) },
                    h("span", null, pname(p)),
                    h("span", { class: "sub" }, p.sku, " · ", p.unit === "kg" ? `${money(p.price)}/kg` : money(p.price)),
                  ),
                )
              : h("div", { class: "empty" }, t("no_results")),
        ),
      ];
      break;
    case "weight":
    case "qty": {
      const isW = d.type === "weight";
      title = isW ? t("weight_title", { name: pname(d.product) }) : t("new_qty", { name: pname(d.line.line) });
      const submit = () => {
        const v = state.dialogInput.trim();
        if (!v) return;
        if (d.type === "weight") {
          if (d.code) void scanCode(d.code, v);
          else void addProduct(d.product, v);
        } else {
          const cart = state.cart!;
          void act(async () => {
            setCart(await api.setQty(cart.cart_id, d.line.line.line_id, v));
            state.dialog = null;
          });
        }
      };
      body = h(
        "div",
        { class: "pad-row" },
        h(
          "div",
          { class: "pad-main" },
          h("label", { for: "dialog-input" }, isW ? t("weight_kg") : t("qty")),
          h("input", {
            id: "dialog-input",
            class: "big-input",
            inputmode: "decimal",
            "data-autofocus": true,
            value: state.dialogInput,
            oninput: (e: Event) => (state.dialogInput = (e.target as HTMLInputElement).value),
            onkeydown: (e: KeyboardEvent) => e.key === "Enter" && submit(),
          }),
          isW
            ? h("button", { class: "btn wide", id: "weight-scale", onclick: () => void weighOnScale() }, h("kbd", null, "F7"), t("read_scale"))
            : null,
          isW && state.weighNote ? notice(state.weighNote, "weight-note") : null,
          h("button", { class: "btn primary wide", id: "dialog-ok", onclick: submit }, t("ok"), h("kbd", null, "Enter")),
        ),
        numpad(isW || d.type === "qty" && d.line.line.unit === "kg" ? QTY : WHOLE, () => state.dialogInput, (v) => (state.dialogInput = v), "dialog-input"),
      );
      break;
    }
    case "coupon": {
      title = t("coupons");
      const submit = () => {
        const code = state.dialogInput.trim();
        const cart = state.cart;
        if (!code || !cart) return;
        void act(async () => {
          setCart(await api.addCoupon(cart.cart_id, code));
          state.dialog = null;
        });
      };
      body = [
        h("input", {
          id: "dialog-input",
          class: "big-input",
          placeholder: t("coupon_code"),
          "data-autofocus": true,
          value: state.dialogInput,
          oninput: (e: Event) => (state.dialogInput = (e.target as HTMLInputElement).value),
          onkeydown: (e: KeyboardEvent) => e.key === "Enter" && submit(),
        }),
        h("button", { class: "btn primary wide", onclick: submit }, t("add_coupon"), h("kbd", null, "Enter")),
      ];
      break;
    }
    case "void_cart":
      title = t("void_cart_confirm");
      body = h(
        "div",
        { class: "row" },
        h("button", { class: "btn", "data-autofocus": true, onclick: close }, t("cancel"), h("kbd", null, "Esc")),
        h(
          "button",
          {
            class: "btn danger",
            onclick: () =>
              void act(async () => {
                await api.voidCart(state.cart!.cart_id);
                state.dialog = null;
                state.scan = null;
                setCart(await api.newCart());
              }),
          },
          t("f9_void_cart"),
        ),
      );
      break;
    case "tender":
      title = t("tender_title");
      body = tenderBody(d);
      break;
    case "member":
      title = t("member_title");
      body = memberDialogBody(d);
      break;
    case "parked":
      title = t("parked_title");
      body = parkedDialogBody(d);
      break;
  }
  return h(
    "div",
    { class: "overlay", onclick: (e: Event) => e.target === e.currentTarget && close() },
    h(
      "div",
      { class: `dialog ${d.type}`, role: "dialog", "aria-modal": "true", id: `dialog-${d.type}` },
      h("div", { class: "dialog-head" }, h("h2", null, title), h("button", { class: "btn small", onclick: close }, t("close"), h("kbd", null, "Esc"))),
      errorBar(),
      body,
    ),
  );
}

function tenderBody(d: { kind: TenderKind }): Child {
  const c = state.cart!;
  const p = c.payment;
  const paid = isPaid();
  const summary = h(
    "div",
    { class: "pay-summary" },
    h("div", { class: "big-figure" }, h("span", null, t("due")), h("strong", { id: "pay-due" }, money(p.due))),
    h("div", { class: "big-figure" }, h("span", null, t("paid")), h("strong", null, money(p.paid))),
    h("div", { class: `big-figure ${paid ? "" : "accent"}` }, h("span", null, t("remaining")), h("strong", { id: "pay-remaining" }, money(p.remaining))),
    h("div", { class: `big-figure ${toCents(p.change) > 0n ? "accent" : ""}` }, h("span", null, t("change")), h("strong", { id: "pay-change" }, money(p.change))),
  );
  const tabs = h(
    "div",
    { class: `tabs n${tendersNow().length}` },
    tendersNow().map((k) =>
      h(
        "button",
        {
          class: `btn tab ${d.kind === k ? "active" : ""}`,
          "data-tender": k,
          onclick: () => ((d.kind = k), render(), focusSoon(k === "cash" ? "tender-amount" : k === "points" ? "tender-points" : "tender-ref")),
        },
        h("kbd", null, TENDER_KEYS[k]),
        t(k),
      ),
    ),
  );
  let form: Child;
  if (paid) {
    form = h("div", { class: "paid-note" }, t("paid_in_full"));
  } else if (d.kind === "cash") {
    form = [
      h("div", { class: "label" }, t("quick_cash")),
      h(
        "div",
        { class: "quick-cash" },
        c.quick_cash.map((q) => h("button", { class: "btn quick", "data-amount": q, onclick: () => void addTender("cash", q) }, money(q))),
      ),
      h("label", { for: "tender-amount" }, t("other_amount")),
      h(
        "div",
        { class: "row" },
        h("input", {
          id: "tender-amount",
          class: "big-input",
          inputmode: "decimal",
          placeholder: p.cash_due,
          "data-autofocus": true,
          value: state.tenderAmount,
          oninput: (e: Event) => (state.tenderAmount = (e.target as HTMLInputElement).value),
          onkeydown: (e: KeyboardEvent) => e.key === "Enter" && void addTender("cash", state.tenderAmount || p.cash_due),
        }),
        h("button", { class: "btn primary", id: "add-cash", onclick: () => void addTender("cash", state.tenderAmount || p.cash_due) }, t("add_payment"), h("kbd", null, "Enter")),
      ),
    ];
  } else if (d.kind === "points") {
    const m = state.member;
    const submit = (all: boolean) => void addPoints(all ? undefined : state.tenderPoints.trim());
    form = [
      h(
        "div",
        { class: "trow" },
        h("span", null, t("points_balance")),
        h("strong", { id: "points-balance" }, m ? m.points.toLocaleString(lang()) : "…"),
      ),
      h("label", { for: "tender-points" }, t("points_to_use")),
      h(
        "div",
        { class: "row" },
        h("input", {
          id: "tender-points",
          class: "big-input",
          inputmode: "numeric",
          autocomplete: "off",
          "data-autofocus": true,
          value: state.tenderPoints,
          oninput: (e: Event) => (state.tenderPoints = (e.target as HTMLInputElement).value.replace(/\D/g, "")),
          onkeydown: (e: KeyboardEvent) => e.key === "Enter" && submit(false),
        }),
        h("button", { class: "btn primary", id: "add-points", onclick: () => submit(false) }, t("add_payment"), h("kbd", null, "Enter")),
      ),
      h("button", { class: "btn wide", id: "all-points", onclick: () => submit(true) }, t("use_all_points")),
      h("div", { class: "hint" }, t("points_hint")),
    ];
  } else {
    const submit = () => void addTender(d.kind, state.tenderAmount || p.non_cash_due);
    form = [
      h("label", { for: "tender-amount" }, t("amount")),
      h("input", {
        id: "tender-amount",
        class: "big-input",
        inputmode: "decimal",
        placeholder: p.non_cash_due,
        value: state.tenderAmount,
        oninput: (e: Event) => (state.tenderAmount = (e.target as HTMLInputElement).value),
        onkeydown: (e: KeyboardEvent) => e.key === "Enter" && submit(),
      }),
      h("label", { for: "tender-ref" }, t("reference")),
      h(
        "div",
        { class: "row" },
        h("input", {
          id: "tender-ref",
          class: "big-input",
          autocomplete: "off",
          "data-autofocus": true,
          value: state.tenderRef,
          oninput: (e: Event) => (state.tenderRef = (e.target as HTMLInputElement).value),
          onkeydown: (e: KeyboardEvent) => e.key === "Enter" && submit(),
        }),
        h("button", { class: "btn primary", onclick: submit }, t("add_payment"), h("kbd", null, "Enter")),
      ),
    ];
  }
  return [
    summary,
    tabs,
    h(
      "div",
      { class: "tender-form pad-row" },
      h("div", { class: "pad-main" }, form),
      paid
        ? null
        : d.kind === "points"
          ? numpad(WHOLE, () => state.tenderPoints, (v) => (state.tenderPoints = v), "tender-points")
          : numpad(AMOUNT, () => state.tenderAmount, (v) => (state.tenderAmount = v), "tender-amount"),
    ),
    c.tenders.length
      ? h(
          "div",
          { class: "tender-list", id: "tender-list" },
          h("h3", null, t("payments")),
          c.tenders.map((tn) =>
            h(
              "div",
              { class: "trow" },
              h("span", null, t(tn.kind), tn.reference ? ` · ${tn.reference}` : "", pointsOf(tn) ? ` · ${t("points_n", { n: pointsOf(tn).toLocaleString(lang()) })}` : ""),
              h("span", null, money(tn.amount)),
              h("button", { class: "btn tiny", onclick: () => void act(async () => setCart(await api.removeTender(c.cart_id, tn.tender_id))) }, t("remove")),
            ),
          ),
        )
      : null,
    h("button", { class: `btn wide ${paid ? "primary" : ""}`, id: "tender-complete", disabled: !paid, onclick: () => void complete() }, h("kbd", null, "F12"), t("complete")),
  ];
}

let searchTimer: ReturnType<typeof setTimeout> | null = null;
function searchSoon(d: { q: string; results: Product[] | null }): void {
  if (searchTimer) clearTimeout(searchTimer);
  searchTimer = setTimeout(async () => {
    const q = d.q.trim();
    if (!q) {
      d.results = null;
    } else {
      try {
        d.results = await api.products(q, 20);
      } catch (e) {
        showError(e);
        return;
      }
    }
    if (state.dialog === d) render();
  }, 200);
}

function receiptView(): HTMLElement {
  const r = state.receipt!;
  return h(
    "main",
    { class: "receipt-screen" },
    h(
      "section",
      { class: "receipt-info" },
      h("h1", null, t("sale_complete")),
      h("div", { class: "receipt-no", id: "receipt-no" }, t("receipt_no", { receipt: r.no })),
      h("div", { class: "big-figure" }, h("span", null, t("total")), h("strong", null, money(r.total))),
      toCents(r.change) > 0n ? h("div", { class: "change-due", id: "change-due" }, t("give_change", { amount: money(r.change) })) : null,
      notice(state.printNotice, "print-status"),
      h("button", { class: "btn wide", id: "reprint", onclick: () => void reprintReceipt() }, h("kbd", null, "F8"), t("print_again")),
      h("button", { class: "btn primary wide", id: "new-sale", "data-autofocus": true, onclick: () => void newSale() }, t("new_sale"), h("kbd", null, "Enter")),
    ),
    h(
      "section",
      { class: "receipt-preview" },
      r.preview
        ? h("img", { id: "receipt-preview", src: r.preview, alt: t("receipt_no", { receipt: r.no }) })
        : h("div", { class: r.previewError ? "error-bar" : "hint" }, r.previewError ?? t("loading_preview")),
    ),
  );
}

function closeView(): HTMLElement {
  return h(
    "main",
    { class: "centered close-shift" },
    h("h1", null, t("close_shift_title")),
    h(
      "table",
      { class: "denoms" },
      h("thead", null, h("tr", null, h("th", null, t("denomination")), h("th", null, t("count")), h("th", { class: "num" }, t("amount")))),
      h(
        "tbody",
        null,
        DENOMINATIONS.map((d, i) => {
          const n = parseInt(state.counts[d] ?? "", 10);
          return h(
            "tr",
            null,
            h("td", null, money(d)),
            h(
              "td",
              null,
              h("input", {
                class: "count-input",
                id: `count-${d}`,
                inputmode: "numeric",
                "data-denom": d,
                "data-autofocus": i === 0 || undefined,
                value: state.counts[d] ?? "",
                oninput: (e: Event) => {
                  state.counts[d] = (e.target as HTMLInputElement).value.replace(/\D/g, "");
                  const cell = document.getElementById(`sum-${d}`);
                  const c = parseInt(state.counts[d], 10);
                  if (cell) cell.textContent = money(Number.isFinite(c) && c > 0 ? addMoney(...Array<string>(Math.min(c, 100000)).fill(d)) : "0");
                  const tot = document.getElementById("counted-total");
                  if (tot) tot.textContent = money(countedTotal());
                },
                onkeydown: (e: KeyboardEvent) => {
                  if (e.key === "Enter") {
                    const next = document.getElementById(`count-${DENOMINATIONS[i + 1]}`);
                    if (next) next.focus();
                    else void closeShift();
                  }
                },
              }),
            ),
            h("td", { class: "num", id: `sum-${d}` }, money(Number.isFinite(n) && n > 0 ? addMoney(...Array<string>(Math.min(n, 100000)).fill(d)) : "0")),
          );
        }),
      ),
      h("tfoot", null, h("tr", null, h("th", null, t("counted_total")), h("th", null), h("th", { class: "num", id: "counted-total" }, money(countedTotal())))),
    ),
    h(
      "div",
      { class: "row" },
      h("button", { class: "btn", onclick: () => (go("sale"), render()) }, t("back"), h("kbd", null, "Esc")),
      h("button", { class: "btn primary", id: "close-shift", onclick: () => void closeShift() }, t("close_and_report")),
    ),
  );
}

function zView(): HTMLElement {
  const z = state.z as ShiftReport;
  return h(
    "main",
    { class: "reports zreport", id: "z-report" },
    h(
      "div",
      { class: "screen-head" },
      h("h1", null, t("z_report", { n: z.z_no ?? "" })),
      h(
        "div",
        { class: "row" },
        h("button", { class: "btn", id: "z-print", onclick: () => void printClosedZ() }, h("kbd", null, "F8"), t("print_report")),
        h("button", { class: "btn primary", id: "z-done", "data-autofocus": true, onclick: () => void logout() }, t("done"), h("kbd", null, "Enter")),
      ),
    ),
    notice(state.rep.notice, "report-notice"),
    reportBody(z),
  );
}

/** The button says "close shift & print Z report": print it (no printer is a note, not an error). */
async function printZAfterClose(): Promise<void> {
  const z = state.z;
  if (!z || z.z_no === null) return;
  try {
    state.rep.notice = printerNotice(await mx.printZ(z.z_no, apiLang()));
  } catch (e) {
    const err = toApiError(e);
    state.rep.notice = { kind: "warn", text: err.code === "no_printer" ? t("no_printer_set_up") : errText(e) };
  }
  render();
}

async function printClosedZ(): Promise<void> {
  const z = state.z;
  if (!z || z.z_no === null) return;
  await act(async () => {
    state.rep.notice = printerNotice(await mx.printZ(z.z_no!, apiLang()));
  });
}

// ---------------------------------------------------------------- navigation

type NavItem = { screen: Screen; label: string; disabled: boolean; key: number };

/** The screens a signed-in user can reach; each keeps its Alt+number whatever the role. */
function navItems(): NavItem[] {
  const role = state.user?.role;
  const seller = role === "cashier" || role === "manager";
  const all: (NavItem & { allowed: boolean })[] = [
    { screen: "sale", label: t("nav_sale"), disabled: !state.shift, key: 1, allowed: seller },
    { screen: "returns", label: t("nav_returns"), disabled: !state.shift, key: 2, allowed: seller },
    { screen: "reports", label: t("nav_reports"), disabled: false, key: 3, allowed: seller },
    { screen: "devices", label: t("nav_devices"), disabled: false, key: 4, allowed: role === "manager" || role === "installer" },
    { screen: "sync", label: t("nav_sync"), disabled: false, key: 5, allowed: seller },
  ];
  return all.filter((i) => i.allowed);
}

/** Go to a screen, loading what it shows. */
async function goTo(s: Screen): Promise<void> {
  if (s === "sale") {
    await act(async () => {
      if (!state.cart) await ensureCart();
      go("sale");
    });
    return;
  }
  go(s);
  state.error = null;
  if (s === "returns") {
    if (state.ret.done) resetReturn();
    render();
    focusSoon("ret-input");
  } else if (s === "reports") {
    state.rep.tab = state.shift ? "x" : "z";
    state.rep.notice = null;
    render();
    await loadReports();
  } else if (s === "devices") {
    Object.assign(state.dev, { notice: null, configNotice: null, scale: null, scan: null, scanInput: "" });
    render();
    await loadDevices();
  } else if (s === "sync") {
    state.syncNotice = null;
    render();
    await loadSync();
  } else {
    render();
  }
}

/** Esc on a secondary screen: back to the sale (or the shift screen). */
function back(): void {
  if (state.user?.role === "installer") return;
  void goTo(state.shift ? "sale" : "shift");
}

function screenKey(e: KeyboardEvent): void {
  const k = e.key;
  if (k === "Escape") {
    e.preventDefault();
    back();
    return;
  }
  if (state.screen === "returns") {
    if (k === "F12") void confirmReturn();
    else if (k === "F8" && state.ret.done) void reprintReturn();
    else if (k === "F5" && state.ret.done) {
      resetReturn();
      render();
      focusSoon("ret-input");
    }
  } else if (state.screen === "reports") {
    if (k === "F5") void setReportTab("x");
    else if (k === "F6") void setReportTab("z");
    else if (k === "F8") void printReport();
    else if (k === "F9") void loadReports();
  } else if (state.screen === "devices") {
    if (k === "F5") void devTestPrint();
    else if (k === "F6") void devTestDisplay();
    else if (k === "F7") void devReadScale();
    else if (k === "F8") void devSerialScan();
    else if (k === "F9") void loadDevices();
    else if (k === "F12") void saveDevices();
  } else if (state.screen === "sync") {
    if (k === "F5") void syncNow();
    else if (k === "F6") void loadSync();
  }
}

function navBar(): Child {
  const items = navItems();
  if (!items.length) return null;
  return h(
    "nav",
    { class: "screens", "aria-label": t("nav_label") },
    items.map((it) =>
      h(
        "button",
        {
          class: `btn small nav${state.screen === it.screen || (it.screen === "sale" && state.screen === "receipt") ? " active" : ""}`,
          id: `nav-${it.screen}`,
          disabled: it.disabled,
          onclick: () => void goTo(it.screen),
        },
        h("kbd", null, `Alt+${it.key}`),
        it.label,
      ),
    ),
  );
}

function clearNotices(): void {
  state.scan = null;
  state.error = null;
  state.printNotice = null;
  state.syncNotice = null;
  state.rep.notice = null;
  Object.assign(state.dev, { notice: null, configNotice: null, scale: null, scan: null });
}

function notice(n: Notice | null, id?: string): Child {
  if (!n) return null;
  return h("div", { class: `notice ${n.kind}`, id, role: "status" }, n.text, n.detail ? h("pre", null, n.detail) : null);
}

function errText(e: unknown): string {
  const err = toApiError(e);
  return errorMessage(lang(), err.code, err.message);
}

function apiLang(): "zh" | "en" {
  return lang() === "en" ? "en" : "zh";
}

function tierName(tier: string): string {
  const key = `tier_${tier}`;
  const s = t(key);
  return s === key ? tier : s;
}

// ---------------------------------------------------------------- number pad

/**
 * An on-screen number pad bound to a value: each key updates the value (and the input with
 * `inputId`, without re-rendering, so focus and the wedge stay where they are).
 */
function numpad(opts: NumpadOptions, get: () => string, set: (v: string) => void, inputId?: string, onEnter?: () => void): HTMLElement {
  return h(
    "div",
    { class: "numpad", "data-pad": inputId ?? "" },
    padKeys(opts).map((k) =>
      h(
        "button",
        {
          class: `btn key${k === "C" || k === "⌫" ? " fn" : ""}${k === "⌫" && opts.decimals > 0 ? " span2" : ""}`,
          "data-key": k,
          tabindex: "-1",
          onmousedown: (e: Event) => e.preventDefault(),
          onclick: () => {
            const v = numpadKey(get(), k, opts);
            set(v);
            const el = inputId ? document.getElementById(inputId) : null;
            if (el instanceof HTMLInputElement) {
              el.value = v;
              el.dispatchEvent(new Event("input", { bubbles: true }));
            }
          },
        },
        k,
      ),
    ),
    onEnter ? h("button", { class: "btn key ok primary", "data-key": "ok", tabindex: "-1", onclick: onEnter }, t("ok")) : null,
  );
}

// ---------------------------------------------------------------- members

let memberTimer: ReturnType<typeof setTimeout> | null = null;
function memberSearchSoon(d: { q: string; results: Member[] | null }): void {
  if (memberTimer) clearTimeout(memberTimer);
  memberTimer = setTimeout(async () => {
    const q = d.q.trim();
    if (!q) d.results = null;
    else {
      try {
        d.results = await mx.members(q, 10);
      } catch (e) {
        showError(e);
        return;
      }
    }
    if (state.dialog === d) render();
  }, 250);
}

async function attachMember(m: Member): Promise<void> {
  const cart = state.cart;
  if (!cart) return;
  await act(async () => {
    state.member = m;
    setCart(await mx.attachMember(cart.cart_id, m.member_id));
    state.scan = { kind: "ok", text: t("scan_member", { name: m.name }) };
    state.dialog = null;
  });
}

async function detachMember(): Promise<void> {
  const cart = state.cart;
  if (!cart) return;
  await act(async () => {
    setCart(await mx.detachMember(cart.cart_id));
    state.member = null;
  });
}

function memberPanel(): Child {
  const c = state.cart;
  if (!c?.member_id) return null;
  const m = state.member;
  return h(
    "div",
    { class: "panel member", id: "member-panel" },
    h("div", { class: "trow" }, h("h3", null, t("member")), h("button", { class: "btn tiny", id: "member-detach", onclick: () => void detachMember() }, t("detach"))),
    m
      ? [
          h("div", { class: "trow" }, h("strong", { id: "member-name" }, m.name), h("span", { class: `pill tier ${m.tier}` }, tierName(m.tier))),
          h("div", { class: "trow sub" }, h("span", null, t("phone")), h("span", { id: "member-phone" }, m.phone_masked)),
          h("div", { class: "trow sub" }, h("span", null, t("points")), h("span", { id: "member-points" }, m.points.toLocaleString(lang()))),
          m.next_tier && m.next_tier !== m.tier && m.points_to_next_tier
            ? h("div", { class: "trow sub" }, t("next_tier", { tier: tierName(m.next_tier), n: m.points_to_next_tier.toLocaleString(lang()) }))
            : null,
          walletView(),
        ]
      : h("div", { class: "sub" }, c.member_id),
  );
}

/** The member's coupons: the ones that apply with a button, the others with why not. */
function walletView(): Child {
  const w = state.wallet;
  if (!w) return null;
  const L = lang();
  return h(
    "div",
    { class: "wallet", id: "wallet" },
    h("div", { class: "label" }, t("wallet"), w.length ? ` (${w.length})` : ""),
    w.length
      ? w.slice(0, 6).map((c) => {
          const name = (L === "en" ? c.name_en || c.name : c.name) || c.code.slice(0, 12);
          const usable = c.status === "applies" || c.status === "usable";
          return h(
            "div",
            { class: `trow wallet-item ${c.status}`, "data-coupon": c.code },
            h(
              "span",
              null,
              name,
              c.status === "applies" && c.amount ? h("span", { class: "discount" }, ` -${money(c.amount)}`) : null,
              c.status === "in_cart" ? h("span", { class: "sub" }, ` · ${t("wallet_in_cart")}`) : null,
              !usable && c.status !== "in_cart" ? h("div", { class: "sub" }, (L === "en" ? c.message_en : c.message_zh) || t("wallet_not_usable")) : null,
              c.valid_until ? h("div", { class: "sub" }, t("valid_until", { at: formatDateTime(c.valid_until, L, state.utcOffset) })) : null,
            ),
            usable ? h("button", { class: "btn tiny", onclick: () => void applyWalletCoupon(c.code) }, t("apply")) : null,
          );
        })
      : h("div", { class: "sub" }, t("wallet_empty")),
  );
}

function memberDialogBody(d: { q: string; results: Member[] | null }): Child {
  const submit = () => {
    if (d.results?.length) void attachMember(d.results[0]);
  };
  return [
    h(
      "div",
      { class: "pad-row" },
      h(
        "div",
        { class: "pad-main" },
        h("input", {
          id: "member-input",
          class: "big-input",
          placeholder: t("member_placeholder"),
          autocomplete: "off",
          value: d.q,
          "data-autofocus": true,
          oninput: (e: Event) => {
            d.q = (e.target as HTMLInputElement).value;
            memberSearchSoon(d);
          },
          onkeydown: (e: KeyboardEvent) => e.key === "Enter" && submit(),
        }),
        h(
          "div",
          { class: "results", id: "member-results" },
          d.results === null
            ? h("div", { class: "hint" }, t("member_hint"))
            : d.results.length
              ? d.results.map((m) =>
                  h(
                    "button",
                    { class: "btn result", "data-member": m.member_id, onclick: () => void attachMember(m) },
                    h("span", null, h("strong", null, m.name), " ", h("span", { class: `pill tier ${m.tier}` }, tierName(m.tier))),
                    h("span", { class: "sub" }, m.phone_masked, " · ", t("points_n", { n: m.points.toLocaleString(lang()) })),
                  ),
                )
              : h("div", { class: "empty" }, t("no_members")),
        ),
      ),
      numpad({ decimals: 0, maxLength: 20 }, () => d.q, (v) => {
        d.q = v;
        memberSearchSoon(d);
      }, "member-input", submit),
    ),
  ];
}

// ---------------------------------------------------------------- park / resume

async function openParked(): Promise<void> {
  const d: Dialog = { type: "parked", carts: null, label: "" };
  openDialog(d);
  render();
  try {
    d.carts = await mx.parked();
  } catch (e) {
    showError(e);
    return;
  }
  if (state.dialog === d) render();
}

async function parkCurrent(label: string): Promise<void> {
  const cart = state.cart;
  if (!cart || !activeLines().length) return;
  await act(async () => {
    await mx.park(cart.cart_id, label.trim());
    state.member = null;
    setCart(await api.newCart());
    state.scan = { kind: "ok", text: t("parked_ok") };
    state.dialog = null;
  });
}

async function resumeCart(id: string): Promise<void> {
  const cart = state.cart;
  await act(async () => {
    if (cart && cart.cart_id !== id) {
      if (activeLines().length) await mx.park(cart.cart_id, "");
      else await api.voidCart(cart.cart_id).catch(() => undefined);
    }
    setCart(await mx.resume(id));
    state.scan = { kind: "ok", text: t("resumed_ok") };
    state.dialog = null;
  });
}

function parkedDialogBody(d: { carts: Cart[] | null; label: string }): Child {
  const canPark = activeLines().length > 0 && !(state.cart?.tenders.length);
  return [
    canPark
      ? h(
          "div",
          { class: "row" },
          h("input", {
            id: "park-label",
            class: "big-input",
            placeholder: t("park_label"),
            autocomplete: "off",
            value: d.label,
            oninput: (e: Event) => (d.label = (e.target as HTMLInputElement).value),
            onkeydown: (e: KeyboardEvent) => {
              if (e.key === "Enter" || e.key === "F7") {
                e.preventDefault();
                void parkCurrent(d.label);
              }
            },
          }),
          h("button", { class: "btn primary", id: "park-current", "data-autofocus": true, onclick: () => void parkCurrent(d.label) }, h("kbd", null, "F7"), t("park_current")),
        )
      : h("div", { class: "hint" }, state.cart?.tenders.length ? t("park_paying") : t("park_empty")),
    h("h3", null, t("parked_carts")),
    h(
      "div",
      { class: "results", id: "parked-list" },
      d.carts === null
        ? h("div", { class: "hint" }, t("loading"))
        : d.carts.length
          ? d.carts.map((c, i) =>
              h(
                "button",
                { class: "btn result", "data-cart": c.cart_id, onclick: () => void resumeCart(c.cart_id) },
                h("span", null, (c as Cart & { label?: string }).label || t("parked_n", { n: i + 1 })),
                h("span", { class: "sub" }, t("items_n", { n: formatQty(c.item_count, "piece", lang()) }), " · ", money(c.payment.due ?? c.totals.total), " · ", t("resume")),
              ),
            )
          : h("div", { class: "empty" }, t("no_parked")),
    ),
  ];
}

// ---------------------------------------------------------------- returns

function resetReturn(): void {
  if (state.ret?.preview) URL.revokeObjectURL(state.ret.preview);
  state.ret = { input: "", lookup: null, rows: [], qty: {}, requestId: "", done: null, preview: null, focusLine: null };
}

function newRequestId(): string {
  return typeof crypto !== "undefined" && "randomUUID" in crypto ? crypto.randomUUID() : `r-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

async function lookupReceipt(input: string): Promise<void> {
  const q = input.trim();
  if (!q) return;
  await act(async () => {
    const r = state.ret;
    if (r.done) resetReturn();
    state.ret.input = q;
    const lookup = await mx.findSale(q);
    state.ret.lookup = lookup;
    state.ret.rows = returnRows(lookup.sale.lines, lookup.returnable);
    state.ret.qty = {};
    state.ret.requestId = newRequestId();
    state.ret.focusLine = state.ret.rows[0]?.line_id ?? null;
  });
  if (state.ret.rows.length) focusSoon(`ret-qty-${state.ret.rows[0].line_id}`);
}

async function confirmReturn(): Promise<void> {
  const r = state.ret;
  if (!r.lookup || r.done) return;
  const lines = returnLines(r.rows, r.qty);
  if (!lines) {
    state.error = t(r.rows.some((row) => returnQtyError(r.qty[row.line_id] ?? "", row)) ? "ret_fix_qty" : "ret_choose");
    render();
    return;
  }
  await act(async () => {
    const done = await mx.returnLines(r.lookup!.sale.receipt_no, lines, r.requestId);
    state.ret.done = done;
    void loadReturnPreview(done.sale.receipt_no);
  });
}

async function loadReturnPreview(no: string): Promise<void> {
  try {
    const blob = await api.previewPng(no, apiLang());
    if (state.ret.done?.sale.receipt_no === no) state.ret.preview = URL.createObjectURL(blob);
  } catch (e) {
    state.error = errText(e);
  }
  render();
}

async function reprintReturn(): Promise<void> {
  const done = state.ret.done;
  if (!done) return;
  await act(async () => {
    state.printNotice = printerNotice(await mx.reprint(done.sale.receipt_no));
  });
}

function returnsView(): HTMLElement {
  const r = state.ret;
  const L = lang();
  if (r.done) {
    const d = r.done;
    return h(
      "main",
      { class: "receipt-screen returns-done" },
      h(
        "section",
        { class: "receipt-info" },
        h("h1", null, t("return_done")),
        h("div", { class: "receipt-no", id: "return-no" }, t("receipt_no", { receipt: d.sale.receipt_no })),
        h("div", { class: "big-figure accent" }, h("span", null, t("refund_total")), h("strong", { id: "refund-total" }, money(d.sale.totals.total))),
        h(
          "div",
          { class: "panel", id: "refund-tenders" },
          h("h3", null, t("refund_to")),
          d.sale.tenders.map((tn) =>
            h(
              "div",
              { class: "trow" },
              h("span", null, t(tn.kind), tn.reference ? ` · ${tn.reference}` : "", pointsOf(tn) ? ` · ${t("points_n", { n: pointsOf(tn).toLocaleString(lang()) })}` : ""),
              h("span", null, money(tn.applied ?? tn.amount)),
            ),
          ),
        ),
        notice(state.printNotice, "print-status"),
        h(
          "div",
          { class: "row" },
          h("button", { class: "btn", onclick: () => void reprintReturn() }, h("kbd", null, "F8"), t("print_again")),
          h("button", { class: "btn", onclick: () => (resetReturn(), render(), focusSoon("ret-input")) }, h("kbd", null, "F5"), t("new_return")),
          h("button", { class: "btn primary", id: "return-back", "data-autofocus": true, onclick: () => back() }, h("kbd", null, "Esc"), t("back_to_sale")),
        ),
      ),
      h(
        "section",
        { class: "receipt-preview" },
        r.preview ? h("img", { id: "return-preview", src: r.preview, alt: d.sale.receipt_no }) : h("div", { class: "hint" }, t("loading_preview")),
      ),
    );
  }
  const lk = r.lookup;
  const focused = r.rows.find((row) => row.line_id === r.focusLine) ?? null;
  const lines = lk ? returnLines(r.rows, r.qty) : null;
  return h(
    "main",
    { class: "returns" },
    h(
      "section",
      { class: "left" },
      h("h1", null, t("returns_title")),
      h(
        "div",
        { class: "row" },
        h("input", {
          id: "ret-input",
          class: "big-input",
          placeholder: t("ret_placeholder"),
          autocomplete: "off",
          value: r.input,
          "data-autofocus": !lk || undefined,
          oninput: (e: Event) => (state.ret.input = (e.target as HTMLInputElement).value),
          onkeydown: (e: KeyboardEvent) => e.key === "Enter" && void lookupReceipt(state.ret.input),
        }),
        h("button", { class: "btn primary", id: "ret-find", onclick: () => void lookupReceipt(state.ret.input) }, t("find"), h("kbd", null, "Enter")),
      ),
      h("div", { class: "hint" }, t("ret_hint")),
      lk
        ? [
            h(
              "div",
              { class: "panel", id: "ret-sale" },
              h("div", { class: "trow" }, h("strong", null, t("receipt_no", { receipt: lk.sale.receipt_no })), h("span", null, formatDateTime(lk.sale.completed_at, L, state.utcOffset))),
              h("div", { class: "trow sub" }, h("span", null, t("sale_total")), h("span", null, money(lk.sale.totals.total))),
              h("div", { class: "trow sub" }, h("span", null, t("paid_with")), h("span", null, lk.sale.tenders.map((tn) => `${t(tn.kind)} ${money(tn.applied ?? tn.amount)}`).join(" · "))),
              lk.returns.length ? h("div", { class: "trow sub" }, h("span", null, t("earlier_returns")), h("span", null, lk.returns.join(", "))) : null,
              lk.voided ? h("div", { class: "trow warn" }, t("sale_was_voided")) : null,
            ),
            r.rows.length
              ? h(
                  "div",
                  { class: "lines" },
                  h(
                    "table",
                    { id: "ret-lines" },
                    h("thead", null, h("tr", null, h("th", null, t("item")), h("th", { class: "num" }, t("sold")), h("th", { class: "num" }, t("returnable")), h("th", null, t("ret_qty")), h("th", { class: "num" }, t("amount")))),
                    h(
                      "tbody",
                      null,
                      r.rows.map((row) => {
                        const q = r.qty[row.line_id] ?? "";
                        const err = returnQtyError(q, row);
                        return h(
                          "tr",
                          { class: `${row.line_id === r.focusLine ? "selected" : ""} ${err ? "bad" : ""}`, "data-line": row.line_id },
                          h("td", { class: "name" }, L === "en" && row.name_en ? row.name_en : row.name, err ? h("div", { class: "sub warn", id: `ret-err-${row.line_id}` }, t(err, { max: formatQty(row.max, row.unit, L) })) : null),
                          h("td", { class: "num" }, formatQty(row.sold, row.unit, L)),
                          h("td", { class: "num" }, formatQty(row.max, row.unit, L)),
                          h(
                            "td",
                            { class: "qty" },
                            row.unit === "kg"
                              ? null
                              : h("button", { class: "btn tiny", onclick: () => ((state.ret.qty[row.line_id] = stepQty(q, -1, row.max)), (state.ret.focusLine = row.line_id), render()) }, "−"),
                            h("input", {
                              class: "qty-input",
                              id: `ret-qty-${row.line_id}`,
                              inputmode: "decimal",
                              autocomplete: "off",
                              placeholder: "0",
                              value: q,
                              onfocus: () => {
                                if (state.ret.focusLine !== row.line_id) {
                                  state.ret.focusLine = row.line_id;
                                  render();
                                }
                              },
                              oninput: (e: Event) => {
                                state.ret.qty[row.line_id] = (e.target as HTMLInputElement).value.trim();
                              },
                              onchange: () => render(),
                              onkeydown: (e: KeyboardEvent) => {
                                if (e.key === "Enter") {
                                  e.preventDefault();
                                  render();
                                }
                              },
                            }),
                            row.unit === "kg"
                              ? null
                              : h("button", { class: "btn tiny", onclick: () => ((state.ret.qty[row.line_id] = stepQty(q, 1, row.max)), (state.ret.focusLine = row.line_id), render()) }, "+"),
                            h("button", { class: "btn tiny", "data-all": row.line_id, onclick: () => ((state.ret.qty[row.line_id] = row.max), render()) }, t("all")),
                          ),
                          h("td", { class: "num" }, money(row.total)),
                        );
                      }),
                    ),
                  ),
                )
              : h("div", { class: "empty" }, t("ret_nothing_left")),
          ]
        : null,
    ),
    h(
      "aside",
      { class: "right" },
      focused
        ? h(
            "div",
            { class: "panel" },
            h("h3", null, t("ret_qty_for", { name: L === "en" && focused.name_en ? focused.name_en : focused.name })),
            numpad(focused.unit === "kg" ? QTY : WHOLE, () => state.ret.qty[focused.line_id] ?? "", (v) => (state.ret.qty[focused.line_id] = v), `ret-qty-${focused.line_id}`, () => render()),
          )
        : null,
      h(
        "button",
        { class: "btn wide primary", id: "ret-confirm", disabled: !lines, onclick: () => void confirmReturn() },
        h("kbd", null, "F12"),
        t("ret_confirm"),
      ),
      h("button", { class: "btn wide", onclick: () => back() }, h("kbd", null, "Esc"), t("back_to_sale")),
    ),
  );
}

// ---------------------------------------------------------------- printing

function printerNotice(v: PrinterView): Notice {
  if (!v.configured) return { kind: "warn", text: t("no_printer_set_up") };
  const p = v.pending.find((j) => j.problem)?.problem ?? v.last_problem;
  if (p) return { kind: "warn", text: t("printer_waiting", { why: lang() === "en" ? p.message_en : p.message_zh }) };
  if (v.pending.length) return { kind: "ok", text: t("printing_n", { n: v.pending.length }) };
  return { kind: "ok", text: t("printed_ok") };
}

async function checkPrinter(): Promise<void> {
  try {
    // Give the print worker a moment, then say what happened to the receipt.
    await new Promise((r) => setTimeout(r, 600));
    const v = await mx.printer();
    state.printNotice = v.configured ? printerNotice(v) : null;
  } catch {
    state.printNotice = null;
  }
  render();
}

async function reprintReceipt(): Promise<void> {
  const r = state.receipt;
  if (!r) return;
  await act(async () => {
    state.printNotice = printerNotice(await mx.reprint(r.no));
  });
}

// ---------------------------------------------------------------- reports

async function loadReports(): Promise<void> {
  state.rep.loading = true;
  state.rep.notice = null;
  render();
  try {
    const [x, zs] = await Promise.all([state.shift ? mx.xReport().catch((e) => (toApiError(e).code === "no_open_shift" ? null : Promise.reject(e))) : Promise.resolve(null), mx.zReports()]);
    state.rep.x = x;
    state.rep.zs = zs;
    if (!state.rep.z && zs.length) state.rep.z = zs[0];
    else if (state.rep.z) state.rep.z = zs.find((z) => z.z_no === state.rep.z?.z_no) ?? zs[0] ?? null;
  } catch (e) {
    state.error = errText(e);
  } finally {
    state.rep.loading = false;
  }
  render();
}

async function setReportTab(tab: "x" | "z"): Promise<void> {
  state.rep.tab = tab;
  state.rep.notice = null;
  render();
}

async function printReport(): Promise<void> {
  const r = state.rep.tab === "x" ? state.rep.x : state.rep.z;
  if (!r) return;
  await act(async () => {
    const v = r.kind === "z" && r.z_no !== null ? await mx.printZ(r.z_no, apiLang()) : await mx.printX(apiLang());
    state.rep.notice = printerNotice(v);
  });
}

/** Charts to draw once the view is in the document (chart.js needs a laid-out canvas). */
let chartJobs: ChartSpec[] = [];

/**
 * chart.js is loaded the first time a report is shown (it is most of the bundle and only
 * managers' screens draw charts), so the sale screen starts lighter.
 */
type Charts = typeof import("./charts");
let charts: Charts | null = null;
let chartsLoading: Promise<Charts> | null = null;
/** The chart code failed to load: not asked for again until the page is reloaded. */
let chartsFailed = false;
function loadCharts(): Promise<Charts> {
  chartsLoading ??= import("./charts").then((m) => (charts = m));
  return chartsLoading;
}

function drawCharts(c: Charts, specs: ChartSpec[]): void {
  for (const spec of specs) {
    // A render since the job was queued may have replaced the canvas.
    if (!spec.canvas.isConnected) continue;
    try {
      c.drawChart(spec);
    } catch {
      /* a chart that cannot draw leaves its panel empty; the figures are beside it */
    }
  }
}

function chartBox(id: string, title: string, kind: "bar" | "hbar" | "doughnut", series: ReturnType<typeof hourSeries>): HTMLElement {
  const canvas = h("canvas", { id, "aria-label": title, role: "img" });
  if (series.values.length) {
    chartJobs.push({ canvas, kind, series, label: title, money: (n) => formatMoney(n.toFixed(2), lang()) });
  }
  return h(
    "div",
    { class: "panel chart" },
    h("h3", null, title),
    series.values.length ? h("div", { class: "chart-box" }, canvas) : h("div", { class: "empty" }, t("no_data")),
  );
}

/** A shift report: figures, cash and variance, and the three charts. */
function reportBody(r: ShiftReport): HTMLElement {
  const row = (k: string, v: string, id?: string) => h("div", { class: "trow" }, h("span", null, t(k)), h("span", { id }, v));
  const tone = varianceTone(r.cash.variance);
  return h(
    "div",
    { class: "report", id: `report-${r.kind}` },
    h(
      "div",
      { class: "kpis" },
      [
        ["sales_count", String(r.sales_count)],
        ["net_sales", money(r.net_sales)],
        ["returns_total", money(r.returns_total)],
        ["discounts", money(r.discounts)],
      ].map(([k, v]) => h("div", { class: "big-figure" }, h("span", null, t(k)), h("strong", { id: `kpi-${k}` }, v))),
    ),
    h(
      "div",
      { class: "report-grid" },
      h(
        "div",
        { class: "panel" },
        h("h3", null, t("summary")),
        row("shift", `${r.header.shift_no} · ${formatDateTime(r.header.opened_at, lang(), state.utcOffset)}`),
        row(r.kind === "z" ? "closed_at" : "report_at", formatDateTime(r.header.at, lang(), state.utcOffset), `report-at-${r.kind}`),
        row("gross_sales", money(r.gross_sales)),
        row("discounts", money(r.discounts)),
        row("returns_total", `${money(r.returns_total)} (×${r.returns_count})`),
        row("voided_total", `${money(r.voided_total)} (×${r.voided_count})`),
        row("net_sales", money(r.net_sales), `net-${r.kind}`),
        r.tax.map((x) => h("div", { class: "trow sub" }, h("span", null, t("tax_rate", { rate: formatRate(x.rate) })), h("span", null, money(x.tax)))),
      ),
      h(
        "div",
        { class: "panel" },
        h("h3", null, t("cash_drawer")),
        row("opening_float", money(r.cash.opening_float)),
        row("cash_sales", money(r.cash.cash_sales)),
        row("cash_refunds", money(r.cash.cash_refunds)),
        row("paid_in", money(r.cash.paid_in)),
        row("paid_out", money(r.cash.paid_out)),
        row("expected_cash", money(r.cash.expected)),
        r.cash.counted !== null ? row("counted_cash", money(r.cash.counted)) : null,
        h(
          "div",
          { class: `trow grand variance ${tone ?? ""}` },
          h("span", null, t("variance")),
          h("span", { id: `variance-${r.kind}` }, tone ? `${money(r.cash.variance)} · ${t(`variance_${tone}`)}` : t("not_counted_yet")),
        ),
      ),
    ),
    h(
      "div",
      { class: "charts" },
      chartBox(`chart-hour-${r.kind}`, t("chart_by_hour"), "bar", hourSeries(r.by_hour)),
      chartBox(`chart-tender-${r.kind}`, t("chart_tenders"), "doughnut", tenderMix(r.tenders, (k) => t(k))),
      chartBox(`chart-category-${r.kind}`, t("chart_categories"), "hbar", categorySeries(r.by_category, 7, t("other"), t("uncategorised"))),
    ),
  );
}

function reportsView(): HTMLElement {
  const R = state.rep;
  const tabs = h(
    "div",
    { class: "tabs two" },
    h("button", { class: `btn tab ${R.tab === "x" ? "active" : ""}`, id: "tab-x", onclick: () => void setReportTab("x") }, h("kbd", null, "F5"), t("x_report")),
    h("button", { class: `btn tab ${R.tab === "z" ? "active" : ""}`, id: "tab-z", onclick: () => void setReportTab("z") }, h("kbd", null, "F6"), t("z_history")),
  );
  let body: Child;
  const current = R.tab === "x" ? R.x : R.z;
  if (R.loading && !R.x && !R.zs) body = h("div", { class: "hint" }, t("loading"));
  else if (R.tab === "x") body = R.x ? reportBody(R.x) : h("div", { class: "empty" }, t("x_needs_shift"));
  else {
    body = [
      R.zs && R.zs.length
        ? h(
            "div",
            { class: "z-list", id: "z-list" },
            R.zs.map((z) =>
              h(
                "button",
                { class: `btn z-item ${R.z?.z_no === z.z_no ? "active" : ""}`, "data-z": z.z_no, onclick: () => ((state.rep.z = z), (state.rep.notice = null), render()) },
                h("strong", null, `Z #${z.z_no}`),
                h("span", { class: "sub" }, formatDateTime(z.header.at, lang(), state.utcOffset)),
                h("span", null, money(z.net_sales)),
                h("span", { class: `sub variance ${varianceTone(z.cash.variance) ?? ""}` }, t("variance"), " ", money(z.cash.variance)),
              ),
            ),
          )
        : h("div", { class: "empty" }, t("no_z_reports")),
      R.z ? reportBody(R.z) : null,
    ];
  }
  return h(
    "main",
    { class: "reports" },
    h(
      "div",
      { class: "screen-head" },
      h("h1", null, current?.kind === "z" ? t("z_report", { n: current.z_no ?? "" }) : t("reports_title")),
      tabs,
      h(
        "div",
        { class: "row" },
        h("button", { class: "btn", id: "report-refresh", onclick: () => void loadReports() }, h("kbd", null, "F9"), t("refresh")),
        h("button", { class: "btn primary", id: "report-print", disabled: !current, onclick: () => void printReport() }, h("kbd", null, "F8"), t("print_report")),
      ),
    ),
    notice(R.notice, "report-notice"),
    body,
  );
}

// ---------------------------------------------------------------- devices

async function loadDevices(): Promise<void> {
  try {
    const v = await mx.devices();
    state.devices = v;
    if (!state.dev.dirty) state.dev.toml = v.config_text ?? "";
    void loadTestPng();
  } catch (e) {
    state.error = errText(e);
  }
  render();
}

async function loadTestPng(): Promise<void> {
  try {
    const blob = await mx.testPagePng();
    if (state.dev.testPng) URL.revokeObjectURL(state.dev.testPng);
    state.dev.testPng = URL.createObjectURL(blob);
  } catch (e) {
    state.dev.notice = { kind: "error", text: errText(e) };
  }
  render();
}

/** Put a discovered port into devices.toml for a device (the installer then checks and saves). */
function assignPort(role: DeviceRole, path: string): void {
  state.dev.toml = assignDevice(state.dev.toml, role, path);
  state.dev.dirty = true;
  state.dev.configNotice = { kind: "warn", text: t("assigned_unsaved", { device: t(`device_${role}`), path }) };
  render();
  document.getElementById("devices-toml")?.scrollIntoView({ block: "center" });
}

async function saveDevices(): Promise<void> {
  await act(async () => {
    state.dev.configNotice = null;
    try {
      state.devices = await mx.saveDevices(state.dev.toml);
      state.dev.dirty = false;
      state.dev.configNotice = { kind: "ok", text: t(state.devices.restart_required ? "devices_saved" : "devices_saved_same") };
    } catch (e) {
      const err = toApiError(e);
      // The problems are the validator's own lines (each says what to change): shown as details.
      if (err.code === "invalid_devices_config") state.dev.configNotice = { kind: "error", text: t("err_invalid_devices_config"), detail: err.message };
      else throw e;
    }
  });
}

async function devTestPrint(): Promise<void> {
  await act(async () => {
    state.dev.notice = null;
    const v = await mx.testPrinter();
    state.dev.notice = printerNotice(v);
    if (state.devices) state.devices.printer = v;
  });
}

async function devTestDisplay(): Promise<void> {
  await act(async () => {
    const r = await mx.testDisplay();
    state.dev.notice = { kind: "ok", text: t("display_shown", { path: r.path }) };
  });
}

function scaleText(r: Record<string, unknown>): Notice {
  switch (r.state) {
    case "stable":
      return { kind: "ok", text: t("scale_stable", { kg: String(r.value) }) };
    case "motion":
      return { kind: "warn", text: t("scale_motion") };
    case "over_capacity":
      return { kind: "error", text: t("scale_over") };
    case "under_zero":
      return { kind: "warn", text: t("scale_under") };
    default:
      return { kind: "error", text: t("scale_error", { why: String(r.value ?? "") }) };
  }
}

async function devReadScale(): Promise<void> {
  try {
    state.dev.scale = scaleText(await mx.readScale());
  } catch (e) {
    state.dev.scale = { kind: "error", text: errText(e) };
  }
  render();
}

function scanResultText(r: Record<string, unknown>): Notice {
  const kind = String(r.kind ?? "");
  const detail = ["gtin", "receipt_no", "code", "data"].map((k) => r[k]).find((v) => typeof v === "string") as string | undefined;
  const label = t(`scan_kind_${kind}`);
  return {
    kind: kind === "invalid" || kind === "empty" ? "error" : "ok",
    text: `${label === `scan_kind_${kind}` ? kind : label}${detail ? ` · ${detail}` : ""}`,
  };
}

async function parseScanTest(code: string): Promise<void> {
  if (!code.trim()) return;
  try {
    state.dev.scan = scanResultText(await mx.parseBarcode(code.trim()));
  } catch (e) {
    state.dev.scan = { kind: "error", text: errText(e) };
  }
  render();
}

async function devSerialScan(): Promise<void> {
  if (state.dev.waiting) return;
  state.dev.waiting = true;
  state.dev.scan = { kind: "warn", text: t("scan_waiting") };
  render();
  try {
    const ev = await mx.nextScan(10000);
    if (!ev) state.dev.scan = { kind: "warn", text: t("scan_nothing") };
    else if (ev.event === "scan") state.dev.scan = scanResultText(ev.result as Record<string, unknown>);
    else state.dev.scan = { kind: "error", text: t("scanner_disconnected") };
  } catch (e) {
    state.dev.scan = { kind: "error", text: errText(e) };
  } finally {
    state.dev.waiting = false;
  }
  render();
}

function devicesView(): HTMLElement {
  const v = state.devices;
  const D = state.dev;
  if (!v) return h("main", { class: "devices" }, h("h1", null, t("devices_title")), h("div", { class: "hint" }, t("loading")));
  const notSet = t("not_set_up");
  const active = v.active;
  const p = v.printer;
  const problem = p.last_problem ? (lang() === "en" ? p.last_problem.message_en : p.last_problem.message_zh) : null;
  return h(
    "main",
    { class: "devices", id: "devices" },
    h("div", { class: "screen-head" }, h("h1", null, t("devices_title")), h("button", { class: "btn", onclick: () => void loadDevices() }, h("kbd", null, "F9"), t("refresh"))),
    v.restart_required ? h("div", { class: "notice warn", id: "restart-note" }, t("restart_required")) : null,
    v.config_problems ? notice({ kind: "error", text: t("config_problems"), detail: v.config_problems }, "config-problems") : null,
    h(
      "div",
      { class: "dev-grid" },
      h(
        "div",
        { class: "panel", id: "dev-active" },
        h("h3", null, t("devices_in_use")),
        (["printer", "scanner", "scale", "display"] as const).map((k) =>
          h("div", { class: "kv-block", id: `active-${k}` }, h("div", { class: "sub" }, t(`device_${k}`)), h("div", { class: active[k] ? "mono" : "muted" }, active[k] ?? (k === "scanner" ? t("wedge_only") : notSet))),
        ),
        h("h3", null, t("printer_state")),
        h("div", { class: "trow" }, h("span", null, t("print_jobs_waiting")), h("span", { id: "dev-pending" }, String(p.pending.length))),
        problem ? h("div", { class: "trow warn" }, problem) : null,
        p.last_error ? h("div", { class: "trow sub" }, t("details"), ": ", p.last_error) : null,
        p.config_error ? h("div", { class: "trow sub" }, t("details"), ": ", p.config_error) : null,
      ),
      h(
        "div",
        { class: "panel", id: "dev-tests" },
        h("h3", null, t("device_tests")),
        h(
          "div",
          { class: "test-buttons" },
          h("button", { class: "btn fkey", id: "dev-test-print", onclick: () => void devTestPrint() }, h("kbd", null, "F5"), h("span", null, t("test_print"))),
          h("button", { class: "btn fkey", id: "dev-test-display", onclick: () => void devTestDisplay() }, h("kbd", null, "F6"), h("span", null, t("test_display"))),
          h("button", { class: "btn fkey", id: "dev-read-scale", onclick: () => void devReadScale() }, h("kbd", null, "F7"), h("span", null, t("read_scale"))),
          h("button", { class: "btn fkey", id: "dev-serial-scan", disabled: D.waiting, onclick: () => void devSerialScan() }, h("kbd", null, "F8"), h("span", null, t("serial_scan"))),
        ),
        notice(D.notice, "dev-notice"),
        notice(D.scale, "dev-scale"),
        h("label", { for: "scan-test" }, t("scan_test_label")),
        h("input", {
          id: "scan-test",
          class: "big-input",
          autocomplete: "off",
          placeholder: t("scan_test_placeholder"),
          value: D.scanInput,
          oninput: (e: Event) => (state.dev.scanInput = (e.target as HTMLInputElement).value),
          onkeydown: (e: KeyboardEvent) => e.key === "Enter" && void parseScanTest(state.dev.scanInput),
        }),
        notice(D.scan, "dev-scan"),
      ),
      h(
        "div",
        { class: "panel preview", id: "dev-preview" },
        h("h3", null, t("test_page_preview")),
        D.testPng ? h("img", { id: "test-page-preview", src: D.testPng, alt: t("test_page_preview") }) : h("div", { class: "hint" }, t("loading_preview")),
      ),
    ),
    h(
      "div",
      { class: "panel", id: "dev-found" },
      h("h3", null, t("devices_found")),
      v.discovered.length
        ? h(
            "table",
            { class: "grid" },
            h("thead", null, h("tr", null, [t("dev_path"), t("dev_connection"), t("dev_usb_id"), t("dev_maker"), t("dev_probably"), t("dev_use_as")].map((x) => h("th", null, x)))),
            h(
              "tbody",
              null,
              v.discovered.map((d) =>
                h(
                  "tr",
                  null,
                  h("td", { class: "mono" }, d.path),
                  h("td", null, t(`conn_${d.connection}`)),
                  h("td", { class: "mono" }, d.vid !== null && d.pid !== null ? `${d.vid.toString(16).padStart(4, "0")}:${d.pid.toString(16).padStart(4, "0")}` : "-"),
                  h("td", null, [d.manufacturer, d.product].filter(Boolean).join(" ") || "-"),
                  h("td", null, d.kind ? `${t(`device_${d.kind}`)}${d.guess ? ` · ${d.guess}` : ""}` : "?"),
                  h(
                    "td",
                    { class: "assign" },
                    (d.connection === "usb_printer" ? (["printer"] as DeviceRole[]) : DEVICE_ROLES).map((r) =>
                      h(
                        "button",
                        {
                          class: `btn tiny${d.kind === r ? " primary" : ""}`,
                          "data-assign": `${r}:${d.path}`,
                          title: t("assign_to", { device: t(`device_${r}`), path: d.path }),
                          onclick: () => assignPort(r, d.path),
                        },
                        t(`short_${r}`),
                      ),
                    ),
                  ),
                ),
              ),
            ),
          )
        : h("div", { class: "hint" }, t("nothing_found")),
    ),
    h(
      "div",
      { class: "panel", id: "dev-config" },
      h("div", { class: "trow" }, h("h3", null, t("devices_file")), h("span", { class: "sub mono" }, v.file)),
      h("textarea", {
        id: "devices-toml",
        class: "toml",
        spellcheck: "false",
        rows: "12",
        placeholder: v.example,
        oninput: (e: Event) => {
          state.dev.toml = (e.target as HTMLTextAreaElement).value;
          state.dev.dirty = true;
        },
        value: D.toml,
      }),
      notice(D.configNotice, "dev-config-notice"),
      h(
        "div",
        { class: "row" },
        h("button", { class: "btn", onclick: () => ((state.dev.toml = v.example), (state.dev.dirty = true), render()) }, t("use_example")),
        h("button", { class: "btn primary", id: "devices-save", onclick: () => void saveDevices() }, h("kbd", null, "F12"), t("save_devices")),
      ),
    ),
  );
}

// ---------------------------------------------------------------- sync

async function loadSync(): Promise<void> {
  try {
    state.sync = await mx.sync();
  } catch (e) {
    state.error = errText(e);
  }
  render();
}

async function syncNow(): Promise<void> {
  state.syncNotice = { kind: "warn", text: t("syncing") };
  render();
  try {
    state.sync = await mx.syncNow();
    state.syncNotice = state.sync.last_error ? { kind: "error", text: t("sync_failed") } : { kind: "ok", text: t("sync_done") };
  } catch (e) {
    state.syncNotice = { kind: "error", text: errText(e) };
  }
  render();
}

function syncView(): HTMLElement {
  const s = state.sync;
  const L = lang();
  const tile = (k: string, v: string, id: string, tone = "") => h("div", { class: `big-figure ${tone}` }, h("span", null, t(k)), h("strong", { id }, v));
  return h(
    "main",
    { class: "sync centered wide" },
    h("h1", null, t("sync_title")),
    !s
      ? h("div", { class: "hint" }, t("loading"))
      : [
          h(
            "div",
            { class: "kpis" },
            tile("sync_pending", String(s.pending), "sync-pending", s.pending > 0 ? "accent" : ""),
            tile("sync_quarantined", String(s.quarantined), "sync-quarantined", s.quarantined > 0 ? "bad" : ""),
            tile("sync_last_success", s.last_success_at ? formatDateTime(s.last_success_at, L, state.utcOffset) : t("never"), "sync-last"),
          ),
          h(
            "div",
            { class: "panel", id: "sync-status" },
            h("div", { class: "trow" }, h("span", null, t("sync_hq")), h("span", { id: "sync-enrolled" }, s.enrolled ? s.url ?? t("yes") : t("sync_not_enrolled"))),
            !s.enrolled ? h("div", { class: "hint" }, t("sync_enroll_hint")) : null,
            s.last_error
              ? h("div", { class: "notice error", id: "sync-error" }, t("sync_last_error", { at: formatDateTime(s.last_error_at, L, state.utcOffset) }), h("div", { class: "sub" }, s.last_error))
              : null,
            s.quarantined > 0 ? h("div", { class: "notice warn" }, t("sync_quarantine_hint")) : null,
            s.pending > 0 ? h("div", { class: "hint" }, t("sync_pending_hint")) : null,
          ),
        ],
    notice(state.syncNotice, "sync-notice"),
    h(
      "div",
      { class: "row" },
      h("button", { class: "btn primary", id: "sync-now", disabled: !s?.enrolled, onclick: () => void syncNow() }, h("kbd", null, "F5"), t("sync_now")),
      h("button", { class: "btn", id: "sync-refresh", onclick: () => void loadSync() }, h("kbd", null, "F6"), t("refresh")),
      h("button", { class: "btn", onclick: () => back() }, h("kbd", null, "Esc"), t("back")),
    ),
  );
}

// ---------------------------------------------------------------- render

const root = document.getElementById("app")!;

function render(): void {
  const active = document.activeElement as HTMLElement | null;
  const focusId = active && active !== document.body ? active.id : "";
  const sel = active instanceof HTMLInputElement ? [active.selectionStart, active.selectionEnd] : null;
  let view: HTMLElement = h("main");
  chartJobs = [];
  switch (state.screen) {
    case "login":
      view = loginView();
      break;
    case "shift":
      view = shiftView();
      break;
    case "sale":
      view = saleView();
      break;
    case "receipt":
      view = receiptView();
      break;
    case "close":
      view = closeView();
      break;
    case "zreport":
      view = zView();
      break;
    case "returns":
      view = returnsView();
      break;
    case "reports":
      view = reportsView();
      break;
    case "devices":
      view = devicesView();
      break;
    case "sync":
      view = syncView();
      break;
  }
  const parts = [header(), state.dialog ? null : errorBar(), view, dialogView()].flat(Infinity as 1);
  charts?.destroyCharts();
  root.replaceChildren(...(parts.filter((x) => x instanceof Node) as Node[]));
  const jobs = chartJobs;
  chartJobs = [];
  if (jobs.length && charts) drawCharts(charts, jobs);
  else if (jobs.length && !chartsFailed) {
    loadCharts().then(
      (c) => drawCharts(c, jobs),
      () => {
        // The chart code did not load (e.g. the till was updated under an open browser tab):
        // the figures are all there; say how to get the charts back, once.
        chartsFailed = true;
        state.rep.notice = { kind: "warn", text: t("charts_unavailable") };
        render();
      },
    );
  }
  document.body.dataset.screen = state.screen;
  const again = focusId ? document.getElementById(focusId) : null;
  const inDialog = !state.dialog || (again && again.closest(".dialog"));
  if (again && inDialog) {
    again.focus();
    if (again instanceof HTMLInputElement && sel) {
      try {
        again.setSelectionRange(sel[0], sel[1]);
      } catch {
        /* not a text input */
      }
    }
  } else {
    const scope = state.dialog ? root.querySelector(".dialog") : root;
    (scope?.querySelector("[data-autofocus]") as HTMLElement | null)?.focus();
  }
}

// Escape on full screens goes back.
window.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && state.screen === "close" && !state.dialog) {
    go("sale");
    render();
  }
});

async function start(): Promise<void> {
  const saved = localStorage.getItem("tillstone.lang");
  setLang(saved === "en" ? "en" : "zh-CN");
  document.documentElement.lang = lang();
  render();
  try {
    await loadUsers();
  } catch (e) {
    showError(e);
    return;
  }
  render();
}

void start();
