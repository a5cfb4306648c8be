"""The addresses of email: `<slug>@<INBOUND_EMAIL_DOMAIN>` for a workspace, and
`reply+<token>@<INBOUND_EMAIL_DOMAIN>` for one conversation."""

from __future__ import annotations

import re
from email.utils import getaddresses

from django.conf import settings

from helpdesk.mail.models import EmailThread, MailSettings
from helpdesk.workspace.models import Workspace

_REPLY = re.compile(r"^reply\+([0-9a-f]{24})$")


def domain() -> str:
    return settings.INBOUND_EMAIL_DOMAIN.lower()


def support_address(settings_row: MailSettings) -> str:
    return f"{settings_row.slug}@{domain()}"


def workspace_address(workspace: Workspace) -> str:
    from_row = MailSettings.objects.filter(workspace=workspace).first()
    return support_address(from_row) if from_row else ""


def reply_address(thread: EmailThread) -> str:
    return f"reply+{thread.token}@{domain()}"


def split(address: str) -> tuple[str, str]:
    """(local part, domain), lower-cased; ("", "") for what is not an address."""
    address = (address or "").strip().strip("<>").lower()
    local, at, host = address.rpartition("@")
    if not at or not local or not host:
        return "", ""
    return local, host


def reply_token(local: str) -> str | None:
    match = _REPLY.match(local)
    return match.group(1) if match else None


def parse_list(*values: str) -> list[str]:
    """The addresses in header values such as To and Cc, lower-cased."""
    return [addr.lower() for _name, addr in getaddresses([v for v in values if v]) if "@" in addr]
