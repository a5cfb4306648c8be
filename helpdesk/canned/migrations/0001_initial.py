"""Canned responses moved here from the team app: their table (team_cannedresponse) stays as
it is; only Django's idea of where the model lives changes (state only)."""

import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def _content_type_to(app_label: str):
    """Move the model's content type (and so its permissions and admin log entries) along."""

    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        source = "team" if app_label == "canned" else "canned"
        if not ContentType.objects.filter(app_label=app_label, model="cannedresponse").exists():
            ContentType.objects.filter(app_label=source, model="cannedresponse").update(app_label=app_label)

    return move


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("workspace", "0002_workspace_moved_from_accounts"),
        ("team", "0002_workspace_moved_to_workspace_app"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="CannedResponse",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "shortcut",
                            models.CharField(
                                help_text="Type /shortcut in the reply box to insert the text.", max_length=40
                            ),
                        ),
                        ("text", models.TextField(max_length=5000)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "created_by",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "workspace",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="canned_responses",
                                to="workspace.workspace",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "team_cannedresponse",
                        "ordering": ["shortcut"],
                        "constraints": [
                            models.UniqueConstraint(
                                models.F("workspace"),
                                django.db.models.functions.text.Lower("shortcut"),
                                name="canned_unique_shortcut",
                                violation_error_message="There is already a canned response with this shortcut.",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_content_type_to("canned"), _content_type_to("team")),
    ]
