from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "helpdesk.mail"
    label = "mail"
    verbose_name = "Email"

    def ready(self) -> None:
        # Here, not at the top: the triggers import the models, which load only now.
        from helpdesk.mail import triggers

        triggers.register()
