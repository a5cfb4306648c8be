from helpdesk.workspace.models import Activity


def record(workspace, actor, action: str, **detail) -> Activity:
    return Activity.objects.create(workspace=workspace, actor=actor, action=action, detail=detail)
