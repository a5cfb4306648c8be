from django.urls import path

from helpdesk.realtime import consumers

websocket_urlpatterns = [
    path("ws/chat/", consumers.WidgetConsumer.as_asgi()),
    path("ws/inbox/", consumers.InboxConsumer.as_asgi()),
]
