/** Dates and times per locale (the till's own time zone). */
import type { Lang } from "./money";

function locale(lang: Lang): string {
  return lang === "zh-CN" ? "zh-CN" : "en-GB";
}

/**
 * Whose clock a time is shown on: an IANA zone name, the store's fixed offset in minutes east of
 * UTC (as the terminal reports it; receipts and reports use the same), or the machine's own.
 */
export type Zone = string | number | undefined;

/** The instant to format and the Intl zone to format it in. */
function zoned(d: Date, zone: Zone): [Date, string | undefined] {
  // A fixed offset: shift the instant and read it as UTC (works for offsets like +05:30 that
  // have no Etc/GMT name, on every engine).
  if (typeof zone === "number") return [new Date(d.getTime() + zone * 60_000), "UTC"];
  return [d, zone];
}

/** "2026/11/25 22:08" (zh-CN) or "25 Nov 2026, 22:08" (en); empty for none, as is if unreadable. */
export function formatDateTime(iso: string | null | undefined, lang: Lang, zone?: Zone): string {
  if (!iso) return "";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return String(iso);
  const [d, timeZone] = zoned(at, zone);
  return new Intl.DateTimeFormat(locale(lang), {
    year: "numeric",
    month: lang === "zh-CN" ? "2-digit" : "short",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
    timeZone,
  }).format(d);
}

/** "22:08" */
export function formatTime(iso: string | null | undefined, lang: Lang, zone?: Zone): string {
  if (!iso) return "";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return String(iso);
  const [d, timeZone] = zoned(at, zone);
  return new Intl.DateTimeFormat(locale(lang), { hour: "2-digit", minute: "2-digit", hour12: false, timeZone }).format(d);
}

/** An hour bucket key "09" as a label: "09:00". */
export function hourLabel(key: string): string {
  const n = parseInt(key, 10);
  return Number.isFinite(n) ? `${String(n).padStart(2, "0")}:00` : key;
}
