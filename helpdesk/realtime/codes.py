"""Websocket close codes the server sends, by name. The browser side (static/js/widget.js,
static/js/live.js) uses the same numbers under the same names.

Servers may only close with 1000 or 3000-4999 (daphne/autobahn refuse anything else)."""

# The browser's visitor token now belongs to another contact, or was forgotten
# (`Helpdesk("reset")`): the widget reconnects, or starts a new visitor when refused.
VISITOR_CHANGED = 4005
