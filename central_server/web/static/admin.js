/* Administration pages: forms and buttons that call the staff API (which checks, validates and
 * audits), then reload with ?done=<message key> so the page shows what is stored now.
 *
 *   <form class="api-form" data-method="PATCH" data-url="/api/v1/users/7" data-done="saved"
 *         data-redirect="/admin/users/{id}">            {id} (or any field) from the answer
 *   fields: checkboxes sharing a name with data-list    -> an array of the checked values
 *           <select multiple>                           -> an array
 *           checkbox with data-bool                     -> true / false
 *           type="number" or data-type="int"|"float"    -> a number
 *           empty fields are left out, or sent as null with data-nullable
 *           data-in-url                                 -> fills {name} in data-url, not the body
 *   <button class="api-button" data-method="POST" data-url="..." data-done="unlocked"
 *           data-confirm="message key">                 -> the call without a body
 *   <button id="verify-chain">                          -> GET /api/v1/audit/verify, shown inline
 */
"use strict";
(function () {
  function number(field, raw) {
    var kind = field.getAttribute("data-type");
    if (kind === "float") { return parseFloat(raw); }
    if (field.type === "number" || kind === "int") {
      return raw.indexOf(".") >= 0 ? parseFloat(raw) : parseInt(raw, 10);
    }
    return raw;
  }

  function collect(form, inUrl) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      var name = field.name;
      if (!name || field.disabled || field.type === "submit" || name === "csrf_token") { return; }
      if (field.hasAttribute("data-in-url")) { inUrl[name] = field.value.trim(); return; }
      if (field.hasAttribute("data-list")) {
        if (!body[name]) { body[name] = []; }
        if (field.checked) { body[name].push(field.value); }
        return;
      }
      if (field.hasAttribute("data-bool")) { body[name] = field.checked; return; }
      if (field.multiple) {
        body[name] = Array.prototype.filter.call(field.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
        return;
      }
      var raw = field.value.trim();
      if (raw === "") {
        if (field.hasAttribute("data-nullable")) { body[name] = null; }
        return;
      }
      body[name] = number(field, raw);
    });
    return body;
  }

  function fill(template, data) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return data && data[key] !== undefined ? encodeURIComponent(data[key]) : "";
    });
  }

  function finish(el, result) {
    if (!result.ok) {
      tw.flash(tw.errorText(result), "error");
      return false;
    }
    var done = el.getAttribute("data-done") || "saved";
    var target = el.getAttribute("data-redirect");
    var path = target ? fill(target, result.data) : window.location.pathname;
    var query = new URLSearchParams(target ? "" : window.location.search);
    query.set("done", done);
    window.location.assign(path + "?" + query.toString());
    return true;
  }

  function call(el, body, inUrl) {
    var ask = el.getAttribute("data-confirm");
    if (ask && !window.confirm(tw.msg(ask))) { return; }
    var button = el.tagName === "BUTTON" ? el : el.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    var url = fill(el.getAttribute("data-url"), inUrl || {});
    tw.api(el.getAttribute("data-method") || "POST", url, body)
      .then(function (result) {
        if (!finish(el, result) && button) { button.disabled = false; }
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("api-form")) { return; }
    event.preventDefault();
    var inUrl = {};
    var body = collect(form, inUrl);
    call(form, body, inUrl);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.api-button") : null;
    if (!button) { return; }
    event.preventDefault();
    call(button, button.hasAttribute("data-body") ? JSON.parse(button.getAttribute("data-body")) : undefined);
  });

  var verify = document.getElementById("verify-chain");
  if (verify) {
    verify.addEventListener("click", function () {
      var out = document.getElementById("verify-result");
      verify.disabled = true;
      out.textContent = tw.msg("verifying");
      tw.api("GET", "/api/v1/audit/verify").then(function (result) {
        verify.disabled = false;
        if (!result.ok) { out.textContent = tw.errorText(result); return; }
        var r = result.data;
        out.className = "verify-result flash " + (r.ok ? "flash-success" : "flash-error");
        out.textContent = r.ok
          ? tw.msg("chain_ok").replace("{n}", r.events_checked)
          : tw.msg("chain_broken").replace("{id}", r.first_broken_event_id).replace("{reason}", r.reason || "");
      });
    });
  }

  var done = new URLSearchParams(window.location.search).get("done");
  if (done) { tw.flash(tw.msg(done), "success"); }
})();
