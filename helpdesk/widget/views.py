"""The public side: the loader script, the /chat page in the iframe, and its small API.

The widget runs in a third-party iframe, where cookies are unreliable, so it carries its
identity in headers: X-Widget-Token (the workspace's public token) and X-Visitor-Token (the
visitor's secret, issued by /chat/api/visitor and kept in the iframe's storage). No ambient
credential is involved, so these endpoints need no CSRF token.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.cache import cache_control
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET, require_POST

from helpdesk.accounts import presence
from helpdesk.ai import feedback as ai_feedback
from helpdesk.conversations import actions, attachments, identity, intake
from helpdesk.conversations.models import Attachment, Conversation, Message, Visitor
from helpdesk.knowledge.models import Article, on_channel
from helpdesk.lib import ratelimit
from helpdesk.lib.bodylimit import accepts_attachments
from helpdesk.lib.markdown import render_markdown
from helpdesk.lib.security import policy
from helpdesk.realtime import handlers
from helpdesk.widget import options as widget_options
from helpdesk.widget import resume
from helpdesk.workspace.models import Workspace

EMBED_JS = Path(settings.BASE_DIR) / "embed" / "embed.js"


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def served_loader(source: bytes) -> bytes:
    """The loader as served: its lines without their indentation, and without the lines that
    are only a comment (for the file's readers), which keeps it under 2 KB gzipped. Nothing
    else changes (no line is joined to another): the file has no multi-line string."""
    lines = (line.strip() for line in source.split(b"\n"))
    return b"\n".join(line for line in lines if line and not line.startswith(b"//"))


@cache
def _embed_bytes(mtime: float) -> tuple[bytes, bytes]:
    raw = served_loader(EMBED_JS.read_bytes())
    return raw, gzip.compress(raw, 9)


@require_GET
@cache_control(public=True, max_age=300)
def embed_js(request: HttpRequest) -> HttpResponse:
    raw, packed = _embed_bytes(EMBED_JS.stat().st_mtime)
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
    response = HttpResponse(packed if gzipped else raw, content_type="text/javascript; charset=utf-8")
    if gzipped:
        response["Content-Encoding"] = "gzip"
    response["Vary"] = "Accept-Encoding"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _workspace(token: str | None) -> Workspace | None:
    if not token or len(token) > 100 or intake.NUL in token:
        return None
    return Workspace.objects.filter(public_token=token, widget_enabled=True).first()


def _chat_page(request: HttpRequest, workspace: Workspace, parent: str | None, resume_code: str = "") -> HttpResponse:
    context = {
        "workspace": workspace,
        "options": widget_options.resolve(workspace, request.GET),
        "parent_origin": parent or "",
        **presence.widget_state(workspace),
        "max_length": settings.WIDGET_MESSAGE_MAX_LENGTH,
        "poll_seconds": settings.WIDGET_POLL_SECONDS,
        "preview": request.GET.get("preview") == "1",
        "resume_code": resume_code,
    }
    return render(request, "widget/chat.html", context)


@xframe_options_exempt
@gzip_page  # no secret in this page for BREACH to find: the widget token is public
@require_GET
def chat(request: HttpRequest) -> HttpResponse:
    workspace = _workspace(request.GET.get("token"))
    if workspace is None:
        return render(request, "widget/unavailable.html", status=404)
    parent = widget_options.parent_origin(workspace, request.GET.get("parentOrigin", ""))
    if request.GET.get("parentOrigin") and parent is None:
        response = render(request, "widget/unavailable.html", status=403)
    else:
        code = request.GET.get("resume", "")
        response = _chat_page(request, workspace, parent, code if len(code) <= 300 else "")
    response["Content-Security-Policy"] = policy(widget_options.frame_ancestors(workspace))
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def resume_page(request: HttpRequest, code: str) -> HttpResponse:
    """The hosted chat page of a resume link (an email's "Continue the conversation" when the
    visitor's page cannot be linked): the widget, full page, which opens the conversation."""
    workspace = None
    found = resume.read_code(code)
    if found is not None:
        conversation = Conversation.objects.select_related("workspace").filter(pk=found[0]).first()
        if conversation is not None and conversation.contact_id == found[1] and conversation.workspace.widget_enabled:
            workspace = conversation.workspace
    if workspace is None:
        expired = resume.expired_workspace(code)
        if expired is None or not expired.widget_enabled:
            return render(request, "widget/unavailable.html", status=404)
        workspace = expired  # the page all the same, where the widget says the link has expired
    response = _chat_page(request, workspace, None, code)
    response["Content-Security-Policy"] = policy("'none'")
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@csrf_exempt
@require_POST
def open_resume_link(request: HttpRequest) -> JsonResponse:
    """The widget opens a resume link: this browser becomes the conversation's contact's (a
    new visitor token, unless it is theirs already) and shows that conversation."""
    workspace, visitor = _visitor(request)
    if workspace is None:
        return _error("This chat is not available.", 404)
    if _ip_limited(request):
        return _error("Too many requests. Please wait a minute and try again.", 429)
    found = resume.read_code(request.POST.get("code") or "")
    if found is None:
        return _error("This link has expired. You can write to us again here.", 410)
    conversation = Conversation.objects.select_related("contact").filter(pk=found[0], workspace=workspace).first()
    if conversation is None or conversation.contact_id != found[1]:
        return _error("This link has expired. You can write to us again here.", 410)
    if visitor is not None and visitor.contact_id == conversation.contact_id:
        return JsonResponse({"ok": True, "visitor": None})
    _row, raw = identity.start_visitor_for_contact(conversation.contact)
    return JsonResponse({"ok": True, "visitor": raw}, status=201)


@csrf_exempt
@require_POST
@accepts_attachments
def send_files(request: HttpRequest) -> HttpResponse:
    """A message with files: picked, dropped or pasted into the widget (its text optional)."""
    _workspace, visitor = _visitor(request)
    if visitor is None:
        return _error("Unknown visitor. Reload the chat to start again.", 403)
    uploads = [attachments.Incoming(f.name or "file", f.read()) for f in request.FILES.getlist("file")]
    outcome = intake.post_visitor_files(
        visitor,
        request.POST.get("body") or "",
        uploads,
        client_id=request.POST.get("client_id") or None,
        page_url=request.POST.get("page_url", ""),
        ip=ratelimit.client_ip(request),
    )
    if isinstance(outcome, intake.Refusal):
        return _error(outcome.error, outcome.status)
    return HttpResponse(render_to_string("widget/chat.html#message", {"message": outcome}), status=201)


@require_GET
def attachment(request: HttpRequest, token: str, name: str) -> HttpResponseBase:
    """A file of a message, by a signed link made for whoever was shown the message (see
    helpdesk.conversations.attachments). Images inline; anything else downloads."""
    found = attachments.read_link(token)
    if found is None:
        return HttpResponse(
            "This link has expired. Open the conversation again for a new one.", status=410, content_type="text/plain"
        )
    pk, variant = found
    row = Attachment.objects.filter(pk=pk).first()
    if row is None or (variant == "t" and not row.thumbnail):
        raise Http404("No such file")
    stored = row.thumbnail if variant == "t" else row.file
    inline = variant == "t" or row.content_type in attachments.IMAGE_FORMATS
    response = FileResponse(
        stored.open("rb"),
        as_attachment=not inline,
        filename=row.name,
        content_type="image/png" if variant == "t" else (row.content_type if inline else "application/octet-stream"),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    response["Referrer-Policy"] = "no-referrer"
    return response


@csrf_exempt
@require_POST
def seen(request: HttpRequest) -> JsonResponse:
    """The open widget showed the visitor their messages up to `id` (over HTTP while the socket
    is down; the socket's `seen` frame otherwise). What they have seen is not emailed."""
    _workspace, visitor = _visitor(request)
    if visitor is None:
        return _error("Unknown visitor.", 403)
    refusal = intake.live_refusal(ip=ratelimit.client_ip(request), visitor_id=visitor.pk)
    if refusal:
        return _error(refusal.error, refusal.status)
    try:
        message_id = int(request.POST.get("id", ""))
    except ValueError:
        return _error("id must be a message id.", 400)
    if not 0 < message_id <= handlers.MAX_ID:
        return _error("id must be a message id.", 400)
    if not actions.mark_seen_by_customer(visitor.contact_id, message_id):
        return _error("No such message.", 404)
    return JsonResponse({"ok": True})


def _visitor(request: HttpRequest) -> tuple[Workspace | None, Visitor | None]:
    workspace = _workspace(request.headers.get("X-Widget-Token"))
    if workspace is None:
        return None, None
    visitor = identity.visitor_for_token(workspace, request.headers.get("X-Visitor-Token"))
    if visitor is not None:
        visitor.workspace = workspace  # read already: no second query for it
    return workspace, visitor


def _ip_limited(request: HttpRequest) -> bool:
    return not ratelimit.hit("widget-ip", ratelimit.client_ip(request), settings.WIDGET_RATE_LIMIT_PER_IP)


@csrf_exempt
@require_POST
def start(request: HttpRequest) -> JsonResponse:
    """Issue a visitor token for a new browser."""
    workspace = _workspace(request.headers.get("X-Widget-Token"))
    if workspace is None:
        return _error("This chat is not available.", 404)
    if _ip_limited(request):
        return _error("Too many requests. Please wait a minute and try again.", 429)
    _visitor_row, raw = identity.start_visitor(
        workspace, page_url=intake.clean_page_url(request.POST.get("page_url", ""))
    )
    return JsonResponse({"visitor": raw}, status=201)


@require_GET
def thread(request: HttpRequest) -> HttpResponse:
    """The visitor's messages after a cursor, as fragments (initial load and polling fallback)."""
    workspace, visitor = _visitor(request)
    if workspace is None or visitor is None:  # no workspace: no visitor either
        return _error("Unknown visitor.", 403)
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        return _error("Bad cursor.", 400)
    if after > handlers.MAX_ID:
        return _error("Bad cursor.", 400)
    refusal = intake.live_refusal(ip=ratelimit.client_ip(request), visitor_id=visitor.pk)
    if refusal:
        return _error(refusal.error, refusal.status)
    html = handlers.widget_replay(visitor, after) + handlers.widget_state(visitor)
    response = HttpResponse(html)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_POST
def send_message(request: HttpRequest) -> HttpResponse:
    _workspace, visitor = _visitor(request)
    if visitor is None:
        return _error("Unknown visitor. Reload the chat to start again.", 403)
    outcome = intake.post_visitor_message(
        visitor,
        request.POST.get("body") or "",
        client_id=request.POST.get("client_id") or None,
        page_url=request.POST.get("page_url", ""),
        ip=ratelimit.client_ip(request),
    )
    if isinstance(outcome, intake.Refusal):
        return _error(outcome.error, outcome.status)
    message = outcome
    return HttpResponse(render_to_string("widget/chat.html#message", {"message": message}), status=201)


@csrf_exempt
@require_POST
def identify(request: HttpRequest) -> JsonResponse:
    _workspace, visitor = _visitor(request)
    if visitor is None:
        return _error("Unknown visitor.", 403)
    if _ip_limited(request):
        return _error("Too many requests. Please wait a minute and try again.", 429)
    try:
        data = json.loads(request.body or b"{}")
    except RecursionError:
        return _error("The body is nested too deeply.", 400)
    except ValueError:
        return _error("The body must be JSON.", 400)
    if not isinstance(data, dict):
        return _error("The body must be a JSON object.", 400)
    fields = {}
    for key, limit in (("name", 200), ("email", 254), ("external_id", 255), ("user_hash", 128)):
        value = data.get(key, "")
        if not isinstance(value, str) or len(value) > limit:
            return _error(f"{key} must be a string of at most {limit} characters.", 400)
        fields[key] = intake.clean_text(value).strip()
    if fields["email"]:
        try:
            validate_email(fields["email"])
        except ValidationError:
            return _error("email must be a valid email address.", 400)
    traits = data.get("traits") or {}
    if not isinstance(traits, dict):
        return _error("traits must be a JSON object of at most 4 KB.", 400)
    try:
        traits = intake.clean_traits(traits)
    except ValueError as e:
        return _error(str(e), 400)
    before = visitor.contact_id
    try:
        contact = identity.identify(visitor, traits=traits, **fields)
    except identity.IdentityRefused:
        return _error("Identity verification failed.", 403)
    return JsonResponse(
        {"ok": True, "verified": contact.verified, "changed": contact.pk != before, "email_known": bool(contact.email)}
    )


@csrf_exempt
@require_POST
def give_email(request: HttpRequest) -> JsonResponse:
    """The visitor's address, typed into the widget's offer to answer by email once they have
    left. Stored unverified on their contact (see identity.give_email)."""
    _workspace, visitor = _visitor(request)
    if visitor is None:
        return _error("Unknown visitor.", 403)
    if _ip_limited(request):
        return _error("Too many requests. Please wait a minute and try again.", 429)
    email = intake.clean_text(request.POST.get("email") or "").strip()
    if not email:
        return _error("Enter your email address.", 400)
    if len(email) > 254:
        return _error("That email address is too long.", 400)
    try:
        validate_email(email)
    except ValidationError:
        return _error("That doesn't look like an email address.", 400)
    try:
        contact = identity.give_email(visitor, email)
    except identity.AddressRefused:
        return _error("Your address comes from your account on this site; change it there.", 409)
    return JsonResponse({"ok": True, "email": contact.email})


@csrf_exempt
@require_POST
def forget(request: HttpRequest) -> JsonResponse:
    """`Helpdesk("reset")`: the host page's user logged out. This browser's visitor token is
    revoked (the widget then starts a new, anonymous visitor); the contact's conversations stay."""
    _workspace, visitor = _visitor(request)
    if visitor is None:
        return _error("Unknown visitor.", 403)
    if _ip_limited(request):
        return _error("Too many requests. Please wait a minute and try again.", 429)
    identity.forget_visitor(visitor)
    return JsonResponse({"ok": True})


@csrf_exempt
@require_POST
def feedback(request: HttpRequest, pk: int) -> JsonResponse:
    """The visitor rates an AI answer (up / down) or says it solved their question."""
    _workspace, visitor = _visitor(request)
    if visitor is None:
        return _error("Unknown visitor.", 403)
    refusal = intake.feedback_refusal(visitor.pk, ratelimit.client_ip(request))
    if refusal:
        return _error(refusal.error, refusal.status)
    message = (
        Message.objects.select_related("conversation")
        .filter(pk=pk, conversation__contact_id=visitor.contact_id, author_kind=Message.Author.AI)
        .first()
    )
    if message is None:
        return _error("No such answer.", 404)
    rating = request.POST.get("rating", "")
    if rating not in ("up", "down", "solved"):
        return _error("rating must be up, down or solved.", 400)
    ai_feedback.rate(message, rating)
    return JsonResponse({"ok": True, "rating": rating})


@require_GET
def help_article(request: HttpRequest, public_id: str) -> HttpResponse:
    """A knowledge article, public, as cited by the AI: by its random public id (never its
    number, which could be counted), and only while it is enabled and on the widget channel."""
    article = (
        Article.objects.select_related("workspace")
        .filter(on_channel("widget"), public_id=public_id, enabled=True)
        .first()
    )
    if article is None:
        return render(request, "widget/unavailable.html", status=404)
    return render(request, "widget/article.html", {"article": article, "html": render_markdown(article.body)})
