"""Email in the product's pages: the original of a mail (for agents, from its message in the
inbox), and Settings → Email (the workspace's address, and the mail that was kept but not
placed in a conversation). Every view checks access first."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import nh3
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.accounts import access
from helpdesk.accounts.access import AuthenticatedHttpRequest
from helpdesk.lib.security import BASE_POLICY
from helpdesk.mail import actions, addresses, imap, incoming
from helpdesk.mail.forms import AddressForm, MailboxForm
from helpdesk.mail.models import InboundEmail, Mailbox, ensure_settings

KEPT_SHOWN = 50


def _html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):
        return ""
    return content if isinstance(content, str) else ""


def _original(request: AuthenticatedHttpRequest, record: InboundEmail, back: str) -> HttpResponse:
    """The mail as it came: headers, its text, its HTML sanitized (nh3) in a sandboxed frame
    with remote images blocked until asked for, and its attachments by name only (never
    rendered)."""
    message = message_from_bytes(bytes(record.raw), policy=policy.default)
    assert isinstance(message, EmailMessage)
    images = request.GET.get("images") == "1"
    html = _html_part(message)
    clean = nh3.clean(html, link_rel="noopener noreferrer nofollow") if html else ""
    has_remote_images = "<img" in clean and ('src="http' in clean or 'src="//' in clean)
    context = {
        "record": record,
        "headers": [(name, str(message.get(name, ""))) for name in ("From", "To", "Cc", "Date", "Subject")],
        "text": incoming.body_text(message) if not html else "",
        "html": clean,
        "images": images,
        "has_remote_images": has_remote_images,
        "attachments": [
            (part.get_filename() or "(no name)", part.get_content_type(), len(part.get_payload(decode=True) or b""))
            for part in message.iter_attachments()
        ],
        "back": back,
    }
    response = render(request, "mail/original.html", context)
    # The frame's document inherits this policy: no scripts at all, and no remote images (which
    # tell the sender the mail was read, and from where) until the agent asks.
    response["Content-Security-Policy"] = (
        BASE_POLICY.replace("img-src 'self' data:", "img-src 'self' data: https: http:" if images else "img-src data:")
        + "; frame-ancestors 'none'; frame-src 'self'"
    )
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
@require_GET
def original(request: AuthenticatedHttpRequest, message_id: int) -> HttpResponse:
    membership = access.agent(request)
    record = (
        InboundEmail.objects.select_related("conversation")
        .filter(message_id=message_id, workspace=membership.workspace)
        .first()
    )
    if record is None or record.conversation is None:
        raise Http404("No such mail")
    return _original(request, record, f"/inbox/c/{record.conversation_id}/")


@login_required
@require_GET
def kept(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.admin(request)
    record = InboundEmail.objects.filter(pk=pk, workspace=membership.workspace).first()
    if record is None:
        raise Http404("No such mail")
    return _original(request, record, "/settings/email/")


def _settings(request: AuthenticatedHttpRequest, membership, *, form=None, mailbox_form=None, status=200, **extra):
    row = ensure_settings(membership.workspace)
    mailbox = Mailbox.objects.filter(workspace=membership.workspace).first()
    kept_mail = (
        InboundEmail.objects.filter(workspace=membership.workspace)
        .exclude(status=InboundEmail.Status.PLACED)
        .defer("raw")
        .order_by("-received_at")[:KEPT_SHOWN]
    )
    context = {
        "membership": membership,
        "section": "email",
        "form": form or AddressForm(instance=row),
        "mailbox": mailbox,
        "mailbox_form": mailbox_form or MailboxForm(instance=mailbox),
        "address": addresses.support_address(row),
        "domain": addresses.domain(),
        "kept": kept_mail,
        **extra,
    }
    return render(request, "mail/settings.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access.admin(request)
    if request.method == "POST":
        row = ensure_settings(membership.workspace)
        form = AddressForm(request.POST, instance=row)
        if form.is_valid():
            actions.change_address(form, request.user)
            messages.success(request, f"Saved. Mail to {addresses.support_address(row)} now reaches this workspace.")
            return redirect("mail:settings")
        return _settings(request, membership, form=form, status=422)
    return _settings(request, membership)


def _mailbox_form(request: AuthenticatedHttpRequest, membership) -> MailboxForm:
    saved = Mailbox.objects.filter(workspace=membership.workspace).first()
    return MailboxForm(request.POST, instance=saved or Mailbox(workspace=membership.workspace))


@login_required
@require_POST
def save_mailbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access.admin(request)
    form = _mailbox_form(request, membership)
    if not form.is_valid():
        return _settings(request, membership, mailbox_form=form, status=422)
    actions.save_mailbox(form, request.user)
    messages.success(request, "Mailbox saved. Mail that arrives in it from now on comes to the inbox.")
    return redirect("mail:settings")


@login_required
@require_POST
def test_mailbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Log in with the values in the form, not yet saved (a blank password: the saved one)."""
    membership = access.admin(request)
    form = _mailbox_form(request, membership)
    if not form.is_valid():
        return _settings(request, membership, mailbox_form=form, status=422)
    candidate = form.save(commit=False)  # never saved
    form.apply_password(candidate)
    try:
        box = imap.connect(candidate)
        try:
            count = box.folder.status(candidate.folder, ["MESSAGES"])["MESSAGES"]
        finally:
            box.logout()
        result = {"ok": True, "text": f"Connected: {count} messages in {candidate.folder}."}
    except Exception as e:
        result = {"ok": False, "text": f"Could not connect: {imap.describe_error(e)}"}
    return _settings(request, membership, mailbox_form=form, connection=result)


@login_required
@require_POST
def remove_mailbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access.admin(request)
    mailbox = Mailbox.objects.filter(workspace=membership.workspace).first()
    if mailbox is not None:
        actions.remove_mailbox(mailbox, request.user)
        messages.success(request, "Mailbox removed. Mail already in the inbox stays.")
    return redirect("mail:settings")
