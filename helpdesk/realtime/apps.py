from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "helpdesk.realtime"
    label = "realtime"

    def ready(self) -> None:
        from helpdesk.realtime import sessions  # the models are loaded only now

        sessions.connect()
