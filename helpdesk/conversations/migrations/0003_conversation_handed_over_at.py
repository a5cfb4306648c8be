from django.db import migrations, models
from django.db.models import F


def mark_past_handovers(apps, schema_editor):
    """Conversations handed over before this field existed (and not handed back) are marked,
    so that resolving them later is not counted as an AI resolution."""
    Conversation = apps.get_model("conversations", "Conversation")
    Conversation.objects.exclude(escalation_reason="").update(handed_over_at=F("last_message_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0002_message_conversation_index_covered_by_thread"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="handed_over_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(mark_past_handovers, migrations.RunPython.noop),
    ]
