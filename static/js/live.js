/* Live updates shared by the widget and the inbox.
 *
 * Pushed fragments are htmx out-of-band swaps. Before htmx inserts one, this hook makes
 * the insert idempotent and ordered, so that a fragment that arrives twice (the HTTP
 * response and the websocket push, or a replay after a reconnect) is shown once, in order:
 *  - [data-seq] elements (messages) replace an element with the same id, or are inserted
 *    before the first sibling with a higher sequence number; a pending bubble with the
 *    same data-client-id is removed;
 *  - [data-row] elements (inbox rows) replace any row with the same id and move to the
 *    top, if window.hdRowFilter(row) accepts them.
 * It also keeps window.hdCursor: the highest message id seen, the replay cursor. Only
 * fragments that carry the stream (socket pushes, replays, catch-up polls, a whole thread
 * rendered at once) move it: the answer to one's own write does not, since messages written
 * meanwhile by others may have lower ids and would be skipped by the next replay.
 */
(function () {
  "use strict";
  window.hdCursor = 0;
  // The close codes the server's sockets send: the same names and numbers as
  // helpdesk/realtime/codes.py (tests/realtime/test_codes.py keeps them in step).
  window.hdClose = { CLOSED: 4001, FORBIDDEN: 4003, VISITOR_CHANGED: 4005, REAUTHORIZE: 4012, BAD_FRAME: 4400, TOO_BIG: 4413, SIGNED_OUT: 4401, TOO_MANY: 4429 };
  var ownWrite = false;
  // A dropped socket tries again soon: after 0.25-0.5 s, then twice as long each time, never
  // more than 4-8 s (the ws extension's own back-off grows to a minute, so a page could wait
  // that long after a short restart of the server before it caught up).
  htmx.config.wsReconnectDelay = function (retry) {
    var cap = Math.min(8000, 500 * Math.pow(2, retry));
    return cap / 2 + Math.random() * cap / 2;
  };

  // Run `fn` (which swaps the response to one's own write) without moving the cursor.
  window.hdOwnWrite = function (fn) {
    ownWrite = true;
    try { return fn(); } finally { ownWrite = false; }
  };
  // htmx responses to forms (an agent's reply) count as one's own writes too.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var verb = (e.detail.requestConfig && e.detail.requestConfig.verb) || "get";
    ownWrite = verb !== "get";
  });
  document.addEventListener("htmx:afterSwap", function () { ownWrite = false; });
  document.addEventListener("htmx:afterRequest", function () { ownWrite = false; });

  function seen(el) {
    if (el.hasAttribute("data-draft")) return; // a streaming answer is not a message yet
    if (ownWrite) return;
    var seq = parseInt(el.getAttribute("data-seq"), 10) || 0;
    if (seq > window.hdCursor) window.hdCursor = seq;
  }

  // Times: the server prints them in UTC (helpdesk/lib/stamps.py `stamp`); every <time> is
  // shown here in the reader's time zone and locale format, by its data-time kind:
  //   time      a message: the clock today, the day and the clock before
  //   relative  a list row: "now", "5 min", "3 hr", "2 days", then the day; kept current
  //   date, datetime (the default)
  // and titled with the full local date and time.
  // The hour padded as the locale's own short time pads it ("00:01" in en-GB, "0:01" in ja-JP):
  // Intl pads only on request, and timeStyle cannot be combined with a short month.
  var shortTime = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
  var hourPart = shortTime.formatToParts(new Date(2000, 0, 1, 1, 5)).filter(function (p) { return p.type === "hour"; })[0];
  var hour = hourPart && hourPart.value.length === 2 ? "2-digit" : "numeric";
  var formats = {
    clock: new Intl.DateTimeFormat(undefined, { hour: hour, minute: "2-digit" }),
    dayClock: new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: hour, minute: "2-digit" }),
    day: new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" }),
    date: new Intl.DateTimeFormat(undefined, { dateStyle: "medium" }),
    datetime: new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }),
  };
  var units = {};
  function unit(n, name) {
    units[name] = units[name] || new Intl.NumberFormat(undefined, { style: "unit", unit: name, unitDisplay: "short" });
    return units[name].format(n);
  }
  var justNow = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }).format(0, "second");
  function sameDay(a, b) { return a.toDateString() === b.toDateString(); }

  function timeText(d, kind, now) {
    if (kind === "time") return (sameDay(d, now) ? formats.clock : formats.dayClock).format(d);
    if (kind === "date") return formats.date.format(d);
    if (kind === "relative") {
      var s = (now - d) / 1000;
      if (s < 60) return justNow;
      if (s < 3600) return unit(Math.floor(s / 60), "minute");
      if (s < 86400) return unit(Math.floor(s / 3600), "hour");
      if (s < 7 * 86400) return unit(Math.floor(s / 86400), "day");
      return (d.getFullYear() === now.getFullYear() ? formats.day : formats.date).format(d);
    }
    return formats.datetime.format(d);
  }

  function localTimes(root, only) {
    if (!root || !root.querySelectorAll) return;
    var now = new Date();
    var found = root.querySelectorAll(only || "time[datetime]");
    var all = root.matches && root.matches(only || "time[datetime]") ? [root] : [];
    all.concat(Array.prototype.slice.call(found)).forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d)) return;
      var text = timeText(d, t.getAttribute("data-time") || "datetime", now);
      if (t.textContent !== text) t.textContent = text;
      if (!t.hasAttribute("data-local")) { t.title = formats.datetime.format(d); t.setAttribute("data-local", ""); }
    });
  }
  window.hdLocalTimes = localTimes;
  // Relative times move on; the others only at midnight, which a reload puts right.
  setInterval(function () { localTimes(document, 'time[data-time="relative"]'); }, 30000);
  // Whatever htmx brings in (a page's content, a swapped list, a settings form) and the page.
  document.addEventListener("htmx:load", function (e) { localTimes(e.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { localTimes(document); });

  function placeMessage(container, el) {
    seen(el);
    localTimes(el);
    var cid = el.getAttribute("data-client-id");
    if (cid) {
      var pending = document.getElementById("pending-" + cid);
      if (pending) pending.remove();
    }
    var existing = document.getElementById(el.id);
    if (existing) {
      existing.replaceWith(el);
      return;
    }
    var seq = parseInt(el.getAttribute("data-seq"), 10) || 0;
    var kids = container.querySelectorAll(":scope > [data-seq]");
    for (var i = 0; i < kids.length; i++) {
      if ((parseInt(kids[i].getAttribute("data-seq"), 10) || 0) > seq) {
        container.insertBefore(el, kids[i]);
        return true;
      }
    }
    var firstPending = container.querySelector(":scope > [data-pending]");
    if (firstPending) container.insertBefore(el, firstPending);
    else container.appendChild(el);
    return true;
  }

  function placeRow(container, el) {
    localTimes(el);
    var existing = document.getElementById(el.id);
    var accept = !window.hdRowFilter || window.hdRowFilter(el, !!existing);
    if (existing) existing.remove();
    if (accept) container.insertBefore(el, container.firstChild);
  }

  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var d = evt.detail;
    var container = d.target;
    var kids = Array.prototype.slice.call(d.fragment.children || []);
    var handled = false;
    kids.forEach(function (el) {
      if (el.hasAttribute("data-seq")) {
        var isNew = placeMessage(container, el);
        handled = true;
        if (isNew && !el.hasAttribute("data-draft")) document.dispatchEvent(new CustomEvent("hd:message", { detail: el }));
      } else if (el.hasAttribute("data-row")) {
        placeRow(container, el);
        handled = true;
        document.dispatchEvent(new CustomEvent("hd:row", { detail: el }));
      }
    });
    if (handled) {
      d.shouldSwap = false;
      kids.forEach(function (el) { if (el.isConnected) htmx.process(el); });
    }
  });

  // Messages rendered with the page count towards the cursor too.
  window.hdScanCursor = function (root) {
    root = root || document;
    root.querySelectorAll("[data-seq]").forEach(function (el) { seen(el); localTimes(el); });
  };
})();
