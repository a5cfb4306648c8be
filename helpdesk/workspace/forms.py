from django import forms

from helpdesk.accounts.models import Workspace

WIDGET_FIELDS = [
    "widget_enabled", "widget_title", "widget_subtitle", "widget_greeting", "widget_placeholder",
    "widget_primary_color", "widget_position", "widget_show_availability", "widget_branding_hidden",
    "widget_company_name", "allowed_domains", "away_message",
]


class WidgetForm(forms.ModelForm):
    class Meta:
        model = Workspace
        fields = WIDGET_FIELDS
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
            "widget_company_name": "Company name",
            "allowed_domains": "Allowed domains",
            "away_message": "Away message",
        }
        widgets = {
            "widget_primary_color": forms.TextInput(attrs={"type": "color"}),
            "widget_greeting": forms.Textarea(attrs={"rows": 2}),
            "allowed_domains": forms.Textarea(attrs={"rows": 3, "placeholder": "https://www.example.com\n*.example.com"}),
            "away_message": forms.Textarea(attrs={"rows": 2}),
        }

    def clean_widget_primary_color(self) -> str:
        return self.cleaned_data["widget_primary_color"].lower()
