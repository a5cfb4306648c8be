"""The websockets' close codes have one source (helpdesk/realtime/codes.py); the browser's
scripts use the same names and numbers, from static/js/live.js."""

from __future__ import annotations

import re

from helpdesk.realtime import codes
from tests.processes import ROOT

JS = ROOT / "static" / "js"


def test_the_scripts_close_codes_are_the_servers():
    table = re.search(r"window\.hdClose = \{([^}]*)\}", (JS / "live.js").read_text()).group(1)
    in_js = {name: int(number) for name, number in re.findall(r"(\w+): (\d+)", table)}
    assert in_js == codes.ALL


def test_every_close_code_is_one_a_server_may_send():
    assert all(4000 <= code <= 4999 for code in codes.ALL.values())
    assert len(set(codes.ALL.values())) == len(codes.ALL)


def test_the_scripts_name_close_codes_rather_than_repeat_their_numbers():
    for script in ("widget.js", "inbox.js"):
        text = (JS / script).read_text()
        assert not re.search(r"[=!]==?\s*4\d{3}\b", text), script  # e.g. `code === 4003`
        assert "hdClose." in text, script
