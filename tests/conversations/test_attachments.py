"""Files with messages, from the outsider's and the attacker's side: what is taken (type by
name, images that really are images, size, count), how it is served (signed, expiring links;
images inline, everything else a download that cannot run), and never from a guessable path."""

from __future__ import annotations

import io
import re
import time
import uuid

import pytest
from django.core import signing
from django.urls import reverse
from PIL import Image

from helpdesk.conversations import actions, attachments, identity
from helpdesk.conversations.models import Attachment, Message
from tests.conftest import widget_headers

pytestmark = pytest.mark.django_db

FILES = reverse("widget:files")
THREAD = reverse("widget:thread")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def png(width=800, height=600, color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def upload(client, workspace, raw, *files, body="", client_id=None):
    data = {"body": body, "client_id": client_id or str(uuid.uuid4()), "file": list(files)}
    return client.post(FILES, data, **widget_headers(workspace, raw))


def named(name: str, data: bytes):
    f = io.BytesIO(data)
    f.name = name
    return f


def links(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/files/[^"]+)"', html)


def test_a_visitor_sends_an_image_and_it_shows_as_a_thumbnail_linking_to_the_original(
    client, workspace, visitor, media
):
    _v, raw = visitor
    response = upload(client, workspace, raw, named("photo.png", png()), body="Here is the damage")
    assert response.status_code == 201
    html = response.content.decode()
    message = Message.objects.get()
    [attachment] = message.attachments.all()
    assert message.body == "Here is the damage" and message.attachment_count == 1
    assert (attachment.name, attachment.content_type, attachment.width, attachment.height) == (
        "photo.png",
        "image/png",
        800,
        600,
    )
    assert "photo.png" not in attachment.file.name  # stored under a random key
    [(original, thumb)] = re.findall(r'<a class="file-image" href="([^"]+)"[^>]*><img src="([^"]+)"', html)
    shown = client.get(thumb)
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(b"".join(shown.streaming_content))) as small:
        assert max(small.size) <= 480
    full = client.get(original)
    assert b"".join(full.streaming_content) == attachment.file.open("rb").read()
    assert full["X-Content-Type-Options"] == "nosniff" and "sandbox" in full["Content-Security-Policy"]
    assert "attachment" not in full.get("Content-Disposition", "")  # an image is shown inline


def test_a_pdf_is_a_file_card_and_a_download(client, workspace, visitor):
    _v, raw = visitor
    html = upload(client, workspace, raw, named("invoice.pdf", b"%PDF-1.4 test")).content.decode()
    assert 'class="file-card"' in html and "invoice.pdf" in html
    [link] = links(html)
    response = client.get(link)
    assert (
        response["Content-Disposition"].startswith("attachment;")
        and response["Content-Type"] == "application/octet-stream"
    )


@pytest.mark.parametrize(
    "name, data, error",
    [
        ("drawing.svg", b"<svg onload='alert(1)'/>", "Files like “drawing.svg” cannot be sent here."),
        ("page.html", b"<script>alert(1)</script>", "Files like “page.html” cannot be sent here."),
        ("run.exe", b"MZ", "Files like “run.exe” cannot be sent here."),
        ("fake.png", b"<script>alert(1)</script>", "That image could not be read."),
        ("empty.txt", b"", "“empty.txt” is empty."),
    ],
)
def test_files_that_are_not_taken_get_a_clear_error_and_nothing_is_kept(
    client, workspace, visitor, media, name, data, error
):
    _v, raw = visitor
    response = upload(client, workspace, raw, named("ok.pdf", b"%PDF ok"), named(name, data))
    assert response.status_code == 400 and response.json()["error"] == error
    assert not Attachment.objects.exists() and not Message.objects.exists()
    assert not any(p.is_file() for p in media.rglob("*"))  # the first file, stored, is gone again


def test_the_size_and_the_count_are_limited(client, workspace, visitor, settings):
    _v, raw = visitor
    settings.ATTACHMENT_MAX_BYTES = 2048
    response = upload(client, workspace, raw, named("big.txt", b"x" * 3000))
    assert response.status_code == 400 and "is too large" in response.json()["error"]
    settings.ATTACHMENT_MAX_FILES = 2
    response = upload(client, workspace, raw, *[named(f"{n}.txt", b"x") for n in range(3)])
    assert response.status_code == 400 and response.json()["error"] == "Send at most 2 files at once."
    assert not Attachment.objects.exists()


def test_svg_and_html_allowed_by_the_operator_are_still_downloads(client, workspace, visitor, settings):
    settings.ATTACHMENT_TYPES = [*settings.ATTACHMENT_TYPES, "image/svg+xml", "text/html"]
    _v, raw = visitor
    html = upload(
        client, workspace, raw, named("logo.svg", b"<svg onload='alert(1)'/>"), named("a.html", b"<b>x</b>")
    ).content.decode()
    for link in links(html):
        response = client.get(link)
        assert response["Content-Disposition"].startswith("attachment;")
        assert (
            response["Content-Type"] == "application/octet-stream" and "sandbox" in response["Content-Security-Policy"]
        )


def test_a_retried_upload_is_one_message_and_leaves_no_stray_file(client, workspace, visitor, media):
    _v, raw = visitor
    client_id = str(uuid.uuid4())
    upload(client, workspace, raw, named("a.pdf", b"%PDF a"), client_id=client_id)
    again = upload(client, workspace, raw, named("a.pdf", b"%PDF a"), client_id=client_id)
    assert again.status_code == 201
    assert Message.objects.count() == 1 and Attachment.objects.count() == 1
    assert len([p for p in media.rglob("*") if p.is_file()]) == 1


def test_links_expire_and_cannot_be_forged_or_guessed(client, workspace, visitor, media, monkeypatch, settings):
    _v, raw = visitor
    html = upload(client, workspace, raw, named("a.pdf", b"%PDF secret")).content.decode()
    [link] = links(html)
    attachment = Attachment.objects.get()
    # Another id in a token signed by someone else.
    forged = signing.dumps([attachment.pk, "f"], salt="not-ours", compress=True)
    assert client.get(reverse("widget:attachment", args=[forged, "a.pdf"])).status_code == 410
    # The stored path is not served.
    assert client.get(f"/media/{attachment.file.name}").status_code == 404
    # Another visitor's thread carries no link to it.
    _other, other_raw = identity.start_visitor(workspace)
    assert "/files/" not in client.get(THREAD, **widget_headers(workspace, other_raw)).content.decode()
    # Past its age.
    later = time.time() + settings.ATTACHMENT_LINK_MAX_AGE_HOURS * 3600 + 60
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert client.get(link).status_code == 410


def test_an_agent_attaches_a_file_and_the_visitor_gets_it(client, agent, workspace, visitor):
    v, raw = visitor
    conversation = actions.post_customer_message(v, "Can you send the manual?").conversation
    client.force_login(agent)
    response = client.post(
        reverse("inbox:reply", args=[conversation.pk]), {"body": "", "file": named("manual.pdf", b"%PDF manual")}
    )
    assert response.status_code == 200 and "manual.pdf" in response.content.decode()
    reply = conversation.messages.latest("id")
    assert reply.attachment_count == 1 and reply.body == ""
    thread = client.get(THREAD, **widget_headers(workspace, raw)).content.decode()
    [link] = links(thread)
    assert b"".join(client.get(link).streaming_content) == b"%PDF manual"


def test_a_refused_file_in_the_inbox_keeps_the_draft(client, agent, workspace, conversation):
    client.force_login(agent)
    response = client.post(
        reverse("inbox:reply", args=[conversation.pk]), {"body": "See attached", "file": named("x.exe", b"MZ")}
    )
    assert response.status_code == 422 and "Files like “x.exe” cannot be sent here." in response.content.decode()
    assert "See attached" in response.content.decode() and conversation.messages.count() == 1


def test_pages_with_many_messages_read_their_files_in_one_query(
    client, agent, workspace, visitor, django_assert_max_num_queries
):
    v, raw = visitor
    for n in range(5):
        upload(client, workspace, raw, named(f"{n}.pdf", b"%PDF"), body=f"file {n}")
    plain = [actions.post_customer_message(v, f"text {n}") for n in range(5)]
    assert plain
    html = attachments.prefetch(list(Message.objects.order_by("id")))
    with django_assert_max_num_queries(0):
        assert sum(len(attachments.of_message(m)) for m in html) == 5
