/**
 * Money and quantity formatting from the API's decimal strings, without floating point.
 */
export type Lang = "zh-CN" | "en";

/** Split a decimal string into sign, integer digits and fraction digits; null if not a number. */
export function parseDecimal(s: string): { neg: boolean; int: string; frac: string } | null {
  const m = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/.exec(String(s));
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) return null;
  return { neg: m[1] === "-", int: m[2].replace(/^0+(?=\d)/, "") || "0", frac: m[3] ?? "" };
}

/** Round a decimal string half away from zero to `places` digits: "1.005" → "1.01". */
export function roundDecimal(s: string, places = 2): string {
  const p = parseDecimal(s);
  if (!p) return s;
  const digits = BigInt(p.int + p.frac.padEnd(places + 1, "0").slice(0, places + 1));
  let scaled = digits / 10n;
  if (digits % 10n >= 5n) scaled += 1n;
  const str = scaled.toString().padStart(places + 1, "0");
  const int = str.slice(0, str.length - places);
  const frac = str.slice(str.length - places);
  const zero = scaled === 0n;
  return (p.neg && !zero ? "-" : "") + int + (places ? "." + frac : "");
}

function group(int: string): string {
  return int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * Format an amount (decimal string) for the locale: zh-CN "¥1,234.50", en "CN¥1,234.50";
 * negatives "-¥5.00". Not a number → returned as is.
 */
export function formatMoney(amount: string | null | undefined, lang: Lang): string {
  if (amount === null || amount === undefined || amount === "") return "";
  const r = roundDecimal(String(amount), 2);
  if (!parseDecimal(r)) return String(amount);
  const neg = r.startsWith("-");
  const [int, frac] = (neg ? r.slice(1) : r).split(".");
  const symbol = lang === "zh-CN" ? "¥" : "CN¥";
  return `${neg ? "-" : ""}${symbol}${group(int)}.${frac}`;
}

/** A quantity: pieces as integers ("2"), weights with 3 decimals and the unit ("0.450 kg"). */
export function formatQty(qty: string, unit: string, lang: Lang): string {
  if (unit === "kg") {
    return `${roundDecimal(qty, 3)} ${lang === "zh-CN" ? "千克" : "kg"}`;
  }
  const p = parseDecimal(qty);
  if (!p) return qty;
  const frac = p.frac.replace(/0+$/, "");
  return (p.neg ? "-" : "") + p.int + (frac ? "." + frac : "");
}

/** A tax rate "0.09" → "9%", "0.065" → "6.5%". */
export function formatRate(rate: string): string {
  const p = parseDecimal(rate);
  if (!p) return rate;
  const padded = p.frac.padEnd(2, "0");
  const whole = (p.int + padded.slice(0, 2)).replace(/^0+(?=\d)/, "");
  const frac = padded.slice(2).replace(/0+$/, "");
  return `${whole}${frac ? "." + frac : ""}%`;
}

/** Compare decimal strings numerically (cents precision is enough for the UI's checks). */
export function toCents(s: string): bigint {
  const r = roundDecimal(s, 2);
  const neg = r.startsWith("-");
  const v = BigInt(r.replace("-", "").replace(".", ""));
  return neg ? -v : v;
}

/** Add decimal strings (2 places). */
export function addMoney(...xs: string[]): string {
  const c = xs.reduce((a, x) => a + toCents(x), 0n);
  const neg = c < 0n;
  const s = (neg ? -c : c).toString().padStart(3, "0");
  return `${neg ? "-" : ""}${s.slice(0, -2)}.${s.slice(-2)}`;
}
