from __future__ import annotations

from types import SimpleNamespace

import pytest

from helpdesk.lib import ratelimit


@pytest.fixture
def frozen_clock(monkeypatch):
    """Keep every rate-limit hit in one window, so a test never straddles a minute boundary."""
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_800_000_000.0))
