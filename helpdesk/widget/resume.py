"""Links that reopen a conversation in the widget on any device: what an email to a visitor
who left carries. Signed by the server (SECRET_KEY) and expiring after
RESUME_LINK_MAX_AGE_DAYS; opening one links that browser to the conversation's contact.

The link goes to the page the visitor was on (`<page>#hd-resume=<code>`, which the loader
hands to the widget) when that page is one of the workspace's allowed domains and still
answers, and otherwise to the hosted chat page, `/chat/resume/<code>`. A page on any other
domain is never linked: the address a visitor typed is not proven theirs, and an email from
the business must not send its reader to a page the visitor chose.
"""

from __future__ import annotations

from urllib.parse import urldefrag, urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse

from helpdesk.conversations.models import Conversation
from helpdesk.widget import options
from helpdesk.workspace.models import Workspace

SALT = "helpdesk.widget.resume"
FRAGMENT = "hd-resume"


def make_code(conversation: Conversation) -> str:
    return signing.dumps({"c": conversation.pk, "k": conversation.contact_id}, salt=SALT, compress=True)


def read_code(code: str) -> tuple[int, int] | None:
    """(conversation id, contact id) of a valid, unexpired code; None otherwise."""
    if not code or len(code) > 300:
        return None
    try:
        data = signing.loads(code, salt=SALT, max_age=settings.RESUME_LINK_MAX_AGE_DAYS * 86400)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int) or not isinstance(data.get("k"), int):
        return None
    return data["c"], data["k"]


def expired_workspace(code: str) -> Workspace | None:
    """The workspace of a code that is genuine but past its age (its page says so)."""
    try:
        data = signing.loads(code, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        return None
    conversation = Conversation.objects.select_related("workspace").filter(pk=data["c"]).first()
    return conversation.workspace if conversation else None


def hosted_url(code: str) -> str:
    return settings.SITE_URL + reverse("widget:resume", args=[code])


def linkable_page(workspace: Workspace, page_url: str) -> str | None:
    """The page the visitor was on, if an email may link to it (see above); else None."""
    page, _fragment = urldefrag(page_url or "")
    parts = urlsplit(page)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if not workspace.allowed_domain_list() or not options.origin_allowed(workspace, page):
        return None
    return page


def page_url_with_code(page: str, code: str) -> str:
    return f"{page}#{FRAGMENT}={code}"
