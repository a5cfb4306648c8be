"""The Workspace model moved to the workspace app; its table (accounts_workspace) and every
foreign key to it stay as they are in the database: only Django's idea of where the model
lives changes (state only), so nothing is rewritten or re-checked."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("team", "0001_initial"),
        ("workspace", "0002_workspace_moved_from_accounts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="cannedresponse",
                    name="workspace",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="canned_responses",
                        to="workspace.workspace",
                    ),
                ),
                migrations.AlterField(
                    model_name="invitation",
                    name="workspace",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="invitations",
                        to="workspace.workspace",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
