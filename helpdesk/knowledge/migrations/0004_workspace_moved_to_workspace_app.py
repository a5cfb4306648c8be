"""The Workspace model moved to the workspace app; its table (accounts_workspace) and every
foreign key to it stay as they are in the database: only Django's idea of where the model
lives changes (state only), so nothing is rewritten or re-checked."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0003_rewrite_help_links_in_sources"),
        ("workspace", "0002_workspace_moved_from_accounts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="article",
                    name="workspace",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="%(class)ss", to="workspace.workspace"
                    ),
                ),
                migrations.AlterField(
                    model_name="chunk",
                    name="workspace",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="workspace.workspace"
                    ),
                ),
                migrations.AlterField(
                    model_name="document",
                    name="workspace",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="%(class)ss", to="workspace.workspace"
                    ),
                ),
                migrations.AlterField(
                    model_name="faq",
                    name="workspace",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="%(class)ss", to="workspace.workspace"
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
