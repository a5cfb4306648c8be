from django.core.management.base import BaseCommand

from helpdesk.ops import demo


class Command(BaseCommand):
    help = "Create the demo workspace and its owner in a new database (once; never touches them again)."

    def handle(self, *args, **options):
        workspace = demo.seed()
        self.stdout.write(f"Workspace: {workspace.name} (widget token {workspace.public_token})")
        self.stdout.write(f"Login:     {demo.login()}")
