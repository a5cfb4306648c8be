"""Outbound connections to addresses that a workspace configured (its AI provider's base URL;
webhooks and mailboxes later): only to globally routable addresses, unless the operator allowed
the host with OUTBOUND_PRIVATE_HOSTS (a local Ollama, a vLLM on the private network).

The check is made on the resolved IP, at connection time, and the connection goes to the very
address that was checked: a name that resolves to 127.0.0.1 is 127.0.0.1, a redirect to it is
checked like the first request, and a name that resolved publicly when it was saved and
privately when it is used (DNS rebinding) is refused, with no second lookup in between that an
attacker's DNS server could answer differently. Every resolved address must pass: a name with
one public and one private address is refused.

    check_url(url) / check_host(host, port)   resolve and check, for a clear message in a form
    create_connection(host, port, timeout)    a socket to a checked address (SMTP, IMAP, ...)
    http_client(timeout=...)                  an httpx2.Client (the openai client's HTTP
                                              library) whose every connection is checked

Refused is an OSError, so code that handles a failed connection handles a refused one too.
Its message never depends on whether anything listens at the address (nothing is sent there),
so a refusal cannot be used to scan ports.

Written here rather than taken from a package: the SSRF guards on PyPI wrap `httpx` (not the
`httpx2` fork that openai 3.x uses), most are async-only or GET-only (safehttpx, httpx-secure),
ask a public DNS server instead of the system's resolver (safehttpx), or are young one-person
projects (drawbridge, egressweave). What is needed is small: a network backend for httpcore2
whose connect_tcp resolves, checks and connects to the checked IP (TLS still verifies the host
name, and the Host header is the URL's, because httpcore2 passes the name to start_tls itself).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore2
import httpx2
from django.conf import settings

from helpdesk.lib.env import parse_host_port

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Refused(OSError):
    """A connection to an address that is not public and not allowed by the operator."""

    def __init__(self, host: str, port: int, address: str):
        self.host, self.port, self.address = host, port, address
        shown = _bracketed(host)
        if _is_ip(host):
            what = f"{shown} is a private address."
        else:
            what = f"{shown} resolves to {address}, a private address."
        super().__init__(f"{what} The server's operator can allow it with OUTBOUND_PRIVATE_HOSTS={shown}:{port}.")

    def __str__(self) -> str:
        return self.args[0]


class Unresolvable(OSError):
    """The host name has no address (or the resolver failed)."""

    def __init__(self, host: str):
        self.host = host
        super().__init__(f"{host} could not be resolved.")

    def __str__(self) -> str:
        return self.args[0]


def is_public(ip: IPAddress) -> bool:
    """Whether `ip` is globally routable: not loopback, private (RFC 1918, ULA), shared (CGNAT),
    link-local (cloud metadata at 169.254.169.254), unspecified, multicast, reserved, nor one of
    those written as IPv6 (IPv4-mapped ::ffff:127.0.0.1, IPv4-compatible, 6to4, Teredo, NAT64)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public(ip.ipv4_mapped)
        if ip in _NAT64:  # a NAT64 gateway connects to the embedded IPv4 address
            return is_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip in _IPV4_COMPATIBLE:  # ::127.0.0.1, and :: and ::1 themselves
            return False
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not is_public(embedded):
            return False
        if ip.is_site_local:
            return False
    return ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


def allowed(host: str, port: int, address: str) -> bool:
    """Whether the operator allowed this private address: an OUTBOUND_PRIVATE_HOSTS entry names
    the host as written in the URL, or the address itself, with no port or with this port."""
    host_ip, address_ip = _ip(host), _ip(address)
    for entry in settings.OUTBOUND_PRIVATE_HOSTS:
        entry_host, entry_port = parse_host_port(entry)
        if entry_port is not None and entry_port != port:
            continue
        entry_ip = _ip(entry_host)
        if entry_ip is None:
            if host_ip is None and entry_host == host.lower().rstrip("."):
                return True
        elif entry_ip == host_ip or entry_ip == address_ip:
            return True
    return False


def check_address(host: str, port: int, address: str) -> None:
    """Raise Refused unless `address` (one that `host` resolved to) may be connected to."""
    ip = _ip(address)
    if ip is None or not (is_public(ip) or allowed(host, port, address)):
        raise Refused(host, port, address)


def check_host(host: str, port: int) -> list[str]:
    """The addresses of `host` to connect to, in the resolver's order, every one checked.
    Raises Refused if any of them is not allowed, Unresolvable if there is none."""
    addresses = _resolve(host, port)
    for address in addresses:
        check_address(host, port, address)
    return addresses


def check_url(url: str) -> list[str]:
    """check_host for an http(s) URL's host and port (80 or 443 unless the URL says)."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"no host in {url!r}")
    return check_host(parts.hostname, parts.port or _DEFAULT_PORTS.get(parts.scheme.lower(), 443))


def create_connection(host: str, port: int, timeout: float | None = None) -> socket.socket:
    """A TCP socket to the first reachable checked address of `host` (socket.create_connection,
    without the second lookup)."""
    error: OSError | None = None
    for address in check_host(host, port):
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            error = exc
    raise error or Unresolvable(host)


def http_client(*, timeout: float, follow_redirects: bool = True) -> httpx2.Client:
    """An httpx2.Client whose every connection (redirects included) goes to a checked address.
    Environment proxies are not used: a proxy would resolve the name itself."""
    return _Client(transport=GuardedTransport(), timeout=timeout, follow_redirects=follow_redirects)


class _Client(httpx2.Client):
    def __del__(self) -> None:  # a client dropped from a cache closes its connections
        try:
            self.close()
        except Exception:
            pass


class GuardedBackend(httpcore2.SyncBackend):
    """httpcore2's network backend, connecting only to checked addresses."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable | None = None,
    ) -> httpcore2.NetworkStream:
        try:
            addresses = check_host(host, port)
        except OSError as exc:  # Refused or Unresolvable: as a connection error, with its reason
            raise httpcore2.ConnectError(str(exc)) from exc
        error: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                error = exc
        assert error is not None  # check_host returns at least one address, or raises
        raise error


class GuardedTransport(httpx2.HTTPTransport):
    """httpx2's transport with GuardedBackend under its connection pool."""

    def __init__(self) -> None:
        super().__init__()
        pool = getattr(self, "_pool", None)
        if not isinstance(pool, httpcore2.ConnectionPool) or not hasattr(pool, "_network_backend"):
            # httpx2 changed how it holds its pool: refuse to run unguarded.
            raise RuntimeError("httpx2.HTTPTransport has no httpcore2 pool to guard")
        pool._network_backend = GuardedBackend()


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(host) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))  # an IPv4 or IPv6 address: a str
    if not addresses:
        raise Unresolvable(host)
    return addresses


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _is_ip(host: str) -> bool:
    return _ip(host) is not None


def _bracketed(host: str) -> str:
    ip = _ip(host)
    return f"[{host.strip('[]')}]" if isinstance(ip, ipaddress.IPv6Address) else host
