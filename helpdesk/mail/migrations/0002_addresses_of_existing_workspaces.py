from django.db import migrations
from django.utils.text import slugify

RESERVED = {"postmaster", "abuse", "mailer-daemon", "noreply", "no-reply", "reply", "bounce", "bounces", "root"}


def give_addresses(apps, schema_editor):
    """Every workspace made before email gets its address (new ones get it when made)."""
    Workspace = apps.get_model("workspace", "Workspace")
    MailSettings = apps.get_model("mail", "MailSettings")
    used = set(MailSettings.objects.values_list("slug", flat=True))
    for workspace in Workspace.objects.filter(mail_settings__isnull=True).order_by("pk"):
        base = (slugify(workspace.name)[:34].strip("-") or "support").lower()
        if base in RESERVED:
            base = f"{base}-team"
        slug, n = base, 2
        while slug in used:
            slug, n = f"{base}-{n}", n + 1
        used.add(slug)
        MailSettings.objects.create(workspace=workspace, slug=slug)


class Migration(migrations.Migration):
    dependencies = [("mail", "0001_initial"), ("workspace", "0004_workspace_widget_ask_email_first")]

    operations = [migrations.RunPython(give_addresses, migrations.RunPython.noop)]
