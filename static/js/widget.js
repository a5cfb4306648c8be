/* The chat widget inside the iframe: visitor identity, sending with retry, live updates
 * over the htmx ws extension with replay on every (re)connect, polling when the socket is
 * down, and postMessage with the host page (exact origin checks both ways). */
(function () {
  "use strict";
  var body = document.body;
  var cfg = {
    token: body.getAttribute("data-token"),
    parent: body.getAttribute("data-parent-origin"),
    poll: (parseInt(body.getAttribute("data-poll"), 10) || 3) * 1000,
    max: parseInt(body.getAttribute("data-max-length"), 10) || 5000,
  };
  var key = "hd.visitor." + cfg.token;
  var memory = {};
  var store = {
    get: function () { try { return localStorage.getItem(key); } catch (e) { return memory[key] || null; } },
    set: function (v) { try { localStorage.setItem(key, v); } catch (e) { memory[key] = v; } },
    clear: function () { try { localStorage.removeItem(key); } catch (e) { delete memory[key]; } },
  };
  var visitor = store.get();
  var socket = null, pollTimer = null, lastTyping = 0, isOpen = !cfg.parent, unread = 0;
  var messages = document.getElementById("messages");
  var form = document.getElementById("composer");
  var input = document.getElementById("composer-input");
  var notice = document.getElementById("notice");

  function headers(extra) {
    var h = { "X-Widget-Token": cfg.token };
    if (visitor) h["X-Visitor-Token"] = visitor;
    for (var k in extra || {}) h[k] = extra[k];
    return h;
  }

  function toParent(msg) {
    if (cfg.parent && window.parent !== window) window.parent.postMessage(msg, cfg.parent);
  }

  function showNotice(text) {
    notice.textContent = text || "";
    notice.hidden = !text;
  }

  function scrollDown() { messages.scrollTop = messages.scrollHeight; }

  function swapFragments(html) {
    htmx.swap(messages, html, { swapStyle: "none" });
    scrollDown();
  }

  var starting = null; // one visitor per browser, however many callers ask at once
  function ensureVisitor() {
    if (visitor) return Promise.resolve(visitor);
    if (starting) return starting;
    var data = new FormData();
    data.append("page_url", document.referrer || "");
    starting = fetch("/chat/api/visitor", { method: "POST", headers: headers(), body: data })
      .then(function (r) { if (!r.ok) throw new Error("visitor " + r.status); return r.json(); })
      .then(function (j) { visitor = j.visitor; store.set(visitor); return visitor; })
      .finally(function () { starting = null; });
    return starting;
  }

  function catchUp() {
    return fetch("/chat/api/thread?after=" + window.hdCursor, { headers: headers(), cache: "no-store" })
      .then(function (r) {
        if (r.status === 403) { restart(); return ""; }
        return r.ok ? r.text() : "";
      })
      .then(function (html) { if (html) swapFragments(html); });
  }

  function restart() {
    // The server no longer knows this visitor (storage from an old install): start fresh.
    store.clear(); visitor = null; disconnect();
    ensureVisitor().then(connect);
  }

  function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(function () { catchUp().catch(function () {}); }, cfg.poll);
  }
  function stopPolling() { clearInterval(pollTimer); pollTimer = null; }

  function disconnect() {
    var old = document.getElementById("live");
    if (old) old.remove();
    socket = null;
  }

  function connect() {
    disconnect();
    var live = document.createElement("div");
    live.id = "live";
    live.hidden = true;
    live.setAttribute("hx-ext", "ws");
    live.setAttribute("ws-connect", "/ws/chat/?token=" + encodeURIComponent(cfg.token) + "&visitor=" + encodeURIComponent(visitor));
    body.appendChild(live);
    htmx.process(live);
    // If the socket is not open soon, poll until it is.
    setTimeout(function () { if (!socket) startPolling(); }, 4000);
  }

  document.addEventListener("htmx:wsOpen", function (e) {
    socket = e.detail.socketWrapper;
    body.setAttribute("data-live", "");
    stopPolling();
    socket.send(JSON.stringify({ type: "resume", after: window.hdCursor }));
  });
  document.addEventListener("htmx:wsClose", function (e) {
    socket = null;
    body.removeAttribute("data-live");
    var code = e.detail.event && e.detail.event.code;
    if (code === hdClose.FORBIDDEN) { restart(); return; }
    // VISITOR_CHANGED: this browser now speaks for another contact (identify in another tab)
    // or was forgotten (reset): show that contact's thread.
    if (code === hdClose.VISITOR_CHANGED) { clearThread(); connect(); return; }
    if (code === hdClose.CLOSED) { showNotice("This chat was closed by the site. Reload the page to continue."); return; }
    startPolling();
    // Too many sockets or frames from here: poll meanwhile, and try the socket again later.
    if (code === hdClose.TOO_MANY) setTimeout(function () { if (!socket) connect(); }, 30000 + Math.random() * 30000);
  });

  // What the visitor has seen: messages shown while the chat is open and the tab in view. The
  // server emails a reply they have not seen after a while (if it knows their address).
  // Only news from the team is reported (the visitor's own messages need no such word).
  var seenSent = 0, teamNews = true;
  function markSeen() {
    var id = window.hdCursor;
    if (!teamNews || !isOpen || document.visibilityState !== "visible" || !visitor || id <= seenSent) return;
    seenSent = id; teamNews = false;
    if (socket) { socket.send(JSON.stringify({ type: "seen", id: id })); return; }
    var data = new FormData();
    data.append("id", id);
    fetch("/chat/api/seen", { method: "POST", headers: headers(), body: data }).catch(function () { seenSent = 0; teamNews = true; });
  }
  document.addEventListener("visibilitychange", markSeen);

  document.addEventListener("hd:message", function (e) {
    var el = e.detail, kind = el.getAttribute("data-kind");
    scrollDown();
    offerEmail();
    if (kind !== "customer") teamNews = true;
    markSeen();
    if (kind === "agent" || kind === "ai") {
      var typing = document.getElementById("typing");
      if (typing) typing.textContent = "";
      if (!isOpen) { unread += 1; toParent({ hd: "unread", count: unread }); }
    }
  });
  document.addEventListener("htmx:oobAfterSwap", function (e) {
    if (e.detail.target && e.detail.target.id === "typing") scrollDown();
    offerEmail();
  });

  // Answering by email once the visitor has left: offered while the team is away, or after a
  // handover (a message from the team's side that is not a person's), to a visitor who has
  // written, or from the start when the workspace asks first (data-ask-first), whose address
  // the server does not know (#email-state), until given or skipped (remembered in this
  // browser). The address is kept unverified.
  var offer = document.getElementById("email-offer");
  var skipKey = key + ".email-offer";
  function skipped() { try { return localStorage.getItem(skipKey) === "1"; } catch (e) { return memory[skipKey] === "1"; } }
  function offerEmail() {
    var state = document.getElementById("email-state");
    var availability = document.getElementById("availability");
    // The header's line when it is shown (kept live), else what the last replay said.
    var away = availability ? !availability.classList.contains("is-online") : !!(state && state.getAttribute("data-online") === "0");
    var wrote = messages.querySelector('[data-kind="customer"]');
    var handedOver = messages.querySelector('[data-kind="system"]');
    if (!offer) return;
    var askFirst = !!(state && state.hasAttribute("data-ask-first"));
    var show = !!(state && state.getAttribute("data-known") === "0" && (askFirst || (wrote && (away || handedOver))) && !skipped());
    if (offer.hidden === show) offer.hidden = !show;
  }
  if (offer) offer.querySelector("[data-skip]").addEventListener("click", function () {
    try { localStorage.setItem(skipKey, "1"); } catch (e) { memory[skipKey] = "1"; }
    offer.hidden = true;
    input.focus();
  });
  if (offer) offer.addEventListener("submit", function (e) {
    e.preventDefault();
    var field = offer.querySelector("input"), error = offer.querySelector(".email-offer-error");
    var data = new FormData();
    data.append("email", field.value.trim());
    ensureVisitor().then(function () {
      return fetch("/chat/api/email", { method: "POST", headers: headers(), body: data });
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { error.textContent = j.error || "Could not save that."; error.hidden = false; field.focus(); return; }
        error.hidden = true;
        document.getElementById("email-state").setAttribute("data-known", "1");
        offer.hidden = true;
        var saved = document.getElementById("email-saved");
        saved.textContent = "Thanks! If you leave, we'll email the reply to " + j.email + ".";
        saved.hidden = false;
        input.focus();
      });
    }).catch(function () { error.textContent = "Not saved: connection problem."; error.hidden = false; });
  });

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function pendingBubble(id, text) {
    var el = document.createElement("div");
    el.id = "pending-" + id;
    el.setAttribute("data-pending", "");
    el.className = "msg msg-customer pending";
    var p = document.createElement("div");
    p.className = "bubble text";
    p.textContent = text;
    var state = document.createElement("div");
    state.className = "msg-meta";
    state.textContent = "Sending…";
    el.appendChild(p); el.appendChild(state);
    messages.appendChild(el);
    scrollDown();
    return el;
  }

  function failed(el, id, text, why) {
    el.setAttribute("data-failed", "");
    var state = el.querySelector(".msg-meta");
    state.textContent = why + " ";
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "retry";
    retry.textContent = "Retry";
    retry.onclick = function () { el.removeAttribute("data-failed"); state.textContent = "Sending…"; post(id, text, el); };
    state.appendChild(retry);
  }

  // Over the socket when it is open: the push of the saved message is the acknowledgement.
  // Without one soon, the message goes over HTTP with the same id (saved once either way),
  // which also reports any refusal. Retry always posts over HTTP.
  function send(id, text, el) {
    ensureVisitor().then(function () {
      if (!socket && !document.getElementById("live")) connect();
      if (!socket) return post(id, text, el);
      socket.send(JSON.stringify({ type: "message", body: text, client_id: id, page_url: document.referrer || "" }));
      setTimeout(function () { if (el.isConnected && !el.hasAttribute("data-failed")) post(id, text, el); }, 3000);
    }).catch(function () { failed(el, id, text, "Not sent: connection problem."); });
  }

  function post(id, text, el) {
    var data = new FormData();
    data.append("body", text);
    data.append("client_id", id);
    data.append("page_url", document.referrer || "");
    return fetch("/chat/api/messages", { method: "POST", headers: headers(), body: data }).then(function (r) {
      if (r.status === 201) return r.text().then(function (html) {
        window.hdOwnWrite(function () { swapFragments('<div hx-swap-oob="beforeend:#messages">' + html + "</div>"); });
      });
      return r.json().catch(function () { return {}; }).then(function (j) {
        var why = j.error || "Not sent.";
        if (r.status === 400 || r.status === 413) {
          el.remove(); input.value = text; showNotice(why);
        } else {
          failed(el, id, text, why);
        }
      });
    }).catch(function () { failed(el, id, text, "Not sent: connection problem."); });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    if (text.length > cfg.max) { showNotice("That message is too long (the limit is " + cfg.max + " characters)."); return; }
    showNotice("");
    input.value = "";
    lastTyping = 0; // the next keystroke is news again
    var id = uuid();
    send(id, text, pendingBubble(id, text));
  });

  // Files: picked with the paperclip, dropped on the chat, or pasted. They go with the text
  // typed so far, over HTTP (a socket frame would carry them badly), in one message.
  var picker = document.getElementById("composer-files");
  function sendFiles(list) {
    var files = Array.prototype.slice.call(list || []);
    if (!files.length) return;
    var text = input.value.trim();
    if (text.length > cfg.max) { showNotice("That message is too long (the limit is " + cfg.max + " characters)."); return; }
    showNotice("");
    input.value = "";
    var id = uuid();
    var el = pendingBubble(id, (text ? text + " · " : "") + files.map(function (f) { return f.name || "pasted image"; }).join(", "));
    var data = new FormData();
    files.forEach(function (f) { data.append("file", f, f.name || "pasted-image.png"); });
    data.append("body", text);
    data.append("client_id", id);
    data.append("page_url", document.referrer || "");
    ensureVisitor().then(function () {
      return fetch("/chat/api/files", { method: "POST", headers: headers(), body: data });
    }).then(function (r) {
      if (r.status === 201) return r.text().then(function (html) {
        el.remove();
        window.hdOwnWrite(function () { swapFragments('<div hx-swap-oob="beforeend:#messages">' + html + "</div>"); });
      });
      return r.json().catch(function () { return {}; }).then(function (j) {
        el.remove(); if (text) input.value = text; showNotice(j.error || "Not sent.");
      });
    }).catch(function () { el.remove(); if (text) input.value = text; showNotice("Not sent: connection problem."); });
  }
  if (picker) picker.addEventListener("change", function () { sendFiles(picker.files); picker.value = ""; });
  input.addEventListener("paste", function (e) {
    var items = (e.clipboardData && e.clipboardData.files) || [];
    if (items.length) { e.preventDefault(); sendFiles(items); }
  });
  body.addEventListener("dragover", function (e) {
    if (e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types || [], "Files") >= 0) { e.preventDefault(); body.classList.add("dropping"); }
  });
  body.addEventListener("dragleave", function (e) { if (e.target === body || !body.contains(e.relatedTarget)) body.classList.remove("dropping"); });
  body.addEventListener("drop", function (e) {
    body.classList.remove("dropping");
    if (e.dataTransfer && e.dataTransfer.files.length) { e.preventDefault(); sendFiles(e.dataTransfer.files); }
  });

  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
  input.addEventListener("input", function () {
    var now = Date.now();
    if (socket && input.value && now - lastTyping > 2000) {
      lastTyping = now;
      socket.send(JSON.stringify({ type: "typing" }));
    }
  });

  // Ratings of AI answers: thumbs up / down, or "that solved it". A thumb stays pressed (and
  // can be changed) and "That solved it" stays, since a helpful answer may also be the end of
  // the question; "That solved it" resolves the conversation and ends the rating.
  function feedbackNote(box, text) {
    var note = box.querySelector(".feedback-note");
    if (!note) {
      note = document.createElement("span");
      note.className = "feedback-note";
      note.setAttribute("role", "status");
      box.appendChild(note);
    }
    note.textContent = text;
  }
  messages.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-rate]");
    if (!btn) return;
    var box = btn.closest("[data-feedback]");
    var rating = btn.getAttribute("data-rate");
    var data = new FormData();
    data.append("rating", rating);
    fetch("/chat/api/messages/" + box.getAttribute("data-feedback") + "/feedback", { method: "POST", headers: headers(), body: data })
      .then(function (r) {
        if (!r.ok) { feedbackNote(box, "Could not save that"); return; }
        if (rating === "solved") { box.textContent = "Glad it helped!"; return; }
        box.querySelectorAll("[data-rate=up], [data-rate=down]").forEach(function (b) {
          b.setAttribute("aria-pressed", String(b === btn));
        });
        feedbackNote(box, "Thanks for the feedback");
      })
      .catch(function () { feedbackNote(box, "Could not save that"); });
  });

  // Closing: the close button, or Esc anywhere in the chat; the host page hides the iframe and
  // gives the focus back to its launcher.
  function closeChat() { isOpen = false; toParent({ hd: "close" }); }
  var closeBtn = document.getElementById("close-widget");
  if (closeBtn) closeBtn.addEventListener("click", closeChat);
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !e.isComposing && cfg.parent) closeChat();
    if (e.key === "Tab" && fullScreen) keepFocusInside(e);
  });

  // Filling the screen (a phone), the chat is a dialog over the page: Tab goes round its own
  // controls instead of on to the hidden page behind it (the host page says which, "layout").
  var fullScreen = false;
  function keepFocusInside(e) {
    var all = Array.prototype.filter.call(
      document.querySelectorAll("a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), textarea:not([disabled]), select:not([disabled]), [tabindex]:not([tabindex='-1'])"),
      function (el) { return el.offsetParent !== null || el === document.activeElement; }
    );
    if (!all.length) return;
    var first = all[0], last = all[all.length - 1], at = document.activeElement;
    if (e.shiftKey && (at === first || !document.body.contains(at) || at === document.body)) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && at === last) { e.preventDefault(); first.focus(); }
  }

  function identify(data) {
    ensureVisitor().then(function () {
      return fetch("/chat/api/identify", {
        method: "POST",
        headers: headers({ "Content-Type": "application/json" }),
        body: JSON.stringify({
          name: data.name || "", email: data.email || "", external_id: data.externalId || "",
          user_hash: data.userHash || "", traits: data.traits || {},
        }),
      });
    }).then(function (r) {
      return r.json().then(function (j) {
        toParent({ hd: "identified", ok: r.ok, error: j.error || null });
        if (r.ok && !j.changed) { document.getElementById("email-state").setAttribute("data-known", j.email_known ? "1" : "0"); offerEmail(); }
        if (r.ok && j.changed) { clearThread(); connect(); }
      });
    }).catch(function () {});
  }

  function clearThread() {
    messages.querySelectorAll("[data-seq], [data-pending], [data-draft]").forEach(function (m) { m.remove(); });
    window.hdCursor = 0; seenSent = 0; teamNews = true;
    unread = 0; toParent({ hd: "unread", count: 0 });
    // Another person now (a reset, or a new identity): their address is asked anew.
    try { localStorage.removeItem(skipKey); } catch (e) { delete memory[skipKey]; }
    document.getElementById("email-state").setAttribute("data-known", "");
    document.getElementById("email-saved").hidden = true;
    offerEmail();
  }

  // The host app's user logged out: revoke this browser's visitor token on the server, forget
  // it here, and start again as a new, anonymous visitor with an empty thread.
  function reset() {
    var old = visitor;
    disconnect(); clearThread(); store.clear(); visitor = null;
    if (old) fetch("/chat/api/reset", { method: "POST", headers: { "X-Widget-Token": cfg.token, "X-Visitor-Token": old } }).catch(function () {});
    ensureVisitor().then(connect).catch(function () { startPolling(); });
  }

  window.addEventListener("message", function (e) {
    if (!cfg.parent || e.origin !== cfg.parent || e.source !== window.parent) return;
    var msg = e.data || {};
    if (msg.hd === "open") { isOpen = true; unread = 0; toParent({ hd: "unread", count: 0 }); input.focus(); scrollDown(); markSeen(); }
    else if (msg.hd === "close") { isOpen = false; }
    else if (msg.hd === "layout") { fullScreen = msg.full === true; }
    else if (msg.hd === "identify" && msg.data && typeof msg.data === "object") { identify(msg.data); }
    else if (msg.hd === "reset") { reset(); }
  });

  // A link from an email ("Continue the conversation"): this browser becomes that
  // conversation's visitor, then starts as usual. An expired link says so, and the chat
  // carries on as this browser's own.
  var resumeCode = body.getAttribute("data-resume");
  function openResumeLink() {
    var data = new FormData();
    data.append("code", resumeCode);
    return fetch("/chat/api/resume", { method: "POST", headers: headers(), body: data }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { showNotice(j.error || "This link could not be opened."); return; }
        if (j.visitor) { visitor = j.visitor; store.set(visitor); }
      });
    });
  }

  // Start once htmx has processed the page: history first (if this browser has talked to
  // us before), then the live socket.
  function start() {
    var first = resumeCode ? openResumeLink().catch(function () {}) : Promise.resolve();
    first.then(function () {
      if (visitor) catchUp().catch(function () {}).then(connect);
      else ensureVisitor().then(connect).catch(function () { startPolling(); });
    });
    toParent({ hd: "ready", color: body.getAttribute("data-color"), position: body.getAttribute("data-position") });
  }
  if (body.hasAttribute("data-preview")) { input.disabled = true; return; } // the settings preview: look, do not talk
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
