"""Articles get a random public id, their address on the help pages (/help/<public_id>/).

The column is added empty, every existing article gets its own random value, and only then
does it become required and unique (a default in AddField would give every row the same one).
"""

import secrets

from django.db import migrations, models

import helpdesk.knowledge.models


def fill_public_ids(apps, schema_editor):
    Article = apps.get_model("knowledge", "Article")
    taken: set[str] = set()
    batch = []
    for article in Article.objects.filter(public_id__isnull=True).only("pk").iterator(chunk_size=2000):
        value = secrets.token_urlsafe(16)
        while value in taken:
            value = secrets.token_urlsafe(16)
        taken.add(value)
        article.public_id = value
        batch.append(article)
        if len(batch) >= 2000:
            Article.objects.bulk_update(batch, ["public_id"])
            batch = []
    if batch:
        Article.objects.bulk_update(batch, ["public_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="article",
            name="public_id",
            field=models.CharField(editable=False, max_length=32, null=True),
        ),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="article",
            name="public_id",
            field=models.CharField(
                default=helpdesk.knowledge.models.new_public_id, editable=False, max_length=32, unique=True
            ),
        ),
    ]
