// Marks that scripts run (for .js-only parts) and moves focus to the
// error summary, which the autofocus attribute already does in most
// browsers.
"use strict";
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
});
