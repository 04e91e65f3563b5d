// The ticket page's live updates: an EventSource on the ticket's event
// stream replaces the sentences (people ahead, the estimate, the desk
// once called). The regions are aria-live: the position politely, the
// call assertively. Without scripts the page reloads itself.
"use strict";
(function () {
  var box = document.querySelector(".ticket[data-events]");
  if (!box || !window.EventSource) return;
  var ids = { ahead: "ticket-ahead", estimate: "ticket-estimate", done: "ticket-done", as_of: "ticket-asof" };
  var called = document.getElementById("ticket-called");
  var live = document.getElementById("ticket-live");
  function set(id, text) {
    var e = document.getElementById(id);
    if (e && e.textContent !== text) e.textContent = text;
  }
  var es = new EventSource(box.dataset.events);
  es.addEventListener("queue", function (ev) {
    var st = JSON.parse(ev.data);
    Object.keys(ids).forEach(function (k) { set(ids[k], st[k] || ""); });
    var text = st.called || "";
    if (called.textContent !== text) {
      called.textContent = "";
      if (text) {
        var s = document.createElement("strong");
        s.textContent = text;
        called.appendChild(s);
      }
    }
    box.dataset.state = st.state;
    live.hidden = false;
    document.body.dataset.updated = String(Date.now());
    // A ticket dealt with changes no more.
    if (st.state !== "waiting" && st.state !== "called") es.close();
  });
  es.addEventListener("error", function () { live.hidden = true; });
})();
