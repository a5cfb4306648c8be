/* Shared by every page (templates/base.html):
 * - toasts: Django's messages in the corner of the window (helpdesk/lib/toasts.py), dismissed
 *   by their button or Esc; successes fade after a while unless hovered or focused, errors stay;
 * - confirmations: every hx-confirm asks in the page's own <dialog> instead of the browser's
 *   confirm(): Esc or Cancel cancels, Tab stays inside, focus returns to where it was;
 * - a form that comes back refused (422) scrolls its first invalid field into view and focuses it;
 *   an answer with something to act on at once (data-reveal: a link shown once) scrolls to it. */
(function () {
  "use strict";
  var FADE_MS = 8000; // a success or info toast stays this long unless hovered or focused
  var KEEP = 4; // toasts on screen at most: the oldest go first

  // ---------------------------------------------------------------- toasts

  function region() { return document.getElementById("toasts"); }

  function dismiss(toast) {
    if (!toast.isConnected) return;
    var hadFocus = toast.contains(document.activeElement);
    toast.remove();
    if (hadFocus && document.activeElement) document.activeElement.blur();
  }

  function arm(toast) {
    if (toast.hasAttribute("data-armed")) return;
    toast.setAttribute("data-armed", "");
    var level = toast.getAttribute("data-level");
    if (level === "error" || level === "warning") return; // stays until dismissed
    var timer = null, hovered = false, focused = false;
    function restart() {
      clearTimeout(timer);
      if (!hovered && !focused) timer = setTimeout(function () { dismiss(toast); }, FADE_MS);
    }
    toast.addEventListener("mouseenter", function () { hovered = true; restart(); });
    toast.addEventListener("mouseleave", function () { hovered = false; restart(); });
    toast.addEventListener("focusin", function () { focused = true; restart(); });
    toast.addEventListener("focusout", function () { focused = false; restart(); });
    restart();
  }

  function tidy() {
    var r = region();
    if (!r) return;
    var all = r.querySelectorAll("[data-toast]");
    for (var i = 0; i < all.length - KEEP; i++) all[i].remove();
    r.querySelectorAll("[data-toast]").forEach(arm);
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-toast-dismiss]");
    if (button) dismiss(button.closest("[data-toast]"));
  });

  // ---------------------------------------------------------------- confirmations

  var dialog = null, proceed = null, opener = null;

  function focusables() {
    return Array.prototype.filter.call(dialog.querySelectorAll("button, [href], input, select, textarea"), function (el) {
      return !el.disabled && el.offsetParent !== null;
    });
  }

  // The confirm button says what will happen: the trigger's data-confirm-label, or its button's text.
  function label(detail) {
    var elt = detail.elt;
    if (elt.hasAttribute("data-confirm-label")) return elt.getAttribute("data-confirm-label");
    var button = (detail.triggeringEvent && detail.triggeringEvent.submitter) ||
      (elt.matches("button") ? elt : elt.querySelector("button"));
    var text = button ? button.textContent.trim() : "";
    return text || "Confirm";
  }

  document.addEventListener("htmx:confirm", function (e) {
    if (!e.detail.question) return; // no hx-confirm on this request
    dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") return; // htmx asks with confirm() then
    e.preventDefault();
    if (dialog.open) return;
    opener = document.activeElement;
    proceed = e.detail.issueRequest;
    dialog.querySelector("[data-confirm-question]").textContent = e.detail.question;
    dialog.querySelector("[data-confirm-ok]").textContent = label(e.detail);
    dialog.returnValue = "";
    dialog.showModal();
    dialog.querySelector("[data-confirm-cancel]").focus(); // the safe choice first
  });

  document.addEventListener("keydown", function (e) {
    if (dialog && dialog.open) {
      if (e.key !== "Tab") return; // Esc is the dialog's own: it cancels
      var items = focusables();
      if (!items.length) return;
      var first = items[0], end = items[items.length - 1];
      if (e.shiftKey && document.activeElement === first) { e.preventDefault(); end.focus(); }
      else if (!e.shiftKey && document.activeElement === end) { e.preventDefault(); first.focus(); }
      return;
    }
    if (e.key !== "Escape" || e.defaultPrevented) return;
    // Esc dismisses the toast that has focus, or the newest one when nothing else has focus.
    var active = document.activeElement;
    var toast = active && active.closest ? active.closest("[data-toast]") : null;
    if (!toast && (!active || active === document.body)) {
      var r = region();
      toast = r ? r.querySelector("[data-toast]:last-child") : null;
    }
    if (toast) dismiss(toast);
  });

  function closed() {
    // Esc ("cancel") leaves returnValue empty; the buttons set it to their value.
    var go = dialog.returnValue === "confirm" ? proceed : null;
    proceed = null;
    if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
    opener = null;
    if (go) go(true); // true: htmx does not ask again with confirm()
  }

  // ---------------------------------------------------------------- refused forms

  // The first field the server refused: marked aria-invalid by Django, or named by an error.
  function firstProblem(root) {
    var field = root.querySelector('[aria-invalid="true"]');
    if (field) return field;
    var error = root.querySelector("[data-error-for]");
    if (error) {
      var scope = error.closest("form") || root;
      field = scope.querySelector('[name="' + CSS.escape(error.getAttribute("data-error-for")) + '"]');
      if (field) return field;
    }
    var alert = root.querySelector('[role="alert"]');
    if (alert && !alert.hasAttribute("tabindex")) alert.setAttribute("tabindex", "-1");
    return alert;
  }

  function inView(el) {
    var box = el.getBoundingClientRect();
    return box.top >= 0 && box.bottom <= window.innerHeight;
  }

  function reveal(root) {
    var el = firstProblem(root);
    if (!el) return false;
    if (el.getAttribute("role") === "alert" && inView(el)) return true; // seen already (the inbox's reply box)
    el.scrollIntoView({ block: "center" });
    el.focus({ preventScroll: true });
    return true;
  }

  // Something the answer wants seen at once: scrolled to, its first button focused.
  function show(root) {
    var el = root.matches("[data-reveal]") ? root : root.querySelector("[data-reveal]");
    if (!el) return false;
    el.scrollIntoView({ block: "center" });
    var button = el.querySelector("button");
    if (button) button.focus({ preventScroll: true });
    return true;
  }

  var revealed = typeof WeakSet === "function" ? new WeakSet() : null;
  document.addEventListener("htmx:afterSettle", function (e) {
    var xhr = e.detail.xhr;
    if (!xhr || !(e.target instanceof Element)) return;
    if (revealed && revealed.has(xhr)) return; // once per answer (it settles each swapped element)
    var done = xhr.status === 422 ? reveal(e.target) : show(e.target);
    if (done && revealed) revealed.add(xhr);
  });

  function start() {
    dialog = document.getElementById("confirm-dialog");
    if (dialog) dialog.addEventListener("close", closed);
    var r = region();
    if (r) {
      // A page's own toasts were in the region before a screen reader could listen to it:
      // put them in again, so that they are announced like the ones that come later.
      var initial = Array.prototype.slice.call(r.children);
      initial.forEach(function (t) { t.remove(); });
      new MutationObserver(tidy).observe(r, { childList: true });
      setTimeout(function () { initial.forEach(function (t) { r.appendChild(t); }); }, 100);
    }
    if (document.querySelector('form [aria-invalid="true"], form [data-error-for]')) reveal(document);
    else show(document.body);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
