/* The operator's review: the queue's start button and the case page's keyboard-driven decisions.
 *
 * Every action goes through the staff API (which checks the claim and the state, and audits):
 * A approve, R then 1-9 reject with that reason, S skip, E edit the plate (Enter saves),
 * J/K next/previous case. Shortcuts are off while a text field has focus. After a decision the
 * next case is claimed (POST /api/v1/review/next) and loaded at once.
 */
"use strict";
(function () {
  var dataEl = document.getElementById("review-data");
  if (!dataEl || !window.tw) { return; }
  var data = JSON.parse(dataEl.textContent || "{}");
  var RENEW_EVERY_MS = 4 * 60 * 1000;  // claims last 10 minutes
  var busy = false;

  function withQuery(path, query) { return query ? path + "?" + query : path; }
  function caseUrl(id) { return withQuery("/review/case/" + id, data.page_query); }
  function keyOf(event) {
    var key = event.key || "";
    if (key === "Process" || key === "Unidentified" || key.length !== 1) {
      var code = event.code || "";
      if (code.indexOf("Key") === 0) { return code.slice(3).toLowerCase(); }
      if (code.indexOf("Digit") === 0) { return code.slice(5); }
      if (code.indexOf("Numpad") === 0 && code.length === 7) { return code.slice(6); }
      return key;
    }
    return key.toLowerCase();
  }

  function nextCase() {
    busy = true;
    return tw.api("POST", withQuery("/api/v1/review/next", data.api_query)).then(function (r) {
      if (r.status === 204) {
        var back = data.page_query ? data.page_query + "&done=1" : "done=1";
        window.location.assign("/review?" + back);
      } else if (r.ok && r.data) {
        window.location.assign(caseUrl(r.data.id));
      } else {
        busy = false;
        tw.flash(tw.errorText(r), "error");
      }
    });
  }

  /* ---------------------------------------------------------------- the queue page */
  var start = document.getElementById("start-review");
  if (start) {
    if (/[?&]done=1/.test(window.location.search)) { tw.flash(tw.msg("queue_empty"), "info"); }
    start.addEventListener("click", function () { if (!busy) { nextCase(); } });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !tw.typing(event) && !busy && !start.disabled &&
          (event.target === document.body || event.target === start)) {
        event.preventDefault();
        nextCase();
      }
    });
    return;
  }

  /* ---------------------------------------------------------------- the case page */
  var approveBtn = document.getElementById("btn-approve");
  if (!approveBtn) { return; }
  var version = data.version;
  var claimEl = document.getElementById("claim-status");
  var reasonsEl = document.getElementById("reasons");
  var noteBox = document.getElementById("note-box");
  var noteInput = document.getElementById("reason-note");
  var plateForm = document.getElementById("plate-form");
  var plateInput = document.getElementById("plate-input");
  var statusEl = document.getElementById("case-status");
  var mine = false;  // whether this browser holds the case's claim
  var mode = null;  // null | "reason" | "note"
  var chosenReason = null;
  var caseUrlApi = "/api/v1/violations/" + data.id;

  function setEnabled(enabled) {
    document.querySelectorAll(".actions button, #plate-form button, #plate-input")
      .forEach(function (el) { el.disabled = !enabled; });
  }

  function showClaim(claim) {
    if (!claimEl || !claim) { return; }
    if (claim.mine) {
      claimEl.textContent = tw.msg("claim_mine") + " " + tw.formatTime(claim.expires_at);
    } else {
      claimEl.textContent = tw.msg("claimed_by_other") + " " + tw.formatTime(claim.expires_at) +
        (claim.holder ? ": " + claim.holder : "");
    }
  }

  function claimFrom(result) {
    return { mine: true, expires_at: result.data.expires_at };
  }

  function claimCase() {
    tw.api("POST", caseUrlApi + "/claim").then(function (r) {
      mine = r.ok;
      if (r.ok) { showClaim(claimFrom(r)); return; }
      setEnabled(false);
      if (r.status === 409 && r.error && r.error.detail && r.error.detail.until) {
        showClaim({ mine: false, expires_at: r.error.detail.until, holder: null });
      } else {
        tw.flash(tw.errorText(r), "error");
      }
    });
  }

  function renewClaim() {
    tw.api("POST", caseUrlApi + "/claim/renew").then(function (r) {
      if (r.ok) { showClaim(claimFrom(r)); return; }
      if (r.status === 409) {
        mine = false;
        setEnabled(false);
        if (claimEl) { claimEl.textContent = tw.msg("claim_lost"); }
      }
    });
  }

  function decide(body, doneKey) {
    if (busy) { return; }
    busy = true;
    body.expected_version = version;
    tw.api("POST", caseUrlApi + "/transitions", body).then(function (r) {
      if (r.ok) {
        if (statusEl) { statusEl.textContent = r.data.status_vi; }
        tw.flash(tw.msg(doneKey), "success");
        nextCase();
      } else {
        busy = false;
        tw.flash(tw.errorText(r), "error");
      }
    });
  }

  function approve() { decide({ action: "approve" }, "approved"); }

  function enterReasonMode() {
    mode = "reason";
    reasonsEl.classList.add("active");
    tw.flash(tw.msg("choose_reason"), "info");
  }

  function cancelMode() {
    mode = null;
    chosenReason = null;
    reasonsEl.classList.remove("active");
    noteBox.hidden = true;
    document.querySelectorAll(".reason.chosen").forEach(function (el) {
      el.classList.remove("chosen");
    });
  }

  function chooseReason(reason) {
    if (!reason) { return; }
    if (!reason.requires_note) {
      cancelMode();
      decide({ action: "reject", reason_code: reason.code }, "rejected");
      return;
    }
    mode = "note";
    chosenReason = reason;
    var button = reasonsEl.querySelector('[data-reason="' + reason.code + '"]');
    if (button) { button.classList.add("chosen"); }
    noteBox.hidden = false;
    tw.flash(tw.msg("note_needed"), "info");
    noteInput.focus();
  }

  function reasonByKey(key) {
    for (var i = 0; i < data.reasons.length; i++) {
      if (String(data.reasons[i].key) === key) { return data.reasons[i]; }
    }
    return null;
  }

  function rejectWithNote() {
    var note = noteInput.value.trim();
    if (!note || !chosenReason) { tw.flash(tw.msg("note_needed"), "error"); return; }
    var reason = chosenReason;
    cancelMode();
    decide({ action: "reject", reason_code: reason.code, note: note }, "rejected");
  }

  function skip() {
    if (busy) { return; }
    busy = true;
    tw.api("DELETE", caseUrlApi + "/claim?skip=true").then(function (r) {
      if (r.ok || r.status === 409) { tw.flash(tw.msg("skipped"), "info"); nextCase(); return; }
      busy = false;
      tw.flash(tw.errorText(r), "error");
    });
  }

  function editPlate() {
    if (plateInput.disabled) { return; }
    plateInput.focus();
    plateInput.select();
  }

  function savePlate() {
    if (busy) { return; }
    busy = true;
    var body = { plate_printed: plateInput.value.trim(), expected_version: version };
    tw.api("PUT", caseUrlApi + "/plate", body).then(function (r) {
      busy = false;
      if (r.ok) {
        version = r.data.version;
        plateInput.value = r.data.plate_printed || plateInput.value;
        plateInput.defaultValue = plateInput.value;
        plateInput.blur();
        tw.flash(tw.msg("plate_saved"), "success");
      } else {
        tw.flash(tw.errorText(r), "error");
      }
    });
  }

  function go(id, emptyKey) {
    if (!id) { tw.flash(tw.msg(emptyKey), "info"); return; }
    if (busy) { return; }
    busy = true;
    var release = mine
      ? tw.api("DELETE", caseUrlApi + "/claim?skip=false") : Promise.resolve(null);
    release.then(function () { window.location.assign(caseUrl(id)); });
  }

  function onFieldKey(event) {
    if (event.target === plateInput && event.key === "Escape") {
      plateInput.value = plateInput.defaultValue;
      plateInput.blur();
    } else if (event.target === noteInput && event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      rejectWithNote();
    } else if (event.target === noteInput && event.key === "Escape") {
      cancelMode();
      noteInput.blur();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (tw.typing(event)) { onFieldKey(event); return; }
    var key = keyOf(event);
    if (mode === "reason") {
      event.preventDefault();
      if (/^[1-9]$/.test(key)) { chooseReason(reasonByKey(key)); } else { cancelMode(); }
      return;
    }
    if (busy || !data.pending) {
      if (key === "j" || key === "k") { event.preventDefault(); }
      if (key === "j") { go(data.next_id, "no_next"); }
      if (key === "k") { go(data.prev_id, "no_prev"); }
      return;
    }
    var actions = {
      a: approve, r: enterReasonMode, s: skip, e: editPlate,
      j: function () { go(data.next_id, "no_next"); },
      k: function () { go(data.prev_id, "no_prev"); }
    };
    if (Object.prototype.hasOwnProperty.call(actions, key)) {
      event.preventDefault();
      actions[key]();
    }
  });

  approveBtn.addEventListener("click", approve);
  document.getElementById("btn-reject").addEventListener("click", enterReasonMode);
  document.getElementById("btn-skip").addEventListener("click", skip);
  reasonsEl.querySelectorAll(".reason").forEach(function (button) {
    button.addEventListener("click", function () {
      chooseReason(reasonByKey(button.getAttribute("data-key")));
    });
  });
  plateForm.addEventListener("submit", function (event) { event.preventDefault(); savePlate(); });

  if (data.pending) {
    if (!data.claim) {
      claimCase();
    } else if (data.claim.mine) {
      mine = true;
      renewClaim();
    } else {
      setEnabled(false);
    }
    window.setInterval(function () { if (mine && !busy) { renewClaim(); } }, RENEW_EVERY_MS);
  }
})();
