/**
 * Returns by receipt: which lines can come back, how many, and the request. Pure (no DOM).
 * Quantities are decimal strings compared in thousandths (weights have 3 decimals).
 */
import { parseDecimal } from "./money";

export interface SaleLine {
  line: { line_id: number; sku: string; name: string; name_en: string; qty: string; unit: string; voided: boolean };
  amounts: { total: string };
  unit_price: string;
}

export interface ReturnRow {
  line_id: number;
  name: string;
  name_en: string;
  unit: string;
  sold: string;
  /** What can still come back. */
  max: string;
  total: string;
  unit_price: string;
}

/** Thousandths of a decimal string; null when it is not a number with at most 3 decimals. */
export function milli(s: string): bigint | null {
  const p = parseDecimal(s);
  if (!p || p.frac.length > 3 || p.neg) return null;
  return BigInt(p.int + p.frac.padEnd(3, "0"));
}

/** Lines of a sale that can still be returned (not voided, something left), in sale order. */
export function returnRows(lines: SaleLine[], returnable: Record<string, string>): ReturnRow[] {
  return lines
    .filter((l) => !l.line.voided)
    .map((l) => ({
      line_id: l.line.line_id,
      name: l.line.name,
      name_en: l.line.name_en,
      unit: l.line.unit,
      sold: l.line.qty,
      max: returnable[String(l.line.line_id)] ?? "0",
      total: l.amounts.total,
      unit_price: l.unit_price,
    }))
    .filter((r) => (milli(r.max) ?? 0n) > 0n);
}

/**
 * Why a quantity to return is not acceptable (an i18n key), or null when it is. Empty and
 * zero mean "not this line" and are fine. Pieces are whole; weights have at most 3 decimals.
 */
export function returnQtyError(qty: string, row: Pick<ReturnRow, "max" | "unit">): string | null {
  const q = qty.trim();
  if (q === "") return null;
  const m = milli(q);
  if (m === null) return "ret_qty_invalid";
  if (row.unit !== "kg" && m % 1000n !== 0n) return "ret_qty_whole";
  const max = milli(row.max) ?? 0n;
  if (m > max) return "ret_qty_too_many";
  return null;
}

/** The request's lines: every row with a valid quantity above zero; null when none or any is invalid. */
export function returnLines(rows: ReturnRow[], qty: Record<number, string>): { line_id: number; qty: string }[] | null {
  const out: { line_id: number; qty: string }[] = [];
  for (const r of rows) {
    const q = (qty[r.line_id] ?? "").trim();
    if (returnQtyError(q, r)) return null;
    if (q && (milli(q) ?? 0n) > 0n) out.push({ line_id: r.line_id, qty: q });
  }
  return out.length ? out : null;
}

/** Step a quantity by ±1 within 0..max (pieces). */
export function stepQty(qty: string, delta: number, max: string): string {
  const cur = milli(qty.trim() || "0") ?? 0n;
  const lim = milli(max) ?? 0n;
  let next = cur + BigInt(delta) * 1000n;
  if (next < 0n) next = 0n;
  if (next > lim) next = lim;
  const whole = next / 1000n;
  const frac = (next % 1000n).toString().padStart(3, "0").replace(/0+$/, "");
  return next === 0n ? "" : whole.toString() + (frac ? "." + frac : "");
}
