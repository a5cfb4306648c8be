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
BAD_FRAME = 4400  # a frame this socket does not understand: binary, not JSON, too deep, unknown type, bad fields
TOO_BIG = 4413  # a frame over the socket's size limit
TOO_MANY = 4429  # too many frames, or too many connects from one address: try again later

ALL = {
    "CLOSED": CLOSED,
    "FORBIDDEN": FORBIDDEN,
    "VISITOR_CHANGED": VISITOR_CHANGED,
    "BAD_FRAME": BAD_FRAME,
    "TOO_BIG": TOO_BIG,
    "TOO_MANY": TOO_MANY,
}
