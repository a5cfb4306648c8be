"""Content-Security-Policy on every response (views may set their own `frame-ancestors`), a
clear 503 while the database is unreachable, no cookies on the widget's paths, and a 400 for
NUL characters (which PostgreSQL text refuses) in a path, query string or form."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

BASE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'"
)


def policy(frame_ancestors: str = "'none'") -> str:
    return f"{BASE_POLICY}; frame-ancestors {frame_ancestors}"


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", policy())
        return response


class DatabaseUnavailableMiddleware:
    """A database that is briefly unreachable gets a clear 503, never a bare 500: the widget's
    API answers JSON with an error the widget shows beside its Retry button (nothing was saved,
    and a retry with the same client_id is saved once); pages answer a short HTML page."""

    MESSAGE = "Not sent: we couldn't save your message just now. Please retry."

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.warning("database unavailable for %s %s: %s", request.method, request.path, exception)
        if request.path.startswith("/chat/api/"):
            response: HttpResponse = JsonResponse({"error": self.MESSAGE}, status=503)
        else:
            response = HttpResponse(
                "<!doctype html><title>Unavailable</title><p>The helpdesk can't reach its database just now. "
                "Nothing was changed: please try again in a moment.</p>",
                status=503,
            )
        response["Retry-After"] = "2"
        return response


# ---------------------------------------------------------------- the widget sees no cookies


def is_widget_path(path: str) -> bool:
    return path == "/chat" or path.startswith(("/chat/", "/embed.js", "/help/", "/ws/chat/"))


class WidgetWithoutCookiesMiddleware:
    """The widget's pages and API identify visitors by tokens, never by cookies. Embedded on
    another site the browser does not send the agent's session cookie (SameSite=Lax); embedded
    on the helpdesk's own site it may, so on these paths every cookie is dropped before any
    code sees it, and none is ever set: an agent's session can't act through /chat."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_widget_path(request.path):
            return self.get_response(request)
        request.COOKIES = {}
        response = self.get_response(request)
        for name in list(response.cookies):
            del response.cookies[name]
        return response


class WidgetSocketWithoutCookies:
    """The same for the widget's websocket: its scope loses the Cookie header."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "websocket" and is_widget_path(scope.get("path", "")):
            scope = {**scope, "headers": [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"cookie"]}
        return await self.inner(scope, receive, send)


# ---------------------------------------------------------------- NUL characters

NUL = "\x00"


def _has_nul(pairs) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in pairs)


def carries_nul(request: HttpRequest) -> bool:
    """Whether the path, the query string or (outside the widget) a form field or file name
    carries a NUL character."""
    if NUL in request.path:
        return True
    query = request.META.get("QUERY_STRING", "")
    if ("%00" in query or NUL in query) and _has_nul(request.GET.lists()):
        return True
    if request.method == "POST" and not is_widget_path(request.path):
        if _has_nul(request.POST.lists()):
            return True
        if any(NUL in name or any(NUL in (f.name or "") for f in files) for name, files in request.FILES.lists()):
            return True
    return False


class RefuseNulMiddleware:
    """PostgreSQL text refuses NUL ("\\x00"): a search box, a cursor or a form field carrying one
    would reach a query and end in a 500. Refused here once, for every view, with a 400; forms
    (whose fields refuse NUL already) and hand-read parameters alike. The widget's POST API is
    the exception: its intake strips NUL from what a visitor sends (helpdesk.conversations.intake),
    so that their message is kept. Put it after any middleware that limits the body's size: it
    reads the form."""

    MESSAGE = "NUL characters are not allowed."

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if carries_nul(request):
            if request.path.startswith("/chat/api/"):
                return JsonResponse({"error": self.MESSAGE}, status=400)
            return HttpResponse(self.MESSAGE, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
