// While a payment is being checked, asks again every 3 seconds (the
// server queries the platform) and replaces the page once it is decided.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("poll");
  if (!form) return;
  var tries = 0;
  function poll() {
    if (++tries > 40) return;
    fetch(form.action, { headers: { Accept: "text/html" }, cache: "no-store" }).then(function (r) { return r.text(); }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var res = doc.getElementById("payment-result");
      if (res && res.dataset.state !== "checking") { window.location.replace(form.action); return; }
      setTimeout(poll, 3000);
    }).catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 3000);
});
