"""An inbox socket lives only as long as the sign-in it was opened with.

- Signing out closes the sockets of that browser's session (`user_logged_out`).
- A change of the stored password hash closes all of the user's sockets, whatever made it: the
  password change and reset pages, the admin, `manage.py changepassword`, a shell. Sessions are
  bound to that hash (Django's session auth hash), so this is exactly when other browsers'
  sessions stop being valid; the sockets reconnect and only a session that still holds (the
  browser that changed it) is let in. It is found by comparing the hash before and after a save
  rather than by overriding `set_password`, which would also fire for a password that is set
  but never saved, and miss a hash assigned directly.
- A user made inactive is signed out everywhere.
Role changes and deactivation of a membership close the sockets in helpdesk/team/actions.py.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save, pre_save

from helpdesk.realtime import broadcast, codes, groups


def close_this_browsers_sockets(sender, request, user, **kwargs) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        broadcast.close_group(groups.session(session_key), code=codes.SIGNED_OUT)


def _remember_credentials(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw or instance.pk is None:
        return  # fixtures; a new user has no sockets
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return  # e.g. last_login, saved at every sign-in
    instance._credentials_before = sender.objects.filter(pk=instance.pk).values_list("password", "is_active").first()


def _close_on_credential_change(sender, instance, raw=False, **kwargs) -> None:
    before = instance.__dict__.pop("_credentials_before", None)
    if before is None:
        return
    password, was_active = before
    if was_active and not instance.is_active:
        broadcast.close_group(groups.agent(instance.pk), code=codes.SIGNED_OUT)
    elif password != instance.password:
        broadcast.close_group(groups.agent(instance.pk), code=codes.REAUTHORIZE)


def connect() -> None:
    user_model = get_user_model()
    user_logged_out.connect(close_this_browsers_sockets, dispatch_uid="realtime.sessions.logged_out")
    pre_save.connect(_remember_credentials, sender=user_model, dispatch_uid="realtime.sessions.pre_save")
    post_save.connect(_close_on_credential_change, sender=user_model, dispatch_uid="realtime.sessions.post_save")
