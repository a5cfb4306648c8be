"""The outbound guard (helpdesk/lib/outbound.py), from the attacker's side: a URL that a
workspace configures cannot reach loopback, the private network or the cloud's metadata
service, whether it names the address, a host name that resolves to it, a redirect to it, or a
name that resolves publicly first and privately when the connection is made. The operator
allows private hosts with OUTBOUND_PRIVATE_HOSTS; unset, nothing private is reached."""

from __future__ import annotations

import ipaddress
import socket

import httpx2
import pytest
from django.core.exceptions import ImproperlyConfigured

from helpdesk.lib import outbound
from helpdesk.lib.env import env_host_list, parse_host_port
from tests.llm_stub import LLMStub
from tests.processes import free_port

# Globally routable, never contacted (loopback_only refuses it).
PUBLIC = "93.184.215.14"


@pytest.fixture(autouse=True)
def _unset(settings, loopback_only):
    settings.OUTBOUND_PRIVATE_HOSTS = []


@pytest.fixture(scope="module")
def servers():
    first, second = LLMStub().start(), LLMStub().start()
    yield first, second
    first.stop()
    second.stop()


@pytest.fixture
def recorder(servers):
    stub = servers[0]
    stub.mode, stub.redirect_to = "ok", None
    stub.requests.clear()
    return stub


@pytest.fixture
def other(servers):
    stub = servers[1]
    stub.mode, stub.redirect_to = "ok", None
    stub.requests.clear()
    return stub


def post(url: str) -> httpx2.Response:
    with outbound.http_client(timeout=5) as client:
        return client.post(url, json={"input": ["x"], "model": "m"})


# ---------------------------------------------------------------- which addresses


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.5",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "198.18.0.1",
        "::1",
        "::",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "2002:7f00:1::1",
        "2002:a00:1::1",
        "64:ff9b::7f00:1",
        "2001:db8::1",
        "2001::1",
    ],
)
def test_addresses_that_are_not_globally_routable_are_refused(address):
    assert not outbound.is_public(ipaddress.ip_address(address))
    with pytest.raises(outbound.Refused, match=r"OUTBOUND_PRIVATE_HOSTS="):
        outbound.check_address(address, 443, address)


@pytest.mark.parametrize(
    "address", [PUBLIC, "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808"]
)
def test_public_addresses_pass(address):
    assert outbound.is_public(ipaddress.ip_address(address))
    outbound.check_address(address, 443, address)


@pytest.mark.parametrize(
    "url,message",
    [
        (
            "http://127.0.0.1:11434/v1",
            "127.0.0.1 is a private address. The server's operator can allow it with OUTBOUND_PRIVATE_HOSTS=127.0.0.1:11434.",
        ),
        (
            "http://localhost:11434/v1",
            "localhost resolves to 127.0.0.1, a private address. The server's operator can allow it with OUTBOUND_PRIVATE_HOSTS=localhost:11434.",
        ),
        ("http://169.254.169.254/latest/meta-data/", "OUTBOUND_PRIVATE_HOSTS=169.254.169.254:80."),
        ("https://10.0.0.5/v1", "OUTBOUND_PRIVATE_HOSTS=10.0.0.5:443."),
        (
            "http://[::1]:8000/v1",
            "[::1] is a private address. The server's operator can allow it with OUTBOUND_PRIVATE_HOSTS=[::1]:8000.",
        ),
        ("http://[::ffff:127.0.0.1]:8000/v1", "OUTBOUND_PRIVATE_HOSTS=[::ffff:127.0.0.1]:8000."),
        ("http://2130706433:8000/v1", "2130706433 resolves to 127.0.0.1"),
    ],
)
def test_check_url_names_the_setting_that_would_allow_it(url, message):
    with pytest.raises(outbound.Refused) as refused:
        outbound.check_url(url)
    assert message in str(refused.value)


def test_a_name_with_one_private_address_among_public_ones_is_refused(fake_dns, monkeypatch):
    real = fake_dns.getaddrinfo

    def two(host, port, *args, **kwargs):
        if host == "mixed.example":
            return real("public.example", port, *args) + real("private.example", port, *args)
        return real(host, port, *args, **kwargs)

    fake_dns.answer("public.example", PUBLIC)
    fake_dns.answer("private.example", "10.1.2.3")
    monkeypatch.setattr(socket, "getaddrinfo", two)
    with pytest.raises(outbound.Refused, match=r"mixed\.example resolves to 10\.1\.2\.3"):
        outbound.check_url("https://mixed.example/v1")


# ---------------------------------------------------------------- OUTBOUND_PRIVATE_HOSTS


def test_the_operator_allows_a_private_host_and_port(settings):
    settings.OUTBOUND_PRIVATE_HOSTS = ["localhost:11434", "10.0.0.5", "[::1]:8000"]
    assert outbound.check_url("http://localhost:11434/v1") == ["127.0.0.1"]
    outbound.check_address("10.0.0.5", 8000, "10.0.0.5")  # no port: any port
    outbound.check_address("::1", 8000, "::1")
    with pytest.raises(outbound.Refused):
        outbound.check_url("http://localhost:11435/v1")  # another port of the same host
    with pytest.raises(outbound.Refused):
        outbound.check_address("10.0.0.6", 8000, "10.0.0.6")
    with pytest.raises(outbound.Refused):
        outbound.check_address("::1", 8001, "::1")


def test_an_allowed_address_is_allowed_under_any_name_that_resolves_to_it(settings, fake_dns):
    settings.OUTBOUND_PRIVATE_HOSTS = ["10.0.0.5:8000"]
    fake_dns.answer("vllm.internal", "10.0.0.5")
    assert outbound.check_host("vllm.internal", 8000) == ["10.0.0.5"]


@pytest.mark.parametrize(
    "raw,parsed",
    [
        ("localhost:11434", ("localhost", 11434)),
        ("10.0.0.5", ("10.0.0.5", None)),
        ("[::1]:8000", ("::1", 8000)),
        ("::1", ("::1", None)),
        ("[fd00::5]", ("fd00::5", None)),
        ("Ollama.Internal.", ("ollama.internal", None)),
    ],
)
def test_entries_are_a_host_or_a_host_and_port(raw, parsed):
    assert parse_host_port(raw) == parsed


@pytest.mark.parametrize(
    "raw",
    [
        "localhost:",
        "localhost:http",
        "localhost:0",
        "localhost:70000",
        "[::1",
        "[::1]8000",
        "http://localhost",
        "user@host",
        "a b",
        "fd00::zz",
    ],
)
def test_a_bad_entry_fails_loudly_at_start_up(monkeypatch, raw):
    monkeypatch.setenv("OUTBOUND_PRIVATE_HOSTS", f"localhost:11434, {raw}")
    with pytest.raises(ImproperlyConfigured, match=r"OUTBOUND_PRIVATE_HOSTS"):
        env_host_list("OUTBOUND_PRIVATE_HOSTS")


def test_unset_allows_nothing(monkeypatch):
    monkeypatch.delenv("OUTBOUND_PRIVATE_HOSTS", raising=False)
    assert env_host_list("OUTBOUND_PRIVATE_HOSTS") == []


# ---------------------------------------------------------------- at connection time


def test_the_guarded_client_refuses_loopback_and_sends_nothing(recorder):
    with pytest.raises(httpx2.ConnectError, match=f"OUTBOUND_PRIVATE_HOSTS=127.0.0.1:{recorder.port}"):
        post(recorder.url + "/embeddings")
    assert recorder.requests == []


def test_the_guarded_client_reaches_a_host_the_operator_allowed(settings, recorder):
    settings.OUTBOUND_PRIVATE_HOSTS = [f"127.0.0.1:{recorder.port}"]
    assert post(recorder.url + "/embeddings").status_code == 200
    assert len(recorder.requests) == 1


def test_a_name_that_resolves_to_loopback_is_loopback(fake_dns, recorder):
    fake_dns.answer("innocent.example", "127.0.0.1")
    with pytest.raises(httpx2.ConnectError, match=r"innocent\.example resolves to 127\.0\.0\.1"):
        post(f"http://innocent.example:{recorder.port}/v1/embeddings")
    assert recorder.requests == []


def test_a_redirect_from_an_allowed_host_to_another_port_is_refused(settings, recorder, other):
    settings.OUTBOUND_PRIVATE_HOSTS = [f"127.0.0.1:{recorder.port}"]
    recorder.redirect_to = other.url
    with pytest.raises(httpx2.ConnectError, match=f"OUTBOUND_PRIVATE_HOSTS=127.0.0.1:{other.port}"):
        post(recorder.url + "/embeddings")
    assert len(recorder.requests) == 1 and other.requests == []


def test_dns_rebinding_the_connection_goes_to_the_address_that_was_checked(fake_dns, loopback_only, recorder):
    """Public when checked, loopback at any later lookup: there must be no later lookup."""
    fake_dns.answer("rebind.example", PUBLIC, "127.0.0.1")
    with pytest.raises(httpx2.ConnectError):
        post(f"http://rebind.example:{recorder.port}/v1/embeddings")
    assert loopback_only == [(PUBLIC, recorder.port)]  # connected to the checked address (refused here)
    assert recorder.requests == [] and fake_dns.lookups["rebind.example"] == 1


def test_dns_rebinding_between_check_and_connection_is_refused(fake_dns, recorder):
    fake_dns.answer("rebind.example", PUBLIC, "127.0.0.1")
    outbound.check_url(f"http://rebind.example:{recorder.port}/v1")  # when the URL is saved
    with pytest.raises(httpx2.ConnectError, match=r"rebind\.example resolves to 127\.0\.0\.1"):
        post(f"http://rebind.example:{recorder.port}/v1/embeddings")
    assert recorder.requests == []


def test_an_open_and_a_closed_private_port_give_the_same_message(recorder):
    closed = free_port()
    messages = []
    for port in (recorder.port, closed):
        with pytest.raises(httpx2.ConnectError) as refused:
            post(f"http://127.0.0.1:{port}/v1/embeddings")
        messages.append(str(refused.value).replace(str(port), "PORT"))
    assert messages[0] == messages[1]
    assert recorder.requests == []


def test_create_connection_checks_too(settings, recorder, fake_dns):
    fake_dns.answer("smtp.example", "127.0.0.1")
    with pytest.raises(outbound.Refused):
        outbound.create_connection("smtp.example", recorder.port, timeout=2)
    settings.OUTBOUND_PRIVATE_HOSTS = [f"smtp.example:{recorder.port}"]
    with outbound.create_connection("smtp.example", recorder.port, timeout=2) as sock:
        assert sock.getpeername()[:2] == ("127.0.0.1", recorder.port)
