from django.urls import path

from helpdesk.ai import views

app_name = "ai_settings"
urlpatterns = [
    path("", views.ai_settings, name="settings"),
    path("test-connection", views.test_connection, name="test_connection"),
    path("guidance/", views.guidance, name="guidance"),
    path("guidance/<int:pk>/", views.guidance_rule, name="guidance_rule"),
    path("guidance/<int:pk>/active", views.guidance_rule_active, name="guidance_rule_active"),
    path("guidance/<int:pk>/delete", views.guidance_rule_delete, name="guidance_rule_delete"),
]
