// Live progress of a rebalance run: polls the run's progress API every second while it runs.
(function () {
  const box = document.querySelector("[data-run-progress]");
  if (!box) { return; }
  const url = box.dataset.runProgress;
  const bar = box.querySelector("progress");
  const text = box.querySelector("[data-progress-text]");
  function show(p) {
    bar.value = p.percent;
    const rate = p.rate_per_s === null ? "" : ` · ${p.rate_per_s} accounts/s`;
    const eta = p.eta_s === null || p.status !== "running" ? "" : ` · about ${Math.ceil(p.eta_s)} s left`;
    text.textContent = `${p.status}: ${p.done} done, ${p.failed} failed, ${p.skipped} skipped, ${p.remaining} remaining${rate}${eta}`;
    return p.status === "queued" || p.status === "running";
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => r.json())
      .then((p) => {
        if (show(p)) { setTimeout(poll, 1000); } else if (box.dataset.reloadWhenDone !== undefined) { window.location.reload(); }
      })
      .catch(() => setTimeout(poll, 3000));
  }
  if (box.dataset.active === "true") { poll(); }
})();
