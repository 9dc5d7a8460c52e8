/**
 * The on-screen number pad (touch): quantities, weights, amounts and PINs. Pure: a key and
 * the current text give the next text, so it is unit tested without a DOM.
 */
export interface NumpadOptions {
  /** Most digits after the decimal point (0: whole numbers only, e.g. a PIN or a count). */
  decimals: number;
  /** Longest text accepted. */
  maxLength: number;
  /** A code (PIN): leading zeros are kept. */
  code?: boolean;
}

export const PAD_KEYS = ["7", "8", "9", "4", "5", "6", "1", "2", "3", "00", "0", ".", "C", "⌫"] as const;
export type PadKey = (typeof PAD_KEYS)[number];

export const QTY: NumpadOptions = { decimals: 3, maxLength: 9 };
export const AMOUNT: NumpadOptions = { decimals: 2, maxLength: 11 };
export const WHOLE: NumpadOptions = { decimals: 0, maxLength: 6 };
export const PIN: NumpadOptions = { decimals: 0, maxLength: 12, code: true };

/**
 * The keys a pad shows, in rows of three: with decimals 7 8 9 / 4 5 6 / 1 2 3 / 0 00 . / C ⌫;
 * whole numbers (counts, PINs) 7 8 9 / 4 5 6 / 1 2 3 / C 0 ⌫.
 */
export function padKeys(opts: NumpadOptions): PadKey[] {
  return opts.decimals > 0
    ? ["7", "8", "9", "4", "5", "6", "1", "2", "3", "0", "00", ".", "C", "⌫"]
    : ["7", "8", "9", "4", "5", "6", "1", "2", "3", "C", "0", "⌫"];
}

/**
 * Apply one key: digits append (a lone leading "0" is replaced, "00" never starts a number),
 * "." once and only when decimals are allowed ("." alone becomes "0."), no more than
 * `decimals` digits after the point, "⌫" deletes the last character, "C" clears. A key that
 * would break a rule leaves the text as it was.
 */
export function numpadKey(value: string, key: string, opts: NumpadOptions): string {
  if (key === "C") return "";
  if (key === "⌫" || key === "Backspace") return value.slice(0, -1);
  let next: string;
  if (key === ".") {
    if (opts.decimals <= 0 || value.includes(".")) return value;
    next = value === "" ? "0." : value + ".";
  } else if (/^\d+$/.test(key)) {
    if (opts.code) next = value + key;
    else if (value === "" && key === "00") return value;
    else if (value === "0") next = key === "00" ? "0" : key;
    else next = value + key;
    const dot = next.indexOf(".");
    if (dot >= 0 && next.length - dot - 1 > opts.decimals) return value;
  } else {
    return value;
  }
  return next.length > opts.maxLength ? value : next;
}

/** Whether the text is a complete positive number for these options ("3.", "" and "0" are not). */
export function isPositive(value: string, opts: NumpadOptions): boolean {
  const re = opts.decimals > 0 ? new RegExp(`^\\d+(\\.\\d{1,${opts.decimals}})?$`) : /^\d+$/;
  return re.test(value) && /[1-9]/.test(value);
}
