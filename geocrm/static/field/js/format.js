/* How the field app writes distances, times and enum values for people. */
import { lang, t } from "./i18n.js";

/** 850 -> "850 m", 1234 -> "1.2 km"; "" when unknown. */
export function fmtDist(m) {
  if (m === null || m === undefined) return "";
  return m < 1000 ? Math.round(m) + " m" : (m / 1000).toFixed(1) + " km";
}
/** A server timestamp (UTC, with or without offset) in the phone's locale and zone. */
export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(/Z|[+-]\d\d:\d\d$/.test(iso) ? iso : iso + "Z");
  return d.toLocaleString(lang, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}
/** "not_interested" -> "not interested", in the page's language (관심 없음, 興味なし). */
export function label(s) { const v = String(s || ""); return t(WORDS[v] || v.replace(/_/g, " ")); }
// Stored values whose English word is not the value with spaces.
const WORDS = { checkin: "check-in", checkout: "check-out" };
