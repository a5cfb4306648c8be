/* The agent inbox: live rows and threads (via live.js), catch-up after reconnects,
 * typing, presence heartbeat, unread count in the title, notifications and sound, how long
 * handed-over visitors have waited, and the reply box's menu of canned responses. */
(function () {
  "use strict";
  var body = document.body;
  var me = body.getAttribute("data-me");
  var appTitle = body.getAttribute("data-app-title") || document.title;
  var socket = null, opened = false, lastTyping = 0, audio = null;

  function list() { return document.getElementById("conversation-list"); }
  function openConversation() {
    var el = document.querySelector("[data-thread]");
    return el ? parseInt(el.getAttribute("data-thread"), 10) : null;
  }

  window.hdRowFilter = function (row, existed) {
    var l = list();
    if (!l) return false;
    var status = row.getAttribute("data-status"), want = l.getAttribute("data-status");
    if (want === "active" ? status === "resolved" : want !== "all" && want !== status) return false;
    var assigned = l.getAttribute("data-assigned"), assignee = row.getAttribute("data-assignee");
    if (assigned === "mine" && assignee !== me) return false;
    if (assigned === "unassigned" && assignee) return false;
    var priority = l.getAttribute("data-priority");
    if (priority && priority !== row.getAttribute("data-priority")) return false;
    if (l.getAttribute("data-q")) return existed; // a search only updates rows it already shows
    var empty = l.querySelector("[data-empty]");
    if (empty) empty.remove();
    return true;
  };

  function markSelected() {
    var id = openConversation();
    document.querySelectorAll(".conversation-row").forEach(function (r) {
      r.classList.toggle("is-selected", r.id === "row-" + id);
    });
  }

  function updateTitle() {
    var l = list();
    var n = l ? l.querySelectorAll("[data-unread]").length : 0;
    document.title = (n ? "(" + n + ") " : "") + appTitle;
  }

  function scrollThread() {
    var t = document.querySelector("[data-thread]");
    if (t) t.scrollTop = t.scrollHeight;
  }

  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880; g.gain.value = 0.08;
      o.connect(g); g.connect(audio.destination);
      o.start(); o.stop(audio.currentTime + 0.15);
    } catch (e) { /* no audio */ }
  }

  function notify(row) {
    var text = row.getAttribute("data-notify");
    if (!text || !document.hidden || body.getAttribute("data-notify") !== "1") return;
    beep();
    if ("Notification" in window && Notification.permission === "granted") {
      var n = new Notification(row.getAttribute("data-notify-title") || "New message", { body: text, tag: row.id });
      n.onclick = function () { window.focus(); row.click(); n.close(); };
    }
  }

  function resume() {
    var id = openConversation();
    if (socket && id) socket.send(JSON.stringify({ type: "resume", conversation: id, after: window.hdCursor }));
  }

  function refreshList() {
    var form = document.getElementById("filters");
    if (form) htmx.trigger(form, "change");
  }

  // Close codes (hdClose, helpdesk/realtime/codes.py) for a sign-in the socket was opened with
  // that no longer holds. Signed out: say so and go to the sign-in page (which sends a browser that is
  // still signed in straight back). Password or role changed: reconnect once, after a moment
  // (the browser that changed the password gets its renewed session cookie with the answer to
  // that change, which may still be on its way); a session that no longer holds is refused,
  // and then this browser is signed out too.
  var reauthorizing = false;

  function status(text) {
    var el = document.getElementById("connection");
    if (text) el.textContent = text;
    el.classList.remove("hidden");
  }

  function toSignIn() {
    status("You are signed out. Taking you to the sign-in page…");
    var login = document.getElementById("live").getAttribute("data-login-url");
    window.location.assign(login + "?next=" + encodeURIComponent(location.pathname + location.search));
  }

  document.addEventListener("htmx:wsOpen", function (e) {
    socket = e.detail.socketWrapper;
    reauthorizing = false;
    document.getElementById("connection").classList.add("hidden");
    if (opened) refreshList();
    opened = true;
    resume();
  });
  document.addEventListener("htmx:wsClose", function (e) {
    socket = null;
    var code = e.detail.event ? e.detail.event.code : 0, wrapper = e.detail.socketWrapper;
    if (code === hdClose.SIGNED_OUT || (reauthorizing && code !== hdClose.REAUTHORIZE)) return toSignIn();
    if (code === hdClose.FORBIDDEN) return status("You no longer have access to this workspace.");
    status();
    if (code === hdClose.REAUTHORIZE && wrapper) {
      reauthorizing = true;
      setTimeout(wrapper.reconnect, 1000 + Math.random() * 1000);
    }
    // The ws extension reconnects by itself only after an abnormal close (1006, 1011-1013);
    // after too many frames, the inbox tries again itself, a little later.
    if (code === hdClose.TOO_MANY && wrapper) setTimeout(function () { if (!socket) wrapper.reconnect(); }, 10000 + Math.random() * 20000);
  });
  setInterval(function () { if (socket) socket.send(JSON.stringify({ type: "ping" })); }, 25000);

  // "Waiting for a person · 12 min": the server wrote the time when it rendered; this keeps it
  // current (the same words as helpdesk/lib/stamps.py elapsed_text).
  function elapsedText(ms) {
    var minutes = Math.max(0, Math.floor(ms / 60000));
    if (minutes < 1) return "<1 min";
    if (minutes < 60) return minutes + " min";
    if (minutes < 1440) return Math.floor(minutes / 60) + " h" + (minutes % 60 ? " " + (minutes % 60) + " min" : "");
    return Math.floor(minutes / 1440) + " d";
  }
  function updateWaiting() {
    document.querySelectorAll("[data-waiting-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-waiting-since")), out = el.querySelector("[data-elapsed]");
      if (!isNaN(since) && out) out.textContent = elapsedText(Date.now() - since);
    });
  }
  setInterval(updateWaiting, 15000);
  document.addEventListener("htmx:oobAfterSwap", updateWaiting);

  // Each view's count (the status tabs, the assignee filter): asked again once rows have
  // changed, at most every two seconds.
  var countsTimer = null, countsAsked = 0;
  function refreshCounts() {
    if (countsTimer) return;
    var wait = Math.max(0, countsAsked + 2000 - Date.now());
    countsTimer = setTimeout(function () {
      countsTimer = null;
      countsAsked = Date.now();
      var l = list();
      if (!l) return;
      var q = ["status", "assigned", "priority"].map(function (k) {
        return k + "=" + encodeURIComponent(l.getAttribute("data-" + k) || "");
      }).join("&");
      htmx.ajax("GET", "/inbox/counts?" + q, { swap: "none" });
    }, wait);
  }

  document.addEventListener("hd:row", function (e) { notify(e.detail); updateTitle(); markSelected(); updateWaiting(); refreshCounts(); });
  document.addEventListener("hd:message", function (e) {
    scrollThread();
    if (e.detail.getAttribute("data-kind") === "customer") {
      var t = document.querySelector("[id^=typing-]");
      if (t) t.textContent = "";
    }
  });

  document.addEventListener("htmx:afterSwap", function (e) {
    var target = e.detail.target;
    if (target && target.id === "pane") {
      window.hdCursor = 0;
      window.hdScanCursor(target);
      scrollThread();
      resume();
      var back = target.querySelector("[data-back]");
      if (back && back.offsetParent) back.focus(); // a phone: the list that had the focus is gone
    }
    markSelected();
    updateTitle();
    updateWaiting();
  });

  // Narrower than lg the menu is a drawer: the menu button opens it, its close button, Esc or a
  // choice in it closes it, and the focus goes back to the menu button. Narrower than md the
  // inbox shows the list or one conversation (app.css): the conversation's back link closes it
  // and shows the list as it was, filters, scroll and live rows kept.
  function drawer(open) {
    var nav = document.getElementById("inbox-nav"), toggle = document.querySelector("[data-nav-open]");
    if (!nav || !toggle || nav.classList.contains("is-open") === open) return;
    nav.classList.toggle("is-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    (open ? nav.querySelector("[data-nav-close]") : toggle).focus();
  }

  function listUrl(base) {
    var l = list(), query = [];
    ["status", "assigned", "priority", "q"].forEach(function (k) {
      var v = l && l.getAttribute("data-" + k);
      if (v) query.push(k + "=" + encodeURIComponent(v));
    });
    return base + (query.length ? "?" + query.join("&") : "");
  }

  function closeConversation(href) {
    var id = openConversation(), pane = document.getElementById("pane");
    pane.replaceChildren(document.getElementById("pane-empty").content.cloneNode(true));
    history.pushState({ htmx: true }, "", listUrl(href));
    markSelected();
    var row = document.getElementById("row-" + id);
    if (row) row.focus();
  }

  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-nav-open]")) return drawer(true);
    if (e.target.closest("[data-nav-close]") || e.target.closest("#inbox-nav a")) return drawer(false);
    var back = e.target.closest("[data-back]");
    if (back && !(e.button || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)) {
      e.preventDefault();
      closeConversation(back.getAttribute("href"));
    }
  });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") drawer(false); });
  document.addEventListener("htmx:beforeHistorySave", function () { drawer(false); });

  // Canned responses: "/" and a shortcut, at the start of the reply or after a space, opens a
  // menu of the workspace's matching responses; Enter, Tab or a click puts the text in its place.
  var canned = { menu: null, textarea: null, items: [], active: 0, start: 0, q: null };
  var CANNED_TOKEN = /(^|\s)\/([\w-]*)$/;

  function cannedClose() {
    canned.q = null;
    canned.items = [];
    if (canned.menu) canned.menu.hidden = true;
  }

  function cannedMenu() {
    if (canned.menu) return canned.menu;
    var menu = canned.menu = document.createElement("ul");
    menu.id = "canned-menu";
    menu.setAttribute("role", "listbox");
    menu.className = "fixed z-50 max-h-48 overflow-y-auto rounded-md border border-slate-200 bg-white py-1 text-sm shadow";
    menu.hidden = true;
    menu.addEventListener("mousedown", function (e) {
      e.preventDefault(); // keep the focus in the reply box
      var li = e.target.closest("li[data-index]");
      if (li) cannedChoose(parseInt(li.getAttribute("data-index"), 10));
    });
    document.body.appendChild(menu);
    return menu;
  }

  function cannedRender() {
    var menu = cannedMenu(), t = canned.textarea;
    menu.textContent = "";
    if (!canned.items.length || !t || !t.isConnected) { menu.hidden = true; return; }
    canned.items.forEach(function (item, i) {
      var li = document.createElement("li"), code = document.createElement("span"), text = document.createElement("span");
      li.setAttribute("role", "option");
      li.setAttribute("data-index", i);
      li.setAttribute("aria-selected", String(i === canned.active));
      li.className = "cursor-pointer truncate px-3 py-1.5" + (i === canned.active ? " bg-slate-100" : "");
      code.className = "font-mono font-semibold";
      code.textContent = "/" + item.shortcut;
      text.className = "ml-2 text-slate-500";
      text.textContent = item.text;
      li.appendChild(code); li.appendChild(text);
      menu.appendChild(li);
    });
    var r = t.getBoundingClientRect();
    menu.style.left = r.left + "px";
    menu.style.width = r.width + "px";
    menu.style.bottom = (window.innerHeight - r.top + 4) + "px";
    menu.hidden = false;
  }

  function cannedLookup(t) {
    var before = t.value.slice(0, t.selectionStart);
    var m = t.selectionStart === t.selectionEnd && CANNED_TOKEN.exec(before);
    var url = t.form.getAttribute("data-canned-url");
    if (!m || !url) { cannedClose(); return; }
    var q = m[2].toLowerCase();
    if (q === canned.q && t === canned.textarea) return;
    canned.textarea = t;
    canned.start = before.length - m[2].length - 1;
    canned.q = q;
    fetch(url + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (canned.q !== q || canned.textarea !== t) return; // a newer lookup is under way
        canned.items = data.results || [];
        canned.active = 0;
        cannedRender();
      })
      .catch(cannedClose);
  }

  function cannedChoose(i) {
    var t = canned.textarea, item = canned.items[i];
    var typed = t && t.isConnected ? t.value.slice(canned.start, t.selectionStart) : "";
    if (!item || !/^\/[\w-]*$/.test(typed)) { cannedClose(); return false; }
    t.value = t.value.slice(0, canned.start) + item.text + t.value.slice(t.selectionStart);
    t.selectionStart = t.selectionEnd = canned.start + item.text.length;
    cannedClose();
    t.focus();
    return true;
  }

  function cannedKey(e) {
    if (!canned.menu || canned.menu.hidden || e.target !== canned.textarea || e.isComposing) return false;
    var n = canned.items.length;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      canned.active = (canned.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      cannedRender();
    } else if ((e.key === "Enter" && !e.shiftKey) || e.key === "Tab") {
      if (!cannedChoose(canned.active)) return false;
    } else if (e.key === "Escape") {
      cannedClose();
    } else {
      return false;
    }
    e.preventDefault();
    return true;
  }

  function cannedCheck() {
    if (canned.textarea && !canned.textarea.isConnected) cannedClose();
  }
  document.addEventListener("htmx:afterSwap", cannedCheck);
  document.addEventListener("htmx:oobAfterSwap", cannedCheck);
  document.addEventListener("focusout", function (e) { if (e.target === canned.textarea) cannedClose(); });

  document.addEventListener("keydown", function (e) {
    if (cannedKey(e)) return;
    var t = e.target;
    if (t.tagName === "TEXTAREA" && t.closest(".composer") && e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      var files = t.form.querySelector("[data-reply-files]");
      if (t.value.trim() || (files && files.files.length)) t.form.requestSubmit();
    }
  });
  // The files chosen for a reply: their count on the Attach button.
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (!t.matches || !t.matches("[data-reply-files]")) return;
    t.nextElementSibling.textContent = t.files.length ? "Attached: " + t.files.length : "Attach";
  });
  document.addEventListener("input", function (e) {
    var t = e.target;
    if (t.tagName === "TEXTAREA" && t.closest(".composer")) cannedLookup(t);
    if (t.tagName !== "TEXTAREA" || !t.closest(".composer") || !socket) return;
    var isNote = t.form.querySelector("input[name=private]:checked");
    if (isNote && isNote.value === "1") return; // notes are never shown to the visitor
    var now = Date.now();
    if (now - lastTyping > 2000) {
      lastTyping = now;
      socket.send(JSON.stringify({ type: "typing", conversation: parseInt(t.form.getAttribute("data-conversation"), 10) }));
    }
  });
  document.addEventListener("change", function (e) {
    if (e.target.hasAttribute && e.target.hasAttribute("data-notifications-toggle")) {
      body.setAttribute("data-notify", e.target.checked ? "1" : "0");
      if (e.target.checked && "Notification" in window && Notification.permission === "default") Notification.requestPermission();
    }
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    // Focus the fresh composer after a reply is sent.
    var form = e.detail.elt;
    if (form && form.classList && form.classList.contains("composer") && e.detail.successful) {
      lastTyping = 0;
      var fresh = document.getElementById(form.id);
      if (fresh) { var ta = fresh.querySelector("textarea"); if (ta) ta.focus(); }
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    window.hdScanCursor(document.getElementById("pane"));
    scrollThread(); markSelected(); updateTitle(); updateWaiting();
  });
})();
