/* The territory map's points request, started as early as possible.
 *
 * maps/territories.html loads this module `async` from <head>, right after the page data,
 * so the (large) points query runs while Leaflet and folium's script still download;
 * territory_map.js imports the same module instance and waits on the same promise.
 */
import { pageData } from "./config.js";

export const pointsRequest = fetch(pageData().pointsUrl, {
  headers: { Accept: "application/json" },
  credentials: "same-origin",
});
