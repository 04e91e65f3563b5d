// Counts the hold down visibly every second and announces it to screen
// readers only at 5, 2 and 1 minute(s) left and when it is over.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("countdown");
  if (!box) return;
  var expires = Number(box.dataset.expires) * 1000;
  var visible = document.getElementById("countdown-visible");
  var live = document.getElementById("countdown-live");
  var announced = {};
  function tick() {
    var left = Math.max(0, Math.round((expires - Date.now()) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    if (left === 0) {
      visible.textContent = box.dataset.over;
      if (!announced.over) { live.textContent = box.dataset.over; announced.over = true; }
      return;
    }
    visible.textContent = box.dataset.left + " " + m + ":" + (s < 10 ? "0" : "") + s;
    [5, 2, 1].forEach(function (mark) {
      if (left <= mark * 60 && left > mark * 60 - 5 && !announced[mark]) {
        announced[mark] = true;
        live.textContent = box.dataset.left + " " + mark + " " + box.dataset.min;
      }
    });
    setTimeout(tick, 1000);
  }
  tick();
});
