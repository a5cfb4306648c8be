"""ASGI entry point: HTTP through Django, websockets through Channels (daphne serves both)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from helpdesk.lib import daphne_limits  # noqa: E402
from helpdesk.lib.bodylimit import BodyLimitMiddleware  # noqa: E402
from helpdesk.lib.security import WidgetSocketWithoutCookies  # noqa: E402
from helpdesk.realtime.routing import websocket_urlpatterns  # noqa: E402

# Request bodies over their route's limit, and oversized websocket messages, are refused inside
# daphne's own request handling, before daphne buffers them (it reads a whole body before the
# application sees any of it). daphne imports this module before it serves, so every way of
# starting it (Procfile, `manage.py run`, tests) gets the limits; tests/lib/test_body_limits.py
# checks them against a real daphne. BodyLimitMiddleware applies the same limits at the ASGI
# level, for any other server.
daphne_limits.install()

application = ProtocolTypeRouter(
    {
        "http": BodyLimitMiddleware(django_asgi_app),
        # Both sockets are opened by pages of our own origin (/chat runs in our iframe),
        # so a socket opened from any other origin is refused. The widget's socket never sees
        # a cookie: visitors are known by their tokens.
        "websocket": AllowedHostsOriginValidator(
            WidgetSocketWithoutCookies(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
