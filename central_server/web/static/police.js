/* The police case page: each step form calls the staff API (the workflow checks and audits it),
 * then the page reloads with ?done=<step> so it shows the case as it now is.
 *
 *   <form class="step-form" data-kind="transition" data-action="confirm">  POST .../transitions
 *   <form class="step-form" data-kind="record" data-record="transfer">     POST .../records
 * Fields named `data.x` go into the step's `data`; `type="number"` and `data-type="int"` fields
 * are sent as numbers; empty fields are left out.
 */
"use strict";
(function () {
  var root = document.getElementById("police-case");
  var printButton = document.getElementById("print-sheet");
  if (printButton) {
    printButton.addEventListener("click", function () { window.print(); });
  }
  if (!root) { return; }
  var caseId = root.getAttribute("data-id");
  var version = parseInt(root.getAttribute("data-version"), 10);

  function value(field) {
    var raw = field.value.trim();
    if (raw === "") { return undefined; }
    var numeric = field.type === "number" || field.getAttribute("data-type") === "int";
    return numeric ? parseInt(raw, 10) : raw;
  }

  function collect(form) {
    var top = {};
    var data = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.disabled) { return; }
      var v = value(field);
      if (v === undefined) { return; }
      if (field.name.indexOf("data.") === 0) { data[field.name.slice(5)] = v; } else { top[field.name] = v; }
    });
    return { top: top, data: data };
  }

  function request(form) {
    var fields = collect(form);
    var base = "/api/v1/violations/" + caseId;
    if (form.getAttribute("data-kind") === "record") {
      var kind = form.getAttribute("data-record");
      return { step: kind, call: tw.api("POST", base + "/records", { kind: kind, data: fields.data }) };
    }
    var action = form.getAttribute("data-action");
    var body = { action: action, expected_version: version };
    if (fields.top.reason_code) { body.reason_code = fields.top.reason_code; }
    if (fields.top.note) { body.note = fields.top.note; }
    if (Object.keys(fields.data).length) { body.data = fields.data; }
    return { step: action, call: tw.api("POST", base + "/transitions", body) };
  }

  function submit(event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("step-form")) { return; }
    event.preventDefault();
    var ask = form.getAttribute("data-confirm");
    if (ask && !window.confirm(tw.msg(ask))) { return; }
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    tw.flash(tw.msg("working"), "info");
    var sent = request(form);
    sent.call.then(function (result) {
      if (result.ok) {
        window.location.assign(window.location.pathname + "?done=" + encodeURIComponent(sent.step));
        return;
      }
      if (button) { button.disabled = false; }
      tw.flash(tw.errorText(result), "error");
    });
  }

  root.addEventListener("submit", submit);
})();
