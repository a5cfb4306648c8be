"""`python manage.py inbound_smtp`: the receiving SMTP server (the Procfile's `mail`)."""

from __future__ import annotations

import asyncio
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from helpdesk.mail import addresses, smtp


class Command(BaseCommand):
    help = "Receive email for the workspaces' addresses over SMTP (INBOUND_SMTP_HOST:INBOUND_SMTP_PORT)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.INBOUND_SMTP_HOST)
        parser.add_argument("--port", type=int, default=settings.INBOUND_SMTP_PORT)

    def handle(self, *args, host: str, port: int, **options):
        asyncio.run(self._serve(host, port))

    async def _serve(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        server = await loop.create_server(smtp.make_server, host=host, port=port)
        self.stdout.write(f"Receiving mail for @{addresses.domain()} on smtp://{host}:{port}")
        self.stdout.flush()
        async with server:
            await stop.wait()
