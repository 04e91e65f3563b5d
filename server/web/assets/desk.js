// The desk view's live list: the location's event stream (the one the
// call display reads) signals every change of the line, and the lists of
// the waiting and of the other desks are fetched again and swapped in.
// The forms of the desk's own ticket stay as they are, so the focus is
// not lost. Without scripts the lists are as fresh as the last action.
"use strict";
(function () {
  var box = document.getElementById("desk-queue");
  if (!box || !box.dataset.events || !window.EventSource || !window.fetch || !window.DOMParser) return;
  var first = true, busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(window.location.href, { headers: { Accept: "text/html" }, cache: "no-store", credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("desk-queue");
        if (fresh) {
          box.innerHTML = fresh.innerHTML;
          document.body.dataset.updated = String(Date.now());
        }
      })
      .catch(function () { /* the next change tries again */ })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }
  var es = new EventSource(box.dataset.events);
  es.addEventListener("queue", function () {
    // The first event is the state the page was rendered with.
    if (first) { first = false; box.dataset.live = "1"; return; }
    refresh();
  });
})();
