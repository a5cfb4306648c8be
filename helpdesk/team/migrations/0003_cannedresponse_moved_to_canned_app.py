"""Canned responses moved to the canned app (state only: the table stays)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("team", "0002_workspace_moved_to_workspace_app"),
        ("canned", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="CannedResponse")],
            database_operations=[],
        ),
    ]
