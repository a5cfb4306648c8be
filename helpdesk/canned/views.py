"""The canned responses' settings pages: owners and admins only, agents get 403 (agents use
them from the reply box, through helpdesk.inbox.views.canned_responses)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.accounts import access
from helpdesk.accounts.access import AuthenticatedHttpRequest
from helpdesk.accounts.models import Membership
from helpdesk.canned import actions
from helpdesk.canned.forms import CannedResponseForm
from helpdesk.canned.models import CannedResponse


def _list(
    request: AuthenticatedHttpRequest, membership: Membership, form: CannedResponseForm, status: int = 200
) -> HttpResponse:
    template = "canned/list.html" + ("#canned" if request.htmx else "")
    context = {
        "membership": membership,
        "section": "canned",
        "form": form,
        "responses": CannedResponse.objects.filter(workspace=membership.workspace),
    }
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access.admin(request)
    workspace = membership.workspace
    if request.method == "POST":
        form = CannedResponseForm(workspace, request.POST)
        if not form.is_valid():
            return _list(request, membership, form, status=422)
        saved = actions.save_canned_response(form, request.user)
        messages.success(request, f"Saved /{saved.shortcut}. Agents can type it in the reply box now.")
    return _list(request, membership, CannedResponseForm(workspace))


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.admin(request)
    canned = get_object_or_404(CannedResponse, pk=pk, workspace=membership.workspace)
    shortcut = canned.shortcut
    data = request.POST if request.method == "POST" else None
    form = CannedResponseForm(membership.workspace, data, instance=canned)
    if request.method == "POST" and form.is_valid():
        saved = actions.save_canned_response(form, request.user)
        messages.success(request, f"Saved /{saved.shortcut}.")
        return redirect("canned:list")
    context = {"membership": membership, "section": "canned", "form": form, "shortcut": shortcut, "canned": canned}
    return render(request, "canned/edit.html", context, status=422 if form.is_bound else 200)


@login_required
@require_POST
def delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.admin(request)
    canned = get_object_or_404(CannedResponse, pk=pk, workspace=membership.workspace)
    shortcut = canned.shortcut
    actions.delete_canned_response(canned, request.user)
    messages.success(request, f"Deleted /{shortcut}.")
    return _list(request, membership, CannedResponseForm(membership.workspace))
