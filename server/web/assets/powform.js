// Solves the server's proof of work with pow.js in slices (so the page
// stays responsive and shows progress), then sends the time form again.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("time-form");
  if (!form || !form.dataset.powChallenge) return;
  var challenge = form.dataset.powChallenge, difficulty = Number(form.dataset.powDifficulty);
  var status = document.getElementById("pow-status"), bar = document.getElementById("pow-progress");
  var expected = Math.pow(2, difficulty), n = 0;
  function solveSlice() {
    // solvePow searches from 0; search in slices with a prefix-free check.
    var found = null;
    for (var end = n + 4096; n < end; n++) {
      if (check(String(n))) { found = String(n); break; }
    }
    bar.value = Math.min(99, Math.round(100 * n / (expected * 2)));
    if (found === null) { setTimeout(solveSlice, 0); return; }
    bar.value = 100;
    status.textContent = status.dataset.done;
    form.elements.pow_solution.value = found;
    if (form.querySelector("input[name=start]:checked")) form.submit();
  }
  var prefix = new TextEncoder().encode(challenge);
  var bytes = new Uint8Array(prefix.length + 20 + 72);
  bytes.set(prefix);
  var limit = difficulty >= 32 ? 0 : Math.pow(2, 32 - difficulty);
  function check(digits) {
    for (var i = 0; i < digits.length; i++) bytes[prefix.length + i] = digits.charCodeAt(i);
    return sha256First(bytes, prefix.length + digits.length) < limit;
  }
  status.textContent = status.dataset.solving;
  solveSlice();
});
