"""Links to /help/<article id>/ in the sources of AI messages already saved become links to
/help/<public id>/, so that past conversations keep working links now that the numeric
address is gone. (Backwards: the other way round.)"""

import re

from django.db import migrations

BATCH = 1000
OLD = re.compile(r"^/help/(\d+)/$")
NEW = re.compile(r"^/help/([-\w]+)/$")


def _rewrite(apps, pattern, lookup, url_of):
    Message = apps.get_model("conversations", "Message")
    Article = apps.get_model("knowledge", "Article")
    messages = Message.objects.filter(sources__contains=[{"kind": "article"}]).only("pk", "sources").order_by("pk")
    last = 0
    while batch := list(messages.filter(pk__gt=last)[:BATCH]):
        last = batch[-1].pk
        keys = {
            match.group(1)
            for message in batch
            for source in message.sources
            if isinstance(source, dict) and (match := pattern.match(str(source.get("url") or "")))
        }
        if not keys:
            continue
        articles = dict(lookup(Article, keys))
        changed = []
        for message in batch:
            touched = False
            for source in message.sources:
                if not isinstance(source, dict):
                    continue
                match = pattern.match(str(source.get("url") or ""))
                if match and match.group(1) in articles:
                    source["url"] = url_of(articles[match.group(1)])
                    touched = True
            if touched:
                changed.append(message)
        Message.objects.bulk_update(changed, ["sources"])


def forwards(apps, schema_editor):
    def lookup(Article, keys):
        rows = Article.objects.filter(pk__in=[int(k) for k in keys]).values_list("pk", "public_id")
        return ((str(pk), public_id) for pk, public_id in rows)

    _rewrite(apps, OLD, lookup, lambda public_id: f"/help/{public_id}/")


def backwards(apps, schema_editor):
    def lookup(Article, keys):
        rows = Article.objects.filter(public_id__in=keys).values_list("public_id", "pk")
        return ((public_id, pk) for public_id, pk in rows)

    _rewrite(apps, NEW, lookup, lambda pk: f"/help/{pk}/")


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0002_article_public_id"),
        ("conversations", "0002_message_conversation_index_covered_by_thread"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
