"""Attachments in S3-compatible storage (STORAGE=s3, django-storages), against a real S3 API
server on loopback (moto's server: the S3 protocol over HTTP, as MinIO or R2 speak it): stored
there under random keys, private, and served through the product's signed links only."""

from __future__ import annotations

import io

import boto3
import pytest
from django.core.files.storage import default_storage
from moto.server import ThreadedMotoServer

from helpdesk.conversations import actions, attachments
from helpdesk.conversations.models import Attachment
from tests.conftest import widget_headers
from tests.processes import free_port

pytestmark = pytest.mark.django_db

BUCKET = "helpdesk-attachments"


@pytest.fixture(scope="module")
def s3_server():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(settings, s3_server, monkeypatch):
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_server,
                "region_name": "us-east-1",
                "access_key": "test",
                "secret_key": "test",
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": False,
            },
        },
    }
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_files_go_to_the_bucket_and_come_back_through_signed_links(client, workspace, visitor, s3, agent):
    assert default_storage.__class__.__name__ == "S3Storage"
    v, raw = visitor
    upload = io.BytesIO(b"%PDF-1.4 in the bucket")
    upload.name = "invoice.pdf"
    response = client.post(
        "/chat/api/files",
        {"file": upload, "client_id": "4b8f2b51-7c1e-4c1e-9a3e-7c8c8f1b2a10"},
        **widget_headers(workspace, raw),
    )
    assert response.status_code == 201
    attachment = Attachment.objects.get()
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [attachment.file.name] and "invoice" not in keys[0]
    acl = s3.get_object_acl(Bucket=BUCKET, Key=keys[0])
    assert not any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in acl["Grants"])  # private
    link = attachments.link(attachment)
    assert b"".join(client.get(link).streaming_content) == b"%PDF-1.4 in the bucket"
    # An agent's reply carries the same kind of file the same way.
    files = attachments.store_all(workspace.pk, [attachments.Incoming("reply.txt", b"hello")])
    reply = actions.post_agent_reply(v.contact.conversations.get(), agent, "", files=files)
    assert reply.attachments.get().file.read() == b"hello"
    assert len(s3.list_objects_v2(Bucket=BUCKET)["Contents"]) == 2
