"""The demo workspace that `make run` seeds, and the host page that embeds its widget."""

from __future__ import annotations

import html
import secrets
import sys
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import transaction

from helpdesk.accounts.models import Membership, User
from helpdesk.knowledge import actions as knowledge
from helpdesk.knowledge.models import FAQ, Article
from helpdesk.mail import addresses
from helpdesk.mail.models import ensure_settings
from helpdesk.widget.embed import snippet
from helpdesk.workspace.models import Workspace

DEMO_EMAIL = "admin@example.com"
DEMO_WORKSPACE = "Acme Inc"


def _password_file() -> Path:
    return Path(settings.RUN_DIR) / "demo_password"


@transaction.atomic
def seed() -> Workspace:
    """Create the demo workspace, its owner and its knowledge in a new database; return the
    demo workspace.

    Only once: after that the data belongs to whoever uses it, and a later run never touches
    it again (the account's password, name, role or memberships, the workspace, its
    knowledge), nor brings back what was deleted."""
    if not Workspace.objects.exists():
        workspace = Workspace.objects.create(name=DEMO_WORKSPACE, widget_company_name=DEMO_WORKSPACE)
        user = User.objects.filter(email=DEMO_EMAIL).first()
        if user is None:  # else an account made before the first run, with its own password
            password = secrets.token_urlsafe(9)
            user = User.objects.create_user(DEMO_EMAIL, password, name="Ada Admin")
            path = _password_file()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(password)
            path.chmod(0o600)
        Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.OWNER)
        _seed_knowledge(workspace)
        return workspace
    membership = Membership.objects.filter(user__email=DEMO_EMAIL).select_related("workspace").order_by("id").first()
    if membership is not None:
        return membership.workspace
    return Workspace.objects.order_by("id")[0]  # the database has workspaces: none were seeded


def _manage() -> str:
    """How to call manage.py from the project's folder, with the Python that runs us."""
    python = Path(sys.executable)
    if python.is_relative_to(settings.BASE_DIR):
        python = python.relative_to(settings.BASE_DIR)
    return f"{python} manage.py"


def login() -> str:
    """What to sign in with, for `make run`'s "Login:" line: the password that seeding
    generated while it is still the account's password, else where to reset it. Only reads:
    checking a password through the account would re-hash it with a newer hasher."""
    path = _password_file()
    password = path.read_text().strip() if path.exists() else ""
    user = User.objects.filter(email=DEMO_EMAIL).first()
    if user is None:
        return f"{DEMO_EMAIL} no longer exists; add an account with: {_manage()} createsuperuser"
    if password and check_password(password, user.password):
        return f"{DEMO_EMAIL} / {password}"
    return f"{DEMO_EMAIL} / (the password you set; reset it with: {_manage()} changepassword {DEMO_EMAIL})"


DEMO_ARTICLES = [
    (
        "Shipping and delivery",
        "# Shipping\n\nWe ship to every country in the European Union, Norway, Switzerland and the United Kingdom. "
        "Orders leave our warehouse within two working days.\n\n## Delivery times\n\n"
        "Delivery takes two to four working days in the EU and five to seven working days elsewhere in Europe. "
        "Every order gets a tracking link by email as soon as it ships.\n\n## Shipping costs\n\n"
        "Shipping is free for orders over 50 euros; below that it costs 4.90 euros.",
    ),
    (
        "Returns and refunds",
        "# Returns\n\nYou can return any unused item within 30 days of delivery. Start a return from the Orders page "
        "of your account and print the prepaid label.\n\n## Refunds\n\nWe refund the original payment method within "
        "five working days of receiving the parcel.",
    ),
]
DEMO_FAQS = [
    (
        "How do I reset my password?",
        'Click "Forgot your password?" on the sign-in page and follow the link we email you.',
    ),
    ("Which payment methods do you accept?", "We accept Visa, Mastercard, American Express, PayPal and bank transfer."),
]


def _seed_knowledge(workspace: Workspace) -> None:
    """A few articles and FAQ entries, so the demo's AI has something to answer from."""
    if Article.objects.filter(workspace=workspace).exists() or FAQ.objects.filter(workspace=workspace).exists():
        return
    for title, body in DEMO_ARTICLES:
        knowledge.create_article(workspace, title=title, body=body)
    for question, answer in DEMO_FAQS:
        knowledge.create_faq(workspace, question=question, answer=answer)


def support_address(workspace: Workspace) -> str:
    """The demo workspace's email address, for `make run`'s "Email in:" line."""
    return addresses.support_address(ensure_settings(workspace))


def host_page(workspace: Workspace, server: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(workspace.name)} · demo site</title>
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
