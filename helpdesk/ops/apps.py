from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "helpdesk.ops"
    label = "ops"

    def ready(self) -> None:
        from helpdesk.lib.dbpool import steady_reconnects
        from helpdesk.ops import worker  # noqa: F401  (connects the NOTIFY-on-enqueue receiver)

        steady_reconnects()
