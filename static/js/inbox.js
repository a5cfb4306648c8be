/* The agent inbox: live rows and threads (via live.js), catch-up after reconnects,
 * typing, presence heartbeat, unread count in the title, notifications and sound. */
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

  document.addEventListener("htmx:wsOpen", function (e) {
    socket = e.detail.socketWrapper;
    document.getElementById("connection").classList.add("hidden");
    if (opened) refreshList();
    opened = true;
    resume();
  });
  document.addEventListener("htmx:wsClose", function () {
    socket = null;
    document.getElementById("connection").classList.remove("hidden");
  });
  setInterval(function () { if (socket) socket.send(JSON.stringify({ type: "ping" })); }, 25000);

  document.addEventListener("hd:row", function (e) { notify(e.detail); updateTitle(); markSelected(); });
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
    }
    markSelected();
    updateTitle();
  });

  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (t.tagName === "TEXTAREA" && t.closest(".composer") && e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (t.value.trim()) t.form.requestSubmit();
    }
  });
  document.addEventListener("input", function (e) {
    var t = e.target;
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
    scrollThread(); markSelected(); updateTitle();
  });
})();
