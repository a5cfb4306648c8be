"""The demo workspace that `make run` seeds, and the host page that embeds its widget."""

from __future__ import annotations

import html
import json
import secrets
from pathlib import Path

from django.conf import settings
from django.db import transaction

from helpdesk.accounts.models import Membership, User, Workspace

DEMO_EMAIL = "admin@example.com"
DEMO_WORKSPACE = "Acme Inc"


def _password_file() -> Path:
    return Path(settings.RUN_DIR) / "demo_password"


@transaction.atomic
def seed() -> tuple[Workspace, str, str]:
    """Create the demo workspace and owner once; return (workspace, email, password)."""
    workspace = Workspace.objects.filter(name=DEMO_WORKSPACE).order_by("id").first()
    if workspace is None:
        workspace = Workspace.objects.create(name=DEMO_WORKSPACE, widget_company_name=DEMO_WORKSPACE)
    path = _password_file()
    password = path.read_text().strip() if path.exists() else ""
    user = User.objects.filter(email=DEMO_EMAIL).first()
    if user is None:
        user = User.objects.create_user(DEMO_EMAIL, name="Ada Admin")
    if not password or not user.check_password(password):
        password = password or secrets.token_urlsafe(9)
        user.set_password(password)
        user.save(update_fields=["password"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(password)
        path.chmod(0o600)
    Membership.objects.get_or_create(user=user, workspace=workspace, defaults={"role": Membership.Role.OWNER})
    return workspace, DEMO_EMAIL, password


def snippet(workspace: Workspace, server: str) -> str:
    """The few lines a business pastes into its site."""
    config = json.dumps({"token": workspace.public_token})
    return (
        "<script>\n"
        f"  window.HelpdeskWidget = {config};\n"
        "  window.Helpdesk = window.Helpdesk || function () { (Helpdesk.q = Helpdesk.q || []).push(arguments); };\n"
        "</script>\n"
        f'<script async src="{server}/embed.js"></script>'
    )


def host_page(workspace: Workspace, server: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(workspace.name)} · demo site</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;color:#1e293b;line-height:1.6}}code,pre{{background:#f1f5f9;border-radius:6px}}pre{{padding:1rem;overflow:auto}}</style>
</head>
<body>
<h1>{html.escape(workspace.name)}</h1>
<p>This is a plain web page on another origin, standing in for your business's website.
It carries the embed snippet exactly as you would paste it; the chat launcher is in the corner.</p>
<pre><code>{html.escape(snippet(workspace, server))}</code></pre>
<p>Sign in to the inbox in another window to answer the visitor.</p>
{snippet(workspace, server)}
</body>
</html>
"""
