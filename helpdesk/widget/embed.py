"""The embed snippet: the few lines a business pastes into its site to get the chat launcher."""

from __future__ import annotations

import json

from helpdesk.workspace.models import Workspace


def snippet(workspace: Workspace, server: str) -> str:
    """The snippet for `workspace`, loading the loader script from `server` (this helpdesk's origin)."""
    config = json.dumps({"token": workspace.public_token})
    return (
        "<script>\n"
        f"  window.HelpdeskWidget = {config};\n"
        "  window.Helpdesk = window.Helpdesk || function () { (Helpdesk.q = Helpdesk.q || []).push(arguments); };\n"
        "</script>\n"
        f'<script async src="{server}/embed.js"></script>'
    )
