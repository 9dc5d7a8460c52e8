/** Dates and times per locale (the till's own time zone). */
import type { Lang } from "./money";

function locale(lang: Lang): string {
  return lang === "zh-CN" ? "zh-CN" : "en-GB";
}

/** "2026/11/25 22:08" (zh-CN) or "25 Nov 2026, 22:08" (en); empty for none, as is if unreadable. */
export function formatDateTime(iso: string | null | undefined, lang: Lang, timeZone?: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
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
export function formatTime(iso: string | null | undefined, lang: Lang, timeZone?: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale(lang), { hour: "2-digit", minute: "2-digit", hour12: false, timeZone }).format(d);
}

/** An hour bucket key "09" as a label: "09:00". */
export function hourLabel(key: string): string {
  const n = parseInt(key, 10);
  return Number.isFinite(n) ? `${String(n).padStart(2, "0")}:00` : key;
}
