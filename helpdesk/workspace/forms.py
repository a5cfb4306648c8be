from __future__ import annotations

from django import forms

from helpdesk.workspace import hours
from helpdesk.workspace.models import Workspace

WIDGET_FIELDS = [
    "widget_enabled",
    "widget_title",
    "widget_subtitle",
    "widget_greeting",
    "widget_placeholder",
    "widget_primary_color",
    "widget_position",
    "widget_show_availability",
    "widget_branding_hidden",
    "widget_ask_email_first",
    "widget_company_name",
    "allowed_domains",
]
HOURS_FIELDS = ["business_hours_enabled", "timezone", "away_message"]


class WidgetForm(forms.ModelForm):
    """The widget's look and behaviour, plus business hours: one opening span per weekday."""

    timezone = forms.ChoiceField(label="Timezone", choices=())

    class Meta:
        model = Workspace
        fields = WIDGET_FIELDS + HOURS_FIELDS
        labels = {
            "widget_enabled": "Widget enabled",
            "widget_title": "Title",
            "widget_subtitle": "Subtitle",
            "widget_greeting": "Greeting",
            "widget_placeholder": "Message placeholder",
            "widget_primary_color": "Primary colour",
            "widget_position": "Position",
            "widget_show_availability": "Show whether the team is online",
            "widget_branding_hidden": "Hide \u201cPowered by Helpdesk\u201d",
            "widget_ask_email_first": "Ask for an email address before the first message",
            "widget_company_name": "Company name",
            "allowed_domains": "Allowed domains",
            "business_hours_enabled": "Use business hours",
            "away_message": "Away message",
        }
        help_texts = {
            "widget_ask_email_first": (
                "Visitors can skip it. Without this, the chat asks only while nobody is online or after a "
                "handover, so that the reply can reach them once they have left."
            ),
        }
        widgets = {
            "widget_primary_color": forms.TextInput(attrs={"type": "color"}),
            "widget_greeting": forms.Textarea(attrs={"rows": 2}),
            "allowed_domains": forms.Textarea(
                attrs={"rows": 3, "placeholder": "https://www.example.com\n*.example.com"}
            ),
            "away_message": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        timezone = self.fields["timezone"]
        assert isinstance(timezone, forms.ChoiceField)  # declared above
        timezone.choices = [(name, name) for name in hours.timezone_names()]
        self.fields["timezone"].help_text = "Business hours below are in this timezone."
        current = self.instance.business_hours or {}
        self.initial_hours = dict(current)
        self.initial["business_hours"] = self.initial_hours  # the value before, for the activity log
        for key, label in hours.DAYS:
            span = current.get(key) or []
            self.fields[f"{key}_open"] = forms.BooleanField(label=label, required=False, initial=bool(span))
            for i, part in enumerate(("start", "end")):
                self.fields[f"{key}_{part}"] = forms.TimeField(
                    label=f"{label} {'opens' if part == 'start' else 'closes'}",
                    required=False,
                    initial=span[i] if span else ("09:00" if part == "start" else "17:00"),
                    widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                )

    def widget_fields(self) -> list:
        return [self[name] for name in WIDGET_FIELDS]

    def hours_rows(self) -> list[tuple]:
        return [(label, self[f"{key}_open"], self[f"{key}_start"], self[f"{key}_end"]) for key, label in hours.DAYS]

    def hours_fields(self) -> list:
        return [self[name] for name in HOURS_FIELDS]

    def clean_widget_primary_color(self) -> str:
        return self.cleaned_data["widget_primary_color"].lower()

    def clean(self) -> dict:
        data = super().clean()
        assert data is not None  # Django's Form.clean returns cleaned_data
        spans: dict[str, list[str]] = {}
        for key, label in hours.DAYS:
            if not data.get(f"{key}_open"):
                continue
            start, end = data.get(f"{key}_start"), data.get(f"{key}_end")
            if start is None or end is None:
                if f"{key}_start" not in self.errors and f"{key}_end" not in self.errors:
                    self.add_error(f"{key}_start", f"Give {label}'s opening and closing times.")
                continue
            if start >= end:
                self.add_error(f"{key}_end", f"{label} must close after it opens.")
                continue
            spans[key] = [start.strftime("%H:%M"), end.strftime("%H:%M")]
        if data.get("business_hours_enabled") and not spans and not self.errors:
            self.add_error("business_hours_enabled", "Open at least one day, or turn business hours off.")
        data["business_hours"] = spans
        return data

    def save(self, commit: bool = True) -> Workspace:
        self.instance.business_hours = self.cleaned_data["business_hours"]
        return super().save(commit=commit)

    @property
    def changed_data(self) -> list[str]:
        changed = [name for name in super().changed_data if not name.endswith(("_open", "_start", "_end"))]
        if (
            "business_hours" in getattr(self, "cleaned_data", {})
            and self.cleaned_data["business_hours"] != self.initial_hours
        ):
            changed.append("business_hours")
        return changed
