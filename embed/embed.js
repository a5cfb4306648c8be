/* Helpdesk chat loader (launcher + iframe). Options, API: see the README. */
(function (w, d) {
  "use strict";
  if (w.__helpdeskLoaded) return;
  w.__helpdeskLoaded = 1;
  var cfg = w.HelpdeskWidget || {};
  var script = d.currentScript || d.querySelector("script[src*='embed.js']");
  var base = new URL(script.src, location.href).origin;
  var KEYS = ["title", "subtitle", "primaryColor", "greeting", "newMessagePlaceholder", "companyName", "showAgentAvailability", "isBrandingHidden", "position"];
  var q = "token=" + encodeURIComponent(cfg.token || "") + "&parentOrigin=" + encodeURIComponent(location.origin);
  KEYS.forEach(function (k) { if (cfg[k] != null) q += "&" + k + "=" + encodeURIComponent(cfg[k]); });
  // A link from an email (#hd-resume=<code>) opens the chat on its conversation.
  var resume = /hd-resume=([\w:.-]+)/.exec(location.hash);
  if (resume) q += "&resume=" + resume[1], history.replaceState(0, "", "#");
  var color = /^#[0-9a-f]{6}$/i.test(cfg.primaryColor || "") ? cfg.primaryColor : "#1f6feb";
  var side = cfg.position === "left" ? "left" : "right";
  var open = false, ready = false, queue = [], locked = false, saved;
  var phone = w.matchMedia("(max-width:480px),(max-height:480px)");

  var root = d.createElement("div");
  root.id = "helpdesk-widget";
  var btn = d.createElement("button");
  btn.type = "button";
  btn.innerHTML = '<svg width="26" height="26" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M4 4h16v12H7l-3 3z"/></svg>';
  var badge = d.createElement("span");
  badge.style.cssText = "position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;background:#dc2626;color:#fff;font:600 12px/20px system-ui,sans-serif;display:none";
  badge.dataset.unread = 0;
  btn.appendChild(badge);
  var frame = d.createElement("iframe");
  frame.title = "Chat";
  frame.src = base + "/chat?" + q;
  frame.allow = "clipboard-write";
  root.appendChild(frame);
  root.appendChild(btn);

  function place() {
    var full = open && phone.matches, r = d.documentElement.style, css = "position:fixed;z-index:2147483000;bottom:";
    frame.style.cssText = css + (full
      ? "0;left:0;width:100vw;height:100vh;height:100dvh;box-sizing:border-box;padding:env(safe-area-inset-top) env(safe-area-inset-right) env(safe-area-inset-bottom) env(safe-area-inset-left)"
      : "88px;" + side + ":20px;width:380px;height:600px;max-height:calc(100vh - 110px);border-radius:16px;box-shadow:0 8px 30px rgba(0,0,0,.2)") + ";border:0;background:#fff;display:" + (open ? "block" : "none");
    btn.style.cssText = css + "20px;" + side + ":20px;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;color:#fff;box-shadow:0 4px 14px rgba(0,0,0,.25);align-items:center;justify-content:center;display:" + (full ? "none" : "flex") + ";background:" + color;
    btn.setAttribute("aria-label", open ? "Close chat" : "Open chat");
    btn.setAttribute("aria-expanded", open);
    if (full != locked) r.overflow = (locked = full) ? ((saved = r.overflow), "hidden") : saved;
    if (open) post({ hd: "layout", full: full });
  }
  place();
  phone.onchange = place;

  function post(msg) {
    if (ready) frame.contentWindow.postMessage(msg, base);
    else queue.push(msg);
  }
  function setOpen(v, focus) {
    open = v;
    place();
    post({ hd: v ? "open" : "close" });
    if (focus) btn.focus();
  }
  btn.onclick = function () { setOpen(!open); };
  d.addEventListener("keydown", function (e) { if (open && e.key === "Escape") setOpen(false, 1); });

  w.addEventListener("message", function (e) {
    if (e.origin !== base || e.source !== frame.contentWindow) return;
    var m = e.data || {};
    if (m.hd === "ready") {
      ready = true;
      if (/^#[0-9a-f]{6}$/i.test(m.color || "")) color = m.color;
      if (!cfg.position && m.position === "left") side = "left";
      place();
      queue.splice(0).forEach(post);
    } else if (m.hd === "unread") {
      var n = Math.max(0, m.count | 0);
      badge.textContent = n > 9 ? "9+" : n;
      badge.dataset.unread = n;
      badge.style.display = n ? "block" : "none";
    } else if (m.hd === "close") {
      setOpen(false, 1);
    }
  });

  var api = function (cmd, data) {
    if (cmd === "open") setOpen(true);
    else if (cmd === "close") setOpen(false);
    else if (cmd === "toggle") setOpen(!open);
    else if (cmd === "identify" || cmd === "reset") post({ hd: cmd, data: data || {} });
  };
  var pending = (w.Helpdesk && w.Helpdesk.q) || [];
  w.Helpdesk = api;
  function mount() {
    d.body.appendChild(root);
    pending.forEach(function (a) { api.apply(null, a); });
    if (resume) setOpen(true);
  }
  if (d.body) mount(); else d.addEventListener("DOMContentLoaded", mount);
})(window, document);
