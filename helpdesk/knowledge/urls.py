from django.urls import path, register_converter

from helpdesk.knowledge import views


class KindConverter:
    """An item's kind in a URL: article, faq or document."""

    regex = "article|faq|document"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(KindConverter, "knowledge_kind")

app_name = "knowledge_settings"
urlpatterns = [
    path("", views.index, name="index"),
    path("bulk", views.bulk, name="bulk"),
    path("article/new", views.new, {"kind": "article"}, name="article_new"),
    path("article/preview", views.preview, name="article_preview"),
    path("faq/new", views.new, {"kind": "faq"}, name="faq_new"),
    path("faq/<int:pk>/move", views.move, name="faq_move"),
    path("document/new", views.upload, name="document_new"),
    path("<knowledge_kind:kind>/<int:pk>/", views.edit, name="edit"),
    path("<knowledge_kind:kind>/<int:pk>/row", views.row, name="row"),
    path("<knowledge_kind:kind>/<int:pk>/enable", views.enable, name="enable"),
    path("<knowledge_kind:kind>/<int:pk>/disable", views.disable, name="disable"),
    path("<knowledge_kind:kind>/<int:pk>/reindex", views.reindex, name="reindex"),
    path("<knowledge_kind:kind>/<int:pk>/delete", views.delete, name="delete"),
]
