/**
 * API calls and types of the returns, members, parked carts, reports, devices and sync
 * screens. They go through `Api.req` / `Api.blob` (so through the same transport and error
 * mapping as every other call).
 */
import type { Api, Cart, Receipt, ZReport } from "./api";
import type { Bucket, TenderRow } from "./reports";
import type { SaleLine } from "./returns";

function enc(s: string): string {
  return encodeURIComponent(s);
}

export interface Member {
  member_id: string;
  name: string;
  phone_masked: string;
  card_no?: string | null;
  points: number;
  tier: string;
  lifetime_points?: number;
  next_tier?: string | null;
  points_to_next_tier?: number | null;
}

/** A coupon in a member's wallet, checked against the cart. */
export interface WalletCoupon {
  code: string;
  campaign_id: number | null;
  serial: number | null;
  name: string;
  name_en: string;
  valid_until: string | null;
  /** `applies`, `in_cart`, `usable`, or why it cannot be used (`expired`, `already_used` …). */
  status: string;
  amount: string | null;
  message_zh: string;
  message_en: string;
}

export interface SaleDoc {
  kind: string;
  receipt_no: string;
  completed_at: string;
  lines: SaleLine[];
  tenders: { kind: string; amount: string; applied: string; reference: string | null }[];
  totals: { total: string; subtotal: string; tax: string; discount_total: string };
  member_id: string | null;
  member_points?: number;
}
export interface SaleLookup {
  sale: SaleDoc;
  returnable: Record<string, string>;
  returns: string[];
  voided: { reason: string; at: string } | null;
}
export interface ReturnReceipt extends Omit<Receipt, "sale"> {
  sale: SaleDoc & { change: string; original: { receipt_no: string } | null };
}

export interface ShiftReport extends ZReport {
  kind: "x" | "z";
  header: { shift_no: number; opened_by: string; opened_at: string; at: string; store_code: string; currency: string };
  returns_count: number;
  voided_count: number;
  no_sale_count: number;
  override_count: number;
  rounding: string;
  by_hour: Bucket[];
  by_category: Bucket[];
  by_cashier: Bucket[];
  tenders: TenderRow[];
  cash: ZReport["cash"] & { cash_refunds: string; paid_in: string; paid_out: string };
}

export interface PrinterProblem {
  code: string;
  message_zh: string;
  message_en: string;
}
export interface PrinterView {
  configured: boolean;
  config_error: string | null;
  pending: { job_id: string; created_at: string; state: string; attempts: number; problem: PrinterProblem | null; reason: string | null }[];
  last_problem: PrinterProblem | null;
  last_error: string | null;
}
export interface FoundDevice {
  path: string;
  connection: string;
  vid: number | null;
  pid: number | null;
  serial_number: string | null;
  manufacturer: string | null;
  product: string | null;
  kind: string | null;
  guess: string | null;
}
export interface DevicesView {
  discovered: FoundDevice[];
  file: string;
  config_text: string | null;
  config_problems: string | null;
  profiles: Record<string, unknown> | null;
  active: { printer: string | null; scanner: string | null; scale: string | null; display: string | null };
  restart_required: boolean;
  printer: PrinterView;
  example: string;
}
export interface ScaleReading {
  [k: string]: unknown;
}
export interface SyncState {
  enrolled: boolean;
  url: string | null;
  pending: number;
  quarantined: number;
  last_success_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
  cursors: Record<string, unknown>;
}

export const more = (api: Api) => ({
  // returns
  findSale: (receipt: string) => api.req<SaleLookup>("GET", `/sales/${enc(receipt)}`),
  returnLines: (receipt: string, lines: { line_id: number; qty: string }[], request_id: string) =>
    api.req<ReturnReceipt>("POST", "/returns", { receipt, lines, request_id }),
  // members
  members: (q: string, limit = 10) => api.req<Member[]>("GET", `/members?q=${enc(q)}&limit=${limit}`),
  member: (id: string) => api.req<Member>("GET", `/members/${enc(id)}`),
  attachMember: (cart: string, member_id: string) => api.req<Cart>("POST", `/carts/${enc(cart)}/member`, { member_id }),
  detachMember: (cart: string) => api.req<Cart>("DELETE", `/carts/${enc(cart)}/member`),
  wallet: (member: string, cart?: string) =>
    api.req<WalletCoupon[]>("GET", `/members/${enc(member)}/coupons${cart ? `?cart=${enc(cart)}` : ""}`),
  /** Pay with the member's points (all of them when `points` is not given). */
  pointsTender: (cart: string, points?: number) =>
    api.req<Cart>("POST", `/carts/${enc(cart)}/tenders`, points === undefined ? { kind: "points" } : { kind: "points", points }),
  // parked carts
  parked: () => api.req<(Cart & { label?: string })[]>("GET", "/carts?status=parked"),
  park: (cart: string, label: string) => api.req<Cart>("POST", `/carts/${enc(cart)}/park`, { label }),
  resume: (cart: string) => api.req<Cart>("POST", `/carts/${enc(cart)}/resume`),
  // reports
  xReport: () => api.req<ShiftReport>("GET", "/reports/x"),
  zReports: () => api.req<ShiftReport[]>("GET", "/reports/z"),
  printX: (lang: "zh" | "en") => api.req<PrinterView>("POST", `/reports/x/print?lang=${lang}`),
  printZ: (z: number, lang: "zh" | "en") => api.req<PrinterView>("POST", `/reports/z/${z}/print?lang=${lang}`),
  reportPng: (z: number | null, lang: "zh" | "en") =>
    api.blob(z === null ? `/reports/x/preview.png?lang=${lang}` : `/reports/z/${z}/preview.png?lang=${lang}`),
  reprint: (receipt: string) => api.req<PrinterView>("POST", `/sales/${enc(receipt)}/print`),
  printer: () => api.req<PrinterView>("GET", "/printer"),
  // devices
  devices: () => api.req<DevicesView>("GET", "/devices"),
  saveDevices: (toml: string) => api.req<DevicesView>("PUT", "/devices/config", { toml }),
  testPrinter: () => api.req<PrinterView>("POST", "/devices/printer/test"),
  testPagePng: () => api.blob("/devices/printer/test.png"),
  testDisplay: () => api.req<{ shown: boolean; path: string }>("POST", "/devices/display/test"),
  readScale: () => api.req<ScaleReading>("GET", "/devices/scale"),
  nextScan: (ms: number) => api.req<Record<string, unknown> | null>("GET", `/devices/scanner/next?timeout_ms=${ms}`),
  parseBarcode: (data: string) => api.req<Record<string, unknown>>("GET", `/barcode?data=${enc(data)}`),
  // sync
  sync: () => api.req<SyncState>("GET", "/sync"),
  syncNow: () => api.req<SyncState>("POST", "/sync"),
});
export type More = ReturnType<typeof more>;
