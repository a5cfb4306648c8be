"""The floor for bench/delivery.py and bench/soak.py: bare Channels over the same channel
layer (Redis), with none of the product (no database, no templates). Used by the benches
only; served by its own daphne process:

    python -m daphne bench.echo_asgi:application

/ws/echo/?role=agent    joins the group "bench-agents" and forwards what the group gets
/ws/echo/?role=visitor  joins a group of its own; every text frame it sends is sent, as
                        the product sends a visitor's message, to "bench-agents" and to
                        the visitor's own group

`application` is Channels as it comes: before every event a consumer hops to the shared
database thread (close_old_connections). `no_hop_application` skips that hop, as the
product's consumers do: the stricter floor (bench/delivery.py --floor no-hop).
"""

import os
import uuid
from urllib.parse import parse_qs

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django.setup()

from channels.consumer import get_handler_name  # noqa: E402
from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

AGENTS = "bench-agents"


class Echo(AsyncWebsocketConsumer):
    async def connect(self):
        role = parse_qs(self.scope["query_string"].decode()).get("role", ["visitor"])[0]
        self.group = AGENTS if role == "agent" else f"bench-visitor-{uuid.uuid4().hex}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        await self.channel_layer.group_send(AGENTS, {"type": "push", "html": text_data})
        await self.channel_layer.group_send(self.group, {"type": "push", "html": text_data})

    async def push(self, event):
        await self.send(text_data=event["html"])


async def health(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


class EchoNoHop(Echo):
    async def dispatch(self, message):
        await getattr(self, get_handler_name(message))(message)


application = ProtocolTypeRouter({"http": health, "websocket": URLRouter([path("ws/echo/", Echo.as_asgi())])})
no_hop_application = ProtocolTypeRouter(
    {"http": health, "websocket": URLRouter([path("ws/echo/", EchoNoHop.as_asgi())])}
)
