// A checkbox with data-select-all="NAME" checks or unchecks every input named NAME (no inline
// handlers: the Content-Security-Policy allows our own script files only).
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.dataset.selectAll) { return; }
  document.querySelectorAll(`input[name="${box.dataset.selectAll}"]`).forEach((c) => {
    c.checked = box.checked;
  });
});
