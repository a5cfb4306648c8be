"""The knowledge settings forms. They validate; `knowledge.actions` writes."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.db import models
from django.db.models import Value
from django.db.models.functions import Lower
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.text import capfirst

from helpdesk.knowledge import actions
from helpdesk.knowledge.models import CHANNELS, DOCUMENT_TYPES, FAQ, Article, Document

CHANNEL_LABELS = {"widget": "Chat widget"}
DUPLICATE_QUESTION = "There is already an FAQ entry with this question."


def _accepted_types() -> str:
    return ", ".join(sorted(DOCUMENT_TYPES))


def _check_upload(file):
    try:
        actions.check_document(file)
    except ValueError as exc:
        raise forms.ValidationError(capfirst(str(exc)) + ".") from None
    return file


def _formfield(field, **kwargs):
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"  # "acme.test/returns" means https://acme.test/returns
    return field.formfield(**kwargs)


class ArticleForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(
        label="Used in",
        choices=[(c, CHANNEL_LABELS.get(c, c)) for c in CHANNELS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None checked: all channels.",
    )

    class Meta:
        model = Article
        fields = ["title", "url", "channels", "enabled", "body"]
        formfield_callback = _formfield
        labels = {
            "url": "Public URL",
            "enabled": "Enabled: the AI may answer from this article",
            "body": "Body (Markdown)",
        }
        help_texts = {
            "url": "Where customers can read the article. The AI links to it when it cites the article.",
            "body": "",
        }
        widgets = {"body": forms.Textarea(attrs={"rows": 18})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The preview follows the body as it is typed (the form's values are posted with it).
        self.fields["body"].widget.attrs.update(
            {
                "hx-post": reverse("knowledge_settings:article_preview"),
                "hx-trigger": "input changed delay:500ms",
                "hx-target": "#article-preview",
                "hx-swap": "innerHTML",
            }
        )


class FAQForm(forms.ModelForm):
    """Build it with `instance=FAQ(workspace=...)` for a new entry: questions are unique per workspace."""

    class Meta:
        model = FAQ
        fields = ["question", "answer", "order", "active"]
        labels = {"active": "Active: the AI may answer with this entry"}
        help_texts = {"order": "Entries are listed by this number, smallest first."}
        widgets = {"answer": forms.Textarea(attrs={"rows": 6})}

    def clean_question(self) -> str:
        question = self.cleaned_data["question"].strip()
        # The same test as the constraint knowledge_faq_unique_question: lower(question) per workspace.
        taken = (
            FAQ.objects.filter(workspace_id=self.instance.workspace_id)
            .exclude(pk=self.instance.pk)
            .annotate(lowered=Lower("question"))
            .filter(lowered=Lower(Value(question)))
        )
        if taken.exists():
            raise forms.ValidationError(DUPLICATE_QUESTION)
        return question


class DocumentUploadForm(forms.Form):
    file = forms.FileField(label="File", max_length=255)
    title = forms.CharField(label="Title", max_length=500, required=False, help_text="Defaults to the file's name.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = filesizeformat(settings.KNOWLEDGE_DOCUMENT_MAX_BYTES)
        self.fields["file"].help_text = f"{_accepted_types()}; up to {limit}."
        self.fields["file"].widget.attrs["accept"] = ",".join(sorted(DOCUMENT_TYPES))

    def clean_file(self):
        return _check_upload(self.cleaned_data["file"])

    def clean(self) -> dict:
        cleaned = super().clean()
        assert cleaned is not None  # Django's Form.clean returns cleaned_data
        if cleaned.get("file") and not cleaned.get("title"):
            cleaned["title"] = Path(cleaned["file"].name).stem[:500]
        return cleaned


class DocumentForm(forms.ModelForm):
    file = forms.FileField(label="Replace the file", max_length=255, required=False)

    class Meta:
        model = Document
        fields = ["title", "enabled"]
        labels = {"enabled": "Enabled: the AI may answer from this document"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = filesizeformat(settings.KNOWLEDGE_DOCUMENT_MAX_BYTES)
        self.fields["file"].help_text = f"Optional. {_accepted_types()}; up to {limit}."
        self.fields["file"].widget.attrs["accept"] = ",".join(sorted(DOCUMENT_TYPES))

    def clean_file(self):
        file = self.cleaned_data.get("file")
        return _check_upload(file) if file else None
