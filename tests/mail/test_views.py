"""The original of a mail (agents, from the inbox) and Settings → Email (admins), from the
outsider's side too: another workspace, an agent on the admin page, anonymous."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.mail import incoming
from helpdesk.mail.models import InboundEmail, Mailbox, MailSettings
from helpdesk.workspace.models import Activity
from tests.mail.conftest import make_mail

pytestmark = pytest.mark.django_db

HOSTILE_HTML = (
    '<p onclick="steal()">Hello <b>team</b></p><script>alert("x")</script>'
    '<img src="https://tracker.example/pixel.gif"><a href="javascript:alert(1)">click</a>'
    '<iframe src="https://evil.example"></iframe><style>body{display:none}</style>'
)


@pytest.fixture
def mailed(workspace) -> InboundEmail:
    return incoming.receive(
        make_mail(
            text="Hello team", html=HOSTILE_HTML, attachments=[("page.html", b"<script>x</script>", "text/html")]
        ),
        source=InboundEmail.Source.SMTP,
        recipients=["acme@mail.localhost"],
    )


def test_an_agent_sees_the_original_sanitized_with_remote_images_blocked(agent_client, mailed):
    response = agent_client.get(reverse("mail:original", args=[mailed.message_id]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Hello &lt;b&gt;team&lt;/b&gt;" in page  # the sanitized HTML, escaped into srcdoc
    for hostile in ("steal()", "alert(", "javascript:", "evil.example", "display:none"):
        assert hostile not in page
    assert '<iframe title="The email" sandbox ' in page
    assert "img-src data:;" in response["Content-Security-Policy"]
    assert "data-images-blocked" in page
    # The attachment is named, never rendered.
    assert "page.html" in page and "&lt;script&gt;x" not in page
    shown = agent_client.get(reverse("mail:original", args=[mailed.message_id]), {"images": "1"})
    assert "img-src 'self' data: https: http:" in shown["Content-Security-Policy"]
    assert "script-src 'self'" in shown["Content-Security-Policy"]


def test_the_inbox_marks_a_message_that_came_by_email(agent_client, mailed):
    page = agent_client.get(reverse("inbox:conversation", args=[mailed.conversation_id])).content.decode()
    assert f'href="{reverse("mail:original", args=[mailed.message_id])}" data-original>by email' in page
    assert f"#{mailed.conversation_id} · Email" in page  # the header says the channel
    listing = agent_client.get(reverse("inbox:index")).content.decode()
    assert 'data-channel="email">Email</span>' in listing


def test_outsiders_never_see_a_mail(client, outsider, agent, mailed, conversation):
    url = reverse("mail:original", args=[mailed.message_id])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    # A message that did not come by email has no original.
    client.force_login(agent)
    assert client.get(reverse("mail:original", args=[conversation.messages.first().pk])).status_code == 404
    assert client.get(url).status_code == 200


def test_settings_show_the_address_and_the_kept_mail_to_admins_only(client, owner, agent, workspace, outsider):
    incoming.receive(
        make_mail(frm="MAILER-DAEMON@mx.example"), source="smtp", envelope_from="<>", recipients=["acme@mail.localhost"]
    )
    kept = InboundEmail.objects.get()
    client.force_login(agent)
    assert client.get(reverse("mail:settings")).status_code == 403
    assert client.get(reverse("mail:kept", args=[kept.pk])).status_code == 403
    client.force_login(outsider)
    assert client.get(reverse("mail:kept", args=[kept.pk])).status_code == 404
    assert b"mailer-daemon" not in client.get(reverse("mail:settings")).content
    client.force_login(owner)
    page = client.get(reverse("mail:settings")).content.decode()
    assert "<strong data-address>acme@mail.localhost</strong>" in page
    assert f'data-kept="{kept.pk}"' in page and "a bounce or delivery report" in page
    assert client.get(reverse("mail:kept", args=[kept.pk])).status_code == 200


def test_an_admin_changes_the_address_and_it_is_logged(client, owner, workspace, other_workspace):
    client.force_login(owner)
    response = client.post(reverse("mail:settings"), {"slug": "help-desk"})
    assert response.status_code == 302
    assert MailSettings.objects.get(workspace=workspace).slug == "help-desk"
    entry = Activity.objects.get(action="email.address_changed")
    assert entry.detail["changed"] == {"slug": "help-desk"} and entry.detail["before"] == {"slug": "acme"}


@pytest.mark.parametrize(
    "slug, error",
    [
        ("globex", "That address is taken. Choose another."),
        ("postmaster", "That address belongs to the mail system. Choose another."),
        ("not an address!", "Enter a valid “slug”"),
        ("", "This field is required."),
    ],
)
def test_a_bad_address_gets_a_clear_error_and_changes_nothing(client, owner, workspace, other_workspace, slug, error):
    client.force_login(owner)
    response = client.post(reverse("mail:settings"), {"slug": slug})
    assert response.status_code == 422 and error in response.content.decode()
    assert MailSettings.objects.get(workspace=workspace).slug == "acme"
    assert not Activity.objects.filter(action="email.address_changed").exists()


# ---------------------------------------------------------------- the mailbox


def mailbox_post(dovecot, login, **changes) -> dict:
    user, password = login
    data = {
        "enabled": "on",
        "email_address": "support@acme.test",
        "host": "127.0.0.1",
        "port": str(dovecot.port),
        "security": "none",
        "username": user,
        "password": password,
        "folder": "INBOX",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def imap_ok(settings, dovecot):
    settings.OUTBOUND_PRIVATE_HOSTS = [f"127.0.0.1:{dovecot.port}"]
    return dovecot


def test_an_admin_connects_a_mailbox_and_its_password_is_never_shown(client, owner, workspace, imap_ok):
    login = imap_ok.add_user()
    client.force_login(owner)
    tested = client.post(reverse("mail:test_mailbox"), mailbox_post(imap_ok, login))
    assert tested.status_code == 200 and "Connected: 0 messages in INBOX." in tested.content.decode()
    assert not Mailbox.objects.exists()  # testing saves nothing
    assert client.post(reverse("mail:save_mailbox"), mailbox_post(imap_ok, login)).status_code == 302
    mailbox = Mailbox.objects.get(workspace=workspace)
    assert mailbox.password == login[1] and login[1] not in mailbox.password_encrypted
    page = client.get(reverse("mail:settings")).content.decode()
    assert login[1] not in page and mailbox.password_encrypted not in page
    entry = Activity.objects.get(action="email.mailbox_saved")
    assert login[1] not in str(entry.detail) and entry.detail["changed"]["password"] == "changed"
    # Saved again without a password: the saved one stays.
    client.post(reverse("mail:save_mailbox"), mailbox_post(imap_ok, login, password="", folder="Archive"))
    mailbox.refresh_from_db()
    assert mailbox.password == login[1] and mailbox.folder == "Archive"


def test_a_wrong_password_is_said_plainly(client, owner, workspace, imap_ok):
    login = imap_ok.add_user()
    client.force_login(owner)
    response = client.post(reverse("mail:test_mailbox"), mailbox_post(imap_ok, login, password="wrong"))
    assert "Could not connect: the server refused the user name or password." in response.content.decode()


def test_a_private_server_is_refused_in_the_form(client, owner, workspace, dovecot, settings):
    settings.OUTBOUND_PRIVATE_HOSTS = []
    client.force_login(owner)
    response = client.post(reverse("mail:save_mailbox"), mailbox_post(dovecot, dovecot.add_user()))
    assert response.status_code == 422
    assert "127.0.0.1 is a private address." in response.content.decode()
    assert not Mailbox.objects.exists()


def test_a_new_mailbox_needs_a_password(client, owner, workspace, imap_ok):
    client.force_login(owner)
    response = client.post(reverse("mail:save_mailbox"), mailbox_post(imap_ok, imap_ok.add_user(), password=""))
    assert response.status_code == 422 and "Enter the mailbox&#x27;s password." in response.content.decode()


def test_changing_where_the_mail_is_starts_afresh_and_removing_keeps_the_mail(client, owner, workspace, imap_ok):
    login = imap_ok.add_user()
    client.force_login(owner)
    client.post(reverse("mail:save_mailbox"), mailbox_post(imap_ok, login))
    Mailbox.objects.update(uid_validity=7, last_uid=40)
    client.post(reverse("mail:save_mailbox"), mailbox_post(imap_ok, login, enabled=None))  # switched off only
    assert Mailbox.objects.values_list("uid_validity", "last_uid", "enabled").get() == (7, 40, False)
    client.post(reverse("mail:save_mailbox"), mailbox_post(imap_ok, login, folder="Support"))
    assert Mailbox.objects.values_list("uid_validity", "last_uid").get() == (None, 0)
    assert client.post(reverse("mail:remove_mailbox")).status_code == 302
    assert not Mailbox.objects.exists() and Activity.objects.filter(action="email.mailbox_removed").exists()


def test_agents_and_other_workspaces_cannot_touch_the_mailbox(client, agent, outsider, workspace, imap_ok):
    login = imap_ok.add_user()
    Mailbox.objects.create(workspace=workspace, email_address="s@acme.test", host="127.0.0.1", username=login[0])
    for who in (agent, outsider):
        client.force_login(who)
        for name in ("mail:save_mailbox", "mail:test_mailbox", "mail:remove_mailbox"):
            client.post(reverse(name), mailbox_post(imap_ok, login, host="attacker.example"))
    assert Mailbox.objects.get(workspace=workspace).host == "127.0.0.1"
