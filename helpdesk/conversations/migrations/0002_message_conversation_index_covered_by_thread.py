import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Message.conversation loses its single-column index (msg_thread, on conversation and id,
    serves every lookup by conversation). Only the index is dropped: Django's own operation
    would also drop and re-create the foreign key, checking every message again."""

    dependencies = [
        ("conversations", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="message",
                    name="conversation",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="conversations.conversation",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "conversations_message_conversation_id_f1a2d5e9"',
                    reverse_sql='CREATE INDEX IF NOT EXISTS "conversations_message_conversation_id_f1a2d5e9" '
                    'ON "conversations_message" ("conversation_id")',
                ),
            ],
        ),
    ]
