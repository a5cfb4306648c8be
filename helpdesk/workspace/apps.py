from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "helpdesk.workspace"
    label = "workspace"
