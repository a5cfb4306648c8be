from django.contrib import admin
from django.db import models

from helpdesk.conversations.models import Attachment, Contact, Conversation, ConversationCount, Message, Visitor


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

    # Messages are written only through conversations.actions, which broadcasts them and keeps
    # the conversation's counters and the AI's rules in step, and are immutable once written:
    # the admin shows them and offers neither adding, changing nor deleting one (deleting a
    # conversation still takes its messages).
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Not from the messages' own pages; deleting a conversation (which asks this for each
        # of its messages) stays possible for whoever may delete conversations.
        match = getattr(request, "resolver_match", None)
        if match is None or (match.url_name or "").startswith("conversations_message_"):
            return False
        return super().has_delete_permission(request, obj)


@admin.register(ConversationCount)
class ConversationCountAdmin(Admin):
    """Kept by database triggers: read-only here (ConversationCount.recount rebuilds them)."""

    list_display = ["workspace", "status", "assignee", "priority", "n"]
    list_filter = ["status", "priority"]
    raw_id_fields = ["workspace", "assignee"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Attachment)
class AttachmentAdmin(Admin):
    """Records: never changed here (a file is served only through the conversation's links)."""

    list_display = ["name", "content_type", "size", "workspace", "conversation", "created_at"]
    list_filter = ["content_type"]
    search_fields = ["name"]
    raw_id_fields = ["workspace", "conversation", "message"]
    readonly_fields = ["file", "thumbnail", "name", "content_type", "size", "width", "height", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
