"""The agent inbox. Every view checks access first; writes are POST and go through actions."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST

from helpdesk.accounts import access, presence
from helpdesk.accounts.access import AuthenticatedHttpRequest
from helpdesk.accounts.models import Membership, User
from helpdesk.ai import modes
from helpdesk.ai import tasks as ai_tasks
from helpdesk.ai.models import AISettings
from helpdesk.canned.models import CannedResponse
from helpdesk.conversations import actions, attachments, events
from helpdesk.conversations.access import conversation_for_agent
from helpdesk.conversations.models import Conversation
from helpdesk.inbox import queries
from helpdesk.lib.bodylimit import accepts_attachments
from helpdesk.realtime import handlers

THREAD_LIMIT = 200


# The most dismissed notices a person keeps (the oldest are forgotten first).
DISMISSED_NOTICES_KEPT = 50


def _ai_notice(membership: Membership, user: User) -> modes.Mode | None:
    """For an admin, the AI's mode when it does not answer with a model, until they dismiss it."""
    if not membership.is_admin:
        return None
    ai = AISettings.for_workspace(membership.workspace)
    mode = modes.of(ai)
    if mode.uses_model or modes.notice_key(ai, mode) in user.dismissed_notices:
        return None
    return mode


def _page_context(request: AuthenticatedHttpRequest, membership: Membership) -> dict:
    filters = queries.Filters.from_query(request.GET)
    rows, next_cursor = queries.page(membership, filters, request.GET.get("before", ""))
    return {
        "membership": membership,
        "me": request.user,
        "filters": filters,
        "rows": rows,
        "next_cursor": next_cursor,
        "counts": queries.counts(membership, filters),
        "team": presence.team(membership.workspace),
        "online": presence.is_online(membership),
        "priority_choices": Conversation.Priority.choices,
        "ai_notice": _ai_notice(membership, request.user),
    }


def _conversation_context(membership: Membership, conversation: Conversation) -> dict:
    messages = attachments.prefetch(
        list(conversation.messages.select_related("author", "feedback").order_by("-id")[:THREAD_LIMIT])[::-1]
    )
    previous = conversation.contact.conversations.exclude(pk=conversation.pk).order_by("-created_at")[:10]
    return {**events.controls_context(conversation), "messages": messages, "previous": previous}


@login_required
@require_GET
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access.agent(request)
    context = _page_context(request, membership)
    template = "inbox/index.html"
    if request.htmx and request.htmx.target == "conversation-list":
        # Another view: its rows, and the counts of the views beside it.
        html = render_to_string(template + "#list", context, request=request)
        return HttpResponse(html + render_to_string(template + "#counts-oob", context))
    if request.htmx and request.GET.get("before"):
        template += "#rows"
    return render(request, template, context)


@login_required
@require_GET
def counts(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Each view's count, as out-of-band swaps: the inbox asks again when rows change."""
    membership = access.agent(request)
    filters = queries.Filters.from_query(request.GET)
    return render(
        request, "inbox/index.html#counts-oob", {"filters": filters, "counts": queries.counts(membership, filters)}
    )


@login_required
@require_GET
def conversation(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.agent(request)
    conv = conversation_for_agent(membership, pk)
    was_unread = conv.is_unread
    actions.mark_seen_by_agent(conv)
    context = _conversation_context(membership, conv)
    if request.htmx and not request.htmx.history_restore_request:
        html = render_to_string("inbox/conversation.html#pane", context, request=request)
        if was_unread:
            html += render_to_string("inbox/index.html#row-oob", {"c": conv})
        return HttpResponse(html)
    context.update(_page_context(request, membership))
    context["agents"] = [t["user"] for t in context["team"]]  # the same people: one query, not two
    return render(request, "inbox/index.html", context)


@login_required
@require_GET
def thread(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Messages after a cursor, as fragments: the inbox's catch-up after a reconnect."""
    membership = access.agent(request)
    conv = conversation_for_agent(membership, pk)
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        return HttpResponseBadRequest("Bad cursor")
    return HttpResponse(handlers.inbox_replay(membership, conv.pk, after))


@accepts_attachments
@login_required
@require_POST
def reply(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.agent(request)
    conv = conversation_for_agent(membership, pk)
    body = (request.POST.get("body") or "").strip()
    private = request.POST.get("private") == "1"
    uploads = [attachments.Incoming(f.name or "file", f.read()) for f in request.FILES.getlist("file")]
    error = ""
    if not body and not uploads:
        error = "Write a message first."
    elif len(body) > 20000:
        error = "That message is too long (the limit is 20000 characters)."
    elif len(uploads) > settings.ATTACHMENT_MAX_FILES:
        error = f"Send at most {settings.ATTACHMENT_MAX_FILES} files at once."
    files = []
    if not error and uploads:
        try:
            files = attachments.store_all(conv.workspace_id, uploads)
        except attachments.Refused as e:
            error = str(e)
    context = {"conversation": conv, "error": error, "private": private}
    if error:
        context["body"] = body
        response = render(request, "inbox/conversation.html#composer", context, status=422)
        return response
    message = actions.post_agent_reply(conv, request.user, body, private=private, files=files)
    html = render_to_string("inbox/conversation.html#composer", context, request=request)
    html += render_to_string("inbox/conversation.html#message-oob", {"message": message, "conversation": conv})
    return HttpResponse(html)


def _controls(request: AuthenticatedHttpRequest, conv: Conversation) -> HttpResponse:
    """The controls, and the header's line above them (handed over, waiting), as they are now."""
    conv.refresh_from_db()
    html = render_to_string("inbox/conversation.html#controls", events.controls_context(conv), request=request)
    html += render_to_string("inbox/conversation.html#header-meta-oob", {"conversation": conv})
    return HttpResponse(html)


@login_required
@require_POST
def set_status(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.agent(request)
    conv = conversation_for_agent(membership, pk)
    status = request.POST.get("status", "")
    if status not in Conversation.Status.values:
        return HttpResponseBadRequest("Unknown status")
    actions.set_status(conv, request.user, status)
    return _controls(request, conv)


@login_required
@require_POST
def set_priority(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.agent(request)
    conv = conversation_for_agent(membership, pk)
    try:
        priority = int(request.POST.get("priority", ""))
    except ValueError:
        return HttpResponseBadRequest("Unknown priority")
    if priority not in Conversation.Priority.values:
        return HttpResponseBadRequest("Unknown priority")
    actions.set_priority(conv, request.user, priority)
    return _controls(request, conv)


@login_required
@require_POST
def assign(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.agent(request)
    conv = conversation_for_agent(membership, pk)
    raw = request.POST.get("assignee", "")
    assignee = None
    if raw:
        try:
            assignee = User.objects.filter(
                pk=int(raw), memberships__workspace_id=membership.workspace_id, memberships__is_active=True
            ).first()
        except ValueError:
            assignee = None
        if assignee is None:
            return HttpResponseBadRequest("Unknown agent")
    actions.assign(conv, request.user, assignee)
    return _controls(request, conv)


@login_required
@require_POST
def set_presence(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access.agent(request)
    availability = request.POST.get("availability", "")
    if availability not in Membership.Availability.values:
        return HttpResponseBadRequest("Unknown availability")
    presence.set_availability(membership, availability)
    return render(
        request,
        "inbox/index.html#presence",
        {
            "membership": membership,
            "online": presence.is_online(membership),
            "team": presence.team(membership.workspace),
        },
    )


@login_required
@require_POST
def set_notifications(request: AuthenticatedHttpRequest) -> HttpResponse:
    access.agent(request)
    request.user.notifications_enabled = request.POST.get("enabled") == "1"
    request.user.save(update_fields=["notifications_enabled"])
    return render(request, "inbox/index.html#notifications", {"me": request.user})


@login_required
@require_POST
def set_email_notifications(request: AuthenticatedHttpRequest) -> HttpResponse:
    access.agent(request)
    request.user.email_notifications = request.POST.get("enabled") == "1"
    request.user.save(update_fields=["email_notifications"])
    return render(request, "inbox/index.html#email-notifications", {"me": request.user})


@login_required
@require_POST
def dismiss_ai_notice(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Hide the notice of the AI's current mode for this person, until the mode's reason changes."""
    membership = access.admin(request)
    ai = AISettings.for_workspace(membership.workspace)
    key = modes.notice_key(ai, modes.of(ai))
    user = request.user
    if key not in user.dismissed_notices:
        user.dismissed_notices = [*user.dismissed_notices, key][-DISMISSED_NOTICES_KEPT:]
        user.save(update_fields=["dismissed_notices"])
    if request.htmx:
        return HttpResponse("")
    return redirect("inbox:index")


@login_required
@require_POST
def suggest(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Ask the AI for a draft; it arrives in this agent's reply box over the websocket."""
    membership = access.agent(request)
    conv = conversation_for_agent(membership, pk)
    ai_tasks.suggest.enqueue(conv.pk, request.user.pk)
    return HttpResponse(status=202)


@login_required
@require_POST
def hand_back(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.agent(request)
    conv = conversation_for_agent(membership, pk)
    actions.hand_back(conv, request.user)
    return _controls(request, conv)


@login_required
@require_GET
def canned_responses(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The workspace's canned responses whose shortcut starts with ?q=, for the reply box's / menu."""
    membership = access.agent(request)
    q = request.GET.get("q", "").strip().lower()[:40]
    found = CannedResponse.objects.filter(workspace=membership.workspace, shortcut__startswith=q)[:8]
    return JsonResponse({"results": [{"shortcut": c.shortcut, "text": c.text} for c in found]})
