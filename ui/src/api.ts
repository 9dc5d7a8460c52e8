/** A typed client of the terminal's JSON API under /api/v1. */
import { defaultFetch } from "./transport";

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * Turn a failed response into an ApiError: the API's `{"error":{"code","message"}}` when the body
 * has it; otherwise a code from the status (`server_error` for 5xx, `http_<status>` else).
 * Never exposes the raw body to the user.
 */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  const err = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (err && typeof err.code === "string" && err.code) {
    return new ApiError(err.code, typeof err.message === "string" ? err.message : err.code, res.status);
  }
  if (res.status === 401) return new ApiError("not_signed_in", "sign in again", 401);
  if (res.status >= 500) return new ApiError("server_error", `HTTP ${res.status}`, res.status);
  return new ApiError(`http_${res.status}`, `HTTP ${res.status}`, res.status);
}

/** Any thrown value → an ApiError (a failed fetch is `network`). */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError("network", e instanceof Error ? e.message : String(e), 0);
}

export interface User {
  user_id: string;
  name: string;
  role: string;
  active?: boolean;
}
export interface Product {
  sku: string;
  name: string;
  name_en: string;
  price: string;
  unit: string;
  barcodes: string[];
  category: string;
  tax_rate: string;
}
export interface CartLine {
  amounts: { gross: string; line_discount: string; net: string; order_discount: string; tax: string; total: string };
  line: {
    line_id: number;
    sku: string;
    name: string;
    name_en: string;
    qty: string;
    unit: string;
    list_price: string;
    voided: boolean;
    barcode?: string | null;
  };
  promo_discount: string;
  unit_price: string;
}
export interface Tender {
  tender_id: number;
  kind: string;
  amount: string;
  reference: string | null;
}
export interface Payment {
  cash_due: string;
  change: string;
  due: string;
  non_cash_due: string;
  paid: string;
  remaining: string;
  rounding: string;
  total: string;
}
export interface PromoApplication {
  rule_id: string;
  rule_name: string;
  rule_name_en: string;
  kind: string;
  lines: { line_id: number; amount: string }[];
  total: string;
}
export interface CouponDiscount {
  code: string;
  name: string;
  name_en: string;
  amount: string;
}
export interface CouponProblem {
  code: string;
  reason: string;
  message_zh: string;
  message_en: string;
}
export interface Cart {
  cart_id: string;
  status: string;
  item_count: string;
  lines: CartLine[];
  tenders: Tender[];
  payment: Payment;
  promotions: PromoApplication[];
  coupons: CouponDiscount[];
  coupon_problems: CouponProblem[];
  quick_cash: string[];
  tax_summary: { rate: string; tax: string; taxable: string; total: string }[];
  totals: { discount_total: string; line_discounts: string; order_discount: string; subtotal: string; tax: string; total: string };
  member_id: string | null;
}
export type ScanOutcome =
  | { outcome: "added"; line_id: number; product: Product; cart: Cart }
  | { outcome: "needs_weight"; product: Product }
  | { outcome: "not_found"; code: string; message: string }
  | { outcome: "invalid"; code: string; message: string }
  | { outcome: "receipt"; receipt_no: string }
  | { outcome: "member_attached"; member: { name?: string; member_id?: string }; cart: Cart }
  | { outcome: "coupon_added"; cart: Cart };
export interface Shift {
  shift_id: string;
  shift_no: number;
  opening_float: string;
  opened_by: string;
}
export interface Receipt {
  barcode: string;
  cashier_name: string;
  sale: { change: string; receipt_no: string; totals: { total: string } };
}
export interface ZReport {
  z_no: number | null;
  sales_count: number;
  sales_total: string;
  gross_sales: string;
  net_sales: string;
  discounts: string;
  returns_total: string;
  voided_total: string;
  tax: { rate: string; tax: string; taxable: string; total: string }[];
  tenders: { kind: string; count: number; sales: string; refunds: string }[];
  cash: { expected: string; counted: string | null; variance: string | null; opening_float: string; cash_sales: string };
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export class Api {
  token: string | null = null;
  /** Called when the API says the session ended (401). */
  onUnauthorized: (() => void) | null = null;

  constructor(
    readonly base = "/api/v1",
    // fetch in a browser; the desktop shell's `api` command in the Tauri window.
    private readonly fetchImpl: FetchLike = defaultFetch(),
  ) {}

  private headers(json: boolean): Record<string, string> {
    const h: Record<string, string> = {};
    if (json) h["Content-Type"] = "application/json";
    if (this.token) h["Authorization"] = `Bearer ${this.token}`;
    return h;
  }

  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    let res: Response;
    try {
      res = await this.fetchImpl(this.base + path, {
        method,
        headers: this.headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw toApiError(e);
    }
    if (!res.ok) {
      const err = await errorFromResponse(res);
      if (err.status === 401 && this.token && this.onUnauthorized) this.onUnauthorized();
      throw err;
    }
    return res;
  }

  async req<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError("server_error", "the answer was not JSON", res.status);
    }
  }

  async blob(path: string): Promise<Blob> {
    const res = await this.send("GET", path);
    return res.blob();
  }

  users = () => this.req<User[]>("GET", "/users");
  async login(user_id: string, pin: string): Promise<{ token: string; user: User }> {
    const r = await this.req<{ token: string; user: User }>("POST", "/login", { user_id, pin });
    this.token = r.token;
    return r;
  }
  async logout(): Promise<void> {
    try {
      await this.req("POST", "/logout");
    } finally {
      this.token = null;
    }
  }
  shift = () => this.req<Shift | null>("GET", "/shift");
  openShift = (float: string) => this.req<Shift>("POST", "/shift/open", { float });
  closeShift = (denominations: { value: string; count: number }[]) =>
    this.req<ZReport>("POST", "/shift/close", { denominations });
  carts = () => this.req<Cart[]>("GET", "/carts");
  newCart = () => this.req<Cart>("POST", "/carts");
  cart = (id: string) => this.req<Cart>("GET", `/carts/${enc(id)}`);
  voidCart = (id: string) => this.req<unknown>("DELETE", `/carts/${enc(id)}`);
  scan = (id: string, code: string, qty?: string) =>
    this.req<ScanOutcome>("POST", `/carts/${enc(id)}/scan`, qty ? { code, qty } : { code });
  addLine = (id: string, sku: string, qty = "1") => this.req<Cart>("POST", `/carts/${enc(id)}/lines`, { sku, qty });
  setQty = (id: string, line: number, qty: string) =>
    this.req<Cart>("PATCH", `/carts/${enc(id)}/lines/${line}`, { qty });
  voidLine = (id: string, line: number) => this.req<Cart>("DELETE", `/carts/${enc(id)}/lines/${line}`);
  addTender = (id: string, kind: string, amount?: string, reference?: string) =>
    this.req<Cart>("POST", `/carts/${enc(id)}/tenders`, {
      kind,
      ...(amount ? { amount } : {}),
      ...(reference ? { reference } : {}),
    });
  removeTender = (id: string, tender: number) => this.req<Cart>("DELETE", `/carts/${enc(id)}/tenders/${tender}`);
  complete = (id: string) => this.req<Receipt>("POST", `/carts/${enc(id)}/complete`);
  addCoupon = (id: string, code: string) => this.req<Cart>("POST", `/carts/${enc(id)}/coupons`, { code });
  removeCoupon = (id: string, code: string) => this.req<Cart>("DELETE", `/carts/${enc(id)}/coupons/${enc(code)}`);
  products = (q: string, limit = 20) => this.req<Product[]>("GET", `/products?q=${enc(q)}&limit=${limit}`);
  previewPng = (receipt: string, lang: "zh" | "en") =>
    this.blob(`/sales/${enc(receipt)}/preview.png?lang=${lang}`);
}

function enc(s: string): string {
  return encodeURIComponent(s);
}
