"""Fixtures for the outbound-guard tests: nothing they do may leave this machine, even with the
guard broken, and names resolve the way the test says.

    loopback_only    connections to anything but loopback fail at once (ConnectionRefusedError)
                     and are recorded: the list of (host, port) attempted
    fake_dns         fake_dns.answer("name", "1.2.3.4", "127.0.0.1") makes the name resolve to
                     each address in turn (the last one from then on); other names as usual;
                     fake_dns.lookups counts the lookups of each fake name
"""

from __future__ import annotations

import ipaddress
import socket
from collections import defaultdict

import pytest


def _loopback(host: str) -> bool:
    ip = ipaddress.ip_address(host.split("%")[0])
    return ip.is_loopback or bool(getattr(ip, "ipv4_mapped", None) and ip.ipv4_mapped.is_loopback)


@pytest.fixture
def loopback_only(monkeypatch):
    attempts: list[tuple] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def refuse(sock, address) -> bool:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            attempts.append(tuple(address[:2]))
            return True
        return False

    def connect(self, address):
        if refuse(self, address):
            raise ConnectionRefusedError(f"test: no connections off loopback ({address[0]})")
        return real_connect(self, address)

    def connect_ex(self, address):
        return 111 if refuse(self, address) else real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return attempts


class FakeDNS:
    def __init__(self, real):
        self.real = real
        self.answers: dict[str, list[str]] = {}
        self.lookups: dict[str, int] = defaultdict(int)

    def answer(self, name: str, *addresses: str) -> None:
        self.answers[name] = list(addresses)

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            return self.real(host, port, family, type, proto, flags)
        queue = self.answers[name]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        self.lookups[name] += 1
        ip = ipaddress.ip_address(address)
        if ip.version == 4:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 0)))]
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, int(port or 0), 0, 0))]


@pytest.fixture
def fake_dns(monkeypatch):
    dns = FakeDNS(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    return dns
