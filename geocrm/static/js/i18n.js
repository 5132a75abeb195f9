/* The web pages' modules translate with the field app's catalogue loader (one module, one
 * JSON per language: /app/i18n/<lang>.json, the same catalogues as the server's templates). */
export { lang, t } from "../field/js/i18n.js";
