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

  // Times are rendered in UTC by the server; show them in the reader's time zone.
  var clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d) && t.getAttribute("data-format") !== "date") t.textContent = clock.format(d);
    });
  }

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
