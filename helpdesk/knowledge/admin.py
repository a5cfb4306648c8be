"""Operators' view of the knowledge base. Saves made here are indexed like the app's own
(through `knowledge.actions`); chunks are read-only."""

from django.contrib import admin
from django.db import models

from helpdesk.knowledge import actions
from helpdesk.knowledge.models import DOCUMENT_TYPES, FAQ, Article, Chunk, Document

INDEXING_FIELDS = ["status", "status_detail", "created_at", "updated_at"]


class IndexedAdmin(admin.ModelAdmin):
    raw_id_fields = ["workspace"]
    list_filter = ["status"]
    reindex_on: tuple[str, ...] = ()  # fields whose change means indexing again

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change or set(form.changed_data) & set(self.reindex_on):
            actions.reindex(obj)

    def delete_model(self, request, obj):
        actions.delete(obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            actions.delete(obj)


@admin.register(Article)
class ArticleAdmin(IndexedAdmin):
    list_display = ["title", "workspace", "enabled", "status", "progress", "updated_at"]
    list_filter = ["enabled", "status"]
    search_fields = ["title", "body"]
    readonly_fields = [*INDEXING_FIELDS, "progress", "public_id"]
    reindex_on = ("title", "body", "enabled")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(FAQ)
class FAQAdmin(IndexedAdmin):
    list_display = ["question", "workspace", "active", "order", "status", "updated_at"]
    list_filter = ["active", "status"]
    search_fields = ["question", "answer"]
    readonly_fields = INDEXING_FIELDS
    reindex_on = ("question", "answer", "active")


@admin.register(Document)
class DocumentAdmin(IndexedAdmin):
    list_display = ["title", "workspace", "content_type", "enabled", "status", "progress", "updated_at"]
    list_filter = ["enabled", "status"]
    search_fields = ["title"]
    readonly_fields = [*INDEXING_FIELDS, "progress", "content_type"]
    reindex_on = ("title", "file", "enabled")

    def save_model(self, request, obj, form, change):
        obj.content_type = DOCUMENT_TYPES.get(obj.extension, "")
        super().save_model(request, obj, form, change)


@admin.register(Chunk)
class ChunkAdmin(admin.ModelAdmin):
    list_display = ["pk", "kind", "heading", "position", "workspace"]
    list_filter = ["kind"]
    search_fields = ["heading", "text"]
    fields = ("workspace", "kind", "article", "faq", "document", "position", "heading", "text")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
