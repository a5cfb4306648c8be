"""Operators' view of the AI: settings (the API key write-only), guidance, and the read-only record of runs and ratings."""

from django import forms
from django.contrib import admin
from django.db import models

from helpdesk.ai.models import AIRun, AISettings, Feedback, GuidanceRule


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record of what happened: viewable, never edited by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class AISettingsForm(forms.ModelForm):
    base_url = forms.URLField(label="Base URL", required=False, max_length=200, assume_scheme="https")
    new_api_key = forms.CharField(
        label="API key",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: leave empty to keep the current key.",
    )
    clear_api_key = forms.BooleanField(label="Clear the API key", required=False)

    class Meta:
        model = AISettings
        fields = [f.name for f in AISettings._meta.fields if f.editable and f.name != "id"]

    def save(self, commit=True):
        if self.cleaned_data.get("clear_api_key"):
            self.instance.api_key = ""
        elif self.cleaned_data.get("new_api_key"):
            self.instance.api_key = self.cleaned_data["new_api_key"]
        return super().save(commit=commit)


@admin.register(AISettings)
class AISettingsAdmin(admin.ModelAdmin):
    form = AISettingsForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["workspace", "enabled", "chat_model", "key_set", "updated_at"]
    list_filter = ["enabled"]
    search_fields = ["workspace__name", "business_name"]
    raw_id_fields = ["workspace"]

    @admin.display(boolean=True, description="API key set")
    def key_set(self, obj: AISettings) -> bool:
        return obj.api_key_is_set


@admin.register(GuidanceRule)
class GuidanceRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "workspace", "active", "created_at"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "content", "workspace__name"]
    raw_id_fields = ["workspace"]
    readonly_fields = ["created_at"]


@admin.register(AIRun)
class AIRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "conversation", "status", "reason", "attempts", "first_token_ms", "started_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["reason", "conversation__contact__name", "conversation__contact__email"]
    raw_id_fields = ["trigger", "conversation", "reply"]


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ["message", "rating", "created_at"]
    list_filter = ["rating"]
    raw_id_fields = ["message"]
