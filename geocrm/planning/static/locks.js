// Manual moves checked at once (issue 15): each stop's "Move to" form asks the server what
// the move would break (late arrival, closed shop, overtime, lunch) as soon as the rep or
// stop number changes, and shows it before anything is saved. Dragging a stop row onto
// another row (any rep's card of the same day) fills that form in and checks it; "Place"
// applies the move. Texts come translated from the server; they are set as text, never HTML.
import { csrfToken } from "/static/js/config.js";

function show(box, data) {
  box.replaceChildren();
  box.dataset.state = data.ok ? "ok" : "violations";
  const list = document.createElement("ul");
  for (const v of data.violations) {
    const item = document.createElement("li");
    item.className = "violation violation-" + v.kind;
    item.textContent = v.text;
    list.append(item);
  }
  if (data.ok) {
    const item = document.createElement("li");
    item.className = "violation-none";
    item.textContent = box.closest("form").dataset.okText || "✓";
    list.append(item);
  }
  box.append(list);
}

function check(form) {
  const box = form.querySelector(".move-check");
  const body = {
    rep_id: form.elements.rep_id.value,
    position: form.elements.position.value,
  };
  box.dataset.state = "checking";
  return fetch(form.dataset.check, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  })
    .then((r) => r.json().then((data) => ({ ok: r.ok, data })))
    .then(({ ok, data }) => {
      if (!ok) {
        box.replaceChildren(document.createTextNode(data.detail || data.title || ""));
        box.dataset.state = "error";
        return;
      }
      show(box, data);
    })
    .catch(() => { box.dataset.state = "error"; });
}

const forms = document.querySelectorAll("form.move-to");
for (const form of forms) {
  form.addEventListener("change", () => check(form));
}

// Drag a stop row onto another row: that rep's card, that stop number.
let dragged = null;
for (const row of document.querySelectorAll("tr.stop-row")) {
  if (!row.querySelector("form.move-to")) continue;
  row.draggable = true;
  row.addEventListener("dragstart", (e) => {
    dragged = row;
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", row.dataset.stop);
  });
}
for (const row of document.querySelectorAll("tr.stop-row")) {
  row.addEventListener("dragover", (e) => { if (dragged) e.preventDefault(); });
  row.addEventListener("drop", (e) => {
    e.preventDefault();
    if (!dragged || dragged === row) return;
    const card = row.closest(".plan-card");
    const form = dragged.querySelector("form.move-to");
    const seq = row.querySelector("td").textContent.trim();
    form.elements.rep_id.value = card.dataset.rep;
    form.elements.position.value = seq;
    dragged = null;
    check(form).then(() => form.querySelector(".move-check").scrollIntoView({ block: "nearest" }));
  });
}

// Ready: tests (and anyone) can wait for this instead of guessing when the module ran.
document.documentElement.dataset.locksReady = "1";
