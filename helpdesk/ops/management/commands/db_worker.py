"""`db_worker`: django-tasks-db's command, with the worker of helpdesk.ops.worker
(woken by NOTIFY, recovering orphaned tasks). Same options."""

from django_tasks_db.management.commands import db_worker

from helpdesk.ops.worker import Worker


class Command(db_worker.Command):
    def handle(self, *args, **options):
        db_worker.Worker = Worker  # the base command instantiates the module's Worker
        return super().handle(*args, **options)
