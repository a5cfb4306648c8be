"""Widget weight: gzip bytes a host page downloads to open the widget.

Starts the web process against the embedded database, then fetches, with
Accept-Encoding: gzip, the loader script alone and the whole /chat page with its assets
(the CSS and scripts it links). Prints one JSON line.

    .venv/bin/python bench/widget_weight.py
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import tempfile
import urllib.request
import uuid
from pathlib import Path

import _bench
from _bench import ROOT


def fetch(url: str) -> tuple[int, int]:
    """(bytes on the wire with gzip, raw bytes)."""
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=10) as r:
        data = r.read()
        wire = len(data)
        if r.headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        else:  # a server or CDN in front would compress it; count what gzip would send
            wire = len(gzip.compress(data, 6))
    return wire, len(data)


def main() -> None:
    _bench.embedded_services()  # stopped at exit if this script started them
    import django

    django.setup()
    from django.core.management import call_command

    from helpdesk.workspace.models import Workspace
    from tests.processes import Stack, stack_env

    call_command("migrate", verbosity=0)
    workspace = Workspace.objects.create(name=f"bench-widget-{uuid.uuid4().hex[:6]}")
    env = stack_env()
    env.pop("DATABASE_URL")  # the embedded database the settings find
    # As production serves it: DEBUG off, static files collected (hashed names, gzip copies).
    env.pop("HELPDESK_TESTING")
    tmp = Path(tempfile.mkdtemp())
    env.update(DEBUG="0", STATIC_ROOT=str(tmp / "static"))
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    stack = Stack(env=env)
    try:
        stack.start_web(tmp)
        loader_wire, loader_raw = fetch(f"{stack.base_url}/embed.js")
        page_url = f"{stack.base_url}/chat?token={workspace.public_token}"
        page_wire, _ = fetch(page_url)
        with urllib.request.urlopen(page_url) as r:
            html = r.read().decode()
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
        asset_wire = sum(fetch(stack.base_url + a)[0] for a in assets)
    finally:
        stack.stop()
        workspace.delete()
    print(
        json.dumps(
            {
                "loader_gzip_bytes": loader_wire,
                "loader_raw_bytes": loader_raw,
                "chat_page_gzip_bytes": page_wire,
                "chat_assets": assets,
                "chat_total_gzip_bytes": page_wire + asset_wire,
                "goal_loader_bytes": 3072,
                "goal_chat_bytes": 61440,
            }
        )
    )


if __name__ == "__main__":
    main()
