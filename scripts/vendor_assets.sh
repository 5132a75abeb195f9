#!/usr/bin/env bash
# Copy the front-end packages npm installed into geocrm/static/vendor, where the app serves them.
# Nothing is ever loaded from a CDN: the app must work on a laptop on a plane.
set -euo pipefail
cd "$(dirname "$0")/.."
out=geocrm/static/vendor
rm -rf "$out"
mkdir -p "$out/leaflet" "$out/leaflet.markercluster" "$out/leaflet-draw" "$out/protomaps-leaflet"
cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css \
      node_modules/leaflet/dist/images "$out/leaflet/"
cp node_modules/leaflet.markercluster/dist/leaflet.markercluster.js \
   node_modules/leaflet.markercluster/dist/MarkerCluster.css \
   node_modules/leaflet.markercluster/dist/MarkerCluster.Default.css "$out/leaflet.markercluster/"
cp -r node_modules/leaflet-draw/dist/leaflet.draw.js node_modules/leaflet-draw/dist/leaflet.draw.css \
      node_modules/leaflet-draw/dist/images "$out/leaflet-draw/"
# The region's vector basemap (PMTiles) drawn on a canvas; labels use the browser's own fonts.
cp node_modules/protomaps-leaflet/dist/protomaps-leaflet.js "$out/protomaps-leaflet/"
touch "$out/.stamp"
