/* Helpdesk chat loader: paste the snippet, get a launcher and the chat in an iframe.
 * Config: window.HelpdeskWidget = { token, title, subtitle, primaryColor, greeting,
 * newMessagePlaceholder, companyName, showAgentAvailability, isBrandingHidden, position }.
 * API: Helpdesk("open"|"close"|"toggle"|"reset" (on logout)), Helpdesk("identify", {name, email, externalId, userHash, traits}). */
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
  var color = /^#[0-9a-f]{6}$/i.test(cfg.primaryColor || "") ? cfg.primaryColor : "#1f6feb";
  var side = cfg.position === "left" ? "left" : "right";
  var open = false, ready = false, queue = [];

  var root = d.createElement("div");
  root.id = "helpdesk-widget";
  var css = "position:fixed;z-index:2147483000;bottom:20px;" + side + ":20px;";
  var btn = d.createElement("button");
  btn.type = "button";
  btn.setAttribute("aria-label", "Open chat");
  btn.style.cssText = css + "width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;color:#fff;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;background:" + color;
  btn.innerHTML = '<svg width="26" height="26" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M4 4h16v12H7l-3 3z"/></svg>';
  var badge = d.createElement("span");
  badge.style.cssText = "position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;background:#dc2626;color:#fff;font:600 12px/20px system-ui,sans-serif;display:none";
  badge.setAttribute("data-unread", "0");
  btn.appendChild(badge);
  var frame = d.createElement("iframe");
  frame.title = "Chat";
  frame.src = base + "/chat?" + q;
  frame.setAttribute("allow", "clipboard-write");
  frame.style.cssText = css + "bottom:88px;width:380px;height:600px;max-width:calc(100vw - 40px);max-height:calc(100vh - 110px);border:0;border-radius:16px;box-shadow:0 8px 30px rgba(0,0,0,.2);background:#fff;display:none";
  root.appendChild(frame);
  root.appendChild(btn);

  function post(msg) {
    if (ready) frame.contentWindow.postMessage(msg, base);
    else queue.push(msg);
  }
  function setOpen(v) {
    open = v;
    frame.style.display = v ? "block" : "none";
    btn.setAttribute("aria-label", v ? "Close chat" : "Open chat");
    btn.setAttribute("aria-expanded", v ? "true" : "false");
    post({ hd: v ? "open" : "close" });
  }
  btn.onclick = function () { setOpen(!open); };

  w.addEventListener("message", function (e) {
    if (e.origin !== base || e.source !== frame.contentWindow) return;
    var m = e.data || {};
    if (m.hd === "ready") {
      ready = true;
      if (/^#[0-9a-f]{6}$/i.test(m.color || "")) btn.style.background = m.color;
      if (!cfg.position && m.position === "left") { btn.style.right = frame.style.right = "auto"; btn.style.left = frame.style.left = "20px"; }
      queue.splice(0).forEach(post);
    } else if (m.hd === "unread") {
      var n = Math.max(0, m.count | 0);
      badge.textContent = n > 9 ? "9+" : String(n);
      badge.setAttribute("data-unread", String(n));
      badge.style.display = n ? "block" : "none";
    } else if (m.hd === "close") {
      setOpen(false);
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
  }
  if (d.body) mount(); else d.addEventListener("DOMContentLoaded", mount);
})(window, document);
