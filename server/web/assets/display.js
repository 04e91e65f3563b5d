// The call display's live updates: an EventSource on the location's
// event stream (the browser reconnects by itself after a network loss,
// and the server sends the current state on every connection). A new
// call, or a recall, is highlighted and, once switched on, chimes with a
// short tone made by WebAudio. Without scripts the page reloads itself.
"use strict";
(function () {
  var body = document.body;
  var url = body.dataset.events;
  if (!url || !window.EventSource) return;
  var latest = document.getElementById("latest");
  var earlier = document.getElementById("earlier");
  var waiting = document.getElementById("waiting");
  var status = document.getElementById("status");
  var chime = document.getElementById("chime");
  var audio = null;
  // The key of the newest call shown: a different one is a new call.
  var lastKey = "";
  var first = latest.querySelector(".call");
  if (first) lastKey = first.querySelector(".number").textContent + "@" + first.dataset.at;

  function chimeOn() { return chime.getAttribute("aria-pressed") === "true"; }
  function setChime(on) {
    chime.setAttribute("aria-pressed", on ? "true" : "false");
    chime.textContent = on ? chime.dataset.on : chime.dataset.off;
    try { localStorage.setItem("termin_chime", on ? "1" : "0"); } catch (e) { /* private mode */ }
  }
  chime.hidden = false;
  try { if (localStorage.getItem("termin_chime") === "1") setChime(true); } catch (e) { /* private mode */ }
  chime.addEventListener("click", function () {
    var on = !chimeOn();
    // The audio context is made on the click: browsers start sound only
    // after a gesture.
    if (on && !audio && (window.AudioContext || window.webkitAudioContext)) {
      audio = new (window.AudioContext || window.webkitAudioContext)();
    }
    setChime(on);
    if (on) tone();
  });

  function tone() {
    if (!audio) {
      if (!(window.AudioContext || window.webkitAudioContext)) return;
      audio = new (window.AudioContext || window.webkitAudioContext)();
    }
    var t = audio.currentTime;
    [880, 660].forEach(function (f, i) {
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = f;
      gain.gain.setValueAtTime(0.0001, t + i * 0.35);
      gain.gain.exponentialRampToValueAtTime(0.4, t + i * 0.35 + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.35 + 0.33);
      osc.connect(gain).connect(audio.destination);
      osc.start(t + i * 0.35);
      osc.stop(t + i * 0.35 + 0.35);
    });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function render(st) {
    var calls = st.calls || [];
    var top = calls[0];
    var key = top ? top.number + "@" + top.at : "";
    var fresh = top && key !== lastKey;
    latest.textContent = "";
    if (top) {
      var p = el("p", "call newest");
      p.dataset.at = top.at;
      p.appendChild(el("span", "number", top.number));
      p.appendChild(document.createTextNode(" "));
      var dest = el("span", "dest");
      var to = el("span", "to", "→");
      to.setAttribute("aria-hidden", "true");
      dest.appendChild(to);
      dest.appendChild(document.createTextNode(" "));
      dest.appendChild(el("span", "desk", top.desk_text));
      p.appendChild(dest);
      if (fresh) p.classList.add("fresh");
      latest.appendChild(p);
    } else {
      latest.appendChild(el("p", "none", latest.dataset.none));
    }
    earlier.textContent = "";
    calls.slice(1).forEach(function (c) {
      var tr = el("tr");
      tr.appendChild(el("td", "number", c.number));
      tr.appendChild(el("td", "", c.desk_text));
      earlier.appendChild(tr);
    });
    waiting.textContent = st.waiting_text;
    if (fresh && chimeOn()) tone();
    lastKey = key;
    body.dataset.updated = String(Date.now());
  }

  var es = new EventSource(url);
  es.addEventListener("queue", function (ev) {
    status.textContent = "";
    body.dataset.live = "1";
    render(JSON.parse(ev.data));
  });
  es.addEventListener("open", function () { status.textContent = ""; });
  es.addEventListener("error", function () {
    body.dataset.live = "";
    status.textContent = body.dataset.offline || "";
  });
})();
