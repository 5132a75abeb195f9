// Planning progress: poll the job's JSON and reload the run page when it has finished.
(function () {
  "use strict";
  var box = document.getElementById("job-progress");
  if (!box || !box.dataset.url) return;
  var bar = document.getElementById("job-bar");
  var message = document.getElementById("job-message");
  function poll() {
    fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (job) {
        bar.value = job.progress;
        message.textContent = job.message || job.status;
        box.setAttribute("data-status", job.status);
        if (job.finished) { window.location.reload(); return; }
        setTimeout(poll, 700);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
