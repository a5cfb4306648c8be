"""A real IMAP server for the tests: Debian's dovecot, started by the tests in a folder of their
own (plain IMAP with STARTTLS, and IMAPS, with a certificate of a test CA), like the embedded
services. `apt-get install dovecot-imapd` (.ci/run does it)."""

from __future__ import annotations

import imaplib
import secrets
import shutil
import ssl
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.processes import free_port
from tests.waiting import wait_for

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

CONF = """
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{root}/server.pem
ssl_key = <{root}/server.key
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {ssl_port}
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


USERS = 100  # made before the server starts: dovecot notices a changed passwd-file only by its mtime


@dataclass
class Dovecot:
    root: Path
    port: int
    ssl_port: int
    ca_file: Path
    proc: subprocess.Popen | None = None
    free_users: list[tuple[str, str]] = field(default_factory=list)

    def add_user(self) -> tuple[str, str]:
        """A mailbox of its own for each test (an empty INBOX)."""
        return self.free_users.pop()

    def client(self, user: str, password: str) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(user, password)
        return client

    def deliver(self, user: str, password: str, raw: bytes, folder: str = "INBOX") -> None:
        """Put a mail in the user's folder, as a mail server would (IMAP APPEND)."""
        client = self.client(user, password)
        try:
            typ, data = client.append(folder, None, None, raw)
            assert typ == "OK", data
        finally:
            client.logout()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def _certificates(root: Path) -> Path:
    """A test CA and a certificate for 127.0.0.1 and localhost signed by it."""
    run = lambda *args: subprocess.run(args, cwd=root, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Test CA",
        "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
        "-out", "server.csr")  # fmt: skip
    (root / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "san.ext", "-out", "server.pem")  # fmt: skip
    return root / "ca.pem"


@pytest.fixture(scope="session")
def dovecot():
    if not Path(DOVECOT).exists():
        raise RuntimeError("dovecot is not installed: apt-get install dovecot-imapd (the .ci/run script does)")
    root = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
    root.chmod(0o755)
    (root / "home").mkdir()
    shutil.chown(root / "home", "dovecot", "dovecot")
    server = Dovecot(root, free_port(), free_port(), _certificates(root))
    server.free_users = [
        (f"support-{n}-{secrets.token_hex(3)}@acme.test", secrets.token_urlsafe(12)) for n in range(USERS)
    ]
    (root / "users").write_text("".join(f"{user}:{{PLAIN}}{password}\n" for user, password in server.free_users))
    (root / "dovecot.conf").write_text(CONF.format(root=root, port=server.port, ssl_port=server.ssl_port))
    server.proc = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )

    def answers() -> bool:
        with imaplib.IMAP4("127.0.0.1", server.port, timeout=2) as probe:
            return "IMAP4REV1" in probe.capabilities

    wait_for(answers, 30, interval=0.1, ignoring=(OSError,), message=lambda: (root / "dovecot.log").read_text())
    ssl.create_default_context(cafile=str(server.ca_file))  # the CA file reads
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)
