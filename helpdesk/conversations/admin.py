from django.contrib import admin
from django.db import models

from helpdesk.conversations.models import Contact, Conversation, Message, Visitor


class Admin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Contact)
class ContactAdmin(Admin):
    list_display = ["__str__", "email", "workspace", "verified", "created_at"]
    list_filter = ["verified"]
    search_fields = ["name", "email", "external_id"]
    raw_id_fields = ["workspace"]


@admin.register(Visitor)
class VisitorAdmin(Admin):
    list_display = ["pk", "contact", "workspace", "created_at"]
    search_fields = ["contact__name", "contact__email"]
    readonly_fields = ["token_hash", "created_at"]
    raw_id_fields = ["workspace", "contact"]


@admin.register(Conversation)
class ConversationAdmin(Admin):
    list_display = ["pk", "contact", "workspace", "status", "priority", "assignee", "last_message_at"]
    list_filter = ["status", "priority", "channel", "ai_resolved"]
    search_fields = ["contact__name", "contact__email"]
    raw_id_fields = ["workspace", "contact", "assignee"]
    readonly_fields = ["created_at"]


@admin.register(Message)
class MessageAdmin(Admin):
    list_display = ["pk", "conversation", "author_kind", "private", "created_at"]
    list_filter = ["author_kind", "private"]
    search_fields = ["body"]
    raw_id_fields = ["workspace", "conversation", "author"]

    def get_readonly_fields(self, request, obj=None):
        # Messages are immutable once written.
        if obj is not None:
            return [f.name for f in self.model._meta.fields]
        return []
