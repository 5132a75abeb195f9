/* The field app's words in the page's language, from the web's own catalogues.
 *
 * /app/i18n/<lang>.json (geocrm.field.views.messages) maps each English msgid to its
 * translation; the service worker precaches every language with the shell, so a rep is
 * translated offline too. Loaded once, before the app module runs (top-level await). A
 * missing word, a failed fetch or English shows the English source: never a blank. */

const LANG = (document.documentElement.lang || "en").split("-")[0];
let MESSAGES = {};

async function load() {
  if (LANG === "en") return;
  try {
    const res = await fetch("/app/i18n/" + encodeURIComponent(LANG) + ".json",
      { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (res.ok) MESSAGES = (await res.json()).messages || {};
  } catch (e) {
    MESSAGES = {}; // offline and not cached yet: English
  }
}
await load();

/** The page's language tag ("ko"), for Intl formatting. */
export const lang = LANG;

/** "Hello, %(name)s" in the page's language, with %(name)s filled from vars. */
export function t(msgid, vars) {
  let text = MESSAGES[msgid];
  if (Array.isArray(text)) text = text[0];
  if (typeof text !== "string" || !text) text = msgid;
  if (!vars) return text;
  // Python's %-formatting, as the server applies it: %(name)s filled, %% a literal %.
  return text.replace(/%\((\w+)\)s|%%/g, function (all, name) {
    if (all === "%%") return "%";
    return Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : all;
  });
}
