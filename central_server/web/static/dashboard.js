/* The dashboard: make a period's monthly report now (POST /api/v1/reports), then reload. */
"use strict";
(function () {
  var form = document.getElementById("run-report");
  if (!form) { return; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var period = form.elements.period.value.trim();
    var button = form.querySelector("button");
    button.disabled = true;
    tw.flash(tw.msg("working"), "info");
    tw.api("POST", "/api/v1/reports", { period: period }).then(function (result) {
      button.disabled = false;
      if (result.ok) {
        tw.flash(tw.msg("report_made"), "success");
        window.location.reload();
      } else {
        tw.flash(tw.errorText(result), "error");
      }
    });
  });
})();
