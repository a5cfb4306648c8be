"""`db_worker`: django-tasks-db's command, with the worker of helpdesk.ops.worker (woken by
NOTIFY, recovering orphaned tasks, one loop per queue). Same options, but `--queue-name`
defaults to every queue the backend lists (settings.TASKS), each served by a loop of its
own; `--queue-name default` (say) serves only that one, and '*' serves all in one loop."""

from django_tasks import task_backends
from django_tasks_db.management.commands import db_worker

from helpdesk.ops.worker import Worker


class Command(db_worker.Command):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(queue_name=None)

    def handle(self, *args, **options):
        if not options.get("queue_name"):
            backend = task_backends[options["backend_name"]]
            options["queue_name"] = ",".join(sorted(backend.queues)) or "*"
        # The base command instantiates the module's Worker: ours, a subclass, in its place.
        db_worker.Worker = Worker  # type: ignore[misc]  # a class in a module, replaced on purpose
        return super().handle(*args, **options)
