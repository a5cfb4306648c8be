"""The AI pages of the settings area: AI settings and guidance rules. Owners and admins only."""

from __future__ import annotations

import dataclasses

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from helpdesk.accounts import access
from helpdesk.accounts.access import AuthenticatedHttpRequest
from helpdesk.ai import agent, modes, provider, settings_actions
from helpdesk.ai.forms import AISettingsForm, GuidanceRuleForm
from helpdesk.ai.models import AISettings, GuidanceRule
from helpdesk.knowledge import embeddings

# A connection test answers quickly: no retries, and no longer than this whatever the timeout.
TEST_TIMEOUT_SECONDS = 30.0


def _settings_context(membership, form: AISettingsForm, saved: AISettings, **extra) -> dict:
    """`saved`: the settings as saved, whose mode the page states (never a form's unsaved values)."""
    return {"membership": membership, "form": form, "section": "ai", "mode": modes.of(saved), **extra}


@login_required
@require_http_methods(["GET", "POST"])
def ai_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access.admin(request)
    ai = AISettings.for_workspace(membership.workspace)
    template = "ai/settings.html"
    if request.method == "POST":
        form = AISettingsForm(request.POST, instance=ai)
        if form.is_valid():
            reembed = "embedding_model" in form.changed_data
            settings_actions.update_settings(form, request.user)
            message = "AI settings saved. They apply from the next answer."
            if reembed:
                message += (
                    " The embedding model changed: the knowledge base is being re-embedded with it in the"
                    " background; until that finishes, search relies more on keywords."
                    if embeddings.active()
                    else " The embedding model applies once the server uses an embeddings API (EMBEDDING_PROVIDER=openai)."
                )
            messages.success(request, message)
            form = AISettingsForm(instance=ai)
            status = 200
        else:
            ai.refresh_from_db()
            status = 422
        if request.htmx:
            template += "#form"
        return render(request, template, _settings_context(membership, form, ai), status=status)
    return render(request, template, _settings_context(membership, AISettingsForm(instance=ai), ai))


def _check_connection(ai: AISettings) -> tuple[bool, str]:
    """Ask the chat model for one token with these (unsaved) settings, through the outbound
    guard when the endpoint is the workspace's own. The text is the provider's HTTP status
    and a short reason (never its body, never a key), or why it could not be reached."""
    if not ai.chat_model:
        return False, "Enter a chat model to test the connection."
    if ai.api_key_unreadable:
        return False, "The saved API key cannot be read (the server's secret key changed?): enter it again."
    if not agent.chat_configured(ai):
        return False, "No provider is configured: enter a base URL or an API key."
    configured = agent.provider_config(ai)
    assert configured is not None  # None only when the saved key cannot be read: answered above
    config = dataclasses.replace(configured, retries=0, timeout=min(ai.timeout, TEST_TIMEOUT_SECONDS))
    try:
        provider.check(config, ai.chat_model)
    except provider.ProviderError as exc:
        return False, str(exc)
    return True, f"Connected: {ai.chat_model} answered."


@login_required
@require_POST
def test_connection(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Test the provider with the values in the form, not yet saved; a blank key uses the saved one."""
    membership = access.admin(request)
    saved = AISettings.for_workspace(membership.workspace)
    candidate = AISettings.objects.get(pk=saved.pk)
    form = AISettingsForm(request.POST, instance=candidate)
    if not form.is_valid():
        context = _settings_context(membership, form, saved)
        if request.htmx:
            response = render(request, "ai/settings.html#form", context, status=422)
            return reswap(retarget(response, "#ai-form"), "outerHTML")
        return render(request, "ai/settings.html", context, status=422)
    form.apply_key(candidate)  # the form's values are on `candidate` already; it is never saved
    ok, text = _check_connection(candidate)
    context = _settings_context(membership, form, saved, connection={"ok": ok, "text": text})
    return render(request, "ai/settings.html" + ("#connection" if request.htmx else ""), context)


# ---------------------------------------------------------------- guidance rules


def _guidance_context(membership, form: GuidanceRuleForm) -> dict:
    rules = list(GuidanceRule.objects.filter(workspace=membership.workspace))
    groups = [(kind, [r for r in rules if r.kind == kind]) for kind in GuidanceRule.Kind]
    return {"membership": membership, "form": form, "groups": groups, "section": "guidance"}


def _rules(request: AuthenticatedHttpRequest, membership) -> HttpResponse:
    """After a change from the list: the list again (htmx), or back to the page."""
    if request.htmx:
        form = GuidanceRuleForm(workspace=membership.workspace)
        return render(request, "ai/guidance.html#rules", _guidance_context(membership, form))
    return redirect("ai_settings:guidance")


@login_required
@require_http_methods(["GET", "POST"])
def guidance(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access.admin(request)
    workspace = membership.workspace
    template = "ai/guidance.html"
    if request.method == "POST":
        form = GuidanceRuleForm(request.POST, workspace=workspace)
        if form.is_valid():
            rule = settings_actions.create_rule(form, request.user)
            messages.success(request, f"Rule \u201c{rule.name}\u201d added. It applies from the next answer.")
            form = GuidanceRuleForm(workspace=workspace)
            status = 200
        else:
            status = 422
        if request.htmx:
            template += "#rules"
        return render(request, template, _guidance_context(membership, form), status=status)
    return render(request, template, _guidance_context(membership, GuidanceRuleForm(workspace=workspace)))


@login_required
@require_http_methods(["GET", "POST"])
def guidance_rule(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.admin(request)
    rule = get_object_or_404(GuidanceRule, pk=pk, workspace=membership.workspace)
    template = "ai/guidance_rule.html"
    if request.method == "POST":
        form = GuidanceRuleForm(request.POST, instance=rule, workspace=membership.workspace)
        if form.is_valid():
            settings_actions.update_rule(form, request.user)
            messages.success(request, f"Rule \u201c{rule.name}\u201d saved.")
            url = reverse("ai_settings:guidance")
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        rule.refresh_from_db()
        if request.htmx:
            template += "#form"
        context = {"membership": membership, "form": form, "rule": rule, "section": "guidance"}
        return render(request, template, context, status=422)
    form = GuidanceRuleForm(instance=rule, workspace=membership.workspace)
    return render(request, template, {"membership": membership, "form": form, "rule": rule, "section": "guidance"})


@login_required
@require_POST
def guidance_rule_active(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.admin(request)
    rule = get_object_or_404(GuidanceRule, pk=pk, workspace=membership.workspace)
    value = request.POST.get("active")
    if value not in ("true", "false"):
        return HttpResponseBadRequest("active must be true or false")
    settings_actions.set_rule_active(rule, value == "true", request.user)
    state = "active" if rule.active else "inactive"
    messages.success(request, f"Rule \u201c{rule.name}\u201d is {state}.")
    return _rules(request, membership)


@login_required
@require_POST
def guidance_rule_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.admin(request)
    rule = get_object_or_404(GuidanceRule, pk=pk, workspace=membership.workspace)
    name = rule.name
    settings_actions.delete_rule(rule, request.user)
    messages.success(request, f"Rule \u201c{name}\u201d deleted.")
    return _rules(request, membership)
