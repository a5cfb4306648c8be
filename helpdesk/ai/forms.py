from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from helpdesk.ai.models import AISettings, GuidanceRule, is_server_endpoint
from helpdesk.knowledge.models import CHANNELS
from helpdesk.lib import outbound

web_address = URLValidator(schemes=["http", "https"])


class AISettingsForm(forms.ModelForm):
    """The workspace's AI settings. The API key is write-only: never filled back, blank keeps it."""

    base_url = forms.URLField(
        label="Provider base URL",
        required=False,
        max_length=200,
        assume_scheme="https",
        validators=[web_address],
        widget=forms.URLInput(attrs={"placeholder": "https://api.openai.com/v1"}),
        help_text=(
            "An OpenAI-compatible API (OpenAI, Azure, Ollama, vLLM\u2026). Blank: the server's default. "
            "An address on a private network works only if the server's operator allows it."
        ),
    )
    api_key = forms.CharField(
        label="API key",
        required=False,
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    clear_api_key = forms.BooleanField(label="Clear the saved API key", required=False)

    temperature = forms.FloatField(
        min_value=0, max_value=2, help_text="0 to 2. Lower is more factual, higher more varied."
    )
    max_tokens = forms.IntegerField(
        label="Max tokens", min_value=1, max_value=4000, help_text="The longest answer, 1 to 4000 tokens."
    )
    timeout = forms.FloatField(
        label="Timeout (seconds)", min_value=1, max_value=120, help_text="1 to 120 seconds per request."
    )
    retries = forms.IntegerField(min_value=0, max_value=5, help_text="0 to 5 more attempts when a request fails.")
    history_length = forms.IntegerField(
        label="History length",
        min_value=1,
        max_value=50,
        help_text="How many earlier messages of the conversation the AI reads, 1 to 50.",
    )
    business_description = forms.CharField(
        label="Description",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What your business does, in a few sentences. The AI reads it for every answer it writes.",
    )
    instructions = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Extra instructions the AI follows in every answer it writes.",
    )
    links = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://www.example.com/pricing"}),
        help_text="Useful links the AI may point to, one web address a line.",
    )

    field_order = [
        "enabled",
        "base_url",
        "api_key",
        "clear_api_key",
        "chat_model",
        "embedding_model",
        "temperature",
        "max_tokens",
        "timeout",
        "retries",
        "history_length",
        "fallback_message",
        "business_name",
        "business_description",
        "instructions",
        "links",
    ]

    class Meta:
        model = AISettings
        fields = [
            "enabled",
            "base_url",
            "chat_model",
            "embedding_model",
            "temperature",
            "max_tokens",
            "timeout",
            "retries",
            "history_length",
            "fallback_message",
            "business_name",
            "business_description",
            "instructions",
            "links",
        ]
        labels = {
            "enabled": "AI answers on",
            "chat_model": "Chat model",
            "embedding_model": "Embedding model",
            "fallback_message": "Fallback message",
            "business_name": "Business name",
        }
        help_texts = {
            "chat_model": "Blank: no model; the AI quotes the knowledge base when it is confident and otherwise hands over.",
            "embedding_model": "Used when the server embeds with an API (EMBEDDING_PROVIDER=openai). Blank: the server's default. Changing it re-embeds the knowledge base.",
            "fallback_message": "Sent to the visitor when the provider fails, as the conversation is handed to a person.",
            "business_name": "Blank: the widget's company name.",
        }
        widgets = {
            "fallback_message": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["chat_model"].required = False
        if self.instance.api_key_unreadable:
            key_help = "Cannot be read (the server's secret key changed?): set it again."
        elif self.instance.api_key_is_set:
            key_help = "Set. Leave blank to keep it."
        else:
            key_help = (
                "Not set. With the server's provider (base URL blank), the server's key is used, if it has one; "
                "with a base URL of your own, no key is sent."
            )
        self.fields["api_key"].help_text = key_help

    def clean_base_url(self) -> str:
        """A base URL of the workspace's own may only point at a public address (unless the
        operator allowed the host). This is for a clear message; every connection is checked
        again when it is made (helpdesk/lib/outbound.py)."""
        url = self.cleaned_data["base_url"]
        if is_server_endpoint(url):
            return url
        try:
            outbound.check_url(url)
        except outbound.Refused as exc:
            raise ValidationError(str(exc)) from None
        except (outbound.Unresolvable, ValueError):
            pass  # not resolvable now: Test connection says so, and the connection is checked anyway
        return url

    def clean_links(self) -> str:
        lines = [line.strip() for line in self.cleaned_data["links"].splitlines()]
        for number, line in enumerate(lines, 1):
            if not line:
                continue
            try:
                web_address(line)
            except ValidationError:
                raise ValidationError(
                    f"Line {number} is not a web address (http:// or https://): {line[:100]!r}"
                ) from None
        return "\n".join(line for line in lines if line)

    def clean(self) -> dict:
        cleaned = super().clean()
        assert cleaned is not None  # Django's Form.clean returns cleaned_data
        if cleaned.get("api_key") and cleaned.get("clear_api_key"):
            self.add_error("clear_api_key", "Enter a new key or clear the saved one, not both.")
        return cleaned

    @property
    def key_change(self) -> str:
        """What happens to the saved key: "changed", "cleared" or "" (kept). Never the key itself."""
        if self.cleaned_data.get("api_key"):
            return "changed"
        if self.cleaned_data.get("clear_api_key") and self.instance.api_key_is_set:
            return "cleared"
        return ""

    def apply_key(self, ai: AISettings) -> None:
        if self.cleaned_data.get("api_key"):
            ai.api_key = self.cleaned_data["api_key"]
        elif self.cleaned_data.get("clear_api_key"):
            ai.api_key = ""


class GuidanceRuleForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(
        choices=[(c, c.title()) for c in CHANNELS],
        widget=forms.CheckboxSelectMultiple,
        initial=["widget"],
        error_messages={"required": "Choose at least one channel."},
        help_text="Where the rule applies. The AI answers in the chat widget only, for now.",
    )
    content = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Plain language. For escalation rules, a line \u201ckeywords: refund, lawyer\u201d hands over "
        "whenever a message contains one of those words.",
    )

    class Meta:
        model = GuidanceRule
        fields = ["kind", "name", "content", "channels", "active"]
        labels = {"active": "Active"}

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)  # a model field with choices
        kind.choices = GuidanceRule.Kind.choices  # no empty choice
        self.fields["kind"].initial = self.initial.get("kind", GuidanceRule.Kind.TONE)

    def clean_channels(self) -> list[str]:
        return [c for c in CHANNELS if c in self.cleaned_data["channels"]]

    def clean(self) -> dict:
        cleaned = super().clean()
        assert cleaned is not None  # Django's Form.clean returns cleaned_data
        name, kind = cleaned.get("name"), cleaned.get("kind")
        if name and kind:
            taken = GuidanceRule.objects.filter(workspace=self.workspace, kind=kind, name__iexact=name)
            if self.instance.pk:
                taken = taken.exclude(pk=self.instance.pk)
            if taken.exists():
                label = GuidanceRule.Kind(kind).label.lower()
                self.add_error("name", f"There is already a {label} rule named \u201c{name}\u201d.")
        return cleaned
