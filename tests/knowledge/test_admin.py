import pytest
from django_tasks.signals import task_enqueued

from helpdesk.accounts.models import User
from helpdesk.knowledge.models import Article, Chunk, IndexStatus
from helpdesk.knowledge.tasks import index_article

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root@acme.test", "pw-for-tests-1"))
    return client


def test_an_article_saved_in_the_admin_is_indexed(admin_client, workspace, django_capture_on_commit_callbacks):
    enqueued = []

    def record(sender, task_result, **kwargs):
        enqueued.append((task_result.task.name, tuple(task_result.args)))

    task_enqueued.connect(record)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(
                "/admin/knowledge/article/add/",
                {
                    "workspace": workspace.pk,
                    "title": "Returns",
                    "body": "Within 30 days.",
                    "enabled": "on",
                    "channels": '["widget"]',
                    "url": "",
                },
            )
    finally:
        task_enqueued.disconnect(record)
    assert response.status_code == 302, response.content
    article = Article.objects.get()
    assert article.status == IndexStatus.PROCESSING
    assert enqueued == [(index_article.name, (article.pk,))]
    index_article.call(article.pk)
    assert Chunk.objects.filter(article=article).exists()
    assert admin_client.get("/admin/knowledge/chunk/").status_code == 200
    response = admin_client.post(f"/admin/knowledge/article/{article.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Chunk.objects.exists()
