/* The account form's address parts in the chosen country's order, with its labels.
 *
 * The server renders the parts in the order of the account's country
 * (geocrm.core.addresses.INPUT_ORDER); when the country select changes, this module moves
 * the same inputs (their values and errors travel with them) into the new country's order
 * and relabels them (a Korean 시·군·구 is not a Japanese 市区町村). Nothing is added or
 * removed, so the form posts the same fields with or without JavaScript.
 */
import { pageData } from "./config.js";

/** The address convention of an ISO country code ("" → the account's fallback). */
export function styleOf(country, data) {
  if (!country) return data.fallback || "default";
  return data.styles[country] || "default";
}

/** Put the part wrappers of `box` in `order` and label them from `labels`. */
export function arrange(box, order, labels) {
  for (const part of order) {
    const wrap = box.querySelector(`[data-part="${part}"]`);
    if (!wrap) continue;
    const label = wrap.querySelector("label");
    if (label && labels[part]) label.textContent = labels[part];
    box.appendChild(wrap); // appending in order moves each one to the end
  }
}

function start() {
  const data = pageData().addressForm;
  const box = document.querySelector("[data-address-parts]");
  const select = document.getElementById("country");
  if (!data || !box || !select) return;
  select.addEventListener("change", () => {
    const style = styleOf(select.value, data);
    arrange(box, data.orders[style] || data.orders.default, data.labels[style] || data.labels.default);
  });
}

start();
