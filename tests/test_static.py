"""Production static files: collected under content-hashed names with gzip copies, served by the
web process compressed and cached for a year; the widget's page itself is gzipped."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request

import pytest

from helpdesk.workspace.models import Workspace
from tests.processes import ROOT, Stack, stack_env

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


def get(url: str, gzip: bool = True):
    headers = {"Accept-Encoding": "gzip"} if gzip else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        return r.status, dict(r.headers), r.read()


def test_the_widget_and_its_assets_are_served_hashed_compressed_and_cached(tmp_path):
    workspace = Workspace.objects.create(name="Acme")
    env = stack_env()
    env.pop("HELPDESK_TESTING")  # production mode: DEBUG off, collected static files
    env.update(DEBUG="0", STATIC_ROOT=str(tmp_path / "static"))
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert collected.returncode == 0, collected.stderr
    assert not (tmp_path / "static" / "src").exists()  # Tailwind sources are not served
    stack = Stack(env=env)
    stack.start_web(tmp_path)
    try:
        status, headers, body = get(f"{stack.base_url}/chat?token={workspace.public_token}")
        assert status == 200 and headers.get("Content-Encoding") == "gzip"
        import gzip as gz

        html = gz.decompress(body).decode()
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
        assert assets and all(re.search(r"\.[0-9a-f]{12}\.(js|css)$", a) for a in assets), assets
        for asset in assets:
            status, headers, body = get(stack.base_url + asset)
            assert status == 200 and headers.get("Content-Encoding") == "gzip", asset
            assert "immutable" in headers["Cache-Control"] and "max-age=315360000" in headers["Cache-Control"]
    finally:
        stack.stop()
