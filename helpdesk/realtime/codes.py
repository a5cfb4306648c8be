"""The close codes our websockets send, by name. static/js/live.js has the same names and
numbers (`window.hdClose`), which widget.js and inbox.js read; tests/realtime/test_codes.py
keeps the two in step.

The server may only send 1000 or 3000-4999 (autobahn, under daphne, refuses anything else and
the socket ends in a traceback instead), so every refusal of ours is a 4xxx code.
"""

CLOSED = 4001  # the widget was switched off or its token regenerated: reload to continue
FORBIDDEN = 4003  # not (or no longer) allowed: unknown token, no workspace, deactivated member
# The browser's visitor token now belongs to another contact, or was forgotten
# (`Helpdesk("reset")`): the widget reconnects, or starts a new visitor when refused.
VISITOR_CHANGED = 4005
# The password or the role changed: the inbox reconnects once (the browser that made the change
# is let in again, with its new role), and goes to the sign-in page if refused.
REAUTHORIZE = 4012
BAD_FRAME = 4400  # a frame this socket does not understand: binary, not JSON, too deep, unknown type, bad fields
TOO_BIG = 4413  # a frame over the socket's size limit
SIGNED_OUT = 4401  # this browser's sign-in ended (signed out, session gone): go to the sign-in page
TOO_MANY = 4429  # too many frames, or too many connects from one address: try again later

ALL = {
    "CLOSED": CLOSED,
    "FORBIDDEN": FORBIDDEN,
    "VISITOR_CHANGED": VISITOR_CHANGED,
    "REAUTHORIZE": REAUTHORIZE,
    "BAD_FRAME": BAD_FRAME,
    "TOO_BIG": TOO_BIG,
    "SIGNED_OUT": SIGNED_OUT,
    "TOO_MANY": TOO_MANY,
}
