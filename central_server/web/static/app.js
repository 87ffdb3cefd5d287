/* trafficwatch web UI: the helpers every page shares (plain JavaScript, no libraries).
 *
 *   tw.api(method, url, body)  -> Promise<{ok, status, data, error}>: JSON API call with the
 *                                 session's X-CSRF-Token; a 401 sends the browser to the login
 *                                 page (coming back here afterwards).
 *   tw.msg(key)                -> a text the server put in #tw-messages, in the page language.
 *   tw.flash(text, kind)       -> show a message in the flash area ("info" | "success" | "error").
 *   tw.errorText(result)       -> the API error's message in the page language.
 *   tw.typing(event)           -> true while focus is in a text field (keyboard shortcuts skip).
 *   tw.formatTime(iso)         -> "dd/mm/yyyy HH:MM" in Asia/Ho_Chi_Minh, like the server's filter.
 */
"use strict";
(function () {
  var messagesEl = document.getElementById("tw-messages");
  var messages = messagesEl ? JSON.parse(messagesEl.textContent || "{}") : {};
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var lang = document.body.getAttribute("data-lang") || "vi";

  function msg(key) {
    return Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
  }

  function toLogin() {
    var here = window.location.pathname + window.location.search;
    window.location.assign("/login?next=" + encodeURIComponent(here));
  }

  function api(method, url, body) {
    var headers = { "Accept": "application/json" };
    var token = csrfMeta ? csrfMeta.getAttribute("content") : "";
    if (token) { headers["X-CSRF-Token"] = token; }
    var init = { method: method, headers: headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (response) {
      if (response.status === 401) {
        flash(msg("session_expired"), "error");
        toLogin();
      }
      var type = response.headers.get("content-type") || "";
      var parse = type.indexOf("application/json") >= 0 ? response.json() : Promise.resolve(null);
      return parse.then(function (data) {
        var error = data && data.error ? data.error : null;
        return { ok: response.ok, status: response.status, data: data, error: error };
      });
    }, function () {
      flash(msg("network_error"), "error");
      return { ok: false, status: 0, data: null, error: null };
    });
  }

  function errorText(result) {
    if (result && result.error) {
      return lang === "en" ? result.error.message_en : result.error.message_vi;
    }
    if (result && result.data && result.data.detail) { return String(result.data.detail); }
    return msg("network_error");
  }

  function flash(text, kind) {
    var area = document.getElementById("flash");
    if (!area) { return; }
    var p = document.createElement("p");
    p.className = "flash flash-" + (kind || "info");
    p.textContent = text;
    area.replaceChildren(p);
  }

  function typing(event) {
    var el = event.target;
    if (!el || !el.tagName) { return false; }
    var tag = el.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select" || el.isContentEditable) { return true; }
    if (tag !== "input") { return false; }
    var kind = (el.getAttribute("type") || "text").toLowerCase();
    return ["button", "submit", "checkbox", "radio", "reset", "hidden"].indexOf(kind) < 0;
  }

  var timeFormat = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit", year: "numeric",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23"
  });

  function formatTime(iso) {
    var parts = {};
    timeFormat.formatToParts(new Date(iso)).forEach(function (p) { parts[p.type] = p.value; });
    return parts.day + "/" + parts.month + "/" + parts.year + " " + parts.hour + ":" + parts.minute;
  }

  window.tw = { api: api, msg: msg, flash: flash, errorText: errorText, typing: typing,
    lang: lang, toLogin: toLogin, formatTime: formatTime };
})();
