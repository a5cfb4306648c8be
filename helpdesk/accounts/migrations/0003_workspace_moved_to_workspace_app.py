"""The Workspace model moved to the workspace app; its table (accounts_workspace) and every
foreign key to it stay as they are in the database: only Django's idea of where the model
lives changes (state only), so nothing is rewritten or re-checked."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_business_hours"),
        ("ai", "0003_workspace_moved_to_workspace_app"),
        ("conversations", "0004_workspace_moved_to_workspace_app"),
        ("knowledge", "0004_workspace_moved_to_workspace_app"),
        ("team", "0002_workspace_moved_to_workspace_app"),
        ("workspace", "0002_workspace_moved_from_accounts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="membership",
                    name="workspace",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memberships",
                        to="workspace.workspace",
                    ),
                ),
                migrations.DeleteModel(
                    name="Workspace",
                ),
            ],
            database_operations=[],
        ),
    ]
