// The waiting room: solves the proof of work a place costs (with pow.js)
// and sends the form; while waiting, asks for the page every few seconds
// and swaps in the new place. Screen readers hear a short update only
// when the turn comes, or at most once a minute when the place moved.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var join = document.getElementById("room-join");
  if (join && join.dataset.powChallenge) solve(join);
  var status = document.getElementById("room-status");
  if (status && status.dataset.poll) poll(status);

  function solve(form) {
    var challenge = form.dataset.powChallenge, difficulty = Number(form.dataset.powDifficulty);
    var text = document.getElementById("room-pow-status"), bar = document.getElementById("room-pow-progress");
    var button = document.getElementById("room-join-button");
    var prefix = new TextEncoder().encode(challenge);
    var bytes = new Uint8Array(prefix.length + 20 + 72);
    bytes.set(prefix);
    var limit = difficulty >= 32 ? 0 : Math.pow(2, 32 - difficulty), expected = Math.pow(2, difficulty), n = 0;
    button.disabled = true;
    text.textContent = text.dataset.solving;
    function slice() {
      for (var end = n + 4096; n < end; n++) {
        var digits = String(n);
        for (var i = 0; i < digits.length; i++) bytes[prefix.length + i] = digits.charCodeAt(i);
        if (sha256First(bytes, prefix.length + digits.length) < limit) {
          bar.value = 100;
          text.textContent = text.dataset.done;
          form.elements.pow_solution.value = digits;
          button.disabled = false;
          form.submit();
          return;
        }
      }
      bar.value = Math.min(99, Math.round(100 * n / (expected * 2)));
      setTimeout(slice, 0);
    }
    slice();
  }

  function poll(status) {
    var live = document.getElementById("room-live"), pause = document.getElementById("room-pause");
    var every = Number(status.dataset.poll), timer = null, paused = false, lastSaid = Date.now();
    var lastAnnounce = status.dataset.announce || "";
    function schedule() { if (!paused) timer = setTimeout(ask, every); }
    function ask() {
      fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var next = doc.getElementById("room-status");
          if (!next) { schedule(); return; }
          var current = document.getElementById("room-status");
          current.innerHTML = next.innerHTML;
          current.dataset.state = next.dataset.state;
          if (next.dataset.state === "admitted") {
            var h = current.querySelector("h2"), p = current.querySelector(".lead");
            live.textContent = (h ? h.textContent + ". " : "") + (p ? p.textContent : "");
            if (pause) pause.parentNode.style.display = "none";
            return;
          }
          if (next.dataset.state !== "waiting") { window.location.reload(); return; }
          var say = next.dataset.announce || "";
          if (say && say !== lastAnnounce && Date.now() - lastSaid >= 60000) {
            live.textContent = say;
            lastAnnounce = say;
            lastSaid = Date.now();
          }
          schedule();
        })
        .catch(schedule);
    }
    if (pause) {
      pause.addEventListener("click", function () {
        paused = !paused;
        pause.textContent = paused ? pause.dataset.resume : pause.dataset.pause;
        if (paused) clearTimeout(timer); else ask();
      });
    }
    schedule();
  }
});
