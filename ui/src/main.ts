import "./style.css";
import { Api, ApiError, toApiError } from "./api";
import type { Cart, CartLine, Product, ScanOutcome, Shift, User, ZReport } from "./api";
import { h } from "./dom";
import type { Child } from "./dom";
import { errorMessage, getLang, setLang, t } from "./i18n";
import type { Lang } from "./i18n";
import { addMoney, formatMoney, formatQty, formatRate, toCents } from "./money";
import { WedgeDetector } from "./wedge";

type Screen = "login" | "shift" | "sale" | "receipt" | "close" | "zreport";
type TenderKind = "cash" | "card" | "alipay" | "wechat_pay";
type Dialog =
  | { type: "help" }
  | { type: "search"; q: string; results: Product[] | null }
  | { type: "weight"; product: Product; code?: string }
  | { type: "qty"; line: CartLine }
  | { type: "coupon" }
  | { type: "void_cart" }
  | { type: "tender"; kind: TenderKind };
type Notice = { kind: "ok" | "warn" | "error"; text: string };

const TENDERS: TenderKind[] = ["cash", "card", "alipay", "wechat_pay"];
const TENDER_KEYS: Record<TenderKind, string> = { cash: "F5", card: "F6", alipay: "F7", wechat_pay: "F8" };
const DENOMINATIONS = ["100", "50", "20", "10", "5", "1", "0.5", "0.1"];

const api = new Api();
const wedge = new WedgeDetector();

const state = {
  screen: "login" as Screen,
  storeName: "",
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
  dialogInput: "",
  receipt: null as null | { no: string; change: string; total: string; preview: string | null; previewError: string | null },
  counts: {} as Record<string, string>,
  z: null as ZReport | null,
  busy: false,
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
}

// ---------------------------------------------------------------- flows

async function loadUsers(): Promise<void> {
  const [users, health] = await Promise.all([
    api.users(),
    api.req<{ store_name?: string }>("GET", "/health").catch(() => ({ store_name: "" })),
  ]);
  state.users = users.filter((u) => u.active !== false);
  state.storeName = health.store_name ?? "";
}

async function login(): Promise<void> {
  const u = state.loginUser;
  if (!u || !state.pin) return;
  const pin = state.pin;
  state.pin = "";
  await act(async () => {
    const r = await api.login(u.user_id, pin);
    state.user = r.user;
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
  });
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
        state.scan = { kind: "warn", text: t("scan_receipt", { receipt: r.receipt_no }) };
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
    go("receipt");
    void loadPreview(r.sale.receipt_no);
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
    go("zreport");
  });
}

// ---------------------------------------------------------------- keyboard

/** Type released (non-scan) keys into the focused field, or the sale screen's code field. */
function typeText(text: string): void {
  if (!text) return;
  let el = document.activeElement;
  if (!(el instanceof HTMLInputElement) || el.readOnly) {
    if (state.screen === "sale" && !state.dialog) {
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
  return state.screen === "sale" && !!state.cart;
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
      void scanCode(d.code);
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
  if (state.screen === "receipt" && (k === "Enter" || k === "F12")) {
    e.preventDefault();
    void newSale();
    return;
  }
  if (state.screen !== "sale") return;
  const d = state.dialog;
  if (d?.type === "tender") {
    const kind = (Object.keys(TENDER_KEYS) as TenderKind[]).find((x) => TENDER_KEYS[x] === k);
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
  } else if (k === "⌫") state.pin = state.pin.slice(0, -1);
  else if (k === "C") state.pin = "";
  else if (state.pin.length < 12) state.pin += k;
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
          value: state.dialogInput && !state.dialog ? state.dialogInput : "",
          onkeydown: (e: KeyboardEvent) => {
            if (e.key !== "Enter") return;
            const el = e.target as HTMLInputElement;
            const code = el.value.trim();
            el.value = "";
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
      fkeyButton("F6", t("f6_qty"), () => {
        const line = activeLines().find((l) => l.line.line_id === state.selectedLine);
        if (line) (openDialog({ type: "qty", line }), render());
      }, { disabled: state.selectedLine === null }),
      fkeyButton("F8", t("f8_void_line"), () => void voidSelected(), { id: "btn-void-line", disabled: state.selectedLine === null }),
      fkeyButton("F9", t("f9_void_cart"), () => (openDialog({ type: "void_cart" }), render()), { disabled: !activeLines().length }),
      fkeyButton("F10", t("f10_close_shift"), () => (go("close"), render()), { id: "btn-close-shift" }),
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
      body = [
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
        h("button", { class: "btn primary wide", onclick: submit }, t("ok"), h("kbd", null, "Enter")),
      ];
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
    { class: "tabs" },
    TENDERS.map((k) =>
      h(
        "button",
        {
          class: `btn tab ${d.kind === k ? "active" : ""}`,
          "data-tender": k,
          onclick: () => ((d.kind = k), render(), focusSoon(k === "cash" ? "tender-amount" : "tender-ref")),
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
    h("div", { class: "tender-form" }, form),
    c.tenders.length
      ? h(
          "div",
          { class: "tender-list", id: "tender-list" },
          h("h3", null, t("payments")),
          c.tenders.map((tn) =>
            h(
              "div",
              { class: "trow" },
              h("span", null, t(tn.kind), tn.reference ? ` · ${tn.reference}` : ""),
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
  const z = state.z!;
  const row = (k: string, v: string, id?: string) => h("div", { class: "trow" }, h("span", null, t(k)), h("span", { id }, v));
  return h(
    "main",
    { class: "centered zreport", id: "z-report" },
    h("h1", null, t("z_report", { n: z.z_no ?? "" })),
    h(
      "div",
      { class: "panel" },
      row("sales_count", String(z.sales_count)),
      row("gross_sales", money(z.gross_sales)),
      row("discounts", money(z.discounts)),
      row("returns_total", money(z.returns_total)),
      row("voided_total", money(z.voided_total)),
      row("net_sales", money(z.net_sales), "z-net"),
      z.tax.map((x) => h("div", { class: "trow sub" }, h("span", null, t("tax_rate", { rate: formatRate(x.rate) })), h("span", null, money(x.tax)))),
    ),
    h(
      "div",
      { class: "panel" },
      h("h3", null, t("by_tender")),
      z.tenders.map((x) => h("div", { class: "trow" }, h("span", null, `${t(x.kind)} ×${x.count}`), h("span", null, money(x.sales)))),
    ),
    h(
      "div",
      { class: "panel" },
      row("opening_float", money(z.cash.opening_float)),
      row("expected_cash", money(z.cash.expected)),
      row("counted_cash", money(z.cash.counted)),
      h(
        "div",
        { class: `trow grand ${z.cash.variance && toCents(z.cash.variance) !== 0n ? "warn" : ""}` },
        h("span", null, t("variance")),
        h("span", { id: "z-variance" }, money(z.cash.variance)),
      ),
    ),
    h("button", { class: "btn primary wide", "data-autofocus": true, onclick: () => void logout() }, t("done")),
  );
}

// ---------------------------------------------------------------- render

const root = document.getElementById("app")!;

function render(): void {
  const active = document.activeElement as HTMLElement | null;
  const focusId = active && active !== document.body ? active.id : "";
  const sel = active instanceof HTMLInputElement ? [active.selectionStart, active.selectionEnd] : null;
  let view: HTMLElement;
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
  }
  const parts = [header(), state.dialog ? null : errorBar(), view, dialogView()].flat(Infinity as 1);
  root.replaceChildren(...(parts.filter((x) => x instanceof Node) as Node[]));
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
