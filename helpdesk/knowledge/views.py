"""Knowledge settings: the articles, FAQ entries and documents the AI answers from.
Owners and admins only (agents get 403); every item is looked up in the admin's workspace
(404 otherwise). Writes go through `knowledge.actions`, which records them in the activity log."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db import IntegrityError
from django.db.models import CharField, Max, QuerySet, Value
from django.http import HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from helpdesk.accounts import access
from helpdesk.accounts.access import AuthenticatedHttpRequest
from helpdesk.accounts.models import Membership
from helpdesk.knowledge import actions
from helpdesk.knowledge.forms import DUPLICATE_QUESTION, ArticleForm, DocumentForm, DocumentUploadForm, FAQForm
from helpdesk.knowledge.models import FAQ, Article, Document, IndexStatus
from helpdesk.lib.bodylimit import accepts_upload
from helpdesk.lib.markdown import render_markdown
from helpdesk.workspace import activity
from helpdesk.workspace.models import Workspace

MODELS: dict[str, type[actions.Item]] = {"article": Article, "faq": FAQ, "document": Document}
TABS = [("", "All"), ("article", "Articles"), ("faq", "FAQ"), ("document", "Documents")]
PAGE_SIZE = 50
FORMS = {"article": ArticleForm, "faq": FAQForm, "document": DocumentForm}


# ---------------------------------------------------------------- the list


@dataclass(frozen=True)
class Filters:
    q: str = ""
    type: str = ""  # "", or a key of MODELS
    status: str = ""  # "", or an IndexStatus
    enabled: str = ""  # "", "yes" or "no"
    page: str = "1"

    @classmethod
    def from_query(cls, data: QueryDict) -> Filters:
        """Unknown values are ignored, as if the filter were not set."""

        def pick(name: str, allowed) -> str:
            value = data.get(name, "")
            return value if value in allowed else ""

        return cls(
            q=data.get("q", "").strip()[:200],
            type=pick("type", MODELS),
            status=pick("status", IndexStatus.values),
            enabled=pick("enabled", ("yes", "no")),
            page=data.get("page", "1")[:10] or "1",
        )

    def query(self, **changes) -> str:
        values = {k: v for k, v in vars(replace(self, **changes)).items() if v and not (k == "page" and v == "1")}
        return urlencode(values)


def _label_field(model: type[actions.Item]) -> str:
    return "question" if model is FAQ else "title"


def _matching(workspace: Workspace, filters: Filters) -> QuerySet:
    """(kind, id) of the matching items, newest change first; FAQ entries alone in their order."""
    parts = []
    for kind, model in MODELS.items():
        if filters.type and filters.type != kind:
            continue
        items = model.objects.filter(workspace=workspace)
        if filters.q:
            items = items.filter(**{f"{_label_field(model)}__icontains": filters.q})
        if filters.status:
            items = items.filter(status=filters.status)
        if filters.enabled:
            items = items.filter(**{model.enabled_field: filters.enabled == "yes"})
        parts.append(
            items.annotate(item_kind=Value(kind, output_field=CharField())).values_list("item_kind", "id", "updated_at")
        )
    if filters.type == "faq":
        return parts[0].order_by("order", "id")
    return parts[0].union(*parts[1:], all=True).order_by("-updated_at", "-id")


def _page(workspace: Workspace, filters: Filters) -> Page:
    page = Paginator(_matching(workspace, filters), PAGE_SIZE).get_page(filters.page)
    rows = list(page.object_list)
    ids = defaultdict(list)
    for kind, pk, _updated in rows:
        ids[kind].append(pk)
    loaded = {kind: MODELS[kind].objects.in_bulk(pks) for kind, pks in ids.items()}
    page.object_list = [loaded[kind][pk] for kind, pk, _updated in rows if pk in loaded[kind]]
    return page


def _list_context(membership: Membership, filters: Filters) -> dict:
    page = _page(membership.workspace, filters)
    filters = replace(filters, page=str(page.number))
    return {
        "membership": membership,
        "section": "knowledge",
        "filters": filters,
        "query": filters.query(),
        "page": page,
        "items": page.object_list,
        "previous_query": filters.query(page=str(page.previous_page_number())) if page.has_previous() else None,
        "next_query": filters.query(page=str(page.next_page_number())) if page.has_next() else None,
        "tabs": TABS,
        "statuses": IndexStatus.choices,
    }


@login_required
@require_GET
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access.admin(request)
    # The filters, tabs and pages swap the list only; restoring history needs the whole page.
    partial = request.htmx and not request.htmx.history_restore_request
    template = "knowledge/index.html" + ("#list" if partial else "")
    return render(request, template, _list_context(membership, Filters.from_query(request.GET)))


@login_required
@require_GET
def row(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    """One row, polled every 2 s while its item is processing."""
    membership = access.admin(request)
    item = _get(membership, kind, pk)
    filters = Filters.from_query(request.GET)
    context = {"item": item, "filters": filters, "query": filters.query()}
    return render(request, "knowledge/index.html#row", context)


def _after(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    """After a change made from the list: the list again (same filters), or the page for a
    request made elsewhere (an edit page)."""
    filters = Filters.from_query(request.GET)
    if request.htmx and request.htmx.target == "knowledge-list":
        return render(request, "knowledge/index.html#list", _list_context(membership, filters))
    url = reverse("knowledge_settings:index") + (f"?{filters.query()}" if filters.query() else "")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _get(membership: Membership, kind: str, pk: int) -> actions.Item:
    item = get_object_or_404(MODELS[kind], workspace=membership.workspace, pk=pk)
    assert isinstance(item, Article | FAQ | Document)  # mypy makes MODELS[kind] their common base
    return item


@login_required
@require_POST
def enable(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    membership = access.admin(request)
    item = actions.enable(_get(membership, kind, pk), actor=request.user)
    messages.success(request, f"“{item}” is enabled. It is being indexed again.")
    return _after(request, membership)


@login_required
@require_POST
def disable(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    membership = access.admin(request)
    item = actions.disable(_get(membership, kind, pk), actor=request.user)
    messages.success(request, f"“{item}” is disabled: the AI no longer uses it.")
    return _after(request, membership)


@login_required
@require_POST
def reindex(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    membership = access.admin(request)
    item = actions.reindex(_get(membership, kind, pk), actor=request.user)
    messages.success(request, f"“{item}” is being indexed again.")
    return _after(request, membership)


@login_required
@require_POST
def delete(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    membership = access.admin(request)
    item = _get(membership, kind, pk)
    actions.delete(item, actor=request.user)
    messages.success(request, f"“{item}” is deleted.")
    return _after(request, membership)


@login_required
@require_POST
def move(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    membership = access.admin(request)
    faq = get_object_or_404(FAQ, workspace=membership.workspace, pk=pk)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        return HttpResponseBadRequest("direction must be up or down")
    faq = actions.move_faq(faq, cast(Literal["up", "down"], direction), actor=request.user)
    messages.success(request, f"“{faq}” moved {direction}.")
    return _after(request, membership)


@login_required
@require_POST
def bulk(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Enable, disable or delete the selected items ("kind:id" values); ids that are not the
    workspace's are ignored."""
    membership = access.admin(request)
    operation = request.POST.get("action")
    if operation not in actions.BULK:
        return HttpResponseBadRequest("action must be enable, disable or delete")
    ids = defaultdict(set)
    for value in request.POST.getlist("selected"):
        kind, _, pk = value.partition(":")
        if kind in MODELS and pk.isdigit():
            ids[kind].add(int(pk))
    items = [
        item
        for kind, pks in ids.items()
        for item in MODELS[kind].objects.filter(workspace=membership.workspace, pk__in=pks)
    ]
    if items:
        operation = cast(Literal["enable", "disable", "delete"], operation)  # a key of actions.BULK: checked above
        count = actions.bulk(items, operation, actor=request.user)
        noun = "item" if count == 1 else "items"
        messages.success(request, f"{count} {noun} {operation}d.")
    else:
        messages.info(request, "Select some items first.")
    return _after(request, membership)


# ---------------------------------------------------------------- forms


def _form_context(request: AuthenticatedHttpRequest, membership: Membership, kind: str, form, item=None) -> dict:
    context = {
        "membership": membership,
        "section": "knowledge",
        "kind": kind,
        "form": form,
        "item": item,
        "action": request.path,  # each form posts back to its own page
    }
    if kind == "article":
        context["preview"] = _preview(form["body"].value() or "")
    return context


def _preview(body: str) -> SafeString:
    return mark_safe(render_markdown(body))


@login_required
@require_http_methods(["GET", "POST"])
def new(request: AuthenticatedHttpRequest, kind: str) -> HttpResponse:
    """A new article or FAQ entry; the list shows it while it is indexed."""
    membership = access.admin(request)
    workspace = membership.workspace
    template = f"knowledge/{kind}_form.html"
    blank = MODELS[kind](workspace=workspace)
    if request.method == "POST":
        form = FORMS[kind](request.POST, instance=blank)
        if form.is_valid():
            creators: dict[str, Callable[..., actions.Item]] = {
                "article": actions.create_article,
                "faq": actions.create_faq,
            }
            create = creators[kind]
            try:
                item = create(workspace, actor=request.user, **form.cleaned_data)
            except IntegrityError:  # the same question, saved meanwhile
                form.add_error("question", DUPLICATE_QUESTION)
            else:
                messages.success(request, f"“{item}” is saved. It is being indexed.")
                url = reverse("knowledge_settings:index") + f"?type={kind}"
                return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        template += "#form" if request.htmx else ""
        return render(request, template, _form_context(request, membership, kind, form), status=422)
    initial = {}
    if kind == "faq":
        last = FAQ.objects.filter(workspace=workspace).aggregate(last=Max("order"))["last"]
        initial["order"] = 0 if last is None else last + 1
    return render(
        request, template, _form_context(request, membership, kind, FORMS[kind](instance=blank, initial=initial))
    )


def _save(request: AuthenticatedHttpRequest, item: actions.Item, form) -> actions.Item | None:
    """Save what the form changed; None, with the form's errors, when it cannot be saved."""
    if not form.is_valid():
        return None
    if not form.has_changed():
        messages.success(request, "Nothing to save: no changes.")
        return item
    try:
        item = actions.update(item, actor=request.user, **activity.changes(form))
    except IntegrityError:  # the same question, saved meanwhile
        form.add_error("question", DUPLICATE_QUESTION)
        return None
    messages.success(
        request, "Saved. It is being indexed again." if item.status == IndexStatus.PROCESSING else "Saved."
    )
    return item


@accepts_upload  # a document's edit form may replace its file
@login_required
@require_http_methods(["GET", "POST"])
def edit(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    """A saved change answers htmx with the form again; without JavaScript, with a redirect to
    this page, so that reloading it does not post again (creating redirects to the list)."""
    membership = access.admin(request)
    item = _get(membership, kind, pk)
    template = f"knowledge/{kind}_form.html"
    if request.method == "POST":
        form = FORMS[kind](request.POST, request.FILES, instance=item)
        saved = _save(request, item, form)
        if saved is None:
            item.refresh_from_db()  # the form wrote its values onto the instance
            status = 422
        elif not request.htmx:
            return redirect(request.path)
        else:
            item, form, status = saved, FORMS[kind](instance=saved), 200
        template += "#form" if request.htmx else ""
        return render(request, template, _form_context(request, membership, kind, form, item), status=status)
    return render(request, template, _form_context(request, membership, kind, FORMS[kind](instance=item), item))


@login_required
@require_POST
def preview(request: AuthenticatedHttpRequest) -> HttpResponse:
    """An article's body as customers will see it: Markdown through the sanitizer."""
    access.admin(request)
    return render(request, "knowledge/article_form.html#preview", {"preview": _preview(request.POST.get("body", ""))})


@accepts_upload
@login_required
@require_http_methods(["GET", "POST"])
def upload(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = access.admin(request)
    template = "knowledge/document_form.html"
    if request.method == "POST":
        form = DocumentUploadForm(request.POST, request.FILES)
        if form.is_valid():
            document = actions.create_document(
                membership.workspace,
                title=form.cleaned_data["title"],
                file=form.cleaned_data["file"],
                actor=request.user,
            )
            messages.success(request, f"“{document}” is uploaded. It is being indexed.")
            url = reverse("knowledge_settings:index") + "?type=document"
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        template += "#form" if request.htmx else ""
        return render(request, template, _form_context(request, membership, "document", form), status=422)
    return render(request, template, _form_context(request, membership, "document", DocumentUploadForm()))
