// Planning progress: poll the job's JSON and reload the run page when it has finished.
// The job's status URL comes from the page data (config.js); without one there is no job.
import { pageData } from "/static/js/config.js";

const url = pageData().jobStatusUrl;
const box = document.getElementById("job-progress");

function poll() {
  const bar = document.getElementById("job-bar");
  const message = document.getElementById("job-message");
  fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then((job) => {
      bar.value = job.progress;
      message.textContent = job.message_text || job.message || job.status;
      box.setAttribute("data-status", job.status);
      if (job.finished) { window.location.reload(); return; }
      setTimeout(poll, 700);
    })
    .catch(() => { setTimeout(poll, 2000); });
}

if (box && url) poll();
