"""The Workspace model moved to the workspace app; its table (accounts_workspace) and every
foreign key to it stay as they are in the database: only Django's idea of where the model
lives changes (state only), so nothing is rewritten or re-checked."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ai", "0002_guidance_rule_unique_name"),
        ("workspace", "0002_workspace_moved_from_accounts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="aisettings",
                    name="workspace",
                    field=models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="ai_settings",
                        to="workspace.workspace",
                    ),
                ),
                migrations.AlterField(
                    model_name="guidancerule",
                    name="workspace",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="guidance_rules",
                        to="workspace.workspace",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
