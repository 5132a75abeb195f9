// ESLint flat config for GeoCRM's own browser code (`make lint` runs it).
// The app ships native ES modules with no build step, so what eslint reads is what the
// browser runs. Vendored libraries (geocrm/static/vendor, copied from npm) are not ours.
import js from "@eslint/js";
import globals from "globals";

export default [
  {
    // templates/: Jinja, not JavaScript (the worker entry templates/field/sw.js is two lines).
    // tests/e2e/field_v1/: the v1 worker, kept as test data for the upgrade test.
    ignores: ["geocrm/static/vendor/**", "templates/**", "tests/e2e/field_v1/**", ".venv/**", "htmlcov/**"],
  },
  js.configs.recommended,
  {
    files: ["geocrm/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      // Leaflet and its plugins are classic scripts that define the global L.
      // protomaps-leaflet (the vector basemap) defines the global protomapsL.
      globals: { ...globals.browser, L: "readonly", protomapsL: "readonly" },
    },
    rules: {
      "no-var": "error",
      "prefer-const": "error",
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-implicit-globals": "error",
      "no-restricted-globals": ["error", "name", "event", "status"],
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      // One channel in (config.js), exports out: nothing is published on window.
      "no-restricted-syntax": ["error", {
        selector: "AssignmentExpression > MemberExpression.left[object.name=/^(window|self|globalThis)$/]",
        message: "Export it from the module instead of publishing it on window (docs/frontend.md).",
      }],
    },
  },
  {
    // The field app's module service worker, and the outbox it shares with the page.
    // (Its entry, templates/field/sw.js, is a two-line Jinja template: not linted.)
    files: ["geocrm/static/field/js/sw.js", "geocrm/static/field/js/outbox.js"],
    languageOptions: { globals: { ...globals.serviceworker } },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { sourceType: "module", globals: { ...globals.node } },
  },
];
