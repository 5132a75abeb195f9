// A rep's day: the navigation links of the rep's default app first, and the choice of that
// app (kept per user on this device, see /static/js/navapps.js). Naver/Kakao links try the
// app and fall back to the web map.
import { pageData } from "/static/js/config.js";
import { preferredApp, setPreferredApp, wireFallbacks } from "/static/js/navapps.js";

const data = pageData();
const section = document.getElementById("nav-section");
const list = document.getElementById("nav-providers");
const select = document.getElementById("nav-app");

function order(app) {
  const first = list.querySelector('[data-nav-app="' + app + '"]');
  if (first) list.prepend(first);
  section.setAttribute("data-nav-default", app);
}

if (section && list && select) {
  const app = preferredApp(data.navUser, data.navDefault);
  select.value = app;
  order(app);
  select.addEventListener("change", function () {
    if (setPreferredApp(data.navUser, select.value)) order(select.value);
  });
  wireFallbacks(section);
}
