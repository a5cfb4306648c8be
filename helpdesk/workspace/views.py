"""The settings area: owners and admins only (agents get 403)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.accounts import access
from helpdesk.accounts.access import AuthenticatedHttpRequest
from helpdesk.widget.embed import snippet
from helpdesk.workspace import actions, activity
from helpdesk.workspace.forms import WidgetForm
from helpdesk.workspace.models import Activity


def _widget_context(request: AuthenticatedHttpRequest, membership, form: WidgetForm, **extra) -> dict:
    server = request.build_absolute_uri("/").rstrip("/")
    return {
        "membership": membership,
        "workspace": membership.workspace,
        "form": form,
        "snippet": snippet(membership.workspace, server),
        "section": "widget",
        **extra,
    }


@login_required
@require_GET
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    """/settings/ opens the first settings page."""
    access.admin(request)
    return redirect("workspace:widget")


@login_required
@require_http_methods(["GET", "POST"])
def widget(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access.admin(request)
    workspace = membership.workspace
    template = "workspace/widget.html"
    if request.method == "POST":
        form = WidgetForm(request.POST, instance=workspace)
        if form.is_valid():
            actions.update_widget(form, request.user)
            messages.success(request, "Widget settings saved. Visitors see them the next time the widget opens.")
            form = WidgetForm(instance=workspace)
            status = 200
        else:
            workspace.refresh_from_db()
            status = 422
        if request.htmx:
            template += "#form"
        return render(request, template, _widget_context(request, membership, form), status=status)
    return render(request, template, _widget_context(request, membership, WidgetForm(instance=workspace)))


@login_required
@require_POST
def regenerate_token(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access.admin(request)
    actions.regenerate_public_token(membership.workspace, request.user)
    messages.success(
        request, "A new widget token is active. Update the snippet on your site: the old one no longer works."
    )
    template = "workspace/widget.html" + ("#snippet" if request.htmx else "")
    return render(request, template, _widget_context(request, membership, WidgetForm(instance=membership.workspace)))


@login_required
@require_POST
def regenerate_secret(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access.admin(request)
    secret = actions.regenerate_identity_secret(membership.workspace, request.user)
    template = "workspace/widget.html" + ("#identity" if request.htmx else "")
    return render(
        request,
        template,
        _widget_context(request, membership, WidgetForm(instance=membership.workspace), new_secret=secret),
    )


@login_required
def activity_log(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access.admin(request)
    entries = Activity.objects.filter(workspace=membership.workspace).select_related("actor")[:200]
    rows = [(entry, activity.describe(entry)) for entry in entries]
    return render(request, "workspace/activity.html", {"membership": membership, "rows": rows, "section": "activity"})
