"""The Workspace model moved to the workspace app; its table (accounts_workspace) and every
foreign key to it stay as they are in the database: only Django's idea of where the model
lives changes (state only), so nothing is rewritten or re-checked."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import helpdesk.workspace.models


def _content_type_to(app_label: str):
    """Move the model's content type (and so its permissions and admin log entries) along."""

    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        source = "accounts" if app_label == "workspace" else "workspace"
        if not ContentType.objects.filter(app_label=app_label, model="workspace").exists():
            ContentType.objects.filter(app_label=source, model="workspace").update(app_label=app_label)

    return move


class Migration(migrations.Migration):
    dependencies = [
        ("workspace", "0001_initial"),
        ("accounts", "0002_business_hours"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Workspace",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=120)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "public_token",
                            models.CharField(
                                default=helpdesk.workspace.models.new_public_token,
                                editable=False,
                                max_length=64,
                                unique=True,
                            ),
                        ),
                        (
                            "identity_secret",
                            models.CharField(
                                default=helpdesk.workspace.models.new_identity_secret, editable=False, max_length=64
                            ),
                        ),
                        ("widget_enabled", models.BooleanField(default=True)),
                        ("widget_title", models.CharField(default="Hi there 👋", max_length=80)),
                        (
                            "widget_subtitle",
                            models.CharField(
                                default="Ask us anything. We usually reply in a few minutes.", max_length=160
                            ),
                        ),
                        (
                            "widget_greeting",
                            models.CharField(default="Hello! How can we help you today?", max_length=500),
                        ),
                        ("widget_placeholder", models.CharField(default="Write a message…", max_length=80)),
                        (
                            "widget_primary_color",
                            models.CharField(
                                default="#1f6feb",
                                max_length=7,
                                validators=[
                                    django.core.validators.RegexValidator(
                                        "^#[0-9a-fA-F]{6}$", "Enter a colour like #1f6feb."
                                    )
                                ],
                            ),
                        ),
                        (
                            "widget_position",
                            models.CharField(
                                choices=[("right", "Bottom right"), ("left", "Bottom left")],
                                default="right",
                                max_length=5,
                            ),
                        ),
                        ("widget_show_availability", models.BooleanField(default=True)),
                        ("widget_branding_hidden", models.BooleanField(default=False)),
                        ("widget_company_name", models.CharField(blank=True, max_length=80)),
                        (
                            "away_message",
                            models.CharField(
                                blank=True,
                                default="Thanks for your message! We're away right now, but we'll reply here as soon as we're back.",
                                help_text="Shown in the widget outside business hours, and sent automatically when a conversation starts while no agent is online or outside business hours. Empty: no auto-reply.",
                                max_length=500,
                            ),
                        ),
                        (
                            "timezone",
                            models.CharField(
                                default="UTC", help_text="Business hours are in this timezone.", max_length=64
                            ),
                        ),
                        (
                            "business_hours_enabled",
                            models.BooleanField(
                                default=False,
                                help_text="Outside business hours the widget shows the away message and new chats get it as a reply.",
                            ),
                        ),
                        (
                            "business_hours",
                            models.JSONField(
                                blank=True,
                                default=dict,
                                help_text='{"mon": ["09:00", "17:00"], ...}; a missing day is closed.',
                            ),
                        ),
                        (
                            "allowed_domains",
                            models.TextField(
                                blank=True,
                                help_text="One origin or host a line (https://example.com, *.example.com). Empty: any site may embed the widget.",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_workspace",
                        "ordering": ["id"],
                    },
                ),
                migrations.AlterField(
                    model_name="activity",
                    name="workspace",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="activity", to="workspace.workspace"
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_content_type_to("workspace"), _content_type_to("accounts")),
    ]
