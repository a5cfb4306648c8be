from django.apps import AppConfig


class CannedConfig(AppConfig):
    name = "helpdesk.canned"
    label = "canned"
