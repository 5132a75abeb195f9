/* GeoCRM field service worker entry, served from /sw.js so that its scope is "/".
 * A module worker (registered with type "module"): the code is the static module it imports;
 * this file only hands it the server's settings, rendered with |tojson (docs/frontend.md). */
import { start } from {{ worker_module | tojson }};

start({{ worker_config | tojson }});
