"""Talking to a real web process (tests/processes.py `Stack`) as a browser or an attacker does:
signing in over HTTP (the session cookie is the one the server made), raw sockets for requests
no HTTP client would send."""

from __future__ import annotations

import re
import select
import socket
from pathlib import Path

import httpx

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_token(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    match = CSRF_FIELD.search(page.text)
    assert match, f"no CSRF token on {path}: {page.status_code}"
    return match.group(1)


def post_form(client: httpx.Client, path: str, data: dict, form_path: str | None = None, **kwargs) -> httpx.Response:
    """POST a form as a browser does: with the CSRF token from the page that shows it."""
    token = csrf_token(client, form_path or path)
    return client.post(path, data={"csrfmiddlewaretoken": token, **data}, **kwargs)


def signed_in(base_url: str, email: str, password: str) -> httpx.Client:
    """An HTTP client signed in through the sign-in page; its cookies hold the session."""
    client = httpx.Client(base_url=base_url, timeout=10)
    response = post_form(client, "/accounts/login/", {"username": email, "password": password})
    assert response.status_code == 302, response.text[:500]
    assert "sessionid" in client.cookies
    return client


def cookie_header(client: httpx.Client) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


# ---------------------------------------------------------------- raw sockets


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def read_response(sock: socket.socket) -> bytes:
    """One response (head and a Content-Length body); the socket's timeout bounds a hang."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before a response: {data[:200]!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    length = int(match.group(1)) if match else 0
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the connection closed in the middle of the response"
        body += chunk
    return head + b"\r\n\r\n" + body


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed its side (nothing more comes); False if it keeps the
    connection open for another request (the socket's timeout)."""
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def status_of(response: bytes) -> int:
    assert response.startswith(b"HTTP/1.1 "), response[:200]
    return int(response.split(b" ", 2)[1])


def body_of(response: bytes) -> bytes:
    return response.partition(b"\r\n\r\n")[2]


def send_chunks_until_answered(sock: socket.socket, total: int, size: int = 64 * 1024) -> int:
    """Send a chunked body of up to `total` bytes, stopping as soon as the server answers (or
    stops taking it); if it never does, end the body as a client would. Returns bytes sent."""
    chunk = b"%x\r\n" % size + b"x" * size + b"\r\n"
    sent = 0
    while sent < total:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            return sent
        try:
            sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            return sent
        sent += size
    sock.sendall(b"0\r\n\r\n")
    return sent


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def rss_kb(pid: int) -> int:
    return _status_kb(pid, "VmRSS")


def reset_peak_rss(pid: int) -> None:
    """Start the process's peak RSS (VmHWM) over from its current RSS (Linux's clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_rss_kb(pid: int) -> int:
    """The most memory the process held since `reset_peak_rss`: a body held only for a moment
    (read, handed over, freed) shows here, though not in the RSS afterwards."""
    return _status_kb(pid, "VmHWM")
