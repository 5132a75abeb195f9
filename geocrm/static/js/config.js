/* The one channel from Python to the page's modules (docs/frontend.md).
 *
 * A view hands its data to the template, which renders it once with the `page_data` macro
 * (templates/_page_data.html) as <script type="application/json" id="geocrm-data">, escaped
 * by Jinja's |tojson. Modules read it here and nowhere else: no window.* globals, no JSON
 * parsed from ad-hoc elements, no values pasted into inline scripts.
 */

const DATA_ID = "geocrm-data";
let cached = null;

/** The page's data block, parsed once; {} on a page without one. */
export function pageData() {
  if (cached === null) {
    const el = document.getElementById(DATA_ID);
    cached = Object.freeze(el ? JSON.parse(el.textContent) : {});
  }
  return cached;
}

/** The session's CSRF token (base.html and the field app carry it in a meta tag). */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") : "";
}

/**
 * A Leaflet object that folium's generated (classic) script created, by the variable name
 * the view put into the page data. folium names its variables at random per render, so the
 * name travels with the data; the object itself is a top-level `var` of folium's script.
 */
export function foliumObject(name) {
  const value = name ? globalThis[name] : undefined;
  return value === undefined ? null : value;
}
