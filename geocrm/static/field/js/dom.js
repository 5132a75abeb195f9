/* The field app's one DOM builder: h("p", {class, text, on: {click}}, ...children).
 * Text (the "text" attribute and string children) always becomes text nodes, never HTML,
 * so user data cannot turn into markup. */

/** An element with attributes ("text", "class", "on" handled specially) and children. */
export function h(tag, attrs) {
  const el = document.createElement(tag);
  attrs = attrs || {};
  Object.keys(attrs).forEach(function (k) {
    const v = attrs[k];
    if (v === null || v === undefined || v === false) return;
    if (k === "text") el.textContent = v;
    else if (k === "on") Object.keys(v).forEach(function (ev) { el.addEventListener(ev, v[ev]); });
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  });
  for (let i = 2; i < arguments.length; i++) {
    const c = arguments[i];
    if (c === null || c === undefined || c === false) continue;
    (Array.isArray(c) ? c : [c]).forEach(function (x) {
      if (x === null || x === undefined || x === false) return;
      el.appendChild(typeof x === "string" || typeof x === "number" ? document.createTextNode(String(x)) : x);
    });
  }
  return el;
}
