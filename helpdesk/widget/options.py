"""The widget's options: workspace settings give the defaults, the embed snippet may override them."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from urllib.parse import urlparse

from django.http import QueryDict

from helpdesk.workspace.models import Workspace

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass
class WidgetOptions:
    title: str
    subtitle: str
    primaryColor: str
    greeting: str
    newMessagePlaceholder: str
    companyName: str
    showAgentAvailability: bool
    isBrandingHidden: bool
    position: str

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def text_on_primary(self) -> str:
        return text_color_on(self.primaryColor)


INK = "#0f172a"


def _luminance(color: str) -> float:
    """WCAG 2 relative luminance of a #rrggbb colour."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_color_on(background: str) -> str:
    """White or ink, whichever contrasts more with `background`: the text and icons drawn on the
    workspace's colour (the widget's header, the visitor's bubbles, the send button) stay
    legible whatever colour is chosen, a pale yellow as well as the default blue."""
    lum = _luminance(background)
    return "#ffffff" if (1.05 / (lum + 0.05)) >= ((lum + 0.05) / (_luminance(INK) + 0.05)) else INK


def _bool(raw: str | None, default: bool) -> bool:
    if raw is None:
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _text(raw: str | None, default: str, limit: int) -> str:
    if raw is None or not raw.strip():
        return default
    return raw.strip()[:limit]


def resolve(workspace: Workspace, params: QueryDict) -> WidgetOptions:
    color = params.get("primaryColor", "")
    position = params.get("position", "")
    return WidgetOptions(
        title=_text(params.get("title"), workspace.widget_title, 80),
        subtitle=_text(params.get("subtitle"), workspace.widget_subtitle, 160),
        primaryColor=color if _HEX.match(color) else workspace.widget_primary_color,
        greeting=_text(params.get("greeting"), workspace.widget_greeting, 500),
        newMessagePlaceholder=_text(params.get("newMessagePlaceholder"), workspace.widget_placeholder, 80),
        companyName=_text(params.get("companyName"), workspace.widget_company_name or workspace.name, 80),
        showAgentAvailability=_bool(params.get("showAgentAvailability"), workspace.widget_show_availability),
        isBrandingHidden=_bool(params.get("isBrandingHidden"), workspace.widget_branding_hidden),
        position=position if position in ("left", "right") else workspace.widget_position,
    )


def _origin(value: str) -> str | None:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return None
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.hostname}{port}"


def origin_allowed(workspace: Workspace, origin: str) -> bool:
    """May a page of `origin` embed this workspace's widget? Any, when no domains are set."""
    normalized = _origin(origin)
    if normalized is None:
        return False
    allowed = workspace.allowed_domain_list()
    if not allowed:
        return True
    host = urlparse(normalized).hostname or ""
    for entry in allowed:
        entry = entry.lower()
        if "://" in entry:
            if _origin(entry) == normalized:
                return True
            continue
        entry_host, _, entry_port = entry.partition(":")
        if entry_port and entry_port != str(urlparse(normalized).port or ""):
            continue
        if entry_host.startswith("*."):
            if host.endswith(entry_host[1:]):
                return True
        elif host == entry_host:
            return True
    return False


def frame_ancestors(workspace: Workspace) -> str:
    allowed = workspace.allowed_domain_list()
    if not allowed:
        return "*"
    return " ".join(["'self'", *allowed])


def parent_origin(workspace: Workspace, raw: str) -> str | None:
    origin = _origin(raw or "")
    if origin is None or not origin_allowed(workspace, origin):
        return None
    return origin
