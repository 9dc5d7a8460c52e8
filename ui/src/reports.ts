/**
 * Shaping report JSON for charts (chart.js takes numbers): sales by hour, tender mix,
 * categories. Pure; amounts stay exact until the last step (cents → number).
 */
import { addMoney, toCents } from "./money";
import { hourLabel } from "./format";

export interface Bucket {
  key: string;
  count: number;
  net: string;
}
export interface TenderRow {
  kind: string;
  count: number;
  sales: string;
  refunds: string;
}
export interface Series {
  labels: string[];
  values: number[];
  counts: number[];
}

function num(amount: string): number {
  return Number(toCents(amount)) / 100;
}

/**
 * Every hour from the first to the last with sales (gaps filled with zero), so the bars read
 * as a day. Unknown keys are dropped.
 */
export function hourSeries(buckets: Bucket[]): Series {
  const byHour = new Map<number, Bucket>();
  for (const b of buckets) {
    const h = parseInt(b.key, 10);
    if (Number.isFinite(h) && h >= 0 && h < 24) byHour.set(h, b);
  }
  if (!byHour.size) return { labels: [], values: [], counts: [] };
  const hours = [...byHour.keys()];
  const lo = Math.min(...hours);
  const hi = Math.max(...hours);
  const out: Series = { labels: [], values: [], counts: [] };
  for (let h = lo; h <= hi; h++) {
    const b = byHour.get(h);
    out.labels.push(hourLabel(String(h)));
    out.values.push(b ? num(b.net) : 0);
    out.counts.push(b?.count ?? 0);
  }
  return out;
}

/** Net per tender kind (sales − refunds), largest first, zero rows dropped; labels through `label`. */
export function tenderMix(rows: TenderRow[], label: (kind: string) => string): Series {
  const net = rows
    .map((r) => ({ kind: r.kind, net: addMoney(r.sales, `-${r.refunds}`.replace("--", "")), count: r.count }))
    .filter((r) => toCents(r.net) !== 0n)
    .sort((a, b) => (toCents(b.net) > toCents(a.net) ? 1 : toCents(b.net) < toCents(a.net) ? -1 : 0));
  return { labels: net.map((r) => label(r.kind)), values: net.map((r) => num(r.net)), counts: net.map((r) => r.count) };
}

/**
 * Categories by net sales, largest first; beyond `top`, the rest are summed into one bar
 * labelled `other`. An empty key is shown as `unknown`.
 */
export function categorySeries(buckets: Bucket[], top: number, other: string, unknown: string): Series {
  const sorted = [...buckets].sort((a, b) => {
    const d = toCents(b.net) - toCents(a.net);
    return d > 0n ? 1 : d < 0n ? -1 : a.key.localeCompare(b.key);
  });
  const head = sorted.slice(0, top);
  const rest = sorted.slice(top);
  const out: Series = {
    labels: head.map((b) => b.key || unknown),
    values: head.map((b) => num(b.net)),
    counts: head.map((b) => b.count),
  };
  if (rest.length) {
    out.labels.push(other);
    out.values.push(num(addMoney("0", ...rest.map((b) => b.net))));
    out.counts.push(rest.reduce((a, b) => a + b.count, 0));
  }
  return out;
}

/** A variance as a tone: short (negative), over (positive), or even; none when not counted. */
export function varianceTone(variance: string | null | undefined): "short" | "over" | "even" | null {
  if (variance === null || variance === undefined || variance === "") return null;
  const c = toCents(variance);
  return c < 0n ? "short" : c > 0n ? "over" : "even";
}
